/* schema.c - the SQLite backend's file and schema (sqlite_internal.h):
 * the migrations, opening a store (creating its directory and file,
 * setting WAL mode and the connection's pragmas, migrating), closing it,
 * and the ops table that store.c dispatches through.
 *
 * Migrations are constant SQL, applied in order in one write transaction
 * by whichever process opens a file that is behind; see the header's
 * "Schema" paragraph. */
#include "store/sqlite/sqlite_internal.h"
#include "base/array.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- migrations ----------------------------------------------------------- */

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
         * WHERE text must match runs.c's list_sql() ACTIVE fragment exactly. */
        "CREATE INDEX runs_active ON runs(id) WHERE status IN ('queued', 'running');"
        /* prune. */
        "CREATE INDEX runs_started ON runs(started_us);"
        /* resume, clean. */
        "CREATE INDEX runs_resume ON runs(id) WHERE resume = 'pending';"
        /* Pruning old claims (the scheduler's issue) without a migration. */
        "CREATE INDEX claims_at ON claims(scheduled_at);"
        "CREATE INDEX requests_pending ON requests(id) WHERE taken = 0;",
        /* 2: aggregates for the admin overview and /metrics (kept by
         * sq_stats_change(), backfilled here from the runs already recorded),
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
        /* 4: what /metrics exposes per job for alerting (docs/api.md), kept
         * by sq_stats_change(): the newest failure's end, the newest run
         * that ran's duration (-1: none), failures since the last success;
         * and the all-jobs duration histogram (job ''), so a scrape reads
         * two histograms instead of one per job. Backfilled from the runs
         * (failures counted in id order; from now on in the order runs
         * end) and the per-job histograms. The failure statuses are
         * cw_run_status_is_failure's. */
        "ALTER TABLE job_stats ADD COLUMN last_failure_us INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE job_stats ADD COLUMN last_duration_us INTEGER NOT NULL DEFAULT -1;"
        "ALTER TABLE job_stats ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;"
        "UPDATE job_stats SET"
        "  last_failure_us = coalesce((SELECT max(ended_us) FROM runs WHERE runs.job = job_stats.job"
        "    AND status IN ('failed', 'timed_out', 'lost')), 0),"
        "  last_duration_us = coalesce((SELECT max(ended_us - started_us, 0) FROM runs"
        "    WHERE started_us > 0 AND id ="
        "    (SELECT max(id) FROM runs WHERE runs.job = job_stats.job"
        "     AND status IN ('succeeded', 'failed', 'timed_out', 'killed', 'lost'))), -1),"
        "  consecutive_failures = (SELECT count(*) FROM runs WHERE runs.job = job_stats.job"
        "    AND status IN ('failed', 'timed_out', 'lost') AND id > coalesce((SELECT max(id)"
        "    FROM runs WHERE runs.job = job_stats.job AND status = 'succeeded'), 0));"
        "INSERT INTO histograms (metric, job, bucket, n) "
        "  SELECT 'duration', '', bucket, sum(n) FROM histograms"
        "  WHERE metric = 'duration' AND job <> '' GROUP BY bucket;"
        "INSERT INTO histogram_sums (metric, job, n, sum) "
        "  SELECT 'duration', '', sum(n), total(sum) FROM histogram_sums"
        "  WHERE metric = 'duration' AND job <> '' HAVING count(*) > 0;",
        /* 5: the notification outbox (store.h), written with the state
         * change that causes a notification, read by the senders. */
        "CREATE TABLE outbox ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  run_id INTEGER NOT NULL DEFAULT 0,"
        "  job TEXT NOT NULL,"
        "  event TEXT NOT NULL,"
        "  channel TEXT NOT NULL,"
        "  target TEXT NOT NULL,"
        "  detail TEXT,"
        "  state TEXT NOT NULL DEFAULT 'pending',"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  created_us INTEGER NOT NULL,"
        "  next_us INTEGER NOT NULL DEFAULT 0,"
        "  lease_us INTEGER NOT NULL DEFAULT 0,"
        "  done_us INTEGER NOT NULL DEFAULT 0,"
        "  result TEXT"
        ");"
        /* The senders' claim: the few pending rows among the history. */
        "CREATE INDEX outbox_pending ON outbox(next_us, id) WHERE state = 'pending';",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SQ_SCHEMA_LATEST,
               "one migration per schema version");

/* ---- open, migrate, close ------------------------------------------------- */

static int schema_version_op(cw_store *s)
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
        free(q->readonly_why);
        free(q);
}

static void sq_closep(sq_store **q)
{
        if (*q)
                sq_close(&(*q)->base);
}

/* mkdir -p of the directory part of path, 0700. */
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
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
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

/* Creates the database file with our mode, 0600, when it does not exist
 * yet (SQLite would use 0644; run output may hold secrets, so the file is
 * readable by its owner only). An empty file is a valid empty database to SQLite,
 * so a race with another process doing the same is harmless. Never opens an
 * existing one: closing any descriptor of a file drops every fcntl lock
 * the process holds on it, so an open-and-close here while another
 * connection of this process (the daemon's scheduler and its HTTP
 * threads) has the database open would silently release that
 * connection's locks — and another process could then think itself the
 * last user, checkpoint and delete the WAL under it (stale reads, lost
 * writes). O_EXCL makes the check and the creation one step. */
static int create_file(const char *path, cw_error *err)
{
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);

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

        sq_deadline_init(&d);
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
                if (!sq_is_busy(rc) || !sq_deadline_wait(&d))
                        return sq_gave_up(sq_errno(q->db, rc));
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
                        rc = sqlite3_bind_int64(st, 2, cw_store_now(&q->base));
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

/* Why an open step failed: the store's own words for a busy or damaged
 * store (cw_store_strerror), SQLite's message for anything else. */
static const char *fault_text(sq_store *q, int r)
{
        if (r == -EUCLEAN || r == -ETIMEDOUT)
                return cw_store_strerror(r);
        return sqlite3_errmsg(q->db);
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
                             c.msg[0] && r != -EUCLEAN ? c.msg : fault_text(q, r));
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
                /* Checkpoint every 1 MiB of WAL (SQLite's default is 4):
                 * on a small file system a WAL that grows to 4 MiB before
                 * its first checkpoint can fill it, and then the
                 * checkpoint, which must grow the main file, cannot run. */
                "PRAGMA wal_autocheckpoint = 256",
                /* After a checkpoint, a WAL grown by a burst (or by a long
                 * reader) is cut back to 4 MiB. */
                "PRAGMA journal_size_limit = 4194304",
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
                /* Unreadable from its first page: another kind of file,
                 * not a damaged store (store.h: -EIO). */
                if (rc == SQLITE_NOTADB) {
                        cw_error_set(err, -1, 0, "'%s' is not a cronwarden store: %s", q->path,
                                     sqlite3_errmsg(q->db));
                        return -EIO;
                }
                cw_error_set(err, -1, 0, "cannot open store '%s': %s", q->path, fault_text(q, r));
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
                                     fault_text(q, r));
                        return r;
                }
        }
        return 0;
}

static const char *readonly_reason_op(cw_store *s)
{
        return sq_of(s)->readonly_why;
}

/* SQLite opens a file this user may read but not write read-only, and
 * every write then says "Read-only file system": say whose permission is
 * missing instead (kept for cw_store_error_text). */
static void note_readonly(sq_store *q, const struct stat *st)
{
        struct passwd *pw;
        char me[64], owner[64], *why = NULL;

        if (sqlite3_db_readonly(q->db, "main") != 1)
                return;
        /* getpwuid's answer is overwritten by the next call: copy it. */
        pw = getpwuid(geteuid());
        snprintf(me, sizeof(me), "%s", pw ? pw->pw_name : "?");
        pw = getpwuid(st->st_uid);
        snprintf(owner, sizeof(owner), "%s", pw ? pw->pw_name : "?");
        if (asprintf(
                    &why,
                    "store '%s' is not writable by user %s (uid %u): the file is mode %04o, owned by %s "
                    "(uid %u)",
                    q->path, me, (unsigned)geteuid(), (unsigned)(st->st_mode & 07777), owner,
                    (unsigned)st->st_uid) >= 0)
                q->readonly_why = why;
}

static int same_file_op(cw_store *s)
{
        sq_store *q = sq_of(s);
        struct stat st;

        if (stat(q->path, &st) < 0)
                return errno == ENOENT ? -ESTALE : -errno;
        return st.st_dev == q->dev && st.st_ino == q->ino ? 0 : -ESTALE;
}

/* Only the page cache: prepared statements stay (they are small, and
 * preparing them again would cost the next pass). */
static int release_memory_op(cw_store *s)
{
        return sqlite3_db_release_memory(sq_of(s)->db) == SQLITE_OK ? 0 : -EIO;
}

static const cw_store_ops sqlite_ops = {
        .name = "sqlite",
        .close = sq_close,
        .schema_version = schema_version_op,
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
        .stats_summary = sq_stats_summary,
        .jobs_last = sq_jobs_last,
        .jobs_disabled = sq_jobs_disabled,
        .jobs_failing = sq_jobs_failing,
        .same_file = same_file_op,
        .release_memory = release_memory_op,
        .readonly_reason = readonly_reason_op,
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
        .notice_add = sq_notice_add,
        .notices_claim = sq_notices_claim,
        .notice_update = sq_notice_update,
        .notices_list = sq_notices_list,
        .notices_prune = sq_notices_prune,
        .run_requeued = sq_run_requeued,
};

bool sq_is_sqlite(const cw_store *s)
{
        return s && s->ops == &sqlite_ops;
}

int cw_store_sqlite_open(const char *path, cw_store **ret, cw_error *err)
{
        _cleanup_(sq_closep) sq_store *q = NULL;
        struct stat st;
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
        /* SQLite opened the file just now; what the path names is it. */
        if (stat(path, &st) == 0) {
                q->dev = st.st_dev;
                q->ino = st.st_ino;
                note_readonly(q, &st);
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
