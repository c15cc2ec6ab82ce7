/* conn.c - the SQLite backend's connection layer (sqlite_internal.h):
 * the statements' SQL, SQLite's result codes as errnos, the bounded busy
 * retries, cached statements and their bindings, and the transactions
 * every operation runs in (one write, one read, or a batch of writes).
 *
 * Most operations are one statement with its parameters; sq_exec_run and
 * sq_exec_write run one from a table of values (sq_exec), so an operation
 * need not write its own context struct and transaction callback. */
#include "store/sqlite/sqlite_internal.h"
#include "base/array.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- statements ----------------------------------------------------------- */

static const char *const stmt_sql[ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_SAVEPOINT] = "SAVEPOINT w",
        [ST_RELEASE] = "RELEASE w",
        [ST_ROLLBACK_TO] = "ROLLBACK TO w",
        [ST_RUN_INSERT] =
                "INSERT INTO runs (job, spec, node, status, trigger, attempt, scheduled_at, "
                "started_us, ended_us, worker_pid, pid, pid_start, exit_code, signal, progress_done, "
                "progress_total, output_size, output_truncated, reason, lock_key, resume, "
                "resumed_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        [ST_RUN_SET_PID] = "UPDATE runs SET pid = ?2, pid_start = ?3 WHERE id = ?1",
        [ST_RUN_STARTED] =
                "UPDATE runs SET status = 'running', ended_us = 0, worker_pid = ?2, pid = ?3, "
                "pid_start = ?4 WHERE id = ?1 AND status IN ('queued', 'running', 'lost')",
        [ST_RUN_REQUEUED] = "UPDATE runs SET started_us = ?2 WHERE id = ?1 AND status = 'queued'",
        [ST_RUN_PROGRESS] = "UPDATE runs SET progress_done = ?2, progress_total = ?3 WHERE id = ?1",
        [ST_RUN_FINISH] =
                "UPDATE runs SET status = ?2, exit_code = ?3, signal = ?4, ended_us = ?5, "
                "output_size = ?6, output_truncated = ?7, reason = ?8 WHERE id = ?1",
        [ST_OUTPUT_SET] = "INSERT INTO run_output (run_id, output) VALUES (?1, ?2) "
                          "ON CONFLICT (run_id) DO UPDATE SET output = excluded.output",
        [ST_OUTPUT_DELETE] = "DELETE FROM run_output WHERE run_id = ?1",
        /* A NULL reason keeps the one the run has (e.g. why it was killed). */
        [ST_RUN_TRANSITION] = "UPDATE runs SET status = ?3, reason = coalesce(?4, reason), "
                              "ended_us = ?5 WHERE id = ?1 AND status = ?2",
        [ST_RUN_SET_RESUME] = "UPDATE runs SET resume = ?3 WHERE id = ?1 AND resume = ?2",
        [ST_RUN_EXISTS] = "SELECT 1 FROM runs WHERE id = ?1",
        [ST_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
        [ST_RUN_OUTPUT] = "SELECT o.output FROM runs r LEFT JOIN run_output o ON o.run_id = r.id "
                          "WHERE r.id = ?1",
        /* Live output: only while running, so a late snapshot can never
         * replace a final record. */
        [ST_RUN_OUTPUT_SNAPSHOT] = "UPDATE runs SET output_size = ?2, output_truncated = ?3 "
                                   "WHERE id = ?1 AND status = 'running'",
        [ST_RUN_OUTPUT_GET] =
                "SELECT r.status, r.output_size, r.output_truncated, o.output FROM runs r "
                "LEFT JOIN run_output o ON o.run_id = r.id WHERE r.id = ?1",
        /* By batches through runs_started; run_output rows go by cascade. */
        [ST_PRUNE] = "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE started_us < ?1 "
                     "AND status NOT IN ('queued', 'running') LIMIT ?2)",
        /* Claims of fires before ?1 (seconds) and a day before the last
         * pass: no pass looks at them again (last_pass never moves back;
         * the day covers a slow pass that read an older one). */
        [ST_PRUNE_CLAIMS] =
                "DELETE FROM claims WHERE rowid IN (SELECT rowid FROM claims WHERE scheduled_at < "
                "min(?1, coalesce((SELECT CAST(value AS INTEGER) FROM scheduler_state "
                "WHERE key = 'last_pass'), 0) - 86400) LIMIT ?2)",
        /* Requests already taken: their runs are in the history. */
        [ST_PRUNE_REQUESTS] = "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE "
                              "taken = 1 AND requested_us < ?1 LIMIT ?2)",
        /* A job's "enabled" row says what its absence says. */
        [ST_PRUNE_JOB_STATE] = "DELETE FROM job_state WHERE enabled = 1",
        /* Not INSERT OR IGNORE: that would also swallow a NOT NULL violation. */
        [ST_CLAIM] = "INSERT INTO claims (spec, scheduled_at, node, claimed_us) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (spec, scheduled_at) DO NOTHING",
        [ST_STATE_GET] = "SELECT value FROM scheduler_state WHERE key = ?1",
        [ST_STATE_SET] = "INSERT INTO scheduler_state (key, value) VALUES (?1, ?2) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [ST_JOB_GET] = "SELECT enabled FROM job_state WHERE job = ?1",
        [ST_JOB_SET] = "INSERT INTO job_state (job, enabled) VALUES (?1, ?2) "
                       "ON CONFLICT (job) DO UPDATE SET enabled = excluded.enabled",
        [ST_REQUEST_ADD] = "INSERT INTO requests (spec, requested_by, requested_us) "
                           "VALUES (?1, ?2, ?3)",
        [ST_REQUESTS_PENDING] = "SELECT id, spec, requested_by, requested_us FROM requests "
                                "WHERE taken = 0 ORDER BY id LIMIT ?1",
        [ST_REQUEST_TAKE] = "UPDATE requests SET taken = 1 WHERE id = ?1 AND taken = 0",
        /* What sq_stats_change() needs to know about a run before changing it. */
        [ST_RUN_BRIEF] = "SELECT job, status, started_us FROM runs WHERE id = ?1",
        [ST_COUNT_ADD] = "INSERT INTO run_counts (job, status, n) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (job, status) DO UPDATE SET n = n + excluded.n",
        [ST_HIST_ADD] = "INSERT INTO histograms (metric, job, bucket, n) VALUES (?1, ?2, ?3, 1) "
                        "ON CONFLICT (metric, job, bucket) DO UPDATE SET n = n + 1",
        [ST_HIST_SUM_ADD] =
                "INSERT INTO histogram_sums (metric, job, n, sum) VALUES (?1, ?2, 1, ?3) "
                "ON CONFLICT (metric, job) DO UPDATE SET n = n + 1, sum = sum + excluded.sum",
        /* SET expressions see the old row: last_status follows the run
         * that is (or stays) the newest, and so does last_duration_us
         * (?6, -1 for a run that did not run). ?5 is what the change does
         * to the failure streak: -1 resets it (a success), 1 extends it (a
         * failure that was not one already), 0 leaves it; ?7 is a
         * failure's end, else 0. */
        [ST_JOB_STATS_NOTE] =
                "INSERT INTO job_stats (job, last_run_id, last_success_us, last_status, "
                "last_failure_us, last_duration_us, consecutive_failures) "
                "VALUES (?1, ?2, ?3, ?4, ?7, ?6, max(?5, 0)) "
                "ON CONFLICT (job) DO UPDATE SET "
                "last_run_id = max(last_run_id, excluded.last_run_id), "
                "last_success_us = max(last_success_us, excluded.last_success_us), "
                "last_status = CASE WHEN excluded.last_run_id >= last_run_id "
                "THEN excluded.last_status ELSE last_status END, "
                "last_failure_us = max(last_failure_us, excluded.last_failure_us), "
                "last_duration_us = CASE WHEN ?6 >= 0 AND excluded.last_run_id >= last_run_id "
                "THEN ?6 ELSE last_duration_us END, "
                "consecutive_failures = CASE WHEN ?5 < 0 THEN 0 ELSE consecutive_failures + ?5 END",
        [ST_STATS_JOBS] = "SELECT " STATS_COLS " FROM job_stats ORDER BY job",
        [ST_STATS_COUNTS] = "SELECT job, status, n FROM run_counts",
        [ST_STATS_HIST] = "SELECT metric, job, bucket, n FROM histograms",
        [ST_STATS_SUMS] = "SELECT metric, job, n, sum FROM histogram_sums",
        /* The same for one job (?1), and the all-jobs lateness ('' job). */
        [ST_STATS_JOBS_ONE] = "SELECT " STATS_COLS " FROM job_stats WHERE job = ?1",
        [ST_STATS_COUNTS_ONE] = "SELECT job, status, n FROM run_counts WHERE job = ?1",
        [ST_STATS_HIST_ONE] =
                "SELECT metric, job, bucket, n FROM histograms "
                "WHERE (metric = 'duration' AND job = ?1) OR (metric = 'lateness' AND job = '')",
        [ST_STATS_SUMS_ONE] =
                "SELECT metric, job, n, sum FROM histogram_sums "
                "WHERE (metric = 'duration' AND job = ?1) OR (metric = 'lateness' AND job = '')",
        /* The summary: no per-job histogram, the all-jobs ones (job ''). */
        [ST_STATS_HIST_ALL] = "SELECT metric, job, bucket, n FROM histograms WHERE job = ''",
        [ST_STATS_SUMS_ALL] = "SELECT metric, job, n, sum FROM histogram_sums WHERE job = ''",
        [ST_JOBS_LAST] =
                "SELECT " RUN_COLS " FROM runs WHERE id IN (SELECT last_run_id FROM job_stats)",
        /* The statuses of cw_run_status_is_failure (run.h). */
        [ST_JOBS_FAILING] =
                "SELECT job FROM job_stats WHERE last_status IN ('failed', 'timed_out', 'lost') "
                "ORDER BY job",
        [ST_JOB_LAST] = "SELECT " RUN_COLS
                        " FROM runs WHERE id = (SELECT last_run_id FROM job_stats WHERE job = ?1)",
        [ST_JOBS_DISABLED] = "SELECT job FROM job_state WHERE enabled = 0 ORDER BY job",
        [ST_UI_ADD] =
                "INSERT INTO ui_entries (schedule, spec, command, description, enabled, created_by, "
                "created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [ST_UI_UPDATE] =
                "UPDATE ui_entries SET schedule = ?2, spec = ?3, command = ?4, description = ?5, "
                "enabled = ?6, updated_us = ?7 WHERE id = ?1",
        [ST_UI_DELETE] = "DELETE FROM ui_entries WHERE id = ?1",
        [ST_UI_GET] =
                "SELECT id, schedule, spec, command, description, enabled, created_by, created_us, "
                "updated_us FROM ui_entries WHERE id = ?1",
        [ST_UI_LIST] =
                "SELECT id, schedule, spec, command, description, enabled, created_by, created_us, "
                "updated_us FROM ui_entries ORDER BY id",
#define NOTICE_COLS                                                                                \
        "id, run_id, job, event, channel, target, detail, state, attempts, created_us, next_us, "  \
        "lease_us, done_us, result"
        [ST_NOTICE_ADD] =
                "INSERT INTO outbox (run_id, job, event, channel, target, detail, created_us, "
                "next_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [ST_NOTICES_DUE] =
                "SELECT " NOTICE_COLS " FROM outbox WHERE state = 'pending' AND next_us <= ?1 "
                "AND lease_us <= ?1 ORDER BY next_us, id LIMIT ?2",
        [ST_NOTICES_DUE_RUN] =
                "SELECT " NOTICE_COLS " FROM outbox WHERE state = 'pending' "
                "AND next_us <= ?1 AND lease_us <= ?1 AND run_id = ?3 ORDER BY id LIMIT ?2",
        [ST_NOTICE_LEASE] = "UPDATE outbox SET lease_us = ?2 WHERE id = ?1",
        [ST_NOTICE_UPDATE] =
                "UPDATE outbox SET state = ?2, attempts = ?3, next_us = ?4, done_us = ?5, "
                "result = ?6, lease_us = 0 WHERE id = ?1",
        [ST_NOTICES_LIST] = "SELECT " NOTICE_COLS " FROM outbox ORDER BY id DESC LIMIT ?1",
        [ST_NOTICES_PRUNE] = "DELETE FROM outbox WHERE state <> 'pending' AND done_us < ?1",
        [ST_NOTICES_PENDING] = "SELECT " NOTICE_COLS " FROM outbox WHERE state = 'pending' "
                               "ORDER BY id DESC LIMIT ?1",
#undef NOTICE_COLS
};

/* ---- errors --------------------------------------------------------------- */

/* A SQLite result code as a negative errno. SQLITE_BUSY and SQLITE_LOCKED
 * (and the WAL index race SQLITE_PROTOCOL) become -EBUSY, which the retry
 * loops below treat as "try again"; a loop that gives up at its deadline
 * says -ETIMEDOUT instead (sq_gave_up), so a caller never mistakes a busy
 * store for a held job lock. A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB)
 * is -EUCLEAN, which nothing else in the store returns (store.h). */
int sq_errno(sqlite3 *db, int rc)
{
        int sys = db ? sqlite3_system_errno(db) : 0;

        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_PROTOCOL:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CANTOPEN:
                /* SQLite says "cannot open" for all of these; errno knows which. */
                if (sys == ENOENT || sys == EROFS || sys == ENOTDIR || sys == EISDIR)
                        return -sys;
                return -EACCES;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_IOERR:
                if (rc == SQLITE_IOERR_NOMEM)
                        return -ENOMEM;
                if (rc == SQLITE_IOERR_SHORT_READ)
                        return -EUCLEAN;
                return sys == ENOSPC || sys == EDQUOT ? -ENOSPC : -EIO;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CONSTRAINT:
                if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
                        return -EEXIST;
                return -EINVAL;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
        case SQLITE_MISUSE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int sq_gave_up(int r)
{
        return r == -EBUSY ? -ETIMEDOUT : r;
}

bool sq_is_busy(int rc)
{
        rc &= 0xff;
        return rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_PROTOCOL;
}

/* ---- busy retries --------------------------------------------------------- */

/* SQLite has no way to wait for its locks to be released (they are fcntl
 * locks and shared-memory bits), so a busy operation is retried after a
 * bounded, growing pause (sq_deadline, the store's cw_store_deadline): the
 * same thing SQLite's own busy handler does. */

/* ---- statement helpers ---------------------------------------------------- */

/* The cached statement `id`, prepared on first use. */
int sq_stmt(sq_store *q, stmt_id id, sqlite3_stmt **ret)
{
        if (!q->st[id]) {
                int rc = sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                            &q->st[id], NULL);
                if (rc != SQLITE_OK)
                        return sq_errno(q->db, rc);
        }
        *ret = q->st[id];
        return 0;
}

/* Cleanup for a cached statement: reset it and drop its bindings, which
 * may point into the caller's memory (SQLITE_STATIC). */
void sq_stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}

/* Binding accumulates the first error so a statement's parameters can be
 * bound in a row and checked once. */
void sq_bind_i64(sq_bind *b, int i, int64_t v)
{
        if (b->rc == SQLITE_OK)
                b->rc = sqlite3_bind_int64(b->st, i, v);
}

/* NULL binds SQL NULL. The text must outlive the statement's use. */
void sq_bind_text(sq_bind *b, int i, const char *s)
{
        if (b->rc == SQLITE_OK)
                b->rc = s ? sqlite3_bind_text(b->st, i, s, -1, SQLITE_STATIC)
                          : sqlite3_bind_null(b->st, i);
}

static void bind_blob(sq_bind *b, int i, const void *p, size_t n)
{
        if (b->rc == SQLITE_OK)
                b->rc = sqlite3_bind_blob64(b->st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

int sq_bind_done(sq_store *q, const sq_bind *b)
{
        return b->rc == SQLITE_OK ? 0 : sq_errno(q->db, b->rc);
}

/* Steps a statement that returns no rows (or whose rows are not needed). */
static int step_done(sq_store *q, sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        return sq_errno(q->db, rc);
}

int sq_dup_text(sqlite3_stmt *st, int col, char **ret)
{
        const unsigned char *t;

        if (sqlite3_column_type(st, col) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }
        t = sqlite3_column_text(st, col);
        if (!t)
                return -ENOMEM;
        *ret = strdup((const char *)t);
        return *ret ? 0 : -ENOMEM;
}

/* The bindings' first error, or the statement run by step_done. */
static int stmt_run(sq_store *q, sqlite3_stmt *st, sq_bind *b)
{
        int e = sq_bind_done(q, b);

        return e < 0 ? e : step_done(q, st);
}

/* Binds id to ?1 and steps st to its row: 0, -ENOENT when there is none. */
static int step_id_row(sq_store *q, sqlite3_stmt *st, int64_t id)
{
        int rc = sqlite3_bind_int64(st, 1, id);

        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        return rc == SQLITE_ROW ? 0 : sq_errno(q->db, rc);
}

int sq_each_row(sq_store *q, sqlite3_stmt *st, sq_row_fn row, void *ctx)
{
        int e = 0, rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                e = row(st, ctx);
                if (e < 0)
                        return e;
        }
        return rc == SQLITE_DONE ? 0 : sq_errno(q->db, rc);
}

typedef struct id_read_ctx {
        stmt_id stmt;
        int64_t id;
        sq_row_fn row;
        void *out;
} id_read_ctx;

static int id_read(sq_store *q, void *ctx)
{
        id_read_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->stmt, &st);

        if (e == 0)
                e = step_id_row(q, st, c->id);
        return e < 0 ? e : c->row(st, c->out);
}

int sq_read_id(sq_store *q, stmt_id stmt, int64_t id, sq_row_fn row, void *out)
{
        id_read_ctx c = {stmt, id, row, out};

        return sq_read(q, id_read, &c);
}

void sq_rows_reset(sq_rows *r)
{
        for (size_t i = 0; i < r->n; i++)
                r->release((char *)r->items + i * r->size);
        free(r->items);
        r->items = NULL;
        r->n = r->cap = 0;
}

int sq_rows_read(sq_store *q, sqlite3_stmt *st, sq_rows *r)
{
        int e = 0, rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                void *item;

                e = cw_array_reserve(&r->items, &r->cap, r->n + 1, r->size, 16);
                if (e < 0)
                        break;
                item = (char *)r->items + r->n * r->size;
                memset(item, 0, r->size);
                e = r->read(st, item);
                if (e < 0)
                        break;
                r->n++;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        if (e < 0)
                sq_rows_reset(r);
        return e;
}

/* ---- one statement with its parameters ------------------------------------ */

static void bind_val(sq_bind *b, int i, const sq_val *v)
{
        if (b->rc != SQLITE_OK)
                return;
        switch (v->type) {
        case SQ_V_INT:
                b->rc = sqlite3_bind_int64(b->st, i, v->i);
                break;
        case SQ_V_REAL:
                b->rc = sqlite3_bind_double(b->st, i, v->d);
                break;
        case SQ_V_TEXT:
                sq_bind_text(b, i, v->p);
                break;
        case SQ_V_BLOB:
                bind_blob(b, i, v->p, v->n);
                break;
        }
}

int sq_exec_run(sq_store *q, sq_exec *x)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, x->id, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        for (size_t i = 0; i < x->n_args; i++)
                bind_val(&b, (int)i + 1, &x->args[i]);
        e = stmt_run(q, st, &b);
        if (e < 0)
                return e;
        x->changes = sqlite3_changes64(q->db);
        x->rowid = sqlite3_last_insert_rowid(q->db);
        return 0;
}

static int exec_txn(sq_store *q, void *ctx)
{
        return sq_exec_run(q, ctx);
}

int sq_exec_write(sq_store *q, sq_exec *x)
{
        return sq_write(q, exec_txn, x);
}

/* ---- transactions --------------------------------------------------------- */

/* Runs one cached statement that may meet a busy database (BEGIN
 * IMMEDIATE, COMMIT), retrying until d's deadline. A COMMIT that fails
 * busy leaves its transaction open, so retrying it is correct. */
static int sq_exec_retry(sq_store *q, stmt_id id, sq_deadline *d)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = sq_stmt(q, id, &st);

        for (;;) {
                int rc;

                if (r < 0) {
                        if (r != -EBUSY || !sq_deadline_wait(d))
                                return sq_gave_up(r);
                        r = sq_stmt(q, id, &st);
                        continue;
                }
                rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                        return 0;
                if (!sq_is_busy(rc) || !sq_deadline_wait(d))
                        return sq_gave_up(sq_errno(q->db, rc));
        }
}

void sq_rollback(sq_store *q)
{
        sqlite3_stmt *st = NULL;

        /* SQLite may already have rolled back (e.g. after SQLITE_FULL). */
        if (sqlite3_get_autocommit(q->db))
                return;
        if (sq_stmt(q, ST_ROLLBACK, &st) == 0) {
                sqlite3_step(st);
                sqlite3_reset(st);
        }
        /* A ROLLBACK statement that could not even be prepared (no memory)
         * must still end the transaction, or the write lock would stay. */
        if (!sqlite3_get_autocommit(q->db))
                sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs one statement once (no retries: inside a batch, which holds the
 * write lock, nothing waits). */
int sq_exec_once_stmt(sq_store *q, stmt_id id)
{
        sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, id, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_errno(q->db, rc);
}

/* A write inside a batch: its own savepoint, so a failing write leaves
 * no half of itself in the batch, and the batch goes on. */
int sq_batch_write(sq_store *q, sq_txn_fn fn, void *ctx)
{
        int r;

        if (q->batch_lost)
                return -ECANCELED;
        r = sq_exec_once_stmt(q, ST_SAVEPOINT);
        if (r == 0) {
                r = fn(q, ctx);
                if (r == 0)
                        r = sq_exec_once_stmt(q, ST_RELEASE);
                if (r < 0 && !sqlite3_get_autocommit(q->db)) {
                        (void)sq_exec_once_stmt(q, ST_ROLLBACK_TO);
                        (void)sq_exec_once_stmt(q, ST_RELEASE);
                }
        }
        /* After SQLITE_FULL and the like SQLite may have rolled back the
         * whole transaction: the batch's earlier writes are gone too. */
        if (sqlite3_get_autocommit(q->db))
                q->batch_lost = true;
        return r;
}

/* Runs fn inside one BEGIN IMMEDIATE transaction and commits it. fn may
 * run more than once: when anything in the transaction meets a busy
 * database the whole transaction is rolled back and started again, so fn
 * must write its results to ctx only (overwriting earlier attempts), never
 * to the caller's out-parameters. Returns 0 when committed; otherwise the
 * transaction was rolled back and nothing was written. */
int sq_write(sq_store *q, sq_txn_fn fn, void *ctx)
{
        sq_deadline d;

        if (q->batch)
                return sq_batch_write(q, fn, ctx);
        sq_deadline_init(&d);
        for (;;) {
                int r = sq_exec_retry(q, ST_BEGIN, &d);
                if (r < 0)
                        return r;
                r = fn(q, ctx);
                if (r == 0)
                        r = sq_exec_retry(q, ST_COMMIT, &d);
                if (r == 0)
                        return 0;
                sq_rollback(q);
                if (r != -EBUSY || !sq_deadline_wait(&d))
                        return sq_gave_up(r);
        }
}

/* Runs a read (one statement in autocommit mode, so it sees one snapshot)
 * with the same retries as sq_write. fn must leave nothing allocated in
 * ctx when it fails. */
int sq_read(sq_store *q, sq_txn_fn fn, void *ctx)
{
        sq_deadline d;

        sq_deadline_init(&d);
        for (;;) {
                int r = fn(q, ctx);
                if (r != -EBUSY || !sq_deadline_wait(&d))
                        return sq_gave_up(r);
        }
}

int sq_batch_begin(cw_store *s)
{
        sq_store *q = sq_of(s);
        sq_deadline d;
        int r;

        if (q->batch)
                return -EALREADY;
        sq_deadline_init(&d);
        r = sq_exec_retry(q, ST_BEGIN, &d);
        if (r < 0) {
                sq_rollback(q);
                return r;
        }
        q->batch = true;
        q->batch_lost = false;
        return 0;
}

int sq_batch_commit(cw_store *s)
{
        sq_store *q = sq_of(s);
        sq_deadline d;
        int r;

        if (!q->batch)
                return -EINVAL;
        q->batch = false;
        if (q->batch_lost || sqlite3_get_autocommit(q->db))
                return -ECANCELED;
        sq_deadline_init(&d);
        r = sq_exec_retry(q, ST_COMMIT, &d);
        if (r < 0)
                sq_rollback(q);
        return r;
}

void sq_batch_abort(cw_store *s)
{
        sq_store *q = sq_of(s);

        if (!q->batch)
                return;
        q->batch = false;
        sq_rollback(q);
}
