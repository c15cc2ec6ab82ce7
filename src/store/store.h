/* store.h - where cronwarden's state lives (docs/store.md): the run
 * history, schedule claims, scheduler state, job flags and requests.
 *
 * One interface, several backends: a cw_store is a table of function
 * pointers (cw_store_ops, in store_backend.h) plus the backend's
 * state; callers use only the functions below. SQLite is the default: one
 * file, data_dir/cronwarden.db, WAL mode, migrations applied on open,
 * prepared statements only. PostgreSQL (src/store/pg/) keeps the same
 * state in a database several hosts can share, and reconnects when its
 * server goes away (docs/store.md).
 *
 * Concurrency: any number of processes may open the same store. Writes
 * that meet a busy database wait and retry (bounded by CW_STORE_BUSY_MS)
 * rather than fail; a write is reported failed only when it was not made
 * (or, on PostgreSQL, when a lost connection hid whether its COMMIT took
 * effect and the server did not say within that bound: -EIO). A lost
 * connection is a busy database too: the write waits for a new one.
 * Durability: a committed write survives kill -9 of any process.
 *
 * Times in runs are microseconds since the epoch (UTC); scheduled
 * instants are seconds (cw_time). Every function returns 0 or a negative
 * errno; out-parameters are untouched on failure. Two errnos have a
 * meaning of their own here: -ETIMEDOUT, the store stayed busy (another
 * process held a write transaction) for CW_STORE_BUSY_MS; -EUCLEAN, the
 * store's file is malformed. cw_store_strerror says so in words. */
#ifndef CW_STORE_STORE_H
#define CW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/clock.h"
#include "base/error.h"
#include "store/run.h"

#define CW_STORE_BUSY_MS 30000
#define CW_STORE_FILE "cronwarden.db"

typedef struct cw_store cw_store;

/* ---- store URLs ----
 *
 * One grammar for the config's `store` key and for cw_store_open:
 *   "sqlite" (or NULL)   the file CW_STORE_FILE in the data directory;
 *   "sqlite:PATH"        the file PATH (relative to the working directory),
 *                        not empty and not ":memory:";
 *   "postgresql://..."   (or "postgres://...") a PostgreSQL conninfo URL,
 *                        without spaces.
 * No control characters anywhere. */
typedef enum cw_store_kind {
        CW_STORE_SQLITE,
        CW_STORE_POSTGRESQL,
} cw_store_kind;

typedef struct cw_store_url {
        cw_store_kind kind;
        /* SQLite: the file's path (points into the URL), or NULL for the
         * data directory's file. PostgreSQL: the whole URL (conninfo). */
        const char *path;
} cw_store_url;

/* What the grammar accepts, for messages ("expected ..."). */
#define CW_STORE_URL_EXPECTED "'sqlite', 'sqlite:PATH' or a postgresql:// URL"

/* Parses a store URL into *ret (whose path points into url). -EINVAL,
 * with err saying what is wrong (err may be NULL), for one the grammar
 * above refuses; *ret is then untouched. Knowing a kind does not mean
 * this build has its backend: cw_store_open says that. */
int cw_store_url_parse(const char *url, cw_store_url *ret, cw_error *err);

/* The URL as it may be shown (messages, logs): a password in it, in the
 * user part (user:PASSWORD@host) or as a password= parameter, replaced by
 * "***". *ret is newly allocated (caller frees); -ENOMEM. */
int cw_store_url_redact(const char *url, char **ret);

/* A store on a server (PostgreSQL) may lose its connection and
 * reconnect (each operation retries for CW_STORE_BUSY_MS). The watcher
 * hears of each change once: up = false with why (the server's or
 * libpq's words, without a password) when an attempt to reconnect fails
 * after the connection was lost, up = true when one succeeds again.
 * Called from within the store operation that noticed, on its thread.
 * SQLite stores never call it. */
typedef void (*cw_store_link_fn)(void *userdata, bool up, const char *why);

/* Opens the store named by `url` (see above; "sqlite" creates its file,
 * with its directory, when missing; a PostgreSQL database must exist, its
 * tables are created when missing: docs/store.md). Errors: -EINVAL (bad
 * url), -EACCES/-EROFS/-ENOSPC/-EIO..., and for PostgreSQL
 * -ECONNREFUSED/-ETIMEDOUT (no server) or -ENOENT (no such database),
 * each with err saying what and where (never the URL's password). */
int cw_store_open(const char *url, const char *data_dir, cw_store **ret, cw_error *err);
void cw_store_close(cw_store *s);
/* Loads the code a store at `url` needs, without opening it: in the
 * cronwarden program the PostgreSQL backend is a module loaded on demand
 * (docs/hacking.md, "Modules"). A process that forks workers calls it
 * first, so they inherit the module instead of each loading it. 0 when
 * ready (always for SQLite, and where the backend is linked in); else
 * -EINVAL (bad url) or the errors of a missing backend, with err saying
 * why, as cw_store_open would. */
int cw_store_load(const char *url, cw_error *err);
/* Gives back what the store caches and can read again (SQLite's page
 * cache), for a process about to sleep for long: an idle daemon's RSS
 * (docs/hacking.md, "Quality targets"). 0; -EOPNOTSUPP for a backend
 * without such a cache (PostgreSQL's is the server's). */
int cw_store_release_memory(cw_store *s);
/* The clock for the instants the store stamps by itself (a claim's
 * claimed_us, a migration's applied_us), so they agree with the caller's
 * (a test clock); it must outlive the store. Until set, or NULL: the
 * system's wall clock. Times the callers pass in are theirs. */
void cw_store_set_clock(cw_store *s, const cw_clock *clock);
/* How long one operation of this handle retries a PostgreSQL server that
 * is unreachable or busy before it gives up, in ms: below
 * CW_STORE_BUSY_MS (the default; 0 or more restores it). A cluster's
 * daemon shortens it so that its loop, which also heartbeats, never
 * stalls for long on a database that is away (docs/cluster.md). Settling
 * a COMMIT whose reply was lost keeps the full CW_STORE_BUSY_MS, and
 * SQLite's busy waits are not affected. */
void cw_store_set_patience(cw_store *s, int64_t ms);
/* Sets (fn NULL: removes) the store's link watcher (cw_store_link_fn). */
void cw_store_watch_link(cw_store *s, cw_store_link_fn fn, void *userdata);
/* Whether the store named by `url` was created already (its SQLite file
 * exists), for read-only commands that must not create one; a store kept
 * elsewhere (a PostgreSQL URL) counts as existing, and so does a URL the
 * grammar refuses (opening it then says what is wrong). */
bool cw_store_exists(const char *url, const char *data_dir);
static inline void cw_store_closep(cw_store **s)
{
        cw_store_close(*s);
}

/* ---- checking a damaged store ---- */

#define CW_STORE_CHECK_MAX_LINES 20

typedef struct cw_store_check_result {
        bool ok;                 /* the integrity check found nothing wrong */
        size_t n_problems;       /* what it found, counted */
        char *problems;          /* the first CW_STORE_CHECK_MAX_LINES of them, one a line;
                                 NULL when none; the caller frees it */
        bool recovered;          /* recover_to was written */
        char recover_error[256]; /* why not, when a recovery was asked for and failed */
} cw_store_check_result;

/* Checks the store named by `url` without opening it as a store (a damaged
 * one cannot be): SQLite's integrity check, then, when recover_to is not
 * NULL, a copy of every row still readable into that new file (which must
 * not exist: -EEXIST). Returns 0 when the check ran (ret says what it
 * found), -ENOENT when there is no store, -EOPNOTSUPP for a PostgreSQL
 * store (its server checks itself), other errors with err saying why. */
int cw_store_check(const char *url, const char *data_dir, const char *recover_to,
                   cw_store_check_result *ret, cw_error *err);

/* Whether the store's file is still the one it opened: 0 when it is,
 * -ESTALE when its path now names another file or none (it was deleted,
 * or replaced by a copy), which every other process will use from now on;
 * -EOPNOTSUPP for a store that is not a file. One stat: cheap enough for
 * once per scheduler pass. */
int cw_store_same_file(cw_store *s);

/* cw_store_strerror for an error met on s: a write refused because the
 * store was opened read-only (its file not writable by this user) says
 * whose permission is missing: the path, the user, the file's mode and
 * owner. Static text or s's own (valid while s is open). */
const char *cw_store_error_text(cw_store *s, int r);

/* What a store error means, for messages: the two store-specific errnos
 * above in the store's words, any other as strerror(-r). Static text. */
const char *cw_store_strerror(int r);

/* Schema version the file is at after open (for tests and `check`). */
int cw_store_schema_version(cw_store *s);

/* ---- runs ---- */

/* Inserts a new run from *run (id ignored; status usually RUNNING, or
 * SKIPPED/MISSED/QUEUED); sets run->id. With run->fence < 0 a store that
 * has fencing tokens (PostgreSQL) gives the run a new one in the same
 * statement and sets run->fence; another leaves run->fence alone. */
int cw_store_run_insert(cw_store *s, cw_run *run);
/* Records the job's process (pid, its /proc start time) once spawned. */
int cw_store_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start);
/* A run recorded as queued by the daemon (whose worker was started for
 * it) now runs: status running, worker_pid, pid and pid_start in one
 * write. Also from running or lost (a run swept as lost while its worker
 * was still starting is corrected); -ESTALE when the run has another
 * final status, -ENOENT when there is no such run. */
int cw_store_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start);
/* Stores progress: done of total (total 100 for percentages), -1 unknown. */
int cw_store_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total);
/* Records the outcome: status, exit_code, signal, ended_us, output_size,
 * output_truncated, reason from *run, and the captured output (len bytes,
 * binary-safe) in one transaction. Overwrites whatever status the row had
 * (the worker knows best: a run wrongly marked lost is corrected). */
int cw_store_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len);
/* Compare-and-set of a run's status, for status/clean/kill: changes it
 * to `to` (with reason, and ended_us = now_us when `to` is final) only if
 * it is `from`. Returns 0 when changed, -ESTALE when it was not `from`,
 * -ENOENT when there is no such run. */
int cw_store_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                            const char *reason, int64_t now_us);
/* Compare-and-set of a run's resume state (see run.h). Same returns. */
int cw_store_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to);
/* One run, without its output. ret is released by the caller (cw_run_release). */
int cw_store_run_get(cw_store *s, int64_t id, cw_run *ret);
/* A run's captured output, newly allocated (caller frees; NULL with len 0
 * when empty). -ENOENT when there is no such run. */
int cw_store_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len);

/* ---- live output ----
 *
 * While a run runs, its worker stores a snapshot of the captured output
 * now and then (worker.h), so readers see it before the run ends; the
 * final record (cw_store_run_finish) replaces it. */

/* Stores output (len bytes, a rendering of worker/capture.h) as run id's
 * output with output_size = size and output_truncated = truncated, in one
 * transaction, only while the run is running. Never waits: a busy
 * database gives -EBUSY at once with nothing written (try again later),
 * so a worker never stalls its job's pipe behind another writer.
 * -ESTALE when the run is not running, -ENOENT when there is no such run. */
int cw_store_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                                 const void *output, size_t len);

typedef struct cw_run_output {
        cw_run_status status;
        uint64_t size;  /* output_size: bytes the job wrote so far */
        bool truncated; /* output_truncated */
        void *data;     /* the stored output, NUL after the data; NULL when empty */
        size_t len;
} cw_run_output;

/* A run's output with its status, size and truncated flag, all read at
 * one moment (one statement), so they belong together even while the
 * worker is storing snapshots (cw_capture_view_parse needs that). Release
 * with cw_run_output_release. -ENOENT when there is no such run. */
int cw_store_run_output_get(cw_store *s, int64_t id, cw_run_output *ret);
/* Frees o's data and zeroes it. Accepts NULL. */
void cw_run_output_release(cw_run_output *o);

typedef struct cw_run_filter {
        const char *job;   /* NULL: any job */
        int status;        /* a cw_run_status, or -1 for any */
        bool active;       /* only QUEUED and RUNNING */
        int resume;        /* a cw_resume_state, or -1 for any */
        int64_t before_id; /* paging: only ids < before_id (0: no bound) */
        size_t limit;      /* 0: no limit */
} cw_run_filter;
/* clang-format off */
#define CW_RUN_FILTER_INIT {.status = -1, .resume = -1}
/* clang-format on */

/* Runs matching f, newest first, without output. *ret is an array of
 * *ret_n runs; free with cw_runs_free. */
int cw_store_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n);
void cw_runs_free(cw_run *runs, size_t n);
/* Deletes finished runs (final status) that started before before_us,
 * with their output; counts them in *ret_deleted. Never touches active runs.
 * What else grows with every fire goes too: claims of fires before
 * before_us (and a day before the last pass, so no pass can meet them
 * again), requests taken before before_us, and job rows that only say
 * "enabled" (what no row says). */
int cw_store_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);

/* ---- batches ---- */

/* Every write between begin and commit goes into one transaction, each
 * write still all-or-nothing by itself (a failed one leaves the batch as
 * it was), for a caller making many small writes at once (the daemon's
 * pass: claims and queued runs). Other processes' writes wait meanwhile;
 * reads see the batch's writes. begin: 0, -EALREADY when a batch is open,
 * or the errors of a write. commit: 0 when every write of the batch is
 * committed; otherwise none is (-ECANCELED when SQLite had already rolled
 * the transaction back, e.g. disk full). abort: rolls the batch back;
 * accepts a store without an open batch. Not every backend batches:
 * -EOPNOTSUPP from begin, and writes are then made one by one. */
int cw_store_batch_begin(cw_store *s);
int cw_store_batch_commit(cw_store *s);
void cw_store_batch_abort(cw_store *s);

/* Reads a caller is about to make inside a batch, said ahead: a backend
 * that pays a round trip per statement (PostgreSQL) sends them with its
 * next statement and answers each from what came back, once; the others
 * ignore this. What a read returns does not change, only when it is made:
 * a read-ahead is made when sent, inside the batch's transaction, and a
 * write of the batch to what it read drops it (read again when asked).
 * What is not asked for by the batch's end is dropped. Outside a batch,
 * or on any failure to send, the reads are simply made when asked. */
typedef enum cw_store_ahead_kind {
        CW_AHEAD_STATE,         /* cw_store_state_get(key) */
        CW_AHEAD_JOBS_DISABLED, /* cw_store_jobs_disabled (key unused) */
        CW_AHEAD_UI_ENTRIES,    /* cw_store_ui_entries_list (key unused) */
        CW_AHEAD_LOCK_HOLDER,   /* cw_store_lock_holder(key) */
} cw_store_ahead_kind;
typedef struct cw_store_ahead {
        cw_store_ahead_kind kind;
        const char *key; /* copied */
} cw_store_ahead;
void cw_store_read_ahead(cw_store *s, const cw_store_ahead *reads, size_t n);
/* Whether s reads ahead at all: a caller may skip working out what to
 * say when it does not (SQLite). */
bool cw_store_reads_ahead(const cw_store *s);

/* ---- scheduler (used by tick/daemon; shape fixed now) ---- */

/* Claims (spec, scheduled_at) for node: *ret_won is true for exactly one
 * caller across all processes and nodes. */
int cw_store_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node,
                   bool *ret_won);
/* Key/value scheduler state ("last_pass", "enabled"). get: -ENOENT when unset. */
int cw_store_state_get(cw_store *s, const char *key, char **ret);
int cw_store_state_set(cw_store *s, const char *key, const char *value);
/* Per-job enable flag set by `disable`/`enable`; -ENOENT when never set. */
int cw_store_job_enabled_get(cw_store *s, const char *job, bool *ret);
int cw_store_job_enabled_set(cw_store *s, const char *job, bool enabled);
/* Requested runs: add one; take (atomically mark taken) up to max pending. */
int cw_store_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us,
                         int64_t *ret_id);
typedef struct cw_request {
        int64_t id;
        char *spec;
        char *by;
        int64_t requested_us;
} cw_request;
int cw_store_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
void cw_requests_free(cw_request *r, size_t n);

/* Requests not yet taken, oldest first, at most max (0: no bound), without
 * taking them (the admin's queue view). Free with cw_requests_free. */
int cw_store_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);

/* ---- per-job aggregates (admin overview, /metrics) ----
 *
 * Kept up to date in the same transaction as the run changes that cause
 * them (insert, finish, transition), so they count the runs of every
 * process, survive pruning and restarts, and are read without scanning
 * the runs. A run is counted once, when it first reaches a final status;
 * a finish that corrects a final status (e.g. lost -> succeeded) moves
 * the count from the old status to the new. Histogram buckets are the
 * tables below; counts[i] counts observations <= bounds[i] and above the
 * previous bound (not cumulative); counts[n_bounds] is +Inf. */
#define CW_STORE_DURATION_BUCKETS 14
#define CW_STORE_LATENESS_BUCKETS 12
/* Upper bounds in seconds, ascending; the same for every backend
 * (defined in store.c). */
extern const double cw_store_duration_bounds[CW_STORE_DURATION_BUCKETS];
extern const double cw_store_lateness_bounds[CW_STORE_LATENESS_BUCKETS];
#define CW_STORE_HIST_MAX 16

typedef struct cw_store_hist {
        uint64_t counts[CW_STORE_HIST_MAX + 1];
        uint64_t count;
        double sum; /* seconds */
} cw_store_hist;

typedef struct cw_job_stats {
        char *job;
        uint64_t runs[CW_RUN_STATUS_MAX]; /* final runs by status, lifetime */
        /* Durations (ended - started) of runs that ran: succeeded, failed,
         * timed_out, killed, lost. */
        cw_store_hist duration;
        int64_t last_success_us; /* ended_us of the newest succeeded run, 0: never */
        int64_t last_run_id;     /* the newest run that reached a final status, 0: none */
        /* The status of last_run_id (CW_RUN_STATUS_MAX: none or unknown). */
        cw_run_status last_status;
        int64_t last_failure_us; /* ended_us of the newest failed, timed_out or lost run, 0: never */
        int64_t last_duration_us; /* of the newest final run that ran, -1: none */
        /* Failures (cw_run_status_is_failure) since the last success, in
         * the order runs became final; 0 after a success. Other statuses
         * (killed, skipped, missed) leave it as it is. */
        uint64_t consecutive_failures;
} cw_job_stats;

/* Every job that has aggregates (ordered by job name), or only `job` when
 * non-NULL, and the lateness histogram of scheduled starts (started -
 * scheduled instant, all jobs). Free with cw_job_stats_free. ret_lateness
 * may be NULL. */
int cw_store_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                        cw_store_hist *ret_lateness);
void cw_job_stats_free(cw_job_stats *st, size_t n);
/* The same for every job without reading the per-job histograms
 * (duration left zero): what a /metrics scrape needs by default, a few
 * rows per job instead of ~17. ret_duration gets the duration histogram
 * of every job's runs together; both histogram outs may be NULL.
 * -EOPNOTSUPP from a backend without it (the caller may sum
 * cw_store_stats_list's per-job histograms instead). */
int cw_store_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n,
                           cw_store_hist *ret_lateness, cw_store_hist *ret_duration);
/* The newest final run of each of the n_jobs jobs named (the run named by
 * last_run_id; jobs without one are left out), or of every job when jobs
 * is NULL, in one read transaction; *ret is an array of *ret_n runs in no
 * particular order. A page of jobs asks for its own jobs only: all
 * 10 000 jobs' last runs cost ~15 ms, a page of 200 well under 1 ms. */
int cw_store_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret,
                       size_t *ret_n);
/* Jobs whose store flag is `disabled`, sorted by name (one query):
 * *ret is an array of *ret_n strings; free with cw_store_names_free. */
int cw_store_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n);
/* Jobs whose newest final run went wrong by itself (failed, timed_out,
 * lost: cw_run_status_is_failure), sorted by name, from the per-job
 * aggregates (one query, no scan of the runs). Same ownership. */
int cw_store_jobs_failing(cw_store *s, char ***ret, size_t *ret_n);
void cw_store_names_free(char **names, size_t n);

/* ---- UI-created schedule entries (docs/api.md) ----
 *
 * The store keeps them as text; validating them against the config is the
 * caller's job (src/catalog/entries.h) because the config can change under
 * them. Exactly one of spec and command is set. */
typedef struct cw_ui_entry {
        int64_t id;
        char *schedule;    /* time spec text */
        char *spec;        /* canonical job spec of a configured job, or NULL */
        char *command;     /* free command line, or NULL */
        char *description; /* "" when none */
        bool enabled;
        char *created_by; /* who created it; NULL when unknown */
        int64_t created_us;
        int64_t updated_us;
} cw_ui_entry;

/* Frees the strings of e and zeroes it. Accepts NULL. */
void cw_ui_entry_release(cw_ui_entry *e);
void cw_ui_entries_free(cw_ui_entry *e, size_t n);
/* Adds e (id ignored; created_us and updated_us as given); sets e->id. */
int cw_store_ui_entry_add(cw_store *s, cw_ui_entry *e);
/* Replaces schedule, spec, command, description, enabled and updated_us of
 * entry e->id. -ENOENT when there is none. */
int cw_store_ui_entry_update(cw_store *s, const cw_ui_entry *e);
/* -ENOENT when there is none. */
int cw_store_ui_entry_delete(cw_store *s, int64_t id);
int cw_store_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret);
/* All entries by id; free with cw_ui_entries_free. */
int cw_store_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n);

/* ---- the notification outbox (docs/notifications.md) ----
 *
 * A notification is written here in the same transaction as the state
 * change that causes it (inside a batch: cw_store_batch_begin), then
 * delivered by a sender (src/notify/) in any process, which claims due
 * rows for a while (a lease), so one row is sent by one sender at a time
 * across every process and node. A sender that dies mid-delivery leaves
 * its lease to expire: the row is sent again (at least once; each
 * request names the row's id so receivers can drop a repeat). */
typedef enum cw_notice_state {
        CW_NOTICE_PENDING, /* to be sent at next_us or later */
        CW_NOTICE_SENT,    /* the endpoint accepted it */
        CW_NOTICE_FAILED,  /* given up after its last attempt */
        CW_NOTICE_STATE_MAX,
} cw_notice_state;
const char *cw_notice_state_to_string(cw_notice_state s);

typedef struct cw_notice {
        int64_t id;
        int64_t run_id; /* 0: none (a test) */
        char *job;
        char *event;   /* started, succeeded, failed, ..., failing, recovered, disabled, test */
        char *channel; /* ping, webhook, slack, email */
        char *target;  /* the URL or the addresses */
        char *detail;  /* extra text for the message, NULL when none */
        cw_notice_state state;
        int attempts; /* deliveries tried so far */
        int64_t created_us;
        int64_t next_us;  /* pending: not before */
        int64_t lease_us; /* claimed by a sender until */
        int64_t done_us;  /* sent or given up at, 0: pending */
        char *result;     /* what the endpoint answered, or why not; NULL when none */
} cw_notice;

/* Frees the strings of n and zeroes it. Accepts NULL. */
void cw_notice_release(cw_notice *n);
void cw_notices_free(cw_notice *n, size_t count);
/* Adds n as pending (id, state, attempts, lease, done and result
 * ignored; next_us 0 means at once); sets n->id. */
int cw_store_notice_add(cw_store *s, cw_notice *n);
/* Claims up to max pending rows due at now_us (next_us <= now_us, no
 * lease running), oldest first, of run `run_id` only when it is not 0,
 * and leases them for lease_us: no other claim returns them meanwhile.
 * A backend of one host (SQLite) measures the lease by now_us (it ends at
 * now_us + lease_us); one shared by hosts (PostgreSQL) by the database's
 * clock, so hosts whose clocks disagree never hold one row at once. Each
 * row's lease_us is the lease's end by that clock. Free *ret with
 * cw_notices_free. */
int cw_store_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id,
                           size_t max, cw_notice **ret, size_t *ret_n);
/* Records a delivery attempt's outcome on row id: its state (PENDING
 * again with next_us for a retry), attempts, done_us and result; the
 * lease ends. -ENOENT when there is no such row. */
int cw_store_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts,
                           int64_t next_us, int64_t done_us, const char *result);
/* The newest rows (limit 0: 100), newest first; pending ones only when
 * pending_only. Free with cw_notices_free. */
int cw_store_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret,
                          size_t *ret_n);
/* Deletes the rows sent or given up before before_us (never pending
 * ones); counts them in *ret_deleted (may be NULL). */
int cw_store_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted);

/* ---- runs held back by max_running / max_load ---- */

/* Sets queued run id's started_us: a run the daemon held back (waiting
 * for max_running or max_load) is handed over now, and its duration and
 * lateness count from then, not from when it was queued. Returns 0,
 * -ESTALE when the run is not queued, -ENOENT when there is no such run. */
int cw_store_run_requeued(cw_store *s, int64_t id, int64_t started_us);
/* ---- cluster nodes (docs/cluster.md) ----
 *
 * Every daemon on a store several hosts share (PostgreSQL) is a node: a
 * row it renews with a heartbeat. Every time in these rows is the
 * database's (clock_timestamp(), µs since the epoch), never a node's own
 * clock, so nodes compare them without trusting each other's clocks. A
 * node is dead when it has not renewed its row for a dead timeout,
 * counted from max(its last heartbeat, the database server's start), so a
 * restart of the server does not kill every node. Backends with one node
 * per store (SQLite) answer -EOPNOTSUPP: callers then act as one node.
 * Unlike the rest of the store, these make one attempt, no retries (but
 * node_leave): a database that is away or busy gives -ECONNRESET or
 * -EBUSY at once, because a node must know at once that it cannot renew
 * its heartbeat. */
typedef enum cw_node_state {
        CW_NODE_ALIVE, /* heartbeating */
        CW_NODE_DEAD,  /* declared dead by another node (its runs were recorded lost) */
        CW_NODE_LEFT,  /* its daemon stopped cleanly */
        CW_NODE_STATE_MAX,
} cw_node_state;
/* "alive", "dead", "left": the one string table. */
const char *cw_node_state_to_string(cw_node_state s);
int cw_node_state_from_string(const char *name, cw_node_state *ret);

/* One heartbeat's content: what the node says of itself. */
typedef struct cw_node_beat {
        const char *node;
        int pid;
        const char *version;
        bool first;              /* the daemon's first beat: started_us becomes now */
        int64_t clock_offset_us; /* the node's clock minus the database's, measured */
        bool claiming;           /* whether it claims fires */
        const char *reason;      /* why not, NULL when claiming */
} cw_node_beat;

typedef struct cw_node {
        char *name;
        int pid;
        char *version;
        cw_node_state state; /* as recorded (a stale ALIVE row: see expired) */
        bool expired;        /* no heartbeat for the dead timeout asked (not swept yet) */
        int64_t started_us, heartbeat_us, dead_us; /* database time; dead_us 0: not dead */
        int64_t age_us;                            /* database now - heartbeat_us */
        int64_t clock_offset_us;                   /* as last measured */
        bool claiming;
        char *reason;     /* why not claiming, or why dead; NULL */
        uint64_t running; /* its queued and running runs */
        uint64_t jobs;    /* jobs whose definition it published */
        /* A digest of all those definitions ("" for a node of a version
         * that publishes none): equal digests, equal definitions. */
        char *jobs_digest;
        /* Jobs whose definition differs from most live nodes' (the node
         * does not claim their fires), comma-separated; NULL when none. */
        char *disagree;
} cw_node;

void cw_node_release(cw_node *n);
void cw_nodes_free(cw_node *n, size_t count);

/* The database's clock now, µs since the epoch. */
int cw_store_db_now(cw_store *s, int64_t *ret_us);
/* Renews (or creates) b->node's row with a heartbeat at the database's
 * now. *ret_was_dead (may be NULL) says whether the row had been marked
 * dead by another node: the cluster has recorded its runs lost. */
int cw_store_node_beat(cw_store *s, const cw_node_beat *b, bool *ret_was_dead);
/* Marks the node's row left (a clean stop): no longer counted alive. */
int cw_store_node_leave(cw_store *s, const char *node);
/* Every node, by name, judged against dead_after_us (expired). Free with
 * cw_nodes_free. */
int cw_store_nodes_list(cw_store *s, int64_t dead_after_us, cw_node **ret, size_t *ret_n);
/* Marks dead every alive node whose heartbeat (or the server's start,
 * whichever is later) is older than dead_after_us, with a reason; their
 * names in *ret (cw_store_names_free; none: NULL, 0). */
int cw_store_nodes_sweep(cw_store *s, int64_t dead_after_us, char ***ret, size_t *ret_n);
/* Replaces what node publishes of its jobs: n names with the hash of each
 * job's definition. */
int cw_store_node_jobs_set(cw_store *s, const char *node, const char *const *jobs,
                           const char *const *hashes, size_t n);
/* The jobs of `node` whose hash differs from the hash most alive nodes
 * (heartbeat within dead_after_us) publish for it (a tie: the smallest
 * hash wins), sorted; free with cw_store_names_free. */
int cw_store_node_jobs_disagree(cw_store *s, const char *node, int64_t dead_after_us, char ***ret,
                                size_t *ret_n);
/* ---- commands to a node (docs/cluster.md, Controlling runs on other nodes) ----
 *
 * On a store several nodes share, what only the node running a run can do
 * (signal its worker) is asked of that node's daemon through a row: a
 * command is added pending, taken by the daemon of its node, and finished
 * with a result, each step a compare-and-set of its state. Adding and
 * finishing one also notifies the store's wake-up channel (PostgreSQL's
 * LISTEN/NOTIFY); a notification is only a hint, so one lost (a dropped
 * connection) only delays: daemons also look now and then. All ages come
 * from the database's clock. The SQLite store is one node: every
 * operation here is -EOPNOTSUPP there, and callers act locally. */
typedef enum cw_node_cmd_state {
        CW_NODE_CMD_PENDING, /* added, not yet taken by its node's daemon */
        CW_NODE_CMD_TAKEN,   /* its daemon acts on it */
        CW_NODE_CMD_DONE,    /* acted on: result says what came of it */
        CW_NODE_CMD_FAILED,  /* could not be acted on: result says why */
        CW_NODE_CMD_EXPIRED, /* withdrawn by its sender before it was taken */
        CW_NODE_CMD_STATE_MAX,
} cw_node_cmd_state;
const char *cw_node_cmd_state_to_string(cw_node_cmd_state st);

typedef struct cw_node_cmd {
        int64_t id;
        char *node;     /* the node whose daemon acts on it */
        char *kind;     /* "kill" */
        int64_t run_id; /* the run it is about, 0: none */
        int signal;     /* kill: the signal for the run's worker */
        char *by;       /* who asked ("alice@node2"), NULL: unknown */
        cw_node_cmd_state state;
        char *result;   /* what came of it; NULL until finished */
        int64_t age_us; /* since it was added, by the database's clock */
} cw_node_cmd;

/* Frees the strings of c and zeroes it. Accepts NULL. */
void cw_node_cmd_release(cw_node_cmd *c);
void cw_node_cmds_free(cw_node_cmd *c, size_t n);
/* Adds c (node, kind, run_id, signal, by; the rest ignored) as pending and
 * wakes c->node's daemon; sets c->id. */
int cw_store_node_cmd_add(cw_store *s, cw_node_cmd *c);
/* Takes (pending -> taken) up to max pending commands of `node`, oldest
 * first; a command another taker holds is skipped. Free *ret with
 * cw_node_cmds_free. Like the node operations above (and finish, below)
 * it makes one attempt: it runs in the daemon's loop, which must not
 * stall on a database that is away (-ECONNRESET at once). */
int cw_store_node_cmds_take(cw_store *s, const char *node, size_t max, cw_node_cmd **ret,
                            size_t *ret_n);
/* Moves command id from state `from` to `to` with result (may be NULL) and
 * wakes whoever waits for it. When run_reason is not NULL and the
 * command's run ended killed, the run's reason becomes run_reason in the
 * same transaction (who asked for the kill). -ESTALE when the command
 * was not `from`, -ENOENT when there is none. One attempt, as take. */
int cw_store_node_cmd_finish(cw_store *s, int64_t id, cw_node_cmd_state from, cw_node_cmd_state to,
                             const char *result, const char *run_reason);
/* Command id as it is now. Release *ret with cw_node_cmd_release. */
int cw_store_node_cmd_get(cw_store *s, int64_t id, cw_node_cmd *ret);
/* Whether a daemon of `node` is connected to the store now (one that
 * called cw_store_listen with that node). */
int cw_store_node_alive(cw_store *s, const char *node, bool *ret);
/* Wakes every daemon on the store for a pass (a request was queued). */
int cw_store_wake(cw_store *s);
/* Makes s's connection listen to the wake-up channel, as the daemon of
 * `node` when not NULL (cw_store_node_alive then sees it); *ret_fd is the
 * descriptor to poll for what arrives. Call again before each poll: after
 * a lost connection it connects and listens again (then reporting
 * CW_STORE_WOKE_LOST at the next cw_store_wakeups, as news may have been
 * missed), and the descriptor may change. */
int cw_store_listen(cw_store *s, const char *node, int *ret_fd);
/* Stops listening and forgets what arrived. Accepts a store not listening. */
void cw_store_unlisten(cw_store *s);
/* What arrived since the last call, without waiting: a mask of these. */
enum {
        CW_STORE_WOKE_CMD = 1 << 0,  /* a command for the listening node */
        CW_STORE_WOKE_PASS = 1 << 1, /* a pass is wanted (cw_store_wake) */
        CW_STORE_WOKE_DONE = 1 << 2, /* some command was finished */
        CW_STORE_WOKE_LOST = 1 << 3, /* the connection was lost: news may be missed */
};
int cw_store_wakeups(cw_store *s, unsigned *ret);

/* ---- cluster locks and fencing tokens (docs/cluster.md, "Locks in a cluster") ----
 *
 * On a store several nodes share (PostgreSQL) a job's lock is a row: its
 * key (worker/lock.h's), the holding node, run and worker pid, a fencing
 * token and a lease that ends at an instant of the database's clock
 * (never a node's). Tokens come from one sequence: every acquisition, and
 * every run that starts without a lock, gets a larger one. A lock whose
 * lease has ended is free: the next acquirer takes it over and, in the
 * same transaction, records the run that held it as lost, so that run's
 * worker, should it come back (a node frozen or cut off), can write
 * nothing more for it (cw_store_run_fence). No session state is involved:
 * locks work behind transaction-mode poolers and survive reconnects.
 * SQLite (one node: the worker's lock files) answers -EOPNOTSUPP. */
typedef struct cw_cluster_lock {
        char *key;
        char *node;       /* the holder's node */
        int64_t run_id;   /* its run, 0 while the run is not recorded yet */
        int worker_pid;   /* its worker, on that node */
        int64_t fence;    /* the token of this acquisition */
        int64_t since_us; /* acquired at, database clock */
        int64_t left_us;  /* lease left when read (database clock); <= 0: ended */
} cw_cluster_lock;
/* Frees the strings of l and zeroes it. Accepts NULL. */
void cw_cluster_lock_release(cw_cluster_lock *l);
void cw_cluster_locks_free(cw_cluster_lock *l, size_t n);

/* Takes lock `key` for node's worker worker_pid (run run_id, 0 when not
 * recorded yet) for lease_us, when nobody holds it or its lease has
 * ended. 0 with the new token in *ret_fence; -EBUSY when held, with the
 * holder in *ret_holder (may be NULL; release it). Taking over an ended
 * lease records the holder's run, if still queued or running with the
 * old token, as lost, saying why. */
int cw_store_lock_acquire(cw_store *s, const char *key, const char *node, int64_t run_id,
                          int worker_pid, int64_t lease_us, int64_t *ret_fence,
                          cw_cluster_lock *ret_holder);
/* Takes lock `key` as cw_store_lock_acquire does, but only when it has no
 * row at all: never reads the holder, never takes an ended lease over
 * (both left to cw_store_lock_acquire). One statement, cheap inside a
 * batch: the daemon takes a fire's lock with its claim this way. 0 with
 * the token in *ret_fence; -EBUSY when a row exists. */
int cw_store_lock_try(cw_store *s, const char *key, const char *node, int64_t run_id,
                      int64_t lease_us, int64_t *ret_fence);
/* Extends the lease of lock `key` held with token fence to lease_us from
 * now (database clock), and names run_id as its run and worker_pid as its
 * worker when not 0. -ESTALE
 * when the lock no longer has that token or its lease has ended: the
 * holder must stop (its job may be another's by now). -ECANCELED when
 * renewed but revoked (below): the holder should stop its job. */
int cw_store_lock_renew(cw_store *s, const char *key, int64_t fence, int64_t run_id, int worker_pid,
                        int64_t lease_us);
/* Frees lock `key` if it still has token fence; -ESTALE otherwise (it
 * was taken over: nothing changed). */
int cw_store_lock_release(cw_store *s, const char *key, int64_t fence);
/* Asks the holder of lock `key` to stop (concurrency = replace from
 * another node): its next renewal says so. `by` names who asks. -ENOENT
 * when the lock is free. */
int cw_store_lock_revoke(cw_store *s, const char *key, const char *by);
/* The holder of lock `key` (release *ret); -ENOENT when it is free (no
 * row, or its lease has ended). */
int cw_store_lock_holder(cw_store *s, const char *key, cw_cluster_lock *ret);
/* Every lock row, by key, ended leases included (left_us <= 0). Free
 * with cw_cluster_locks_free. */
int cw_store_locks_list(cw_store *s, cw_cluster_lock **ret, size_t *ret_n);
/* A new fencing token, for a run that starts without a lock. */
int cw_store_fence_next(cw_store *s, int64_t *ret_fence);
/* From now on the writes through s for run run_id (cw_store_run_started,
 * _set_pid, _progress, _output_snapshot, _finish) carry token fence: each
 * is made only while the run is running with that token (run_started:
 * also from queued, setting it), else -ESTALE and nothing is written.
 * fence 0 forgets. One run per store handle (a worker's). */
int cw_store_run_fence(cw_store *s, int64_t run_id, int64_t fence);

#endif
