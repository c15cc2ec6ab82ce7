/* since.h - when each schedule entry came into force (docs/scheduling.md,
 * "Editing a schedule").
 *
 * A pass looks at fires in (last pass, now]; an entry whose time spec was
 * edited (or that was added) since the last pass must not find fires in
 * that window from before it existed, or a reload would start a job by
 * itself. So the store keeps, under the state key "entries_since", the
 * instant each entry (canonical job spec, time spec text, zone) was first
 * seen by a pass; a pass looks at an entry's fires only after it.
 *
 * The set is read once per pass and written back only when an entry was
 * added or removed. A store that has no set yet (first pass after an
 * upgrade) counts every entry as seen at the last pass, so no fire owed
 * to an unchanged job is lost. */
#ifndef CW_SCHED_SINCE_H
#define CW_SCHED_SINCE_H

#include <stdbool.h>

#include "config/config.h"
#include "store/store.h"

#define CW_SCHED_SINCE_KEY "entries_since"

typedef struct cw_sched_since cw_sched_since;

/* Reads the set for a pass over (last, now]. Returns 0 and a new set in
 * *ret (an unreadable value counts as no set), or a negative errno from
 * the store (*ret unchanged). */
int cw_sched_since_load(cw_store *store, cw_time last, cw_time now, cw_sched_since **ret);

/* The instant after which entry e (in zone tz) fires: the one recorded
 * when a pass first saw it. For an entry this pass is the first to see,
 * that is changed_at (when its text changed) if it lies in [last, now],
 * else now. *ret_changed (may be NULL) is set when the same job spec had
 * another time spec or zone before: an edit, not a new job. Marks the
 * entry as present. -ENOMEM is reported as 0 (no limit). */
cw_time cw_sched_since_get(cw_sched_since *s, const cw_schedule_entry *e, const cw_tz *tz,
                           cw_time changed_at, bool *ret_changed);

/* Writes the set back when entries were added or some are gone (only
 * the entries marked present are kept). Returns 0 or a negative errno. */
int cw_sched_since_save(cw_sched_since *s, cw_store *store);

void cw_sched_since_free(cw_sched_since *s);

#endif
