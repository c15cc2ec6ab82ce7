/* handover.c - how the daemon hands runs to its spawner (daemon_internal.h;
 * docs/scheduling.md, "Starting workers: the daemon's spawner").
 *
 * A pass records its fires as queued runs in one store batch; once the
 * batch commits, each run goes to the spawner as one message (the last of
 * the pass marked so), and the spawner forks its worker. A spawner that
 * is gone is replaced with what it never read. The spawner's reports (a
 * worker ended, a run could not start) come back on the same socket. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/array.h"
#include "daemon/daemon_internal.h"
#include "daemon/spawner.h"
#include "worker/lock.h"
#include "worker/worker.h"

/* A spawner that dies sooner than this after its start is restarted only
 * when a run needs it, not at once (no restart loop on a broken set-up). */
#define SPAWNER_RESTART_US 1000000

/* Closes our end of the spawner's socket: it forks what it was sent, then
 * exits; its workers go on. Reaped by reap() like any child. */
void daemon_spawner_down(daemon_state *d)
{
        if (d->spawner_fd >= 0)
                close(d->spawner_fd);
        d->spawner_fd = -1;
        d->spawner_pid = 0;
}

int daemon_spawner_up(daemon_state *d, cw_error *err)
{
        int mine, theirs, r;

        if (d->spawner_fd >= 0)
                return 0;
        r = cw_spawner_socketpair(&mine, &theirs);
        if (r < 0)
                return cw_error_fail(err, r, "cannot create the spawner's socket: %s",
                                     strerror(-r));
        r = d->o->start_spawner(d->o->userdata, d->snapshot, theirs, err);
        close(theirs);
        if (r < 0) {
                close(mine);
                return r;
        }
        d->spawner_fd = mine;
        d->spawner_pid = r;
        d->spawner_since = cw_clock_mono_us();
        return 0;
}

/* The spawner died, or does not read: it is made sure of (SIGKILL), reaped
 * unless `reaped`, and every run still queued (the ones it had read and
 * not forked, the ones still in its socket, the one whose hand-over
 * failed) goes to a new spawner once its workers in flight have marked
 * theirs (restart_queued). Never more than once per death: a hand-over
 * that fails meanwhile fails its run. */
void daemon_spawner_replace(daemon_state *d, bool reaped, const char *detail)
{
        pid_t pid = d->spawner_pid;
        /* One that died young is started again only when a run needs it. */
        bool young = cw_clock_mono_us() - d->spawner_since < SPAWNER_RESTART_US;
        int st;

        logline(d, "error", "event=error what=spawner pid=%d %s action=%s", (int)pid, detail,
                young ? "restart_when_needed" : "restart");
        daemon_spawner_down(d);
        if (!reaped && pid > 0) {
                (void)kill(pid, SIGKILL);
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
        }
        d->replacing = true;
        restart_queued(d);
        d->replacing = false;
        if (!young) {
                cw_error err;
                char q[400];

                cw_error_clear(&err);
                if (daemon_spawner_up(d, &err) < 0)
                        logline(d, "error", "event=error what=spawner error=%s action=retry_later",
                                quoted(err.msg, q, sizeof(q)));
        }
}

/* Hands the queued run to the spawner. Returns 0, 1 when the spawner had
 * to be replaced (then every queued run, this one included, was handed
 * over again by spawner_replace), or a negative errno with err set. */
static int hand_over(daemon_state *d, const cw_spawn_req *m, cw_error *err)
{
        int r = daemon_spawner_up(d, err);

        if (r == 0)
                r = cw_spawner_send(d->spawner_fd, m);
        if ((r == -EPIPE || r == -ETIMEDOUT) && !d->replacing) {
                char detail[96], q[64];

                snprintf(detail, sizeof(detail), "error=%s", quoted(strerror(-r), q, sizeof(q)));
                daemon_spawner_replace(d, false, detail);
                return 1;
        }
        if (r < 0 && !err->msg[0])
                cw_error_fail(err, r, "cannot hand the run to the spawner: %s", strerror(-r));
        return r;
}

/* Hands over a queued run; one that cannot be is recorded as failed.
 * Returns as hand_over. */
int hand_over_run(daemon_state *d, const pending *p, bool more, cw_error *err)
{
        char why[sizeof(err->msg) + 32];
        cw_spawn_req m;
        int r;

        m.run_id = p->run_id;
        m.scheduled_at = p->scheduled_at;
        m.trigger = p->trigger;
        m.attempt = p->attempt;
        m.ignore_lock = p->ignore_lock;
        m.more = more;
        m.fence = p->fence;
        m.lease_sent_us = p->lease_sent_us;
        snprintf(m.spec, sizeof(m.spec), "%s", p->spec);
        r = hand_over(d, &m, err);
        if (r < 0) {
                snprintf(why, sizeof(why), "could not start: %s", err->msg);
                (void)cw_store_run_transition(d->store, p->run_id, CW_RUN_QUEUED, CW_RUN_FAILED,
                                              why, cw_clock_now(d->clock));
                /* No worker will: the lock is free again at once. */
                if (p->lease_key && p->lease_sent_us > 0)
                        (void)cw_store_lock_release(d->store, p->lease_key, p->fence);
        }
        return r;
}

static void pending_release(pending *p)
{
        free(p->spec);
        free(p->lease_key);
}

/* Drops pend[from..]. */
static void pending_drop(daemon_state *d, size_t from)
{
        for (size_t i = from; i < d->n_pend; i++)
                pending_release(&d->pend[i]);
        d->n_pend = from;
        if (d->n_pend_committed > from)
                d->n_pend_committed = from;
}

void daemon_pending_clear(daemon_state *d)
{
        pending_drop(d, 0);
}

/* Opens the batch a pass's writes go into (claims, queued runs): one
 * commit for a second with a thousand fires instead of two thousand, and
 * no worker's write can come in between. Without it (a store that does
 * not batch, or busy) each write commits on its own and each run is handed
 * over at once. */
void daemon_batch_open(daemon_state *d)
{
        d->batch = cw_store_batch_begin(d->store) == 0;
        d->batch_since = cw_clock_mono_us();
}

/* Hands over pend[0..n), the last with `more` as given; then drops them
 * (or all of pend when the spawner was replaced: every queued run went to
 * the new one already). */
static void hand_over_pending(daemon_state *d, size_t n, bool more)
{
        char q[400];
        cw_error err;
        size_t i;
        int r = 0;

        for (i = 0; i < n && r != 1; i++) {
                cw_error_clear(&err);
                r = hand_over_run(d, &d->pend[i], i + 1 < n || more, &err);
                if (r < 0)
                        logline(d, "error", "event=failed run=%" PRId64 " spec=%s reason=%s",
                                d->pend[i].run_id, quoted(d->pend[i].spec, q, 256),
                                quoted(err.msg, q + 256, sizeof(q) - 256));
        }
        if (r == 1) {
                daemon_pending_clear(d);
                return;
        }
        for (i = 0; i < n; i++)
                pending_release(&d->pend[i]);
        if (d->n_pend > n)
                memmove(d->pend, d->pend + n, (d->n_pend - n) * sizeof(*d->pend));
        d->n_pend -= n;
        d->n_pend_committed = d->n_pend_committed > n ? d->n_pend_committed - n : 0;
}

/* Commits the batch: false when it did not (logged; its runs are
 * dropped, those of earlier slices handed over). */
static bool batch_commit(daemon_state *d)
{
        char q[400];
        int r;

        if (!d->batch)
                return true;
        d->batch = false;
        r = cw_store_batch_commit(d->store);
        if (r == 0) {
                daemon_waiting_commit(d, true);
                d->n_pend_committed = d->n_pend;
                return true;
        }
        logline(d, "error", "event=error what=commit error=%s runs=%zu action=retry_next_pass",
                quoted(strerror(-r), q, sizeof(q)), d->n_pend - d->n_pend_committed);
        pending_drop(d, d->n_pend_committed);
        daemon_waiting_commit(d, false);
        return false;
}

/* Commits the batch, then hands its runs over: never before, so a run is
 * started only once its claim is in the store. A batch that does not
 * commit takes its claims with it: the next pass finds those fires again. */
void daemon_flush(daemon_state *d)
{
        (void)batch_commit(d);
        hand_over_pending(d, d->n_pend, false);
}

/* A pass with many fires hands its runs over in slices: once the batch
 * has been open for CW_DAEMON_SLICE_US it is committed and its runs handed
 * over, and a new batch takes the rest, so the first jobs start while
 * the others are still being recorded (on PostgreSQL every write is a
 * round trip to the server). The slice's last run stays for the next: the
 * burst's gate (spawner.h) stays shut until the pass's last run, handed
 * over by daemon_flush with no more to follow. On SQLite a pass of a
 * thousand fires commits in ~15 ms: one batch, as before. */
static void batch_slice(daemon_state *d)
{
        if (!d->cluster || !d->batch || d->n_pend < 2 ||
            cw_clock_mono_us() - d->batch_since < CW_DAEMON_SLICE_US)
                return;
        if (batch_commit(d) && d->n_pend > 1)
                hand_over_pending(d, d->n_pend - 1, true);
        daemon_batch_open(d);
}

/* sched's flush hook: commit and hand over now, then batch on. */
void daemon_flush_hook(void *userdata)
{
        daemon_state *d = userdata;

        if (!d->batch)
                return;
        daemon_flush(d);
        daemon_batch_open(d);
}

/* sched's fires_done hook, in a cluster: the pass's runs are committed
 * and handed over before its requests, retries and window are written
 * (several round trips to the server), as a slice would be. A claim
 * committed before the window is safe: a pass that finds the fire again
 * finds it claimed. On SQLite the pass stays one commit. */
void daemon_fires_done_hook(void *userdata)
{
        daemon_state *d = userdata;

        if (d->n_pend > 0)
                daemon_flush_hook(d);
}

/* In a cluster the run's fencing token, and its lock's lease when the
 * lock has no row, are taken here, in the pass's batch with the claim and
 * the run, one statement each on the daemon's open connection: the worker
 * then needs no connection of its own before its job starts, and the
 * batch commits the claim, the run and the lock together or none of them.
 * A lock with a row (held, or an ended lease to take over) is left to the
 * worker, as is everything when a statement fails: it takes them itself
 * (docs/cluster.md, "Starting a run"). */
static void cluster_take(daemon_state *d, const cw_run *run, pending *p)
{
        int64_t sent = cw_clock_mono_us();
        int64_t fence = 0;

        if (!d->cluster)
                return;
        if (!run->lock_key) {
                /* Given by the run's insert (start_worker), else asked for. */
                if (run->fence > 0)
                        p->fence = run->fence;
                else if (cw_store_fence_next(d->store, &fence) == 0)
                        p->fence = fence;
                return;
        }
        p->lease_key = strdup(run->lock_key);
        if (!p->lease_key)
                return;
        if (cw_store_lock_try(d->store, run->lock_key, d->cfg->node ? d->cfg->node : "", run->id,
                              cw_worker_lease_us(d->cfg), &fence) < 0) {
                free(p->lease_key);
                p->lease_key = NULL;
                return;
        }
        p->fence = fence;
        p->lease_sent_us = sent;
}

/* The pass's starter: the fire is claimed; record the run as queued (its
 * id goes to the worker and back to the pass) and hand it over, at once
 * or when the pass's batch commits. */
int start_worker(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err)
{
        daemon_state *d = userdata;
        char key[CW_LOCK_KEY_MAX + 1];
        pending p;
        cw_run run = {0};
        int r;

        if (strlen(a->spec) > CW_JOBSPEC_TEXT_MAX)
                return cw_error_fail(err, -ENAMETOOLONG, "job spec too long");
        run.job = a->job->name;
        run.spec = (char *)a->spec;
        run.node = d->cfg->node;
        run.status = CW_RUN_QUEUED;
        run.trigger = a->trigger;
        run.attempt = a->attempt > 0 ? a->attempt : 1;
        run.scheduled_at = a->scheduled_at;
        run.started_us = cw_clock_now(d->clock);
        run.exit_code = -1;
        run.progress_done = run.progress_total = -1;
        run.lock_key =
                !a->ignore_lock && cw_lock_key(a->job, a->spec, key, sizeof(key)) == 0 ? key : NULL;
        run.resumed_from = a->resumed_from;
        /* In a cluster a run without a lock takes its token with its row. */
        run.fence = d->cluster && !run.lock_key ? -1 : 0;
        if (d->batch && cw_array_reserve((void **)&d->pend, &d->cap_pend, d->n_pend + 1,
                                         sizeof(pending), 64) < 0)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        p = (pending){.scheduled_at = a->scheduled_at,
                      .trigger = (int32_t)a->trigger,
                      .attempt = run.attempt,
                      .ignore_lock = a->ignore_lock,
                      .spec = strdup(a->spec)};
        if (!p.spec)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        r = cw_store_run_insert(d->store, &run);
        if (r < 0) {
                free(p.spec);
                return cw_error_fail(err, r, "cannot record the run: %s", cw_store_strerror(r));
        }
        p.run_id = run.id;
        *ret_run_id = run.id;
        if (daemon_gate_on(d) && daemon_waiting_push(d, &run, a->job, d->batch) == 0) {
                free(p.spec);
                return 1; /* started by waiting.c when max_running and max_load allow */
        }
        cluster_take(d, &run, &p);
        if (d->batch) {
                d->pend[d->n_pend++] = p;
                batch_slice(d);
                return 0;
        }
        /* Recorded already: a failure is said on the row, the pass reports it. */
        r = hand_over_run(d, &p, false, err);
        pending_release(&p);
        return r < 0 ? r : 0;
}

/* The spawner's news: workers ended (the loop's next pass looks at what
 * that allows), or a run it could not fork a worker for (failed). */
void daemon_read_reports(daemon_state *d)
{
        cw_spawn_report rep;
        char q[256];
        int r;

        while ((r = cw_spawner_read_report(d->spawner_fd, &rep)) > 0) {
                char why[sizeof(rep.msg) + 32];

                /* Workers ended: the wake-up itself is the news (a pass
                 * follows), and one may have died before its run's record. */
                d->notify_due = true;
                if (rep.run_id <= 0 || rep.ended) {
                        d->sweep_due = true;
                        d->ends_due = true;
                        if (rep.ended)
                                worker_died(d, rep.run_id, rep.wstatus);
                        continue;
                }
                snprintf(why, sizeof(why), "could not start: %s", rep.msg);
                (void)cw_store_run_transition(d->store, rep.run_id, CW_RUN_QUEUED, CW_RUN_FAILED,
                                              why, cw_clock_now(d->clock));
                logline(d, "error", "event=failed run=%" PRId64 " reason=%s", rep.run_id,
                        quoted(why, q, sizeof(q)));
        }
        /* Gone (reap() may not have seen it exit yet): replaced now, with
         * what it never read. */
        if (r < 0)
                daemon_spawner_replace(d, false, "error=gone");
}
