/* maint.h - maintenance windows (docs/scheduling.md, "Maintenance
 * windows"): which window of a config covers an instant for a job, and
 * where it ends. A window covers [open, open + duration) for each fire
 * `open` of its schedule (in its zone), or [start, end) for a one-off.
 * Windows of the same job that overlap or touch are one: the end given is
 * the end of the whole run of them. Pure: no store, no clock. */
#ifndef CW_SCHED_MAINT_H
#define CW_SCHED_MAINT_H

#include <stdbool.h>

#include "config/config.h"

/* Whether any window of cfg names job (or all jobs). */
bool cw_maint_any(const cw_config *cfg, const cw_job *job);

/* The window covering instant t for job, or NULL; with one, *ret_end (may
 * be NULL) is when it (and any window of the job overlapping it or
 * touching it) ends. */
const cw_maintenance *cw_maint_at(const cw_config *cfg, const cw_job *job, cw_time t,
                                  cw_time *ret_end);

/* Where the windows of job that cover t without a break (as cw_maint_at
 * joins them) begin: t itself when none covers it. */
cw_time cw_maint_chain_open(const cw_config *cfg, const cw_job *job, cw_time t);

/* What a window does to one fire, for next, info and the job page. */
typedef struct cw_maint_effect {
        const cw_maintenance *window; /* NULL: the fire is not touched */
        bool deferred;                /* else skipped */
        cw_time to;                   /* deferred: the instant it runs */
} cw_maint_effect;

cw_maint_effect cw_maint_effect_of(const cw_config *cfg, const cw_job *job, cw_time fire);

#endif
