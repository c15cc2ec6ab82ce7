/* cmd_daemon.c - `cronwarden daemon`: the long-running scheduler
 * (daemon/daemon.c), and `daemon --spawner`, its internal helper process
 * that forks the workers (daemon/spawner.h), started through spawn.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon/daemon.h"
#include "daemon/spawner.h"

static const char daemon_usage[] =
        "Usage: cronwarden [--config FILE] daemon\n"
        "\n"
        "The long-running scheduler: starts every fire on time (second\n"
        "precision), sleeping in between without polling; starts requests,\n"
        "retries and 'after' dependencies as soon as they are due; fires @reboot\n"
        "entries once per start. One daemon per data_dir (DATA_DIR/daemon.pid).\n"
        "Safe beside 'tick' passes: every fire is claimed in the store once.\n"
        "\n"
        "Signals: SIGHUP reloads the config (a bad one is logged and the old one\n"
        "kept); SIGTERM/SIGINT stop it (running jobs finish and are recorded).\n"
        "Logs one line per event on stderr (key=value; syslog priorities under\n"
        "systemd).\n"
        "\n"
        "With [admin] password_hash or api_token set it also serves the admin\n"
        "web UI and API on [admin] listen (default 127.0.0.1:8080; see\n"
        "'cronwarden passwd'). A changed listen address needs a restart.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 stopped cleanly, 1 the admin server cannot listen,\n"
        "2 bad config or store, 75 another daemon runs on the same data_dir.\n";

/* What start_spawner needs: the config's path, and whether the lean
 * spawner program may stand in (the cronwarden program, not one that
 * embeds cronwarden with function jobs of its own). */
typedef struct spawner_start {
        const char *config_path;
        bool lean;
} spawner_start;

static int start_spawner(void *userdata, const char *snapshot, int fd, cw_error *err)
{
        const spawner_start *st = userdata;

        err->col = -1;
        return cli_spawn_spawner(st->config_path, snapshot, st->lean, fd, err);
}

/* `daemon --spawner --config-snapshot FILE`: the daemon's spawner, on
 * CW_SPAWNER_FD, with the config text the daemon accepted. */
static int run_spawner(cw_cli *cli)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        int r;

        if (!cli->config_snapshot || fcntl(CW_SPAWNER_FD, F_GETFD) < 0)
                return cli_fail(cli, "daemon --spawner: internal, started by the daemon itself");
        /* The dynamic loader has bound every symbol (spawn.c); nothing
         * started from here needs the setting. */
        if (getenv(CLI_SPAWNER_BIND_NOW)) {
                unsetenv("LD_BIND_NOW");
                unsetenv(CLI_SPAWNER_BIND_NOW);
        }
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        r = cw_spawner_main(cfg, &cli->clock, CW_SPAWNER_FD);
        if (r < 0)
                return cli_fail(cli, "spawner: %s", strerror(-r));
        return CW_EXIT_OK;
}

static int cmd_daemon(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                /* Internal: the daemon's spawner process (daemon/spawner.h). */
                {"spawner", no_argument, NULL, CLI_OPT_SPAWNER},
                {"config-snapshot", required_argument, NULL, CLI_OPT_CONFIG_SNAPSHOT},
                {0},
        };
        cw_daemon_opts o = {.zoneinfo_dir = cli->zoneinfo,
                            .start_spawner = start_spawner,
                            .log = cli->err,
                            .clock = &cli->clock,
                            .function = cli->embed ? cli->embed->function : NULL,
                            .function_userdata = cli->embed ? cli->embed->userdata : NULL};
        bool help = false, spawner = false;
        spawner_start st;
        cw_error err;
        int opt, r;

        optind = 0;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, opt, optarg, &help))
                        continue;
                if (opt == CLI_OPT_SPAWNER)
                        spawner = true;
                else if (opt == CLI_OPT_CONFIG_SNAPSHOT)
                        cli->config_snapshot = optarg;
                else
                        return cli_usage_error(cli, &cw_cmd_daemon,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        }
        if (help) {
                fputs(daemon_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_daemon, "unexpected argument '%s'",
                                       argv[optind]);
        if (spawner)
                return run_spawner(cli);
        if (cli->config_snapshot)
                return cli_usage_error(cli, &cw_cmd_daemon,
                                       "--config-snapshot goes with --spawner only");
        o.config_path = cw_config_find(cli->config_path, cli->config_env);
        if (!o.config_path)
                return cli_fail(
                        cli,
                        "no config file: looked for ./cronwarden.ini and /etc/cronwarden/cronwarden.ini "
                        "(use --config FILE or CRONWARDEN_CONFIG)");
        st.config_path = o.config_path;
        st.lean = !cli->embed;
        o.userdata = &st;
        /* Test hook (docs/hacking.md): SIGUSR2 steps the test clock. */
        if (!cw_clock_is_real(&cli->clock) && getenv("CRONWARDEN_CLOCK_STEP_FILE") &&
            *getenv("CRONWARDEN_CLOCK_STEP_FILE")) {
                o.step_file = getenv("CRONWARDEN_CLOCK_STEP_FILE");
                o.step_clock = &cli->clock;
        }
        cw_error_clear(&err);
        r = cw_daemon_run(&o, &err);
        if (r == -EBUSY) {
                fprintf(cli->err, "%s: %s\n", cli->prog, err.msg);
                return CW_EXIT_LOCKED;
        }
        if (r == -EADDRINUSE) {
                fprintf(cli->err, "%s: daemon: %s\n", cli->prog, err.msg);
                return CW_EXIT_JOB_FAILED;
        }
        if (r < 0)
                return cli_fail(cli, "daemon: %s", err.msg[0] ? err.msg : strerror(-r));
        return CW_EXIT_OK;
}

const cw_command cw_cmd_daemon = {
        .name = "daemon",
        .run = cmd_daemon,
        .summary = "the long-running scheduler (fires on time, no crontab)",
        .usage = daemon_usage,
};
