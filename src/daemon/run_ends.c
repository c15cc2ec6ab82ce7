/* run_ends.c - the daemon's log line for every run it started that ended
 * (daemon_internal.h), so a failure shows in the journal beside its start.
 *
 * Workers record their runs' ends in the store; the spawner only says that
 * some worker ended (a report without a run id), and a worker of a
 * replaced spawner is reaped by the daemon itself. Either way the daemon
 * looks up the runs it started that it has not seen end yet: one store
 * read each, only after such news. */
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

void daemon_log_ends(daemon_state *d)
{
        size_t keep = 0;

        if (!d->ends_due)
                return;
        d->ends_due = false;
        for (size_t i = 0; i < d->n_live; i++) {
                cw_run r = {0};
                int e = cw_store_run_get(d->store, d->live[i], &r);

                if (e == 0 && cw_run_status_is_final(r.status))
                        log_end(d, &r);
                else if (e == 0 || (e < 0 && e != -ENOENT))
                        d->live[keep++] = d->live[i]; /* still running, or ask again */
                cw_run_release(&r);
        }
        d->n_live = keep;
}

void daemon_run_watch_free(daemon_state *d)
{
        free(d->live);
        d->live = NULL;
        d->n_live = d->cap_live = 0;
}
