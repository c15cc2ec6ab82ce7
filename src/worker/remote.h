/* remote.h - acting on runs of other nodes of a cluster (docs/cluster.md,
 * Controlling runs on other nodes): what only the node running a run can
 * do is asked of that node's daemon as a command in the shared store
 * (store.h, "commands to a node"), and the answer waited for. Shared by
 * the CLI and the HTTP API; the daemon's side is src/daemon/remote.c. */
#ifndef CW_WORKER_REMOTE_H
#define CW_WORKER_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "store/store.h"

/* How long a node's daemon has to take a command before its sender
 * withdraws it (the daemon also looks at each heartbeat, at most
 * CW_REMOTE_POLL_MS apart, without a wake-up). */
#define CW_REMOTE_TAKE_MS 10000
#define CW_REMOTE_POLL_MS 5000
/* A kill's answer comes at most this long after the run's kill_grace. */
#define CW_REMOTE_KILL_EXTRA_MS 10000

/* Whether run ran (or runs) on a node other than cfg's. */
bool cw_remote_is_other(const cw_config *cfg, const cw_run *run);

/* Whether a run in progress is alive: this node's by its worker
 * (cw_control_is_alive), another node's by whether that node's daemon is
 * connected to the store now (a store error: alive, as nothing is known). */
bool cw_remote_run_alive(cw_store *s, const cw_config *cfg, const cw_run *run);

/* Asks the daemon of run->node to stop running run `run` as `kill` does
 * on its node (SIGTERM to the worker, SIGKILL after kill_grace), recorded
 * as killed by `by`, and waits for the answer (wakes on the store's
 * notifications, looks every second without). Returns 0 with *ret_status
 * the run's final status; -EHOSTDOWN when no daemon of that node is
 * connected to the store; -ETIMEDOUT when the node did not take the
 * command within CW_REMOTE_TAKE_MS (it is withdrawn, never acted on
 * later) or the run did not end in time; -EIO when the node could not act
 * on it; -EOPNOTSUPP for a store without commands (SQLite); other store
 * errors. On failure `why` (size bytes) says what happened in words. */
int cw_remote_kill(cw_store *s, const cw_config *cfg, const cw_run *run, const char *by,
                   cw_run_status *ret_status, char *why, size_t size);

#endif
