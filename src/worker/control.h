/* control.h - acting on runs from outside their worker: is a run's worker
 * still there, recording vanished runs as lost, killing runs, finding
 * resumable ones (PRODUCT.md §5, §6.3). Shared by the CLI now and by the
 * daemon and the HTTP API later, so the rules live in one place. */
#ifndef CW_WORKER_CONTROL_H
#define CW_WORKER_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

/* True when the run's worker process still exists and, for a locked run,
 * still holds the run's lock (so a pid reused by an unrelated process does
 * not pass for the worker). Runs of other nodes are reported alive: this
 * node cannot tell. */
bool cw_control_is_alive(const cw_config *cfg, const cw_run *run);

/* Records a dead run as lost: kills what is left of its job's process
 * group, then running -> lost with a reason. -ESTALE when someone else
 * finished it first (not an error for callers that sweep). */
int cw_control_mark_lost(cw_store *s, const cw_run *run, int64_t now_us);

/* Stops a running run: SIGTERM to its worker, which stops the job (TERM,
 * grace, KILL) and records `killed`; then waits for the worker to exit,
 * at most kill_grace + 5 s, without polling (pidfd). When the worker is
 * already gone, signals the job's group itself and records `killed`.
 * A killed run of a job with can_resume becomes resumable. On return
 * *ret_status is the run's final status. -ETIMEDOUT when it did not end
 * in time; -ESTALE when it had already ended. */
int cw_control_kill(cw_store *s, const cw_config *cfg, const cw_run *run, int64_t now_us,
                    cw_run_status *ret_status);

#endif
