/* sched.c - one scheduler pass (see sched.h and docs/scheduling.md).
 *
 * Order within a pass: schedule entries (in config order, each entry's
 * fires oldest first), then requests, retries and dependency triggers,
 * then last_pass moves to now. Every action on a fire happens only after
 * winning its claim in the store; requests need no claim because taking
 * them from the store is itself atomic. */
#include "sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "catalog/entries.h"
#include "notify/notify.h"
#include "jitter.h"
#include "maint.h"
#include "pass.h"
#include "since.h"

/* Fires looked at for the earliest wake of a jittered entry, at most. */
#define JITTER_WAKE_SCAN 10000

static void pass_release(pass *p)
{
        cw_sched_since_free(p->since);
        p->since = NULL;
        for (size_t i = 0; i < p->n_jobs; i++) {
                free(p->jobs[i].name);
                cw_job_ref_release(&p->jobs[i].ref);
        }
        free(p->jobs);
        p->jobs = NULL;
        p->n_jobs = p->cap_jobs = 0;
        cw_store_names_free(p->disabled, p->n_disabled);
        p->disabled = NULL;
        p->n_disabled = 0;
        p->disabled_read = 0;
}

/* The job called name (cw_job_resolve), NULL when there is none now (or
 * it may not run: a UI job without allow_ui_commands). */
const cw_job *sched_job_named(pass *p, const char *name)
{
        const cw_job *job = cw_config_job(p->o->cfg, name);
        looked_up *l;
        cw_error err;

        if (job || !cw_ui_job_name_parse(name, NULL))
                return job;
        for (size_t i = 0; i < p->n_jobs; i++)
                if (strcmp(p->jobs[i].name, name) == 0)
                        return p->jobs[i].ref.job;
        if (cw_array_reserve((void **)&p->jobs, &p->cap_jobs, p->n_jobs + 1, sizeof(*p->jobs), 4) <
            0)
                return NULL;
        l = &p->jobs[p->n_jobs];
        *l = (looked_up){.name = strdup(name)};
        if (!l->name)
                return NULL;
        p->n_jobs++;
        if (cw_job_resolve(p->o->cfg, p->o->store, name, &l->ref, &err) < 0)
                l->ref = (cw_job_ref){0};
        return l->ref.job;
}

/* The job an entry fires: the config's, or a UI job's by its spec's name. */
static const cw_job *entry_job(pass *p, const cw_schedule_entry *e)
{
        if (e->job < p->o->cfg->n_jobs)
                return &p->o->cfg->jobs[e->job];
        return e->job == CW_UI_ENTRY_JOB && e->spec ? sched_job_named(p, e->spec->name) : NULL;
}

bool sched_on_node(const cw_config *cfg, const cw_job *job)
{
        return job->hosts.n == 0 || (cfg->node && cw_strv_find(&job->hosts, cfg->node) >= 0);
}

/* Lowers the result's next_wake to t (t after now). */
void sched_wake_at(pass *p, cw_time t)
{
        if (t > p->now && (p->res->next_wake == 0 || t < p->res->next_wake))
                p->res->next_wake = t;
}

static void report(pass *p, cw_sched_action *a)
{
        switch (a->kind) {
        case CW_SCHED_STARTED:
                p->res->started++;
                break;
        case CW_SCHED_SKIPPED:
                p->res->skipped++;
                break;
        case CW_SCHED_MISSED:
                p->res->missed++;
                break;
        case CW_SCHED_FAILED:
                p->res->failed++;
                break;
        case CW_SCHED_QUEUED:
                p->res->queued++;
                break;
        }
        if (p->o->on_action)
                p->o->on_action(p->o->userdata, a);
}

/* Records a fire as a finished run that did not (or could not) run:
 * skipped, missed, or failed to start; then reports the action. */
static int record(pass *p, cw_sched_action *a, cw_sched_action_kind kind, const char *reason)
{
        static const cw_run_status status_of[] = {
                [CW_SCHED_SKIPPED] = CW_RUN_SKIPPED,
                [CW_SCHED_MISSED] = CW_RUN_MISSED,
                [CW_SCHED_FAILED] = CW_RUN_FAILED,
        };
        cw_run r = {0};
        int e;

        r.job = a->job->name;
        r.spec = (char *)a->spec;
        r.node = p->o->cfg->node;
        r.status = status_of[kind];
        r.trigger = a->trigger;
        r.attempt = a->attempt;
        r.scheduled_at = a->scheduled_at;
        r.started_us = r.ended_us = p->o->now;
        r.exit_code = -1;
        r.progress_done = r.progress_total = -1;
        r.reason = (char *)reason;
        e = cw_store_run_insert(p->o->store, &r);
        if (e < 0)
                return e;
        /* In the daemon's pass batch: the same transaction as the record. */
        (void)cw_notify_run_event(p->o->store, p->o->cfg, a->job, r.id, r.status, reason,
                                  p->o->now);
        a->kind = kind;
        a->reason = reason;
        a->run_id = r.id;
        report(p, a);
        return 0;
}

static int name_cmp(const void *key, const void *item)
{
        return strcmp(key, *(char *const *)item);
}

static int names_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The job's config says enabled and the store does not say disabled (a
 * store that cannot say: enabled, as before). */
static bool job_enabled(pass *p, const cw_job *job)
{
        bool on;

        if (!job->enabled)
                return false;
        if (p->disabled_read == 0) {
                p->disabled_read =
                        cw_store_jobs_disabled(p->o->store, &p->disabled, &p->n_disabled) < 0 ? -1
                                                                                              : 1;
                /* Sorted by the store already; bsearch needs strcmp's order. */
                if (p->disabled_read > 0 && p->n_disabled > 1)
                        qsort(p->disabled, p->n_disabled, sizeof(char *), names_cmp);
        }
        if (p->disabled_read > 0)
                return p->n_disabled == 0 ||
                       !bsearch(job->name, p->disabled, p->n_disabled, sizeof(char *), name_cmp);
        return cw_store_job_enabled_get(p->o->store, job->name, &on) < 0 || on;
}

/* The run holding job's lock for spec, 0 when free (or lock = none). */
static int64_t lock_holder(pass *p, const cw_job *job, const char *spec)
{
        const cw_sched_lock_ops *l = p->o->locks;

        return l && l->holder ? l->holder(p->o->userdata, p->o->cfg, p->o->store, job, spec) : 0;
}

/* concurrency = replace: stop whatever holds the lock. A starter that
 * holds back its starts hands them over first, as the stop waits. */
static void replace_holders(pass *p, const cw_job *job, const char *spec)
{
        if (!p->o->locks || !p->o->locks->stop_holders)
                return;
        if (p->o->flush)
                p->o->flush(p->o->userdata);
        p->o->locks->stop_holders(p->o->userdata, p->o->cfg, p->o->store, job, spec, p->o->now);
}

/* The gates of docs/scheduling.md, then the start. */
int sched_start(pass *p, cw_sched_action *a)
{
        char why[160];
        cw_error err;
        int64_t holder;
        int r;

        if (!p->enabled)
                return record(p, a, CW_SCHED_SKIPPED, "the scheduler is disabled");
        if (!job_enabled(p, a->job)) {
                snprintf(why, sizeof(why), "job %s is disabled", a->job->name);
                return record(p, a, CW_SCHED_SKIPPED, why);
        }
        switch (a->job->concurrency) {
        case CW_CONCURRENCY_FORBID:
                holder = lock_holder(p, a->job, a->spec);
                if (holder) {
                        if (holder > 0)
                                snprintf(why, sizeof(why), "run %" PRId64 " is still running",
                                         holder);
                        else
                                snprintf(why, sizeof(why), "a run of %s is still starting",
                                         a->job->name);
                        return record(p, a, CW_SCHED_SKIPPED, why);
                }
                break;
        case CW_CONCURRENCY_REPLACE:
                if (lock_holder(p, a->job, a->spec))
                        replace_holders(p, a->job, a->spec);
                break;
        case CW_CONCURRENCY_ALLOW:
                a->ignore_lock = true;
                break;
        }
        cw_error_clear(&err);
        a->run_id = 0;
        r = p->o->start(p->o->userdata, a, &a->run_id, &err);
        if (r == -EBUSY)
                return record(p, a, CW_SCHED_SKIPPED, "the job's lock is held by another run");
        if (r == -EAGAIN) {
                char msg[sizeof(err.msg)];
                snprintf(msg, sizeof(msg), "%s", err.msg);
                return record(p, a, CW_SCHED_SKIPPED, msg);
        }
        if (r < 0) {
                /* The fire is claimed: leave a trace in the history, or it
                 * would vanish (e.g. the config file broke under a running
                 * daemon and the worker could not load it). */
                char msg[sizeof(err.msg) + 32];
                snprintf(msg, sizeof(msg), "could not start: %s",
                         err.msg[0] ? err.msg : strerror(-r));
                if (a->run_id > 0) {
                        /* Recorded (and marked failed) by the starter. */
                        a->kind = CW_SCHED_FAILED;
                        a->reason = msg;
                        report(p, a);
                        a->reason = NULL;
                        return 0;
                }
                return record(p, a, CW_SCHED_FAILED, msg);
        }
        a->kind = r == 1 ? CW_SCHED_QUEUED : CW_SCHED_STARTED;
        a->reason = NULL;
        report(p, a);
        return 0;
}

/* The lock holder a start of a's job will read, said ahead so that it
 * goes with the fire's claim. */
static void lock_read_ahead(pass *p, const cw_sched_action *a)
{
        const cw_sched_lock_ops *l = p->o->locks;

        if (l && l->read_ahead && p->enabled && a->job->concurrency != CW_CONCURRENCY_ALLOW &&
            cw_store_reads_ahead(p->o->store))
                l->read_ahead(p->o->userdata, p->o->cfg, p->o->store, a->job, a->spec);
}

/* Claims (key, at) and, when this pass wins it, acts on the fire. */
int sched_claim_and(pass *p, cw_sched_action *a, const char *key, cw_time at, bool missed,
                    const char *why)
{
        bool won = false;
        int r;

        if (!missed)
                lock_read_ahead(p, a);
        r = cw_store_claim(p->o->store, key, at, p->o->cfg->node, &won);

        if (r < 0 || !won)
                return r;
        return missed ? record(p, a, CW_SCHED_MISSED, why) : sched_start(p, a);
}

/* In a cluster (cw_sched_opts.claim_delay): 0 when this pass acts on
 * fire `at` now (*ret_missed set: record it missed), 1 when later (its
 * delay has not passed: the pass wakes for it and keeps it in the next
 * window), -1 never (another node's). */
static int cluster_gate(pass *p, const cw_job *job, const char *spec, cw_time at,
                        const char **ret_missed)
{
        int delay;

        *ret_missed = NULL;
        if (!p->o->claim_delay)
                return 0;
        delay = p->o->claim_delay(p->o->userdata, job, spec, at, ret_missed);
        if (delay < 0)
                return -1;
        if (at + delay > p->now) {
                sched_wake_at(p, at + delay);
                if (!p->hold || at < p->hold)
                        p->hold = at;
                return 1;
        }
        return 0;
}

/* claim_and behind the cluster gate. */
static int claim_fire(pass *p, const cw_schedule_entry *e, cw_sched_action *a, const char *key,
                      cw_time at, bool missed, const char *why)
{
        const char *gone = NULL;
        int g;

        /* An `every` entry's fires follow its shared previous fire, which
         * each pass moves on: a fire put off here could be moved past by
         * another node's pass and never claimed. They are claimed at once. */
        if (cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY)
                return sched_claim_and(p, a, key, at, missed, why);
        g = cluster_gate(p, a->job, key, at, &gone);

        if (g != 0)
                return 0;
        return gone ? sched_claim_and(p, a, key, at, true, gone)
                    : sched_claim_and(p, a, key, at, missed, why);
}

/* The fires of one entry in the window, split into missed and on time. */
typedef struct fires {
        cw_time *missed; /* oldest first, at most CW_SCHED_MISSED_MAX kept */
        size_t n_missed_kept;
        uint64_t n_missed; /* all missed, kept or not */
        cw_time latest_missed;
        cw_time *on_time;
        size_t n_on_time, cap_on_time;
} fires;

static void fires_release(fires *f)
{
        free(f->missed);
        free(f->on_time);
}

static int fires_add(fires *f, cw_time t, bool on_time)
{
        if (on_time) {
                if (cw_array_reserve((void **)&f->on_time, &f->cap_on_time, f->n_on_time + 1,
                                     sizeof(cw_time), 8) < 0)
                        return -ENOMEM;
                f->on_time[f->n_on_time++] = t;
                return 0;
        }
        if (!f->missed) {
                f->missed = malloc(CW_SCHED_MISSED_MAX * sizeof(cw_time));
                if (!f->missed)
                        return -ENOMEM;
        }
        if (f->n_missed_kept < CW_SCHED_MISSED_MAX)
                f->missed[f->n_missed_kept++] = t;
        f->n_missed++;
        f->latest_missed = t;
        return 0;
}

/* While draining: catch_up = none fires are recorded skipped; the others
 * are left alone (the window is kept for catch_up when the drain ends). */
static int drain_fires(pass *p, const cw_schedule_entry *e, const cw_job *job, const fires *f)
{
        cw_sched_action a = {
                .job = job, .spec = e->spec_text, .trigger = CW_TRIGGER_SCHEDULE, .attempt = 1};
        int r = 0;

        if (job->catch_up != CW_CATCH_UP_NONE)
                return 0;
        for (size_t i = 0; i < f->n_missed_kept + f->n_on_time && r == 0; i++) {
                bool won = false;
                a.scheduled_at =
                        i < f->n_missed_kept ? f->missed[i] : f->on_time[i - f->n_missed_kept];
                r = cw_store_claim(p->o->store, e->spec_text, a.scheduled_at, p->o->cfg->node,
                                   &won);
                if (r == 0 && won)
                        r = record(p, &a, CW_SCHED_SKIPPED, CW_SCHED_DRAINING_REASON);
        }
        return r;
}

/* Applies catch_up to the collected fires of one entry (see the doc). */
static int act_on_fires(pass *p, const cw_schedule_entry *e, const cw_job *job, fires *f)
{
        cw_sched_action a = {
                .job = job, .spec = e->spec_text, .trigger = CW_TRIGGER_SCHEDULE, .attempt = 1};
        char why[200];
        size_t start_missed = SIZE_MAX; /* index of a missed fire to start instead of recording */
        bool start_all = job->catch_up == CW_CATCH_UP_ALL;
        int r;

        if (p->draining)
                return drain_fires(p, e, job, f);
        if (job->catch_up == CW_CATCH_UP_ONCE && f->n_on_time == 0 && f->n_missed)
                start_missed = f->n_missed_kept - 1;
        if (start_missed != SIZE_MAX && f->latest_missed != f->missed[start_missed]) {
                /* More missed than kept: the latest one is the one to run. */
                f->missed[start_missed] = f->latest_missed;
        }
        for (size_t i = 0; i < f->n_missed_kept; i++) {
                bool run = start_all || i == start_missed;
                a.scheduled_at = f->missed[i];
                if (job->catch_up == CW_CATCH_UP_NONE)
                        snprintf(why, sizeof(why),
                                 "the scheduler did not run at that time (catch_up = none)");
                else if (job->catch_up == CW_CATCH_UP_ONCE && f->n_on_time)
                        snprintf(
                                why, sizeof(why),
                                "the scheduler did not run at that time; the on-time fire of this pass covers it");
                else
                        snprintf(
                                why, sizeof(why),
                                "the scheduler did not run at that time; a later missed fire runs instead");
                if (i + 1 == f->n_missed_kept && f->n_missed > f->n_missed_kept)
                        snprintf(why + strlen(why), sizeof(why) - strlen(why),
                                 " (and %" PRIu64 " more missed fires not recorded)",
                                 f->n_missed - f->n_missed_kept);
                r = claim_fire(p, e, &a, e->spec_text, a.scheduled_at, !run, why);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < f->n_on_time; i++) {
                a.scheduled_at = f->on_time[i];
                r = claim_fire(p, e, &a, e->spec_text, a.scheduled_at, false, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cw_sched_every_key(const cw_schedule_entry *e, char *buf, size_t size)
{
        char canon[CW_TIMESPEC_CANONICAL_MAX];
        int r = cw_timespec_format(e->when, canon, sizeof(canon));

        if (r < 0)
                return r;
        r = snprintf(buf, size, "every:%s:%s", e->spec_text, canon);
        return r < 0 || (size_t)r >= size ? -ENOBUFS : 0;
}

int cw_sched_every_get(cw_store *s, const cw_schedule_entry *e, bool migrate, char **ret)
{
        /* The old key exactly as it was made, cut where it was cut. */
        char key[CW_SCHED_EVERY_KEY_MAX], old[CW_JOBSPEC_TEXT_MAX + CW_TIMESPEC_TEXT_MAX + 16];
        char *v = NULL;
        int r;

        r = cw_sched_every_key(e, key, sizeof(key));
        if (r == 0)
                r = cw_store_state_get(s, key, ret);
        if (r != -ENOENT)
                return r;
        snprintf(old, sizeof(old), "every:%s:%s", e->spec_text, cw_timespec_text(e->when));
        if (strcmp(old, key) == 0)
                return -ENOENT;
        r = cw_store_state_get(s, old, &v);
        if (r == 0 && migrate)
                r = cw_store_state_set(s, key, v);
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        return 0;
}

/* Whether fire t may still start: within its start_deadline, and not
 * fallen while no scheduler ran (cw_sched_opts.up_since). */
static bool on_time(const pass *p, cw_time t, cw_duration deadline)
{
        return p->now - t <= deadline && (!p->o->up_since || t >= p->o->up_since);
}

/* A fire at t of entry e: it comes due at t plus its jitter (jitter.h),
 * and is collected by the pass whose window (last, now] holds that
 * instant; one still to come due makes the daemon wake for it. Claims and
 * records keep t. */
static int fire_found(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_time t,
                      cw_duration deadline, fires *f)
{
        cw_time due = t + cw_jitter_delay(e->spec_text, t, job->jitter);

        if (due == t)
                return fires_add(f, t, on_time(p, t, deadline));
        if (due <= p->last)
                return 0; /* came due in an earlier pass's window */
        if (due > p->now) {
                sched_wake_at(p, due);
                return 0;
        }
        return fires_add(f, t, on_time(p, due, deadline));
}

/* The fire added last (0: none): a deferred fire and the fires it merges
 * with are added once. */
static cw_time fires_last(const fires *f)
{
        if (f->n_on_time)
                return f->on_time[f->n_on_time - 1];
        return f->n_missed ? f->latest_missed : 0;
}

/* Records a fire inside a maintenance window as skipped (once: claimed). */
static int maint_skip(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_time t,
                      const cw_maintenance *m)
{
        cw_sched_action a = {.job = job,
                             .spec = e->spec_text,
                             .trigger = CW_TRIGGER_SCHEDULE,
                             .attempt = 1,
                             .scheduled_at = t};
        char why[160];
        bool won = false;
        int r = cw_store_claim(p->o->store, e->spec_text, t, p->o->cfg->node, &won);

        if (r < 0 || !won)
                return r;
        snprintf(why, sizeof(why), "maintenance window %s", m->name);
        return record(p, &a, CW_SCHED_SKIPPED, why);
}

/* One fire *t of a job with maintenance windows (from: the window's
 * exclusive start; fires at or before it are only looked at for a deferral
 * that ends after it; lo: fires after it may still come due, their jitter
 * moving them into the window, lo <= from). A deferred fire moves *t to
 * just before its window's end: the fires in between all become that one. */
static int maint_fire(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_time from,
                      cw_time lo, cw_time *tp, cw_duration deadline, fires *f)
{
        cw_time t = *tp;
        cw_maint_effect fx = cw_maint_effect_of(p->o->cfg, job, t);
        cw_time now = p->now;

        if (!fx.window)
                return t > lo && t != fires_last(f) ? fire_found(p, e, job, t, deadline, f) : 0;
        if (!fx.deferred || cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY)
                return t > from ? maint_skip(p, e, job, t, fx.window) : 0;
        if (fx.to - 1 > t)
                *tp = fx.to - 1;
        if (fx.to > now) {
                sched_wake_at(p, fx.to);
                return 0;
        }
        return fx.to > lo && fx.to != fires_last(f) ? fire_found(p, e, job, fx.to, deadline, f) : 0;
}

/* The fires of an `every` entry through its job's windows (skipped: an
 * interval's fires are not deferred). */
static int maint_every(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_duration deadline,
                       fires *f)
{
        fires in = *f;
        int r = 0;

        *f = (fires){0};
        for (size_t i = 0; i < in.n_missed_kept + in.n_on_time && r == 0; i++) {
                cw_time t = i < in.n_missed_kept ? in.missed[i] : in.on_time[i - in.n_missed_kept];
                r = maint_fire(p, e, job, t - 1, t - 1, &t, deadline, f);
        }
        fires_release(&in);
        return r;
}

/* Wakes the daemon when the `every` fire at t comes due. */
static void wake_every(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_time t)
{
        sched_wake_at(p, t + cw_jitter_delay(e->spec_text, t, job->jitter));
}

static int pass_every(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_duration deadline,
                      bool edited, fires *f)
{
        const cw_sched_opts *o = p->o;
        char key[CW_SCHED_EVERY_KEY_MAX], val[32];
        cw_duration step = cw_timespec_interval(e->when);
        _cleanup_free_ char *prev = NULL;
        cw_time t, latest = 0;
        char *end;
        int r;

        r = cw_sched_every_key(e, key, sizeof(key));
        if (r == 0)
                r = cw_sched_every_get(o->store, e, true, &prev);
        if (r == -ENOENT && edited) {
                /* Its interval was just edited: the first fire is one new
                 * interval after the edit, not at once. */
                snprintf(val, sizeof(val), "%" PRId64, p->now);
                sched_wake_at(p, p->now + step);
                return cw_store_state_set(o->store, key, val);
        }
        if (r == -ENOENT && job->jitter) {
                /* Never fired, with a jitter: its first fire is now, due
                 * after its delay; kept as if it fired one step ago, so
                 * the next passes see the same fire. */
                snprintf(val, sizeof(val), "%" PRId64, p->now - step);
                r = cw_store_state_set(o->store, key, val);
                if (r == 0)
                        r = cw_sched_every_get(o->store, e, false, &prev);
        }
        if (r == -ENOENT) {
                /* Never fired: it fires now, at start-up. */
                r = fires_add(f, p->now, true);
                latest = p->now;
        } else if (r == 0) {
                t = strtoll(prev, &end, 10);
                if (*end || t <= 0)
                        t = p->now - step; /* unreadable: as if it fired one step ago */
                for (t += step; r == 0 && t <= p->now; t += step) {
                        cw_time due = t + cw_jitter_delay(e->spec_text, t, job->jitter);
                        /* Not yet due: it and the fires after it wait (the
                         * state keeps the fires in order). */
                        if (due > p->now)
                                break;
                        r = fires_add(f, t, on_time(p, due, deadline));
                        latest = t;
                }
        }
        if (r < 0)
                return r;
        if (latest) {
                snprintf(val, sizeof(val), "%" PRId64, latest);
                r = cw_store_state_set(o->store, key, val);
                wake_every(p, e, job, latest + step);
        } else if (prev) {
                wake_every(p, e, job, strtoll(prev, &end, 10) + step);
        }
        return r;
}

/* When the daemon must wake for entry e's fires after `after`: the first
 * one's due instant, or with a jitter the earliest due instant of the
 * fires of the next `jitter` seconds (a later fire may come due first). */
static void wake_entry(pass *p, const cw_schedule_entry *e, const cw_job *job, cw_time after)
{
        cw_time t = after;

        for (int k = 0; k < JITTER_WAKE_SCAN && cw_timespec_next(e->when, job->tz, t, &t) == 0;
             k++) {
                sched_wake_at(p, t + cw_jitter_delay(e->spec_text, t, job->jitter));
                if (t > after + job->jitter)
                        break;
        }
}

static int pass_entry(pass *p, const cw_schedule_entry *e)
{
        const cw_config *cfg = p->o->cfg;
        const cw_job *job = entry_job(p, e);
        cw_duration deadline;
        fires f = {0};
        cw_time t = p->last, since, from, lo;
        bool edited = false, maint;
        int r = 0;

        if (!job)
                return 0;
        /* An entry added or edited since the last pass fires from its
         * change on (that instant included): the window before it existed
         * holds no fire of its own. (Looked up before the node test, so
         * entries of other nodes stay known.) */
        since = p->since ? cw_sched_since_get(p->since, e, job->tz,
                                              e->changed_at ? e->changed_at : p->o->config_at,
                                              &edited)
                         : 0;
        if (since > t)
                t = since - 1;
        /* In a cluster the claim delay judges hosts (a fire whose nodes
         * are all down is recorded missed by another), except for `every`
         * entries: see act_on_fires. */
        if (!sched_on_node(cfg, job) &&
            (!p->o->claim_delay || cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY))
                return 0;
        deadline = job->start_deadline ? job->start_deadline : CW_SCHED_DEFAULT_DEADLINE;
        maint = cw_maint_any(cfg, job);
        switch (cw_timespec_get_kind(e->when)) {
        case CW_TIMESPEC_REBOOT:
                return 0;
        case CW_TIMESPEC_EVERY:
                /* Held while draining: its state stays, so the fires come
                 * due (and catch_up applies) when the drain ends. */
                if (p->draining && job->catch_up != CW_CATCH_UP_NONE)
                        return 0;
                r = pass_every(p, e, job, deadline, edited, &f);
                if (r == 0 && maint)
                        r = maint_every(p, e, job, deadline, &f);
                break;
        case CW_TIMESPEC_CRON:
        case CW_TIMESPEC_AT:
                from = t;
                /* A jitter moves a fire of the last `jitter` seconds before
                 * the window into it (not across an edit: the entry's
                 * fires start at its change). */
                lo = since > p->last ? from : from - job->jitter;
                t = lo;
                /* A fire deferred to the end of the window the pass starts
                 * in may lie before the pass's window: look from the
                 * window's opening. */
                if (maint && job->during_maintenance == CW_MAINT_DEFER &&
                    cw_maint_at(cfg, job, from, NULL) &&
                    cw_maint_chain_open(cfg, job, from) - 1 < t)
                        t = cw_maint_chain_open(cfg, job, from) - 1;
                while (r == 0 && cw_timespec_next(e->when, job->tz, t, &t) == 0 && t <= p->now)
                        r = maint ? maint_fire(p, e, job, from, lo, &t, deadline, &f)
                                  : fire_found(p, e, job, t, deadline, &f);
                since = since > p->last ? since : p->last;
                if (r == 0)
                        wake_entry(p, e, job, p->now > since ? p->now : since);
                break;
        }
        if (r == 0)
                r = act_on_fires(p, e, job, &f);
        fires_release(&f);
        return r;
}

/* The previous fire of the first EVERY_AHEAD_MAX `every` entries of this
 * node's jobs, which pass_every reads one by one. */
#define EVERY_AHEAD_MAX 64
static void every_ahead(const cw_sched_opts *o)
{
        char key[CW_SCHED_EVERY_KEY_MAX];
        size_t n = 0;

        for (size_t i = 0; i < o->cfg->n_entries && n < EVERY_AHEAD_MAX; i++) {
                const cw_schedule_entry *e = &o->cfg->entries[i];

                if (cw_timespec_get_kind(e->when) != CW_TIMESPEC_EVERY ||
                    e->job >= o->cfg->n_jobs || !sched_on_node(o->cfg, &o->cfg->jobs[e->job]) ||
                    cw_sched_every_key(e, key, sizeof(key)) < 0)
                        continue;
                cw_store_read_ahead(o->store, &(cw_store_ahead){CW_AHEAD_STATE, key}, 1);
                n++;
        }
}

void cw_sched_read_ahead(const cw_sched_opts *o, bool ui_entries)
{
        /* read_state's, in its order; "last_pass" is only a fallback
         * when the scheduler has a key of its own. */
        cw_store_ahead reads[] = {
                {CW_AHEAD_UI_ENTRIES, NULL},
                {CW_AHEAD_STATE, "enabled"},
                {CW_AHEAD_STATE, CW_SCHED_STATE_DRAINING},
                {CW_AHEAD_STATE, o->last_pass_key ? o->last_pass_key : "last_pass"},
                {CW_AHEAD_STATE, CW_SCHED_SINCE_KEY},
                {CW_AHEAD_JOBS_DISABLED, NULL},
        };
        size_t first = ui_entries ? 0 : 1;

        if (!cw_store_reads_ahead(o->store))
                return;
        cw_store_read_ahead(o->store, reads + first, CW_ARRAY_SIZE(reads) - first);
        every_ahead(o);
}

static int read_state(pass *p)
{
        _cleanup_free_ char *v = NULL;
        char *end;
        int r;

        r = cw_store_state_get(p->o->store, "enabled", &v);
        if (r < 0 && r != -ENOENT)
                return r;
        p->enabled = r == -ENOENT || strcmp(v, "0") != 0;
        free(v);
        v = NULL;
        r = cw_store_state_get(p->o->store, CW_SCHED_STATE_DRAINING, &v);
        if (r < 0 && r != -ENOENT)
                return r;
        p->draining = r == 0 && strcmp(v, "0") != 0 && *v;
        free(v);
        v = NULL;
        r = -ENOENT;
        if (p->o->last_pass_key)
                r = cw_store_state_get(p->o->store, p->o->last_pass_key, &v);
        if (r == -ENOENT)
                r = cw_store_state_get(p->o->store, "last_pass", &v);
        if (r < 0 && r != -ENOENT)
                return r;
        p->last = p->now;
        p->res->first_pass = r == -ENOENT;
        if (r == 0) {
                long long t = strtoll(v, &end, 10);
                if (!*end && t > 0)
                        p->last = t;
        }
        return 0;
}

/* Moves store key `key` forward to t (never backwards: a slower
 * concurrent pass or a clock that jumped back must not make the next pass
 * look at fires already handled). */
static int last_pass_set(pass *p, const char *key, cw_time t)
{
        _cleanup_free_ char *v = NULL;
        char buf[32];
        char *end;

        if (cw_store_state_get(p->o->store, key, &v) == 0 && strtoll(v, &end, 10) >= t && !*end)
                return 0;
        snprintf(buf, sizeof(buf), "%" PRId64, t);
        return cw_store_state_set(p->o->store, key, buf);
}

static int write_last_pass(pass *p)
{
        int r;

        if (!p->o->last_pass_key)
                return last_pass_set(p, "last_pass", p->now);
        /* Both keys are read before they are written: one round trip. */
        cw_store_read_ahead(p->o->store,
                            (cw_store_ahead[]){{CW_AHEAD_STATE, p->o->last_pass_key},
                                               {CW_AHEAD_STATE, "last_pass"}},
                            2);
        /* A fire put off by the cluster delay stays in the next window. */
        r = last_pass_set(p, p->o->last_pass_key,
                          p->hold && p->hold - 1 < p->now ? p->hold - 1 : p->now);
        return r == 0 ? last_pass_set(p, "last_pass", p->now) : r;
}

const char *cw_sched_action_kind_to_string(cw_sched_action_kind k)
{
        static const char *const names[] = {
                [CW_SCHED_STARTED] = "started", [CW_SCHED_SKIPPED] = "skipped",
                [CW_SCHED_MISSED] = "missed",   [CW_SCHED_FAILED] = "failed",
                [CW_SCHED_QUEUED] = "queued",
        };
        return (unsigned)k < CW_ARRAY_SIZE(names) ? names[k] : "?";
}

int cw_sched_pass(const cw_sched_opts *o, cw_sched_result *ret, cw_error *err)
{
        cw_sched_result res = {0};
        pass p = {.o = o, .res = &res, .now = cw_instant_sec(o->now)};
        int r;

        r = read_state(&p);
        if (r == 0)
                r = cw_sched_since_load(o->store, p.last, p.now, &p.since);
        if (r < 0) {
                pass_release(&p);
                return cw_error_fail(err, r, "cannot read the scheduler state: %s",
                                     cw_store_strerror(r));
        }
        res.window_from = p.last;
        res.window_to = p.now;
        /* Entries are visited even when the window is empty (first pass, or
         * a clock that went back): an `every` entry that never fired fires
         * at start-up; cron entries find no fire in an empty window. */
        for (size_t i = 0; r == 0 && i < o->cfg->n_entries; i++)
                r = pass_entry(&p, &o->cfg->entries[i]);
        for (size_t i = 0; r == 0 && i < o->n_extra_entries; i++)
                r = pass_entry(&p, &o->extra_entries[i]);
        if (r == 0 && o->fires_done)
                o->fires_done(o->userdata);
        if (r == 0)
                r = cw_sched_since_save(p.since, o->store);
        /* Draining: requests stay queued, retries and dependency triggers
         * wait, and the window is kept for when the drain ends. */
        if (r == 0 && !p.draining)
                r = sched_pass_requests(&p);
        if (r == 0 && !p.draining)
                r = sched_pass_retries(&p);
        if (r == 0 && !p.draining)
                r = sched_pass_dependencies(&p);
        if (r == 0 && !p.draining)
                r = write_last_pass(&p);
        res.draining = p.draining;
        pass_release(&p);
        if (r < 0)
                return cw_error_fail(err, r, "scheduler pass stopped: store error: %s",
                                     cw_store_strerror(r));
        *ret = res;
        return 0;
}

int cw_sched_reboot(const cw_sched_opts *o, cw_time boot, cw_sched_result *ret, cw_error *err)
{
        cw_sched_result res = {0};
        pass p = {.o = o, .res = &res, .now = cw_instant_sec(o->now)};
        _cleanup_free_ char *v = NULL;
        int r;

        r = cw_store_state_get(o->store, "enabled", &v);
        if (r < 0 && r != -ENOENT)
                return cw_error_fail(err, r, "cannot read the scheduler state: %s",
                                     cw_store_strerror(r));
        p.enabled = r == -ENOENT || strcmp(v, "0") != 0;
        r = 0;
        for (size_t i = 0; r == 0 && i < o->cfg->n_entries + o->n_extra_entries; i++) {
                const cw_schedule_entry *e = i < o->cfg->n_entries
                                                     ? &o->cfg->entries[i]
                                                     : &o->extra_entries[i - o->cfg->n_entries];
                const cw_job *job;
                cw_sched_action a = {.trigger = CW_TRIGGER_SCHEDULE,
                                     .spec = e->spec_text,
                                     .attempt = 1,
                                     .scheduled_at = boot};
                char key[CW_JOBSPEC_TEXT_MAX + 16];

                if (cw_timespec_get_kind(e->when) != CW_TIMESPEC_REBOOT)
                        continue;
                job = entry_job(&p, e);
                if (!job || !sched_on_node(o->cfg, job))
                        continue;
                a.job = job;
                snprintf(key, sizeof(key), "reboot:%s", e->spec_text);
                r = sched_claim_and(&p, &a, key, boot, false, NULL);
        }
        pass_release(&p);
        if (r < 0)
                return cw_error_fail(err, r, "@reboot: store error: %s", cw_store_strerror(r));
        *ret = res;
        return 0;
}
