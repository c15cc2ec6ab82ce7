/* worker_locks.c - whether a job's lock is held, and stopping its holders,
 * for a scheduler pass (see worker_locks.h). A lock is probed without
 * being taken; the runs holding it are found by the lock key the store
 * records for running runs. On a store nodes share, the lock's row says
 * whether a run of another node holds it; such a holder is asked to stop
 * through the row (cw_store_lock_revoke: its worker learns it at its next
 * renewal, within a third of dead_timeout) and waited for. */
#include "sched/worker_locks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/path.h"
#include "worker/control.h"
#include "worker/lock.h"

/* A lock held in the store (a cluster's: another node's run), 0 when
 * free or the store keeps none (SQLite). Called when this node's lock file
 * is free: a row naming this node is then a dead worker's (a worker takes
 * the file before the row and frees the row first), which the next
 * worker frees at once, so it does not count. */
static int64_t cluster_holder(const cw_config *cfg, cw_store *store, const char *key)
{
        cw_cluster_lock l = {0};
        int64_t id;

        if (!store || cw_store_lock_holder(store, key, &l) < 0)
                return 0;
        id = l.run_id > 0 ? l.run_id : -1;
        if (l.node && strcmp(l.node, cfg->node ? cfg->node : "") == 0)
                id = 0;
        cw_cluster_lock_release(&l);
        return id;
}

static int64_t holder(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                      const char *spec)
{
        char key[CW_LOCK_KEY_MAX], dir[4096];
        cw_lock_holder h;
        bool held = false;

        (void)userdata;
        if (cw_lock_key(job, spec, key, sizeof(key)) < 0 ||
            cw_path_join(dir, sizeof(dir), cfg->data_dir, "locks") < 0)
                return 0;
        if (cw_lock_probe(dir, key, &held, &h) < 0 || !held)
                return cluster_holder(cfg, store, key);
        return h.run_id > 0 ? h.run_id : -1;
}

/* Until no run holds lock `key` in the store, at most `within_us`. The
 * store offers no wake-up when a row changes (LISTEN/NOTIFY is not used
 * for this), so it is asked again every POLL_US: a bounded wait of one
 * scheduler pass that concurrency = replace asked for. */
#define POLL_US 100000
static void wait_freed(cw_store *store, const char *key, int64_t within_us)
{
        int64_t end = cw_clock_mono_us() + within_us;

        while (cw_clock_mono_us() < end) {
                struct timespec ts = {0, POLL_US * 1000};
                cw_cluster_lock l = {0};

                if (cw_store_lock_holder(store, key, &l) < 0)
                        return;
                cw_cluster_lock_release(&l);
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}

/* A holder on another node: asked to stop through the lock's row, and
 * waited for (its renewal, its kill_grace, a margin). The pass's store
 * may be inside the daemon's batch, whose transaction would keep the row
 * locked (the holder could not renew, let alone see the request) until
 * the pass ends: this goes through a connection of its own. */
static void stop_remote_holder(const cw_config *cfg, cw_store *store, const cw_job *job,
                               const char *key)
{
        _cleanup_(cw_store_closep) cw_store *own = NULL;
        cw_cluster_lock l = {0};
        const char *me = cfg->node ? cfg->node : "";
        cw_error err;
        bool remote;

        if (cw_store_lock_holder(store, key, &l) < 0)
                return;
        remote = strcmp(l.node, me) != 0;
        cw_cluster_lock_release(&l);
        if (!remote || cw_store_open(cfg->store, cfg->data_dir, &own, &err) < 0 ||
            cw_store_lock_revoke(own, key, me) < 0)
                return;
        wait_freed(own, key, ((int64_t)cfg->dead_timeout + (int64_t)job->kill_grace + 5) * 1000000);
}

static void stop_holders(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                         const char *spec, int64_t now_us)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        char key[CW_LOCK_KEY_MAX];
        cw_run *runs = NULL;
        size_t n = 0;

        (void)userdata;
        if (cw_lock_key(job, spec, key, sizeof(key)) < 0)
                return;
        f.status = CW_RUN_RUNNING;
        if (cw_store_runs_list(store, &f, &runs, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                cw_run_status st;

                /* Another node's pid means nothing here. */
                if (runs[i].node && cfg->node && strcmp(runs[i].node, cfg->node) != 0)
                        continue;
                if (runs[i].lock_key && strcmp(runs[i].lock_key, key) == 0)
                        (void)cw_control_kill(store, cfg, &runs[i], now_us, &st);
        }
        cw_runs_free(runs, n);
        stop_remote_holder(cfg, store, job, key);
}

/* The store's row of the lock, which holder reads when this node's lock
 * file is free (most starts): said ahead. */
static void read_ahead(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                       const char *spec)
{
        char key[CW_LOCK_KEY_MAX];

        (void)userdata;
        (void)cfg;
        if (store && cw_lock_key(job, spec, key, sizeof(key)) == 0)
                cw_store_read_ahead(store, &(cw_store_ahead){CW_AHEAD_LOCK_HOLDER, key}, 1);
}

const cw_sched_lock_ops *cw_sched_worker_locks(void)
{
        static const cw_sched_lock_ops ops = {
                .holder = holder,
                .stop_holders = stop_holders,
                .read_ahead = read_ahead,
        };

        return &ops;
}
