/* worker.h - running one job, supervised (PRODUCT.md §6.1).
 *
 * cw_worker_run() is what `cronwarden run` does in the foreground and what
 * a detached worker (`run --detach`, `resume`, later the scheduler) does
 * in its own process: take the lock, record the run, start the job in its
 * own process group with the exact environment of §3 (argv without a shell
 * unless shell = yes; params appended and exported; workdir; nice; ionice
 * via ioprio_set; run_as when root; rlimits), capture stdout+stderr
 * interleaved and bounded (capture.h), read progress lines ("13/77",
 * "42%") from CRONWARDEN_PROGRESS_FD, enforce timeout (SIGTERM to the
 * group, SIGKILL after kill_grace), record the outcome, release the lock.
 *
 * The job never outlives its worker unsupervised: it gets
 * PR_SET_PDEATHSIG(SIGKILL), and a new holder of a lock first kills any
 * process left in the previous holder's process group.
 *
 * While it runs, the worker owns its process's signals: it blocks SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP and reads them from a signalfd. SIGTERM or
 * SIGINT (what `cronwarden kill` sends) stops the job the same way a
 * timeout does and records the run as killed; the previous mask is restored
 * on return. Must be called from a single-threaded process. */
#ifndef CW_WORKER_WORKER_H
#define CW_WORKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "jobspec/jobspec.h"
#include "store/store.h"
#include "worker/lock.h"

typedef struct cw_worker_opts {
        const cw_config *cfg;
        const cw_job *job;
        const cw_jobspec *spec;   /* validated against the job's params */
        const char *spec_text;    /* its canonical text */
        cw_trigger trigger;
        int attempt;              /* 1 unless a retry */
        cw_time scheduled_at;     /* the fire's instant; 0 = now (manual) */
        int64_t resumed_from;     /* run id being resumed, 0 if none */
        bool ignore_lock;         /* concurrency = allow for scheduled fires */
        int64_t now_us;           /* start time as read by the caller's clock */
        /* Where the job's output is also copied as it arrives (the
         * foreground `run`), or -1 for none; 0 also means none, so a
         * zeroed opts never writes to stdin. EPIPE stops the copy, not
         * the run. A slow reader slows the job, never the worker's
         * timers. */
        int tee_fd;
        /* Called once the run is recorded (e.g. to print its id), with
         * the job's pid, or 0 when it failed before starting; may be NULL. */
        void (*on_started)(void *userdata, int64_t run_id, int pid);
        void *userdata;
} cw_worker_opts;

typedef struct cw_worker_result {
        int64_t run_id;
        cw_run_status status;     /* SUCCEEDED, FAILED, TIMED_OUT, KILLED */
        int exit_code;            /* -1 if none */
        int signal;               /* 0 if none */
        cw_lock_holder holder;    /* when -EBUSY is returned */
} cw_worker_result;

/* Runs the job to completion. Returns 0 with *ret filled whenever a run
 * was recorded (whatever its outcome, including a command that could not
 * be executed: FAILED with exit code 127 and the reason); -EBUSY when the
 * lock is held (ret->holder says by whom; nothing recorded); another
 * negative errno with err filled when setting up failed before a run was
 * recorded (store unavailable, lock directory unwritable, ...). */
int cw_worker_run(cw_store *store, const cw_worker_opts *opts, cw_worker_result *ret, cw_error *err);

/* The start time of process pid (/proc/PID/stat field 22), 0 if gone. */
uint64_t cw_proc_start_time(int pid);
/* True when process pid exists and, if start != 0, started at `start`. */
bool cw_proc_alive(int pid, uint64_t start);
/* Sends sig to every process whose process group is pgid, if the group's
 * leader (pid pgid) is gone or started at `start` (never an unrelated
 * group that reused the id). Returns how many processes were signalled. */
int cw_proc_kill_group(int pgid, uint64_t start, int sig);

#endif
