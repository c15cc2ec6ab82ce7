/* worker_locks.c - whether a job's lock is held, and stopping its holders,
 * for a scheduler pass (see worker_locks.h). A lock is probed without
 * being taken; the runs holding it are found by the lock key the store
 * records for running runs. */
#include "sched/worker_locks.h"

#include <stdio.h>
#include <string.h>

#include "base/path.h"
#include "worker/control.h"
#include "worker/lock.h"

/* A lock held in the store (a cluster's: any node's run), 0 when free or
 * the store keeps none (SQLite). */
static int64_t cluster_holder(cw_store *store, const char *key)
{
        cw_cluster_lock l = {0};
        int64_t id;

        if (!store || cw_store_lock_holder(store, key, &l) < 0)
                return 0;
        id = l.run_id > 0 ? l.run_id : -1;
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
                return cluster_holder(store, key);
        return h.run_id > 0 ? h.run_id : -1;
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

                if (runs[i].lock_key && strcmp(runs[i].lock_key, key) == 0)
                        (void)cw_control_kill(store, cfg, &runs[i], now_us, &st);
        }
        cw_runs_free(runs, n);
}

const cw_sched_lock_ops *cw_sched_worker_locks(void)
{
        static const cw_sched_lock_ops ops = {
                .holder = holder,
                .stop_holders = stop_holders,
        };

        return &ops;
}
