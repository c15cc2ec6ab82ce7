/* limits.h - `max_running` and `max_load` (docs/scheduling.md, "Capping
 * runs"): what the fronts that start runs (the daemon, `tick`) count and
 * say before a start. The decision to wait (the daemon) or to skip
 * (`tick`, which cannot wait) is theirs. */
#ifndef CW_SCHED_LIMITS_H
#define CW_SCHED_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"

/* Whether max_running or max_load is set. */
bool cw_sched_limits_on(const cw_config *cfg);

/* Counts into *ret the runs of cfg's node that hold a place under
 * max_running: queued or running, not manual (`cronwarden run` is
 * neither held back nor counted), and not one that skip (may be NULL)
 * says is still waiting. 0, or a negative errno from the store (*ret
 * untouched). */
int cw_sched_count_active(cw_store *s, const cw_config *cfg,
                          bool (*skip)(const void *userdata, int64_t run_id), const void *userdata,
                          long *ret);

/* The reason a start is held back: by the load (load_high, with the load
 * read) or else by max_running. */
void cw_sched_held_reason(const cw_config *cfg, bool load_high, double load, char *buf,
                          size_t size);

#endif
