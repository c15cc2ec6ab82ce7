/* runs.c - runs and their output in the PostgreSQL backend (store.h,
 * "runs" and "live output"; pg_internal.h): recording a run from its
 * start to its end, the compare-and-set transitions, reading runs and
 * their output, listing them through one prepared statement per filter
 * combination, and pruning old ones by batches.
 *
 * Every change of a run's status also updates the per-job aggregates in
 * the same transaction (stats.c, pg_stats_change), with the run's row
 * locked so two changes of one run are counted one after the other. */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a row of PG_RUN_COLS into *ret (all or nothing). */
static int read_run(const PGresult *res, int row, cw_run *ret)
{
        cw_run r = {0};
        int e;

        /* A name this code does not know means a newer or damaged store. */
        if (cw_run_status_from_string(PQgetvalue(res, row, 4), &r.status) < 0 ||
            cw_trigger_from_string(PQgetvalue(res, row, 5), &r.trigger) < 0 ||
            cw_resume_state_from_string(PQgetvalue(res, row, 21), &r.resume) < 0)
                return -EIO;
        r.id = pg_int(res, row, 0);
        r.attempt = (int)pg_int(res, row, 6);
        r.scheduled_at = pg_int(res, row, 7);
        r.started_us = pg_int(res, row, 8);
        r.ended_us = pg_int(res, row, 9);
        r.worker_pid = (int)pg_int(res, row, 10);
        r.pid = (int)pg_int(res, row, 11);
        r.pid_start = (uint64_t)pg_int(res, row, 12);
        r.exit_code = (int)pg_int(res, row, 13);
        r.signal = (int)pg_int(res, row, 14);
        r.progress_done = pg_int(res, row, 15);
        r.progress_total = pg_int(res, row, 16);
        r.output_size = (uint64_t)pg_int(res, row, 17);
        r.output_truncated = pg_int(res, row, 18) != 0;
        r.resumed_from = pg_int(res, row, 22);
        r.fence = pg_int(res, row, 23);
        e = pg_dup_text(res, row, 1, &r.job);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &r.spec);
        if (e == 0)
                e = pg_dup_text(res, row, 3, &r.node);
        if (e == 0)
                e = pg_dup_text(res, row, 19, &r.reason);
        if (e == 0)
                e = pg_dup_text(res, row, 20, &r.lock_key);
        if (e == 0 && (!r.job || !r.spec))
                e = -EIO;
        if (e < 0) {
                cw_run_release(&r);
                return e;
        }
        *ret = r;
        return 0;
}

int pg_run_row(const PGresult *res, int row, void *run)
{
        return read_run(res, row, run);
}

void pg_run_row_release(void *run)
{
        cw_run_release(run);
}

/* After a compare-and-set UPDATE x: 0 when it changed the run; otherwise
 * tell a stale `from` (-ESTALE) apart from a missing run (-ENOENT). */
static int cas_result(pg_store *q, const pg_exec *x, int64_t id)
{
        pg_exec ex = PG_EXEC(PS_RUN_EXISTS, PG_INT(id));
        int e;

        if (x->changes > 0)
                return 0;
        e = pg_exec_run(q, &ex);
        if (e < 0)
                return e;
        return ex.changes > 0 ? -ESTALE : -ENOENT;
}

/* ---- recording -------------------------------------------------------------- */

static int insert_txn(pg_store *q, void *ctx)
{
        cw_run *r = ctx; /* r->id is this attempt's; set only on commit */
        pg_exec x = PG_EXEC(PS_RUN_INSERT, PG_TEXT(r->job), PG_TEXT(r->spec), PG_TEXT(r->node),
                            PG_TEXT(cw_run_status_to_string(r->status)),
                            PG_TEXT(cw_trigger_to_string(r->trigger)), PG_INT(r->attempt),
                            PG_INT(r->scheduled_at), PG_INT(r->started_us), PG_INT(r->ended_us),
                            PG_INT(r->worker_pid), PG_INT(r->pid), PG_INT(r->pid_start),
                            PG_INT(r->exit_code), PG_INT(r->signal), PG_INT(r->progress_done),
                            PG_INT(r->progress_total), PG_INT(r->output_size),
                            PG_INT(r->output_truncated), PG_TEXT(r->reason), PG_TEXT(r->lock_key),
                            PG_TEXT(cw_resume_state_to_string(r->resume)), PG_INT(r->resumed_from),
                            PG_INT(r->fence));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e < 0)
                return e;
        r->id = PQntuples(x.res) == 1 ? pg_int(x.res, 0, 0) : 0;
        r->fence = PQntuples(x.res) == 1 ? pg_int(x.res, 0, 1) : 0;
        pg_exec_release(&x);
        if (r->id <= 0)
                return -EIO;
        e = pg_stats_change(q, r->job, r->id, -1, r->status, r->started_us, r->ended_us);
        /* Lateness: a scheduled fire's start, measured once, when it starts
         * (running) or is handed to the daemon's spawner (queued). */
        if (e == 0 && (r->status == CW_RUN_RUNNING || r->status == CW_RUN_QUEUED) &&
            r->trigger == CW_TRIGGER_SCHEDULE && r->scheduled_at > 0)
                e = pg_observe(q, "lateness", "", cw_store_lateness_bounds,
                               CW_STORE_LATENESS_BUCKETS,
                               r->started_us > r->scheduled_at * 1000000
                                       ? (double)(r->started_us - r->scheduled_at * 1000000) / 1e6
                                       : 0.0);
        return e;
}

int pg_run_insert(cw_store *s, cw_run *run)
{
        cw_run c = *run; /* a copy: a rolled-back attempt leaves run->id alone */
        int r = pg_write(pg_of(s), insert_txn, &c);

        if (r == 0) {
                run->id = c.id;
                run->fence = c.fence;
        }
        return r;
}

/* An UPDATE of one run by id: -ENOENT when no row matched. */
static int update_one(pg_store *q, pg_exec *x)
{
        int r = pg_exec_write(q, x);

        return r == 0 && x->changes == 0 ? -ENOENT : r;
}

typedef struct cas_ctx {
        pg_exec x;
        int64_t id;
} cas_ctx;

static int cas_txn(pg_store *q, void *ctx)
{
        cas_ctx *c = ctx;
        int e = pg_exec_run(q, &c->x);

        return e < 0 ? e : cas_result(q, &c->x, c->id);
}

/* The writes of a run whose store carries its fencing token (locks.c) are
 * compare-and-sets: -ESTALE once the run is no longer running with it. */
int pg_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start)
{
        pg_store *q = pg_of(s);
        int64_t fence = pg_fence_of(q, id);
        pg_exec x = PG_EXEC(PS_RUN_SET_PID, PG_INT(id), PG_INT(pid), PG_INT(pid_start));
        cas_ctx c = {PG_EXEC(PS_RUN_SET_PID_F, PG_INT(id), PG_INT(pid), PG_INT(pid_start),
                             PG_INT(fence)),
                     id};

        return fence ? pg_write(q, cas_txn, &c) : update_one(q, &x);
}

int pg_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total)
{
        pg_store *q = pg_of(s);
        int64_t fence = pg_fence_of(q, id);
        pg_exec x = PG_EXEC(PS_RUN_PROGRESS, PG_INT(id), PG_INT(done), PG_INT(total));
        cas_ctx c = {
                PG_EXEC(PS_RUN_PROGRESS_F, PG_INT(id), PG_INT(done), PG_INT(total), PG_INT(fence)),
                id};

        return fence ? pg_write(q, cas_txn, &c) : update_one(q, &x);
}

int pg_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start)
{
        pg_store *q = pg_of(s);
        int64_t fence = pg_fence_of(q, id);
        cas_ctx c = {PG_EXEC(PS_RUN_STARTED, PG_INT(id), PG_INT(worker_pid), PG_INT(pid),
                             PG_INT(pid_start)),
                     id};
        cas_ctx f = {PG_EXEC(PS_RUN_STARTED_F, PG_INT(id), PG_INT(worker_pid), PG_INT(pid),
                             PG_INT(pid_start), PG_INT(fence)),
                     id};

        return pg_write(q, cas_txn, fence ? &f : &c);
}

int pg_run_requeued(cw_store *s, int64_t id, int64_t started_us)
{
        cas_ctx c = {PG_EXEC(PS_RUN_REQUEUED, PG_INT(id), PG_INT(started_us)), id};

        return pg_write(pg_of(s), cas_txn, &c);
}

int pg_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to)
{
        cas_ctx c = {PG_EXEC(PS_RUN_SET_RESUME, PG_INT(id),
                             PG_TEXT(cw_resume_state_to_string(from)),
                             PG_TEXT(cw_resume_state_to_string(to))),
                     id};

        return pg_write(pg_of(s), cas_txn, &c);
}

/* Run id's stored output: len bytes, or no row when len is 0. */
static int output_put(pg_store *q, int64_t id, const void *output, size_t len)
{
        pg_exec set = PG_EXEC(PS_OUTPUT_SET, PG_INT(id), PG_BLOB(output, len));
        pg_exec del = PG_EXEC(PS_OUTPUT_DELETE, PG_INT(id));

        return pg_exec_run(q, len > 0 ? &set : &del);
}

typedef struct finish_ctx {
        const cw_run *run;
        const void *output;
        size_t len;
} finish_ctx;

static int finish_txn(pg_store *q, void *ctx)
{
        finish_ctx *c = ctx;
        const cw_run *r = c->run;
        _cleanup_free_ char *job = NULL;
        pg_run_brief before = {0};
        int64_t fence = r->fence > 0 ? r->fence : pg_fence_of(q, r->id);
        pg_exec x =
                PG_EXEC(PS_RUN_FINISH, PG_INT(r->id), PG_TEXT(cw_run_status_to_string(r->status)),
                        PG_INT(r->exit_code), PG_INT(r->signal), PG_INT(r->ended_us),
                        PG_INT(r->output_size), PG_INT(r->output_truncated), PG_TEXT(r->reason));
        pg_exec held = PG_EXEC(PS_RUN_FENCE_LOCK, PG_INT(r->id), PG_INT(fence));
        int e;

        /* With a token: only while the run is running with it (a cluster
         * that recorded it lost, or gave its lock to another run, has the
         * last word). The row stays locked to the end of the transaction. */
        if (fence > 0) {
                e = pg_exec_run(q, &held);
                if (e == 0 && held.changes == 0)
                        e = cas_result(q, &held, r->id);
                if (e < 0)
                        return e;
        }
        e = pg_run_brief_read(q, r->id, &before);

        job = before.job;
        if (e == 0)
                e = pg_stats_change(q, job, r->id, (int)before.status, r->status, before.started_us,
                                    r->ended_us);
        if (e == 0)
                e = pg_exec_run(q, &x);
        if (e == 0 && x.changes == 0)
                return -ENOENT;
        if (e < 0)
                return e;
        return output_put(q, r->id, c->output, c->len);
}

int pg_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len)
{
        finish_ctx c = {run, output, len};

        return pg_write(pg_of(s), finish_txn, &c);
}

typedef struct transition_ctx {
        int64_t id;
        cw_run_status from, to;
        const char *reason;
        int64_t ended_us;
} transition_ctx;

static int transition_txn(pg_store *q, void *ctx)
{
        transition_ctx *c = ctx;
        _cleanup_free_ char *job = NULL;
        pg_run_brief after = {0};
        pg_exec x = PG_EXEC(
                PS_RUN_TRANSITION, PG_INT(c->id), PG_TEXT(cw_run_status_to_string(c->from)),
                PG_TEXT(cw_run_status_to_string(c->to)), PG_TEXT(c->reason), PG_INT(c->ended_us));
        int e = pg_exec_run(q, &x);

        if (e < 0 || x.changes == 0)
                return e < 0 ? e : cas_result(q, &x, c->id);
        /* The UPDATE holds the row: read back the same row, now `to`. */
        e = pg_run_brief_read(q, c->id, &after);
        job = after.job;
        if (e == 0)
                e = pg_stats_change(q, job, c->id, (int)c->from, c->to, after.started_us,
                                    c->ended_us);
        return e;
}

int pg_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                      const char *reason, int64_t now_us)
{
        transition_ctx c = {id, from, to, reason, cw_run_status_is_final(to) ? now_us : 0};

        return pg_write(pg_of(s), transition_txn, &c);
}

/* ---- reading ---------------------------------------------------------------- */

/* A one-row read by id: row(res, 0, out) fills out; -ENOENT without one. */
typedef struct id_ctx {
        pg_stmt_id stmt;
        int64_t id;
        int (*row)(const PGresult *res, int row, void *out);
        void *out;
} id_ctx;

static int id_read(pg_store *q, void *ctx)
{
        id_ctx *c = ctx;
        pg_exec x = PG_EXEC(c->stmt, PG_INT(c->id));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                e = PQntuples(x.res) == 0 ? -ENOENT : c->row(x.res, 0, c->out);
        pg_exec_release(&x);
        return e;
}

static int read_id(pg_store *q, pg_stmt_id stmt, int64_t id,
                   int (*row)(const PGresult *, int, void *), void *out)
{
        id_ctx c = {stmt, id, row, out};

        return pg_read(q, id_read, &c);
}

int pg_run_get(cw_store *s, int64_t id, cw_run *ret)
{
        return read_id(pg_of(s), PS_RUN_GET, id, pg_run_row, ret);
}

/* PS_RUN_OUTPUT_GET's row: status, size, truncated, output. */
static int output_row(const PGresult *res, int row, void *ctx)
{
        cw_run_output *o = ctx;

        if (cw_run_status_from_string(PQgetvalue(res, row, 0), &o->status) < 0)
                return -EIO;
        o->size = (uint64_t)pg_int(res, row, 1);
        o->truncated = pg_int(res, row, 2) != 0;
        return pg_dup_bytea(res, row, 3, &o->data, &o->len);
}

static int output_only_row(const PGresult *res, int row, void *ctx)
{
        cw_run_output *o = ctx;

        return pg_dup_bytea(res, row, 0, &o->data, &o->len);
}

int pg_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len)
{
        cw_run_output o = {0};
        int r = read_id(pg_of(s), PS_RUN_OUTPUT, id, output_only_row, &o);

        if (r == 0) {
                *ret = o.data;
                *ret_len = o.len;
        }
        return r;
}

int pg_run_output_get(cw_store *s, int64_t id, cw_run_output *ret)
{
        cw_run_output o = {0};
        int r = read_id(pg_of(s), PS_RUN_OUTPUT_GET, id, output_row, &o);

        if (r == 0)
                *ret = o;
        return r;
}

/* ---- live output ------------------------------------------------------------ */

typedef struct snapshot_ctx {
        int64_t id;
        uint64_t size;
        bool truncated;
        const void *output;
        size_t len;
} snapshot_ctx;

/* The run's row is locked NOWAIT first: a finish or transition holding it
 * makes the snapshot give up at once (-EBUSY) instead of waiting. */
static int snapshot_txn(pg_store *q, void *ctx)
{
        snapshot_ctx *c = ctx;
        pg_exec lock = PG_EXEC(PS_RUN_LOCK_NOWAIT, PG_INT(c->id));
        int64_t fence = pg_fence_of(q, c->id);
        pg_exec x = fence ? PG_EXEC(PS_RUN_OUTPUT_SNAPSHOT_F, PG_INT(c->id), PG_INT(c->size),
                                    PG_INT(c->truncated), PG_INT(fence))
                          : PG_EXEC(PS_RUN_OUTPUT_SNAPSHOT, PG_INT(c->id), PG_INT(c->size),
                                    PG_INT(c->truncated));
        int e = pg_exec_run(q, &lock);

        if (e == 0 && lock.changes == 0)
                return -ENOENT;
        if (e == 0)
                e = pg_exec_run(q, &x);
        if (e == 0)
                e = cas_result(q, &x, c->id);
        if (e < 0)
                return e;
        return output_put(q, c->id, c->output, c->len);
}

/* One attempt, never a retry: a busy run or a lost connection is -EBUSY
 * or -ECONNRESET at once, and the worker tries again later. */
int pg_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                           const void *output, size_t len)
{
        snapshot_ctx c = {id, size, truncated, output, len};

        return pg_write_once(pg_of(s), snapshot_txn, &c);
}

/* ---- listing and pruning ---------------------------------------------------- */

void pg_list_sql(unsigned v, char *buf, size_t size)
{
        snprintf(buf, size, "SELECT %s FROM runs WHERE true%s%s%s%s%s ORDER BY id DESC LIMIT $6",
                 PG_RUN_COLS, v & PL_JOB ? " AND job = $1" : "",
                 v & PL_STATUS ? " AND status = $2" : "",
                 v & PL_ACTIVE ? " AND status IN ('queued', 'running')" : "",
                 v & PL_RESUME ? " AND resume = $4" : "", v & PL_BEFORE ? " AND id < $5" : "");
}

static unsigned list_variant(const cw_run_filter *f)
{
        return (f->job ? PL_JOB : 0) | (f->status >= 0 ? PL_STATUS : 0) |
               (f->active ? PL_ACTIVE : 0) | (f->resume >= 0 ? PL_RESUME : 0) |
               (f->before_id > 0 ? PL_BEFORE : 0);
}

typedef struct list_ctx {
        const cw_run_filter *f;
        pg_rows rows;
} list_ctx;

/* Parameters are numbered as in pg_list_sql; those a variant does not use
 * are still sent (as NULL), since a prepared statement's parameters are
 * positional. */
static int list_read(pg_store *q, void *ctx)
{
        list_ctx *c = ctx;
        const cw_run_filter *f = c->f;
        unsigned v = list_variant(f);
        /* LIMIT NULL is no limit. $3 is unused: it keeps SQLite's numbering. */
        pg_val limit = f->limit == 0 || f->limit > INT64_MAX ? PG_TEXT(NULL) : PG_INT(f->limit);
        pg_exec x = PG_EXEC(
                PG_LIST_STMT(v), PG_TEXT(f->job),
                PG_TEXT(f->status >= 0 ? cw_run_status_to_string((cw_run_status)f->status) : NULL),
                PG_TEXT(NULL),
                PG_TEXT(f->resume >= 0 ? cw_resume_state_to_string((cw_resume_state)f->resume)
                                       : NULL),
                PG_INT(f->before_id), limit);

        return pg_rows_exec(q, &x, &c->rows);
}

int pg_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n)
{
        list_ctx c = {f, PG_RUN_ROWS};
        int r = pg_read(pg_of(s), list_read, &c);

        if (r == 0) {
                *ret = c.rows.items;
                *ret_n = c.rows.n;
        }
        return r;
}

/* Deletes by batches of PG_PRUNE_BATCH with statement id ($1 before, $2
 * the batch), one batch per transaction, so writers meanwhile never wait
 * for the whole prune; counts the rows. A prune that fails half way has
 * deleted the batches before; running it again finishes the job. */
static int prune_batches(pg_store *q, pg_stmt_id id, int64_t before, uint64_t *total)
{
        for (;;) {
                pg_exec x = PG_EXEC(id, PG_INT(before), PG_INT(PG_PRUNE_BATCH));
                int r = pg_exec_write(q, &x);
                if (r < 0)
                        return r;
                if (total)
                        *total += (uint64_t)x.changes;
                if (x.changes < PG_PRUNE_BATCH)
                        return 0;
        }
}

/* The runs (their output goes by cascade), then what else grows with
 * every fire and request: claims, taken requests, "enabled" job rows
 * (store.h), as in the SQLite backend. */
int pg_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        pg_store *q = pg_of(s);
        uint64_t total = 0;
        int r = prune_batches(q, PS_PRUNE, before_us, &total);

        if (r == 0)
                r = prune_batches(q, PS_PRUNE_CLAIMS, before_us / 1000000, NULL);
        if (r == 0)
                r = prune_batches(q, PS_PRUNE_REQUESTS, before_us, NULL);
        if (r == 0) {
                pg_exec x = PG_EXEC0(PS_PRUNE_JOB_STATE);
                r = pg_exec_write(q, &x);
        }
        if (r < 0)
                return r;
        if (ret_deleted)
                *ret_deleted = total;
        return 0;
}
