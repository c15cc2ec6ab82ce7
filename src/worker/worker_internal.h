/* worker_internal.h - what the worker's files share (worker.h is the
 * module's contract; this is not for other modules).
 *
 * One run's worker is one `worker` struct, passed down: worker.c keeps the
 * run's records (lock, store rows, start record, the burst's gate) and
 * drives the steps; job_start.c starts the job (user, environment, argv,
 * limits, vfork and exec); supervise.c supervises it (the state machine,
 * reaping, output, progress, timeout, snapshots). */
#ifndef CW_WORKER_WORKER_INTERNAL_H
#define CW_WORKER_WORKER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/strv.h"
#include "worker/capture.h"
#include "worker/worker.h"

/* The output pipe is read in chunks of this size (also the tee's buffer). */
#define BUF_SIZE (64 * 1024)
#define PROGRESS_LINE_MAX 256

typedef enum worker_state {
        W_RUNNING,
        W_STOPPING,       /* SIGTERM sent to the group (timeout or signal) */
        W_FORCING,        /* SIGKILL sent to the group */
        W_LEFTOVERS_TERM, /* the job exited; SIGTERM sent to the rest of its group */
        W_LEFTOVERS_KILL, /* ... and SIGKILL */
        W_DRAINING,       /* the group is empty: reading what is left in the pipes */
        W_DONE,
        W_STATE_MAX,
} worker_state;

/* STOP_LEASE: the run is no longer this worker's (cluster_lock.c). */
typedef enum stop_cause { STOP_NONE, STOP_TIMEOUT, STOP_KILLED, STOP_LEASE } stop_cause;

#define WORKER_HOST_CHILDREN_MAX 64

typedef struct worker {
        cw_store *store;
        const cw_worker_opts *o;
        const cw_job *job;
        worker_state state;
        stop_cause cause;
        int64_t now; /* CLOCK_MONOTONIC µs, read once per loop iteration */
        int64_t run_id;

        int sig_fd, timer_fd, out_fd, prog_fd, err_fd;
        int tee_fd;       /* -1: none (or given up after an error) */
        bool tee_chunked; /* a pipe or socket: write at most PIPE_BUF at a time */

        /* Children this process had before the job started (an embedding
         * program's own): never taken for the job's leftovers. */
        int host_children[WORKER_HOST_CHILDREN_MAX];
        size_t n_host_children;

        pid_t pid; /* the job's process = its process group id */
        uint64_t pid_start;
        bool leader_done; /* reaped */
        int exit_code, signal;

        int64_t timeout_at, grace_at, giveup_at, flush_at, snap_at; /* monotonic µs, 0 = unset */
        int64_t warn_at; /* max_runtime: when the run is reported as running long, 0 = unset */
        cw_strv secrets; /* secret_env values, masked in stored output (secrets.h) */

        /* A queued run (opts->run_id): its store, opened by the worker, and
         * whether the run is marked running yet; gate_fd (-1: none) holds
         * that back while the starter is still starting others (worker.h),
         * at most until gate_at (monotonic µs); started_fd is this
         * worker's share in keeping it shut, given up once the job runs. */
        cw_store *owned;
        /* park_idle: the owned store is closed at park_at (monotonic µs, 0
         * = unset) when unused since CW_WORKER_STORE_IDLE_US (worker.h). */
        bool park_idle;
        int64_t park_at;
        bool marked;
        bool quiet; /* set_quiet(): SIGCHLD and the pipes left alone */
        int gate_fd, started_fd, hold_fd;
        int64_t gate_at;
        /* The run's start record (started.h), written just before the
         * job's exec, marked done once the store says running or has the
         * outcome; -1: none. A record whose worker lives (-EEXIST) means
         * another worker is starting the run: then nothing is recorded. */
        int mark_fd;
        bool foreign;

        cw_capture cap;
        /* Live output (store_snapshot): cap.total when a snapshot was last
         * stored, when that was (monotonic µs, 0 = never), and whether the
         * store refused for good (the run is no longer running there). */
        uint64_t snap_total;
        int64_t snap_last;
        bool snap_off;
        char *buf; /* BUF_SIZE bytes of output being teed */
        size_t tee_off, tee_len;

        char line[PROGRESS_LINE_MAX];
        size_t line_len;
        bool line_overflow;
        int64_t prog_done, prog_total;
        bool prog_dirty;
        int64_t prog_stored_at; /* monotonic µs of the last store write, 0 = never */

        char reason[320]; /* why it failed to start, timed out, was killed */

        /* On a PostgreSQL store (cluster_lock.c): the run's fencing token,
         * and the job's lock as a leased row (lease_key NULL: none) whose
         * lease is renewed at renew_at; the job is stopped at lease_stop_at
         * unless a renewal moved it, and killed before lease_end
         * (monotonic µs, computed from when each renewal was sent). stale:
         * the store refused a write carrying the token (the cluster
         * recorded the run otherwise); nothing more is written for it. */
        int64_t fence;
        const char *lease_key;
        int64_t lease_us;
        int64_t renew_at, lease_stop_at, lease_end;
        int lease_err;   /* the last failed renewal's error, 0 if none */
        bool lease_lost; /* a renewal was refused: the lock is not the run's */
        bool stale;
        bool adopted; /* token (and lease) taken by the starter: the row is
                       * named this worker's at its first store contact */
} worker;

/* The run's clock (the caller's, else the system's wall clock): a run's
 * end is read on the same clock as its start. */
static inline cw_instant worker_now(const worker *w)
{
        return w->o->clock ? cw_clock_now(w->o->clock) : cw_clock_real_us();
}

static inline void set_reason(worker *w, const char *fmt, ...) _printf_(2, 3);

static inline void set_reason(worker *w, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
        va_end(ap);
}

static inline void close_fd(int *fd)
{
        if (*fd >= 0) {
                close(*fd);
                *fd = -1;
        }
}

/* ---- job_start.c ---- */

/* Prepares and forks the job (with a start record first for a queued
 * run). Returns 0 when it was started, or a negative errno with w->reason
 * saying why the run failed before starting; -EEXIST (w->foreign set):
 * another worker is starting the run. */
int worker_start_job(worker *w, int64_t started_us);
/* The child's report, if it failed before exec: sets w->reason. */
void worker_read_child_report(worker *w);
/* The run's fate is in the store, or its job never started: its start
 * record is marked done. */
void worker_unmark(worker *w);

/* ---- worker.c ---- */

/* A queued run's store: w->store as is, or cfg's opened into w->owned
 * (carrying the run's fencing token when it has one). */
int worker_queued_store(worker *w, cw_error *err);
/* Closes the store worker_queued_store opened (the next call opens it
 * again); nothing when w->store is the caller's. */
void worker_store_park(worker *w);

/* ---- cluster_lock.c ---- */

/* True when cfg's store is shared by nodes (PostgreSQL): runs then take
 * a fencing token and their locks as leased rows. */
bool worker_in_cluster(const cw_config *cfg);
/* Takes the run's fencing token: the lock `key` as a leased row for
 * dead_timeout, or a bare token when key is NULL (no lock). 0; -EBUSY
 * with *holder naming the holder; other errors with err set. w->store
 * must be open. */
int worker_cluster_take(worker *w, const char *key, cw_lock_holder *holder, cw_error *err);
/* Takes over what the daemon took for the queued run in its claim's
 * batch (cw_worker_opts.fence, lease_sent_us): the token, and with key
 * the lock's lease, counted from when its statement was sent. True when
 * there was something to take (no store needed); false: take it with
 * worker_cluster_take. */
bool worker_cluster_adopt(worker *w, const char *key);
/* The run's id is known (and recorded): later writes carry the token,
 * and the lock's row names the run. */
void worker_cluster_run_known(worker *w);
/* From the supervisor's loop: renewals due, and the stop when they
 * failed for too long. */
void worker_lease_tick(worker *w);
/* A write for the run met -ESTALE: the run is no longer this worker's;
 * stop its job at once (if running) and write nothing more. */
void worker_fenced_out(worker *w, const char *what);
/* Frees the lock's row (unless it was taken over). */
void worker_cluster_drop(worker *w);

/* ---- supervise.c ---- */

/* Stops the job for `cause` (w->reason set by the caller) if it runs,
 * SIGKILL at kill_by (monotonic µs, 0: after kill_grace) at the latest. */
void worker_stop(worker *w, stop_cause cause, int64_t kill_by);

/* Runs the supervisor's loop until the job's group is gone and its pipes
 * are read (W_DONE). */
void worker_supervise(worker *w);
/* Stores the progress read since the last write, if any. */
void worker_store_progress(worker *w);
/* Reads the job's start time once (before it is stored or reaped). */
void worker_job_start_known(worker *w);

/* ---- worker.c ---- */

/* The burst's gate opened (EOF on gate_fd): the bookkeeping settles. */
void worker_gate_settle(worker *w);
/* The gate opened and settled, or its time ran out: mark the run. */
void worker_gate_open(worker *w);

#endif
