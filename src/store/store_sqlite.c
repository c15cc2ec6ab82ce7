/* store_sqlite.c - the SQLite store backend (see store.h, store_backend.h).
 *
 * One file (data_dir/cronwarden.db), shared by every cronwarden process on
 * the host: the CLI, workers, later the daemon. Each process opens its own
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
 * the matching index; see list_sql().
 *
 * Not supported: opening a store the process cannot write (read-only
 * media, another user's file). Read commands need a writable store too,
 * since even a reader may have to replay the WAL after a crash. */
#include "store/store_backend.h"
#include "base/array.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQ_SCHEMA_LATEST 3
/* Pauses between retries of a busy operation grow from the first to the
 * last value (microseconds), doubling each time. */
#define SQ_BACKOFF_MIN_US 100
#define SQ_BACKOFF_MAX_US 20000
/* Finished runs deleted per transaction by prune: small enough that the
 * write lock is never held long enough to make workers wait noticeably. */
#define SQ_PRUNE_BATCH 2000

/* ---- schema --------------------------------------------------------------- */

/* Migration N is migrations[N - 1]; applied in order, each once, never
 * edited once released (add a new one instead). Constant SQL only. */
static const char *const migrations[] = {
        /* 1: the first schema. */
        "CREATE TABLE runs ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reuse ids, even after prune */
        "  job TEXT NOT NULL,"
        "  spec TEXT NOT NULL,"
        "  node TEXT,"
        "  status TEXT NOT NULL,"
        "  trigger TEXT NOT NULL,"
        "  attempt INTEGER NOT NULL DEFAULT 1,"
        "  scheduled_at INTEGER NOT NULL DEFAULT 0,"
        "  started_us INTEGER NOT NULL,"
        "  ended_us INTEGER NOT NULL DEFAULT 0,"
        "  worker_pid INTEGER NOT NULL DEFAULT 0,"
        "  pid INTEGER NOT NULL DEFAULT 0,"
        "  pid_start INTEGER NOT NULL DEFAULT 0,"
        "  exit_code INTEGER NOT NULL DEFAULT -1,"
        "  signal INTEGER NOT NULL DEFAULT 0,"
        "  progress_done INTEGER NOT NULL DEFAULT -1,"
        "  progress_total INTEGER NOT NULL DEFAULT -1,"
        "  output_size INTEGER NOT NULL DEFAULT 0,"
        "  output_truncated INTEGER NOT NULL DEFAULT 0,"
        "  reason TEXT,"
        "  lock_key TEXT,"
        "  resume TEXT NOT NULL DEFAULT 'none',"
        "  resumed_from INTEGER NOT NULL DEFAULT 0"
        ");"
        /* Output lives apart so that listing runs never reads it. */
        "CREATE TABLE run_output ("
        "  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
        "  output BLOB"
        ");"
        "CREATE TABLE claims ("
        "  spec TEXT NOT NULL,"
        "  scheduled_at INTEGER NOT NULL,"
        "  node TEXT NOT NULL,"
        "  claimed_us INTEGER NOT NULL,"
        "  PRIMARY KEY (spec, scheduled_at)"
        ");"
        "CREATE TABLE scheduler_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE job_state (job TEXT PRIMARY KEY, enabled INTEGER NOT NULL);"
        "CREATE TABLE requests ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  spec TEXT NOT NULL,"
        "  requested_by TEXT,"
        "  requested_us INTEGER NOT NULL,"
        "  taken INTEGER NOT NULL DEFAULT 0"
        ");"
        /* history JOB: newest runs of one job. */
        "CREATE INDEX runs_job ON runs(job, id);"
        /* history --status S. */
        "CREATE INDEX runs_status ON runs(status, id);"
        /* status, kill, clean: the few active runs among millions. The
         * WHERE text must match list_sql()'s ACTIVE fragment exactly. */
        "CREATE INDEX runs_active ON runs(id) WHERE status IN ('queued', 'running');"
        /* prune. */
        "CREATE INDEX runs_started ON runs(started_us);"
        /* resume, clean. */
        "CREATE INDEX runs_resume ON runs(id) WHERE resume = 'pending';"
        /* Pruning old claims (the scheduler's issue) without a migration. */
        "CREATE INDEX claims_at ON claims(scheduled_at);"
        "CREATE INDEX requests_pending ON requests(id) WHERE taken = 0;",
        /* 2: aggregates for the admin overview and /metrics (kept by
         * stats_change(), backfilled here from the runs already recorded),
         * and UI-created schedule entries. The bucket bounds in the CASE
         * expressions are cw_store_duration_bounds and
         * cw_store_lateness_bounds; bucket N (their count) is +Inf. */
        /* GET /api/v1/runs?job=J&status=S: without it the planner walks
         * every run of status S (a tenth of the history) for one job's. */
        "CREATE INDEX runs_job_status ON runs(job, status, id);"
        "CREATE TABLE job_stats ("
        "  job TEXT PRIMARY KEY,"
        "  last_run_id INTEGER NOT NULL DEFAULT 0,"
        "  last_success_us INTEGER NOT NULL DEFAULT 0,"
        "  last_status TEXT NOT NULL DEFAULT ''" /* of last_run_id, for counting failing jobs */
        ");"
        "CREATE TABLE run_counts ("
        "  job TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  n INTEGER NOT NULL,"
        "  PRIMARY KEY (job, status)"
        ") WITHOUT ROWID;"
        /* metric 'duration' per job; 'lateness' with job ''. */
        "CREATE TABLE histograms ("
        "  metric TEXT NOT NULL,"
        "  job TEXT NOT NULL,"
        "  bucket INTEGER NOT NULL,"
        "  n INTEGER NOT NULL,"
        "  PRIMARY KEY (metric, job, bucket)"
        ") WITHOUT ROWID;"
        "CREATE TABLE histogram_sums ("
        "  metric TEXT NOT NULL,"
        "  job TEXT NOT NULL,"
        "  n INTEGER NOT NULL,"
        "  sum REAL NOT NULL,"
        "  PRIMARY KEY (metric, job)"
        ") WITHOUT ROWID;"
        "CREATE TABLE ui_entries ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  schedule TEXT NOT NULL,"
        "  spec TEXT,"
        "  command TEXT,"
        "  description TEXT NOT NULL DEFAULT '',"
        "  enabled INTEGER NOT NULL DEFAULT 1,"
        "  created_by TEXT,"
        "  created_us INTEGER NOT NULL,"
        "  updated_us INTEGER NOT NULL,"
        "  CHECK ((spec IS NULL) <> (command IS NULL))"
        ");"
        "INSERT INTO job_stats (job, last_run_id, last_success_us) "
        "  SELECT job, max(CASE WHEN status IN ('queued', 'running') THEN 0 ELSE id END),"
        "         max(CASE WHEN status = 'succeeded' THEN ended_us ELSE 0 END) "
        "  FROM runs GROUP BY job;"
        "UPDATE job_stats SET last_status = "
        "  coalesce((SELECT status FROM runs WHERE id = job_stats.last_run_id), '');"
        "INSERT INTO run_counts (job, status, n) "
        "  SELECT job, status, count(*) FROM runs "
        "  WHERE status NOT IN ('queued', 'running') GROUP BY job, status;"
        "INSERT INTO histograms (metric, job, bucket, n) "
        "  SELECT 'duration', job, CASE"
        "    WHEN d <= 0.1 THEN 0 WHEN d <= 0.5 THEN 1 WHEN d <= 1 THEN 2 WHEN d <= 2.5 THEN 3"
        "    WHEN d <= 5 THEN 4 WHEN d <= 10 THEN 5 WHEN d <= 30 THEN 6 WHEN d <= 60 THEN 7"
        "    WHEN d <= 300 THEN 8 WHEN d <= 600 THEN 9 WHEN d <= 1800 THEN 10"
        "    WHEN d <= 3600 THEN 11 WHEN d <= 7200 THEN 12 WHEN d <= 86400 THEN 13 ELSE 14 END AS b,"
        "    count(*)"
        "  FROM (SELECT job, max(ended_us - started_us, 0) / 1e6 AS d FROM runs"
        "        WHERE status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost'))"
        "  GROUP BY job, b;"
        "INSERT INTO histogram_sums (metric, job, n, sum) "
        "  SELECT 'duration', job, count(*), total(max(ended_us - started_us, 0) / 1e6) FROM runs"
        "  WHERE status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost') GROUP BY job;"
        "INSERT INTO histograms (metric, job, bucket, n) "
        "  SELECT 'lateness', '', CASE"
        "    WHEN d <= 0.005 THEN 0 WHEN d <= 0.01 THEN 1 WHEN d <= 0.025 THEN 2"
        "    WHEN d <= 0.05 THEN 3 WHEN d <= 0.1 THEN 4 WHEN d <= 0.25 THEN 5 WHEN d <= 0.5 THEN 6"
        "    WHEN d <= 1 THEN 7 WHEN d <= 2.5 THEN 8 WHEN d <= 5 THEN 9 WHEN d <= 10 THEN 10"
        "    WHEN d <= 60 THEN 11 ELSE 12 END AS b,"
        "    count(*)"
        "  FROM (SELECT max(started_us - scheduled_at * 1000000, 0) / 1e6 AS d FROM runs"
        "        WHERE trigger = 'schedule' AND scheduled_at > 0"
        "        AND status NOT IN ('queued', 'skipped', 'missed'))"
        "  GROUP BY b;"
        "INSERT INTO histogram_sums (metric, job, n, sum) "
        "  SELECT 'lateness', '', count(*), total(max(started_us - scheduled_at * 1000000, 0) / 1e6)"
        "  FROM runs WHERE trigger = 'schedule' AND scheduled_at > 0"
        "  AND status NOT IN ('queued', 'skipped', 'missed') HAVING count(*) > 0;",
        /* 3: the failing jobs (ST_JOBS_FAILING, counted on every jobs page
         * and API list) from an index, not a walk of every job's row: with
         * 10 000 jobs ~2 ms -> ~0.1 ms. */
        "CREATE INDEX job_stats_status ON job_stats(last_status, job);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SQ_SCHEMA_LATEST,
               "one migration per schema version");

/* ---- statements ----------------------------------------------------------- */

#define RUN_COLS                                                                                   \
        "id, job, spec, node, status, trigger, attempt, scheduled_at, started_us, ended_us, "      \
        "worker_pid, pid, pid_start, exit_code, signal, progress_done, progress_total, "           \
        "output_size, output_truncated, reason, lock_key, resume, resumed_from"

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
        ST_JOBS_LAST,
        ST_JOB_LAST,
        ST_JOBS_FAILING,
        ST_JOBS_DISABLED,
        ST_UI_ADD,
        ST_UI_UPDATE,
        ST_UI_DELETE,
        ST_UI_GET,
        ST_UI_LIST,
        ST_MAX,
} stmt_id;

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
        [ST_RUN_STARTED] = "UPDATE runs SET status = 'running', ended_us = 0, worker_pid = ?2, pid = ?3, "
                           "pid_start = ?4 WHERE id = ?1 AND status IN ('queued', 'running', 'lost')",
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
        [ST_RUN_OUTPUT_GET] = "SELECT r.status, r.output_size, r.output_truncated, o.output FROM runs r "
                              "LEFT JOIN run_output o ON o.run_id = r.id WHERE r.id = ?1",
        /* By batches through runs_started; run_output rows go by cascade. */
        [ST_PRUNE] = "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE started_us < ?1 "
                     "AND status NOT IN ('queued', 'running') LIMIT ?2)",
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
        /* What stats_change() needs to know about a run before changing it. */
        [ST_RUN_BRIEF] = "SELECT job, status, started_us FROM runs WHERE id = ?1",
        [ST_COUNT_ADD] = "INSERT INTO run_counts (job, status, n) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (job, status) DO UPDATE SET n = n + excluded.n",
        [ST_HIST_ADD] = "INSERT INTO histograms (metric, job, bucket, n) VALUES (?1, ?2, ?3, 1) "
                        "ON CONFLICT (metric, job, bucket) DO UPDATE SET n = n + 1",
        [ST_HIST_SUM_ADD] = "INSERT INTO histogram_sums (metric, job, n, sum) VALUES (?1, ?2, 1, ?3) "
                            "ON CONFLICT (metric, job) DO UPDATE SET n = n + 1, sum = sum + excluded.sum",
        /* SET expressions see the old row: last_status follows the run
         * that is (or stays) the newest. */
        [ST_JOB_STATS_NOTE] = "INSERT INTO job_stats (job, last_run_id, last_success_us, last_status) "
                              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job) DO UPDATE SET "
                              "last_run_id = max(last_run_id, excluded.last_run_id), "
                              "last_success_us = max(last_success_us, excluded.last_success_us), "
                              "last_status = CASE WHEN excluded.last_run_id >= last_run_id "
                              "THEN excluded.last_status ELSE last_status END",
        [ST_STATS_JOBS] = "SELECT job, last_run_id, last_success_us FROM job_stats ORDER BY job",
        [ST_STATS_COUNTS] = "SELECT job, status, n FROM run_counts",
        [ST_STATS_HIST] = "SELECT metric, job, bucket, n FROM histograms",
        [ST_STATS_SUMS] = "SELECT metric, job, n, sum FROM histogram_sums",
        /* The same for one job (?1), and the all-jobs lateness ('' job). */
        [ST_STATS_JOBS_ONE] = "SELECT job, last_run_id, last_success_us FROM job_stats WHERE job = ?1",
        [ST_STATS_COUNTS_ONE] = "SELECT job, status, n FROM run_counts WHERE job = ?1",
        [ST_STATS_HIST_ONE] = "SELECT metric, job, bucket, n FROM histograms "
                              "WHERE (metric = 'duration' AND job = ?1) OR (metric = 'lateness' AND job = '')",
        [ST_STATS_SUMS_ONE] = "SELECT metric, job, n, sum FROM histogram_sums "
                              "WHERE (metric = 'duration' AND job = ?1) OR (metric = 'lateness' AND job = '')",
        [ST_JOBS_LAST] = "SELECT " RUN_COLS " FROM runs WHERE id IN (SELECT last_run_id FROM job_stats)",
        /* The statuses of cw_run_status_is_failure (run.h). */
        [ST_JOBS_FAILING] = "SELECT job FROM job_stats WHERE last_status IN ('failed', 'timed_out', 'lost') "
                            "ORDER BY job",
        [ST_JOB_LAST] = "SELECT " RUN_COLS " FROM runs WHERE id = (SELECT last_run_id FROM job_stats WHERE job = ?1)",
        [ST_JOBS_DISABLED] = "SELECT job FROM job_state WHERE enabled = 0 ORDER BY job",
        [ST_UI_ADD] = "INSERT INTO ui_entries (schedule, spec, command, description, enabled, created_by, "
                      "created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        [ST_UI_UPDATE] = "UPDATE ui_entries SET schedule = ?2, spec = ?3, command = ?4, description = ?5, "
                         "enabled = ?6, updated_us = ?7 WHERE id = ?1",
        [ST_UI_DELETE] = "DELETE FROM ui_entries WHERE id = ?1",
        [ST_UI_GET] = "SELECT id, schedule, spec, command, description, enabled, created_by, created_us, "
                      "updated_us FROM ui_entries WHERE id = ?1",
        [ST_UI_LIST] = "SELECT id, schedule, spec, command, description, enabled, created_by, created_us, "
                       "updated_us FROM ui_entries ORDER BY id",
};

/* Listing runs: one variant per combination of the filters that are set
 * (see list_sql()), prepared on first use. */
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
        bool batch;      /* a batch's transaction is open (cw_store_batch_begin) */
        bool batch_lost; /* ... and SQLite rolled it back under us */
        sqlite3_stmt *st[ST_MAX];
        sqlite3_stmt *list[LIST_VARIANTS];
} sq_store;

static sq_store *sq_of(cw_store *s)
{
        return (sq_store *)s;
}

/* ---- errors --------------------------------------------------------------- */

/* A SQLite result code as a negative errno. SQLITE_BUSY and SQLITE_LOCKED
 * (and the WAL index race SQLITE_PROTOCOL) become -EBUSY, which the retry
 * loops below treat as "try again". */
static int sq_errno(sqlite3 *db, int rc)
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
                return sys == ENOSPC || sys == EDQUOT ? -ENOSPC : -EIO;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EIO;
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

static bool sq_is_busy(int rc)
{
        rc &= 0xff;
        return rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_PROTOCOL;
}

/* ---- busy retries --------------------------------------------------------- */

typedef struct sq_deadline {
        int64_t end_ns; /* CLOCK_MONOTONIC */
        int64_t delay_us;
} sq_deadline;

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deadline_init(sq_deadline *d)
{
        d->end_ns = mono_ns() + (int64_t)CW_STORE_BUSY_MS * 1000000;
        d->delay_us = SQ_BACKOFF_MIN_US;
}

/* Waits before the next attempt at a busy operation; false when the
 * deadline has passed (give up). SQLite has no way to wait for its locks
 * to be released (they are fcntl locks and shared-memory bits), so a
 * bounded, growing pause is the only option; it is the same thing its own
 * busy handler does. */
static bool deadline_wait(sq_deadline *d)
{
        int64_t left_us = (d->end_ns - mono_ns()) / 1000;
        int64_t us = d->delay_us < left_us ? d->delay_us : left_us;
        struct timespec ts;

        if (left_us <= 0)
                return false;
        ts.tv_sec = us / 1000000;
        ts.tv_nsec = (us % 1000000) * 1000;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        if (d->delay_us < SQ_BACKOFF_MAX_US)
                d->delay_us *= 2;
        return true;
}

/* ---- statement helpers ---------------------------------------------------- */

/* The cached statement `id`, prepared on first use. */
static int sq_stmt(sq_store *q, stmt_id id, sqlite3_stmt **ret)
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
static void stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

/* Binding accumulates the first error so a statement's parameters can be
 * bound in a row and checked once. */
typedef struct sq_bind {
        sqlite3_stmt *st;
        int rc;
} sq_bind;

static void bind_i64(sq_bind *b, int i, int64_t v)
{
        if (b->rc == SQLITE_OK)
                b->rc = sqlite3_bind_int64(b->st, i, v);
}

/* NULL binds SQL NULL. The text must outlive the statement's use. */
static void bind_text(sq_bind *b, int i, const char *s)
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

static int bind_done(sq_store *q, const sq_bind *b)
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

static int dup_text(sqlite3_stmt *st, int col, char **ret)
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

/* ---- transactions --------------------------------------------------------- */

/* Runs one cached statement that may meet a busy database (BEGIN
 * IMMEDIATE, COMMIT), retrying until d's deadline. A COMMIT that fails
 * busy leaves its transaction open, so retrying it is correct. */
static int exec_retry(sq_store *q, stmt_id id, sq_deadline *d)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = sq_stmt(q, id, &st);

        for (;;) {
                int rc;

                if (r < 0) {
                        if (r != -EBUSY || !deadline_wait(d))
                                return r;
                        r = sq_stmt(q, id, &st);
                        continue;
                }
                rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                        return 0;
                if (!sq_is_busy(rc) || !deadline_wait(d))
                        return sq_errno(q->db, rc);
        }
}

static void rollback(sq_store *q)
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

typedef int (*sq_txn_fn)(sq_store *q, void *ctx);

/* Runs one statement once (no retries: inside a batch, which holds the
 * write lock, nothing waits). */
static int exec_once_stmt(sq_store *q, stmt_id id)
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
static int batch_write(sq_store *q, sq_txn_fn fn, void *ctx)
{
        int r;

        if (q->batch_lost)
                return -ECANCELED;
        r = exec_once_stmt(q, ST_SAVEPOINT);
        if (r == 0) {
                r = fn(q, ctx);
                if (r == 0)
                        r = exec_once_stmt(q, ST_RELEASE);
                if (r < 0 && !sqlite3_get_autocommit(q->db)) {
                        (void)exec_once_stmt(q, ST_ROLLBACK_TO);
                        (void)exec_once_stmt(q, ST_RELEASE);
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
static int sq_write(sq_store *q, sq_txn_fn fn, void *ctx)
{
        sq_deadline d;

        if (q->batch)
                return batch_write(q, fn, ctx);
        deadline_init(&d);
        for (;;) {
                int r = exec_retry(q, ST_BEGIN, &d);
                if (r < 0)
                        return r;
                r = fn(q, ctx);
                if (r == 0)
                        r = exec_retry(q, ST_COMMIT, &d);
                if (r == 0)
                        return 0;
                rollback(q);
                if (r != -EBUSY || !deadline_wait(&d))
                        return r;
        }
}

/* Runs a read (one statement in autocommit mode, so it sees one snapshot)
 * with the same retries as sq_write. fn must leave nothing allocated in
 * ctx when it fails. */
static int sq_read(sq_store *q, sq_txn_fn fn, void *ctx)
{
        sq_deadline d;

        deadline_init(&d);
        for (;;) {
                int r = fn(q, ctx);
                if (r != -EBUSY || !deadline_wait(&d))
                        return r;
        }
}

/* ---- aggregates ----------------------------------------------------------- */

const double cw_store_duration_bounds[CW_STORE_DURATION_BUCKETS] = {
        0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 86400,
};
const double cw_store_lateness_bounds[CW_STORE_LATENESS_BUCKETS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60,
};
_Static_assert(CW_STORE_DURATION_BUCKETS <= CW_STORE_HIST_MAX, "too many duration buckets");
_Static_assert(CW_STORE_LATENESS_BUCKETS <= CW_STORE_HIST_MAX, "too many lateness buckets");

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

static int stmt_run(sq_store *q, sqlite3_stmt *st, sq_bind *b)
{
        int e = bind_done(q, b);

        return e < 0 ? e : step_done(q, st);
}

static int count_add(sq_store *q, const char *job, cw_run_status status, int64_t delta)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_COUNT_ADD, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, job);
        bind_text(&b, 2, cw_run_status_to_string(status));
        bind_i64(&b, 3, delta);
        return stmt_run(q, st, &b);
}

static int observe(sq_store *q, const char *metric, const char *job, const double *bounds, int n,
                   double v)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *sum = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_HIST_ADD, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, metric);
        bind_text(&b, 2, job);
        bind_i64(&b, 3, bucket_of(bounds, n, v));
        e = stmt_run(q, st, &b);
        if (e == 0)
                e = sq_stmt(q, ST_HIST_SUM_ADD, &sum);
        if (e < 0)
                return e;
        b = (sq_bind){sum, SQLITE_OK};
        bind_text(&b, 1, metric);
        bind_text(&b, 2, job);
        if (b.rc == SQLITE_OK)
                b.rc = sqlite3_bind_double(sum, 3, v);
        return stmt_run(q, sum, &b);
}

/* Keeps the aggregates in step with one run's status change, inside the
 * transaction that makes it: `from` is the status it had (-1 for a new
 * run), `to` the one it gets. A run is counted when it first becomes
 * final; a final-to-final correction moves the count. */
static int stats_change(sq_store *q, const char *job, int64_t id, int from, cw_run_status to,
                        int64_t started_us, int64_t ended_us)
{
        bool was_final = from >= 0 && cw_run_status_is_final((cw_run_status)from);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = 0;

        if (was_final && (cw_run_status)from == to)
                return 0;
        if (was_final)
                e = count_add(q, job, (cw_run_status)from, -1);
        if (e < 0 || !cw_run_status_is_final(to))
                return e;
        e = count_add(q, job, to, 1);
        if (e == 0 && !was_final && status_ran(to) && started_us > 0)
                e = observe(q, "duration", job, cw_store_duration_bounds, CW_STORE_DURATION_BUCKETS,
                            ended_us > started_us ? (double)(ended_us - started_us) / 1e6 : 0.0);
        if (e == 0)
                e = sq_stmt(q, ST_JOB_STATS_NOTE, &st);
        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, job);
        bind_i64(&b, 2, id);
        bind_i64(&b, 3, to == CW_RUN_SUCCEEDED ? ended_us : 0);
        bind_text(&b, 4, cw_run_status_to_string(to));
        return stmt_run(q, st, &b);
}

/* A run's job, status and start, before a change (-ENOENT: no such run). */
typedef struct run_brief {
        char *job;
        cw_run_status status;
        int64_t started_us;
} run_brief;

static int run_brief_read(sq_store *q, int64_t id, run_brief *ret)
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
        e = dup_text(st, 0, &ret->job);
        if (e == 0 && !ret->job)
                e = -EIO;
        return e;
}

/* ---- runs ----------------------------------------------------------------- */

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
        e = dup_text(st, 1, &r.job);
        if (e == 0)
                e = dup_text(st, 2, &r.spec);
        if (e == 0)
                e = dup_text(st, 3, &r.node);
        if (e == 0)
                e = dup_text(st, 19, &r.reason);
        if (e == 0)
                e = dup_text(st, 20, &r.lock_key);
        if (e == 0 && (!r.job || !r.spec))
                e = -EIO;
        if (e < 0) {
                cw_run_release(&r);
                return e;
        }
        *ret = r;
        return 0;
}

typedef struct insert_ctx {
        const cw_run *run;
        int64_t id;
} insert_ctx;

static int insert_txn(sq_store *q, void *ctx)
{
        insert_ctx *c = ctx;
        const cw_run *r = c->run;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_RUN_INSERT, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, r->job);
        bind_text(&b, 2, r->spec);
        bind_text(&b, 3, r->node);
        bind_text(&b, 4, cw_run_status_to_string(r->status));
        bind_text(&b, 5, cw_trigger_to_string(r->trigger));
        bind_i64(&b, 6, r->attempt);
        bind_i64(&b, 7, r->scheduled_at);
        bind_i64(&b, 8, r->started_us);
        bind_i64(&b, 9, r->ended_us);
        bind_i64(&b, 10, r->worker_pid);
        bind_i64(&b, 11, r->pid);
        bind_i64(&b, 12, (int64_t)r->pid_start);
        bind_i64(&b, 13, r->exit_code);
        bind_i64(&b, 14, r->signal);
        bind_i64(&b, 15, r->progress_done);
        bind_i64(&b, 16, r->progress_total);
        bind_i64(&b, 17, (int64_t)r->output_size);
        bind_i64(&b, 18, r->output_truncated);
        bind_text(&b, 19, r->reason);
        bind_text(&b, 20, r->lock_key);
        bind_text(&b, 21, cw_resume_state_to_string(r->resume));
        bind_i64(&b, 22, r->resumed_from);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e < 0)
                return e;
        c->id = sqlite3_last_insert_rowid(q->db);
        e = stats_change(q, r->job, c->id, -1, r->status, r->started_us, r->ended_us);
        /* Lateness: a scheduled fire's start, measured once, when it starts
         * (running) or is handed to the daemon's spawner (queued, started_us
         * then being the hand-over instant). */
        if (e == 0 && (r->status == CW_RUN_RUNNING || r->status == CW_RUN_QUEUED) &&
            r->trigger == CW_TRIGGER_SCHEDULE && r->scheduled_at > 0)
                e = observe(q, "lateness", "", cw_store_lateness_bounds, CW_STORE_LATENESS_BUCKETS,
                            r->started_us > r->scheduled_at * 1000000
                                    ? (double)(r->started_us - r->scheduled_at * 1000000) / 1e6
                                    : 0.0);
        return e;
}

static int sq_run_insert(cw_store *s, cw_run *run)
{
        insert_ctx c = {.run = run};
        int r = sq_write(sq_of(s), insert_txn, &c);

        if (r == 0)
                run->id = c.id;
        return r;
}

/* An UPDATE of one run by id: -ENOENT when no row matched. */
typedef struct update_ctx {
        stmt_id id;
        int64_t run_id;
        int64_t a, b;
} update_ctx;

static int update_txn(sq_store *q, void *ctx)
{
        update_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, c->id, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->run_id);
        bind_i64(&b, 2, c->a);
        bind_i64(&b, 3, c->b);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0 && sqlite3_changes(q->db) == 0)
                e = -ENOENT;
        return e;
}

static int sq_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start)
{
        update_ctx c = {ST_RUN_SET_PID, id, pid, (int64_t)pid_start};

        return sq_write(sq_of(s), update_txn, &c);
}

static int cas_result(sq_store *q, int64_t id);

typedef struct started_ctx {
        int64_t id, worker_pid, pid, pid_start;
} started_ctx;

static int started_txn(sq_store *q, void *ctx)
{
        started_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_RUN_STARTED, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->id);
        bind_i64(&b, 2, c->worker_pid);
        bind_i64(&b, 3, c->pid);
        bind_i64(&b, 4, c->pid_start);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        return e < 0 ? e : cas_result(q, c->id);
}

static int sq_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start)
{
        started_ctx c = {id, worker_pid, pid, (int64_t)pid_start};

        return sq_write(sq_of(s), started_txn, &c);
}

static int sq_batch_begin(cw_store *s)
{
        sq_store *q = sq_of(s);
        sq_deadline d;
        int r;

        if (q->batch)
                return -EALREADY;
        deadline_init(&d);
        r = exec_retry(q, ST_BEGIN, &d);
        if (r < 0) {
                rollback(q);
                return r;
        }
        q->batch = true;
        q->batch_lost = false;
        return 0;
}

static int sq_batch_commit(cw_store *s)
{
        sq_store *q = sq_of(s);
        sq_deadline d;
        int r;

        if (!q->batch)
                return -EINVAL;
        q->batch = false;
        if (q->batch_lost || sqlite3_get_autocommit(q->db))
                return -ECANCELED;
        deadline_init(&d);
        r = exec_retry(q, ST_COMMIT, &d);
        if (r < 0)
                rollback(q);
        return r;
}

static void sq_batch_abort(cw_store *s)
{
        sq_store *q = sq_of(s);

        if (!q->batch)
                return;
        q->batch = false;
        rollback(q);
}

static int sq_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total)
{
        update_ctx c = {ST_RUN_PROGRESS, id, done, total};

        return sq_write(sq_of(s), update_txn, &c);
}

typedef struct finish_ctx {
        const cw_run *run;
        const void *output;
        size_t len;
} finish_ctx;

/* Run id's stored output: len bytes, or no row when len is 0. */
static int output_put(sq_store *q, int64_t id, const void *output, size_t len)
{
        _cleanup_stmt_ sqlite3_stmt *out = NULL;
        sq_bind b;
        int e = sq_stmt(q, len > 0 ? ST_OUTPUT_SET : ST_OUTPUT_DELETE, &out);

        if (e < 0)
                return e;
        b = (sq_bind){out, SQLITE_OK};
        bind_i64(&b, 1, id);
        if (len > 0)
                bind_blob(&b, 2, output, len);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, out);
        return e;
}

static int finish_txn(sq_store *q, void *ctx)
{
        finish_ctx *c = ctx;
        const cw_run *r = c->run;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *job = NULL;
        run_brief before = {0};
        sq_bind b;
        int e = run_brief_read(q, r->id, &before);

        job = before.job;
        if (e == 0)
                e = stats_change(q, job, r->id, (int)before.status, r->status, before.started_us, r->ended_us);
        if (e == 0)
                e = sq_stmt(q, ST_RUN_FINISH, &st);
        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, r->id);
        bind_text(&b, 2, cw_run_status_to_string(r->status));
        bind_i64(&b, 3, r->exit_code);
        bind_i64(&b, 4, r->signal);
        bind_i64(&b, 5, r->ended_us);
        bind_i64(&b, 6, (int64_t)r->output_size);
        bind_i64(&b, 7, r->output_truncated);
        bind_text(&b, 8, r->reason);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0 && sqlite3_changes(q->db) == 0)
                return -ENOENT;
        if (e < 0)
                return e;

        /* Empty output is no row (run_output also says NULL for it). */
        return output_put(q, r->id, c->output, c->len);
}

static int sq_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len)
{
        finish_ctx c = {run, output, len};

        return sq_write(sq_of(s), finish_txn, &c);
}

/* Compare-and-set of one column: the UPDATE (bound by the caller in
 * `fill`) matched nothing, so tell a stale `from` apart from a missing run. */
static int cas_result(sq_store *q, int64_t id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e, rc;

        if (sqlite3_changes(q->db) > 0)
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

typedef struct transition_ctx {
        int64_t id;
        const char *from, *to, *reason;
        int64_t ended_us;
} transition_ctx;

static int transition_txn(sq_store *q, void *ctx)
{
        transition_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_RUN_TRANSITION, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->id);
        bind_text(&b, 2, c->from);
        bind_text(&b, 3, c->to);
        bind_text(&b, 4, c->reason);
        bind_i64(&b, 5, c->ended_us);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0 && sqlite3_changes(q->db) > 0) {
                _cleanup_free_ char *job = NULL;
                run_brief after = {0};
                cw_run_status from, to;

                /* Read back after the change: the same row, now with `to`. */
                e = run_brief_read(q, c->id, &after);
                job = after.job;
                if (e == 0 && (cw_run_status_from_string(c->from, &from) < 0 ||
                               cw_run_status_from_string(c->to, &to) < 0))
                        e = -EINVAL;
                if (e == 0)
                        e = stats_change(q, job, c->id, (int)from, to, after.started_us, c->ended_us);
                return e;
        }
        return e < 0 ? e : cas_result(q, c->id);
}

static int sq_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                             const char *reason, int64_t now_us)
{
        /* An active status has no end; a final one ends now. */
        transition_ctx c = {id, cw_run_status_to_string(from), cw_run_status_to_string(to), reason,
                            cw_run_status_is_final(to) ? now_us : 0};

        return sq_write(sq_of(s), transition_txn, &c);
}

static int set_resume_txn(sq_store *q, void *ctx)
{
        transition_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_RUN_SET_RESUME, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->id);
        bind_text(&b, 2, c->from);
        bind_text(&b, 3, c->to);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        return e < 0 ? e : cas_result(q, c->id);
}

static int sq_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to)
{
        transition_ctx c = {id, cw_resume_state_to_string(from), cw_resume_state_to_string(to),
                            NULL, 0};

        return sq_write(sq_of(s), set_resume_txn, &c);
}

typedef struct get_ctx {
        int64_t id;
        cw_run run;
} get_ctx;

static int get_read(sq_store *q, void *ctx)
{
        get_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_RUN_GET, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_bind_int64(st, 1, c->id);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sq_errno(q->db, rc);
        return read_run(st, &c->run);
}

static int sq_run_get(cw_store *s, int64_t id, cw_run *ret)
{
        get_ctx c = {.id = id};
        int r = sq_read(sq_of(s), get_read, &c);

        if (r == 0)
                *ret = c.run;
        return r;
}

typedef struct output_ctx {
        int64_t id;
        void *data;
        size_t len;
} output_ctx;

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

static int output_read(sq_store *q, void *ctx)
{
        output_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_RUN_OUTPUT, &st);

        if (e == 0)
                e = step_id_row(q, st, c->id);
        return e < 0 ? e : copy_blob(st, 0, &c->data, &c->len);
}

static int sq_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len)
{
        output_ctx c = {.id = id};
        int r = sq_read(sq_of(s), output_read, &c);

        if (r == 0) {
                *ret = c.data;
                *ret_len = c.len;
        }
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
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_RUN_OUTPUT_SNAPSHOT, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->id);
        bind_i64(&b, 2, (int64_t)c->size);
        bind_i64(&b, 3, c->truncated);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0)
                e = cas_result(q, c->id);
        if (e < 0)
                return e;
        return output_put(q, c->id, c->output, c->len);
}

/* One attempt, with the busy handler off for its duration: whoever holds
 * the write lock, this returns at once. The statements met inside never
 * wait either (they run under the lock this transaction holds). */
static int sq_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated, const void *output,
                                  size_t len)
{
        sq_store *q = sq_of(s);
        snapshot_ctx c = {id, size, truncated, output, len};
        int r;

        if (q->batch)
                return batch_write(q, snapshot_txn, &c);
        sqlite3_busy_timeout(q->db, 0);
        r = exec_once_stmt(q, ST_BEGIN);
        if (r == 0) {
                r = snapshot_txn(q, &c);
                if (r == 0)
                        r = exec_once_stmt(q, ST_COMMIT);
                if (r < 0)
                        rollback(q);
        }
        sqlite3_busy_timeout(q->db, CW_STORE_BUSY_MS);
        return r;
}

typedef struct output_get_ctx {
        int64_t id;
        cw_run_output out;
} output_get_ctx;

static int output_get_read(sq_store *q, void *ctx)
{
        output_get_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_RUN_OUTPUT_GET, &st);
        const unsigned char *status;

        if (e == 0)
                e = step_id_row(q, st, c->id);
        if (e < 0)
                return e;
        status = sqlite3_column_text(st, 0);
        if (!status || cw_run_status_from_string((const char *)status, &c->out.status) < 0)
                return -EIO;
        c->out.size = (uint64_t)sqlite3_column_int64(st, 1);
        c->out.truncated = sqlite3_column_int(st, 2) != 0;
        return copy_blob(st, 3, &c->out.data, &c->out.len);
}

static int sq_run_output_get(cw_store *s, int64_t id, cw_run_output *ret)
{
        output_get_ctx c = {.id = id};
        int r = sq_read(sq_of(s), output_get_read, &c);

        if (r == 0)
                *ret = c.out;
        return r;
}

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
                bind_text(&b, 1, f->job);
        if (v & LIST_STATUS)
                bind_text(&b, 2, cw_run_status_to_string((cw_run_status)f->status));
        if (v & LIST_RESUME)
                bind_text(&b, 4, cw_resume_state_to_string((cw_resume_state)f->resume));
        if (v & LIST_BEFORE)
                bind_i64(&b, 5, f->before_id);
        /* LIMIT -1 is no limit. */
        bind_i64(&b, 6, f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit);
        if (b.rc != SQLITE_OK) {
                stmt_resetp(&st);
                return sq_errno(q->db, b.rc);
        }
        *ret = st;
        return 0;
}

typedef struct list_ctx {
        const cw_run_filter *f;
        cw_run *runs;
        size_t n, cap;
} list_ctx;

static int list_read(sq_store *q, void *ctx)
{
        list_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = list_stmt(q, c->f, &st), rc;

        if (e < 0)
                return e;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                e = cw_array_reserve((void **)&c->runs, &c->cap, c->n + 1, sizeof(cw_run), 16);
                if (e == 0)
                        e = read_run(st, &c->runs[c->n]);
                if (e < 0)
                        break;
                c->n++;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        if (e < 0) {
                cw_runs_free(c->runs, c->n);
                c->runs = NULL;
                c->n = c->cap = 0;
        }
        return e;
}

static int sq_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n)
{
        list_ctx c = {.f = f};
        int r = sq_read(sq_of(s), list_read, &c);

        if (r == 0) {
                *ret = c.runs;
                *ret_n = c.n;
        }
        return r;
}

typedef struct prune_ctx {
        int64_t before_us;
        int64_t deleted;
} prune_ctx;

static int prune_txn(sq_store *q, void *ctx)
{
        prune_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_PRUNE, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->before_us);
        bind_i64(&b, 2, SQ_PRUNE_BATCH);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        /* changes() counts the runs rows only, not the cascaded outputs. */
        if (e == 0)
                c->deleted = sqlite3_changes64(q->db);
        return e;
}

/* One batch per transaction, so workers recording runs meanwhile wait for
 * one batch at most, never for the whole prune. A prune that fails half
 * way has deleted the batches before; running it again finishes the job. */
static int sq_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        sq_store *q = sq_of(s);
        uint64_t total = 0;

        for (;;) {
                prune_ctx c = {before_us, 0};
                int r = sq_write(q, prune_txn, &c);
                if (r < 0)
                        return r;
                total += (uint64_t)c.deleted;
                if (c.deleted < SQ_PRUNE_BATCH)
                        break;
        }
        if (ret_deleted)
                *ret_deleted = total;
        return 0;
}

/* ---- scheduler ------------------------------------------------------------ */

typedef struct claim_ctx {
        const char *spec, *node;
        cw_time at;
        int64_t now_us;
        bool won;
} claim_ctx;

static int claim_txn(sq_store *q, void *ctx)
{
        claim_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_CLAIM, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, c->spec);
        bind_i64(&b, 2, c->at);
        bind_text(&b, 3, c->node);
        bind_i64(&b, 4, c->now_us);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0)
                c->won = sqlite3_changes(q->db) == 1;
        return e;
}

static int sq_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node,
                    bool *ret_won)
{
        /* claimed_us is for people reading the table, not for the logic. */
        claim_ctx c = {spec, node, scheduled_at, real_us(), false};
        int r = sq_write(sq_of(s), claim_txn, &c);

        if (r == 0)
                *ret_won = c.won;
        return r;
}

/* A single-row, single-column lookup by a text key: the string or the
 * integer of column 0. */
typedef struct lookup_ctx {
        stmt_id id;
        const char *key;
        char *text;
        int64_t num;
        bool want_text;
} lookup_ctx;

static int lookup_read(sq_store *q, void *ctx)
{
        lookup_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->id, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sq_errno(q->db, rc);
        if (!c->want_text) {
                c->num = sqlite3_column_int64(st, 0);
                return 0;
        }
        e = dup_text(st, 0, &c->text);
        if (e == 0 && !c->text)
                e = -EIO; /* NOT NULL column */
        return e;
}

/* An upsert of (text key, value); value_text NULL binds value_num. */
typedef struct upsert_ctx {
        stmt_id id;
        const char *key, *value_text;
        int64_t value_num;
} upsert_ctx;

static int upsert_txn(sq_store *q, void *ctx)
{
        upsert_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, c->id, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, c->key);
        if (c->value_text)
                bind_text(&b, 2, c->value_text);
        else
                bind_i64(&b, 2, c->value_num);
        e = bind_done(q, &b);
        return e < 0 ? e : step_done(q, st);
}

static int sq_state_get(cw_store *s, const char *key, char **ret)
{
        lookup_ctx c = {.id = ST_STATE_GET, .key = key, .want_text = true};
        int r = sq_read(sq_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.text;
        return r;
}

static int sq_state_set(cw_store *s, const char *key, const char *value)
{
        upsert_ctx c = {ST_STATE_SET, key, value, 0};

        return sq_write(sq_of(s), upsert_txn, &c);
}

static int sq_job_enabled_get(cw_store *s, const char *job, bool *ret)
{
        lookup_ctx c = {.id = ST_JOB_GET, .key = job};
        int r = sq_read(sq_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.num != 0;
        return r;
}

static int sq_job_enabled_set(cw_store *s, const char *job, bool enabled)
{
        upsert_ctx c = {ST_JOB_SET, job, NULL, enabled};

        return sq_write(sq_of(s), upsert_txn, &c);
}

typedef struct request_ctx {
        const char *spec, *by;
        int64_t now_us;
        int64_t id;
} request_ctx;

static int request_add_txn(sq_store *q, void *ctx)
{
        request_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_REQUEST_ADD, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, c->spec);
        bind_text(&b, 2, c->by);
        bind_i64(&b, 3, c->now_us);
        e = bind_done(q, &b);
        if (e == 0)
                e = step_done(q, st);
        if (e == 0)
                c->id = sqlite3_last_insert_rowid(q->db);
        return e;
}

static int sq_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us,
                          int64_t *ret_id)
{
        request_ctx c = {spec, by, now_us, 0};
        int r = sq_write(sq_of(s), request_add_txn, &c);

        if (r == 0 && ret_id)
                *ret_id = c.id;
        return r;
}

typedef struct take_ctx {
        size_t max;
        cw_request *reqs;
        size_t n, cap;
} take_ctx;

static void take_reset(take_ctx *c)
{
        cw_requests_free(c->reqs, c->n);
        c->reqs = NULL;
        c->n = c->cap = 0;
}

static int take_rows(sq_store *q, take_ctx *c)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_REQUESTS_PENDING, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_bind_int64(st, 1, c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                cw_request *r;

                e = cw_array_reserve((void **)&c->reqs, &c->cap, c->n + 1, sizeof(*c->reqs), 8);
                if (e < 0)
                        return e;
                r = &c->reqs[c->n];
                memset(r, 0, sizeof(*r));
                r->id = sqlite3_column_int64(st, 0);
                r->requested_us = sqlite3_column_int64(st, 3);
                c->n++; /* counted now so take_reset frees a half-read row */
                e = dup_text(st, 1, &r->spec);
                if (e == 0)
                        e = dup_text(st, 2, &r->by);
                if (e == 0 && !r->spec)
                        e = -EIO;
                if (e < 0)
                        return e;
        }
        return rc == SQLITE_DONE ? 0 : sq_errno(q->db, rc);
}

/* The select and the marking happen under one write lock, so two takers
 * can never both see a request as pending. */
static int take_txn(sq_store *q, void *ctx)
{
        take_ctx *c = ctx;
        int e;

        take_reset(c); /* an earlier, rolled-back attempt */
        e = take_rows(q, c);
        for (size_t i = 0; e == 0 && i < c->n; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int rc;

                e = sq_stmt(q, ST_REQUEST_TAKE, &st);
                if (e < 0)
                        break;
                rc = sqlite3_bind_int64(st, 1, c->reqs[i].id);
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                if (rc != SQLITE_DONE)
                        e = sq_errno(q->db, rc);
        }
        return e;
}

static int sq_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = {.max = max};
        int r;

        if (max == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = sq_write(sq_of(s), take_txn, &c);
        if (r < 0) {
                take_reset(&c);
                return r;
        }
        *ret = c.reqs;
        *ret_n = c.n;
        return 0;
}

/* Pending requests without taking them: the same select as take_rows,
 * as a plain read. */
static int pending_read(sq_store *q, void *ctx)
{
        take_ctx *c = ctx;
        int e;

        take_reset(c); /* an earlier attempt that met a busy database */
        e = take_rows(q, c);
        if (e < 0)
                take_reset(c);
        return e;
}

static int sq_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = {.max = max == 0 ? SIZE_MAX : max};
        int r = sq_read(sq_of(s), pending_read, &c);

        if (r < 0)
                return r;
        *ret = c.reqs;
        *ret_n = c.n;
        return 0;
}

/* ---- aggregates: reading ---------------------------------------------------- */

typedef struct stats_ctx {
        const char *job; /* NULL: all */
        cw_job_stats *jobs;
        size_t n, cap;
        cw_store_hist lateness;
} stats_ctx;

static void stats_reset(stats_ctx *c)
{
        cw_job_stats_free(c->jobs, c->n);
        c->jobs = NULL;
        c->n = c->cap = 0;
        memset(&c->lateness, 0, sizeof(c->lateness));
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
        return bsearch(job, c->jobs, c->n, sizeof(*c->jobs), stats_cmp);
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
        if (strcmp(metric, "duration") != 0 || !(js = stats_find(c, job)))
                return NULL;
        *ret_nb = CW_STORE_DURATION_BUCKETS;
        return &js->duration;
}

/* The statement for all jobs, or its one-job twin with ?1 bound. */
static int stats_stmt(sq_store *q, stats_ctx *c, stmt_id all, stmt_id one, sqlite3_stmt **ret)
{
        int e = sq_stmt(q, c->job ? one : all, ret), rc;

        if (e < 0 || !c->job)
                return e;
        rc = sqlite3_bind_text(*ret, 1, c->job, -1, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : sq_errno(q->db, rc);
}

static int stats_read(sq_store *q, void *ctx)
{
        stats_ctx *c = ctx;
        int e, rc = SQLITE_DONE;

        stats_reset(c);
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                e = stats_stmt(q, c, ST_STATS_JOBS, ST_STATS_JOBS_ONE, &st);
                while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        cw_job_stats *js;

                        e = cw_array_reserve((void **)&c->jobs, &c->cap, c->n + 1, sizeof(*c->jobs), 64);
                        if (e < 0)
                                break;
                        js = &c->jobs[c->n];
                        memset(js, 0, sizeof(*js));
                        c->n++;
                        js->last_run_id = sqlite3_column_int64(st, 1);
                        js->last_success_us = sqlite3_column_int64(st, 2);
                        e = dup_text(st, 0, &js->job);
                        if (e == 0 && !js->job)
                                e = -EIO;
                }
                if (e == 0 && rc != SQLITE_DONE)
                        e = sq_errno(q->db, rc);
        }
        if (e == 0) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                e = stats_stmt(q, c, ST_STATS_COUNTS, ST_STATS_COUNTS_ONE, &st);
                while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        cw_job_stats *js = stats_find(c, (const char *)sqlite3_column_text(st, 0));
                        cw_run_status status;
                        int64_t n = sqlite3_column_int64(st, 2);

                        if (js && n > 0 &&
                            cw_run_status_from_string((const char *)sqlite3_column_text(st, 1), &status) == 0)
                                js->runs[status] = (uint64_t)n;
                }
                if (e == 0 && rc != SQLITE_DONE)
                        e = sq_errno(q->db, rc);
        }
        if (e == 0) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                e = stats_stmt(q, c, ST_STATS_HIST, ST_STATS_HIST_ONE, &st);
                while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        int nb = 0;
                        cw_store_hist *h = stats_hist(c, (const char *)sqlite3_column_text(st, 0),
                                                      (const char *)sqlite3_column_text(st, 1), &nb);
                        int64_t bucket = sqlite3_column_int64(st, 2), n = sqlite3_column_int64(st, 3);

                        if (h && bucket >= 0 && bucket <= nb && n > 0)
                                h->counts[bucket] = (uint64_t)n;
                }
                if (e == 0 && rc != SQLITE_DONE)
                        e = sq_errno(q->db, rc);
        }
        if (e == 0) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                e = stats_stmt(q, c, ST_STATS_SUMS, ST_STATS_SUMS_ONE, &st);
                while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        int nb = 0;
                        cw_store_hist *h = stats_hist(c, (const char *)sqlite3_column_text(st, 0),
                                                      (const char *)sqlite3_column_text(st, 1), &nb);
                        int64_t n = sqlite3_column_int64(st, 2);

                        if (h && n > 0) {
                                h->count = (uint64_t)n;
                                h->sum = sqlite3_column_double(st, 3);
                        }
                }
                if (e == 0 && rc != SQLITE_DONE)
                        e = sq_errno(q->db, rc);
        }
        if (e < 0)
                stats_reset(c);
        return e;
}

/* Four statements, each its own snapshot: a run finishing between them
 * can make a scrape's counter and histogram differ by one, never more,
 * and the next scrape agrees again. Holding a read transaction across
 * them would not be worth making writers' checkpoints wait. */
static int sq_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                         cw_store_hist *ret_lateness)
{
        stats_ctx c = {.job = job};
        int r = sq_read(sq_of(s), stats_read, &c);

        if (r < 0)
                return r;
        *ret = c.jobs;
        *ret_n = c.n;
        if (ret_lateness)
                *ret_lateness = c.lateness;
        return 0;
}

typedef struct last_ctx {
        const char *const *jobs; /* NULL: all */
        size_t n_jobs;
        cw_run *runs;
        size_t n, cap;
} last_ctx;

/* Appends every row st gives to c->runs. */
static int last_rows(sq_store *q, sqlite3_stmt *st, last_ctx *c)
{
        int e = 0, rc;

        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                e = cw_array_reserve((void **)&c->runs, &c->cap, c->n + 1, sizeof(cw_run), 64);
                if (e == 0)
                        e = read_run(st, &c->runs[c->n]);
                if (e == 0)
                        c->n++;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        return e;
}

static int last_read(sq_store *q, void *ctx)
{
        last_ctx *c = ctx;
        int e = 0;

        if (!c->jobs) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                e = sq_stmt(q, ST_JOBS_LAST, &st);
                if (e == 0)
                        e = last_rows(q, st, c);
        }
        for (size_t i = 0; c->jobs && e == 0 && i < c->n_jobs; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                e = sq_stmt(q, ST_JOB_LAST, &st);
                if (e == 0) {
                        sq_bind b = {st, SQLITE_OK};

                        bind_text(&b, 1, c->jobs[i]);
                        e = bind_done(q, &b);
                }
                if (e == 0)
                        e = last_rows(q, st, c);
        }
        if (e < 0) {
                cw_runs_free(c->runs, c->n);
                c->runs = NULL; /* a retry starts again; jobs stay */
                c->n = c->cap = 0;
        }
        return e;
}

static int sq_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret, size_t *ret_n)
{
        last_ctx c = {.jobs = jobs, .n_jobs = n_jobs};
        int r = sq_read(sq_of(s), last_read, &c);

        if (r < 0)
                return r;
        *ret = c.runs;
        *ret_n = c.n;
        return 0;
}

typedef struct names_ctx {
        stmt_id stmt;
        char **names;
        size_t n, cap;
} names_ctx;

/* Reads the one-column name list of statement c->stmt. */
static int names_read(sq_store *q, void *ctx)
{
        names_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->stmt, &st), rc = SQLITE_DONE;

        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                e = cw_array_reserve((void **)&c->names, &c->cap, c->n + 1, sizeof(char *), 16);
                if (e == 0)
                        e = dup_text(st, 0, &c->names[c->n]);
                if (e == 0 && !c->names[c->n])
                        e = -EIO;
                if (e == 0)
                        c->n++;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        if (e < 0) {
                cw_store_names_free(c->names, c->n);
                c->names = NULL; /* a retry starts again */
                c->n = c->cap = 0;
        }
        return e;
}

static int names_list(cw_store *s, stmt_id stmt, char ***ret, size_t *ret_n)
{
        names_ctx c = {.stmt = stmt};
        int r = sq_read(sq_of(s), names_read, &c);

        if (r < 0)
                return r;
        *ret = c.names;
        *ret_n = c.n;
        return 0;
}

static int sq_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, ST_JOBS_DISABLED, ret, ret_n);
}

static int sq_jobs_failing(cw_store *s, char ***ret, size_t *ret_n)
{
        return names_list(s, ST_JOBS_FAILING, ret, ret_n);
}

/* ---- UI entries ----------------------------------------------------------- */

typedef struct ui_ctx {
        const cw_ui_entry *in;
        int64_t id;
        cw_ui_entry *list;
        size_t n, cap;
} ui_ctx;

static int ui_add_txn(sq_store *q, void *ctx)
{
        ui_ctx *c = ctx;
        const cw_ui_entry *u = c->in;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_UI_ADD, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_text(&b, 1, u->schedule);
        bind_text(&b, 2, u->spec);
        bind_text(&b, 3, u->command);
        bind_text(&b, 4, u->description ? u->description : "");
        bind_i64(&b, 5, u->enabled);
        bind_text(&b, 6, u->created_by);
        bind_i64(&b, 7, u->created_us);
        bind_i64(&b, 8, u->updated_us);
        e = stmt_run(q, st, &b);
        if (e == 0)
                c->id = sqlite3_last_insert_rowid(q->db);
        return e;
}

static int sq_ui_entry_add(cw_store *s, cw_ui_entry *e)
{
        ui_ctx c = {.in = e};
        int r = sq_write(sq_of(s), ui_add_txn, &c);

        if (r == 0)
                e->id = c.id;
        return r;
}

static int ui_update_txn(sq_store *q, void *ctx)
{
        ui_ctx *c = ctx;
        const cw_ui_entry *u = c->in;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_UI_UPDATE, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, u->id);
        bind_text(&b, 2, u->schedule);
        bind_text(&b, 3, u->spec);
        bind_text(&b, 4, u->command);
        bind_text(&b, 5, u->description ? u->description : "");
        bind_i64(&b, 6, u->enabled);
        bind_i64(&b, 7, u->updated_us);
        e = stmt_run(q, st, &b);
        if (e == 0 && sqlite3_changes(q->db) == 0)
                e = -ENOENT;
        return e;
}

static int sq_ui_entry_update(cw_store *s, const cw_ui_entry *e)
{
        ui_ctx c = {.in = e};

        return sq_write(sq_of(s), ui_update_txn, &c);
}

static int ui_delete_txn(sq_store *q, void *ctx)
{
        ui_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        sq_bind b;
        int e = sq_stmt(q, ST_UI_DELETE, &st);

        if (e < 0)
                return e;
        b = (sq_bind){st, SQLITE_OK};
        bind_i64(&b, 1, c->id);
        e = stmt_run(q, st, &b);
        if (e == 0 && sqlite3_changes(q->db) == 0)
                e = -ENOENT;
        return e;
}

static int sq_ui_entry_delete(cw_store *s, int64_t id)
{
        ui_ctx c = {.id = id};

        return sq_write(sq_of(s), ui_delete_txn, &c);
}

static int read_ui_entry(sqlite3_stmt *st, cw_ui_entry *ret)
{
        cw_ui_entry u = {0};
        int e;

        u.id = sqlite3_column_int64(st, 0);
        u.enabled = sqlite3_column_int(st, 5) != 0;
        u.created_us = sqlite3_column_int64(st, 7);
        u.updated_us = sqlite3_column_int64(st, 8);
        e = dup_text(st, 1, &u.schedule);
        if (e == 0)
                e = dup_text(st, 2, &u.spec);
        if (e == 0)
                e = dup_text(st, 3, &u.command);
        if (e == 0)
                e = dup_text(st, 4, &u.description);
        if (e == 0)
                e = dup_text(st, 6, &u.created_by);
        if (e == 0 && (!u.schedule || !u.description))
                e = -EIO;
        if (e < 0) {
                cw_ui_entry_release(&u);
                return e;
        }
        *ret = u;
        return 0;
}

static int ui_list_read(sq_store *q, void *ctx)
{
        ui_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        bool one = c->id > 0;
        int e = sq_stmt(q, one ? ST_UI_GET : ST_UI_LIST, &st), rc = SQLITE_DONE;

        if (e == 0 && one) {
                rc = sqlite3_bind_int64(st, 1, c->id);
                if (rc != SQLITE_OK)
                        e = sq_errno(q->db, rc);
        }
        while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                e = cw_array_reserve((void **)&c->list, &c->cap, c->n + 1, sizeof(*c->list), 16);
                if (e == 0)
                        e = read_ui_entry(st, &c->list[c->n]);
                if (e == 0)
                        c->n++;
        }
        if (e == 0 && rc != SQLITE_DONE)
                e = sq_errno(q->db, rc);
        if (e < 0) {
                cw_ui_entries_free(c->list, c->n);
                c->list = NULL;
                c->n = c->cap = 0;
        }
        return e;
}

static int sq_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret)
{
        ui_ctx c = {.id = id};
        int r;

        if (id <= 0)
                return -ENOENT;
        r = sq_read(sq_of(s), ui_list_read, &c);
        if (r < 0)
                return r;
        if (c.n == 0) {
                free(c.list);
                return -ENOENT;
        }
        *ret = c.list[0];
        free(c.list);
        return 0;
}

static int sq_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n)
{
        ui_ctx c = {0};
        int r = sq_read(sq_of(s), ui_list_read, &c);

        if (r < 0)
                return r;
        *ret = c.list;
        *ret_n = c.n;
        return 0;
}

/* ---- open, migrate, close ------------------------------------------------- */

static int sq_schema_version(cw_store *s)
{
        return sq_of(s)->schema;
}

static void sq_close(cw_store *s)
{
        sq_store *q = sq_of(s);

        if (!q)
                return;
        for (size_t i = 0; i < ST_MAX; i++)
                sqlite3_finalize(q->st[i]);
        for (size_t i = 0; i < LIST_VARIANTS; i++)
                sqlite3_finalize(q->list[i]);
        /* The last connection to close checkpoints the WAL into the file
         * and removes it. */
        sqlite3_close(q->db);
        free(q->path);
        free(q);
}

static void sq_closep(sq_store **q)
{
        if (*q)
                sq_close(&(*q)->base);
}

/* mkdir -p of the directory part of path, 0755. */
static int make_parent_dirs(const char *path, cw_error *err)
{
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0; /* the working directory, or / */
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
                bool last = *p == '\0';
                if (*p != '/' && !last)
                        continue;
                *p = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                        int e = errno;
                        cw_error_set(err, -1, 0, "cannot create store directory '%s': %s", dir,
                                     strerror(e));
                        return -e;
                }
                if (last)
                        break;
                *p = '/';
        }
        return 0;
}

/* Creates the database file with our mode when it does not exist yet
 * (SQLite would use 0644; run output may hold secrets, so the file is not
 * world-readable), and checks that we can write it. An empty file is a
 * valid empty database to SQLite, so a race with another process doing
 * the same is harmless. */
/* Creates the file (mode 0640) when it does not exist. Never opens an
 * existing one: closing any descriptor of a file drops every fcntl lock
 * the process holds on it, so an open-and-close here while another
 * connection of this process (the daemon's scheduler and its HTTP
 * threads) has the database open would silently release that
 * connection's locks — and another process could then think itself the
 * last user, checkpoint and delete the WAL under it (stale reads, lost
 * writes). O_EXCL makes the check and the creation one step. */
static int create_file(const char *path, cw_error *err)
{
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);

        if (fd < 0 && errno == EEXIST)
                return 0;
        if (fd < 0) {
                int e = errno;
                cw_error_set(err, -1, 0, "cannot open store '%s': %s", path, strerror(e));
                return -e;
        }
        close(fd);
        return 0;
}

/* Runs one constant statement (a PRAGMA or a query of sqlite_master) with
 * busy retries, giving its first row's first column as text (when
 * ret_text) and its first n_nums columns as integers (into ret_nums). */
static int exec_once(sq_store *q, const char *sql, char *ret_text, size_t size, int64_t *ret_nums,
                     int n_nums)
{
        sq_deadline d;

        deadline_init(&d);
        for (;;) {
                sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);

                if (rc == SQLITE_OK) {
                        rc = sqlite3_step(st);
                        if (rc == SQLITE_ROW) {
                                const char *t = (const char *)sqlite3_column_text(st, 0);
                                if (ret_text)
                                        snprintf(ret_text, size, "%s", t ? t : "");
                                for (int i = 0; i < n_nums; i++)
                                        ret_nums[i] = sqlite3_column_int64(st, i);
                                rc = SQLITE_DONE;
                        }
                }
                sqlite3_finalize(st);
                if (rc == SQLITE_DONE)
                        return 0;
                if (!sq_is_busy(rc) || !deadline_wait(&d))
                        return sq_errno(q->db, rc);
        }
}

/* The schema version of the file, or 0 for a fresh one; *ret_foreign when
 * the file holds tables but no schema_version (another program's data).
 * Both counts come from one statement, hence one snapshot: read apart,
 * a migration committed in between would make a fresh file look foreign. */
static int read_version(sq_store *q, int64_t *ret, bool *ret_foreign)
{
        int64_t counts[2] = {0, 0}, version = 0; /* has schema_version, objects */
        int r;

        r = exec_once(q,
                      "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                      "name = 'schema_version'), (SELECT count(*) FROM sqlite_master)",
                      NULL, 0, counts, 2);
        /* Versions only grow, so reading it separately is safe. */
        if (r == 0 && counts[0])
                r = exec_once(q, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, 0,
                              &version, 1);
        if (r < 0)
                return r;
        *ret = version;
        *ret_foreign = !counts[0] && counts[1] > 0;
        return 0;
}

typedef struct migrate_ctx {
        int64_t version; /* found when the transaction began */
        bool foreign;
        char msg[200]; /* SQLite's message when a migration failed */
} migrate_ctx;

static int migrate_txn(sq_store *q, void *ctx)
{
        migrate_ctx *c = ctx;
        char *emsg = NULL;
        int r = read_version(q, &c->version, &c->foreign);

        if (r < 0 || c->foreign || c->version >= SQ_SCHEMA_LATEST)
                return r;
        if (c->version == 0) {
                int rc = sqlite3_exec(q->db,
                                      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                                      "applied_us INTEGER NOT NULL)",
                                      NULL, NULL, &emsg);
                if (rc != SQLITE_OK)
                        goto fail;
        }
        for (int64_t v = c->version + 1; v <= SQ_SCHEMA_LATEST; v++) {
                sqlite3_stmt *st = NULL;
                int rc = sqlite3_exec(q->db, migrations[v - 1], NULL, NULL, &emsg);
                if (rc != SQLITE_OK)
                        goto fail;
                rc = sqlite3_prepare_v2(
                        q->db, "INSERT INTO schema_version (version, applied_us) VALUES (?1, ?2)",
                        -1, &st, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_bind_int64(st, 1, v);
                if (rc == SQLITE_OK)
                        rc = sqlite3_bind_int64(st, 2, real_us());
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE) {
                        snprintf(c->msg, sizeof(c->msg), "%s", sqlite3_errmsg(q->db));
                        return sq_errno(q->db, rc);
                }
        }
        return 0;
fail:
        snprintf(c->msg, sizeof(c->msg), "%s", emsg ? emsg : sqlite3_errmsg(q->db));
        r = sq_errno(q->db, sqlite3_extended_errcode(q->db));
        sqlite3_free(emsg);
        return r < 0 ? r : -EIO;
}

static int migrate(sq_store *q, cw_error *err)
{
        migrate_ctx c = {0};
        int64_t version = 0;
        bool foreign = false;
        int r = read_version(q, &version, &foreign);

        /* An up-to-date file is by far the common case: no write lock. */
        if (r == 0 && !foreign && version < SQ_SCHEMA_LATEST) {
                r = sq_write(q, migrate_txn, &c);
                version = c.version < SQ_SCHEMA_LATEST ? SQ_SCHEMA_LATEST : c.version;
                foreign = c.foreign;
        }
        if (r < 0) {
                cw_error_set(err, -1, 0, "cannot set up store '%s': %s", q->path,
                             c.msg[0] ? c.msg : sqlite3_errmsg(q->db));
                return r;
        }
        if (foreign) {
                cw_error_set(
                        err, -1, 0,
                        "'%s' is not a cronwarden store: it is another program's SQLite database",
                        q->path);
                return -EIO;
        }
        if (version > SQ_SCHEMA_LATEST) {
                cw_error_set(err, -1, 0,
                             "store '%s' has schema version %" PRId64
                             ", newer than this cronwarden knows (%d): upgrade cronwarden",
                             q->path, version, SQ_SCHEMA_LATEST);
                return -EPROTO;
        }
        q->schema = (int)version;
        return 0;
}

/* The per-connection settings, and WAL mode (a property of the file, set
 * once by whoever opens it first). */
static int configure(sq_store *q, cw_error *err)
{
        static const char *const pragmas[] = {
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
                /* After a checkpoint, a WAL grown by a burst is cut back. */
                "PRAGMA journal_size_limit = 67108864",
        };
        char mode[32] = "";
        int r;

        sqlite3_extended_result_codes(q->db, 1);
        sqlite3_busy_timeout(q->db, CW_STORE_BUSY_MS);
        /* Every `run` is a short-lived process. By default the last
         * connection to close checkpoints the WAL and deletes it, and the
         * next one recreates it: four fdatasyncs per run, most of a run's
         * overhead. Keep the WAL file and leave checkpoints to SQLite's
         * automatic ones (every ~1000 pages); durability is unchanged. */
        {
                int one = 1;
                sqlite3_file_control(q->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
                sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        }
        /* This is the first statement to read the file, so it is where a
         * file that is not a database shows up. */
        r = exec_once(q, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL, 0);
        if (r < 0) {
                int rc = sqlite3_errcode(q->db);
                if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
                        cw_error_set(err, -1, 0, "'%s' is not a cronwarden store: %s", q->path,
                                     sqlite3_errmsg(q->db));
                else
                        cw_error_set(err, -1, 0, "cannot open store '%s': %s", q->path,
                                     sqlite3_errmsg(q->db));
                return r;
        }
        if (strcmp(mode, "wal") != 0) {
                cw_error_set(
                        err, -1, 0,
                        "cannot use WAL mode for store '%s' (journal mode is '%s'): its file system may not support shared memory",
                        q->path, mode);
                return -EOPNOTSUPP;
        }
        for (size_t i = 0; i < CW_ARRAY_SIZE(pragmas); i++) {
                r = exec_once(q, pragmas[i], NULL, 0, NULL, 0);
                if (r < 0) {
                        cw_error_set(err, -1, 0, "cannot set up store '%s': %s", q->path,
                                     sqlite3_errmsg(q->db));
                        return r;
                }
        }
        return 0;
}

static const cw_store_ops sqlite_ops = {
        .version = CW_STORE_OPS_VERSION,
        .name = "sqlite",
        .close = sq_close,
        .schema_version = sq_schema_version,
        .run_insert = sq_run_insert,
        .run_set_pid = sq_run_set_pid,
        .run_progress = sq_run_progress,
        .run_finish = sq_run_finish,
        .run_transition = sq_run_transition,
        .run_set_resume = sq_run_set_resume,
        .run_get = sq_run_get,
        .run_output = sq_run_output,
        .runs_list = sq_runs_list,
        .runs_prune = sq_runs_prune,
        .claim = sq_claim,
        .state_get = sq_state_get,
        .state_set = sq_state_set,
        .job_enabled_get = sq_job_enabled_get,
        .job_enabled_set = sq_job_enabled_set,
        .request_add = sq_request_add,
        .requests_take = sq_requests_take,
        .requests_pending = sq_requests_pending,
        .stats_list = sq_stats_list,
        .jobs_last = sq_jobs_last,
        .jobs_disabled = sq_jobs_disabled,
        .jobs_failing = sq_jobs_failing,
        .ui_entry_add = sq_ui_entry_add,
        .ui_entry_update = sq_ui_entry_update,
        .ui_entry_delete = sq_ui_entry_delete,
        .ui_entry_get = sq_ui_entry_get,
        .ui_entries_list = sq_ui_entries_list,
        .run_started = sq_run_started,
        .batch_begin = sq_batch_begin,
        .batch_commit = sq_batch_commit,
        .batch_abort = sq_batch_abort,
        .run_output_snapshot = sq_run_output_snapshot,
        .run_output_get = sq_run_output_get,
};

int cw_store_sqlite_open(const char *path, cw_store **ret, cw_error *err)
{
        _cleanup_(sq_closep) sq_store *q = NULL;
        int r, rc;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->base.ops = &sqlite_ops;
        q->path = strdup(path);
        if (!q->path)
                return -ENOMEM;
        r = make_parent_dirs(path, err);
        if (r < 0)
                return r;
        r = create_file(path, err);
        if (r < 0)
                return r;
        /* NOMUTEX: a cw_store belongs to one thread at a time (store.h). */
        rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = sq_errno(q->db, rc);
                cw_error_set(err, -1, 0, "cannot open store '%s': %s", path,
                             q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
                return r < 0 ? r : -EIO;
        }
        r = configure(q, err);
        if (r < 0)
                return r;
        r = migrate(q, err);
        if (r < 0)
                return r;
        *ret = &CW_TAKE_PTR(q)->base;
        return 0;
}

int cw_store_sqlite_list_plan(cw_store *s, const cw_run_filter *f, char **ret)
{
        sq_store *q = sq_of(s);
        char variant[1024], sql[1100], *plan = NULL;
        size_t n = 0, cap = 0;
        sqlite3_stmt *st = NULL;
        int rc, e = 0;

        if (!s || s->ops != &sqlite_ops)
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
