/* cmd_deploy.c - deploys: `diff` (what a reload would change), `drain`
 * and `undrain` (docs/scheduling.md, "What a reload changes: diff" and
 * "Draining before a deploy"). The drain itself is a flag in the store
 * (sched/drain.h) that passes obey. The comparison itself is
 * config/diff.h; the daemon records the text it runs as its snapshot
 * (daemon/daemon.h, CW_DAEMON_SNAPSHOT), which is what `diff` compares
 * against by default. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "base/clock.h"
#include "cli.h"
#include "config/diff.h"
#include "base/units.h"
#include "daemon/daemon.h"
#include "sched/drain.h"
#include "worker/control.h"
#include "worker/lock.h"

/* ---- diff ---- */

static const char diff_usage[] =
        "Usage: cronwarden [--config FILE] diff [NEWFILE]\n"
        "\n"
        "Show what a reload would change: the config file (or NEWFILE) against\n"
        "the config the daemon runs (DATA_DIR/config.snapshot.ini, written at\n"
        "each start and reload). One line per change: '+ [job D]' added,\n"
        "'- [job X]' removed, '~ [job A] KEY: OLD -> NEW' changed (repeated\n"
        "keys as '- VALUE' and '+ VALUE' lines); a changed job schedule is\n"
        "followed by its next fires before and after. Secrets are shown as ***.\n"
        "Then every problem that would make the new config fail 'check'.\n"
        "With NEWFILE and no daemon snapshot, NEWFILE is compared against the\n"
        "config file.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file (also gives data_dir)\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 no change, 1 changes, 2 the new config would fail check,\n"
        "or nothing to compare against, or a usage error.\n";

typedef struct side {
        char *path;
        char *text;
        size_t len;
        cw_config *cfg;
        cw_config_errors errs;
} side;

static void side_release(side *s)
{
        free(s->path);
        free(s->text);
        cw_config_free(s->cfg);
        cw_config_errors_release(&s->errs);
}

/* Reads path (shown under name: relative paths in the text resolve
 * against name's directory) and loads it; a text that does not load
 * keeps its errors. Returns 0 or the read's negative errno. */
static int side_read(cw_cli *cli, side *s, const char *path, const char *name)
{
        cw_config_opts opts = {.zoneinfo_dir = cli->zoneinfo, .now = cw_instant_sec(cli->now)};
        int r;

        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        r = cw_config_read_file(path, &s->text, &s->len);
        if (r < 0)
                return r;
        (void)cw_config_load_string(name, s->text, s->len, &opts, &s->cfg, &s->errs);
        return 0;
}

static int diff_print(cw_cli *cli, const side *old, const side *new)
{
        cw_config_diff d = CW_CONFIG_DIFF_INIT;
        cw_buf out = CW_BUF_INIT(64 * 1024 * 1024);
        char v_old[CW_CONFIG_VERSION_LEN + 1], v_new[CW_CONFIG_VERSION_LEN + 1];
        int r;

        r = cw_config_diff_texts(old->text, old->len, new->text, new->len, &d);
        if (r < 0)
                return cli_fail(cli, "diff: %s", strerror(-r));
        cw_config_diff_add_fires(&d, old->cfg, new->cfg, cw_instant_sec(cli->now));
        cw_config_version(old->text, old->len, v_old);
        cw_config_version(new->text, new->len, v_new);
        fprintf(cli->out, "--- %s (version %s)\n+++ %s (version %s)\n", old->path, v_old, new->path,
                v_new);
        r = cw_config_diff_format(&d, &out);
        if (r == 0 && out.len)
                fputs(out.p, cli->out);
        else if (r == 0)
                fputs("no changes\n", cli->out);
        cw_buf_release(&out);
        if (new->errs.n) {
                fprintf(cli->out,
                        "the new config would fail check (%zu problem%s); a reload would keep the old one:\n",
                        new->errs.n, new->errs.n == 1 ? "" : "s");
                for (size_t i = 0; i < new->errs.n; i++)
                        fprintf(cli->out, "%s\n", new->errs.msgs[i]);
                r = CW_EXIT_USAGE;
        } else if (r == 0) {
                r = d.n ? 1 : CW_EXIT_OK;
        } else {
                r = cli_fail(cli, "diff: %s", strerror(-r));
        }
        cw_config_diff_release(&d);
        return r;
}

/* data_dir as written in a config that does not load, made absolute
 * against the file's directory; NULL when it has none. */
static char *text_data_dir(const side *s)
{
        _cleanup_free_ char *v = cw_config_text_value(s->text, s->len, "cronwarden", "data_dir");
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(s->path, '/');
        char *out = NULL;

        if (!v || !*v)
                return NULL;
        if (v[0] == '/')
                return CW_TAKE_PTR(v);
        dir = slash ? strndup(s->path, (size_t)(slash - s->path)) : strdup(".");
        if (!dir || asprintf(&out, "%s/%s", dir, v) < 0)
                return NULL;
        return out;
}

static int cmd_diff(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        const char *cfg_path = cw_config_find(cli->config_path, cli->config_env);
        side cur = {0}, snap = {0}, neu = {0};
        const side *old = &snap, *new = &cur;
        _cleanup_free_ char *raw_dir = NULL;
        const char *data_dir;
        char path[4096];
        bool help = false;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1)
                if (!cli_common_option(cli, o, optarg, &help))
                        return cli_usage_error(cli, &cw_cmd_diff,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        if (help) {
                fputs(diff_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_diff, "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (!cfg_path)
                return cli_fail(cli, "no config file: give --config FILE");
        r = side_read(cli, &cur, cfg_path, cfg_path);
        if (r < 0) {
                r = cli_fail(cli, "cannot read '%s': %s", cfg_path, strerror(-r));
                goto done;
        }
        if (optind < argc) {
                r = side_read(cli, &neu, argv[optind], argv[optind]);
                if (r < 0) {
                        r = cli_fail(cli, "cannot read '%s': %s", argv[optind], strerror(-r));
                        goto done;
                }
                new = &neu;
        }
        /* data_dir: the config file's, else the new text's. */
        data_dir = cur.cfg ? cur.cfg->data_dir : neu.cfg ? neu.cfg->data_dir : NULL;
        if (!data_dir)
                data_dir = raw_dir = text_data_dir(&cur);
        if (!data_dir) {
                r = cli_fail(cli,
                             "'%s' does not load (run 'cronwarden check'): cannot find data_dir",
                             cfg_path);
                goto done;
        }
        snprintf(path, sizeof(path), "%s/%s", data_dir, CW_DAEMON_SNAPSHOT);
        r = side_read(cli, &snap, path, cfg_path);
        if (r == -ENOENT && new == &neu) {
                old = &cur;
        } else if (r < 0) {
                r = cli_fail(cli,
                             "no config the daemon runs to compare against: cannot read '%s': %s",
                             path, strerror(-r));
                goto done;
        }
        r = diff_print(cli, old, new);
done:
        side_release(&cur);
        side_release(&snap);
        side_release(&neu);
        return r;
}

const cw_command cw_cmd_diff = {
        .name = "diff",
        .run = cmd_diff,
        .summary = "show what a reload would change",
        .usage = diff_usage,
};

/* ---- drain, undrain ---- */

/* How often drain looks at the runs it waits for: other processes end
 * them, and nothing tells this one, so it reads the store. */
#define DRAIN_POLL_NS (100 * 1000 * 1000L)
/* Without --timeout, how long the daemon may take to exit on SIGTERM. */
#define DRAIN_DAEMON_EXIT_US (30 * 1000000LL)

static const char drain_usage[] =
        "Usage: cronwarden [--config FILE] drain [--timeout DURATION]\n"
        "\n"
        "The step before a deploy: the scheduler stops starting runs (fires of\n"
        "catch_up = none jobs are recorded skipped with reason 'the scheduler is\n"
        "draining'; the others are held and caught up, as catch_up says, when the\n"
        "drain ends; requests stay queued), drain waits for the runs in progress\n"
        "to end, then stops the daemon (SIGTERM) and waits for it to exit. The\n"
        "drain ends with 'cronwarden undrain' or when a daemon starts. Runs whose\n"
        "worker is gone (DEAD in 'status') are not waited for.\n"
        "\n"
        "Options:\n"
        "      --timeout DURATION give up after DURATION (90s, 10m, 1h): the runs\n"
        "                         still in progress are listed and the scheduler\n"
        "                         stays drained (default: wait as long as it takes)\n"
        "      --config FILE      config file\n"
        "      --help             show this help\n"
        "\n"
        "Exit status: 0 drained and the daemon (if any) stopped, 1 runs still in\n"
        "progress at the timeout, the drain ended by 'undrain' meanwhile, or the\n"
        "daemon did not exit, 2 usage or config error.\n";

static const char undrain_usage[] =
        "Usage: cronwarden [--config FILE] undrain\n"
        "\n"
        "End a drain: the scheduler starts runs again; the fires held while it\n"
        "drained are caught up at the next pass, as each job's catch_up says.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 done (also when no drain was on), 2 usage or config error.\n";

typedef struct drain {
        cw_cli *cli;
        cw_config *cfg;
        cw_store *store;
        int64_t deadline_us; /* monotonic; 0: none */
        size_t shown;        /* how many runs the last progress line named */
} drain;

/* The runs in progress whose worker is alive (others' nodes count as
 * alive). Returns a CW_EXIT code. */
static int active_runs(drain *dr, cw_run **ret, size_t *ret_n)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0, k = 0;
        int r;

        f.active = true;
        r = cw_store_runs_list(dr->store, &f, &runs, &n);
        if (r < 0)
                return cli_fail(dr->cli, "cannot read runs: %s", strerror(-r));
        for (size_t i = 0; i < n; i++) {
                if (runs[i].status == CW_RUN_RUNNING && !cw_control_is_alive(dr->cfg, &runs[i])) {
                        cw_run_release(&runs[i]);
                        continue;
                }
                if (k != i)
                        runs[k] = runs[i];
                k++;
        }
        *ret = runs;
        *ret_n = k;
        return CW_EXIT_OK;
}

static void print_runs(drain *dr, const char *head, const cw_run *runs, size_t n)
{
        fprintf(dr->cli->out, "%s %zu run%s:", head, n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++)
                fprintf(dr->cli->out, "%s %lld (%s)", i ? "," : "", (long long)runs[i].id,
                        runs[i].spec);
        fputc('\n', dr->cli->out);
        fflush(dr->cli->out);
}

/* Whether someone ended the drain while this one waits. */
static bool undrained(drain *dr)
{
        cw_time since = 0;

        return cw_sched_drain_get(dr->store, &since) == 0 && since == 0;
}

/* Waits until no run is in progress, or the deadline. Returns CW_EXIT_OK,
 * 1 at the deadline (the runs named), or another exit code. */
static int wait_runs(drain *dr)
{
        const struct timespec poll_ts = {0, DRAIN_POLL_NS};

        for (;;) {
                cw_run *runs = NULL;
                size_t n = 0;
                int r = active_runs(dr, &runs, &n);

                if (r != CW_EXIT_OK)
                        return r;
                if (n && undrained(dr)) {
                        cw_runs_free(runs, n);
                        fputs("the drain was ended ('cronwarden undrain'): the daemon is left running\n",
                              dr->cli->out);
                        return 1;
                }
                if (n == 0) {
                        cw_runs_free(runs, 0); /* the array, its runs released */
                        return CW_EXIT_OK;
                }
                if (dr->deadline_us && cw_clock_mono_us() >= dr->deadline_us) {
                        print_runs(dr, "timed out; still in progress:", runs, n);
                        fputs("the scheduler stays drained: 'cronwarden undrain' to resume\n",
                              dr->cli->out);
                        cw_runs_free(runs, n);
                        return 1;
                }
                if (n != dr->shown)
                        print_runs(dr, "waiting for", runs, n);
                dr->shown = n;
                cw_runs_free(runs, n);
                nanosleep(&poll_ts, NULL);
        }
}

/* SIGTERM to the daemon holding data_dir's pid file, then waits for it to
 * let go of the file. Returns CW_EXIT_OK (also when none runs) or 1. */
static int stop_daemon(drain *dr)
{
        const struct timespec poll_ts = {0, DRAIN_POLL_NS};
        int64_t until =
                dr->deadline_us ? dr->deadline_us : cw_clock_mono_us() + DRAIN_DAEMON_EXIT_US;
        char path[4096];
        int pid;

        snprintf(path, sizeof(path), "%s/%s", dr->cfg->data_dir, CW_DAEMON_PID_FILE);
        pid = cw_lock_file_owner(path);
        if (pid <= 0) {
                fprintf(dr->cli->out,
                        "no daemon runs for %s: the scheduler stays drained until 'cronwarden "
                        "undrain' or a daemon starts\n",
                        dr->cfg->data_dir);
                return CW_EXIT_OK;
        }
        if (kill(pid, SIGTERM) < 0) {
                fprintf(dr->cli->err, "cronwarden: cannot stop the daemon (pid %d): %s\n", pid,
                        strerror(errno));
                return 1;
        }
        while (cw_lock_file_owner(path) == pid) {
                if (cw_clock_mono_us() >= until) {
                        fprintf(dr->cli->out, "the daemon (pid %d) did not exit in time\n", pid);
                        return 1;
                }
                nanosleep(&poll_ts, NULL);
        }
        fprintf(dr->cli->out, "daemon %d stopped\n", pid);
        return CW_EXIT_OK;
}

static int cmd_drain(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS, {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT}, {0}};
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        drain dr = {.cli = cli};
        int64_t timeout = -1;
        bool help = false;
        cw_error e;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == CLI_OPT_TIMEOUT && cw_duration_parse(optarg, &timeout, &e) == 0)
                        continue;
                if (o == CLI_OPT_TIMEOUT)
                        return cli_usage_error(cli, &cw_cmd_drain, "--timeout: %s", e.msg);
                return cli_usage_error(cli, &cw_cmd_drain, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
        r = cli_store_command(cli, &cw_cmd_drain, drain_usage, help, argc, argv, &cfg, &store);
        if (r != CLI_GO)
                return r;
        r = cw_sched_drain_set(store, cw_instant_sec(cli->now));
        if (r < 0)
                return cli_fail(cli, "cannot start the drain: %s", strerror(-r));
        fputs("the scheduler is draining: nothing new starts\n", cli->out);
        dr.cfg = cfg;
        dr.store = store;
        dr.deadline_us = timeout >= 0 ? cw_clock_mono_us() + timeout * 1000000 : 0;
        r = wait_runs(&dr);
        if (r == CW_EXIT_OK)
                r = stop_daemon(&dr);
        /* A pass the daemon was in when the drain began may have queued a
         * run: it is waited for too. */
        if (r == CW_EXIT_OK)
                r = wait_runs(&dr);
        if (r == CW_EXIT_OK)
                fputs("drained: no run in progress\n", cli->out);
        return r;
}

static int cmd_undrain(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        char path[4096];
        bool help = false;
        cw_time since = 0;
        int o, r, pid;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1)
                if (!cli_common_option(cli, o, optarg, &help))
                        return cli_usage_error(cli, &cw_cmd_undrain,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        r = cli_store_command(cli, &cw_cmd_undrain, undrain_usage, help, argc, argv, &cfg, &store);
        if (r != CLI_GO)
                return r;
        r = cw_sched_drain_get(store, &since);
        if (r == 0 && since > 0)
                r = cw_sched_drain_set(store, 0);
        if (r < 0)
                return cli_fail(cli, "cannot end the drain: %s", strerror(-r));
        if (since == 0) {
                fputs("the scheduler was not draining\n", cli->out);
                return CW_EXIT_OK;
        }
        /* A running daemon catches up at once rather than at its next wake. */
        snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, CW_DAEMON_PID_FILE);
        pid = cw_lock_file_owner(path);
        if (pid > 0)
                (void)kill(pid, SIGUSR1);
        fputs("the scheduler is no longer draining: held fires are caught up at the next pass\n",
              cli->out);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_drain = {
        .name = "drain",
        .run = cmd_drain,
        .summary = "stop starting runs, wait for running ones, stop the daemon",
        .usage = drain_usage,
};

const cw_command cw_cmd_undrain = {
        .name = "undrain",
        .run = cmd_undrain,
        .summary = "end a drain: start runs again",
        .usage = undrain_usage,
};
