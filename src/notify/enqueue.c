/* enqueue.c - which notifications a run's state change causes, written to
 * the store's outbox (notify.h). Rows name the event, the channel and its
 * endpoint; what they say is rendered when they are sent (render.c), from
 * the run as the store has it then. */
#include "notify/notify_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/macro.h"
#include "base/units.h"

/* How far back the history is read to count consecutive failures, beyond
 * the thresholds: runs that count for nothing (skipped, missed, killed)
 * may sit in between. */
#define HISTORY_SLACK 64

bool cw_notify_job_has_channels(const cw_job *job)
{
        return job && (job->ping || job->webhook || job->email.n > 0 || job->sentry_dsn);
}

static const char *event_of(cw_run_status st)
{
        switch (st) {
        case CW_RUN_QUEUED:
        case CW_RUN_RUNNING:
                return "started";
        default:
                return cw_run_status_to_string(st);
        }
}

typedef struct adder {
        cw_store *s;
        const cw_job *job;
        int64_t run_id, now_us;
        int64_t first; /* the first row added, 0: none yet */
        size_t n;
} adder;

static int add(adder *a, const char *event, const char *channel, const char *target,
               const char *detail)
{
        cw_notice n = {
                .run_id = a->run_id,
                .job = a->job->name,
                .event = (char *)event,
                .channel = (char *)channel,
                .target = (char *)target,
                .detail = (char *)detail,
                .created_us = a->now_us,
        };
        int r = cw_store_notice_add(a->s, &n);

        /* A backend without an outbox (none of ours today): nothing to send,
         * and the rest (disable_after_failures) still applies. */
        if (r == -EOPNOTSUPP)
                return 0;
        if (r == 0) {
                if (!a->first)
                        a->first = n.id;
                a->n++;
        }
        return r;
}

static int add_webhook(adder *a, const char *event, const char *detail)
{
        if (!a->job->webhook)
                return 0;
        return add(a, event, a->job->webhook_slack ? "slack" : "webhook", a->job->webhook, detail);
}

static int add_email(adder *a, const char *event, const char *detail)
{
        cw_buf to = CW_BUF_INIT(64 * 1024);
        int r;

        if (a->job->email.n == 0)
                return 0;
        for (size_t i = 0; i < a->job->email.n; i++) {
                if (i > 0)
                        cw_buf_puts(&to, ", ");
                cw_buf_puts(&to, a->job->email.v[i]);
        }
        r = cw_buf_error(&to);
        if (r == 0)
                r = add(a, event, "email", to.p, detail);
        cw_buf_release(&to);
        return r;
}

/* The ping channel hears of starts, successes and every way a run can go
 * wrong (a missed fire included); never of skips. */
static bool ping_hears(cw_run_status st)
{
        return st != CW_RUN_SKIPPED;
}

/* Sentry hears what a ping hears, with the job's monitor_config. */
static int add_sentry(adder *a, const cw_config *cfg, const char *event, const char *reason)
{
        char *detail;
        int r;

        if (!a->job->sentry_dsn)
                return 0;
        detail = notify_sentry_detail(cfg, a->job, reason);
        if (!detail)
                return -ENOMEM;
        r = add(a, event, "sentry", a->job->sentry_dsn, detail);
        free(detail);
        return r;
}

int cw_notify_run_event(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                        cw_run_status status, const char *reason, int64_t now_us)
{
        adder a = {.s = s, .job = job, .run_id = run_id, .now_us = now_us};
        const char *ev = event_of(status);
        int r = 0;

        if (!cw_notify_job_has_channels(job))
                return 0;
        if (job->ping && ping_hears(status))
                r = add(&a, ev, "ping", job->ping, reason);
        if (r == 0 && ping_hears(status))
                r = add_sentry(&a, cfg, ev, reason);
        if (r == 0)
                r = add_webhook(&a, ev, reason);
        /* Mail is for what needs a person: a fire that did not run. Failed
         * runs are mailed by the failure count (cw_notify_finish). */
        if (r == 0 && status == CW_RUN_MISSED)
                r = add_email(&a, ev, reason);
        return r;
}

int cw_notify_run_started(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                          int worker_pid, int pid, uint64_t pid_start, int64_t now_us)
{
        bool batch;
        int r;

        if (!cw_notify_job_has_channels(job))
                return cw_store_run_started(s, run_id, worker_pid, pid, pid_start);
        batch = cw_store_batch_begin(s) == 0;
        r = cw_store_run_started(s, run_id, worker_pid, pid, pid_start);
        if (r == 0)
                (void)cw_notify_run_event(s, cfg, job, run_id, CW_RUN_RUNNING, NULL, now_us);
        if (batch && cw_store_batch_commit(s) < 0) {
                /* Rolled back: the start alone, which is what matters. */
                r = cw_store_run_started(s, run_id, worker_pid, pid, pid_start);
        }
        return r;
}

int cw_notify_test(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t now_us,
                   int64_t *ret_tag, size_t *ret_n)
{
        adder a = {.s = s, .job = job, .run_id = -now_us, .now_us = now_us};
        int r = 0;

        if (!cw_notify_job_has_channels(job))
                return -ENOENT;
        if (job->ping)
                r = add(&a, "test", "ping", job->ping, NULL);
        if (r == 0)
                r = add_sentry(&a, cfg, "test", NULL);
        if (r == 0)
                r = add_webhook(&a, "test", NULL);
        if (r == 0)
                r = add_email(&a, "test", NULL);
        if (r < 0)
                return r;
        *ret_tag = -now_us;
        *ret_n = a.n;
        return 0;
}

int cw_notify_max_runtime(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                          int64_t now_us)
{
        adder a = {.s = s, .job = job, .run_id = run_id, .now_us = now_us};
        char detail[256], took[64];
        int r;

        if (!cw_notify_job_has_channels(job) || job->max_runtime <= 0)
                return 0;
        (void)cfg;
        cw_duration_format(job->max_runtime, took, sizeof(took));
        snprintf(detail, sizeof(detail),
                 "still running after %s (max_runtime); timeout stops it, not this warning", took);
        r = add_email(&a, "running_long", detail);
        if (r == 0)
                r = add_webhook(&a, "running_long", detail);
        return r;
}

/* Consecutive failed runs of the job, newest first, not counting run
 * `skip`: failures (failed, timed_out, lost) count, a success ends the
 * streak, anything else (skipped, missed, killed, active) is passed
 * over. Reads at most limit runs. */
static int count_failures(cw_store *s, const char *job, int64_t skip, size_t limit, int *ret)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        int count = 0, r;

        f.job = job;
        f.limit = limit;
        r = cw_store_runs_list(s, &f, &runs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (runs[i].id == skip)
                        continue;
                if (runs[i].status == CW_RUN_SUCCEEDED)
                        break;
                if (cw_run_status_is_failure(runs[i].status))
                        count++;
        }
        cw_runs_free(runs, n);
        *ret = count;
        return 0;
}

/* What the failure count says after run's end: one mail when the streak
 * reaches notify_after_failures, one when a success ends a streak that
 * long, and the job disabled when it reaches disable_after_failures. */
static int failure_rules(adder *a, const cw_run *run)
{
        const cw_job *job = a->job;
        int threshold = job->notify_after_failures > 0 ? job->notify_after_failures : 1;
        int top = threshold > job->disable_after_failures ? threshold : job->disable_after_failures;
        bool failed = cw_run_status_is_failure(run->status);
        char detail[512];
        int streak, r;

        if (!failed && run->status != CW_RUN_SUCCEEDED)
                return 0;
        r = count_failures(a->s, job->name, failed ? 0 : run->id, (size_t)top + HISTORY_SLACK,
                           &streak);
        if (r < 0)
                return r;
        if (failed && streak == threshold) {
                snprintf(detail, sizeof(detail), "%d consecutive failure%s", streak,
                         streak == 1 ? "" : "s");
                r = add_email(a, "failing", detail);
        }
        if (r == 0 && !failed && streak >= threshold) {
                snprintf(detail, sizeof(detail), "succeeded after %d consecutive failure%s", streak,
                         streak == 1 ? "" : "s");
                r = add_email(a, "recovered", detail);
                if (r == 0)
                        r = add_webhook(a, "recovered", detail);
        }
        if (r == 0 && failed && job->disable_after_failures > 0 &&
            streak == job->disable_after_failures) {
                r = cw_store_job_enabled_set(a->s, job->name, false);
                snprintf(
                        detail, sizeof(detail),
                        "disabled after %d consecutive failures; re-enable with: cronwarden enable %s",
                        streak, job->name);
                if (r == 0)
                        r = add_email(a, "disabled", detail);
                if (r == 0)
                        r = add_webhook(a, "disabled", detail);
        }
        return r;
}

/* min_runtime: a success quicker than that is suspicious (a job that
 * found nothing to do, a guard that returned early). */
static int runtime_rules(adder *a, const cw_run *run, int64_t started_us)
{
        char detail[256];
        int64_t took = run->ended_us - started_us;
        int r;

        if (run->status != CW_RUN_SUCCEEDED || a->job->min_runtime <= 0 || started_us <= 0 ||
            took >= (int64_t)a->job->min_runtime * 1000000)
                return 0;
        snprintf(detail, sizeof(detail),
                 "finished suspiciously fast: in %.1fs, min_runtime is %llds", (double)took / 1e6,
                 (long long)a->job->min_runtime);
        r = add_email(a, "too_fast", detail);
        if (r == 0)
                r = add_webhook(a, "too_fast", detail);
        return r;
}

static int enqueue_end(cw_store *s, const cw_config *cfg, const cw_job *job, const cw_run *run)
{
        adder a = {.s = s, .job = job, .run_id = run->id, .now_us = run->ended_us};
        cw_run full = {0};
        int r;

        r = cw_notify_run_event(s, cfg, job, run->id, run->status, run->reason, run->ended_us);
        if (r == 0 && (cw_notify_job_has_channels(job) || job->disable_after_failures > 0))
                r = failure_rules(&a, run);
        if (r == 0 && job->min_runtime > 0 && cw_store_run_get(s, run->id, &full) == 0) {
                r = runtime_rules(&a, run, full.started_us);
                cw_run_release(&full);
        }
        return r;
}

int cw_notify_finish(cw_store *s, const cw_config *cfg, const cw_job *job, const cw_run *run,
                     const void *output, size_t len)
{
        bool batch;
        int r;

        if (!job || (!cw_notify_job_has_channels(job) && job->disable_after_failures == 0))
                return cw_store_run_finish(s, run, output, len);
        /* One transaction: the end and what it causes, or neither. */
        batch = cw_store_batch_begin(s) == 0;
        r = cw_store_run_finish(s, run, output, len);
        if (!batch) {
                /* Written one by one: the finish stands whatever follows,
                 * and the caller must not repeat it (nor the rows). */
                if (r == 0)
                        (void)enqueue_end(s, cfg, job, run);
                return r;
        }
        if (r == 0)
                r = enqueue_end(s, cfg, job, run);
        if (r == 0)
                r = cw_store_batch_commit(s);
        else
                cw_store_batch_abort(s);
        /* Whatever went wrong with the notifications, the end is recorded. */
        return r == 0 ? 0 : cw_store_run_finish(s, run, output, len);
}
