/* stats.c - the per-job aggregates in the PostgreSQL backend (store.h,
 * "per-job aggregates"; pg_internal.h): run counts by final status,
 * duration and lateness histograms, and each job's newest final run, kept
 * by upserts that add to a row inside the transactions that change runs
 * (runs.c calls pg_stats_change and pg_observe), and read back for the
 * admin overview and /metrics without scanning the runs. The histogram
 * bounds are store.h's, the same as every backend's. Durations go into the
 * job's histogram and the all-jobs one (job '', migration 2), like
 * lateness, which is only kept for all jobs. */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- keeping them ----------------------------------------------------------- */

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

static int count_add(pg_store *q, const char *job, cw_run_status status, int64_t delta)
{
        pg_exec x = PG_EXEC(PS_COUNT_ADD, PG_TEXT(job), PG_TEXT(cw_run_status_to_string(status)),
                            PG_INT(delta));

        return pg_exec_run(q, &x);
}

/* One observation of a batch, or (merged) all those of one bucket. */
typedef struct pg_obs {
        const char *metric;
        char *job;
        int bucket;
        int64_t n;
        double sum;
} pg_obs;

/* Why a transaction's observations wait for its commit: the all-jobs
 * rows (job '') are the same rows for every node and every worker, and a
 * row updated early in a transaction stays locked until it commits, so
 * the claim batches of several nodes firing in the same second, and the
 * end records of their workers, would run one after the other. Made just
 * before COMMIT, they are locked for the commit's length. */
int pg_observe(pg_store *q, const char *metric, const char *job, const double *bounds, int n,
               double v)
{
        pg_obs o = {metric, (char *)job, bucket_of(bounds, n, v), 1, v};

        if (q->n_obs == q->cap_obs) {
                size_t cap = q->cap_obs ? 2 * q->cap_obs : 64;
                pg_obs *grown = realloc(q->obs, cap * sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                q->obs = grown;
                q->cap_obs = cap;
        }
        o.job = strdup(job);
        if (!o.job)
                return -ENOMEM;
        q->obs[q->n_obs++] = o;
        return 0;
}

void pg_obs_drop(pg_store *q, size_t keep)
{
        while (q->n_obs > keep)
                free(q->obs[--q->n_obs].job);
        if (keep == 0) {
                free(q->obs);
                q->obs = NULL;
                q->cap_obs = 0;
        }
}

static int obs_cmp(const void *a, const void *b)
{
        const pg_obs *x = a, *y = b;
        int c = strcmp(x->metric, y->metric);

        if (c == 0)
                c = strcmp(x->job, y->job);
        return c != 0 ? c : (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Whether two observations go to the same row: the bucket's (buckets),
 * or the histogram's sum (!buckets). */
static bool obs_same(const pg_obs *x, const pg_obs *y, bool buckets)
{
        return strcmp(x->metric, y->metric) == 0 && strcmp(x->job, y->job) == 0 &&
               (!buckets || x->bucket == y->bucket);
}

/* Fills xs[*n...] (with their parameters in args) with the statements
 * adding the sorted observations to their rows, merged: the buckets'
 * (PS_HIST_ADD) or the sums' (PS_HIST_SUM_ADD). */
static void obs_stmts(const pg_store *q, bool buckets, pg_exec *xs, pg_val (*args)[4], size_t *n)
{
        size_t i = 0;

        while (i < q->n_obs) {
                pg_obs m = q->obs[i++];
                pg_val *a = args[*n];

                while (i < q->n_obs && obs_same(&m, &q->obs[i], buckets)) {
                        m.n += q->obs[i].n;
                        m.sum += q->obs[i++].sum;
                }
                a[0] = PG_TEXT(m.metric);
                a[1] = PG_TEXT(m.job);
                a[2] = buckets ? PG_INT(m.bucket) : PG_REAL(m.sum);
                a[3] = PG_INT(m.n);
                xs[(*n)++] = (pg_exec){
                        .id = buckets ? PS_HIST_ADD : PS_HIST_SUM_ADD, .args = a, .n_args = 4};
        }
}

/* Every transaction takes the rows in one order, all the buckets sorted
 * and then all the sums sorted, so two never wait for each other in a
 * circle (a bucket, its sum, then a second bucket of the same histogram
 * did: a deadlock, which PostgreSQL breaks only after deadlock_timeout).
 * All in one round trip with the COMMIT: the rows every node shares are
 * locked only while the server commits, never while the client (one
 * process among a burst's thousand) waits for the CPU between two round
 * trips. */
int pg_obs_commit(pg_store *q, pg_exec *commit)
{
        pg_val(*args)[4] = NULL;
        pg_exec *xs;
        size_t n = 0;
        int e;

        if (q->n_obs == 0) /* most writes: nothing to allocate */
                return pg_exec_many(q, commit, commit ? 1 : 0);
        args = calloc(2 * q->n_obs, sizeof(*args));
        xs = calloc(2 * q->n_obs + 1, sizeof(*xs));
        e = args && xs ? 0 : -ENOMEM;
        if (e == 0) {
                if (q->n_obs > 1)
                        qsort(q->obs, q->n_obs, sizeof(*q->obs), obs_cmp);
                obs_stmts(q, true, xs, args, &n);
                obs_stmts(q, false, xs, args, &n);
                if (commit)
                        xs[n++] = *commit;
                e = pg_exec_many(q, xs, n);
                if (commit) {
                        commit->res = xs[n - 1].res;
                        commit->changes = xs[n - 1].changes;
                }
        }
        free(xs);
        free(args);
        pg_obs_drop(q, 0);
        return e;
}

/* What a change does to the failure streak (PS_JOB_STATS_NOTE's $5): a
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
int pg_stats_change(pg_store *q, const char *job, int64_t id, int from, cw_run_status to,
                    int64_t started_us, int64_t ended_us)
{
        bool was_final = from >= 0 && cw_run_status_is_final((cw_run_status)from);
        bool ran = status_ran(to) && started_us > 0;
        int64_t duration_us = ran ? (ended_us > started_us ? ended_us - started_us : 0) : -1;
        pg_exec note = PG_EXEC(
                PS_JOB_STATS_NOTE, PG_TEXT(job), PG_INT(id),
                PG_INT(to == CW_RUN_SUCCEEDED ? ended_us : 0), PG_TEXT(cw_run_status_to_string(to)),
                PG_INT(streak_step(was_final, (cw_run_status)from, to)), PG_INT(duration_us),
                PG_INT(cw_run_status_is_failure(to) ? ended_us : 0));
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
                e = pg_observe(q, "duration", job, cw_store_duration_bounds,
                               CW_STORE_DURATION_BUCKETS, (double)duration_us / 1e6);
        if (e == 0 && !was_final && ran)
                e = pg_observe(q, "duration", "", cw_store_duration_bounds,
                               CW_STORE_DURATION_BUCKETS, (double)duration_us / 1e6);
        return e < 0 ? e : pg_exec_run(q, &note);
}

int pg_run_brief_read(pg_store *q, int64_t id, pg_run_brief *ret)
{
        pg_exec x = PG_EXEC(PS_RUN_BRIEF, PG_INT(id));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) == 0)
                e = -ENOENT;
        if (e == 0 && cw_run_status_from_string(PQgetvalue(x.res, 0, 1), &ret->status) < 0)
                e = -EIO;
        if (e == 0) {
                ret->started_us = pg_int(x.res, 0, 2);
                e = pg_dup_text(x.res, 0, 0, &ret->job);
                if (e == 0 && !ret->job)
                        e = -EIO;
        }
        pg_exec_release(&x);
        return e;
}

/* ---- reading them ----------------------------------------------------------- */

static int job_stats_row(const PGresult *res, int row, void *item)
{
        cw_job_stats *js = item;
        int e;

        js->last_run_id = pg_int(res, row, 1);
        js->last_success_us = pg_int(res, row, 2);
        if (PQgetisnull(res, row, 3) ||
            cw_run_status_from_string(PQgetvalue(res, row, 3), &js->last_status) < 0)
                js->last_status = CW_RUN_STATUS_MAX;
        js->last_failure_us = pg_int(res, row, 4);
        js->last_duration_us = pg_int(res, row, 5);
        js->consecutive_failures = (uint64_t)pg_int(res, row, 6);
        e = pg_dup_text(res, row, 0, &js->job);
        return e == 0 && !js->job ? -EIO : e;
}

static void job_stats_release(void *item)
{
        free(((cw_job_stats *)item)->job);
}

typedef struct stats_ctx {
        const char *job; /* NULL: all */
        bool summary;    /* the all-jobs histograms instead of each job's */
        pg_rows jobs;    /* of cw_job_stats, sorted by name */
        cw_store_hist lateness;
        cw_store_hist duration; /* all jobs', with summary */
} stats_ctx;

static void stats_reset(stats_ctx *c)
{
        pg_rows_reset(&c->jobs);
        memset(&c->lateness, 0, sizeof(c->lateness));
        memset(&c->duration, 0, sizeof(c->duration));
}

static int stats_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const cw_job_stats *)elem)->job);
}

static cw_job_stats *stats_find(stats_ctx *c, const char *job)
{
        return bsearch(job, c->jobs.items, c->jobs.n, sizeof(cw_job_stats), stats_cmp);
}

/* The histogram a (metric, job) row belongs to, or NULL to ignore it. */
static cw_store_hist *stats_hist(stats_ctx *c, const char *metric, const char *job, int *ret_nb)
{
        cw_job_stats *js;

        if (strcmp(metric, "lateness") == 0) {
                *ret_nb = CW_STORE_LATENESS_BUCKETS;
                return &c->lateness;
        }
        if (strcmp(metric, "duration") != 0)
                return NULL;
        *ret_nb = CW_STORE_DURATION_BUCKETS;
        if (c->summary)
                return !*job ? &c->duration : NULL;
        return (js = stats_find(c, job)) ? &js->duration : NULL;
}

/* A run_counts row (job, status, n). */
static void counts_row(stats_ctx *c, const PGresult *res, int row)
{
        cw_job_stats *js = stats_find(c, PQgetvalue(res, row, 0));
        cw_run_status status;
        int64_t n = pg_int(res, row, 2);

        if (js && n > 0 && cw_run_status_from_string(PQgetvalue(res, row, 1), &status) == 0)
                js->runs[status] = (uint64_t)n;
}

/* A histograms row (metric, job, bucket, n). */
static void hist_row(stats_ctx *c, const PGresult *res, int row)
{
        int nb = 0;
        cw_store_hist *h = stats_hist(c, PQgetvalue(res, row, 0), PQgetvalue(res, row, 1), &nb);
        int64_t bucket = pg_int(res, row, 2), n = pg_int(res, row, 3);

        if (h && bucket >= 0 && bucket <= nb && n > 0)
                h->counts[bucket] = (uint64_t)n;
}

/* A histogram_sums row (metric, job, n, sum). */
static void sums_row(stats_ctx *c, const PGresult *res, int row)
{
        int nb = 0;
        cw_store_hist *h = stats_hist(c, PQgetvalue(res, row, 0), PQgetvalue(res, row, 1), &nb);
        int64_t n = pg_int(res, row, 2);

        if (h && n > 0) {
                h->count = (uint64_t)n;
                h->sum = strtod(PQgetvalue(res, row, 3), NULL);
        }
}

/* Runs the statement for all jobs, its one-job twin or the summary's,
 * and hands each row to fn. */
static int stats_step(pg_store *q, stats_ctx *c, pg_stmt_id all, pg_stmt_id one, pg_stmt_id summary,
                      void (*fn)(stats_ctx *, const PGresult *, int))
{
        pg_exec x = c->job ? PG_EXEC(one, PG_TEXT(c->job)) : PG_EXEC0(c->summary ? summary : all);
        int e;

        if (!fn)
                return pg_rows_exec(q, &x, &c->jobs);
        x.keep_result = true;
        e = pg_exec_run(q, &x);
        for (int i = 0; e == 0 && i < PQntuples(x.res); i++)
                fn(c, x.res, i);
        pg_exec_release(&x);
        return e;
}

static int stats_read(pg_store *q, void *ctx)
{
        static const struct {
                pg_stmt_id all, one, summary;
                void (*row)(stats_ctx *, const PGresult *, int); /* NULL: the jobs */
        } steps[] = {
                {PS_STATS_JOBS, PS_STATS_JOBS_ONE, PS_STATS_JOBS, NULL},
                {PS_STATS_COUNTS, PS_STATS_COUNTS_ONE, PS_STATS_COUNTS, counts_row},
                {PS_STATS_HIST, PS_STATS_HIST_ONE, PS_STATS_HIST_ALL, hist_row},
                {PS_STATS_SUMS, PS_STATS_SUMS_ONE, PS_STATS_SUMS_ALL, sums_row},
        };
        stats_ctx *c = ctx;
        int e = 0;

        stats_reset(c);
        for (size_t i = 0; e == 0 && i < CW_ARRAY_SIZE(steps); i++)
                e = stats_step(q, c, steps[i].all, steps[i].one, steps[i].summary, steps[i].row);
        if (e < 0)
                stats_reset(c);
        return e;
}

/* Four statements, each its own snapshot, as in the SQLite backend: a run
 * finishing between them can make a scrape's counter and histogram differ
 * by one, and the next scrape agrees again. The jobs come sorted bytewise
 * (COLLATE "C", whatever the database's collation), which is the order
 * the lookups above and every caller expect. */
int pg_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                  cw_store_hist *ret_lateness)
{
        stats_ctx c = {
                .job = job,
                .jobs = {.size = sizeof(cw_job_stats),
                         .read = job_stats_row,
                         .release = job_stats_release},
        };
        int r = pg_read(pg_of(s), stats_read, &c);

        if (r < 0)
                return r;
        *ret = c.jobs.items;
        *ret_n = c.jobs.n;
        if (ret_lateness)
                *ret_lateness = c.lateness;
        return 0;
}

int pg_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n, cw_store_hist *ret_lateness,
                     cw_store_hist *ret_duration)
{
        stats_ctx c = {
                .summary = true,
                .jobs = {.size = sizeof(cw_job_stats),
                         .read = job_stats_row,
                         .release = job_stats_release},
        };
        int r = pg_read(pg_of(s), stats_read, &c);

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
        pg_rows rows; /* of cw_run */
} last_ctx;

static int last_read(pg_store *q, void *ctx)
{
        last_ctx *c = ctx;
        int e = 0;

        if (!c->jobs) {
                pg_exec x = PG_EXEC0(PS_JOBS_LAST);
                e = pg_rows_exec(q, &x, &c->rows);
        }
        for (size_t i = 0; c->jobs && e == 0 && i < c->n_jobs; i++) {
                pg_exec x = PG_EXEC(PS_JOB_LAST, PG_TEXT(c->jobs[i]));
                e = pg_rows_exec(q, &x, &c->rows);
        }
        if (e < 0)
                pg_rows_reset(&c->rows); /* a retry starts again */
        return e;
}

int pg_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret, size_t *ret_n)
{
        last_ctx c = {jobs, n_jobs, PG_RUN_ROWS};
        int r = pg_read(pg_of(s), last_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

static int name_row(const PGresult *res, int row, void *item)
{
        char **name = item;
        int e = pg_dup_text(res, row, 0, name);

        return e == 0 && !*name ? -EIO : e;
}

static void name_release(void *item)
{
        free(*(char **)item);
}

typedef struct names_ctx {
        pg_stmt_id stmt;
        pg_rows rows; /* of char * */
} names_ctx;

static int names_read(pg_store *q, void *ctx)
{
        names_ctx *c = ctx;
        pg_exec x = PG_EXEC0(c->stmt);

        return pg_rows_exec(q, &x, &c->rows);
}

static int names_list(cw_store *s, pg_stmt_id stmt, char ***ret, size_t *ret_n)
{
        names_ctx c = {stmt, {.size = sizeof(char *), .read = name_row, .release = name_release}};
        int r = pg_read(pg_of(s), names_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int pg_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, PS_JOBS_DISABLED, ret, ret_n);
}

int pg_jobs_failing(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, PS_JOBS_FAILING, ret, ret_n);
}
