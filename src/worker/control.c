/* control.c - liveness, lost, kill (see control.h).
 *
 * Liveness asks the kernel rather than the lock (cw_lock_held_by), so
 * finding a run's lock holder never takes the lock: taking it, even for an
 * instant, would make a `run` starting at that instant report "already
 * running".
 * Waiting for a worker to finish uses a pidfd, which becomes readable when
 * the process exits, so no loop sleeps and polls. */
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/path.h"
#include "worker/lock.h"
#include "worker/started.h"
#include "worker/worker.h"

#define KILL_EXTRA_MS 5000

bool cw_control_is_alive(const cw_config *cfg, const cw_run *run)
{
        char locks_dir[4096];

        if (run->node && cfg->node && strcmp(run->node, cfg->node) != 0)
                return true;
        if (run->status == CW_RUN_QUEUED)
                return cw_control_queued_fate(cfg, run, false) != CW_QUEUED_MAY_HAVE_RUN;
        if (run->status != CW_RUN_RUNNING)
                return false;
        if (run->worker_pid <= 0 || !cw_proc_alive(run->worker_pid, 0))
                return false;
        if (!run->lock_key || !run->lock_key[0])
                return true;
        /* A live process with the worker's pid that does not hold the run's
         * lock is not the worker (a reused pid), or the lock went away. */
        if (cw_path_join(locks_dir, sizeof(locks_dir), cfg->data_dir, "locks") < 0)
                return true; /* no lock could be taken there: cannot tell, not lost */
        return cw_lock_held_by(locks_dir, run->lock_key, run->worker_pid);
}

int cw_control_mark_lost(cw_store *s, const cw_run *run, int64_t now_us)
{
        if (run->pid > 0)
                cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
        return cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_LOST,
                                       "its worker process vanished", now_us);
}

cw_queued_fate cw_control_queued_fate(const cw_config *cfg, const cw_run *run, bool starters_gone)
{
        if (run->node && cfg->node && strcmp(run->node, cfg->node) != 0)
                return CW_QUEUED_ALIVE;
        switch (cw_started_probe(cfg->data_dir, run->id)) {
        case CW_STARTED_HELD:
                return CW_QUEUED_ALIVE;
        case CW_STARTED_LEFT:
                return CW_QUEUED_MAY_HAVE_RUN;
        case CW_STARTED_OVERWRITTEN:
                return starters_gone ? CW_QUEUED_UNKNOWN : CW_QUEUED_STARTING;
        case CW_STARTED_NONE:
                break;
        }
        if (cw_started_before_boot(run->started_us))
                return CW_QUEUED_MAY_HAVE_RUN;
        return starters_gone ? CW_QUEUED_NEVER_STARTED : CW_QUEUED_STARTING;
}

static const char *queued_lost_reason(const cw_run *run, cw_queued_fate fate)
{
        switch (fate) {
        case CW_QUEUED_MAY_HAVE_RUN:
                if (cw_started_before_boot(run->started_us))
                        return "the machine restarted while the run was being started: the job may have run, "
                               "so it is not started again";
                return "its worker stopped after starting the job and before recording it: the job may have "
                       "run, so it is not started again";
        case CW_QUEUED_UNKNOWN:
                return "its start record was overwritten by later runs' before its fate was known: the job "
                       "may have run, so it is not started again";
        case CW_QUEUED_NEVER_STARTED:
                return "never started: the daemon or its spawner stopped before a worker started the run";
        default:
                return "the daemon or its spawner stopped before a worker started the run";
        }
}

int cw_control_mark_queued_lost(cw_store *s, const cw_config *cfg, const cw_run *run,
                                cw_queued_fate fate, int64_t now_us, bool *ret_resumable)
{
        const cw_job *job = run->job ? cw_config_job(cfg, run->job) : NULL;
        bool resumable = false;
        int r;

        r = cw_store_run_transition(s, run->id, CW_RUN_QUEUED, CW_RUN_LOST,
                                    queued_lost_reason(run, fate), now_us);
        if (r < 0)
                return r;
        /* Killed or lost half-way, the same for a job that can resume. */
        if (fate == CW_QUEUED_MAY_HAVE_RUN && job && job->can_resume)
                resumable =
                        cw_store_run_set_resume(s, run->id, CW_RESUME_NONE, CW_RESUME_PENDING) == 0;
        if (ret_resumable)
                *ret_resumable = resumable;
        return 0;
}

/* Waits up to ms for process pid to exit; 0 when it did (or was gone). */
static int wait_exit(int pid, int ms)
{
        struct pollfd p = {.events = POLLIN};
        int r;

        p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (p.fd < 0)
                return errno == ESRCH ? 0 : -errno;
        do
                r = poll(&p, 1, ms);
        while (r < 0 && errno == EINTR);
        close(p.fd);
        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

/* The worker is gone: stop the job's group ourselves (TERM, grace, KILL). */
static int kill_orphan(cw_store *s, const cw_run *run, const char *by, cw_duration grace,
                       int64_t now_us)
{
        char why[320];

        if (run->pid > 0 && cw_proc_kill_group(run->pid, run->pid_start, SIGTERM) > 0) {
                if (wait_exit(run->pid, (int)(grace * 1000)) < 0 ||
                    cw_proc_alive(run->pid, run->pid_start))
                        cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
                /* Members other than the leader may outlive it. */
                cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
        }
        snprintf(why, sizeof(why), CW_CONTROL_KILLED_BY "%s (its worker was gone)",
                 by ? by : "'cronwarden kill'");
        return cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_KILLED, why, now_us);
}

int cw_control_kill(cw_store *s, const cw_config *cfg, const cw_run *run, int64_t now_us,
                    cw_run_status *ret_status)
{
        return cw_control_kill_by(s, cfg, run, NULL, now_us, ret_status);
}

int cw_control_kill_by(cw_store *s, const cw_config *cfg, const cw_run *run, const char *by,
                       int64_t now_us, cw_run_status *ret_status)
{
        const cw_job *job = cw_config_job(cfg, run->job);
        /* A job not in the config (made in the admin UI, or removed) has
         * what [defaults] gives. */
        cw_duration grace = job ? job->kill_grace : cfg->defaults.kill_grace;
        cw_run after = {0};
        int r;

        if (run->status != CW_RUN_RUNNING)
                return -ESTALE;
        if (by) {
                char why[320];

                /* Read by the worker when the signal arrives (worker.c). */
                snprintf(why, sizeof(why), CW_CONTROL_KILLED_BY "%s", by);
                r = cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_RUNNING, why,
                                            now_us);
                if (r == -ESTALE || r == -ENOENT)
                        return -ESTALE;
        }
        if (cw_control_is_alive(cfg, run)) {
                if (kill(run->worker_pid, SIGTERM) < 0 && errno != ESRCH)
                        return -errno;
                r = wait_exit(run->worker_pid, (int)(grace * 1000) + KILL_EXTRA_MS);
                if (r < 0)
                        return r;
        } else {
                r = kill_orphan(s, run, by, grace, now_us);
                if (r < 0 && r != -ESTALE)
                        return r;
        }
        r = cw_store_run_get(s, run->id, &after);
        if (r < 0)
                return r;
        /* A worker that died without recording its run leaves it running. */
        if (after.status == CW_RUN_RUNNING) {
                cw_run_release(&after);
                r = kill_orphan(s, run, by, grace, now_us);
                if (r < 0)
                        return r;
                r = cw_store_run_get(s, run->id, &after);
                if (r < 0)
                        return r;
        }
        if (after.status == CW_RUN_KILLED && job && job->can_resume)
                (void)cw_store_run_set_resume(s, run->id, CW_RESUME_NONE, CW_RESUME_PENDING);
        *ret_status = after.status;
        cw_run_release(&after);
        return 0;
}
