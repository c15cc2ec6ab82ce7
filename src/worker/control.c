/* control.c - liveness, lost, kill (see control.h).
 *
 * Liveness asks the kernel rather than the lock: /proc/locks lists every
 * flock with its owner's pid and the file's device and inode, so finding a
 * run's lock holder never takes the lock. Taking it, even for an instant,
 * would make a `run` starting at that instant report "already running".
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include "worker/lock.h"
#include "worker/worker.h"

#define KILL_EXTRA_MS 5000

/* Pid owning a flock on the file at path, 0 when none (or unknown). */
static int flock_owner(const char *path)
{
        char line[256];
        struct stat st;
        FILE *f;
        int owner = 0;

        if (stat(path, &st) < 0)
                return 0;
        f = fopen("/proc/locks", "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                unsigned maj, min;
                unsigned long long ino;
                int pid;
                char kind[16], mode[16], rw[16];

                /* "1: FLOCK  ADVISORY  WRITE 31922 fe:00:10952915 0 EOF"; a
                 * blocked waiter's line starts "1: -> FLOCK ..." and is skipped. */
                if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu", kind, mode, rw, &pid, &maj, &min, &ino) != 7)
                        continue;
                if (strcmp(kind, "FLOCK") != 0 || ino != (unsigned long long)st.st_ino ||
                    makedev(maj, min) != st.st_dev)
                        continue;
                owner = pid;
                break;
        }
        fclose(f);
        return owner;
}

static void lock_path(const cw_config *cfg, const char *key, char *buf, size_t size)
{
        snprintf(buf, size, "%s/locks/%s.lock", cfg->data_dir, key);
}

bool cw_control_is_alive(const cw_config *cfg, const cw_run *run)
{
        char path[4096];
        int owner;

        if (run->node && cfg->node && strcmp(run->node, cfg->node) != 0)
                return true;
        if (run->status != CW_RUN_RUNNING)
                return run->status == CW_RUN_QUEUED;
        if (run->worker_pid <= 0 || !cw_proc_alive(run->worker_pid, 0))
                return false;
        if (!run->lock_key || !run->lock_key[0])
                return true;
        /* A live process with the worker's pid that does not hold the run's
         * lock is not the worker (a reused pid), or the lock went away. */
        lock_path(cfg, run->lock_key, path, sizeof(path));
        owner = flock_owner(path);
        return owner == 0 ? false : owner == run->worker_pid;
}

int cw_control_mark_lost(cw_store *s, const cw_run *run, int64_t now_us)
{
        if (run->pid > 0)
                cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
        return cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_LOST,
                                       "its worker process vanished", now_us);
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
static int kill_orphan(cw_store *s, const cw_run *run, cw_duration grace, int64_t now_us)
{
        if (run->pid > 0 && cw_proc_kill_group(run->pid, run->pid_start, SIGTERM) > 0) {
                if (wait_exit(run->pid, (int)(grace * 1000)) < 0 || cw_proc_alive(run->pid, run->pid_start))
                        cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
                /* Members other than the leader may outlive it. */
                cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
        }
        return cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_KILLED,
                                       "killed by 'cronwarden kill' (its worker was gone)", now_us);
}

int cw_control_kill(cw_store *s, const cw_config *cfg, const cw_run *run, int64_t now_us,
                    cw_run_status *ret_status)
{
        const cw_job *job = cw_config_job(cfg, run->job);
        cw_duration grace = job ? job->kill_grace : 10;
        cw_run after = {0};
        int r;

        if (run->status != CW_RUN_RUNNING)
                return -ESTALE;
        if (cw_control_is_alive(cfg, run)) {
                if (kill(run->worker_pid, SIGTERM) < 0 && errno != ESRCH)
                        return -errno;
                r = wait_exit(run->worker_pid, (int)(grace * 1000) + KILL_EXTRA_MS);
                if (r < 0)
                        return r;
        } else {
                r = kill_orphan(s, run, grace, now_us);
                if (r < 0 && r != -ESTALE)
                        return r;
        }
        r = cw_store_run_get(s, run->id, &after);
        if (r < 0)
                return r;
        /* A worker that died without recording its run leaves it running. */
        if (after.status == CW_RUN_RUNNING) {
                cw_run_release(&after);
                r = kill_orphan(s, run, grace, now_us);
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
