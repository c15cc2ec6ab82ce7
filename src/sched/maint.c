/* maint.c - maintenance windows (see maint.h). */
#include "maint.h"

#include <string.h>

/* Windows chained end to end are followed at most this many times. */
#define MAINT_CHAIN_MAX 64

static bool names_job(const cw_maintenance *m, const cw_job *job)
{
        return m->all || cw_strv_find(&m->jobs, job->name) >= 0;
}

bool cw_maint_any(const cw_config *cfg, const cw_job *job)
{
        for (size_t i = 0; i < cfg->n_maintenance; i++)
                if (names_job(&cfg->maintenance[i], job))
                        return true;
        return false;
}

/* The end of m's occurrence covering t, or 0 when none does; *ret_open
 * (may be NULL) its opening (the earliest, when occurrences overlap). */
static cw_time covers(const cw_maintenance *m, cw_time t, cw_time *ret_open)
{
        cw_time open;

        if (!m->when) {
                if (ret_open)
                        *ret_open = m->start;
                return m->start <= t && t < m->end ? m->end : 0;
        }
        /* The first opening after t - duration is the earliest one whose
         * occurrence can still cover t. */
        if (cw_timespec_next(m->when, m->tz, t - m->duration, &open) < 0 || open > t)
                return 0;
        if (ret_open)
                *ret_open = open;
        /* Later openings up to t may end later (overlapping occurrences). */
        for (cw_time o = open, next; cw_timespec_next(m->when, m->tz, o, &next) == 0 && next <= t;
             o = next)
                open = next;
        return open + m->duration;
}

const cw_maintenance *cw_maint_at(const cw_config *cfg, const cw_job *job, cw_time t,
                                  cw_time *ret_end)
{
        const cw_maintenance *found = NULL;
        cw_time end = 0;
        bool grew = true;

        for (int round = 0; grew && round < MAINT_CHAIN_MAX; round++) {
                /* First round: windows covering t; then those covering the
                 * end found so far (a window that starts as another ends). */
                cw_time at = found ? end : t;
                grew = false;
                for (size_t i = 0; i < cfg->n_maintenance; i++) {
                        const cw_maintenance *m = &cfg->maintenance[i];
                        cw_time e;
                        if (!names_job(m, job) || !(e = covers(m, at, NULL)) || e <= end)
                                continue;
                        if (!found)
                                found = m;
                        end = e;
                        grew = true;
                }
        }
        if (found && ret_end)
                *ret_end = end;
        return found;
}

cw_maint_effect cw_maint_effect_of(const cw_config *cfg, const cw_job *job, cw_time fire)
{
        cw_maint_effect fx = {0};
        cw_time end = 0;

        fx.window = cw_maint_at(cfg, job, fire, &end);
        if (fx.window && job->during_maintenance == CW_MAINT_DEFER) {
                fx.deferred = true;
                fx.to = end;
        }
        return fx;
}

cw_time cw_maint_chain_open(const cw_config *cfg, const cw_job *job, cw_time t)
{
        cw_time open = t;
        bool grew = true;

        for (int round = 0; grew && round < MAINT_CHAIN_MAX; round++) {
                /* The earliest opening of a window covering `open`, then of
                 * one covering the instant before it (a window that ended
                 * as this one opened). */
                cw_time at = round ? open - 1 : open;
                grew = false;
                for (size_t i = 0; i < cfg->n_maintenance; i++) {
                        const cw_maintenance *m = &cfg->maintenance[i];
                        cw_time o;
                        if (names_job(m, job) && covers(m, at, &o) && o < open) {
                                open = o;
                                grew = true;
                        }
                }
        }
        return open;
}
