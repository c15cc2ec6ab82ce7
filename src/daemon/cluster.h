/* cluster.h - the daemon as one node of a cluster (docs/cluster.md).
 *
 * On a store several hosts share (PostgreSQL) every daemon is a node: it
 * renews its row in the store with a heartbeat, measures its clock's
 * offset from the database's, declares dead the nodes whose heartbeat is
 * older than dead_timeout (database time) and records their runs lost
 * (resuming those whose job can resume), and says, for each scheduled
 * fire, how long this node waits before claiming it: the node a hash of
 * (job spec, instant) picks among the live eligible nodes claims at once,
 * the others after CW_CLUSTER_FALLBACK_S, so a dead preferred node costs
 * lateness, never a fire. A node stops claiming at once when it cannot
 * renew its heartbeat or its clock is off by more than max_clock_offset,
 * and kills the jobs it runs when the cluster had declared it dead.
 *
 * On a store without nodes (SQLite) none of this is set up: d->cluster
 * stays NULL and every function below does nothing (the fire delay is 0).
 * Private to src/daemon/. */
#ifndef CW_DAEMON_CLUSTER_H
#define CW_DAEMON_CLUSTER_H

#include <stdbool.h>

#include "config/config.h"

/* Seconds a node not preferred for a fire waits before claiming it. */
#define CW_CLUSTER_FALLBACK_S 2
/* Environment (tests only): seconds added to this node's clock when its
 * offset from the database is measured, to simulate a skewed clock. */
#define CW_CLUSTER_FAKE_OFFSET_ENV "CRONWARDEN_TEST_CLOCK_OFFSET"

typedef struct daemon_state daemon_state;

/* Sets up d->cluster when d->store has nodes, with a first heartbeat (a
 * failure is logged and retried by the timer). 0, or -ENOMEM. */
int daemon_cluster_start(daemon_state *d);
/* The heartbeat timer's descriptor, -1 without a cluster. */
int daemon_cluster_fd(daemon_state *d);
/* The timer rang: heartbeat, sweep of dead nodes, fresh view of the
 * nodes. True when this node may claim again after it could not (a pass
 * is due). */
bool daemon_cluster_tick(daemon_state *d);
/* Whether this node claims fires now (always without a cluster). */
bool daemon_cluster_may_claim(daemon_state *d);
/* The config changed: publish the job definitions' hashes again. */
void daemon_cluster_config(daemon_state *d);
/* The store key of this node's last pass (NULL without a cluster). */
const char *daemon_cluster_last_pass_key(daemon_state *d);
/* cw_sched_opts.claim_delay: seconds this node waits past fire `at` of
 * job (canonical spec `spec`) before claiming it; -1: never (the job is
 * pinned elsewhere by `hosts`, or its definition here differs from the
 * cluster's). *ret_missed is set when the fire cannot run anywhere (every
 * node of its `hosts` is down): record it missed with that reason. */
int daemon_cluster_claim_delay(void *userdata, const cw_job *job, const char *spec, cw_time at,
                               const char **ret_missed);
/* The daemon stops: its row says it left; frees d->cluster. */
void daemon_cluster_stop(daemon_state *d);

#endif
