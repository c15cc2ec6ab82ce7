/* drain.h - the scheduler's drain flag (docs/scheduling.md, "Draining
 * before a deploy"): `cronwarden drain` sets it, `undrain` and a daemon
 * start clear it, passes read it (sched.h, CW_SCHED_STATE_DRAINING). */
#ifndef CW_SCHED_DRAIN_H
#define CW_SCHED_DRAIN_H

#include "store/store.h"

/* Whether the scheduler drains: 0 with *ret_since the second the drain
 * began (0: not draining), or a negative errno from the store. */
int cw_sched_drain_get(cw_store *store, cw_time *ret_since);

/* Starts a drain at `since` (kept when one is on already), or ends it
 * (since 0). 0 or a negative errno. */
int cw_sched_drain_set(cw_store *store, cw_time since);

#endif
