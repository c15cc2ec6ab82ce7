/* sqlite_internal.h - private to src/store/sqlite/: the SQLite store
 * backend's shared state and helpers (see store.h, store_backend.h).
 *
 * One file (data_dir/cronwarden.db), shared by every cronwarden process on
 * the host: the CLI, workers, the daemon and its admin server. Each process opens its own
 * connection; a cw_store is used by one thread at a time and must not be
 * carried across fork() (SQLite's locks are per process: open it again in
 * the child).
 *
 * Durability. WAL mode with synchronous=NORMAL: a commit is in the WAL
 * when COMMIT returns, so it survives kill -9 of any process at any moment
 * (the next connection replays the WAL). The WAL is synced at checkpoints,
 * not at every commit, so an OS crash or power loss may lose the last
 * commits (never corrupt the file). That trade is what makes thousands of
 * recorded runs per second possible; a run history, unlike a bank ledger,
 * can afford it. foreign_keys=ON so a run's output goes with the run.
 *
 * Concurrency. Every write is one BEGIN IMMEDIATE ... COMMIT transaction:
 * the write lock is taken up front, so a transaction never has to upgrade
 * a read snapshot (which fails at once with SQLITE_BUSY_SNAPSHOT whatever
 * the busy handler). sqlite3_busy_timeout makes SQLite wait for the lock,
 * but some conditions return SQLITE_BUSY without calling the handler (WAL
 * recovery after a crash, a racing journal-mode change, a COMMIT that
 * finds readers in the way in rollback mode), so writes and reads are also
 * retried here, after a short growing pause, until CW_STORE_BUSY_MS has
 * passed since the operation began. A write is reported failed only when
 * its transaction was rolled back, i.e. it was not made.
 *
 * Schema. Table schema_version holds one row per applied migration.
 * Opening reads the version (a plain read, so opening an up-to-date store
 * never takes the write lock); when it is behind, it takes the write lock
 * (BEGIN IMMEDIATE), reads the version again (another process may just
 * have migrated) and applies the missing migrations in that one
 * transaction, so processes racing to open a fresh file are safe. A file
 * newer than this code is refused rather than misread. Statuses, triggers
 * and resume states are stored as their names from run.h's tables, so the
 * file reads the same in the sqlite3 shell as in `history`.
 *
 * Statements. Every statement is a constant string, prepared once per
 * connection on first use (SQLITE_PREPARE_PERSISTENT), cached here, and
 * reset after each use; values are always bound, never written into SQL.
 * The one family of variable statements, listing runs, is chosen from a
 * fixed set of variants put together from constant fragments (one per
 * filter), so each variant names its filters literally and SQLite can use
 * the matching index; see list_sql() in runs.c.
 *
 * Not supported: opening a store the process cannot write (read-only
 * media, another user's file). Read commands need a writable store too,
 * since even a reader may have to replay the WAL after a crash.
 *
 * The backend is split by concern, one file each: conn.c (errors, busy
 * retries, statements, transactions and batches), schema.c (migrations,
 * opening and closing, the ops table), runs.c (runs and their output),
 * state.c (claims, scheduler state, job flags, requests), stats.c (the
 * per-job aggregates) and ui.c (UI-created schedule entries). Each of
 * those files exports to the others only what this header declares. */
#ifndef CW_STORE_SQLITE_SQLITE_INTERNAL_H
#define CW_STORE_SQLITE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "store/store_backend.h"

#define SQ_SCHEMA_LATEST 5
/* Pauses between retries of a busy operation grow from the first to the
 * last value (microseconds), doubling each time. */
#define SQ_BACKOFF_MIN_US 100
#define SQ_BACKOFF_MAX_US 20000
/* Finished runs deleted per transaction by prune: small enough that the
 * write lock is never held long enough to make workers wait noticeably. */
#define SQ_PRUNE_BATCH 2000

/* job_stats as stats.c reads it into a cw_job_stats. */
#define STATS_COLS                                                                                 \
        "job, last_run_id, last_success_us, last_status, last_failure_us, last_duration_us, "      \
        "consecutive_failures"
#define RUN_COLS                                                                                   \
        "id, job, spec, node, status, trigger, attempt, scheduled_at, started_us, ended_us, "      \
        "worker_pid, pid, pid_start, exit_code, signal, progress_done, progress_total, "           \
        "output_size, output_truncated, reason, lock_key, resume, resumed_from"

/* The cached statements; their SQL is conn.c's table. */
typedef enum stmt_id {
        ST_BEGIN,
        ST_COMMIT,
        ST_ROLLBACK,
        ST_SAVEPOINT,
        ST_RELEASE,
        ST_ROLLBACK_TO,
        ST_RUN_INSERT,
        ST_RUN_SET_PID,
        ST_RUN_STARTED,
        ST_RUN_PROGRESS,
        ST_RUN_FINISH,
        ST_OUTPUT_SET,
        ST_OUTPUT_DELETE,
        ST_RUN_TRANSITION,
        ST_RUN_SET_RESUME,
        ST_RUN_EXISTS,
        ST_RUN_GET,
        ST_RUN_OUTPUT,
        ST_RUN_OUTPUT_SNAPSHOT,
        ST_RUN_OUTPUT_GET,
        ST_PRUNE,
        ST_PRUNE_CLAIMS,
        ST_PRUNE_REQUESTS,
        ST_PRUNE_JOB_STATE,
        ST_CLAIM,
        ST_STATE_GET,
        ST_STATE_SET,
        ST_JOB_GET,
        ST_JOB_SET,
        ST_REQUEST_ADD,
        ST_REQUESTS_PENDING,
        ST_REQUEST_TAKE,
        ST_RUN_BRIEF,
        ST_COUNT_ADD,
        ST_HIST_ADD,
        ST_HIST_SUM_ADD,
        ST_JOB_STATS_NOTE,
        ST_STATS_JOBS,
        ST_STATS_COUNTS,
        ST_STATS_HIST,
        ST_STATS_SUMS,
        ST_STATS_JOBS_ONE,
        ST_STATS_COUNTS_ONE,
        ST_STATS_HIST_ONE,
        ST_STATS_SUMS_ONE,
        ST_STATS_HIST_ALL,
        ST_STATS_SUMS_ALL,
        ST_JOBS_LAST,
        ST_JOB_LAST,
        ST_JOBS_FAILING,
        ST_JOBS_DISABLED,
        ST_UI_ADD,
        ST_UI_UPDATE,
        ST_UI_DELETE,
        ST_UI_GET,
        ST_UI_LIST,
        ST_NOTICE_ADD,
        ST_NOTICES_DUE,
        ST_NOTICES_DUE_RUN,
        ST_NOTICE_LEASE,
        ST_NOTICE_UPDATE,
        ST_NOTICES_LIST,
        ST_NOTICES_PENDING,
        ST_NOTICES_PRUNE,
        ST_RUN_REQUEUED,
        ST_MAX,
} stmt_id;

/* Listing runs: one variant per combination of the filters that are set
 * (see list_sql() in runs.c), prepared on first use. */
enum {
        LIST_JOB = 1 << 0,
        LIST_STATUS = 1 << 1,
        LIST_ACTIVE = 1 << 2,
        LIST_RESUME = 1 << 3,         /* resume = ?4, any state but pending */
        LIST_RESUME_PENDING = 1 << 4, /* resume = 'pending', the partial index */
        LIST_BEFORE = 1 << 5,
        LIST_VARIANTS = 1 << 6,
};

typedef struct sq_store {
        cw_store base; /* first: a cw_store * is a sq_store * */
        sqlite3 *db;
        char *path;
        int schema;
        bool batch;         /* a batch's transaction is open (cw_store_batch_begin) */
        bool batch_lost;    /* ... and SQLite rolled it back under us */
        char *readonly_why; /* opened read-only: whose permission is missing */
        dev_t dev;          /* the file opened (cw_store_same_file) */
        ino_t ino;
        sqlite3_stmt *st[ST_MAX];
        sqlite3_stmt *list[LIST_VARIANTS];
} sq_store;

static inline sq_store *sq_of(cw_store *s)
{
        return (sq_store *)s;
}

/* ---- conn.c: errors, retries, statements ---------------------------------- */

/* A SQLite result code as a negative errno. SQLITE_BUSY and SQLITE_LOCKED
 * (and the WAL index race SQLITE_PROTOCOL) become -EBUSY, which the retry
 * loops treat as "try again". */
int sq_errno(sqlite3 *db, int rc);
bool sq_is_busy(int rc);
/* r, except that -EBUSY (a busy store still busy at a retry loop's
 * deadline) becomes -ETIMEDOUT, what the store's callers see. */
int sq_gave_up(int r);

/* A busy operation's deadline: CW_STORE_BUSY_MS from init. wait pauses
 * before the next attempt (growing pauses); false once the deadline has
 * passed (give up). */
typedef cw_store_deadline sq_deadline;
static inline void sq_deadline_init(sq_deadline *d)
{
        cw_store_deadline_init(d, NULL, SQ_BACKOFF_MIN_US, SQ_BACKOFF_MAX_US);
}
static inline bool sq_deadline_wait(sq_deadline *d)
{
        return cw_store_deadline_wait(d);
}

/* The cached statement `id`, prepared on first use. */
int sq_stmt(sq_store *q, stmt_id id, sqlite3_stmt **ret);
/* Cleanup for a cached statement: reset it and drop its bindings, which
 * may point into the caller's memory (SQLITE_STATIC). */
void sq_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_stmt_ _cleanup_(sq_stmt_resetp)

/* Binding accumulates the first error so a statement's parameters can be
 * bound in a row and checked once. Text and blobs are bound
 * SQLITE_STATIC: they must outlive the statement's use. NULL text binds
 * SQL NULL. */
typedef struct sq_bind {
        sqlite3_stmt *st;
        int rc;
} sq_bind;
void sq_bind_i64(sq_bind *b, int i, int64_t v);
void sq_bind_text(sq_bind *b, int i, const char *s);
int sq_bind_done(sq_store *q, const sq_bind *b);
/* A copy of text column col (NULL for SQL NULL). */
int sq_dup_text(sqlite3_stmt *st, int col, char **ret);
/* Steps st through its rows, calling row(st, ctx) for each, until the
 * end (0), an error of SQLite, or row's first error. */
typedef int (*sq_row_fn)(sqlite3_stmt *st, void *ctx);
int sq_each_row(sq_store *q, sqlite3_stmt *st, sq_row_fn row, void *ctx);
/* Reads (sq_read) the row statement `stmt` gives for ?1 = id and hands
 * it to row(st, out), which must fill out all or nothing: -ENOENT when
 * there is no such row. */
int sq_read_id(sq_store *q, stmt_id stmt, int64_t id, sq_row_fn row, void *out);

/* Rows read into a growing array of items of `size` bytes: read fills a
 * zeroed item from the row (all or nothing), release frees one. */
typedef struct sq_rows {
        size_t size;
        int (*read)(sqlite3_stmt *st, void *item);
        void (*release)(void *item);
        void *items;
        size_t n, cap;
} sq_rows;
/* Appends every row of st: 0, or the first error with every item (also
 * those appended before) released, ready for a retry. */
int sq_rows_read(sq_store *q, sqlite3_stmt *st, sq_rows *r);
/* Releases the items and empties r. */
void sq_rows_reset(sq_rows *r);

/* ---- conn.c: one statement with its parameters -----------------------------
 *
 * Most writes are one cached statement with parameters ?1..?n bound from
 * values: an sq_exec names them (SQ_EXEC builds one whose values live to
 * the end of the enclosing block) and says what the statement did. */
typedef enum sq_val_type { SQ_V_INT, SQ_V_REAL, SQ_V_TEXT, SQ_V_BLOB } sq_val_type;
typedef struct sq_val {
        sq_val_type type;
        int64_t i;
        double d;
        const void *p; /* text (NULL: SQL NULL) or blob */
        size_t n;      /* blob length */
} sq_val;
#define SQ_INT(v) ((sq_val){.type = SQ_V_INT, .i = (int64_t)(v)})
#define SQ_REAL(v) ((sq_val){.type = SQ_V_REAL, .d = (v)})
#define SQ_TEXT(s) ((sq_val){.type = SQ_V_TEXT, .p = (s)})
#define SQ_BLOB(b, len) ((sq_val){.type = SQ_V_BLOB, .p = (b), .n = (len)})

typedef struct sq_exec {
        stmt_id id;
        const sq_val *args; /* bound to ?1, ?2, ... */
        size_t n_args;
        int64_t changes; /* out: rows the statement changed */
        int64_t rowid;   /* out: the row it inserted, if any */
} sq_exec;
#define SQ_EXEC(stmt, ...)                                                                         \
        ((sq_exec){.id = (stmt),                                                                   \
                   .args = (const sq_val[]){__VA_ARGS__},                                          \
                   .n_args = sizeof((const sq_val[]){__VA_ARGS__}) / sizeof(sq_val)})

/* Runs x's statement inside the caller's transaction; sets x->changes
 * and x->rowid. */
int sq_exec_run(sq_store *q, sq_exec *x);
/* Runs x's statement as a write of its own (sq_write): committed, or
 * rolled back and nothing written. */
int sq_exec_write(sq_store *q, sq_exec *x);

/* ---- conn.c: transactions ------------------------------------------------- */

typedef int (*sq_txn_fn)(sq_store *q, void *ctx);

/* Runs fn inside one BEGIN IMMEDIATE transaction and commits it (inside
 * the open batch, if any, as one savepoint). fn may run more than once:
 * when anything in the transaction meets a busy database the whole
 * transaction is rolled back and started again, so fn must write its
 * results to ctx only (overwriting earlier attempts), never to the
 * caller's out-parameters. Returns 0 when committed; otherwise the
 * transaction was rolled back and nothing was written. */
int sq_write(sq_store *q, sq_txn_fn fn, void *ctx);
/* Runs a read (one statement in autocommit mode, so it sees one snapshot)
 * with the same retries as sq_write. fn must leave nothing allocated in
 * ctx when it fails. */
int sq_read(sq_store *q, sq_txn_fn fn, void *ctx);
/* A write inside the open batch, as its own savepoint. */
int sq_batch_write(sq_store *q, sq_txn_fn fn, void *ctx);
/* Runs one statement once, without retries (BEGIN, COMMIT under a lock
 * already held, or with the busy handler off). */
int sq_exec_once_stmt(sq_store *q, stmt_id id);
/* Ends the open transaction, if SQLite has not already. */
void sq_rollback(sq_store *q);

int sq_batch_begin(cw_store *s);
int sq_batch_commit(cw_store *s);
void sq_batch_abort(cw_store *s);

/* ---- runs.c --------------------------------------------------------------- */

/* sq_rows of cw_run read by sq_read_run. */
#define SQ_RUN_ROWS                                                                                \
        {                                                                                          \
                .size = sizeof(cw_run), .read = sq_run_row, .release = sq_run_row_release          \
        }
int sq_run_row(sqlite3_stmt *st, void *run);
void sq_run_row_release(void *run);

int sq_run_insert(cw_store *s, cw_run *run);
int sq_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start);
int sq_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start);
int sq_run_requeued(cw_store *s, int64_t id, int64_t started_us);
int sq_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total);
int sq_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len);
int sq_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                      const char *reason, int64_t now_us);
int sq_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to);
int sq_run_get(cw_store *s, int64_t id, cw_run *ret);
int sq_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len);
int sq_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                           const void *output, size_t len);
int sq_run_output_get(cw_store *s, int64_t id, cw_run_output *ret);
int sq_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n);
int sq_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);

/* ---- state.c -------------------------------------------------------------- */

int sq_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node, bool *ret_won);
int sq_state_get(cw_store *s, const char *key, char **ret);
int sq_state_set(cw_store *s, const char *key, const char *value);
int sq_job_enabled_get(cw_store *s, const char *job, bool *ret);
int sq_job_enabled_set(cw_store *s, const char *job, bool enabled);
int sq_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us, int64_t *ret_id);
int sq_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
int sq_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);

/* ---- stats.c -------------------------------------------------------------- */

/* Keeps the aggregates in step with one run's status change, inside the
 * transaction that makes it: `from` is the status it had (-1 for a new
 * run), `to` the one it gets. */
int sq_stats_change(sq_store *q, const char *job, int64_t id, int from, cw_run_status to,
                    int64_t started_us, int64_t ended_us);
/* Adds observation v to histogram (metric, job). */
int sq_observe(sq_store *q, const char *metric, const char *job, const double *bounds, int n,
               double v);
/* A run's job, status and start, before a change (-ENOENT: no such run). */
typedef struct sq_run_brief {
        char *job;
        cw_run_status status;
        int64_t started_us;
} sq_run_brief;
int sq_run_brief_read(sq_store *q, int64_t id, sq_run_brief *ret);

int sq_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                  cw_store_hist *ret_lateness);
int sq_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n, cw_store_hist *ret_lateness,
                     cw_store_hist *ret_duration);
int sq_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret, size_t *ret_n);
int sq_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n);
int sq_jobs_failing(cw_store *s, char ***ret, size_t *ret_n);

/* ---- ui.c ----------------------------------------------------------------- */

int sq_ui_entry_add(cw_store *s, cw_ui_entry *e);
int sq_ui_entry_update(cw_store *s, const cw_ui_entry *e);
int sq_ui_entry_delete(cw_store *s, int64_t id);
int sq_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret);
int sq_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n);

/* ---- outbox.c ------------------------------------------------------------- */

int sq_notice_add(cw_store *s, cw_notice *n);
int sq_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id, size_t max,
                     cw_notice **ret, size_t *ret_n);
int sq_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts, int64_t next_us,
                     int64_t done_us, const char *result);
int sq_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);
int sq_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret, size_t *ret_n);

/* ---- schema.c ------------------------------------------------------------- */

/* Whether s is a store of this backend. */
bool sq_is_sqlite(const cw_store *s);

#endif
