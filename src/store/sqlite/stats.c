/* stats.c - the per-job aggregates in the SQLite backend (store.h,
 * "per-job aggregates"; sqlite_internal.h): run counts by final status,
 * duration and lateness histograms, and each job's newest final run,
 * kept up to date inside the transactions that change runs (runs.c calls
 * sq_stats_change and sq_observe), and read back for the admin overview
 * and /metrics without scanning the runs. The histogram bounds are
 * store.h's; migration 2 (schema.c) spells them out in its backfill.
 * Durations go into the job's histogram and the all-jobs one (job '',
 * migration 4), like lateness, which is only kept for all jobs. */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- keeping them --------------------------------------------------------- */

/* The bucket of value v: the first bound >= v, or n for +Inf. */
static int bucket_of(const double *bounds, int n, double v)
{
        for (int i = 0; i < n; i++)
                if (v <= bounds[i])
                        return i;
        return n;
}

/* Statuses whose runs actually ran, so have a duration worth observing. */
static bool status_ran(cw_run_status st)
{
        return st == CW_RUN_SUCCEEDED || st == CW_RUN_FAILED || st == CW_RUN_TIMED_OUT ||
               st == CW_RUN_KILLED || st == CW_RUN_LOST;
}

static int count_add(sq_store *q, const char *job, cw_run_status status, int64_t delta)
{
        sq_exec x = SQ_EXEC(ST_COUNT_ADD, SQ_TEXT(job), SQ_TEXT(cw_run_status_to_string(status)),
                            SQ_INT(delta));

        return sq_exec_run(q, &x);
}

int sq_observe(sq_store *q, const char *metric, const char *job, const double *bounds, int n,
               double v)
{
        sq_exec hist = SQ_EXEC(ST_HIST_ADD, SQ_TEXT(metric), SQ_TEXT(job),
                               SQ_INT(bucket_of(bounds, n, v)));
        sq_exec sum = SQ_EXEC(ST_HIST_SUM_ADD, SQ_TEXT(metric), SQ_TEXT(job), SQ_REAL(v));
        int e = sq_exec_run(q, &hist);

        return e < 0 ? e : sq_exec_run(q, &sum);
}

/* What a change does to the failure streak (ST_JOB_STATS_NOTE's ?5): a
 * success ends it, a failure extends it unless the run was a failure
 * already (a correction between two failure statuses), anything else
 * leaves it. */
static int streak_step(bool was_final, cw_run_status from, cw_run_status to)
{
        if (to == CW_RUN_SUCCEEDED)
                return -1;
        if (!cw_run_status_is_failure(to))
                return 0;
        return was_final && cw_run_status_is_failure(from) ? 0 : 1;
}

/* A run is counted when it first becomes final; a final-to-final
 * correction moves the count. */
int sq_stats_change(sq_store *q, const char *job, int64_t id, int from, cw_run_status to,
                    int64_t started_us, int64_t ended_us)
{
        bool was_final = from >= 0 && cw_run_status_is_final((cw_run_status)from);
        bool ran = status_ran(to) && started_us > 0;
        int64_t duration_us = ran ? (ended_us > started_us ? ended_us - started_us : 0) : -1;
        sq_exec note = SQ_EXEC(
                ST_JOB_STATS_NOTE, SQ_TEXT(job), SQ_INT(id),
                SQ_INT(to == CW_RUN_SUCCEEDED ? ended_us : 0), SQ_TEXT(cw_run_status_to_string(to)),
                SQ_INT(streak_step(was_final, (cw_run_status)from, to)), SQ_INT(duration_us),
                SQ_INT(cw_run_status_is_failure(to) ? ended_us : 0));
        int e = 0;

        if (was_final && (cw_run_status)from == to)
                return 0;
        if (was_final)
                e = count_add(q, job, (cw_run_status)from, -1);
        if (e < 0 || !cw_run_status_is_final(to))
                return e;
        e = count_add(q, job, to, 1);
        /* Each duration twice: the job's histogram and the all-jobs one
         * (job ''), which a default scrape reads instead of every job's. */
        if (e == 0 && !was_final && ran)
                e = sq_observe(q, "duration", job, cw_store_duration_bounds,
                               CW_STORE_DURATION_BUCKETS, (double)duration_us / 1e6);
        if (e == 0 && !was_final && ran)
                e = sq_observe(q, "duration", "", cw_store_duration_bounds,
                               CW_STORE_DURATION_BUCKETS, (double)duration_us / 1e6);
        return e < 0 ? e : sq_exec_run(q, &note);
}

int sq_run_brief_read(sq_store *q, int64_t id, sq_run_brief *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_RUN_BRIEF, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_bind_int64(st, 1, id);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sq_errno(q->db, rc);
        if (cw_run_status_from_string((const char *)sqlite3_column_text(st, 1), &ret->status) < 0)
                return -EIO;
        ret->started_us = sqlite3_column_int64(st, 2);
        e = sq_dup_text(st, 0, &ret->job);
        if (e == 0 && !ret->job)
                e = -EIO;
        return e;
}

/* ---- reading them --------------------------------------------------------- */

static int job_stats_row(sqlite3_stmt *st, void *item)
{
        cw_job_stats *js = item;
        int e;

        const char *status = (const char *)sqlite3_column_text(st, 3);

        js->last_run_id = sqlite3_column_int64(st, 1);
        js->last_success_us = sqlite3_column_int64(st, 2);
        if (!status || cw_run_status_from_string(status, &js->last_status) < 0)
                js->last_status = CW_RUN_STATUS_MAX;
        js->last_failure_us = sqlite3_column_int64(st, 4);
        js->last_duration_us = sqlite3_column_int64(st, 5);
        js->consecutive_failures = (uint64_t)sqlite3_column_int64(st, 6);
        e = sq_dup_text(st, 0, &js->job);
        return e == 0 && !js->job ? -EIO : e;
}

static void job_stats_release(void *item)
{
        free(((cw_job_stats *)item)->job);
}

typedef struct stats_ctx {
        const char *job; /* NULL: all */
        bool summary;    /* the all-jobs histograms instead of each job's */
        sq_rows jobs;    /* of cw_job_stats, sorted by name */
        cw_store_hist lateness;
        cw_store_hist duration; /* all jobs', with summary */
} stats_ctx;

static void stats_reset(stats_ctx *c)
{
        sq_rows_reset(&c->jobs);
        memset(&c->lateness, 0, sizeof(c->lateness));
        memset(&c->duration, 0, sizeof(c->duration));
}

static int stats_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const cw_job_stats *)elem)->job);
}

/* The job's entry (job_stats is read first, sorted by name), or NULL. */
static cw_job_stats *stats_find(stats_ctx *c, const char *job)
{
        if (!job)
                return NULL;
        return bsearch(job, c->jobs.items, c->jobs.n, sizeof(cw_job_stats), stats_cmp);
}

/* The histogram a (metric, job) row belongs to, or NULL to ignore it. */
static cw_store_hist *stats_hist(stats_ctx *c, const char *metric, const char *job, int *ret_nb)
{
        cw_job_stats *js;

        if (!metric)
                return NULL;
        if (strcmp(metric, "lateness") == 0) {
                *ret_nb = CW_STORE_LATENESS_BUCKETS;
                return &c->lateness;
        }
        if (strcmp(metric, "duration") != 0)
                return NULL;
        *ret_nb = CW_STORE_DURATION_BUCKETS;
        if (c->summary)
                return job && !*job ? &c->duration : NULL;
        return (js = stats_find(c, job)) ? &js->duration : NULL;
}

/* A run_counts row (job, status, n). */
static int counts_row(sqlite3_stmt *st, void *ctx)
{
        cw_job_stats *js = stats_find(ctx, (const char *)sqlite3_column_text(st, 0));
        cw_run_status status;
        int64_t n = sqlite3_column_int64(st, 2);

        if (js && n > 0 &&
            cw_run_status_from_string((const char *)sqlite3_column_text(st, 1), &status) == 0)
                js->runs[status] = (uint64_t)n;
        return 0;
}

/* A histograms row (metric, job, bucket, n). */
static int hist_row(sqlite3_stmt *st, void *ctx)
{
        int nb = 0;
        cw_store_hist *h = stats_hist(ctx, (const char *)sqlite3_column_text(st, 0),
                                      (const char *)sqlite3_column_text(st, 1), &nb);
        int64_t bucket = sqlite3_column_int64(st, 2), n = sqlite3_column_int64(st, 3);

        if (h && bucket >= 0 && bucket <= nb && n > 0)
                h->counts[bucket] = (uint64_t)n;
        return 0;
}

/* A histogram_sums row (metric, job, n, sum). */
static int sums_row(sqlite3_stmt *st, void *ctx)
{
        int nb = 0;
        cw_store_hist *h = stats_hist(ctx, (const char *)sqlite3_column_text(st, 0),
                                      (const char *)sqlite3_column_text(st, 1), &nb);
        int64_t n = sqlite3_column_int64(st, 2);

        if (h && n > 0) {
                h->count = (uint64_t)n;
                h->sum = sqlite3_column_double(st, 3);
        }
        return 0;
}

/* The statement for all jobs, its one-job twin with ?1 bound, or the
 * summary's. */
static int stats_stmt(sq_store *q, stats_ctx *c, stmt_id all, stmt_id one, stmt_id summary,
                      sqlite3_stmt **ret)
{
        int e = sq_stmt(q, c->job ? one : c->summary ? summary : all, ret), rc;

        if (e < 0 || !c->job)
                return e;
        rc = sqlite3_bind_text(*ret, 1, c->job, -1, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : sq_errno(q->db, rc);
}

static int stats_read(sq_store *q, void *ctx)
{
        static const struct {
                stmt_id all, one, summary;
                sq_row_fn row; /* NULL: the jobs themselves */
        } steps[] = {
                {ST_STATS_JOBS, ST_STATS_JOBS_ONE, ST_STATS_JOBS, NULL},
                {ST_STATS_COUNTS, ST_STATS_COUNTS_ONE, ST_STATS_COUNTS, counts_row},
                {ST_STATS_HIST, ST_STATS_HIST_ONE, ST_STATS_HIST_ALL, hist_row},
                {ST_STATS_SUMS, ST_STATS_SUMS_ONE, ST_STATS_SUMS_ALL, sums_row},
        };
        stats_ctx *c = ctx;
        int e = 0;

        stats_reset(c);
        for (size_t i = 0; e == 0 && i < CW_ARRAY_SIZE(steps); i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                e = stats_stmt(q, c, steps[i].all, steps[i].one, steps[i].summary, &st);
                if (e == 0)
                        e = steps[i].row ? sq_each_row(q, st, steps[i].row, c)
                                         : sq_rows_read(q, st, &c->jobs);
        }
        if (e < 0)
                stats_reset(c);
        return e;
}

/* Four statements, each its own snapshot: a run finishing between them
 * can make a scrape's counter and histogram differ by one, never more,
 * and the next scrape agrees again. Holding a read transaction across
 * them would not be worth making writers' checkpoints wait. */
int sq_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                  cw_store_hist *ret_lateness)
{
        stats_ctx c = {
                .job = job,
                .jobs = {.size = sizeof(cw_job_stats),
                         .read = job_stats_row,
                         .release = job_stats_release},
        };
        int r = sq_read(sq_of(s), stats_read, &c);

        if (r < 0)
                return r;
        *ret = c.jobs.items;
        *ret_n = c.jobs.n;
        if (ret_lateness)
                *ret_lateness = c.lateness;
        return 0;
}

int sq_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n, cw_store_hist *ret_lateness,
                     cw_store_hist *ret_duration)
{
        stats_ctx c = {
                .summary = true,
                .jobs = {.size = sizeof(cw_job_stats),
                         .read = job_stats_row,
                         .release = job_stats_release},
        };
        int r = sq_read(sq_of(s), stats_read, &c);

        if (r < 0)
                return r;
        *ret = c.jobs.items;
        *ret_n = c.jobs.n;
        if (ret_lateness)
                *ret_lateness = c.lateness;
        if (ret_duration)
                *ret_duration = c.duration;
        return 0;
}

typedef struct last_ctx {
        const char *const *jobs; /* NULL: all */
        size_t n_jobs;
        sq_rows rows; /* of cw_run */
} last_ctx;

static int last_read(sq_store *q, void *ctx)
{
        last_ctx *c = ctx;
        int e = 0;

        if (!c->jobs) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                e = sq_stmt(q, ST_JOBS_LAST, &st);
                if (e == 0)
                        e = sq_rows_read(q, st, &c->rows);
        }
        for (size_t i = 0; c->jobs && e == 0 && i < c->n_jobs; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                e = sq_stmt(q, ST_JOB_LAST, &st);
                if (e == 0) {
                        sq_bind b = {st, SQLITE_OK};

                        sq_bind_text(&b, 1, c->jobs[i]);
                        e = sq_bind_done(q, &b);
                }
                if (e == 0)
                        e = sq_rows_read(q, st, &c->rows);
        }
        if (e < 0)
                sq_rows_reset(&c->rows); /* a retry starts again; jobs stay */
        return e;
}

int sq_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret, size_t *ret_n)
{
        last_ctx c = {jobs, n_jobs, SQ_RUN_ROWS};
        int r = sq_read(sq_of(s), last_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

static int name_row(sqlite3_stmt *st, void *item)
{
        char **name = item;
        int e = sq_dup_text(st, 0, name);

        return e == 0 && !*name ? -EIO : e;
}

static void name_release(void *item)
{
        free(*(char **)item);
}

typedef struct names_ctx {
        stmt_id stmt;
        sq_rows rows; /* of char * */
} names_ctx;

/* Reads the one-column name list of statement c->stmt. */
static int names_read(sq_store *q, void *ctx)
{
        names_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->stmt, &st);

        return e < 0 ? e : sq_rows_read(q, st, &c->rows);
}

static int names_list(cw_store *s, stmt_id stmt, char ***ret, size_t *ret_n)
{
        names_ctx c = {stmt, {.size = sizeof(char *), .read = name_row, .release = name_release}};
        int r = sq_read(sq_of(s), names_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int sq_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, ST_JOBS_DISABLED, ret, ret_n);
}

int sq_jobs_failing(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, ST_JOBS_FAILING, ret, ret_n);
}
