/* pg_internal.h - private to src/store/pg/: the PostgreSQL store backend's
 * shared state and helpers (see store.h, store_backend.h, docs/store.md).
 *
 * One database named by a postgresql:// URL, shared by every cronwarden
 * process on every host. Each process holds its own libpq connection; a
 * cw_store is used by one thread at a time and must not be carried across
 * fork() (open it again in the child).
 *
 * Statements. Every statement is a constant string prepared once per
 * connection under a fixed name (PQprepare), on first use, and run with
 * PQexecPrepared; values are always parameters, never written into SQL.
 * After a reconnect the new session has none of them, so they are
 * prepared again as they are used. Text parameters and results travel as
 * text, run output (bytea) as binary parameters and hex-escaped results.
 * The schema's migrations are constant DDL, run with PQexec.
 *
 * Transactions. A write is one BEGIN ... COMMIT transaction at READ
 * COMMITTED; what SQLite gets from its single write lock, PostgreSQL gets
 * from row locks: claims are unique by the primary key (INSERT ... ON
 * CONFLICT DO NOTHING), aggregates are upserts that add to a row, a run
 * whose status changes is read with SELECT ... FOR UPDATE first, and
 * requests and notifications are taken by one UPDATE ... RETURNING over
 * rows locked with SKIP LOCKED. A batch (cw_store_batch_begin) is one transaction, each
 * write in it a savepoint.
 *
 * Failures and retries (CW_STORE_BUSY_MS from the first attempt, with
 * growing pauses): a deadlock, a serialization failure or a lock not
 * available is -EBUSY, and a lost connection (the server restarting, the
 * network gone) is -ECONNRESET. Both make the whole transaction start
 * again, on a new connection when the old one broke: a transaction that
 * never reached COMMIT was rolled back by the server, so nothing of it
 * remains. A connection lost while COMMIT was under way leaves the outcome
 * unknown; before COMMIT each write asks for its transaction id
 * (txid_current), and after reconnecting txid_status says whether it
 * committed (done), aborted (start again) or is still in progress (ask
 * again). Writes are therefore never applied twice nor reported failed
 * when made. A batch cannot be replayed: a connection lost inside one
 * makes every later write of it, and its commit, fail with -ECANCELED.
 *
 * The backend is split by concern like the SQLite one: statements.c (each
 * statement's name and SQL), conn.c (connection,
 * preparing statements, errors, transactions, batches), schema.c (migrations,
 * opening, closing, the ops table), runs.c (runs and their output), state.c
 * (claims, scheduler state, job flags, requests, UI entries), stats.c
 * (the per-job aggregates), outbox.c (the notification outbox), nodes.c
 * (cluster nodes: heartbeats in the database's time, the dead-node sweep,
 * published job hashes), locks.c (cluster locks, fencing tokens),
 * commands.c (commands to a node, the wake-up channel) and ahead.c (reads
 * said ahead inside a batch, sent with its next statement). */
#ifndef CW_STORE_PG_PG_INTERNAL_H
#define CW_STORE_PG_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "store/store_backend.h"

#define PG_SCHEMA_LATEST 6
/* Pauses between retries grow from the first to the last value
 * (microseconds), doubling each time. */
#define PG_BACKOFF_MIN_US 1000
#define PG_BACKOFF_MAX_US 500000
/* Finished runs deleted per transaction by prune. */
#define PG_PRUNE_BATCH 2000
/* Seconds to wait for a connection when the URL and PGCONNECT_TIMEOUT
 * say nothing. */
#define PG_CONNECT_TIMEOUT_S "10"

/* job_stats as stats.c reads it into a cw_job_stats. */
#define PG_STATS_COLS                                                                              \
        "job, last_run_id, last_success_us, last_status, last_failure_us, last_duration_us, "      \
        "consecutive_failures"
/* The database's clock, in microseconds since the epoch: what leases
 * that other hosts compare against are measured in (never a host's own
 * clock, which may be off). */
#define PG_DB_NOW_US "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

#define PG_RUN_COLS                                                                                \
        "id, job, spec, node, status, trigger, attempt, scheduled_at, started_us, ended_us, "      \
        "worker_pid, pid, pid_start, exit_code, signal, progress_done, progress_total, "           \
        "output_size, output_truncated, reason, lock_key, resume, resumed_from, fence"

/* The columns of a command (commands.c, cmd_row), the last its age in µs
 * by the database's clock. */
#define PG_CMD_COLS                                                                                \
        "id, node, kind, run_id, signal, requested_by, state, result, "                            \
        "(extract(epoch FROM clock_timestamp() - created_at) * 1000000)::bigint"
/* The channel of LISTEN/NOTIFY: payloads "cmd:NODE", "pass", "done:ID". */
#define PG_CHANNEL "cronwarden"

/* The prepared statements; their names and SQL are statements.c's table. */
typedef enum pg_stmt_id {
        PS_BEGIN,
        PS_COMMIT,
        PS_ROLLBACK,
        PS_SAVEPOINT,
        PS_RELEASE,
        PS_ROLLBACK_TO,
        PS_TXID,
        PS_TXID_STATUS,
        PS_RUN_INSERT,
        PS_RUN_SET_PID,
        PS_RUN_STARTED,
        PS_RUN_PROGRESS,
        PS_RUN_FINISH,
        PS_OUTPUT_SET,
        PS_OUTPUT_DELETE,
        PS_RUN_TRANSITION,
        PS_RUN_SET_RESUME,
        PS_RUN_EXISTS,
        PS_RUN_GET,
        PS_RUN_OUTPUT,
        PS_RUN_LOCK_NOWAIT,
        PS_RUN_OUTPUT_SNAPSHOT,
        PS_RUN_OUTPUT_GET,
        PS_PRUNE,
        PS_PRUNE_CLAIMS,
        PS_PRUNE_REQUESTS,
        PS_PRUNE_JOB_STATE,
        PS_CLAIM,
        PS_STATE_GET,
        PS_STATE_SET,
        PS_JOB_GET,
        PS_JOB_SET,
        PS_REQUEST_ADD,
        PS_REQUESTS_PENDING,
        PS_REQUESTS_TAKE,
        PS_RUN_BRIEF,
        PS_COUNT_ADD,
        PS_HIST_ADD,
        PS_HIST_SUM_ADD,
        PS_JOB_STATS_NOTE,
        PS_STATS_JOBS,
        PS_STATS_COUNTS,
        PS_STATS_HIST,
        PS_STATS_SUMS,
        PS_STATS_JOBS_ONE,
        PS_STATS_COUNTS_ONE,
        PS_STATS_HIST_ONE,
        PS_STATS_SUMS_ONE,
        PS_JOBS_LAST,
        PS_JOB_LAST,
        PS_JOBS_FAILING,
        PS_JOBS_DISABLED,
        PS_UI_ADD,
        PS_UI_UPDATE,
        PS_UI_DELETE,
        PS_UI_GET,
        PS_UI_LIST,
        PS_STATS_HIST_ALL,
        PS_STATS_SUMS_ALL,
        PS_NOTICE_ADD,
        PS_NOTICES_CLAIM,
        PS_NOTICE_UPDATE,
        PS_NOTICES_LIST,
        PS_NOTICES_PENDING,
        PS_NOTICES_PRUNE,
        PS_RUN_REQUEUED,
        /* cluster nodes (nodes.c) */
        PS_DB_NOW,
        PS_NODE_STATE_LOCK,
        PS_NODE_BEAT,
        PS_NODE_LEAVE,
        PS_NODES_LIST,
        PS_NODES_SWEEP,
        PS_NODE_JOBS_CLEAR,
        PS_NODE_JOBS_DIGEST,
        PS_NODE_JOB_ADD,
        PS_NODE_JOBS_DISAGREE,
        /* commands to a node and the wake-up channel (commands.c) */
        PS_CMD_ADD,
        PS_CMD_PRUNE,
        PS_CMD_ANY,
        PS_CMD_TAKE,
        PS_CMD_FINISH,
        PS_CMD_EXISTS,
        PS_CMD_GET,
        PS_CMD_RUN_REASON,
        PS_NODE_ALIVE,
        PS_NOTIFY,
        PS_SET_APPNAME,
        /* cluster locks and fencing tokens (locks.c) */
        PS_LOCK_GET_FOR_UPDATE,
        PS_LOCK_INSERT,
        PS_LOCK_TAKEOVER,
        PS_LOCK_RENEW,
        PS_LOCK_RELEASE,
        PS_LOCK_REVOKE,
        PS_LOCK_HOLDER,
        PS_LOCKS_LIST,
        PS_FENCE_NEXT,
        PS_RUN_LOSE_FENCED,
        PS_RUN_STARTED_F,
        PS_RUN_SET_PID_F,
        PS_RUN_PROGRESS_F,
        PS_RUN_OUTPUT_SNAPSHOT_F,
        PS_RUN_FENCE_LOCK,
        PS_MAX,
} pg_stmt_id;
/* A statement's name and SQL (statements.c); NULL past PS_MAX (the list
 * variants, whose SQL pg_list_sql writes). */
const char *pg_stmt_name(pg_stmt_id id);
const char *pg_stmt_sql(pg_stmt_id id);

/* Listing runs: one statement per combination of the filters that are
 * set, prepared on first use (runs.c). */
enum {
        PL_JOB = 1 << 0,
        PL_STATUS = 1 << 1,
        PL_ACTIVE = 1 << 2,
        PL_RESUME = 1 << 3,
        PL_BEFORE = 1 << 4,
        PL_VARIANTS = 1 << 5,
};
/* A statement is PS_* below PS_MAX, or PG_LIST_STMT(variant). */
#define PG_LIST_STMT(v) (PS_MAX + (int)(v))
#define PG_STMT_MAX (PS_MAX + PL_VARIANTS)

#define PG_DEFER_MAX 8

/* A statement's parameters and its run (conn.c, pg_exec_run). */
typedef enum pg_val_type { PG_V_INT, PG_V_REAL, PG_V_TEXT, PG_V_BLOB } pg_val_type;
typedef struct pg_val {
        pg_val_type type;
        int64_t i;
        double d;
        const void *p; /* text (NULL: SQL NULL) or blob */
        size_t n;      /* blob length */
} pg_val;
#define PG_INT(v) ((pg_val){.type = PG_V_INT, .i = (int64_t)(v)})
#define PG_REAL(v) ((pg_val){.type = PG_V_REAL, .d = (v)})
#define PG_TEXT(s) ((pg_val){.type = PG_V_TEXT, .p = (s)})
#define PG_BLOB(b, len) ((pg_val){.type = PG_V_BLOB, .p = (b), .n = (len)})

typedef struct pg_exec {
        int id;             /* a pg_stmt_id or PG_LIST_STMT(v) */
        const pg_val *args; /* $1, $2, ... */
        size_t n_args;
        int64_t changes; /* out: rows the statement changed or returned */
        PGresult *res;   /* out: its rows, when keep_result (caller clears) */
        bool keep_result;
} pg_exec;
#define PG_EXEC(stmt, ...)                                                                         \
        ((pg_exec){.id = (stmt),                                                                   \
                   .args = (const pg_val[]){__VA_ARGS__},                                          \
                   .n_args = sizeof((const pg_val[]){__VA_ARGS__}) / sizeof(pg_val)})
#define PG_EXEC0(stmt) ((pg_exec){.id = (stmt)})

/* A read said ahead (ahead.c): its statement, its key (the one text
 * parameter, or NULL), and once sent, its rows in x.res. */
typedef struct pg_ahead {
        pg_exec x;
        char *key;
        pg_val arg;
        bool sent;
} pg_ahead;

typedef struct pg_store {
        cw_store base; /* first: a cw_store * is a pg_store * */
        PGconn *conn;  /* NULL or broken: connect again before use */
        char *url;     /* the conninfo URL, password and all */
        char *shown;   /* the URL with its password hidden, for messages */
        int schema;
        bool batch;                 /* a batch's transaction is open */
        bool batch_lost;            /* ... and its connection was lost under it */
        bool prepared[PG_STMT_MAX]; /* on the current connection */
        char msg[256];              /* the server's last error message, for open */
        /* Why the last write refused as read-only (-EROFS) or not allowed
         * (-EACCES) was, for cw_store_error_text; "" before any. */
        char readonly_why[512];
        int fault;         /* a cw_store_pg_fault for the next COMMIT (tests) */
        unsigned conn_gen; /* counts connections made, so a listener sees a new one */
        /* cw_store_listen: listening on listen_gen's connection, as the
         * daemon of listen_as (NULL: not a daemon); listen_lost: a
         * connection was lost under it since the last cw_store_wakeups. */
        bool listening, listen_lost;
        unsigned listen_gen;
        char *listen_as;
        /* cw_store_run_fence: the run whose writes carry a token, and it */
        int64_t fence_run, fence;
        /* Statements without parameters whose replies need not be read at
         * once (BEGIN, SAVEPOINT, RELEASE, the transaction id): sent in
         * one round trip with the next statement (conn.c, pg_defer). */
        int deferred[PG_DEFER_MAX];
        size_t n_deferred;
        int64_t xid; /* the open transaction's id once read, else 0 */
        /* Histogram observations of the open transaction (a batch or one
         * write), made with its COMMIT (stats.c, pg_obs_commit). */
        struct pg_obs *obs;
        size_t n_obs, cap_obs;
        /* Reads said ahead in the open batch (ahead.c). */
        pg_ahead *ahead;
        size_t n_ahead, cap_ahead;
} pg_store;

static inline pg_store *pg_of(cw_store *s)
{
        return (pg_store *)s;
}

/* ---- conn.c: connection and retries ---------------------------------------- */

/* The busy deadline shared by the backends (store_backend.h). */
typedef cw_store_deadline pg_deadline;
static inline void pg_deadline_init(const pg_store *q, pg_deadline *d)
{
        cw_store_deadline_init(d, q ? &q->base : NULL, PG_BACKOFF_MIN_US, PG_BACKOFF_MAX_US);
}
/* Pauses before the next attempt; false once the deadline has passed. */
static inline bool pg_deadline_wait(pg_deadline *d)
{
        return cw_store_deadline_wait(d);
}

/* Connects (again) when there is no working connection: 0, or the error
 * of the one attempt made (-ECONNREFUSED, -EACCES, ...), with q->msg
 * saying why. Forgets every prepared statement of an old connection. */
int pg_connect(pg_store *q);
/* A libpq result as a negative errno (0 for success); -ECONNRESET when
 * the connection is gone, -EBUSY for a conflict worth retrying, -EROFS
 * for a read-only server or session. Keeps the server's message in
 * q->msg, and in q->readonly_why for -EROFS and -EACCES. */
int pg_result_errno(pg_store *q, const PGresult *res);

/* ---- conn.c: statements ----------------------------------------------------- */

/* Runs x's statement once on the current connection (preparing it
 * first if this connection has not); sets x->changes, and x->res when
 * x->keep_result. No retries: those are the transaction's. */
int pg_exec_run(pg_store *q, pg_exec *x);
/* Queues a statement without parameters whose reply is not needed at
 * once (PS_BEGIN, PS_SAVEPOINT, PS_RELEASE, PS_TXID, which sets q->xid):
 * the next pg_exec_run sends it before its own, in the same round trip,
 * and a failure of it is that call's failure. pg_defer_flush sends what
 * is queued now (0, or the first failure). A new connection or a
 * rollback forgets the queue. */
void pg_defer(pg_store *q, int id);
int pg_defer_flush(pg_store *q);
/* Runs the n statements of xs (after what is deferred) in one round trip:
 * the first failure, or 0; the statements after a failure were not run.
 * Each x's changes and res are set as pg_exec_run sets them. */
int pg_exec_many(pg_store *q, pg_exec *xs, size_t n);
/* Runs x's statement as a write of its own (pg_write). */
int pg_exec_write(pg_store *q, pg_exec *x);
/* x->res's rows: releases it. */
void pg_exec_release(pg_exec *x);

/* ---- ahead.c: reads sent ahead (cw_store_read_ahead) ------------------------ */

void pg_read_ahead(cw_store *s, const cw_store_ahead *reads, size_t n);
/* For pg_exec_run: true when x is a read said ahead, which is then served
 * (its rows in x->res when x->keep_result; *ret 0) or, when sending it
 * failed, *ret that failure; false when x must go to the server. */
bool pg_ahead_serve(pg_store *q, pg_exec *x, int *ret);
/* For pg_exec_run: a write x drops the waiting reads it changes. */
void pg_ahead_forget(pg_store *q, const pg_exec *x);
/* For the pipeline (conn.c): how many wait to be sent; the next of them
 * from index *at on (marked sent; NULL when none is left); after the
 * replies, pg_ahead_sent drops those that got none. */
size_t pg_ahead_unsent(const pg_store *q);
pg_exec *pg_ahead_next_unsent(pg_store *q, size_t *at);
void pg_ahead_sent(pg_store *q);
/* The transaction ended or the connection went: all dropped. free also
 * gives back the array (closing). */
void pg_ahead_drop(pg_store *q);
void pg_ahead_free(pg_store *q);

/* Values of a result row: the integer and the copied text (NULL for SQL
 * NULL) of column col. */
int64_t pg_int(const PGresult *res, int row, int col);
int pg_dup_text(const PGresult *res, int row, int col, char **ret);
/* A copy of bytea column col, NUL after the data (NULL and 0 when empty
 * or SQL NULL). */
int pg_dup_bytea(const PGresult *res, int row, int col, void **ret, size_t *ret_len);

/* Rows read into a growing array of items of `size` bytes: read fills a
 * zeroed item from row `row` (all or nothing), release frees one. */
typedef struct pg_rows {
        size_t size;
        int (*read)(const PGresult *res, int row, void *item);
        void (*release)(void *item);
        void *items;
        size_t n, cap;
} pg_rows;
/* Runs x (kept result) and appends every row: 0, or the first error with
 * every item released. */
int pg_rows_exec(pg_store *q, pg_exec *x, pg_rows *r);
void pg_rows_reset(pg_rows *r);

/* ---- conn.c: transactions --------------------------------------------------- */

typedef int (*pg_txn_fn)(pg_store *q, void *ctx);

/* Runs fn inside one transaction and commits it (inside the open batch,
 * if any, as one savepoint). fn may run more than once (see the top of
 * this file): it must write its results to ctx only, overwriting earlier
 * attempts. 0 when committed; otherwise nothing was written. */
int pg_write(pg_store *q, pg_txn_fn fn, void *ctx);
/* Runs a read (fn's statements, each in autocommit mode) with the same
 * retries. fn must leave nothing allocated in ctx when it fails. */
int pg_read(pg_store *q, pg_txn_fn fn, void *ctx);
/* One attempt at fn in a transaction of its own, no retries (or a
 * savepoint of the open batch). */
int pg_write_once(pg_store *q, pg_txn_fn fn, void *ctx);
/* One attempt at a read, no retries (the cluster's heartbeat work, which
 * must not wait for a database that is gone). */
int pg_read_once(pg_store *q, pg_txn_fn fn, void *ctx);

int pg_batch_begin(cw_store *s);
int pg_batch_commit(cw_store *s);
void pg_batch_abort(cw_store *s);

/* ---- runs.c ----------------------------------------------------------------- */

int pg_run_row(const PGresult *res, int row, void *run);
void pg_run_row_release(void *run);
#define PG_RUN_ROWS                                                                                \
        {                                                                                          \
                .size = sizeof(cw_run), .read = pg_run_row, .release = pg_run_row_release          \
        }

int pg_run_insert(cw_store *s, cw_run *run);
int pg_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start);
int pg_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start);
int pg_run_requeued(cw_store *s, int64_t id, int64_t started_us);
int pg_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total);
int pg_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len);
int pg_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                      const char *reason, int64_t now_us);
int pg_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to);
int pg_run_get(cw_store *s, int64_t id, cw_run *ret);
int pg_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len);
int pg_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                           const void *output, size_t len);
int pg_run_output_get(cw_store *s, int64_t id, cw_run_output *ret);
int pg_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n);
int pg_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);
/* The SQL of list statement variant v (runs.c), for conn.c to prepare. */
void pg_list_sql(unsigned v, char *buf, size_t size);

/* ---- state.c ---------------------------------------------------------------- */

int pg_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node, bool *ret_won);
int pg_state_get(cw_store *s, const char *key, char **ret);
int pg_state_set(cw_store *s, const char *key, const char *value);
int pg_job_enabled_get(cw_store *s, const char *job, bool *ret);
int pg_job_enabled_set(cw_store *s, const char *job, bool enabled);
int pg_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us, int64_t *ret_id);
int pg_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
int pg_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
int pg_ui_entry_add(cw_store *s, cw_ui_entry *e);
int pg_ui_entry_update(cw_store *s, const cw_ui_entry *e);
int pg_ui_entry_delete(cw_store *s, int64_t id);
int pg_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret);
int pg_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n);

/* ---- commands.c -------------------------------------------------------------- */

int pg_node_cmd_add(cw_store *s, cw_node_cmd *c);
int pg_node_cmds_take(cw_store *s, const char *node, size_t max, cw_node_cmd **ret, size_t *ret_n);
int pg_node_cmd_finish(cw_store *s, int64_t id, cw_node_cmd_state from, cw_node_cmd_state to,
                       const char *result, const char *run_reason);
int pg_node_cmd_get(cw_store *s, int64_t id, cw_node_cmd *ret);
int pg_node_alive(cw_store *s, const char *node, bool *ret);
int pg_wake(cw_store *s);
int pg_listen(cw_store *s, const char *node, int *ret_fd);
void pg_unlisten(cw_store *s);
int pg_wakeups(cw_store *s, unsigned *ret);

/* ---- locks.c ---------------------------------------------------------------- */

int pg_lock_acquire(cw_store *s, const char *key, const char *node, int64_t run_id, int worker_pid,
                    int64_t lease_us, int64_t *ret_fence, cw_cluster_lock *ret_holder);
int pg_lock_renew(cw_store *s, const char *key, int64_t fence, int64_t run_id, int worker_pid,
                  int64_t lease_us);
int pg_lock_try(cw_store *s, const char *key, const char *node, int64_t run_id, int64_t lease_us,
                int64_t *ret_fence);
int pg_lock_release(cw_store *s, const char *key, int64_t fence);
int pg_lock_revoke(cw_store *s, const char *key, const char *by);
int pg_lock_holder(cw_store *s, const char *key, cw_cluster_lock *ret);
int pg_locks_list(cw_store *s, cw_cluster_lock **ret, size_t *ret_n);
int pg_fence_next(cw_store *s, int64_t *ret_fence);
int pg_run_fence(cw_store *s, int64_t run_id, int64_t fence);
/* The token writes for run id carry (cw_store_run_fence), 0 for none. */
static inline int64_t pg_fence_of(const pg_store *q, int64_t id)
{
        return q->fence > 0 && q->fence_run == id ? q->fence : 0;
}

/* ---- stats.c ---------------------------------------------------------------- */

/* Keeps the aggregates in step with one run's status change, inside the
 * transaction that makes it: `from` is the status it had (-1 for a new
 * run), `to` the one it gets. */
int pg_stats_change(pg_store *q, const char *job, int64_t id, int from, cw_run_status to,
                    int64_t started_us, int64_t ended_us);
/* Adds observation v to histogram (metric, job; metric a string that
 * outlives the store, a literal), only inside a write's transaction or a
 * batch: it is kept until that commits. pg_obs_commit makes the
 * transaction's observations, merged and in one order, with its
 * COMMIT, and pg_obs_drop(q, k) forgets all but the first k (a write
 * rolled back to its savepoint, a transaction that ends otherwise;
 * q->n_obs says how many there are). */
int pg_observe(pg_store *q, const char *metric, const char *job, const double *bounds, int n,
               double v);
/* Makes the observations (then commit's statement, when commit) in one
 * round trip; commit gets its reply as pg_exec_run would set it. */
int pg_obs_commit(pg_store *q, pg_exec *commit);
void pg_obs_drop(pg_store *q, size_t keep);
/* A run's job, status and start, its row locked until the transaction
 * ends (-ENOENT: no such run). */
typedef struct pg_run_brief {
        char *job;
        cw_run_status status;
        int64_t started_us;
} pg_run_brief;
int pg_run_brief_read(pg_store *q, int64_t id, pg_run_brief *ret);

int pg_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                  cw_store_hist *ret_lateness);
int pg_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret, size_t *ret_n);
int pg_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n);
int pg_jobs_failing(cw_store *s, char ***ret, size_t *ret_n);
int pg_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n, cw_store_hist *ret_lateness,
                     cw_store_hist *ret_duration);

/* ---- outbox.c --------------------------------------------------------------- */

int pg_notice_add(cw_store *s, cw_notice *n);
int pg_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id, size_t max,
                     cw_notice **ret, size_t *ret_n);
int pg_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts, int64_t next_us,
                     int64_t done_us, const char *result);
int pg_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret, size_t *ret_n);
int pg_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);

/* ---- nodes.c ---------------------------------------------------------------- */

int pg_db_now(cw_store *s, int64_t *ret_us);
int pg_node_beat(cw_store *s, const cw_node_beat *b, bool *ret_was_dead);
int pg_node_leave(cw_store *s, const char *node);
int pg_nodes_list(cw_store *s, int64_t dead_after_us, cw_node **ret, size_t *ret_n);
int pg_nodes_sweep(cw_store *s, int64_t dead_after_us, char ***ret, size_t *ret_n);
int pg_node_jobs_set(cw_store *s, const char *node, const char *const *jobs,
                     const char *const *hashes, size_t n);
int pg_node_jobs_disagree(cw_store *s, const char *node, int64_t dead_after_us, char ***ret,
                          size_t *ret_n);

#endif
