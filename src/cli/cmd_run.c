/* cmd_run.c - `cronwarden run JOBSPEC` (one job, now, under its lock,
 * recorded) and `cronwarden progress DONE [TOTAL]` (from inside a job).
 *
 * --detach starts the run in a detached worker: this same binary,
 * re-executed in a new session with `run --report-fd 3`, which writes one
 * line to fd 3 once the run is recorded (or the lock turns out to be
 * held). Re-executing rather than forking keeps the worker independent of
 * whatever state its starter had (a daemon's threads, open sockets). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/iso8601.h"
#include "base/units.h"
#include "cli.h"
#include "notify/notify.h"
#include "catalog/catalog.h"
#include "cli_runs.h"
#include "worker/worker.h"

static const char run_usage[] =
        "Usage: cronwarden [--config FILE] run JOBSPEC [--force] [--detach] [--quiet] [--json]\n"
        "\n"
        "Run a job now, in the foreground: take its lock, record the run, start\n"
        "the command, copy its output here as it arrives, record the outcome.\n"
        "JOBSPEC is NAME or NAME:params (e.g. HelloWorld:\"big world\",sleep=5).\n"
        "\n"
        "Options:\n"
        "      --force       run even if the job is disabled, or pinned by `hosts` to\n"
        "                    other nodes\n"
        "      --detach      start it in the background; print the run id and exit\n"
        "      --quiet       do not copy the job's output (it is still recorded)\n"
        "      --json        print the outcome as JSON (implies --quiet)\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 succeeded, 1 failed/timed out/killed, 2 bad job spec or\n"
        "config, 75 already running (the lock is held; the holder is named).\n";

typedef struct run_args {
        const char *spec;
        bool force, detach, quiet, json, ignore_lock;
        int report_fd;
        cw_trigger trigger;
        int64_t attempt, scheduled_at, resumed_from;
} run_args;

/* One line for the process that started a detached worker. */
static void report(int fd, const char *fmt, ...) _printf_(2, 3);
static void report(int fd, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        int n;

        if (fd < 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0 && write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0) {
                /* The starter went away; the run goes on regardless. */
        }
}

static void on_started(void *userdata, int64_t run_id, int pid)
{
        const run_args *a = userdata;

        report(a->report_fd, "started %lld %d\n", (long long)run_id, pid);
}

static void describe_holder(const cw_config *cli, const cw_job *job, const cw_lock_holder *h,
                            char *buf, size_t size)
{
        char since[64] = "?";

        if (h->since_us)
                cli_format_instant(job->tz, h->since_us / 1000000, since, sizeof(since));
        /* The node is named only when it is not this one (a cluster lock). */
        if (h->node[0] && cli->node && strcmp(h->node, cli->node) != 0)
                snprintf(buf, size, "run %lld, pid %d, since %s, on node %s", (long long)h->run_id,
                         h->pid, since, h->node);
        else
                snprintf(buf, size, "run %lld, pid %d, since %s", (long long)h->run_id, h->pid,
                         since);
}

static void describe_outcome(const cw_worker_result *res, const cw_job *job, char *buf, size_t size)
{
        char d[32];

        switch (res->status) {
        case CW_RUN_SUCCEEDED:
                snprintf(buf, size, "succeeded");
                break;
        case CW_RUN_TIMED_OUT:
                cw_duration_format(job->timeout, d, sizeof(d));
                snprintf(buf, size, "timed out after %s", d);
                break;
        case CW_RUN_KILLED:
                snprintf(buf, size, "killed");
                break;
        default:
                if (res->exit_code < 0 && !res->signal)
                        snprintf(buf, size, "failed to start");
                else if (res->signal)
                        snprintf(buf, size, "%s: killed by signal %d (%s)",
                                 cw_run_status_to_string(res->status), res->signal,
                                 strsignal(res->signal));
                else
                        snprintf(buf, size, "%s with exit code %d",
                                 cw_run_status_to_string(res->status), res->exit_code);
                break;
        }
}

static int print_outcome(cw_cli *cli, cw_store *store, const run_args *a, const cw_job *job,
                         const cw_worker_result *res)
{
        cw_run run = {0};
        char what[160], took[32] = "?";

        if (cw_store_run_get(store, res->run_id, &run) == 0 && run.ended_us)
                cli_format_elapsed(run.ended_us - run.started_us, took, sizeof(took));
        describe_outcome(res, job, what, sizeof(what));
        if (a->json) {
                /* The run as history --json and the API show it. */
                json_t *o = run.id ? cli_run_json(&run, cli->now) : json_object();
                json_object_set_new(o, "id", json_integer(res->run_id));
                json_object_set_new(o, "status", json_string(cw_run_status_to_string(res->status)));
                if (!run.id) {
                        json_object_set_new(o, "exit_code",
                                            res->exit_code >= 0 ? json_integer(res->exit_code)
                                                                : json_null());
                        json_object_set_new(o, "signal",
                                            res->signal ? json_integer(res->signal) : json_null());
                }
                json_dumpf(o, cli->out, JSON_COMPACT);
                fputc('\n', cli->out);
                json_decref(o);
        } else if (res->status == CW_RUN_TIMED_OUT) {
                /* The reason would only repeat "timed out after ...". */
                fprintf(cli->err, "run %lld: %s\n", (long long)res->run_id, what);
        } else {
                fprintf(cli->err, "run %lld: %s in %s%s%s\n", (long long)res->run_id, what, took,
                        run.reason ? ": " : "", run.reason ? run.reason : "");
        }
        cw_run_release(&run);
        return res->status == CW_RUN_SUCCEEDED ? CW_EXIT_OK : CW_EXIT_JOB_FAILED;
}

/* Whether the job may run: enabled in the config and not disabled in the store. */
static bool job_enabled(cw_store *store, const cw_job *job)
{
        bool on;

        if (!job->enabled)
                return false;
        return cw_store_job_enabled_get(store, job->name, &on) < 0 || on;
}

/* --detach: a detached worker runs it; this process reports and exits. */
static int run_detached(cw_cli *cli, const cw_config *cfg, const run_args *a, const char *spec_text,
                        const char *job)
{
        cli_worker_req w = {
                .spec = spec_text,
                .trigger = a->trigger,
                .attempt = (int)a->attempt,
                .scheduled_at = a->scheduled_at,
                .resumed_from = a->resumed_from,
                .force = a->force,
                .ignore_lock = a->ignore_lock,
        };
        char msg[512];
        int64_t id = 0;
        int r;

        r = cli_spawn_worker(cfg, &w, &id, msg, sizeof(msg));
        if (r == -EBUSY) {
                fprintf(cli->err, "%s: %s is already running (%s)\n", cli->prog, job, msg);
                return CW_EXIT_LOCKED;
        }
        if (r < 0)
                return cli_fail(cli, "%s", msg);
        fprintf(cli->out, "run %lld started\n", (long long)id);
        return CW_EXIT_OK;
}

static int run_main(cw_cli *cli, run_args *a)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        _cleanup_free_ char *spec_text = NULL;
        cw_worker_result res = {0};
        cw_worker_opts o = {0};
        const cw_job *job;
        char holder[256];
        cw_error e;
        int r;

        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK) {
                report(a->report_fd, "error invalid config\n");
                return r;
        }
        r = cw_jobspec_parse(a->spec, &js, &e);
        if (r < 0)
                return cli_fail_caret(cli, "bad job spec", a->spec, &e);
        /* A job the admin UI made from a command entry (catalog/catalog.h)
         * is found in the store: open it first for those. */
        if (!cw_config_job(cfg, js->name) && cw_ui_job_name_parse(js->name, NULL)) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK) {
                        report(a->report_fd, "error cannot open the store\n");
                        return r;
                }
        }
        r = cw_job_resolve(cfg, store, js->name, &ref, &e);
        if (r == -ENOMEM)
                return cli_fail(cli, "out of memory");
        if (r < 0 || cw_job_check_spec(cfg, ref.job, js, &e) < 0) {
                report(a->report_fd, "error %s\n", e.msg);
                return cli_fail(cli, "%s", e.msg);
        }
        job = ref.job;
        spec_text = cw_jobspec_format(js);
        if (!spec_text)
                return cli_fail(cli, "out of memory");
        if (!store) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK) {
                        report(a->report_fd, "error cannot open the store\n");
                        return r;
                }
        }
        if (!a->force && !job_enabled(store, job)) {
                report(a->report_fd, "error %s is disabled\n", job->name);
                return cli_fail(cli, "%s is disabled (use --force to run it anyway)", job->name);
        }
        /* `hosts` pins a job to nodes (docs/cluster.md): a manual run
         * elsewhere is refused unless forced. */
        if (!a->force && a->trigger == CW_TRIGGER_MANUAL && job->hosts.n &&
            (!cfg->node || cw_strv_find(&job->hosts, cfg->node) < 0)) {
                report(a->report_fd, "error %s is pinned to other nodes\n", job->name);
                return cli_fail(cli,
                                "%s runs only on its hosts (%s%s), not on node '%s' (use --force "
                                "to run it here anyway)",
                                job->name, cw_strv_get(&job->hosts, 0),
                                job->hosts.n > 1 ? ", ..." : "", cfg->node ? cfg->node : "-");
        }
        if (a->detach) {
                /* The worker reopens the store; this process is done with it. */
                cw_store_close(CW_TAKE_PTR(store));
                return run_detached(cli, cfg, a, spec_text, job->name);
        }
        o.cfg = cfg;
        o.job = job;
        o.spec = js;
        o.spec_text = spec_text;
        o.trigger = a->trigger;
        o.attempt = (int)a->attempt;
        o.scheduled_at = a->scheduled_at;
        o.resumed_from = a->resumed_from;
        o.ignore_lock = a->ignore_lock;
        o.now_us = cli->now;
        o.clock = &cli->clock;
        o.tee_fd = a->quiet || a->json ? -1 : fileno(cli->out);
        o.on_started = on_started;
        o.userdata = a;
        o.deliver = cw_notify_deliver_run;
        fflush(cli->out);
        r = cw_worker_run(store, &o, &res, &e);
        if (r == -EBUSY) {
                cw_run other = {0};
                describe_holder(cfg, job, &res.holder, holder, sizeof(holder));
                report(a->report_fd, "busy %s\n", holder);
                /* With a shared lock_name the holder may be another job: name it. */
                if (res.holder.run_id && cw_store_run_get(store, res.holder.run_id, &other) == 0 &&
                    other.job && strcmp(other.job, job->name) != 0)
                        fprintf(cli->err,
                                "%s: %s cannot run: its lock is held by %s, which is already running (%s)\n",
                                cli->prog, job->name, other.job, holder);
                else
                        fprintf(cli->err, "%s: %s is already running (%s)\n", cli->prog, job->name,
                                holder);
                cw_run_release(&other);
                return CW_EXIT_LOCKED;
        }
        if (r < 0) {
                report(a->report_fd, "error %s\n", e.msg[0] ? e.msg : cw_store_strerror(r));
                return cli_fail(cli, "cannot run %s: %s", job->name,
                                e.msg[0] ? e.msg : cw_store_strerror(r));
        }
        return print_outcome(cli, store, a, job, &res);
}

static int cmd_run(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"force", no_argument, NULL, CLI_OPT_FORCE},
                {"detach", no_argument, NULL, CLI_OPT_DETACH},
                {"quiet", no_argument, NULL, CLI_OPT_QUIET},
                {"json", no_argument, NULL, CLI_OPT_JSON},
                /* Internal: used when cronwarden starts its own detached workers. */
                {"report-fd", required_argument, NULL, CLI_OPT_REPORT_FD},
                {"trigger", required_argument, NULL, CLI_OPT_TRIGGER},
                {"attempt", required_argument, NULL, CLI_OPT_ATTEMPT},
                {"scheduled-at", required_argument, NULL, CLI_OPT_SCHEDULED_AT},
                {"resumed-from", required_argument, NULL, CLI_OPT_RESUMED_FROM},
                {"ignore-lock", no_argument, NULL, CLI_OPT_IGNORE_LOCK},
                {"config-snapshot", required_argument, NULL, CLI_OPT_CONFIG_SNAPSHOT},
                {0},
        };
        run_args a = {.report_fd = -1, .trigger = CW_TRIGGER_MANUAL, .attempt = 1};
        bool help = false;
        int64_t v;
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                switch (o) {
                case CLI_OPT_FORCE:
                        a.force = true;
                        break;
                case CLI_OPT_DETACH:
                        a.detach = true;
                        break;
                case CLI_OPT_QUIET:
                        a.quiet = true;
                        break;
                case CLI_OPT_IGNORE_LOCK:
                        a.ignore_lock = true;
                        break;
                case CLI_OPT_CONFIG_SNAPSHOT:
                        cli->config_snapshot = optarg;
                        break;
                case CLI_OPT_JSON:
                        a.json = true;
                        break;
                case CLI_OPT_REPORT_FD:
                        if (cli_parse_uint(optarg, INT_MAX, &v) < 0 || v < 3 ||
                            fcntl((int)v, F_GETFD) < 0)
                                return cli_usage_error(cli, &cw_cmd_run,
                                                       "--report-fd: not an open descriptor: '%s'",
                                                       optarg);
                        a.report_fd = (int)v;
                        /* The job must not inherit it. */
                        fcntl(a.report_fd, F_SETFD, FD_CLOEXEC);
                        break;
                case CLI_OPT_TRIGGER:
                        if (cw_trigger_from_string(optarg, &a.trigger) < 0)
                                return cli_usage_error(cli, &cw_cmd_run,
                                                       "--trigger: unknown trigger '%s'", optarg);
                        break;
                case CLI_OPT_ATTEMPT:
                        if (cli_parse_uint(optarg, 1000, &a.attempt) < 0 || a.attempt < 1)
                                return cli_usage_error(cli, &cw_cmd_run,
                                                       "--attempt: expected 1-1000, got '%s'",
                                                       optarg);
                        break;
                case CLI_OPT_SCHEDULED_AT:
                        if (cli_parse_uint(optarg, INT64_MAX / 1000000, &a.scheduled_at) < 0)
                                return cli_usage_error(
                                        cli, &cw_cmd_run,
                                        "--scheduled-at: expected epoch seconds, got '%s'", optarg);
                        break;
                case CLI_OPT_RESUMED_FROM:
                        if (cli_parse_uint(optarg, INT64_MAX, &a.resumed_from) < 0)
                                return cli_usage_error(
                                        cli, &cw_cmd_run,
                                        "--resumed-from: expected a run id, got '%s'", optarg);
                        break;
                default:
                        return cli_usage_error(cli, &cw_cmd_run,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (help) {
                fputs(run_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_run,
                                       "missing JOBSPEC (e.g. cronwarden run Backup)");
        if (optind + 1 < argc)
                return cli_usage_error(cli, &cw_cmd_run,
                                       "unexpected argument '%s' (quote a job spec with spaces)",
                                       argv[optind + 1]);
        a.spec = argv[optind];
        return run_main(cli, &a);
}

const cw_command cw_cmd_run = {
        .name = "run",
        .run = cmd_run,
        .summary = "run a job now, under its lock, recording the run",
        .usage = run_usage,
};

static const char progress_usage[] =
        "Usage: cronwarden progress DONE [TOTAL]\n"
        "       cronwarden progress PERCENT%\n"
        "\n"
        "Report progress from inside a job: 'progress 13 77' or 'progress 42%'.\n"
        "It is stored on the run and shown by 'status'. Works only inside a job\n"
        "started by cronwarden (it writes to $CRONWARDEN_PROGRESS_FD).\n"
        "\n"
        "Options:\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 bad numbers or not inside a job.\n";

static int cmd_progress(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {{"help", no_argument, NULL, CLI_OPT_HELP}, {0}};
        const char *fdv = getenv("CRONWARDEN_PROGRESS_FD");
        int64_t done, total = -1, fd;
        char line[64], num[32];
        struct stat st;
        size_t n;
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (o != CLI_OPT_HELP)
                        return cli_usage_error(cli, &cw_cmd_progress, "unknown option '%s'",
                                               argv[optind - 1]);
                fputs(progress_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc || argc - optind > 2)
                return cli_usage_error(cli, &cw_cmd_progress, "expected DONE [TOTAL] or PERCENT%%");
        n = strlen(argv[optind]);
        snprintf(num, sizeof(num), "%s", argv[optind]);
        if (n > 0 && n < sizeof(num) && num[n - 1] == '%' && argc - optind == 1) {
                num[n - 1] = '\0';
                total = 100;
        }
        if (cli_parse_uint(num, INT64_MAX / 2, &done) < 0)
                return cli_usage_error(cli, &cw_cmd_progress,
                                       "DONE: expected a whole number, got '%s'", argv[optind]);
        if (argc - optind == 2 && cli_parse_uint(argv[optind + 1], INT64_MAX / 2, &total) < 0)
                return cli_usage_error(cli, &cw_cmd_progress,
                                       "TOTAL: expected a whole number, got '%s'",
                                       argv[optind + 1]);
        if (total >= 0 && done > total)
                return cli_usage_error(cli, &cw_cmd_progress,
                                       "DONE (%lld) is larger than TOTAL (%lld)", (long long)done,
                                       (long long)total);
        if (!fdv || cli_parse_uint(fdv, INT_MAX, &fd) < 0 || fstat((int)fd, &st) < 0 ||
            !S_ISFIFO(st.st_mode))
                return cli_fail(
                        cli,
                        "progress: not inside a cronwarden job (CRONWARDEN_PROGRESS_FD is not set or not open)");
        if (total == 100 && argc - optind == 1)
                snprintf(line, sizeof(line), "%lld%%\n", (long long)done);
        else if (total >= 0)
                snprintf(line, sizeof(line), "%lld/%lld\n", (long long)done, (long long)total);
        else
                snprintf(line, sizeof(line), "%lld\n", (long long)done);
        if (write((int)fd, line, strlen(line)) < 0)
                return cli_fail(cli, "progress: cannot write to the worker: %s", strerror(errno));
        return CW_EXIT_OK;
}

const cw_command cw_cmd_progress = {
        .name = "progress",
        .run = cmd_progress,
        .summary = "report progress from inside a job (DONE [TOTAL] or N%)",
        .usage = progress_usage,
};
