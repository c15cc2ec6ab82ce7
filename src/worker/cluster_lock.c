/* cluster_lock.c - a run's fencing token and its job's lock as a leased
 * row, on a store several nodes share (worker_internal.h; docs/cluster.md,
 * "Locks in a cluster").
 *
 * On PostgreSQL every run takes a fencing token before its job starts:
 * with its lock (the row's token, store.h cw_store_lock_acquire) or
 * without one (cw_store_fence_next). The job sees it as
 * CRONWARDEN_FENCE_TOKEN, and from then on every write for the run
 * carries it (cw_store_run_fence): once the cluster has recorded the run
 * lost, or given its lock to another run, those writes fail with -ESTALE
 * and the worker stops the job and writes nothing more.
 *
 * The lock's lease lasts dead_timeout and is renewed every third of it.
 * Its end is kept on this host's monotonic clock, counted from when each
 * renewal was sent (the database granted it no earlier), so it errs on
 * the short side whatever the clocks of the nodes say. When renewals fail
 * the job is stopped (SIGTERM) early enough that kill_grace ends before
 * the lease does, with SIGKILL no later than a margin before its end: by
 * the time another node may take the lock, the job is gone. A worker that
 * was frozen past its lease (SIGSTOP, a suspended VM) finds, when it
 * thaws, its stop deadline passed and its renewal refused: the job is
 * stopped at once and nothing of the run is written.
 *
 * Trade-off: the worker's loop makes the renewal itself, one attempt at a
 * time (no retries inside the store), so a server that is down costs a
 * refused connection; a server that stops answering mid-statement holds
 * the loop until libpq's keepalives give up (about a minute). */
#include "worker/worker_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

/* A failed renewal is tried again after this share of the lease. */
#define RETRY_DIV 10
/* SIGKILL comes at the latest this share of the lease before its end. */
#define MARGIN_DIV 10
#define MIN_STEP_US 100000

static void lease_granted(worker *w, int64_t sent);

int64_t cw_worker_lease_us(const cw_config *cfg)
{
        return (int64_t)(cfg->dead_timeout > 0 ? cfg->dead_timeout : 30) * 1000000;
}

bool worker_in_cluster(const cw_config *cfg)
{
        cw_store_url u;

        return cw_store_url_parse(cfg->store, &u, NULL) == 0 && u.kind == CW_STORE_POSTGRESQL;
}

static int64_t lease_share(const worker *w, int div)
{
        int64_t v = w->lease_us / div;

        return v > MIN_STEP_US ? v : MIN_STEP_US;
}

/* A renewal sent at `sent` (monotonic µs) was granted. */
static void lease_granted(worker *w, int64_t sent)
{
        int64_t grace = (int64_t)w->job->kill_grace * 1000000;

        w->lease_err = 0;
        w->lease_end = sent + w->lease_us;
        w->renew_at = sent + w->lease_us / 3;
        w->lease_stop_at = w->lease_end - grace - lease_share(w, MARGIN_DIV);
        /* A grace as long as the lease: stop after one failed retry. */
        if (w->lease_stop_at < w->renew_at + lease_share(w, RETRY_DIV))
                w->lease_stop_at = w->renew_at + lease_share(w, RETRY_DIV);
}

static int64_t kill_by(const worker *w)
{
        return w->lease_key ? w->lease_end - lease_share(w, MARGIN_DIV) : 0;
}

static int acquire(worker *w, const char *key, cw_cluster_lock *holder)
{
        const char *node = w->o->cfg->node;

        return cw_store_lock_acquire(w->store, key, node ? node : "", w->run_id, getpid(),
                                     w->lease_us, &w->fence, holder);
}

static bool same_node(const cw_config *cfg, const cw_cluster_lock *h)
{
        return h->node && strcmp(h->node, cfg->node ? cfg->node : "") == 0;
}

/* The row names a worker of this node, whose lock file for the key this
 * worker holds (worker.c takes it first): that holder is gone (a worker
 * killed with SIGKILL, a crash), so the row is freed now instead of when
 * its lease ends, as the lock file was. A row without a worker was taken
 * by the daemon for a run whose worker has not reached its lock file yet:
 * that run holds the lock. */
static bool own_dead_holder(const cw_config *cfg, const cw_cluster_lock *h)
{
        return same_node(cfg, h) && h->worker_pid > 0;
}

int worker_cluster_take(worker *w, const char *key, cw_lock_holder *holder, cw_error *err)
{
        const cw_config *cfg = w->o->cfg;
        cw_cluster_lock h = {0};
        int64_t sent = cw_clock_mono_us();
        int r;

        if (!key) {
                r = cw_store_fence_next(w->store, &w->fence);
                if (r < 0)
                        return cw_error_fail(err, r, "cannot take a fencing token: %s",
                                             cw_store_error_text(w->store, r));
                worker_cluster_run_known(w);
                return 0;
        }
        w->lease_us = cw_worker_lease_us(cfg);
        r = acquire(w, key, &h);
        /* Taken for this very run by its daemon, whose word did not reach
         * this worker (a replaced spawner's runs, handed over again). */
        if (r == -EBUSY && w->run_id > 0 && h.run_id == w->run_id && same_node(cfg, &h)) {
                w->fence = h.fence;
                w->lease_key = key;
                w->adopted = true;
                cw_cluster_lock_release(&h);
                worker_cluster_run_known(w);
                if (w->lease_end)
                        return 0;
                w->lease_key = NULL;
                return cw_error_fail(err, -ESTALE, "cluster lock '%s': its lease ended", key);
        }
        if (r == -EBUSY && own_dead_holder(cfg, &h)) {
                int64_t dead = h.fence;

                cw_cluster_lock_release(&h);
                (void)cw_store_lock_release(w->store, key, dead);
                sent = cw_clock_mono_us();
                r = acquire(w, key, &h);
        }
        if (r == -EBUSY) {
                *holder = (cw_lock_holder){
                        .pid = h.worker_pid, .run_id = h.run_id, .since_us = h.since_us};
                snprintf(holder->node, sizeof(holder->node), "%s", h.node ? h.node : "");
                cw_cluster_lock_release(&h);
                return cw_error_fail(err, r,
                                     "lock '%s' is held by run %" PRId64 " on node %s (pid %d)",
                                     key, holder->run_id, holder->node, holder->pid);
        }
        if (r < 0)
                return cw_error_fail(err, r, "cannot take cluster lock '%s': %s", key,
                                     cw_store_error_text(w->store, r));
        w->lease_key = key;
        lease_granted(w, sent);
        /* A queued run: the row was given its id already. */
        if (w->run_id > 0)
                (void)cw_store_run_fence(w->store, w->run_id, w->fence);
        return 0;
}

bool worker_cluster_adopt(worker *w, const char *key)
{
        const cw_worker_opts *o = w->o;

        if (o->fence <= 0 || (key != NULL) != (o->lease_sent_us > 0))
                return false;
        w->fence = o->fence;
        w->adopted = true;
        if (!key)
                return true;
        w->lease_us = cw_worker_lease_us(o->cfg);
        w->lease_key = key;
        lease_granted(w, o->lease_sent_us);
        return true;
}

void worker_cluster_run_known(worker *w)
{
        int64_t sent = cw_clock_mono_us();

        if (w->fence <= 0 || w->run_id <= 0)
                return;
        (void)cw_store_run_fence(w->store, w->run_id, w->fence);
        /* The row names the run from now on (a renewal with its id). */
        if (w->lease_key && cw_store_lock_renew(w->store, w->lease_key, w->fence, w->run_id,
                                                getpid(), w->lease_us) == 0)
                lease_granted(w, sent);
}

void worker_fenced_out(worker *w, const char *what)
{
        if (w->stale)
                return;
        w->stale = true;
        w->renew_at = w->lease_stop_at = 0;
        if (w->state == W_RUNNING)
                set_reason(w,
                           "stopped: the cluster took this run over (its fencing token %" PRId64
                           " is stale: %s was refused); nothing more is recorded by its worker",
                           w->fence, what);
        if (w->pid > 0)
                worker_stop(w, STOP_LEASE, kill_by(w) > 0 ? kill_by(w) : 0);
}

/* The lock no longer has this run's token (its lease ended, and another
 * node may have it): stop the job at once. Writes are still tried: the
 * store refuses them if the cluster recorded the run otherwise, and takes
 * them (the run then ends lost, saying why) if only the lock went. */
static void lease_lost(worker *w)
{
        w->lease_lost = true;
        w->renew_at = w->lease_stop_at = 0;
        if (w->state == W_RUNNING)
                set_reason(w,
                           "stopped: its cluster lock '%s' is no longer its own (token %" PRId64
                           " refused: the lease ended, and another node may hold the lock)",
                           w->lease_key, w->fence);
        worker_stop(w, STOP_LEASE, kill_by(w));
}

static void renew(worker *w)
{
        int64_t sent = cw_clock_mono_us();
        cw_error e;
        int r = worker_queued_store(w, &e);

        if (r == 0)
                r = cw_store_lock_renew(w->store, w->lease_key, w->fence, w->run_id, 0,
                                        w->lease_us);

        if (r == 0 || r == -ECANCELED)
                lease_granted(w, sent);
        /* Renewed, but another node's run replaces this one (concurrency
         * = replace): stop as `kill` would; the lease is kept meanwhile,
         * so the lock passes on only once the job is gone. */
        if (r == -ECANCELED && w->state == W_RUNNING) {
                set_reason(w, "killed: replaced by a new run started on another node "
                              "(concurrency = replace)");
                worker_stop(w, STOP_KILLED, kill_by(w));
        }
        if (r == 0 || r == -ECANCELED)
                return;
        if (r == -ESTALE) {
                lease_lost(w);
                return;
        }
        w->lease_err = r;
        w->renew_at = cw_clock_mono_us() + lease_share(w, RETRY_DIV);
}

void worker_lease_tick(worker *w)
{
        char why[64];

        if (!w->lease_key || w->stale || w->lease_lost)
                return;
        if (w->renew_at && w->now >= w->renew_at)
                renew(w);
        if (w->stale || !w->lease_stop_at || cw_clock_mono_us() < w->lease_stop_at)
                return;
        /* Not renewed in time: stop before the lease ends, then keep
         * trying (a renewal that gets through again changes nothing:
         * the job is stopping). */
        w->lease_stop_at = 0;
        snprintf(why, sizeof(why), "%s",
                 w->lease_err ? cw_store_strerror(w->lease_err) : "no answer in time");
        if (w->state == W_RUNNING)
                set_reason(w,
                           "stopped: the lease of its cluster lock '%s' could not be renewed "
                           "(%s); stopped before the lease ends, when another node may take it",
                           w->lease_key, why);
        worker_stop(w, STOP_LEASE, kill_by(w));
}

void worker_cluster_drop(worker *w)
{
        cw_error e;

        if (!w->lease_key || w->stale || w->lease_lost || worker_queued_store(w, &e) < 0)
                return;
        (void)cw_store_lock_release(w->store, w->lease_key, w->fence);
        w->lease_key = NULL;
}
