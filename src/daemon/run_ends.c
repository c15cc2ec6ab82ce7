/* run_ends.c - the daemon's log line for every run it started that ended
 * (daemon_internal.h), so a failure shows in the journal beside its start.
 *
 * Workers record their runs' ends in the store; the spawner only says that
 * some worker ended (a report without a run id), and a worker of a
 * replaced spawner is reaped by the daemon itself. Either way the daemon
 * looks up the runs it started that it has not seen end yet, only after
 * such news: with many of them, one read of the active runs first, so
 * that only the runs no longer active are read one by one (on PostgreSQL
 * each read is a round trip, and a burst of a thousand runs ends in many
 * pieces). A run that ended lost is resumed there when its job can
 * resume. */
#include "daemon/daemon_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/array.h"
#include "store/store.h"

void daemon_run_watch(daemon_state *d, int64_t run_id)
{
        if (run_id <= 0 || cw_array_reserve((void **)&d->live, &d->cap_live, d->n_live + 1,
                                            sizeof(int64_t), 64) < 0)
                return; /* without memory, only the end's log line is lost */
        d->live[d->n_live++] = run_id;
}

static void log_end(daemon_state *d, const cw_run *r)
{
        char q1[256], q2[512], dur[32] = "-", code[16] = "-", sig[16] = "-";

        if (r->ended_us >= r->started_us && r->ended_us > 0)
                snprintf(dur, sizeof(dur), "%.3fs", (double)(r->ended_us - r->started_us) / 1e6);
        if (r->exit_code >= 0)
                snprintf(code, sizeof(code), "%d", r->exit_code);
        if (r->signal)
                snprintf(sig, sizeof(sig), "%d", r->signal);
        logline(d, cw_run_status_is_failure(r->status) ? "warning" : "info",
                "event=ended run=%" PRId64
                " job=%s spec=%s status=%s duration=%s exit=%s signal=%s reason=%s",
                r->id, r->job ? r->job : "-", quoted(r->spec, q1, sizeof(q1)),
                cw_run_status_to_string(r->status), dur, code, sig,
                quoted(r->reason, q2, sizeof(q2)));
}

/* A run its own worker recorded lost (in a cluster: it stopped the job
 * when the lease of its lock could not be renewed) is resumed here when
 * its job can resume; the resume state's compare-and-set keeps it to one
 * resume whoever else noticed the loss. */
static void resume_if_lost(daemon_state *d, const cw_run *r)
{
        const cw_job *job = r->job ? cw_config_job(d->cfg, r->job) : NULL;

        if (r->status != CW_RUN_LOST || !job || !job->can_resume ||
            cw_store_run_set_resume(d->store, r->id, CW_RESUME_NONE, CW_RESUME_PENDING) < 0)
                return;
        resume_lost(d, r, job);
}

/* Watched runs beyond this many are checked against one list of the
 * active runs before any is read alone. */
#define ENDS_LIST_FROM 8

static int id_cmp(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* The ids of the active (queued, running) runs, sorted; NULL when they
 * cannot be read (then every watched run is read alone). */
static int64_t *active_ids(daemon_state *d, size_t *ret_n)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        int64_t *ids;
        size_t n = 0;

        f.active = true;
        if (cw_store_runs_list(d->store, &f, &runs, &n) < 0)
                return NULL;
        ids = malloc((n ? n : 1) * sizeof(*ids));
        for (size_t i = 0; ids && i < n; i++)
                ids[i] = runs[i].id;
        cw_runs_free(runs, n);
        if (ids)
                if (n > 1)
                        qsort(ids, n, sizeof(*ids), id_cmp);
        *ret_n = n;
        return ids;
}

void daemon_log_ends(daemon_state *d)
{
        cw_run *lost = NULL;
        size_t keep = 0, n_lost = 0, cap_lost = 0, n_active = 0;
        int64_t *active = NULL;

        if (!d->ends_due)
                return;
        d->ends_due = false;
        if (d->n_live > ENDS_LIST_FROM)
                active = active_ids(d, &n_active);
        for (size_t i = 0; i < d->n_live; i++) {
                cw_run r = {0};
                int e;

                if (active && bsearch(&d->live[i], active, n_active, sizeof(*active), id_cmp)) {
                        d->live[keep++] = d->live[i]; /* still queued or running */
                        continue;
                }
                e = cw_store_run_get(d->store, d->live[i], &r);

                if (e == 0 && cw_run_status_is_final(r.status)) {
                        log_end(d, &r);
                        /* Resumed once the list is settled (a resume
                         * watches its new run). */
                        if (r.status == CW_RUN_LOST &&
                            cw_array_reserve((void **)&lost, &cap_lost, n_lost + 1, sizeof(cw_run),
                                             4) == 0) {
                                lost[n_lost++] = r;
                                continue;
                        }
                } else if (e == 0 || (e < 0 && e != -ENOENT)) {
                        d->live[keep++] = d->live[i]; /* still running, or ask again */
                }
                cw_run_release(&r);
        }
        d->n_live = keep;
        free(active);
        for (size_t i = 0; i < n_lost; i++) {
                resume_if_lost(d, &lost[i]);
                cw_run_release(&lost[i]);
        }
        free(lost);
}

void daemon_run_watch_free(daemon_state *d)
{
        free(d->live);
        d->live = NULL;
        d->n_live = d->cap_live = 0;
}
