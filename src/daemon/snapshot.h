/* snapshot.h - the config text the daemon runs (daemon.h,
 * CW_DAEMON_SNAPSHOT) and what changed at each load (docs/running.md,
 * "cronwarden diff"). The snapshot is what `cronwarden diff` compares a
 * new config against; the store keeps the version of the running text
 * and the last load's diff (state keys below) for the admin UI. */
#ifndef CW_DAEMON_SNAPSHOT_H
#define CW_DAEMON_SNAPSHOT_H

#include <stddef.h>

#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* The store state keys are CW_STATE_CONFIG_* (config/diff.h). */

/* Writes text as DATA_DIR/CW_DAEMON_SNAPSHOT atomically (a temporary
 * file, then rename), so a worker never reads half a snapshot. 0, or a
 * negative errno with err. */
int cw_snapshot_write(const char *data_dir, const char *text, size_t len, cw_error *err);

/* What loading text (loaded as new_cfg) changes against the snapshot in
 * data_dir (loaded as old_cfg, which may be NULL: no next fires then), as
 * config/diff.h formats it, in a new string ("" when nothing changed).
 * NULL when there is no snapshot yet or out of memory. Call before
 * cw_snapshot_write. */
char *cw_snapshot_diff(const char *data_dir, const cw_config *old_cfg, const char *text, size_t len,
                       const cw_config *new_cfg, cw_time now);

/* Records the running text's version, its load instant and the diff (may
 * be NULL: "first start") in the store. Returns 0 or a negative errno. */
int cw_snapshot_record(cw_store *store, const char *text, size_t len, const char *diff,
                       cw_time now);

#endif
