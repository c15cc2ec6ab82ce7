/* runs.c - runs and their output in the SQLite backend (store.h, "runs"
 * and "live output"; sqlite_internal.h): recording a run from its start
 * to its end, the compare-and-set transitions, reading runs and their
 * output, listing them through one statement variant per filter
 * combination, and pruning old ones by batches.
 *
 * Every change of a run's status also updates the per-job aggregates in
 * the same transaction (stats.c, sq_stats_change). */
#include "store/sqlite/sqlite_internal.h"
#include "base/array.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a row of RUN_COLS into *ret (all or nothing). */
static int read_run(sqlite3_stmt *st, cw_run *ret)
{
        cw_run r = {0};
        const char *status = (const char *)sqlite3_column_text(st, 4);
        const char *trigger = (const char *)sqlite3_column_text(st, 5);
        const char *resume = (const char *)sqlite3_column_text(st, 21);
        int e;

        /* A name this code does not know means a newer or damaged file. */
        if (cw_run_status_from_string(status, &r.status) < 0 ||
            cw_trigger_from_string(trigger, &r.trigger) < 0 ||
            cw_resume_state_from_string(resume, &r.resume) < 0)
                return -EIO;
        r.id = sqlite3_column_int64(st, 0);
        r.attempt = sqlite3_column_int(st, 6);
        r.scheduled_at = sqlite3_column_int64(st, 7);
        r.started_us = sqlite3_column_int64(st, 8);
        r.ended_us = sqlite3_column_int64(st, 9);
        r.worker_pid = sqlite3_column_int(st, 10);
        r.pid = sqlite3_column_int(st, 11);
        r.pid_start = (uint64_t)sqlite3_column_int64(st, 12);
        r.exit_code = sqlite3_column_int(st, 13);
        r.signal = sqlite3_column_int(st, 14);
        r.progress_done = sqlite3_column_int64(st, 15);
        r.progress_total = sqlite3_column_int64(st, 16);
        r.output_size = (uint64_t)sqlite3_column_int64(st, 17);
        r.output_truncated = sqlite3_column_int(st, 18) != 0;
        r.resumed_from = sqlite3_column_int64(st, 22);
        e = sq_dup_text(st, 1, &r.job);
        if (e == 0)
                e = sq_dup_text(st, 2, &r.spec);
        if (e == 0)
                e = sq_dup_text(st, 3, &r.node);
        if (e == 0)
                e = sq_dup_text(st, 19, &r.reason);
        if (e == 0)
                e = sq_dup_text(st, 20, &r.lock_key);
        if (e == 0 && (!r.job || !r.spec))
                e = -EIO;
        if (e < 0) {
                cw_run_release(&r);
                return e;
        }
        *ret = r;
        return 0;
}

int sq_run_row(sqlite3_stmt *st, void *run)
{
        return read_run(st, run);
}

void sq_run_row_release(void *run)
{
        cw_run_release(run);
}

/* Compare-and-set of one column: after the conditional UPDATE x, 0 when
 * it changed the run; otherwise tell a stale `from` apart from a missing
 * run. */
static int cas_result(sq_store *q, const sq_exec *x, int64_t id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e, rc;

        if (x->changes > 0)
                return 0;
        e = sq_stmt(q, ST_RUN_EXISTS, &st);
        if (e < 0)
                return e;
        e = sqlite3_bind_int64(st, 1, id);
        if (e != SQLITE_OK)
                return sq_errno(q->db, e);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return -ESTALE;
        if (rc == SQLITE_DONE)
                return -ENOENT;
        return sq_errno(q->db, rc);
}

/* ---- recording ------------------------------------------------------------ */

static int insert_txn(sq_store *q, void *ctx)
{
        cw_run *r = ctx; /* r->id is this attempt's; set only on commit */
        sq_exec x = SQ_EXEC(ST_RUN_INSERT, SQ_TEXT(r->job), SQ_TEXT(r->spec), SQ_TEXT(r->node),
                            SQ_TEXT(cw_run_status_to_string(r->status)),
                            SQ_TEXT(cw_trigger_to_string(r->trigger)), SQ_INT(r->attempt),
                            SQ_INT(r->scheduled_at), SQ_INT(r->started_us), SQ_INT(r->ended_us),
                            SQ_INT(r->worker_pid), SQ_INT(r->pid), SQ_INT(r->pid_start),
                            SQ_INT(r->exit_code), SQ_INT(r->signal), SQ_INT(r->progress_done),
                            SQ_INT(r->progress_total), SQ_INT(r->output_size),
                            SQ_INT(r->output_truncated), SQ_TEXT(r->reason), SQ_TEXT(r->lock_key),
                            SQ_TEXT(cw_resume_state_to_string(r->resume)), SQ_INT(r->resumed_from));
        int e = sq_exec_run(q, &x);

        if (e < 0)
                return e;
        r->id = x.rowid;
        e = sq_stats_change(q, r->job, r->id, -1, r->status, r->started_us, r->ended_us);
        /* Lateness: a scheduled fire's start, measured once, when it starts
         * (running) or is handed to the daemon's spawner (queued, started_us
         * then being the hand-over instant). */
        if (e == 0 && (r->status == CW_RUN_RUNNING || r->status == CW_RUN_QUEUED) &&
            r->trigger == CW_TRIGGER_SCHEDULE && r->scheduled_at > 0)
                e = sq_observe(q, "lateness", "", cw_store_lateness_bounds,
                               CW_STORE_LATENESS_BUCKETS,
                               r->started_us > r->scheduled_at * 1000000
                                       ? (double)(r->started_us - r->scheduled_at * 1000000) / 1e6
                                       : 0.0);
        return e;
}

int sq_run_insert(cw_store *s, cw_run *run)
{
        cw_run c = *run; /* a copy: a rolled-back attempt leaves run->id alone */
        int r = sq_write(sq_of(s), insert_txn, &c);

        if (r == 0)
                run->id = c.id;
        return r;
}

/* An UPDATE of one run by id: -ENOENT when no row matched. */
static int update_one(sq_store *q, sq_exec *x)
{
        int r = sq_exec_write(q, x);

        return r == 0 && x->changes == 0 ? -ENOENT : r;
}

int sq_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start)
{
        sq_exec x = SQ_EXEC(ST_RUN_SET_PID, SQ_INT(id), SQ_INT(pid), SQ_INT(pid_start));

        return update_one(sq_of(s), &x);
}

int sq_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total)
{
        sq_exec x = SQ_EXEC(ST_RUN_PROGRESS, SQ_INT(id), SQ_INT(done), SQ_INT(total));

        return update_one(sq_of(s), &x);
}

/* A compare-and-set UPDATE x of run id as a transaction callback. */
typedef struct cas_ctx {
        sq_exec x;
        int64_t id;
} cas_ctx;

static int cas_txn(sq_store *q, void *ctx)
{
        cas_ctx *c = ctx;
        int e = sq_exec_run(q, &c->x);

        return e < 0 ? e : cas_result(q, &c->x, c->id);
}

int sq_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start)
{
        cas_ctx c = {SQ_EXEC(ST_RUN_STARTED, SQ_INT(id), SQ_INT(worker_pid), SQ_INT(pid),
                             SQ_INT(pid_start)),
                     id};

        return sq_write(sq_of(s), cas_txn, &c);
}

int sq_run_requeued(cw_store *s, int64_t id, int64_t started_us)
{
        cas_ctx c = {SQ_EXEC(ST_RUN_REQUEUED, SQ_INT(id), SQ_INT(started_us)), id};

        return sq_write(sq_of(s), cas_txn, &c);
}

int sq_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to)
{
        cas_ctx c = {SQ_EXEC(ST_RUN_SET_RESUME, SQ_INT(id),
                             SQ_TEXT(cw_resume_state_to_string(from)),
                             SQ_TEXT(cw_resume_state_to_string(to))),
                     id};

        return sq_write(sq_of(s), cas_txn, &c);
}

/* Run id's stored output: len bytes, or no row when len is 0. */
static int output_put(sq_store *q, int64_t id, const void *output, size_t len)
{
        sq_exec set = SQ_EXEC(ST_OUTPUT_SET, SQ_INT(id), SQ_BLOB(output, len));
        sq_exec del = SQ_EXEC(ST_OUTPUT_DELETE, SQ_INT(id));

        return sq_exec_run(q, len > 0 ? &set : &del);
}

typedef struct finish_ctx {
        const cw_run *run;
        const void *output;
        size_t len;
} finish_ctx;

static int finish_txn(sq_store *q, void *ctx)
{
        finish_ctx *c = ctx;
        const cw_run *r = c->run;
        _cleanup_free_ char *job = NULL;
        sq_run_brief before = {0};
        sq_exec x =
                SQ_EXEC(ST_RUN_FINISH, SQ_INT(r->id), SQ_TEXT(cw_run_status_to_string(r->status)),
                        SQ_INT(r->exit_code), SQ_INT(r->signal), SQ_INT(r->ended_us),
                        SQ_INT(r->output_size), SQ_INT(r->output_truncated), SQ_TEXT(r->reason));
        int e = sq_run_brief_read(q, r->id, &before);

        job = before.job;
        if (e == 0)
                e = sq_stats_change(q, job, r->id, (int)before.status, r->status, before.started_us,
                                    r->ended_us);
        if (e == 0)
                e = sq_exec_run(q, &x);
        if (e == 0 && x.changes == 0)
                return -ENOENT;
        if (e < 0)
                return e;

        /* Empty output is no row (run_output also says NULL for it). */
        return output_put(q, r->id, c->output, c->len);
}

int sq_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len)
{
        finish_ctx c = {run, output, len};

        return sq_write(sq_of(s), finish_txn, &c);
}

typedef struct transition_ctx {
        int64_t id;
        cw_run_status from, to;
        const char *reason;
        int64_t ended_us;
} transition_ctx;

static int transition_txn(sq_store *q, void *ctx)
{
        transition_ctx *c = ctx;
        _cleanup_free_ char *job = NULL;
        sq_run_brief after = {0};
        sq_exec x = SQ_EXEC(
                ST_RUN_TRANSITION, SQ_INT(c->id), SQ_TEXT(cw_run_status_to_string(c->from)),
                SQ_TEXT(cw_run_status_to_string(c->to)), SQ_TEXT(c->reason), SQ_INT(c->ended_us));
        int e = sq_exec_run(q, &x);

        if (e < 0 || x.changes == 0)
                return e < 0 ? e : cas_result(q, &x, c->id);
        /* Read back after the change: the same row, now with `to`. */
        e = sq_run_brief_read(q, c->id, &after);
        job = after.job;
        if (e == 0)
                e = sq_stats_change(q, job, c->id, (int)c->from, c->to, after.started_us,
                                    c->ended_us);
        return e;
}

int sq_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                      const char *reason, int64_t now_us)
{
        /* An active status has no end; a final one ends now. */
        transition_ctx c = {id, from, to, reason, cw_run_status_is_final(to) ? now_us : 0};

        return sq_write(sq_of(s), transition_txn, &c);
}

/* ---- reading -------------------------------------------------------------- */

int sq_run_get(cw_store *s, int64_t id, cw_run *ret)
{
        return sq_read_id(sq_of(s), ST_RUN_GET, id, sq_run_row, ret);
}

/* A copy of blob column col into *ret (NULL and 0 when empty). One spare
 * byte: a NUL after the data, not counted in *ret_len, so callers may
 * treat text output as a C string. */
static int copy_blob(sqlite3_stmt *st, int col, void **ret, size_t *ret_len)
{
        const void *p = sqlite3_column_blob(st, col);
        int n = sqlite3_column_bytes(st, col);
        char *data;

        *ret = NULL;
        *ret_len = 0;
        if (!p || n <= 0)
                /* NULL with a non-zero size would be SQLite out of memory. */
                return n > 0 ? -ENOMEM : 0;
        data = malloc((size_t)n + 1);
        if (!data)
                return -ENOMEM;
        memcpy(data, p, (size_t)n);
        data[n] = '\0';
        *ret = data;
        *ret_len = (size_t)n;
        return 0;
}

/* ST_RUN_OUTPUT_GET's row: status, size, truncated, output. */
static int output_row(sqlite3_stmt *st, void *ctx)
{
        cw_run_output *o = ctx;
        const unsigned char *status = sqlite3_column_text(st, 0);

        if (!status || cw_run_status_from_string((const char *)status, &o->status) < 0)
                return -EIO;
        o->size = (uint64_t)sqlite3_column_int64(st, 1);
        o->truncated = sqlite3_column_int(st, 2) != 0;
        return copy_blob(st, 3, &o->data, &o->len);
}

/* ST_RUN_OUTPUT's row: the output alone. */
static int output_only_row(sqlite3_stmt *st, void *ctx)
{
        cw_run_output *o = ctx;

        return copy_blob(st, 0, &o->data, &o->len);
}

int sq_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len)
{
        cw_run_output o = {0};
        int r = sq_read_id(sq_of(s), ST_RUN_OUTPUT, id, output_only_row, &o);

        if (r == 0) {
                *ret = o.data;
                *ret_len = o.len;
        }
        return r;
}

int sq_run_output_get(cw_store *s, int64_t id, cw_run_output *ret)
{
        cw_run_output o = {0};
        int r = sq_read_id(sq_of(s), ST_RUN_OUTPUT_GET, id, output_row, &o);

        if (r == 0)
                *ret = o;
        return r;
}

/* ---- live output ---------------------------------------------------------- */

typedef struct snapshot_ctx {
        int64_t id;
        uint64_t size;
        bool truncated;
        const void *output;
        size_t len;
} snapshot_ctx;

static int snapshot_txn(sq_store *q, void *ctx)
{
        snapshot_ctx *c = ctx;
        sq_exec x = SQ_EXEC(ST_RUN_OUTPUT_SNAPSHOT, SQ_INT(c->id), SQ_INT(c->size),
                            SQ_INT(c->truncated));
        int e = sq_exec_run(q, &x);

        if (e == 0)
                e = cas_result(q, &x, c->id);
        if (e < 0)
                return e;
        return output_put(q, c->id, c->output, c->len);
}

/* One attempt, with the busy handler off for its duration: whoever holds
 * the write lock, this returns at once. The statements met inside never
 * wait either (they run under the lock this transaction holds). */
int sq_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                           const void *output, size_t len)
{
        sq_store *q = sq_of(s);
        snapshot_ctx c = {id, size, truncated, output, len};
        int r;

        if (q->batch)
                return sq_batch_write(q, snapshot_txn, &c);
        sqlite3_busy_timeout(q->db, 0);
        r = sq_exec_once_stmt(q, ST_BEGIN);
        if (r == 0) {
                r = snapshot_txn(q, &c);
                if (r == 0)
                        r = sq_exec_once_stmt(q, ST_COMMIT);
                if (r < 0)
                        sq_rollback(q);
        }
        sqlite3_busy_timeout(q->db, CW_STORE_BUSY_MS);
        return r;
}

/* ---- listing and pruning -------------------------------------------------- */

/* The text of list variant `v` into buf: constant fragments only, one per
 * filter, so every value stays a bound parameter (?1 job, ?2 status, ?4
 * resume, ?5 before_id, ?6 limit). The active and pending-resume variants
 * name their partial index: without statistics the planner would rather
 * walk a job's whole history than the handful of active runs. */
static void list_sql(unsigned v, char *buf, size_t size)
{
        const char *hint = "";

        if (v & LIST_ACTIVE)
                hint = " INDEXED BY runs_active";
        else if (v & LIST_RESUME_PENDING)
                hint = " INDEXED BY runs_resume";
        snprintf(buf, size, "SELECT %s FROM runs%s WHERE 1%s%s%s%s%s%s ORDER BY id DESC LIMIT ?6",
                 RUN_COLS, hint, v & LIST_JOB ? " AND job = ?1" : "",
                 v & LIST_STATUS ? " AND status = ?2" : "",
                 v & LIST_ACTIVE ? " AND status IN ('queued', 'running')" : "",
                 v & LIST_RESUME ? " AND resume = ?4" : "",
                 v & LIST_RESUME_PENDING ? " AND resume = 'pending'" : "",
                 v & LIST_BEFORE ? " AND id < ?5" : "");
}

static unsigned list_variant(const cw_run_filter *f)
{
        unsigned v = 0;

        if (f->job)
                v |= LIST_JOB;
        if (f->status >= 0)
                v |= LIST_STATUS;
        if (f->active)
                v |= LIST_ACTIVE;
        if (f->resume == CW_RESUME_PENDING)
                v |= LIST_RESUME_PENDING;
        else if (f->resume >= 0)
                v |= LIST_RESUME;
        if (f->before_id > 0)
                v |= LIST_BEFORE;
        return v;
}

/* The prepared list statement for f, bound. */
static int list_stmt(sq_store *q, const cw_run_filter *f, sqlite3_stmt **ret)
{
        unsigned v = list_variant(f);
        sqlite3_stmt *st;
        sq_bind b;

        if (!q->list[v]) {
                char sql[1024];
                int rc;

                list_sql(v, sql, sizeof(sql));
                rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->list[v],
                                        NULL);
                if (rc != SQLITE_OK)
                        return sq_errno(q->db, rc);
        }
        st = q->list[v];
        b = (sq_bind){st, SQLITE_OK};
        if (v & LIST_JOB)
                sq_bind_text(&b, 1, f->job);
        if (v & LIST_STATUS)
                sq_bind_text(&b, 2, cw_run_status_to_string((cw_run_status)f->status));
        if (v & LIST_RESUME)
                sq_bind_text(&b, 4, cw_resume_state_to_string((cw_resume_state)f->resume));
        if (v & LIST_BEFORE)
                sq_bind_i64(&b, 5, f->before_id);
        /* LIMIT -1 is no limit. */
        sq_bind_i64(&b, 6, f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit);
        if (b.rc != SQLITE_OK) {
                sq_stmt_resetp(&st);
                return sq_errno(q->db, b.rc);
        }
        *ret = st;
        return 0;
}

typedef struct list_ctx {
        const cw_run_filter *f;
        sq_rows rows;
} list_ctx;

static int list_read(sq_store *q, void *ctx)
{
        list_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = list_stmt(q, c->f, &st);

        return e < 0 ? e : sq_rows_read(q, st, &c->rows);
}

int sq_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n)
{
        list_ctx c = {f, SQ_RUN_ROWS};
        int r = sq_read(sq_of(s), list_read, &c);

        if (r == 0) {
                *ret = c.rows.items;
                *ret_n = c.rows.n;
        }
        return r;
}

/* One batch per transaction, so workers recording runs meanwhile wait for
 * one batch at most, never for the whole prune. A prune that fails half
 * way has deleted the batches before; running it again finishes the job.
 * The changes counted are the runs rows only, not the cascaded outputs. */
/* Deletes by batches of SQ_PRUNE_BATCH with statement id (?1 before,
 * ?2 the batch), counting the rows. */
static int prune_batches(sq_store *q, stmt_id id, int64_t before, uint64_t *total)
{
        for (;;) {
                sq_exec x = SQ_EXEC(id, SQ_INT(before), SQ_INT(SQ_PRUNE_BATCH));
                int r = sq_exec_write(q, &x);
                if (r < 0)
                        return r;
                if (total)
                        *total += (uint64_t)x.changes;
                if (x.changes < SQ_PRUNE_BATCH)
                        return 0;
        }
}

/* The runs, then what else grows with every fire and request: claims,
 * taken requests, "enabled" job rows (store.h). */
int sq_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        sq_store *q = sq_of(s);
        uint64_t total = 0;
        int r = prune_batches(q, ST_PRUNE, before_us, &total);

        if (r == 0)
                r = prune_batches(q, ST_PRUNE_CLAIMS, before_us / 1000000, NULL);
        if (r == 0)
                r = prune_batches(q, ST_PRUNE_REQUESTS, before_us, NULL);
        if (r == 0) {
                sq_exec x = SQ_EXEC(ST_PRUNE_JOB_STATE);
                r = sq_exec_write(q, &x);
        }
        if (r < 0)
                return r;
        if (ret_deleted)
                *ret_deleted = total;
        return 0;
}

int cw_store_sqlite_list_plan(cw_store *s, const cw_run_filter *f, char **ret)
{
        sq_store *q = sq_of(s);
        char variant[1024], sql[1100], *plan = NULL;
        size_t n = 0, cap = 0;
        sqlite3_stmt *st = NULL;
        int rc, e = 0;

        if (!sq_is_sqlite(s))
                return -EOPNOTSUPP;
        list_sql(list_variant(f), variant, sizeof(variant));
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", variant);
        rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *detail = (const char *)sqlite3_column_text(st, 3);
                size_t len = detail ? strlen(detail) : 0;

                e = cw_array_reserve((void **)&plan, &cap, n + len + 2, 1, 128);
                if (e < 0)
                        break;
                memcpy(plan + n, detail ? detail : "", len);
                n += len;
                plan[n++] = '\n';
                plan[n] = '\0';
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        sqlite3_finalize(st);
        if (e == 0 && !plan)
                plan = strdup("");
        if (e < 0 || !plan) {
                free(plan);
                return e < 0 ? e : -ENOMEM;
        }
        *ret = plan;
        return 0;
}
