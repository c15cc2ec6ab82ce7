/* cmd_control.c - runs in progress: `status`, `kill`, `resume`, `clean`,
 * `suspend` (docs/running.md, suspend, resume, clean). The rules (what is alive, how to kill,
 * what becomes resumable) live in worker/control.c; this file selects runs
 * from the command line and prints what happened. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_runs.h"
#include "catalog/catalog.h"
#include "notify/notify.h"
#include "worker/control.h"
#include "worker/remote.h"

/* Everything the control commands need open at once. */
typedef struct ctl {
        cw_config *cfg;
        cw_store *store;
        /* No process can start a queued run while we look (cli_runs.h):
         * the hand-over lock is ours (starters_fd). */
        bool starters;
        int starters_fd;
} ctl;

static void ctl_release(ctl *c)
{
        if (c->starters)
                cli_starters_release(c->starters_fd);
        cw_store_close(c->store);
        cw_config_free(c->cfg);
}

/* Before judging queued runs: see cli_starters_hold. */
static void ctl_hold_starters(ctl *c)
{
        if (c->starters || !c->cfg)
                return;
        c->starters_fd = cli_starters_hold(c->cfg);
        c->starters = c->starters_fd >= 0;
}

/* A queued run is alive while the worker of its start record lives or a
 * worker may still start it (worker/control.h); a running one while its
 * worker lives. */
static bool run_alive(const ctl *c, const cw_run *r)
{
        /* Another node's run: by whether that node's daemon is there. */
        if (cw_remote_is_other(c->cfg, r))
                return cw_remote_run_alive(c->store, c->cfg, r);
        if (r->status == CW_RUN_QUEUED)
                return cli_queued_alive(c->cfg, r, c->starters, NULL);
        return cw_control_is_alive(c->cfg, r);
}

static int ctl_open(cw_cli *cli, ctl *c)
{
        int r = cli_load_config(cli, false, &c->cfg);

        if (r != CW_EXIT_OK)
                return r;
        return cli_open_store(cli, c->cfg, &c->store);
}

static int list_runs(cw_cli *cli, ctl *c, const cw_run_filter *f, cw_run **ret, size_t *ret_n)
{
        int r = cw_store_runs_list(c->store, f, ret, ret_n);

        if (r < 0)
                return cli_fail(cli, "cannot read runs: %s", cw_store_strerror(r));
        return CW_EXIT_OK;
}

/* Parses the options every control command shares (--config, --help,
 * --json when allowed); returns CW_EXIT_OK, or an exit code to return. */
static int parse_simple(cw_cli *cli, const cw_command *cmd, int argc, char **argv, bool allow_json,
                        bool *json, bool *help)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS, {"json", no_argument, NULL, CLI_OPT_JSON}, {0}};
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, help))
                        continue;
                if (o == CLI_OPT_JSON && allow_json) {
                        *json = true;
                        continue;
                }
                return cli_usage_error(cli, cmd, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
        if (*help)
                fputs(cmd->usage, cli->out);
        return CW_EXIT_OK;
}

/* ---- status ---- */

static const char status_usage[] =
        "Usage: cronwarden [--config FILE] status [JOBSPEC] [--json]\n"
        "\n"
        "Show runs in progress: run id, job spec, node, pid, start, progress, and\n"
        "ALIVE or DEAD (its worker process is gone). A DEAD run is recorded as\n"
        "lost, and what is left of its job is killed. On a store shared by\n"
        "several nodes, another node's run is DEAD when no daemon of its node is\n"
        "connected to the store; it is left for its node to record. The\n"
        "cluster's locks follow: key, holding node, run, pid, fencing token and\n"
        "lease left.\n"
        "\n"
        "Options:\n"
        "      --json        print a JSON array\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok (also when nothing runs), 2 bad job spec, config or\n"
        "store error.\n";

static void print_status_table(cw_cli *cli, ctl *c, const cw_run *runs, const bool *alive, size_t n)
{
        int ws = 8;

        for (size_t i = 0; i < n; i++)
                if ((int)strlen(runs[i].spec) > ws)
                        ws = (int)strlen(runs[i].spec);
        fprintf(cli->out, "%-6s %-*s %-10s %-8s %-25s %-14s %s\n", "RUN", ws, "JOB SPEC", "NODE",
                "PID", "STARTED", "PROGRESS", "STATE");
        for (size_t i = 0; i < n; i++) {
                char started[64], prog[48];
                cli_format_local(cli_run_zone(c->cfg, &runs[i]), runs[i].started_us / 1000000,
                                 started, sizeof(started));
                cli_format_progress(&runs[i], prog, sizeof(prog));
                fprintf(cli->out, "%-6lld %-*s %-10s %-8d %-25s %-14s %s\n", (long long)runs[i].id,
                        ws, runs[i].spec, runs[i].node,
                        runs[i].pid ? runs[i].pid : runs[i].worker_pid, started, prog,
                        alive[i] ? "ALIVE" : "DEAD");
        }
}

/* ---- cluster locks (a PostgreSQL store: docs/cluster.md) ---- */

/* The lease left, "2.4s" or "ended". */
static void format_lease(const cw_cluster_lock *l, char *buf, size_t size)
{
        if (l->left_us <= 0)
                snprintf(buf, size, "ended");
        else
                snprintf(buf, size, "%.1fs", (double)l->left_us / 1e6);
}

/* Every lock row of the store, after the runs; nothing on a store that
 * keeps none (SQLite) or has none. */
static void print_cluster_locks(cw_cli *cli, const cw_cluster_lock *locks, size_t n)
{
        int wk = 8;

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++)
                if ((int)strlen(locks[i].key) > wk)
                        wk = (int)strlen(locks[i].key);
        fprintf(cli->out, "\ncluster locks:\n%-*s %-10s %-6s %-8s %-8s %s\n", wk, "LOCK", "NODE",
                "RUN", "PID", "TOKEN", "LEASE LEFT");
        for (size_t i = 0; i < n; i++) {
                char lease[32];

                format_lease(&locks[i], lease, sizeof(lease));
                fprintf(cli->out, "%-*s %-10s %-6lld %-8d %-8lld %s\n", wk, locks[i].key,
                        locks[i].node, (long long)locks[i].run_id, locks[i].worker_pid,
                        (long long)locks[i].fence, lease);
        }
}

/* A run's cluster lock, for `status --json`: {key, node, token,
 * lease_left_s}, or NULL when it holds none. */
static json_t *run_lock_json(const cw_run *run, const cw_cluster_lock *locks, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (locks[i].run_id == run->id && locks[i].fence == run->fence)
                        return json_pack("{s:s, s:s, s:I, s:f}", "key", locks[i].key, "node",
                                         locks[i].node, "token", (json_int_t)locks[i].fence,
                                         "lease_left_s", (double)locks[i].left_us / 1e6);
        return NULL;
}

/* Records every dead run among runs[0..n) as lost; returns how many. */
static size_t sweep_dead(cw_cli *cli, ctl *c, const cw_run *runs, const bool *alive, size_t n)
{
        size_t lost = 0;

        for (size_t i = 0; i < n; i++) {
                int r;
                /* Another node's runs are that node's (or the cluster's) to record. */
                if (alive[i] || cw_remote_is_other(c->cfg, &runs[i]))
                        continue;
                if (runs[i].status == CW_RUN_QUEUED) {
                        cw_queued_fate fate;

                        if (cli_queued_alive(c->cfg, &runs[i], c->starters, &fate))
                                continue;
                        r = cw_control_mark_queued_lost(c->store, c->cfg, &runs[i], fate, cli->now,
                                                        NULL);
                } else {
                        r = cw_control_mark_lost(c->store, &runs[i], cli->now);
                }
                if (r == 0) {
                        lost++;
                        (void)cw_notify_run_event(
                                c->store, c->cfg, cw_config_job(c->cfg, runs[i].job), runs[i].id,
                                CW_RUN_LOST, "its worker process vanished", cli->now);
                } else if (r != -ESTALE)
                        fprintf(cli->err, "%s: cannot record run %lld as lost: %s\n", cli->prog,
                                (long long)runs[i].id, strerror(-r));
        }
        return lost;
}

static int cmd_status(cw_cli *cli, int argc, char **argv)
{
        _cleanup_free_ char *job = NULL, *spec = NULL;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        _cleanup_free_ bool *alive = NULL;
        bool json = false, help = false;
        cw_cluster_lock *locks = NULL;
        cw_run *runs = NULL;
        size_t n = 0, k = 0, n_locks = 0;
        ctl c = {0};
        int r;

        r = parse_simple(cli, &cw_cmd_status, argc, argv, true, &json, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_status, "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (optind < argc && cli_parse_run_selector(cli, argv[optind], &job, &spec) < 0)
                return CW_EXIT_USAGE;
        r = ctl_open(cli, &c);
        f.active = true;
        f.job = job;
        ctl_hold_starters(&c);
        if (r == CW_EXIT_OK)
                r = list_runs(cli, &c, &f, &runs, &n);
        if (r != CW_EXIT_OK) {
                ctl_release(&c);
                return r;
        }
        /* A store without cluster locks (SQLite) shows none. */
        if (cw_store_locks_list(c.store, &locks, &n_locks) < 0) {
                locks = NULL;
                n_locks = 0;
        }
        alive = calloc(n ? n : 1, sizeof(bool));
        for (size_t i = 0; alive && i < n; i++)
                if (cli_run_matches(&runs[i], job, spec)) {
                        runs[k] = runs[i];
                        alive[k++] = run_alive(&c, &runs[i]);
                } else {
                        cw_run_release(&runs[i]);
                }
        if (!alive) {
                r = cli_fail(cli, "out of memory");
        } else if (json) {
                json_t *a = json_array();
                for (size_t i = 0; i < k; i++) {
                        json_t *o = cli_run_json(&runs[i], cli->now);
                        /* As GET /api/v1/running; `state` is the table's column. */
                        json_object_set_new(o, "alive", json_boolean(alive[i]));
                        json_object_set_new(o, "state", json_string(alive[i] ? "ALIVE" : "DEAD"));
                        if (runs[i].fence > 0) {
                                json_t *l = run_lock_json(&runs[i], locks, n_locks);

                                json_object_set_new(o, "fence", json_integer(runs[i].fence));
                                if (l)
                                        json_object_set_new(o, "cluster_lock", l);
                        }
                        json_array_append_new(a, o);
                }
                json_dumpf(a, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(a);
        } else if (k == 0) {
                fprintf(cli->out, "no runs in progress%s%s\n", job ? " for " : "", job ? job : "");
                print_cluster_locks(cli, locks, n_locks);
        } else {
                print_status_table(cli, &c, runs, alive, k);
                print_cluster_locks(cli, locks, n_locks);
        }
        cw_cluster_locks_free(locks, n_locks);
        if (alive)
                sweep_dead(cli, &c, runs, alive, k);
        cw_runs_free(runs, alive ? k : n);
        ctl_release(&c);
        return r;
}

const cw_command cw_cmd_status = {
        .name = "status",
        .run = cmd_status,
        .summary = "show runs in progress (ALIVE/DEAD)",
        .usage = status_usage,
};

/* ---- kill ---- */

static const char kill_usage[] =
        "Usage: cronwarden [--config FILE] kill [JOBSPEC|PID|RUN_ID] [--run ID] [--pid PID]\n"
        "\n"
        "Stop running runs: SIGTERM to the job's process group, SIGKILL after its\n"
        "kill_grace. Without an argument, every run in progress on this node. A\n"
        "number matches a run id, a worker pid or a job pid; --run and --pid say\n"
        "which. A killed run of a job with can_resume = yes can be restarted by\n"
        "'cronwarden resume'. On a store shared by several nodes, a job spec or\n"
        "run id also matches runs of other nodes: their node's daemon stops\n"
        "them, recorded as killed by USER@NODE.\n"
        "\n"
        "Options:\n"
        "      --run ID      the run with this id\n"
        "      --pid PID     the run whose worker or job has this pid\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 all matched runs were stopped, 1 one could not be\n"
        "stopped (also: its node is down or did not answer), 2 nothing matched\n"
        "(also: the run named has already ended) or bad arguments.\n";

typedef struct kill_target {
        int64_t run_id; /* --run, or 0 */
        int64_t pid;    /* --pid, or 0 */
        int64_t number; /* a bare number: run id or pid, or -1 */
        char *job, *spec;
} kill_target;

static bool store_shared(const ctl *c)
{
        cw_store_url u;

        return cw_store_url_parse(c->cfg->store, &u, NULL) == 0 && u.kind == CW_STORE_POSTGRESQL;
}

/* A pid means something on this node only; a run id anywhere (on a
 * store of one node, only this node's runs are ever matched). Without
 * any selector, only this node's runs. */
static bool target_matches(const ctl *c, const kill_target *t, const cw_run *r)
{
        bool local = !cw_remote_is_other(c->cfg, r);

        if (!local && !store_shared(c))
                return false;
        if (t->run_id)
                return r->id == t->run_id;
        if (t->pid)
                return local && (r->pid == t->pid || r->worker_pid == t->pid);
        if (t->number >= 0)
                return r->id == t->number ||
                       (local && (r->pid == t->number || r->worker_pid == t->number));
        if (!t->job)
                return local;
        return cli_run_matches(r, t->job, t->spec);
}

/* Stops one run: here, or through its node's daemon (remote.h). */
static int kill_one(cw_cli *cli, ctl *c, const cw_run *run, cw_run_status *ret_st)
{
        char who[512], why[512];
        int r;

        if (!cw_remote_is_other(c->cfg, run))
                return cw_control_kill(c->store, c->cfg, run, cli->now, ret_st);
        cli_who(c->cfg, who, sizeof(who));
        r = cw_remote_kill(c->store, c->cfg, run, who, ret_st, why, sizeof(why));
        if (r < 0 && r != -ESTALE)
                fprintf(cli->err, "%s: cannot stop run %lld (%s) on node %s: %s\n", cli->prog,
                        (long long)run->id, run->spec, run->node, why);
        return r < 0 && r != -ESTALE ? -ECANCELED : r;
}

/* Nothing running matched: a run named by its id that has already ended
 * is said so, rather than not found. */
static int kill_none(cw_cli *cli, ctl *c, const kill_target *t)
{
        int64_t id = t->run_id ? t->run_id : t->number;
        cw_run run = {0};

        if (id > 0 && cw_store_run_get(c->store, id, &run) == 0 &&
            cw_run_status_is_final(run.status)) {
                fprintf(cli->err, "%s: run %lld (%s, node %s) has already ended: %s\n", cli->prog,
                        (long long)run.id, run.job, run.node ? run.node : "-",
                        cw_run_status_to_string(run.status));
                cw_run_release(&run);
                return CW_EXIT_USAGE;
        }
        cw_run_release(&run);
        /* On a shared store a selector names runs of every node. */
        return cli_fail(cli, "no run in progress %smatches",
                        store_shared(c) && (t->job || id > 0) ? "" : "on this node ");
}

/* Kills every running run that t selects (without a selector: those of
 * this node). */
static int kill_selected(cw_cli *cli, ctl *c, const kill_target *t, bool quiet_if_none,
                         size_t *ret_killed)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0, matched = 0, ids = 0;
        int64_t first_id = 0;
        int code = CW_EXIT_OK;

        f.status = CW_RUN_RUNNING;
        f.job = t->job;
        code = list_runs(cli, c, &f, &runs, &n);
        if (code != CW_EXIT_OK)
                return code;
        /* A bare number that names two different runs is ambiguous. */
        for (size_t i = 0; i < n; i++)
                if (target_matches(c, t, &runs[i]) && (ids == 0 || runs[i].id != first_id)) {
                        first_id = ids ? first_id : runs[i].id;
                        ids++;
                }
        if (t->number >= 0 && ids > 1) {
                cw_runs_free(runs, n);
                return cli_fail(cli, "%lld matches several runs: use --run ID or --pid PID",
                                (long long)t->number);
        }
        for (size_t i = 0; i < n; i++) {
                cw_run_status st = CW_RUN_RUNNING;
                int r;
                if (!target_matches(c, t, &runs[i]))
                        continue;
                matched++;
                r = kill_one(cli, c, &runs[i], &st);
                if (r == -ESTALE) {
                        fprintf(cli->out, "run %lld (%s) had already ended\n",
                                (long long)runs[i].id, runs[i].job);
                } else if (r == -ECANCELED) {
                        code = CW_EXIT_JOB_FAILED; /* kill_one said why */
                } else if (r < 0) {
                        fprintf(cli->err, "%s: cannot stop run %lld (%s): %s\n", cli->prog,
                                (long long)runs[i].id, runs[i].spec, strerror(-r));
                        code = CW_EXIT_JOB_FAILED;
                } else if (st != CW_RUN_KILLED) {
                        fprintf(cli->out, "run %lld (%s) ended as %s before it could be killed\n",
                                (long long)runs[i].id, runs[i].job, cw_run_status_to_string(st));
                } else {
                        fprintf(cli->out, "killed run %lld (%s)%s%s\n", (long long)runs[i].id,
                                runs[i].job,
                                cw_remote_is_other(c->cfg, &runs[i]) ? " on node " : "",
                                cw_remote_is_other(c->cfg, &runs[i]) ? runs[i].node : "");
                        if (ret_killed)
                                (*ret_killed)++;
                }
        }
        cw_runs_free(runs, n);
        if (matched == 0 && !quiet_if_none)
                return kill_none(cli, c, t);
        return code;
}

static int cmd_kill(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"run", required_argument, NULL, CLI_OPT_RUN},
                {"pid", required_argument, NULL, CLI_OPT_PID},
                {0},
        };
        kill_target t = {.number = -1};
        bool help = false;
        ctl c = {0};
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == CLI_OPT_RUN && cli_parse_uint(optarg, INT64_MAX, &t.run_id) == 0 &&
                    t.run_id > 0)
                        continue;
                if (o == CLI_OPT_PID && cli_parse_uint(optarg, INT_MAX, &t.pid) == 0 && t.pid > 0)
                        continue;
                return cli_usage_error(cli, &cw_cmd_kill, "bad or unknown option '%s'",
                                       argv[optind - 1]);
        }
        if (help) {
                fputs(kill_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_kill, "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (optind < argc && cli_parse_uint(argv[optind], INT64_MAX, &t.number) < 0 &&
            cli_parse_run_selector(cli, argv[optind], &t.job, &t.spec) < 0)
                return CW_EXIT_USAGE;
        r = ctl_open(cli, &c);
        if (r == CW_EXIT_OK)
                r = kill_selected(cli, &c, &t, false, NULL);
        free(t.job);
        free(t.spec);
        ctl_release(&c);
        return r;
}

const cw_command cw_cmd_kill = {
        .name = "kill",
        .run = cmd_kill,
        .summary = "stop runs in progress (TERM, then KILL after the grace)",
        .usage = kill_usage,
};

/* ---- clean ---- */

static const char clean_usage[] =
        "Usage: cronwarden [--config FILE] clean\n"
        "\n"
        "Record runs whose worker vanished as lost (killing what is left of\n"
        "them), and forget killed runs waiting for 'resume'.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 bad arguments, config or store error.\n";

/* The clean step shared by clean and suspend. */
static int do_clean(cw_cli *cli, ctl *c)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0, lost = 0, forgot = 0;
        bool *alive;
        int r;

        f.active = true;
        ctl_hold_starters(c);
        r = list_runs(cli, c, &f, &runs, &n);
        if (r != CW_EXIT_OK)
                return r;
        alive = calloc(n ? n : 1, sizeof(bool));
        if (!alive) {
                cw_runs_free(runs, n);
                return cli_fail(cli, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                alive[i] = run_alive(c, &runs[i]);
        lost = sweep_dead(cli, c, runs, alive, n);
        free(alive);
        cw_runs_free(runs, n);

        f = (cw_run_filter)CW_RUN_FILTER_INIT;
        f.resume = CW_RESUME_PENDING;
        r = list_runs(cli, c, &f, &runs, &n);
        if (r != CW_EXIT_OK)
                return r;
        for (size_t i = 0; i < n; i++)
                if (cw_store_run_set_resume(c->store, runs[i].id, CW_RESUME_PENDING,
                                            CW_RESUME_CLEANED) == 0)
                        forgot++;
        cw_runs_free(runs, n);
        fprintf(cli->out, "%zu dead run%s recorded as lost, %zu resumable run%s forgotten\n", lost,
                lost == 1 ? "" : "s", forgot, forgot == 1 ? "" : "s");
        return CW_EXIT_OK;
}

static int cmd_clean(cw_cli *cli, int argc, char **argv)
{
        bool json = false, help = false;
        ctl c = {0};
        int r;

        r = parse_simple(cli, &cw_cmd_clean, argc, argv, false, &json, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_clean, "unexpected argument '%s'",
                                       argv[optind]);
        r = ctl_open(cli, &c);
        if (r == CW_EXIT_OK)
                r = do_clean(cli, &c);
        ctl_release(&c);
        return r;
}

const cw_command cw_cmd_clean = {
        .name = "clean",
        .run = cmd_clean,
        .summary = "record dead runs as lost; forget resumable runs",
        .usage = clean_usage,
};

/* ---- suspend ---- */

static const char suspend_usage[] =
        "Usage: cronwarden [--config FILE] suspend\n"
        "\n"
        "'clean', then kill every run in progress on this node. Killed runs of\n"
        "jobs with can_resume = yes are restarted by 'cronwarden resume' (for\n"
        "example around a deploy).\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 every run was stopped (or none was running), 1 one could\n"
        "not be stopped, 2 bad arguments, config or store error.\n";

static int cmd_suspend(cw_cli *cli, int argc, char **argv)
{
        kill_target t = {.number = -1};
        bool json = false, help = false;
        size_t killed = 0;
        ctl c = {0};
        int r;

        r = parse_simple(cli, &cw_cmd_suspend, argc, argv, false, &json, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_suspend, "unexpected argument '%s'",
                                       argv[optind]);
        r = ctl_open(cli, &c);
        if (r == CW_EXIT_OK)
                r = do_clean(cli, &c);
        if (r == CW_EXIT_OK) {
                r = kill_selected(cli, &c, &t, true, &killed);
                fprintf(cli->out, "%zu run%s killed\n", killed, killed == 1 ? "" : "s");
        }
        ctl_release(&c);
        return r;
}

const cw_command cw_cmd_suspend = {
        .name = "suspend",
        .run = cmd_suspend,
        .summary = "clean, then kill every run in progress",
        .usage = suspend_usage,
};

/* ---- resume ---- */

static const char resume_usage[] =
        "Usage: cronwarden [--config FILE] resume\n"
        "\n"
        "Restart, in the background, every killed run whose job has\n"
        "can_resume = yes (and that 'clean' has not forgotten), with the same job\n"
        "spec. Prints the new run ids. A run whose lock is held is not restarted\n"
        "and stays resumable.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 every run was restarted (or none was waiting), 1 one\n"
        "could not be started, 2 bad arguments, config or store error, 75 a\n"
        "run's lock is held.\n";

/* Restarts one run in a detached worker (spawn.c). */
static int resume_one(cw_cli *cli, ctl *c, const cw_run *old, int64_t *ret_new)
{
        cli_worker_req w = {
                .spec = old->spec,
                .trigger = CW_TRIGGER_RESUME,
                .attempt = 1,
                .resumed_from = old->id,
                .force = true,
        };
        char msg[512];
        int r;

        r = cli_spawn_worker(c->cfg, &w, ret_new, msg, sizeof(msg));
        if (r == -EBUSY)
                return CW_EXIT_LOCKED;
        if (r < 0) {
                fprintf(cli->err, "%s: %s\n", cli->prog, msg);
                return CW_EXIT_JOB_FAILED;
        }
        return CW_EXIT_OK;
}

static int cmd_resume(cw_cli *cli, int argc, char **argv)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        bool json = false, help = false;
        cw_run *runs = NULL;
        size_t n = 0, done = 0;
        ctl c = {0};
        int r;

        r = parse_simple(cli, &cw_cmd_resume, argc, argv, false, &json, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_resume, "unexpected argument '%s'",
                                       argv[optind]);
        r = ctl_open(cli, &c);
        f.resume = CW_RESUME_PENDING;
        if (r == CW_EXIT_OK)
                r = list_runs(cli, &c, &f, &runs, &n);
        if (r != CW_EXIT_OK)
                n = 0;
        /* Oldest first: restart in the order they were killed. A job spec
         * killed several times is restarted once, for its newest run; the
         * older ones are the same work and are forgotten. */
        for (size_t i = n; c.store && i-- > 0;) {
                _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
                const cw_job *job;
                cw_error err;
                int64_t new_id = 0;
                bool newer = false;
                int code;
                for (size_t k = 0; k < i && !newer; k++)
                        newer = strcmp(runs[k].spec, runs[i].spec) == 0;
                if (newer) {
                        if (cw_store_run_set_resume(c.store, runs[i].id, CW_RESUME_PENDING,
                                                    CW_RESUME_CLEANED) == 0)
                                fprintf(cli->out,
                                        "run %lld (%s) is superseded by a later killed run; not resumed\n",
                                        (long long)runs[i].id, runs[i].spec);
                        continue;
                }
                /* The same lookup as `run` (a job made in the admin UI too). */
                job = cw_job_resolve(c.cfg, c.store, runs[i].job, &ref, &err) == 0 ? ref.job : NULL;
                if (!job || !job->can_resume) {
                        fprintf(cli->err, "%s: run %lld: job %s %s; not resumed\n", cli->prog,
                                (long long)runs[i].id, runs[i].job,
                                ref.ui ? "runs a command made in the admin UI, which is never resumed"
                                : job ? "no longer has can_resume = yes"
                                      : "is no longer configured");
                        continue;
                }
                /* Claim it first, so two concurrent `resume`s restart it once. */
                if (cw_store_run_set_resume(c.store, runs[i].id, CW_RESUME_PENDING,
                                            CW_RESUME_DONE) < 0)
                        continue;
                code = resume_one(cli, &c, &runs[i], &new_id);
                if (code != CW_EXIT_OK) {
                        /* Not restarted (e.g. its lock is held): keep it resumable. */
                        cw_store_run_set_resume(c.store, runs[i].id, CW_RESUME_DONE,
                                                CW_RESUME_PENDING);
                        fprintf(cli->err, "%s: run %lld (%s) was not restarted%s\n", cli->prog,
                                (long long)runs[i].id, runs[i].spec,
                                code == CW_EXIT_LOCKED ? ": its lock is held" : "");
                        /* Keep going: one held lock must not stop the others. */
                        if (r == CW_EXIT_OK)
                                r = code < 0 ? CW_EXIT_JOB_FAILED : code;
                } else {
                        fprintf(cli->out, "resumed run %lld as run %lld (%s)\n",
                                (long long)runs[i].id, (long long)new_id, runs[i].spec);
                        done++;
                }
        }
        if (c.store)
                fprintf(cli->out, "%zu run%s resumed\n", done, done == 1 ? "" : "s");
        cw_runs_free(runs, n);
        ctl_release(&c);
        return r;
}

const cw_command cw_cmd_resume = {
        .name = "resume",
        .run = cmd_resume,
        .summary = "restart killed runs of jobs with can_resume",
        .usage = resume_usage,
};
