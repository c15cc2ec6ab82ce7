/* store.h - where cronwarden's state lives (PRODUCT.md §8): the run
 * history, schedule claims, scheduler state, job flags and requests.
 *
 * One interface, several backends: a cw_store is a versioned table of
 * function pointers (cw_store_ops, in store_backend.h) plus the backend's
 * state; callers use only the functions below, so the PostgreSQL backend
 * can arrive without changing them. SQLite is the default: one file,
 * data_dir/cronwarden.db, WAL mode, migrations applied on open, prepared
 * statements only.
 *
 * Concurrency: any number of processes may open the same store. Writes
 * that meet a busy database wait and retry (bounded by CW_STORE_BUSY_MS)
 * rather than fail; a write is reported failed only when it was not made.
 * Durability: a committed write survives kill -9 of any process.
 *
 * Times in runs are microseconds since the epoch (UTC); scheduled
 * instants are seconds (cw_time). Every function returns 0 or a negative
 * errno; out-parameters are untouched on failure. */
#ifndef CW_STORE_STORE_H
#define CW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/error.h"
#include "store/run.h"

#define CW_STORE_BUSY_MS 30000
#define CW_STORE_FILE "cronwarden.db"

typedef struct cw_store cw_store;

/* Opens the store named by `url`: "sqlite" (the file CW_STORE_FILE in
 * data_dir, created with its directory when missing) or "sqlite:PATH".
 * "postgresql://..." gives -EPROTONOSUPPORT until that backend exists.
 * Errors: -EINVAL (bad url), -EACCES/-EROFS/-ENOSPC/-EIO..., each with err
 * saying what and where. */
int cw_store_open(const char *url, const char *data_dir, cw_store **ret, cw_error *err);
void cw_store_close(cw_store *s);
static inline void cw_store_closep(cw_store **s) { cw_store_close(*s); }

/* Schema version the file is at after open (for tests and `check`). */
int cw_store_schema_version(cw_store *s);

/* ---- runs ---- */

/* Inserts a new run from *run (id ignored; status usually RUNNING, or
 * SKIPPED/MISSED/QUEUED); sets run->id. */
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
int cw_store_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to, const char *reason,
                            int64_t now_us);
/* Compare-and-set of a run's resume state (see run.h). Same returns. */
int cw_store_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to);
/* One run, without its output. ret is released by the caller (cw_run_release). */
int cw_store_run_get(cw_store *s, int64_t id, cw_run *ret);
/* A run's captured output, newly allocated (caller frees; NULL with len 0
 * when empty). -ENOENT when there is no such run. */
int cw_store_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len);

typedef struct cw_run_filter {
        const char *job;        /* NULL: any job */
        int status;             /* a cw_run_status, or -1 for any */
        bool active;            /* only QUEUED and RUNNING */
        int resume;             /* a cw_resume_state, or -1 for any */
        int64_t before_id;      /* paging: only ids < before_id (0: no bound) */
        size_t limit;           /* 0: no limit */
} cw_run_filter;
#define CW_RUN_FILTER_INIT {.status = -1, .resume = -1}

/* Runs matching f, newest first, without output. *ret is an array of
 * *ret_n runs; free with cw_runs_free. */
int cw_store_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n);
void cw_runs_free(cw_run *runs, size_t n);
/* Deletes finished runs (final status) that started before before_us,
 * with their output; counts them in *ret_deleted. Never touches active runs. */
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

/* ---- scheduler (used by tick/daemon; shape fixed now) ---- */

/* Claims (spec, scheduled_at) for node: *ret_won is true for exactly one
 * caller across all processes and nodes. */
int cw_store_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node, bool *ret_won);
/* Key/value scheduler state ("last_pass", "enabled"). get: -ENOENT when unset. */
int cw_store_state_get(cw_store *s, const char *key, char **ret);
int cw_store_state_set(cw_store *s, const char *key, const char *value);
/* Per-job enable flag set by `disable`/`enable`; -ENOENT when never set. */
int cw_store_job_enabled_get(cw_store *s, const char *job, bool *ret);
int cw_store_job_enabled_set(cw_store *s, const char *job, bool enabled);
/* Requested runs: add one; take (atomically mark taken) up to max pending. */
int cw_store_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us, int64_t *ret_id);
typedef struct cw_request {
        int64_t id;
        char *spec;
        char *by;
        int64_t requested_us;
} cw_request;
int cw_store_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
void cw_requests_free(cw_request *r, size_t n);

#endif
