/* main.c - `cronwarden [--config FILE] COMMAND [ARGS]`: reads the
 * environment and the clock once, then dispatches to a command. Every
 * command also accepts --config and --help after its name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli.h"
#include "cli_env.h"

static const cw_command *const commands[] = {
        &cw_cmd_check,   &cw_cmd_next,        &cw_cmd_jobs,          &cw_cmd_info,
        &cw_cmd_run,     &cw_cmd_tick,        &cw_cmd_daemon,        &cw_cmd_status,
        &cw_cmd_kill,    &cw_cmd_resume,      &cw_cmd_clean,         &cw_cmd_suspend,
        &cw_cmd_history, &cw_cmd_logs,        &cw_cmd_progress,      &cw_cmd_prune,
        &cw_cmd_disable, &cw_cmd_enable,      &cw_cmd_request,       &cw_cmd_diff,
        &cw_cmd_drain,   &cw_cmd_undrain,     &cw_cmd_crontab,       &cw_cmd_import_crontab,
        &cw_cmd_passwd,  &cw_cmd_notify_test, &cw_cmd_notifications, &cw_cmd_store,
        &cw_cmd_nodes,
};

static void print_main_help(FILE *f)
{
        fputs("Usage: cronwarden [--config FILE] COMMAND [ARGS...]\n"
              "\n"
              "A periodic-job manager: runs recurring jobs on time, never overlapping,\n"
              "with a history of every run.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < CW_ARRAY_SIZE(commands); i++)
                fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
        fputs("  help           show help for a command\n"
              "\n"
              "Options:\n"
              "  --config FILE  config file (default: $CRONWARDEN_CONFIG, ./cronwarden.ini,\n"
              "                 then /etc/cronwarden/cronwarden.ini)\n"
              "  --help         show this help\n"
              "  --version      show the version\n"
              "\n"
              "Exit status: 0 ok, 1 job failed, 2 usage/config/spec error, 75 lock held.\n"
              "Run 'cronwarden COMMAND --help' for a command's options. See cronwarden(1).\n",
              f);
}

static const cw_command *find_command(const char *name)
{
        for (size_t i = 0; i < CW_ARRAY_SIZE(commands); i++)
                if (strcmp(commands[i]->name, name) == 0)
                        return commands[i];
        return NULL;
}

/* Makes the clock and reads it once here; commands take that reading, the
 * daemon the clock (docs/hacking.md, Conventions). Tests set CRONWARDEN_FAKE_NOW=ISO8601: a
 * command's now is then exactly that instant, and the daemon's clock starts
 * there and advances with the monotonic clock (cli_env.h). */
static int read_now(cw_cli *cli)
{
        cw_error e;

        if (cli_env_clock(&cli->clock, &cli->now, &e) < 0)
                return cli_fail(cli, "%s", e.msg);
        return 0;
}

static const char help_usage[] =
        "Usage: cronwarden help [COMMAND]\n"
        "\n"
        "Show the help of COMMAND (the same as 'cronwarden COMMAND --help'), or,\n"
        "without COMMAND, the list of commands.\n"
        "\n"
        "Options:\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 unknown command.\n";

static int run_help(cw_cli *cli, int argc, char **argv)
{
        const cw_command *cmd;

        if (argc < 2) {
                print_main_help(cli->out);
                return CW_EXIT_OK;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                fputs(help_usage, cli->out);
                return CW_EXIT_OK;
        }
        cmd = find_command(argv[1]);
        if (!cmd)
                return cli_fail(cli, "unknown command '%s' (see 'cronwarden --help')", argv[1]);
        fputs(cmd->usage, cli->out);
        return CW_EXIT_OK;
}

int cw_cli_main(const cw_cli_embed *embed, int argc, char **argv)
{
        cw_cli cli = {
                .prog = "cronwarden",
                .out = stdout,
                .err = stderr,
                .embed = embed,
        };
        const cw_command *cmd;
        const char *v;
        int i = 1;

        v = getenv("CRONWARDEN_CONFIG");
        cli.config_env = v && *v ? v : NULL;
        cli.zoneinfo = cli_env_zoneinfo();
        if (read_now(&cli) != 0)
                return CW_EXIT_USAGE;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        print_main_help(cli.out);
                        return CW_EXIT_OK;
                } else if (strcmp(argv[i], "--version") == 0) {
                        fprintf(cli.out, "cronwarden %s\n", CW_VERSION);
                        return CW_EXIT_OK;
                } else if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
                        if (i + 1 >= argc)
                                return cli_fail(&cli, "option '%s' needs a file name", argv[i]);
                        cli.config_path = argv[++i];
                } else if (strncmp(argv[i], "--config=", 9) == 0) {
                        cli.config_path = argv[i] + 9;
                } else {
                        cli_fail(&cli, "unknown option '%s'", argv[i]);
                        fprintf(cli.err, "Try 'cronwarden --help'.\n");
                        return CW_EXIT_USAGE;
                }
        }
        if (i >= argc) {
                print_main_help(cli.err);
                return CW_EXIT_USAGE;
        }
        if (strcmp(argv[i], "help") == 0)
                return run_help(&cli, argc - i, argv + i);
        if (embed && strcmp(argv[i], "run-function") == 0)
                return embed->run_function(embed->userdata, &cli, argc - i, argv + i);
        cmd = find_command(argv[i]);
        if (!cmd) {
                cli_fail(&cli, "unknown command '%s'", argv[i]);
                fprintf(cli.err, "Try 'cronwarden --help'.\n");
                return CW_EXIT_USAGE;
        }
        /* getopt in the command sees argv[0] = the command name. */
        return cmd->run(&cli, argc - i, argv + i);
}
