/* waiting.c - runs the daemon holds back for `max_running` and
 * `max_load` (docs/scheduling.md, "Capping runs: max_running, priority,
 * max_load").
 *
 * With either key set, every run a pass (or @reboot, or a resume after a
 * loss) starts is recorded `queued` as usual, then kept here instead of
 * being handed to the spawner at once. After each pass the waiting runs
 * are looked at in order: higher `priority` first, then the earlier fire
 * (scheduled_at), then the older run. While the 1-minute load average is
 * above max_load nothing starts; otherwise as many start as max_running
 * leaves room for, counting every queued or running run of this node
 * that is not manual and not waiting here. A scheduled fire held back
 * longer than its job's start_deadline is recorded `missed`, the reason
 * naming what held it. Other triggers (requests, retries, dependencies)
 * wait until they can start.
 *
 * The runs are rows of the store, so `status` and the admin UI show them
 * as queued; the list here only says which queued rows are ours to start.
 * A daemon that stops leaves them queued, and the next one takes them back
 * (recover.c, restart_queued). */
#include "daemon/daemon_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/iso8601.h"
#include "base/loadavg.h"
#include "base/units.h"
#include "catalog/catalog.h"
#include "notify/notify.h"
#include "sched/limits.h"
#include "sched/sched.h"

/* While runs wait, the daemon looks again this often (a run of another
 * process may end, the load may fall), besides after each pass. */
#define WAIT_POLL_S 2

typedef enum held_by { HELD_NOT, HELD_CAP, HELD_LOAD } held_by;

bool daemon_gate_on(const daemon_state *d)
{
        return cw_sched_limits_on(d->cfg);
}

int daemon_waiting_push(daemon_state *d, const cw_run *run, const cw_job *job, bool uncommitted)
{
        waiting_run *w;

        if (cw_array_reserve((void **)&d->waiting, &d->cap_waiting, d->n_waiting + 1,
                             sizeof(*d->waiting), 16) < 0)
                return -ENOMEM;
        w = &d->waiting[d->n_waiting];
        *w = (waiting_run){.run_id = run->id,
                           .scheduled_at = run->scheduled_at,
                           .queued_us = run->started_us,
                           .trigger = (int32_t)run->trigger,
                           .attempt = run->attempt,
                           .ignore_lock = !run->lock_key,
                           .priority = job->priority,
                           .deadline = job->start_deadline ? job->start_deadline
                                                           : CW_SCHED_DEFAULT_DEADLINE,
                           .uncommitted = uncommitted,
                           .spec = strdup(run->spec),
                           .job = strdup(job->name)};
        if (!w->spec || !w->job) {
                free(w->spec);
                free(w->job);
                return -ENOMEM;
        }
        d->n_waiting++;
        return 0;
}

bool daemon_waiting_has(const daemon_state *d, int64_t run_id)
{
        for (size_t i = 0; i < d->n_waiting; i++)
                if (d->waiting[i].run_id == run_id && !d->waiting[i].gone)
                        return true;
        return false;
}

/* Drops the runs marked gone, keeping the order of the rest. */
static void compact(daemon_state *d)
{
        size_t keep = 0;

        for (size_t i = 0; i < d->n_waiting; i++) {
                if (d->waiting[i].gone) {
                        free(d->waiting[i].spec);
                        free(d->waiting[i].job);
                        continue;
                }
                d->waiting[keep++] = d->waiting[i];
        }
        d->n_waiting = keep;
}

void daemon_waiting_commit(daemon_state *d, bool ok)
{
        for (size_t i = 0; i < d->n_waiting; i++) {
                if (!d->waiting[i].uncommitted)
                        continue;
                d->waiting[i].uncommitted = false;
                /* Not committed: its row and claim are gone with the batch. */
                d->waiting[i].gone = !ok;
        }
        compact(d);
}

void daemon_waiting_free(daemon_state *d)
{
        for (size_t i = 0; i < d->n_waiting; i++) {
                free(d->waiting[i].spec);
                free(d->waiting[i].job);
        }
        free(d->waiting);
        d->waiting = NULL;
        d->n_waiting = d->cap_waiting = 0;
}

/* Higher priority first, then the earlier fire, then the older run. */
static int waiting_cmp(const void *a, const void *b)
{
        const waiting_run *x = a, *y = b;

        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        if (x->scheduled_at != y->scheduled_at)
                return x->scheduled_at < y->scheduled_at ? -1 : 1;
        return x->run_id < y->run_id ? -1 : x->run_id > y->run_id;
}

static bool waiting_here(const void *userdata, int64_t run_id)
{
        return daemon_waiting_has(userdata, run_id);
}

static void log_run(daemon_state *d, const char *level, const char *event, const waiting_run *w,
                    const char *extra, const char *reason)
{
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        const cw_tz *tz = cw_job_resolve(d->cfg, d->store, w->job, &ref, NULL) == 0 ? ref.job->tz
                                                                                    : d->cfg->tz;
        char fire[CW_ISO8601_MAX], q1[256], q2[400];

        cw_iso8601_format(w->scheduled_at, cw_tz_utoff(tz, w->scheduled_at), fire, sizeof(fire));
        logline(d, level,
                "event=%s run=%" PRId64 " job=%s spec=%s fire=%s trigger=%s attempt=%d "
                "priority=%d%s%s%s",
                event, w->run_id, w->job, quoted(w->spec, q1, sizeof(q1)), fire,
                cw_trigger_to_string((cw_trigger)w->trigger), w->attempt, w->priority, extra,
                reason ? " reason=" : "", reason ? quoted(reason, q2, sizeof(q2)) : "");
}

/* A scheduled fire held back past its start_deadline: recorded missed. */
static void expire(daemon_state *d, const waiting_run *w, const char *held, int64_t now_us)
{
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        char why[320], dl[32];

        cw_duration_format(w->deadline, dl, sizeof(dl));
        snprintf(why, sizeof(why), "not started within start_deadline (%s): %s", dl, held);
        if (cw_store_run_transition(d->store, w->run_id, CW_RUN_QUEUED, CW_RUN_MISSED, why,
                                    now_us) < 0)
                return;
        d->notify_due = true;
        (void)cw_notify_run_event(
                d->store, d->cfg,
                cw_job_resolve(d->cfg, d->store, w->job, &ref, NULL) == 0 ? ref.job : NULL,
                w->run_id, CW_RUN_MISSED, why, now_us);
        log_run(d, "warning", "missed", w, "", why);
}

static void start_one(daemon_state *d, waiting_run *w, bool more, int64_t now_us)
{
        pending p = {.run_id = w->run_id,
                     .scheduled_at = w->scheduled_at,
                     .trigger = w->trigger,
                     .attempt = w->attempt,
                     .ignore_lock = w->ignore_lock,
                     .spec = w->spec};
        char waited[48], q[400];
        cw_error err;

        /* No longer ours to hold: a spawner replaced during the hand-over
         * hands it over again with the other queued runs (restart_queued). */
        w->gone = true;
        /* Its duration counts from now, not from when it was queued. */
        if (now_us - w->queued_us >= CW_US_PER_SEC)
                (void)cw_store_run_requeued(d->store, w->run_id, now_us);
        cw_error_clear(&err);
        if (hand_over_run(d, &p, more, &err) < 0) {
                log_run(d, "error", "failed", w, "", quoted(err.msg, q, sizeof(q)));
                return;
        }
        daemon_run_watch(d, w->run_id);
        snprintf(waited, sizeof(waited), " waited=%.3fs",
                 now_us > w->queued_us ? (double)(now_us - w->queued_us) / 1e6 : 0.0);
        log_run(d, "info", "started", w, waited, NULL);
}

/* The load now, or 0 (never above max_load) when it cannot be read,
 * which is said once. */
static double read_load(daemon_state *d)
{
        double load = 0;
        int r = cw_loadavg_read(d->loadavg_path, &load);

        if (r < 0 && !d->load_warned) {
                d->load_warned = true;
                logline(d, "warning", "event=error what=loadavg path=%s error=%s action=ignore",
                        d->loadavg_path ? d->loadavg_path : CW_LOADAVG_PATH, strerror(-r));
        }
        return r < 0 ? 0 : load;
}

cw_time daemon_waiting_start(daemon_state *d)
{
        int64_t now_us = cw_clock_now(d->clock);
        cw_time now = cw_instant_sec(now_us), wake = 0;
        double load = 0;
        long active = 0;
        size_t n_start = 0, started = 0;
        held_by load_held = HELD_NOT;
        char held[160];

        if (!d->n_waiting)
                return 0;
        if (d->cfg->max_load > 0 && (load = read_load(d)) > d->cfg->max_load)
                load_held = HELD_LOAD;
        if (d->cfg->max_running > 0 &&
            cw_sched_count_active(d->store, d->cfg, waiting_here, d, &active) < 0)
                return now + WAIT_POLL_S; /* the store will say later */
        qsort(d->waiting, d->n_waiting, sizeof(*d->waiting), waiting_cmp);
        /* First which start (the first in order while there is room), so
         * that a burst is handed over as one. */
        for (size_t i = 0; i < d->n_waiting; i++) {
                waiting_run *w = &d->waiting[i];
                held_by by = load_held;

                if (w->uncommitted)
                        continue;
                if (by == HELD_NOT && d->cfg->max_running > 0 &&
                    active + (long)n_start >= d->cfg->max_running)
                        by = HELD_CAP;
                w->starting = by == HELD_NOT;
                if (w->starting) {
                        n_start++;
                        continue;
                }
                cw_sched_held_reason(d->cfg, by == HELD_LOAD, load, held, sizeof(held));
                if (w->trigger == CW_TRIGGER_SCHEDULE &&
                    now_us - w->queued_us > w->deadline * CW_US_PER_SEC) {
                        expire(d, w, held, now_us);
                        w->gone = true;
                        continue;
                }
                if (!w->logged)
                        log_run(d, "info", "queued", w, "", held);
                w->logged = true;
                if (w->trigger == CW_TRIGGER_SCHEDULE) {
                        cw_time due = cw_instant_sec(w->queued_us) + w->deadline + 1;
                        wake = !wake || due < wake ? due : wake;
                }
                wake = !wake || now + WAIT_POLL_S < wake ? now + WAIT_POLL_S : wake;
        }
        for (size_t i = 0; i < d->n_waiting; i++)
                if (d->waiting[i].starting && !d->waiting[i].gone) {
                        started++;
                        start_one(d, &d->waiting[i], started < n_start, now_us);
                }
        compact(d);
        return wake;
}
