/* followups.c - what a scheduler pass starts besides the schedule's fires
 * (pass.h; docs/scheduling.md): runs requested with `cronwarden request`
 * or the admin UI, retries of failed runs once their delay is over, and
 * jobs whose `after` jobs succeeded since the last pass. Retries and
 * triggers are claimed like fires (a key per failed run, per triggering
 * run), so each happens once whichever node or pass sees it first. */
#include "pass.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/array.h"

#define RETRY_LOOKBACK_US (7LL * 86400 * 1000000)
#define RETRY_DELAY_MAX ((cw_duration)30 * 86400)

int sched_pass_requests(pass *p)
{
        const cw_config *cfg = p->o->cfg;
        cw_request *reqs = NULL;
        size_t n = 0;
        int r;

        r = cw_store_requests_take(p->o->store, 1000, &reqs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
                _cleanup_free_ char *spec = NULL;
                cw_sched_action a = {
                        .trigger = CW_TRIGGER_REQUEST, .attempt = 1, .scheduled_at = p->now};
                cw_error e;

                if (cw_jobspec_parse(reqs[i].spec, &js, &e) < 0 ||
                    !(a.job = sched_job_named(p, js->name)) ||
                    cw_job_check_spec(cfg, a.job, js, &e) < 0 || !(spec = cw_jobspec_format(js)))
                        continue; /* the config changed under the request: nothing to run */
                a.spec = spec;
                r = sched_start(p, &a);
        }
        cw_requests_free(reqs, n);
        return r;
}

/* The entry that schedules spec, if any (for the retry collision rule). */
static const cw_schedule_entry *entry_for(const cw_config *cfg, const char *spec)
{
        for (size_t i = 0; i < cfg->n_entries; i++)
                if (strcmp(cfg->entries[i].spec_text, spec) == 0)
                        return &cfg->entries[i];
        return NULL;
}

static int retry_one(pass *p, const cw_run *run)
{
        const cw_config *cfg = p->o->cfg;
        const cw_job *job = run->job ? sched_job_named(p, run->job) : NULL;
        const cw_schedule_entry *e;
        cw_sched_action a = {.trigger = CW_TRIGGER_RETRY};
        char key[64];
        cw_duration delay;
        cw_time next;
        int64_t due_us;

        /* Manual runs are retried by whoever ran them, not behind their back. */
        if (!job || run->trigger == CW_TRIGGER_MANUAL || run->attempt > job->retries ||
            !sched_on_node(cfg, job))
                return 0;
        if (run->ended_us < p->o->now - RETRY_LOOKBACK_US)
                return 0;
        delay = job->retry_delay;
        for (int k = 1; k < run->attempt && delay < RETRY_DELAY_MAX; k++)
                delay *= 2;
        if (delay > RETRY_DELAY_MAX)
                delay = RETRY_DELAY_MAX;
        due_us = run->ended_us + delay * 1000000;
        if (due_us > p->o->now) {
                sched_wake_at(p, (due_us + 999999) / 1000000);
                return 0;
        }
        /* Retries never collide with the next scheduled fire (docs/scheduling.md, Retries). */
        e = entry_for(cfg, run->spec);
        if (e && run->scheduled_at && cw_timespec_get_kind(e->when) != CW_TIMESPEC_REBOOT &&
            cw_timespec_next(e->when, job->tz, run->scheduled_at, &next) == 0 &&
            next * 1000000 <= due_us)
                return 0;
        a.job = job;
        a.spec = run->spec;
        a.attempt = run->attempt + 1;
        a.scheduled_at = run->scheduled_at ? run->scheduled_at : p->now;
        snprintf(key, sizeof(key), "retry:%" PRId64, run->id);
        return sched_claim_and(p, &a, key, 0, false, NULL);
}

/* Whether any job may be retried: those of the config, and the admin UI's
 * (which take [defaults]). */
static bool any_retries(const cw_config *cfg)
{
        if (cfg->defaults.retries > 0)
                return true;
        for (size_t i = 0; i < cfg->n_jobs; i++)
                if (cfg->jobs[i].retries > 0)
                        return true;
        return false;
}

int sched_pass_retries(pass *p)
{
        static const cw_run_status failed[] = {CW_RUN_FAILED, CW_RUN_TIMED_OUT};
        int r = 0;

        /* Without retries anywhere, no need to read the failed runs. */
        if (!any_retries(p->o->cfg))
                return 0;

        for (size_t s = 0; s < CW_ARRAY_SIZE(failed) && r == 0; s++) {
                cw_run_filter f = CW_RUN_FILTER_INIT;
                cw_run *runs = NULL;
                size_t n = 0;

                f.status = (int)failed[s];
                f.limit = SCAN_LIMIT;
                r = cw_store_runs_list(p->o->store, &f, &runs, &n);
                for (size_t i = 0; i < n && r == 0; i++)
                        r = retry_one(p, &runs[i]);
                cw_runs_free(runs, n);
        }
        return r;
}

int sched_pass_dependencies(pass *p)
{
        const cw_config *cfg = p->o->cfg;
        /* One second of overlap with the previous window: claims keep it
         * from acting twice, and a run ending in the boundary second is
         * not lost. */
        int64_t from_us = (p->last - 1) * 1000000;
        int r = 0;

        for (size_t j = 0; j < cfg->n_jobs && r == 0; j++) {
                const cw_job *b = &cfg->jobs[j];
                if (!b->after.n || !sched_on_node(cfg, b) || b->args.n)
                        continue;
                for (size_t k = 0; k < b->after.n && r == 0; k++) {
                        cw_run_filter f = CW_RUN_FILTER_INIT;
                        cw_run *runs = NULL;
                        size_t n = 0;

                        f.job = b->after.v[k];
                        f.status = CW_RUN_SUCCEEDED;
                        f.limit = SCAN_LIMIT;
                        r = cw_store_runs_list(p->o->store, &f, &runs, &n);
                        for (size_t i = 0; i < n && r == 0; i++) {
                                cw_sched_action a = {.job = b,
                                                     .spec = b->name,
                                                     .trigger = CW_TRIGGER_DEPENDENCY,
                                                     .attempt = 1,
                                                     .scheduled_at = p->now};
                                char key[CW_JOBSPEC_NAME_MAX + 48];
                                if (runs[i].ended_us <= from_us || runs[i].ended_us > p->o->now)
                                        continue;
                                snprintf(key, sizeof(key), "after:%s:%" PRId64, b->name,
                                         runs[i].id);
                                r = sched_claim_and(p, &a, key, 0, false, NULL);
                        }
                        cw_runs_free(runs, n);
                }
        }
        return r;
}
