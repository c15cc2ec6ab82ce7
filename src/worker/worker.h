/* worker.h - running one job, supervised (docs/running.md).
 *
 * cw_worker_run() is what `cronwarden run` does in the foreground and what
 * a detached worker (`run --detach`, `resume`, `tick`, the daemon's spawner) does
 * in its own process: take the lock, record the run, start the job in its
 * own process group with the exact environment of docs/config.md (argv without a shell
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

#include "base/clock.h"
#include "base/error.h"
#include "config/config.h"
#include "jobspec/jobspec.h"
#include "store/store.h"
#include "worker/lock.h"

/* User lookups (passwd, group) done once for many workers: a process that
 * forks workers (the daemon's spawner) prepares each run's user before the
 * fork, so no worker pays for NSS (which may load modules and read files)
 * between the fire and the job's exec. Entries are forgotten when
 * /etc/passwd or /etc/group change. Not thread-safe. */
typedef struct cw_worker_users cw_worker_users;
cw_worker_users *cw_worker_users_new(void);    /* NULL when out of memory */
void cw_worker_users_free(cw_worker_users *c); /* accepts NULL */
/* Looks up job's user (run_as, or the process's own) into c unless it is
 * there and still current. Failures are not cached (the worker then looks
 * up itself and records why). Accepts c == NULL (nothing). */
void cw_worker_users_prepare(cw_worker_users *c, const cw_job *job);

/* The longest a worker holds back its bookkeeping for its starter's gate
 * (cw_worker_opts.gate_fd): a starter that stalls delays records, never
 * runs, and never for long. */
#define CW_WORKER_GATE_MAX_US (10 * 1000000LL)
/* And once it opens, how long more: the burst's last jobs, exec'd but
 * still in their dynamic loader, get the CPU before the workers open the
 * store; plus CW_WORKER_GATE_STAGGER_US per place in the burst
 * (cw_worker_opts.gate_rank), so that they open it a few at a time, not
 * a thousand at once (each takes ~1.5 ms of CPU; a job just exec'd among
 * a thousand runnable workers got a thousandth of the CPU). */
#define CW_WORKER_GATE_SETTLE_US 5000
#define CW_WORKER_GATE_STAGGER_US 500
/* The same on a shared store (PostgreSQL), where opening the store is a
 * server session (~7 ms of the server's CPU to start, ~15 ms with a
 * run's writes) and the other nodes' bursts of the same instant may
 * still be starting their jobs: the bookkeeping waits longer, spread
 * wider, never past a quarter of the lease a lock's holder must renew
 * (cw_worker_lease_us). */
#define CW_WORKER_GATE_SETTLE_SHARED_US 100000
#define CW_WORKER_GATE_STAGGER_SHARED_US 2000
/* And on a shared store, 1.5 ms more per run of the burst
 * (cw_worker_opts.gate_burst), for every worker of it: in a cluster the
 * other nodes fire the same instant, so their bursts are about as long as
 * this one; their jobs start before this node's workers open sessions
 * (1000 fires on 3 nodes of 2 CPUs: p99 3.9 s with stragglers, 1.1-1.5 s
 * without). */
#define CW_WORKER_GATE_BURST_SHARED_US 1500
/* The stagger's bound: with 4000 fires or more the rest go together. */
#define CW_WORKER_GATE_STAGGER_MAX_US (2 * 1000000LL)
/* A cluster lock's lease (dead_timeout; 30 s when unset), the same for
 * the daemon that takes it with a claim and the worker that renews it. */
int64_t cw_worker_lease_us(const cw_config *cfg);

/* On a store nodes share (PostgreSQL), a queued run's worker closes its
 * connection once it has not used it for this long and opens one again
 * for its next write: a running job holds a server connection only while
 * its worker writes (progress, output, lease renewals, the outcome), so
 * the server's max_connections bounds the writes in flight, not the jobs
 * running across the cluster. */
#define CW_WORKER_STORE_IDLE_US (5 * 1000000LL)

typedef struct cw_worker_opts {
        const cw_config *cfg;
        const cw_job *job;
        const cw_jobspec *spec; /* validated against the job's params */
        const char *spec_text;  /* its canonical text */
        cw_trigger trigger;
        int attempt;          /* 1 unless a retry */
        cw_time scheduled_at; /* the fire's instant; 0 = now (manual) */
        int64_t resumed_from; /* run id being resumed, 0 if none */
        bool ignore_lock;     /* concurrency = allow for scheduled fires */
        /* No signal is ignored in this process (SIG_IGN survives exec, so
         * otherwise the job's child resets every signal first). */
        bool signals_default;
        int64_t now_us; /* start time as read by the caller's clock */
        /* The clock the run's other instants (its end) are read on, the
         * one now_us came from; NULL: the system's wall clock. */
        const cw_clock *clock;
        /* The run, already recorded as queued by its starter (the daemon),
         * or 0: the worker records it. With a run id the job is started
         * before anything is written: `store` may then be NULL, and the
         * worker opens cfg's store itself once the job runs (see
         * cw_worker_run). */
        int64_t run_id;
        /* With run_id, on a store nodes share: the run's fencing token its
         * starter took (0: none, the worker takes its own) and, when
         * lease_sent_us > 0, the job's lock, taken as a leased row for
         * dead_timeout by a statement sent at that instant (monotonic µs).
         * With both the worker needs no store before its job starts. */
        int64_t fence;
        int64_t lease_sent_us;
        /* Users looked up already (see above), or NULL: looked up here. */
        const cw_worker_users *users;
        /* With run_id: a descriptor (> 0; 0 or -1 for none) whose EOF says
         * every job of the starter's burst of runs (the daemon's spawner,
         * in a second with many fires) is started. Until then the worker
         * leaves the store alone (it supervises the job meanwhile), so the
         * CPU goes to the starts, not to store connections; at most
         * CW_WORKER_GATE_MAX_US. The worker closes it. */
        int gate_fd;
        /* With gate_fd: the write end of the gate's pipe (> 0, or none),
         * which the worker closes as soon as its job is started or cannot
         * be, so the gate opens once the last job of the burst runs. */
        int started_fd;
        /* With gate_fd: this run's place in its burst, 0 for the first. */
        int gate_rank;
        /* With gate_fd, or NULL: where the starter writes its burst's size
         * before the gate opens (shared memory, read then). */
        const int *gate_burst;
        /* With run_id: a descriptor (> 0, or none) the worker closes once
         * its run is marked running or recorded otherwise (it holds the
         * daemon's hand-over lock, daemon/spawner.h). */
        int hold_fd;
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
        /* Delivers the run's pending notifications within budget_us
         * (cw_notify_deliver_run, notify.h), for a run that is not the
         * daemon's (whose sender delivers them): called after the start and
         * after the finish record. NULL: the run leaves them in the outbox
         * for the next pass. A pointer, not a call, so that a program that
         * only runs the daemon's workers (its lean spawner) links no HTTP
         * client. */
        void (*deliver)(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                        int64_t budget_us);
} cw_worker_opts;

typedef struct cw_worker_result {
        int64_t run_id;
        cw_run_status status;  /* SUCCEEDED, FAILED, TIMED_OUT, KILLED */
        int exit_code;         /* -1 if none */
        int signal;            /* 0 if none */
        cw_lock_holder holder; /* when -EBUSY is returned */
} cw_worker_result;

/* Runs the job to completion. Returns 0 with *ret filled whenever a run
 * was recorded (whatever its outcome, including a command that could not
 * be executed: FAILED with exit code 127 and the reason); -EBUSY when the
 * lock is held (ret->holder says by whom; nothing recorded); another
 * negative errno with err filled when setting up failed before a run was
 * recorded (store unavailable, lock directory unwritable, ...).
 *
 * With opts->run_id (a queued run): lock, write the run's start record
 * (started.h: from then on recovery never starts the run again), start the
 * job, then open the store (when `store` is NULL), mark the run running
 * with the pids (cw_store_run_started) and the record done. A run that
 * cannot be marked keeps its record until its outcome is recorded; one
 * whose outcome cannot be recorded either keeps it for good (recovery
 * then records the run as lost). A held lock is recorded on that run as
 * skipped, naming the holder, and -EBUSY returned; a failure to set up
 * (the record included) is recorded on it as failed when the store can be
 * reached. A record of the same run whose worker lives (another worker is
 * starting it): nothing is started or recorded, -EEXIST. */
int cw_worker_run(cw_store *store, const cw_worker_opts *opts, cw_worker_result *ret,
                  cw_error *err);

/* Sets every signal's disposition to SIG_DFL but SIGKILL's and SIGSTOP's,
 * glibc's internal signals (32, 33) included, which sigaction() cannot
 * reach. An ignored signal stays ignored across exec; handlers do not.
 * Async-signal-safe (used in the job's child before exec). */
void cw_signals_default(void);

/* The start time of process pid (/proc/PID/stat field 22), 0 if gone. */
uint64_t cw_proc_start_time(int pid);
/* True when process pid exists and, if start != 0, started at `start`. */
bool cw_proc_alive(int pid, uint64_t start);
/* Sends sig to every process whose process group is pgid, if the group's
 * leader (pid pgid) is gone or started at `start` (never an unrelated
 * group that reused the id). Returns how many processes were signalled. */
int cw_proc_kill_group(int pgid, uint64_t start, int sig);
/* This process's children (any of its threads'), but those in spare
 * (n_spare of them), into ret (at most max). Returns how many. */
size_t cw_proc_children(const int *spare, size_t n_spare, int *ret, size_t max);

#endif
