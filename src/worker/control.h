/* control.h - acting on runs from outside their worker: is a run's worker
 * still there, recording vanished runs as lost, killing runs, finding
 * resumable ones (docs/running.md, suspend, resume, clean). Shared by the CLI, the
 * daemon and the HTTP API, so the rules live in one place. */
#ifndef CW_WORKER_CONTROL_H
#define CW_WORKER_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

/* True when the run's worker process still exists and, for a locked run,
 * still holds the run's lock (so a pid reused by an unrelated process does
 * not pass for the worker). Runs of other nodes are reported alive: this
 * node cannot tell. A queued run is alive unless its fate (below, without
 * knowing whether starters are gone) says its job may have run. */
bool cw_control_is_alive(const cw_config *cfg, const cw_run *run);

/* Records a dead run as lost: kills what is left of its job's process
 * group, then running -> lost with a reason. -ESTALE when someone else
 * finished it first (not an error for callers that sweep). */
int cw_control_mark_lost(cw_store *s, const cw_run *run, int64_t now_us);

/* A queued run (one the daemon recorded and handed to a worker) seen from
 * outside its worker, by its start record (worker/started.h). */
typedef enum cw_queued_fate {
        CW_QUEUED_ALIVE,         /* a start record whose worker lives: the job runs */
        CW_QUEUED_STARTING,      /* no record, and a worker may still start it */
        CW_QUEUED_NEVER_STARTED, /* no record, and no process can start it any more */
        CW_QUEUED_MAY_HAVE_RUN,  /* its worker is gone, maybe after its job's exec */
        CW_QUEUED_UNKNOWN,       /* its record was overwritten by a later run's, and no
                                  * process can start it any more: it may have run */
} cw_queued_fate;

/* The fate of queued run `run` of this node (other nodes' runs: ALIVE).
 * starters_gone: the caller knows that no process can still start a
 * queued run (no daemon, and the spawners' hand-over lock is the
 * caller's); without that a run without a record is STARTING. A run
 * queued before this machine's boot and without a record MAY_HAVE_RUN:
 * records are not synced to disk, so a power loss may have taken it. */
cw_queued_fate cw_control_queued_fate(const cw_config *cfg, const cw_run *run, bool starters_gone);

/* Records queued run `run`, whose fate is not ALIVE, as lost, with a
 * reason saying whether its job may have run.
 * When its worker is known gone after it may have exec'd the job
 * (MAY_HAVE_RUN) and the job has can_resume, the run becomes resumable
 * (resume pending) and *ret_resumable (may be NULL) is set; never for
 * UNKNOWN (its worker might still be running the job).
 * Never starts anything. -ESTALE when the run is no longer queued. */
int cw_control_mark_queued_lost(cw_store *s, const cw_config *cfg, const cw_run *run,
                                cw_queued_fate fate, int64_t now_us, bool *ret_resumable);

/* Stops a running run: SIGTERM to its worker, which stops the job (TERM,
 * grace, KILL) and records `killed`; then waits for the worker to exit,
 * at most kill_grace + 5 s, without polling (pidfd). When the worker is
 * already gone, signals the job's group itself and records `killed`.
 * A killed run of a job with can_resume becomes resumable. On return
 * *ret_status is the run's final status. -ETIMEDOUT when it did not end
 * in time; -ESTALE when it had already ended. */
int cw_control_kill(cw_store *s, const cw_config *cfg, const cw_run *run, int64_t now_us,
                    cw_run_status *ret_status);

/* The start of the reason of a run killed by someone named (below). */
#define CW_CONTROL_KILLED_BY "killed by "
/* cw_control_kill on behalf of `by` (e.g. "alice (admin UI)"), who is
 * recorded as the killer: the reason "killed by BY" is written into the
 * running run before its worker is signalled, and the worker keeps it
 * (a signal names only the process that sent it). by NULL: as
 * cw_control_kill. Same returns. */
int cw_control_kill_by(cw_store *s, const cw_config *cfg, const cw_run *run, const char *by,
                       int64_t now_us, cw_run_status *ret_status);

#endif
