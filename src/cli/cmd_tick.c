/* cmd_tick.c - `cronwarden tick`: one scheduler pass (sched/sched.c),
 * for deployments driven by the system crontab. Workers are started
 * detached (spawn.c), so the pass ends as soon as every run is recorded. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "catalog/entries.h"
#include "report/json.h"
#include "cli_runs.h"
#include "base/loadavg.h"
#include "sched/limits.h"
#include "sched/sched.h"
#include "notify/notify.h"
#include "sched/worker_locks.h"

/* What a tick spends at most on delivering notifications left in the
 * outbox (by runs that could not send theirs, and by this pass's missed
 * fires); the rest waits for the next tick. */
#define TICK_NOTIFY_BUDGET_US (20 * 1000000LL)

/* The UI-created entries of one pass (catalog/entries.h). */
typedef struct ui_entries {
        cw_schedule_entry *e;
        size_t n;
} ui_entries;

static void ui_entries_freep(ui_entries *u)
{
        cw_schedule_entries_free(u->e, u->n);
}

static const char tick_usage[] =
        "Usage: cronwarden [--config FILE] tick [--silent] [--json]\n"
        "\n"
        "One scheduler pass: start, in the background, every fire due since the\n"
        "previous pass (kept in the store), then exit. Meant for a system crontab\n"
        "line ('cronwarden crontab install' writes one). Safe to run concurrently\n"
        "or irregularly: each fire is claimed in the store, so it runs at most\n"
        "once; fires missed while no pass ran are handled by each job's catch_up.\n"
        "The first pass ever starts nothing old. Also starts requested runs, due\n"
        "retries, jobs whose 'after' job succeeded, and the entries created in the\n"
        "admin UI or API.\n"
        "\n"
        "Options:\n"
        "      --silent      print nothing but errors\n"
        "      --json        print {\"window\": ..., \"actions\": [...]} instead of lines\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 the pass completed (fires may have been skipped), 2 bad\n"
        "config or store error.\n";

typedef struct tick_ctx {
        cw_cli *cli;
        const cw_config *cfg;
        cw_store *store;
        bool silent;
        json_t *actions; /* with --json */
        /* max_running / max_load, read at the pass's first start. */
        bool limits_read, load_high;
        double load;
        long active; /* runs holding a place, this pass's starts included */
} tick_ctx;

/* max_running and max_load: a tick cannot wait, so a start they hold
 * back is refused (-EAGAIN: the pass records the fire skipped). */
static int limits_check(tick_ctx *t, cw_error *err)
{
        char why[160];

        if (!cw_sched_limits_on(t->cfg))
                return 0;
        if (!t->limits_read) {
                t->limits_read = true;
                if (t->cfg->max_load > 0 &&
                    cw_loadavg_read(getenv("CRONWARDEN_LOADAVG"), &t->load) == 0)
                        t->load_high = t->load > t->cfg->max_load;
                if (t->cfg->max_running > 0 &&
                    cw_sched_count_active(t->store, t->cfg, NULL, NULL, &t->active) < 0)
                        t->active = 0;
        }
        if (!t->load_high && (t->cfg->max_running == 0 || t->active < t->cfg->max_running))
                return 0;
        cw_sched_held_reason(t->cfg, t->load_high, t->load, why, sizeof(why));
        return cw_error_fail(err, -EAGAIN, "%s (tick does not wait)", why);
}

static int start_worker(void *userdata, const cw_sched_action *a, int64_t *ret_run_id,
                        cw_error *err)
{
        tick_ctx *t = userdata;
        int r = limits_check(t, err);

        if (r == 0)
                r = cli_spawn_for_action(t->cfg, a, NULL, ret_run_id, err);
        if (r == 0)
                t->active++;
        return r;
}

static void on_action(void *userdata, const cw_sched_action *a)
{
        tick_ctx *t = userdata;
        char when[64];

        cli_format_instant(a->job->tz, a->scheduled_at, when, sizeof(when));
        if (t->actions) {
                json_t *o = json_object();
                json_object_set_new(o, "action",
                                    json_string(cw_sched_action_kind_to_string(a->kind)));
                json_object_set_new(o, "job", json_string(a->job->name));
                json_object_set_new(o, "spec", json_string(a->spec));
                /* A fire: in the job's zone, with its _ts (docs/api.md). */
                cw_json_set_fire(o, "scheduled_at", a->scheduled_at, a->job->tz);
                json_object_set_new(o, "trigger", json_string(cw_trigger_to_string(a->trigger)));
                json_object_set_new(o, "attempt", json_integer(a->attempt));
                json_object_set_new(o, "run", a->run_id ? json_integer(a->run_id) : json_null());
                json_object_set_new(o, "reason", a->reason ? json_string(a->reason) : json_null());
                json_array_append_new(t->actions, o);
                return;
        }
        if (a->kind == CW_SCHED_FAILED)
                fprintf(t->cli->err, "%s: cannot start %s (fire %s): %s\n", t->cli->prog, a->spec,
                        when, a->reason);
        else if (t->silent)
                return;
        else if (a->kind == CW_SCHED_STARTED)
                fprintf(t->cli->out, "started run %lld %s (%s, fire %s)\n", (long long)a->run_id,
                        a->spec, cw_trigger_to_string(a->trigger), when);
        else
                fprintf(t->cli->out, "%s %s (fire %s): %s\n",
                        cw_sched_action_kind_to_string(a->kind), a->spec, when, a->reason);
}

/* Delivers what the outbox holds (notify.h); failures stay there for
 * the next tick, so they are not an error of the pass. */
static void tick_notify(const cw_config *cfg, cw_store *store)
{
        cw_notify_sender *snd;
        bool any = false;

        /* A config without channels has nothing to deliver: no cost. */
        for (size_t i = 0; i < cfg->n_jobs && !any; i++)
                any = cw_notify_job_has_channels(&cfg->jobs[i]);
        if (!any)
                return;
        snd = cw_notify_sender_new(cfg);
        if (!snd)
                return;
        (void)cw_notify_sender_pass(snd, store, 0, TICK_NOTIFY_BUDGET_US, NULL, NULL);
        cw_notify_sender_free(snd);
}

/* Runs left queued by a worker that is gone (a daemon's, worker/control.h)
 * are recorded as lost, as `status` and `clean` do, and said like the
 * pass's actions ("lost run N SPEC (fire ...): why"). Only when no process
 * can start one meanwhile does a run without a start record count as gone
 * (never started); one whose job may have run is lost either way. */
static void sweep_queued(tick_ctx *t, cw_store *store)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        int fd = cli_starters_hold(t->cfg);
        cw_run *runs = NULL;
        size_t n = 0;

        f.status = CW_RUN_QUEUED;
        if (cw_store_runs_list(store, &f, &runs, &n) < 0)
                n = 0;
        for (size_t i = n; i-- > 0;) {
                const cw_run *q = &runs[i];
                const cw_job *job = cw_config_job(t->cfg, q->job);
                cw_queued_fate fate;
                cw_run after = {0};
                char when[64];

                if (cli_queued_alive(t->cfg, q, fd >= 0, &fate) ||
                    cw_control_mark_queued_lost(store, t->cfg, q, fate, t->cli->now, NULL) < 0)
                        continue;
                (void)cw_store_run_get(store, q->id, &after);
                (void)cw_notify_run_event(store, t->cfg, job, q->id, CW_RUN_LOST,
                                          after.reason ? after.reason : "its worker is gone",
                                          t->cli->now);
                cli_format_instant(job ? job->tz : t->cfg->tz, q->scheduled_at, when, sizeof(when));
                if (t->actions) {
                        json_t *o = json_object();
                        json_object_set_new(o, "action", json_string("lost"));
                        json_object_set_new(o, "job", json_string(q->job));
                        json_object_set_new(o, "spec", json_string(q->spec));
                        json_object_set_new(o, "scheduled_at", json_string(when));
                        json_object_set_new(o, "trigger",
                                            json_string(cw_trigger_to_string(q->trigger)));
                        json_object_set_new(o, "attempt", json_integer(q->attempt));
                        json_object_set_new(o, "run", json_integer(q->id));
                        json_object_set_new(o, "reason",
                                            after.reason ? json_string(after.reason) : json_null());
                        json_array_append_new(t->actions, o);
                } else if (!t->silent) {
                        fprintf(t->cli->out, "lost run %lld %s (fire %s): %s\n", (long long)q->id,
                                q->spec, when, after.reason ? after.reason : "its worker is gone");
                }
                cw_run_release(&after);
        }
        cw_runs_free(runs, n);
        cli_starters_release(fd);
}

/* When the config file was last written: an entry edited in it counts
 * as in force from then on (sched.h, config_at); 0 when unknown. */
static cw_time config_mtime(const cw_config *cfg)
{
        struct stat st;

        return cfg->path && stat(cfg->path, &st) == 0 ? (cw_time)st.st_mtime : 0;
}

static int cmd_tick(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"silent", no_argument, NULL, CLI_OPT_SILENT},
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_(ui_entries_freep) ui_entries extra = {0};
        tick_ctx t = {.cli = cli};
        bool help = false, json = false;
        cw_sched_result res;
        cw_sched_opts o = {0};
        cw_error err;
        int opt, r;

        optind = 0;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, opt, optarg, &help))
                        continue;
                if (opt == CLI_OPT_SILENT)
                        t.silent = true;
                else if (opt == CLI_OPT_JSON)
                        json = true;
                else
                        return cli_usage_error(cli, &cw_cmd_tick,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        }
        if (help) {
                fputs(tick_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_tick, "unexpected argument '%s'", argv[optind]);
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        r = cw_ui_entries_load(cfg, store, cw_instant_sec(cli->now), &extra.e, &extra.n, NULL);
        if (r < 0)
                return cli_fail(cli, "tick: cannot read the UI-created entries: %s",
                                cw_store_strerror(r));
        t.cfg = cfg;
        t.store = store;
        if (json)
                t.actions = json_array();
        sweep_queued(&t, store);
        o.cfg = cfg;
        o.store = store;
        o.now = cli->now;
        o.config_at = config_mtime(cfg);
        o.start = start_worker;
        o.locks = cw_sched_worker_locks();
        o.on_action = on_action;
        o.userdata = &t;
        o.extra_entries = extra.e;
        o.n_extra_entries = extra.n;
        cw_error_clear(&err);
        r = cw_sched_pass(&o, &res, &err);
        if (r < 0) {
                json_decref(t.actions);
                return cli_fail(cli, "tick: %s", err.msg);
        }
        if (json) {
                char from[64], to[64];
                json_t *out = json_object();
                cli_format_instant(cfg->tz, res.window_from, from, sizeof(from));
                cli_format_instant(cfg->tz, res.window_to, to, sizeof(to));
                json_object_set_new(out, "window_from", json_string(from));
                json_object_set_new(out, "window_to", json_string(to));
                json_object_set_new(out, "window_from_ts", json_integer(res.window_from));
                json_object_set_new(out, "window_to_ts", json_integer(res.window_to));
                json_object_set_new(out, "first_pass", json_boolean(res.first_pass));
                json_object_set_new(out, "draining", json_boolean(res.draining));
                json_object_set_new(out, "actions", t.actions);
                json_dumpf(out, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(out);
        } else if (res.draining && !t.silent) {
                fputs("the scheduler is draining: nothing was started ('cronwarden undrain' ends it)\n",
                      cli->out);
        }
        /* After the output: what tick prints never waits for an endpoint. */
        fflush(cli->out);
        tick_notify(cfg, store);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_tick = {
        .name = "tick",
        .run = cmd_tick,
        .summary = "one scheduler pass: start fires due since the last pass",
        .usage = tick_usage,
};
