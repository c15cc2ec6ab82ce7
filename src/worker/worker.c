/* worker.c - supervising one run of a job (worker.h, PRODUCT.md §6.1).
 *
 * cw_worker_run goes through four steps:
 *   1. Lock and record: take the job's lock (cleaning up after a holder
 *      that died with it, see clean_dead_holder), insert the run as
 *      running, write the lock's holder record.
 *   2. Start: resolve the user, build the environment and argv (env.c),
 *      open the pipes, fork; the child sets itself up (process group,
 *      fds, workdir, rlimits, nice, ionice, user, parent-death signal)
 *      and execs, or reports over a CLOEXEC pipe which step failed. A
 *      failure from here on is recorded as a failed run, never returned:
 *      a run that was recorded always gets an outcome.
 *   3. Supervise: one poll loop over the output pipe, the progress pipe,
 *      a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE) and one
 *      timerfd armed for the earliest deadline (timeout, kill grace,
 *      giving up on leftovers, the next progress write, the next output
 *      snapshot). "Now" is read once per iteration. Nothing sleeps.
 *   4. Finish: record the outcome and the captured output, release the
 *      lock, restore the signal mask.
 *
 * The supervisor's state machine (changed only in set_state):
 *
 *   RUNNING --timeout/signal--> STOPPING --grace--> FORCING
 *      |                           |                   |
 *      +--------- the job's process exits (reaped) ----+
 *      v                           v                   v
 *   LEFTOVERS_TERM <-------------(same)          LEFTOVERS_KILL
 *      |  SIGTERM sent to the rest of the group       ^
 *      +---------------------grace--------------------+
 *   any of them --the group is empty--> DRAINING --pipes read--> DONE
 *
 * Leftovers: a job's background processes are part of its run. When the
 * job's process exits, whatever is left in its process group gets SIGTERM,
 * then SIGKILL after kill_grace, and the worker finishes once the group is
 * empty, even if an escaped process still holds the output pipe open. The
 * worker is a child subreaper while it runs, so orphans of the job are
 * re-parented to it and their deaths arrive as SIGCHLD: the group's
 * emptiness is re-counted on events, never polled for. After SIGKILL a
 * bounded wait (GIVEUP_US) covers processes that cannot die (D state).
 *
 * Output is read in BUF_SIZE chunks into the bounded capture; memory is
 * max_output plus two fixed buffers whatever the job prints. While the
 * output changes, a rendering of the capture is stored at most once per
 * SNAPSHOT_INTERVAL_US (store_snapshot), so `logs` and the admin UI show
 * a running job's output; the write never waits for a busy store (it is
 * tried again later instead), so the job's pipe is never left unread
 * behind another process's transaction. The final record replaces the
 * snapshot. A flood costs one rendering and one write of at most
 * max_output per interval. When the
 * caller tees the output (tee_fd) a chunk is written before the next is
 * read, waiting for POLLOUT, so a slow reader slows the job (as a pipe
 * would) without ever blocking the loop's timers. */
#include "worker/worker.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "base/iso8601.h"
#include "base/units.h"
#include "worker/capture.h"
#include "worker/env.h"
#include "worker/secrets.h"

#define BUF_SIZE (64 * 1024)
#define PROGRESS_LINE_MAX 256
#define PROGRESS_INTERVAL_US 250000
/* Live output: a snapshot of the capture is stored at most this often
 * while it changes, and a snapshot that met a busy store is tried again
 * after the shorter pause. */
#define SNAPSHOT_INTERVAL_US 1000000
#define SNAPSHOT_RETRY_US 250000
/* How long to wait for SIGKILLed leftovers to vanish before recording the
 * run anyway (only processes stuck in the kernel take this long). */
#define GIVEUP_US (5 * 1000000LL)
/* Attempts at the final store write (each already waits out busy). */
#define FINISH_ATTEMPTS 3
#define JOB_PROGRESS_FD 3
#define PIPE_SIZE (1024 * 1024)

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#endif
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_VALUE(cls, data) (((cls) << IOPRIO_CLASS_SHIFT) | (data))

typedef enum worker_state {
        W_RUNNING,
        W_STOPPING,       /* SIGTERM sent to the group (timeout or signal) */
        W_FORCING,        /* SIGKILL sent to the group */
        W_LEFTOVERS_TERM, /* the job exited; SIGTERM sent to the rest of its group */
        W_LEFTOVERS_KILL, /* ... and SIGKILL */
        W_DRAINING,       /* the group is empty: reading what is left in the pipes */
        W_DONE,
        W_STATE_MAX,
} worker_state;

typedef enum stop_cause { STOP_NONE, STOP_TIMEOUT, STOP_KILLED } stop_cause;

/* Steps of the child's set-up, reported to the parent on failure. */
typedef enum child_stage {
        CS_SETPGID,
        CS_FDS,
        CS_CHDIR,
        CS_LIMIT_NOFILE,
        CS_LIMIT_MEMORY,
        CS_LIMIT_CPU,
        CS_NICE,
        CS_IONICE,
        CS_USER,
        CS_EXEC,
} child_stage;

typedef struct child_report {
        int stage;
        int err;
} child_report;

/* Everything the child needs, prepared before fork: between fork and
 * exec it only makes system calls. */
typedef struct child_args {
        int out_w, prog_w, err_w, null_fd;
        char **argv, **envp;
        const char *search_path; /* PATH to search for argv[0], NULL if it has a '/' */
        char *path_buf;          /* room for the longest PATH entry + '/' + argv[0] */
        const char *workdir;
        bool set_user;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        int n_groups;
        bool nice_set;
        int nice;
        int ioprio; /* -1: leave it */
        uint64_t limit_nofile, limit_memory, limit_cpu, limit_cpu_hard;
        pid_t worker_pid;
        bool signals_default; /* no signal ignored: nothing to reset (exec resets handlers) */
} child_args;

typedef struct worker {
        cw_store *store;
        const cw_worker_opts *o;
        const cw_job *job;
        worker_state state;
        stop_cause cause;
        int64_t now; /* CLOCK_MONOTONIC µs, read once per loop iteration */
        int64_t run_id;

        int sig_fd, timer_fd, out_fd, prog_fd, err_fd;
        int tee_fd;       /* -1: none (or given up after an error) */
        bool tee_chunked; /* a pipe or socket: write at most PIPE_BUF at a time */

        pid_t pid; /* the job's process = its process group id */
        uint64_t pid_start;
        bool leader_done; /* reaped */
        int exit_code, signal;

        int64_t timeout_at, grace_at, giveup_at, flush_at, snap_at; /* monotonic µs, 0 = unset */
        int64_t warn_at; /* max_runtime: when the run is reported as running long, 0 = unset */
        cw_strv secrets; /* secret_env values, masked in stored output (secrets.h) */

        /* A queued run (opts->run_id): its store, opened by the worker, and
         * whether the run is marked running yet; gate_fd (-1: none) holds
         * that back while the starter is still starting others (worker.h),
         * at most until gate_at (monotonic µs); started_fd is this
         * worker's share in keeping it shut, given up once the job runs. */
        cw_store *owned;
        bool marked;
        bool quiet; /* set_quiet(): SIGCHLD and the pipes left alone */
        int gate_fd, started_fd, hold_fd;
        int64_t gate_at;

        cw_capture cap;
        /* Live output (store_snapshot): cap.total when a snapshot was last
         * stored, when that was (monotonic µs, 0 = never), and whether the
         * store refused for good (the run is no longer running there). */
        uint64_t snap_total;
        int64_t snap_last;
        bool snap_off;
        char *buf; /* BUF_SIZE bytes of output being teed */
        size_t tee_off, tee_len;

        char line[PROGRESS_LINE_MAX];
        size_t line_len;
        bool line_overflow;
        int64_t prog_done, prog_total;
        bool prog_dirty;
        int64_t prog_stored_at; /* monotonic µs of the last store write, 0 = never */

        char reason[320]; /* why it failed to start, timed out, was killed */
} worker;

static int64_t mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t real_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_reason(worker *w, const char *fmt, ...) _printf_(2, 3);

static void set_reason(worker *w, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
        va_end(ap);
}

static void close_fd(int *fd)
{
        if (*fd >= 0) {
                close(*fd);
                *fd = -1;
        }
}

/* ---- the state machine ------------------------------------------------- */

#define BIT(s) (1u << (s))

/* The one place the supervisor's state changes. */
static void set_state(worker *w, worker_state to)
{
        static const unsigned allowed[W_STATE_MAX] = {
                [W_RUNNING] = BIT(W_STOPPING) | BIT(W_LEFTOVERS_TERM) | BIT(W_DRAINING),
                [W_STOPPING] = BIT(W_FORCING) | BIT(W_LEFTOVERS_TERM) | BIT(W_DRAINING),
                [W_FORCING] = BIT(W_LEFTOVERS_KILL) | BIT(W_DRAINING),
                [W_LEFTOVERS_TERM] = BIT(W_LEFTOVERS_KILL) | BIT(W_DRAINING),
                [W_LEFTOVERS_KILL] = BIT(W_DRAINING),
                [W_DRAINING] = BIT(W_DONE),
        };

        assert(allowed[w->state] & BIT(to));
        (void)allowed;
        w->state = to;
}

/* Signals the job's whole group. While the job's process is unreaped its
 * pid cannot be reused, so kill(-pgid) is exact; afterwards the scan in
 * cw_proc_kill_group checks the group is still the job's. Returns how
 * many were signalled (after reaping) or 1/0 (before). */
static int signal_group(worker *w, int sig)
{
        if (!w->leader_done)
                return kill(-w->pid, sig) == 0 ? 1 : 0;
        return cw_proc_kill_group(w->pid, w->pid_start, sig);
}

static int64_t grace_us(const worker *w)
{
        return (int64_t)w->job->kill_grace * 1000000;
}

static void force(worker *w)
{
        signal_group(w, SIGKILL);
        w->grace_at = 0;
        if (w->state == W_STOPPING) {
                set_state(w, W_FORCING);
        } else {
                w->giveup_at = w->now + GIVEUP_US;
                set_state(w, W_LEFTOVERS_KILL);
        }
}

/* SIGTERM to the group (SIGCONT too, so a stopped job can act on it),
 * then SIGKILL after kill_grace. No grace means SIGKILL alone: a SIGTERM
 * it could never act on would only race the SIGKILL for the record. */
static void terminate(worker *w, worker_state to)
{
        set_state(w, to);
        if (w->job->kill_grace == 0) {
                force(w);
                return;
        }
        signal_group(w, SIGTERM);
        signal_group(w, SIGCONT);
        w->grace_at = w->now + grace_us(w);
}

/* A timeout or a SIGTERM/SIGINT to the worker. */
static void request_stop(worker *w, stop_cause cause, const struct signalfd_siginfo *si)
{
        char d[32];

        switch (w->state) {
        case W_RUNNING:
                w->cause = cause;
                if (cause == STOP_TIMEOUT) {
                        cw_duration_format(w->job->timeout, d, sizeof(d));
                        set_reason(w, "timed out after %s", d);
                } else if (si && si->ssi_pid > 0) {
                        set_reason(w, "killed by signal from pid %u", si->ssi_pid);
                } else {
                        set_reason(w, "killed by %s",
                                   si && si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                }
                w->timeout_at = 0;
                terminate(w, W_STOPPING);
                break;
        case W_STOPPING:
        case W_LEFTOVERS_TERM:
                /* Asked again while waiting out the grace: stop waiting. */
                if (cause == STOP_KILLED)
                        force(w);
                break;
        default:
                break;
        }
}

/* How many live processes are left in the job's group (after reaping). */
static void check_group(worker *w)
{
        if (w->state != W_LEFTOVERS_TERM && w->state != W_LEFTOVERS_KILL)
                return;
        if (cw_proc_kill_group(w->pid, w->pid_start, 0) == 0) {
                w->grace_at = w->giveup_at = 0;
                set_state(w, W_DRAINING);
        }
}

static void read_child_report(worker *w);

/* The job's process was reaped: stop whatever is left of its group. */
static void leader_exited(worker *w)
{
        int left = cw_proc_kill_group(w->pid, w->pid_start, 0);

        read_child_report(w);
        w->timeout_at = 0;
        if (left == 0) {
                w->grace_at = 0;
                set_state(w, W_DRAINING);
                return;
        }
        switch (w->state) {
        case W_RUNNING:
                terminate(w, W_LEFTOVERS_TERM);
                break;
        case W_STOPPING:
                /* The group already has its SIGTERM; the grace runs on. */
                set_state(w, W_LEFTOVERS_TERM);
                break;
        case W_FORCING:
                force(w);
                break;
        default:
                break;
        }
}

static void record_status(worker *w, int code, int status)
{
        if (code == CLD_EXITED) {
                w->exit_code = status;
                w->signal = 0;
        } else {
                w->exit_code = -1;
                w->signal = status;
        }
}

/* The job's start time (what names its pid for `status` and `kill`),
 * read when first needed: before it is stored, and before the job can be
 * reaped (until then the pid cannot be reused). Not at the start: in a
 * burst that is one more /proc read before the next job starts. */
static void job_start_known(worker *w)
{
        if (w->pid > 0 && w->pid_start == 0)
                w->pid_start = cw_proc_start_time(w->pid);
}

static void reap(worker *w)
{
        siginfo_t si;

        job_start_known(w);
        if (!w->leader_done) {
                int r;

                si.si_pid = 0;
                r = waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG);
                if (r == 0 && si.si_pid == w->pid) {
                        record_status(w, si.si_code, si.si_status);
                        w->leader_done = true;
                        leader_exited(w);
                } else if (r < 0 && errno == ECHILD) {
                        /* Reaped behind our back (setup_signals makes this
                         * unlikely): finish rather than wait forever. */
                        w->exit_code = -1;
                        w->signal = 0;
                        set_reason(w, "the job's exit status was lost");
                        w->leader_done = true;
                        leader_exited(w);
                }
        }
        /* Orphans of the job are re-parented to us (subreaper): reap
         * those still in its group. Processes that left the group are
         * reaped by whoever inherits them after this process ends. */
        for (;;) {
                si.si_pid = 0;
                if (waitid(P_PGID, (id_t)w->pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        break;
                if (si.si_pid == w->pid && !w->leader_done) {
                        record_status(w, si.si_code, si.si_status);
                        w->leader_done = true;
                        leader_exited(w);
                }
        }
        check_group(w);
}

/* ---- output, tee and progress --------------------------------------------- */

static void tee_write(worker *w)
{
        while (w->tee_off < w->tee_len) {
                size_t n = w->tee_len - w->tee_off;
                ssize_t k;

                if (w->tee_chunked && n > PIPE_BUF)
                        n = PIPE_BUF;
                k = write(w->tee_fd, w->buf + w->tee_off, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return; /* wait for POLLOUT */
                if (k <= 0) {
                        /* EPIPE (the reader left) or worse: keep capturing,
                         * stop copying. */
                        w->tee_fd = -1;
                        w->tee_off = w->tee_len = 0;
                        return;
                }
                w->tee_off += (size_t)k;
                /* A pipe was writable for one chunk only. */
                if (w->tee_chunked)
                        return;
        }
        w->tee_off = w->tee_len = 0;
}

static bool tee_pending(const worker *w)
{
        return w->tee_off < w->tee_len;
}

/* The run's row, when the worker may write it: a queued run only once it
 * is marked running (its store may not even be open before). */
static bool store_ready(const worker *w)
{
        return w->store && w->run_id > 0 && (w->o->run_id == 0 || w->marked);
}

/* Output arrived: schedule a snapshot, SNAPSHOT_INTERVAL_US after the
 * last one (or after this first output). */
static void snapshot_due(worker *w)
{
        if (w->snap_off || w->snap_at || w->cap.total == w->snap_total)
                return;
        if (w->snap_last == 0)
                w->snap_last = w->now;
        w->snap_at = w->snap_last + SNAPSHOT_INTERVAL_US;
        if (w->snap_at < w->now)
                w->snap_at = w->now;
}

/* Stores what the capture holds now (the same rendering the final record
 * will have). Live output is advisory: a busy store is tried again soon,
 * other failures wait for the next change. */
static void store_snapshot(worker *w)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        bool truncated = false;
        int r;

        w->snap_at = 0;
        if (w->snap_off || w->cap.total == w->snap_total)
                return;
        if (!store_ready(w)) {
                w->snap_at = w->now + SNAPSHOT_INTERVAL_US;
                return;
        }
        if (cw_capture_finish(&w->cap, &out, &len, &truncated) < 0)
                return;
        cw_secrets_mask(out, len, &w->secrets);
        r = cw_store_run_output_snapshot(w->store, w->run_id, w->cap.total, truncated, out, len);
        if (r == -EBUSY) {
                w->snap_at = w->now + SNAPSHOT_RETRY_US;
                return;
        }
        if (r == -ESTALE || r == -ENOENT || r == -EOPNOTSUPP)
                w->snap_off = true;
        w->snap_total = w->cap.total;
        w->snap_last = w->now;
        snapshot_due(w);
}

/* Reads the output pipe: up to `rounds` chunks, fewer when a chunk waits
 * for the tee. Returns -EAGAIN when the pipe is empty, 0 otherwise (EOF
 * closes it). */
static int read_output(worker *w, int rounds)
{
        while (rounds-- > 0 && w->out_fd >= 0 && !tee_pending(w)) {
                ssize_t n = read(w->out_fd, w->buf, BUF_SIZE);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return -EAGAIN;
                if (n <= 0) {
                        close_fd(&w->out_fd);
                        check_group(w);
                        return 0;
                }
                cw_capture_append(&w->cap, w->buf, (size_t)n);
                if (w->tee_fd >= 0) {
                        w->tee_off = 0;
                        w->tee_len = (size_t)n;
                        tee_write(w);
                }
        }
        return 0;
}

static bool parse_num(const char **p, int64_t *ret)
{
        const char *s = *p;
        int64_t v = 0;
        int digits = 0;

        for (; *s >= '0' && *s <= '9'; s++) {
                if (++digits > 15)
                        return false;
                v = v * 10 + (*s - '0');
        }
        if (digits == 0)
                return false;
        *p = s;
        *ret = v;
        return true;
}

/* "13/77", "42%" or a bare count "13", optionally followed by a space and
 * text (ignored). Anything else is not progress and is ignored. */
static bool parse_progress(const char *s, int64_t *ret_done, int64_t *ret_total)
{
        int64_t done, total = -1;

        while (*s == ' ' || *s == '\t')
                s++;
        if (!parse_num(&s, &done))
                return false;
        if (*s == '%') {
                s++;
                if (done > 100)
                        return false;
                total = 100;
        } else if (*s == '/') {
                s++;
                if (!parse_num(&s, &total) || total == 0)
                        return false;
                /* A job counting past its total is done, not at 101%. */
                if (done > total)
                        done = total;
        }
        if (*s != '\0' && *s != ' ' && *s != '\t')
                return false;
        *ret_done = done;
        *ret_total = total;
        return true;
}

static void store_progress(worker *w)
{
        if (!w->prog_dirty)
                return;
        /* Progress is advisory: a failed write is not worth failing for. */
        (void)cw_store_run_progress(w->store, w->run_id, w->prog_done, w->prog_total);
        w->prog_dirty = false;
        w->prog_stored_at = w->now;
        w->flush_at = 0;
}

static void progress_line(worker *w)
{
        int64_t done, total;

        w->line[w->line_len] = '\0';
        if (w->line_len > 0 && w->line[w->line_len - 1] == '\r')
                w->line[w->line_len - 1] = '\0';
        if (!w->line_overflow && parse_progress(w->line, &done, &total)) {
                w->prog_done = done;
                w->prog_total = total;
                w->prog_dirty = true;
                if (w->prog_stored_at == 0 || w->now - w->prog_stored_at >= PROGRESS_INTERVAL_US)
                        store_progress(w);
                else
                        w->flush_at = w->prog_stored_at + PROGRESS_INTERVAL_US;
        }
        w->line_len = 0;
        w->line_overflow = false;
}

/* Returns -EAGAIN when the pipe is empty, 0 otherwise. */
static int read_progress(worker *w)
{
        char buf[512];
        ssize_t n;

        if (w->prog_fd < 0)
                return 0;
        do
                n = read(w->prog_fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return -EAGAIN;
        if (n <= 0) {
                /* A last line without its newline still counts. */
                if (w->line_len > 0)
                        progress_line(w);
                close_fd(&w->prog_fd);
                return 0;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        progress_line(w);
                } else if (w->line_len + 1 < sizeof(w->line)) {
                        w->line[w->line_len++] = buf[i];
                } else {
                        w->line_overflow = true;
                }
        }
        return 0;
}

/* The group is gone: take what is left in the pipes without waiting for
 * EOF (a process that escaped the group may hold them open forever). */
static void drain(worker *w)
{
        while (w->out_fd >= 0 && !tee_pending(w))
                if (read_output(w, 1) == -EAGAIN)
                        close_fd(&w->out_fd);
        while (w->prog_fd >= 0)
                if (read_progress(w) == -EAGAIN)
                        close_fd(&w->prog_fd);
        if (w->out_fd < 0 && !tee_pending(w))
                set_state(w, W_DONE);
}

/* ---- events ----------------------------------------------------------- */

static void on_signals(worker *w)
{
        struct signalfd_siginfo si;

        for (;;) {
                ssize_t n = read(w->sig_fd, &si, sizeof(si));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n != (ssize_t)sizeof(si))
                        return;
                switch (si.ssi_signo) {
                case SIGCHLD:
                        reap(w);
                        break;
                case SIGTERM:
                case SIGINT:
                        request_stop(w, STOP_KILLED, &si);
                        break;
                default:
                        /* SIGHUP (a closed terminal must not end the run)
                         * and SIGPIPE (a closed tee, seen as EPIPE). */
                        break;
                }
        }
}

static void gate_open(worker *w);
static void gate_settle(worker *w);

static void on_deadlines(worker *w)
{
        uint64_t ticks;

        (void)!read(w->timer_fd, &ticks, sizeof(ticks));
        if (w->timeout_at && w->now >= w->timeout_at) {
                w->timeout_at = 0;
                request_stop(w, STOP_TIMEOUT, NULL);
        }
        if (w->grace_at && w->now >= w->grace_at) {
                w->grace_at = 0;
                if (w->state == W_STOPPING || w->state == W_LEFTOVERS_TERM)
                        force(w);
        }
        if (w->giveup_at && w->now >= w->giveup_at) {
                w->giveup_at = 0;
                if (w->state == W_LEFTOVERS_KILL)
                        set_state(w, W_DRAINING);
        }
        if (w->flush_at && w->now >= w->flush_at)
                store_progress(w);
        if (w->snap_at && w->now >= w->snap_at)
                store_snapshot(w);
        if (w->gate_at && w->now >= w->gate_at)
                gate_open(w);
        if (w->warn_at && w->now >= w->warn_at) {
                /* Until the store is ready, asked again each second. */
                w->warn_at = store_ready(w) ? 0 : w->now + 1000000;
                if (!w->warn_at)
                        (void)cw_notify_max_runtime(w->store, w->o->cfg, w->o->job, w->run_id,
                                                    real_us());
        }
}

static void arm_timer(worker *w)
{
        int64_t at = 0, d[] = {w->timeout_at, w->grace_at, w->giveup_at, w->flush_at,
                               w->snap_at,    w->gate_at,  w->warn_at};
        struct itimerspec its = {0};

        for (size_t i = 0; i < CW_ARRAY_SIZE(d); i++)
                if (d[i] > 0 && (at == 0 || d[i] < at))
                        at = d[i];
        if (at > 0) {
                its.it_value.tv_sec = at / 1000000;
                its.it_value.tv_nsec = (at % 1000000) * 1000;
        }
        /* it_value zero disarms; an instant already past fires at once. */
        timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Quiet while the gate holds the bookkeeping back (and the job has not been
 * asked to stop): the job's end and its output wait (SIGCHLD stays pending,
 * the pipes unread: a job that fills its pipe waits too), so a burst of
 * short jobs does not wake each worker while the other starts need the
 * CPU. A stop request, the timers and the gate are still heard. */
static void set_quiet(worker *w, bool quiet)
{
        sigset_t set;

        if (quiet == w->quiet)
                return;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGPIPE);
        if (!quiet)
                sigaddset(&set, SIGCHLD);
        if (signalfd(w->sig_fd, &set, 0) >= 0)
                w->quiet = quiet;
}

static void supervise(worker *w)
{
        while (true) {
                struct pollfd p[6];
                int n = 0, i_out = -1, i_prog = -1, i_tee = -1, i_gate = -1;

                if (w->state == W_DRAINING)
                        drain(w);
                if (w->state == W_DONE)
                        return;
                set_quiet(w, w->gate_at > 0 && !w->marked && w->state == W_RUNNING);
                arm_timer(w);
                p[n++] = (struct pollfd){.fd = w->sig_fd, .events = POLLIN};
                p[n++] = (struct pollfd){.fd = w->timer_fd, .events = POLLIN};
                if (w->out_fd >= 0 && !tee_pending(w) && !w->quiet) {
                        i_out = n;
                        p[n++] = (struct pollfd){.fd = w->out_fd, .events = POLLIN};
                }
                if (w->prog_fd >= 0 && !w->quiet) {
                        i_prog = n;
                        p[n++] = (struct pollfd){.fd = w->prog_fd, .events = POLLIN};
                }
                if (tee_pending(w)) {
                        i_tee = n;
                        p[n++] = (struct pollfd){.fd = w->tee_fd, .events = POLLOUT};
                }
                if (w->gate_fd >= 0) {
                        i_gate = n;
                        p[n++] = (struct pollfd){.fd = w->gate_fd, .events = POLLIN};
                }
                if (poll(p, (nfds_t)n, -1) < 0)
                        continue; /* EINTR only: our signals are blocked */
                w->now = mono_us();
                if (p[0].revents)
                        on_signals(w);
                if (p[1].revents)
                        on_deadlines(w);
                if (i_tee >= 0 && p[i_tee].revents)
                        tee_write(w);
                /* A few chunks per wake-up keep a flood cheap while the
                 * signals and timers are still looked at often. */
                if (i_out >= 0 && p[i_out].revents) {
                        read_output(w, 16);
                        snapshot_due(w);
                }
                if (i_prog >= 0 && p[i_prog].revents)
                        read_progress(w);
                if (i_gate >= 0 && p[i_gate].revents)
                        gate_settle(w);
        }
}

/* ---- starting the job ---------------------------------------------------- */

static _Noreturn void child_fail(int err_fd, child_stage stage, int e)
{
        child_report rep = {stage, e};

        (void)!write(err_fd, &rep, sizeof(rep));
        _exit(127);
}

/* execvp with the job's PATH (execvpe would search the worker's own). */
static void child_exec(const child_args *a, int err_fd)
{
        const char *name = a->argv[0], *p = a->search_path;
        size_t nlen = strlen(name);
        bool denied = false;

        if (!p) {
                execve(name, a->argv, a->envp);
                child_fail(err_fd, CS_EXEC, errno);
        }
        for (;;) {
                const char *colon = strchr(p, ':');
                size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
                char *b = a->path_buf;

                /* An empty entry is the working directory, as in sh. */
                if (dlen > 0) {
                        memcpy(b, p, dlen);
                        b[dlen] = '/';
                        memcpy(b + dlen + 1, name, nlen + 1);
                } else {
                        memcpy(b, name, nlen + 1);
                }
                execve(b, a->argv, a->envp);
                if (errno == EACCES)
                        denied = true;
                else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ELOOP &&
                         errno != ENAMETOOLONG && errno != ENODEV && errno != ETIMEDOUT)
                        child_fail(err_fd, CS_EXEC, errno);
                if (!colon)
                        break;
                p = colon + 1;
        }
        child_fail(err_fd, CS_EXEC, denied ? EACCES : ENOENT);
}

static int set_limit(int resource, uint64_t soft, uint64_t hard)
{
        struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};

        return setrlimit(resource, &rl);
}

static _Noreturn void child_main(const child_args *a);

/* Starts the job's process with vfork: its first instruction comes sooner
 * when the worker's page tables (a copy of the spawner's, config included)
 * are not copied for a child that execs at once (PRODUCT.md §12,
 * lateness). child_main is written for it: it only makes system calls,
 * writes nothing of ours but the error pipe, and never returns (it execs
 * or _exits); the worker's signals are blocked meanwhile. A function of
 * its own, so no local of the caller lives across the vfork. */
static __attribute__((noinline)) pid_t spawn_child(const child_args *a)
{
        pid_t pid = vfork();

        if (pid == 0)
                child_main(a);
        return pid;
}

static _Noreturn void child_main(const child_args *a)
{
        int out, prog, nul, err;
        sigset_t none;

        /* A group of its own: timeouts and kills reach all it starts.
         * The parent sets it too, so neither side races the other. */
        if (setpgid(0, 0) < 0)
                child_fail(a->err_w, CS_SETPGID, errno);
        /* Move everything above 3 first, so no dup2 below overwrites a
         * descriptor still needed (the caller may have closed 0-2). */
        err = fcntl(a->err_w, F_DUPFD_CLOEXEC, 10);
        if (err < 0)
                child_fail(a->err_w, CS_FDS, errno);
        out = fcntl(a->out_w, F_DUPFD_CLOEXEC, 10);
        prog = fcntl(a->prog_w, F_DUPFD_CLOEXEC, 10);
        nul = fcntl(a->null_fd, F_DUPFD_CLOEXEC, 10);
        if (out < 0 || prog < 0 || nul < 0)
                child_fail(err, CS_FDS, errno);
        if (dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
            dup2(prog, JOB_PROGRESS_FD) < 0)
                child_fail(err, CS_FDS, errno);
        /* Whatever else the worker's caller left open is not the job's. */
        (void)close_range(JOB_PROGRESS_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);

        /* An ignored signal stays ignored across exec: none for the job. */
        if (!a->signals_default)
                cw_signals_default();

        if (chdir(a->workdir) < 0)
                child_fail(err, CS_CHDIR, errno);
        /* Limits, priorities and groups first, while still privileged. */
        if (a->limit_nofile && set_limit(RLIMIT_NOFILE, a->limit_nofile, a->limit_nofile) < 0)
                child_fail(err, CS_LIMIT_NOFILE, errno);
        if (a->limit_memory && set_limit(RLIMIT_AS, a->limit_memory, a->limit_memory) < 0)
                child_fail(err, CS_LIMIT_MEMORY, errno);
        if (a->limit_cpu && set_limit(RLIMIT_CPU, a->limit_cpu, a->limit_cpu_hard) < 0)
                child_fail(err, CS_LIMIT_CPU, errno);
        if (a->nice_set && setpriority(PRIO_PROCESS, 0, a->nice) < 0)
                child_fail(err, CS_NICE, errno);
        if (a->ioprio >= 0 && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, a->ioprio) < 0)
                child_fail(err, CS_IONICE, errno);
        if (a->set_user) {
                if (setgroups((size_t)a->n_groups, a->groups) < 0 || setgid(a->gid) < 0 ||
                    setuid(a->uid) < 0)
                        child_fail(err, CS_USER, errno);
        }
        /* After the user switch, which clears the parent-death signal. If
         * the worker died before this, nobody supervises: do not start. */
        if (prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL) < 0 || getppid() != a->worker_pid)
                _exit(127);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        child_exec(a, err);
        _exit(127);
}

static const char *stage_text(child_stage s)
{
        switch (s) {
        case CS_SETPGID:
                return "cannot create the job's process group";
        case CS_FDS:
                return "cannot set up the job's file descriptors";
        case CS_CHDIR:
                return "cannot change to the working directory";
        case CS_LIMIT_NOFILE:
                return "cannot set limit_nofile";
        case CS_LIMIT_MEMORY:
                return "cannot set limit_memory";
        case CS_LIMIT_CPU:
                return "cannot set limit_cpu";
        case CS_NICE:
                return "cannot set nice";
        case CS_IONICE:
                return "cannot set ionice";
        case CS_USER:
                return "cannot switch user";
        case CS_EXEC:
                break;
        }
        return "cannot execute";
}

/* The child's report, if it failed before exec (written before its
 * _exit, so it is in the pipe by the time the child is reaped). */
static void read_child_report(worker *w)
{
        child_report rep;
        ssize_t n;

        if (w->err_fd < 0)
                return;
        do
                n = read(w->err_fd, &rep, sizeof(rep));
        while (n < 0 && errno == EINTR);
        close_fd(&w->err_fd);
        if (n != (ssize_t)sizeof(rep))
                return;
        if (rep.stage == CS_EXEC)
                set_reason(w, "cannot execute '%s': %s",
                           w->job->shell ? "/bin/sh" : w->job->argv.v[0], strerror(rep.err));
        else if (rep.stage == CS_CHDIR)
                set_reason(w, "cannot change to directory '%s': %s",
                           w->job->workdir ? w->job->workdir : w->o->cfg->dir, strerror(rep.err));
        else if (rep.stage == CS_USER)
                set_reason(w, "cannot switch to user '%s': %s", w->job->run_as, strerror(rep.err));
        else
                set_reason(w, "%s: %s", stage_text((child_stage)rep.stage), strerror(rep.err));
}

static int ioprio_of(const cw_job *job)
{
        switch (job->ionice) {
        case CW_IONICE_IDLE:
                return IOPRIO_VALUE(3, 0);
        case CW_IONICE_BEST_EFFORT:
                return IOPRIO_VALUE(2, job->ionice_level);
        case CW_IONICE_REALTIME:
                return IOPRIO_VALUE(1, job->ionice_level);
        default:
                return -1;
        }
}

static void format_scheduled_at(const worker *w, int64_t started_us, char *buf, size_t size)
{
        const cw_tz *tz = w->job->tz ? w->job->tz : w->o->cfg->tz;
        cw_time t = w->o->scheduled_at ? w->o->scheduled_at : cw_floordiv(started_us, 1000000);

        if (cw_iso8601_format(t, tz ? cw_tz_utoff(tz, t) : 0, buf, size) < 0)
                snprintf(buf, size, "%" PRId64, t);
}

static int make_pipe(int fds[2])
{
        return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

/* ---- cached user lookups (cw_worker_users) --------------------------------- */

#define USERS_MAX 64

typedef struct user_entry {
        char *run_as; /* NULL: the process's own user */
        cw_env_user user;
} user_entry;

struct cw_worker_users {
        user_entry e[USERS_MAX];
        size_t n;
        struct stat passwd, group; /* as they were when the entries were made */
};

cw_worker_users *cw_worker_users_new(void)
{
        return calloc(1, sizeof(cw_worker_users));
}

static void users_clear(cw_worker_users *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->e[i].run_as);
                cw_env_user_release(&c->e[i].user);
        }
        c->n = 0;
}

void cw_worker_users_free(cw_worker_users *c)
{
        if (!c)
                return;
        users_clear(c);
        free(c);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static user_entry *users_lookup(const cw_worker_users *c, const char *run_as)
{
        for (size_t i = 0; c && i < c->n; i++) {
                const char *k = c->e[i].run_as;
                if ((!k && !run_as) || (k && run_as && strcmp(k, run_as) == 0))
                        return (user_entry *)&c->e[i];
        }
        return NULL;
}

static const cw_env_user *users_find(const cw_worker_users *c, const char *run_as)
{
        user_entry *e = users_lookup(c, run_as);

        return e ? &e->user : NULL;
}

void cw_worker_users_prepare(cw_worker_users *c, const cw_job *job)
{
        struct stat pw = {0}, gr = {0};
        user_entry *e;
        cw_error err;

        if (!c)
                return;
        /* A changed passwd or group file (or one that cannot be seen)
         * forgets everything: the next runs look up afresh. Other NSS
         * sources (LDAP, systemd-homed) are not watched: the spawner is
         * replaced on every reload. */
        if (stat("/etc/passwd", &pw) < 0 || stat("/etc/group", &gr) < 0 || !same_file(&pw, &c->passwd) ||
            !same_file(&gr, &c->group)) {
                users_clear(c);
                c->passwd = pw;
                c->group = gr;
        }
        if (users_lookup(c, job->run_as) || c->n == USERS_MAX)
                return;
        e = &c->e[c->n];
        *e = (user_entry){0};
        if (job->run_as && !(e->run_as = strdup(job->run_as)))
                return;
        /* A failed lookup is not cached: the worker tries again and
         * records why the run could not start. */
        if (cw_env_user_lookup(job->run_as, &e->user, &err) < 0) {
                free(e->run_as);
                return;
        }
        c->n++;
}

/* Prepares and forks the job. Returns 0 when it was started, or a negative
 * errno with w->reason saying why the run failed before starting. */
static int start_job(worker *w, int64_t started_us)
{
        const cw_job *job = w->job;
        const cw_config *cfg = w->o->cfg;
        _cleanup_(cw_strv_release) cw_strv env = {0};
        _cleanup_(cw_strv_release) cw_strv argv = {0};
        _cleanup_free_ char *path_buf = NULL;
        cw_env_user user = {0};
        const cw_env_user *cached = users_find(w->o->users, job->run_as);
        child_args a = {.ioprio = ioprio_of(job)};
        int out[2] = {-1, -1}, prog[2] = {-1, -1}, errp[2] = {-1, -1}, null_fd = -1;
        char when[CW_ISO8601_MAX + 8];
        cw_error e;
        pid_t pid;
        int r;

        cw_error_clear(&e);
        if (cached) {
                /* Borrowed from the cache: not released below. */
                user = *cached;
        } else {
                r = cw_env_user_lookup(job->run_as, &user, &e);
                if (r < 0) {
                        set_reason(w, "%s", r == -ENOMEM ? "out of memory" : e.msg);
                        return r;
                }
        }
        if (job->run_as) {
                if (geteuid() == 0) {
                        a.set_user = true;
                } else if (user.uid != geteuid()) {
                        set_reason(
                                w,
                                "run_as '%s' needs cronwarden to run as root (it runs as uid %u)",
                                job->run_as, (unsigned)geteuid());
                        r = -EPERM;
                        goto out;
                }
        }
        format_scheduled_at(w, started_us, when, sizeof(when));
        r = cw_env_build(&(cw_env_vars){.job = job,
                                        .spec = w->o->spec,
                                        .user = &user,
                                        .run_id = w->run_id,
                                        .progress_fd = JOB_PROGRESS_FD,
                                        .scheduled_at = when},
                         &env, &e);
        if (r == 0)
                r = cw_secrets_collect(&job->secret_env, &env, &w->secrets);
        if (r < 0) {
                set_reason(w, "%s", r == -ENOMEM ? "out of memory" : e.msg);
                goto out;
        }
        r = cw_env_argv(job, w->o->spec, &argv);
        if (r < 0) {
                set_reason(w, "%s", r == -ENOMEM ? "out of memory" : "the job has no command");
                goto out;
        }
        if (!strchr(argv.v[0], '/')) {
                const char *path = cw_env_get(&env, "PATH");

                a.search_path = path ? path : "";
                path_buf = malloc(strlen(a.search_path) + strlen(argv.v[0]) + 2);
                if (!path_buf) {
                        r = -ENOMEM;
                        set_reason(w, "out of memory");
                        goto out;
                }
        }
        if ((r = make_pipe(out)) < 0 || (r = make_pipe(prog)) < 0 || (r = make_pipe(errp)) < 0) {
                set_reason(w, "cannot start the job: pipe: %s", strerror(-r));
                goto out;
        }
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0) {
                r = -errno;
                set_reason(w, "cannot start the job: /dev/null: %s", strerror(-r));
                goto out;
        }
        /* A bigger pipe means fewer wake-ups for a chatty job; the
         * default size works too. */
        (void)fcntl(out[0], F_SETPIPE_SZ, PIPE_SIZE);
        if (fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(prog[0], F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(errp[0], F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                set_reason(w, "cannot start the job: %s", strerror(-r));
                goto out;
        }

        a.out_w = out[1];
        a.prog_w = prog[1];
        a.err_w = errp[1];
        a.null_fd = null_fd;
        a.argv = argv.v;
        a.envp = env.v;
        a.path_buf = path_buf;
        a.workdir = job->workdir ? job->workdir : cfg->dir;
        a.uid = user.uid;
        a.gid = user.gid;
        a.groups = user.groups;
        a.n_groups = user.n_groups;
        a.nice_set = job->nice_set;
        a.nice = job->nice;
        a.limit_nofile = job->limit_nofile;
        a.limit_memory = job->limit_memory;
        a.limit_cpu = (uint64_t)job->limit_cpu;
        /* SIGXCPU at the soft limit, SIGKILL kill_grace later. */
        a.limit_cpu_hard = a.limit_cpu + (job->kill_grace > 0 ? (uint64_t)job->kill_grace : 1);
        a.worker_pid = getpid();
        a.signals_default = w->o->signals_default;

        pid = spawn_child(&a);
        if (pid < 0) {
                r = -errno;
                set_reason(w, "cannot start the job: vfork: %s", strerror(-r));
                goto out;
        }

        w->pid = pid;
        /* EACCES: the child has exec'd already, having done it itself. */
        (void)setpgid(pid, pid);
        w->out_fd = out[0];
        w->prog_fd = prog[0];
        w->err_fd = errp[0];
        out[0] = prog[0] = errp[0] = -1;
        r = 0;
out:
        for (int i = 0; i < 2; i++) {
                close_fd(&out[i]);
                close_fd(&prog[i]);
                close_fd(&errp[i]);
        }
        close_fd(&null_fd);
        if (!cached)
                cw_env_user_release(&user);
        return r;
}

/* ---- locks and records ------------------------------------------------------ */

/* The lock was free but its file names a holder: that worker died holding
 * it. Its job got SIGKILL from the kernel (PR_SET_PDEATHSIG), but the
 * job's own children may live on in its group: kill them, so this run
 * never overlaps the last, and record the old run as lost. */
static void clean_dead_holder(cw_store *store, const cw_lock_holder *prev, int64_t now_us)
{
        cw_run run = {0};

        if (prev->run_id <= 0 || cw_store_run_get(store, prev->run_id, &run) < 0)
                return;
        if (run.pid > 0)
                cw_proc_kill_group(run.pid, run.pid_start, SIGKILL);
        if (run.status == CW_RUN_RUNNING)
                (void)cw_store_run_transition(store, run.id, CW_RUN_RUNNING, CW_RUN_LOST,
                                              "worker vanished", now_us);
        cw_run_release(&run);
}

static cw_run_status outcome(const worker *w)
{
        if (w->cause == STOP_TIMEOUT)
                return CW_RUN_TIMED_OUT;
        if (w->cause == STOP_KILLED)
                return CW_RUN_KILLED;
        return w->exit_code == 0 && w->signal == 0 ? CW_RUN_SUCCEEDED : CW_RUN_FAILED;
}

static int finish_run(worker *w, cw_run_status status, cw_error *err)
{
        _cleanup_free_ char *output = NULL;
        cw_run run = {0};
        size_t len = 0;
        bool truncated = false;
        int r;

        r = cw_capture_finish(&w->cap, &output, &len, &truncated);
        cw_secrets_mask(output, len, &w->secrets);
        if (r < 0) {
                /* Without memory for the rendering, the outcome still
                 * goes in, with no output. */
                output = NULL;
                len = 0;
        }
        run.id = w->run_id;
        run.status = status;
        run.exit_code = w->exit_code;
        run.signal = w->signal;
        run.ended_us = real_us();
        run.output_size = w->cap.total;
        run.output_truncated = truncated;
        run.reason = w->reason[0] ? w->reason : NULL;
        for (int i = 0; i < FINISH_ATTEMPTS; i++) {
                r = cw_notify_finish(w->store, w->o->cfg, w->o->job, &run, output, len);
                if (r == 0 || r == -ENOENT)
                        break;
        }
        if (r < 0)
                return cw_error_fail(err, r, "cannot record the outcome of run %" PRId64 ": %s", w->run_id,
                            strerror(-r));
        return 0;
}

/* Blocks the worker's signals (read from the signalfd instead) and makes
 * SIGCHLD's disposition the default: with SIG_IGN or SA_NOCLDWAIT, which
 * a caller may have set, the kernel would reap the job itself and its
 * exit status would be lost. */
static int setup_signals(worker *w, sigset_t *ret_old, struct sigaction *ret_old_chld)
{
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &set, ret_old) < 0)
                return -errno;
        w->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (w->sig_fd < 0) {
                int r = -errno;

                sigprocmask(SIG_SETMASK, ret_old, NULL);
                return r;
        }
        sigaction(SIGCHLD, &dfl, ret_old_chld);
        return 0;
}

/* Puts the caller's mask back. SIGPIPE and SIGHUP that arrived since the
 * last read were ours to ignore: consumed first so they do not hit the
 * caller. SIGTERM/SIGINT stay pending for the caller to see. */
static void restore_signals(worker *w, const sigset_t *old, const struct sigaction *old_chld)
{
        static const struct timespec zero = {0, 0};
        sigset_t ours;

        sigemptyset(&ours);
        if (!sigismember(old, SIGPIPE))
                sigaddset(&ours, SIGPIPE);
        if (!sigismember(old, SIGHUP))
                sigaddset(&ours, SIGHUP);
        while (sigtimedwait(&ours, NULL, &zero) > 0)
                ;
        close_fd(&w->sig_fd);
        sigaction(SIGCHLD, old_chld, NULL);
        sigprocmask(SIG_SETMASK, old, NULL);
}

/* A queued run's store: the caller's, or cfg's opened now (w->owned).
 * Opening it only when needed keeps the store off the path between the
 * fire and the job's exec. */
static int queued_store(worker *w, cw_error *err)
{
        int r;

        if (w->store)
                return 0;
        r = cw_store_open(w->o->cfg->store, w->o->cfg->data_dir, &w->owned, err);
        if (r == 0)
                w->store = w->owned;
        return r;
}

/* A queued run that will not start (its lock is held, or set-up failed):
 * recorded on its row, which the starter already reported as started. */
static void queued_not_started(worker *w, cw_run_status status, const char *reason, int64_t now_us)
{
        cw_error e;

        if (queued_store(w, &e) == 0 && cw_store_run_transition(w->store, w->run_id, CW_RUN_QUEUED,
                                                                status, reason, now_us) == 0)
                (void)cw_notify_run_event(w->store, w->o->cfg, w->o->job, w->run_id, status, reason,
                                          now_us);
}

/* The job runs: mark the queued run running with the pids. A store that
 * cannot be opened is tried again at the end; the job is supervised
 * regardless. */
static void queued_mark(worker *w)
{
        cw_error e;

        if (w->marked || w->pid == 0)
                return;
        job_start_known(w);
        if (queued_store(w, &e) == 0 &&
            cw_notify_run_started(w->store, w->o->cfg, w->o->job, w->run_id, getpid(), w->pid,
                                  w->pid_start, real_us()) == 0) {
                w->marked = true;
                close_fd(&w->hold_fd);
        }
}

/* The gate opened (EOF: every job of the burst is exec'd, or the starter
 * is gone): the bookkeeping waits CW_WORKER_GATE_SETTLE_US more, plus its
 * place in the burst times CW_WORKER_GATE_STAGGER_US (worker.h), so the
 * burst's last jobs, exec'd but still in their dynamic loader, are not
 * held up by the whole burst's workers opening the store at once. */
static void gate_settle(worker *w)
{
        int64_t stagger = (int64_t)(w->o->gate_rank > 0 ? w->o->gate_rank : 0) * CW_WORKER_GATE_STAGGER_US;

        close_fd(&w->gate_fd);
        if (stagger > CW_WORKER_GATE_STAGGER_MAX_US)
                stagger = CW_WORKER_GATE_STAGGER_MAX_US;
        w->gate_at = mono_us() + CW_WORKER_GATE_SETTLE_US + stagger;
}

/* The gate opened and settled, or its time ran out: the bookkeeping held
 * back is done now. */
static void gate_open(worker *w)
{
        close_fd(&w->gate_fd);
        w->gate_at = 0;
        queued_mark(w);
}

/* Before the outcome is written: wait out the gate if the job was quicker. */
static void gate_wait(worker *w)
{
        while (w->gate_fd >= 0) {
                int64_t left = w->gate_at - mono_us();
                struct pollfd p = {.fd = w->gate_fd, .events = POLLIN};

                if (left <= 0)
                        break;
                if (poll(&p, 1, (int)((left + 999) / 1000)) != 0) {
                        gate_settle(w);
                        break;
                }
        }
        close_fd(&w->gate_fd);
        /* Opened, or settling (gate_settle): sleep out the rest. */
        while (w->gate_at > 0) {
                int64_t left = w->gate_at - mono_us();
                struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = left % 1000000 * 1000};

                if (left <= 0 || nanosleep(&ts, NULL) == 0)
                        break;
        }
        w->gate_at = 0;
}

int cw_worker_run(cw_store *store, const cw_worker_opts *opts, cw_worker_result *ret, cw_error *err)
{
        const cw_config *cfg = opts->cfg;
        const cw_job *job = opts->job;
        _cleanup_(cw_lock_releasep) cw_lock *lock = NULL;
        char key[CW_LOCK_KEY_MAX + 1] = "", locks_dir[4096];
        cw_lock_holder prev = {0};
        worker w = {
                .store = store,
                .o = opts,
                .job = job,
                .run_id = opts->run_id,
                .gate_fd = opts->run_id > 0 && opts->gate_fd > 0 ? opts->gate_fd : -1,
                .started_fd = opts->run_id > 0 && opts->started_fd > 0 ? opts->started_fd : -1,
                .hold_fd = opts->run_id > 0 && opts->hold_fd > 0 ? opts->hold_fd : -1,
                .sig_fd = -1,
                .timer_fd = -1,
                .out_fd = -1,
                .prog_fd = -1,
                .err_fd = -1,
                .tee_fd = opts->tee_fd > 0 ? opts->tee_fd : -1,
                .exit_code = -1,
                .prog_done = -1,
                .prog_total = -1,
        };
        int64_t started_us = opts->now_us ? opts->now_us : real_us();
        bool queued = opts->run_id > 0;
        int subreaper = 0;
        bool use_lock;
        struct sigaction old_chld;
        sigset_t old_mask;
        cw_run run = {0};
        struct stat st;
        int r;

        cw_error_clear(err);
        if (!queued && !store)
                return cw_error_fail(err, -EINVAL, "no store to record the run in");
        use_lock = !opts->ignore_lock && cw_lock_key(job, opts->spec_text, key, sizeof(key)) == 0;
        /* Signals are ours from here: a SIGTERM while setting up waits in
         * the signalfd and stops the job as soon as it runs. */
        r = setup_signals(&w, &old_mask, &old_chld);
        if (r < 0) {
                cw_error_fail(err, r, "cannot take over signals: %s", strerror(-r));
                if (queued)
                        queued_not_started(&w, CW_RUN_FAILED, err->msg, started_us);
                return r;
        }

        if (use_lock) {
                snprintf(locks_dir, sizeof(locks_dir), "%s/locks", cfg->data_dir);
                r = cw_lock_acquire(locks_dir, key, &lock, &prev);
                if (r == -EBUSY) {
                        *ret = (cw_worker_result){.run_id = w.run_id, .exit_code = -1, .holder = prev};
                        cw_error_fail(err, r, "lock '%s' is held by pid %d (run %" PRId64 ")", key,
                             ret->holder.pid, ret->holder.run_id);
                        if (queued) {
                                char why[200];

                                if (prev.run_id > 0)
                                        snprintf(why, sizeof(why), "the job's lock is held by run %" PRId64 " (pid %d)",
                                                 prev.run_id, prev.pid);
                                else
                                        snprintf(why, sizeof(why), "the job's lock is held by pid %d (a run still starting)",
                                                 prev.pid);
                                queued_not_started(&w, CW_RUN_SKIPPED, why, real_us());
                        }
                        goto out_signals;
                }
                if (r < 0) {
                        cw_error_fail(err, r, "cannot take lock '%s' in '%s': %s", key, locks_dir,
                             strerror(-r));
                        if (queued)
                                queued_not_started(&w, CW_RUN_FAILED, err->msg, real_us());
                        goto out_signals;
                }
                if (prev.run_id > 0) {
                        cw_error e;

                        /* Rare (a worker died holding the lock): worth the
                         * store before the job, whose run must not overlap. */
                        if (queued_store(&w, &e) == 0)
                                clean_dead_holder(w.store, &prev, started_us);
                }
                /* Label the lock at once (run id 0 until the run is
                 * recorded): a loser reading it meanwhile learns the pid
                 * and waits for the id (lock.c) instead of seeing nothing. */
                {
                        cw_lock_holder h0 = {.pid = getpid(), .run_id = w.run_id, .since_us = started_us};

                        snprintf(h0.node, sizeof(h0.node), "%s", cfg->node ? cfg->node : "");
                        (void)cw_lock_set_holder(lock, &h0);
                }
        }

        if (!queued) {
                run.job = job->name;
                run.spec = (char *)opts->spec_text;
                run.node = cfg->node;
                run.status = CW_RUN_RUNNING;
                run.trigger = opts->trigger;
                run.attempt = opts->attempt > 0 ? opts->attempt : 1;
                run.scheduled_at = opts->scheduled_at;
                run.started_us = started_us;
                run.worker_pid = getpid();
                run.exit_code = -1;
                run.progress_done = -1;
                run.progress_total = -1;
                run.lock_key = use_lock ? key : NULL;
                run.resumed_from = opts->resumed_from;
                r = cw_store_run_insert(store, &run);
                if (r < 0) {
                        cw_error_fail(err, r, "cannot record the run: %s", strerror(-r));
                        goto out_signals;
                }
                w.run_id = run.id;
                if (lock) {
                        cw_lock_holder h = {.pid = getpid(), .run_id = run.id, .since_us = started_us};

                        snprintf(h.node, sizeof(h.node), "%s", cfg->node ? cfg->node : "");
                        /* The lock itself is held; the record is only its label. */
                        (void)cw_lock_set_holder(lock, &h);
                }
        }

        /* From here the run is recorded: every failure becomes its outcome. */
        r = cw_capture_init(&w.cap, cfg->max_output ? (size_t)cfg->max_output : 1024 * 1024);
        w.buf = malloc(BUF_SIZE);
        w.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (r < 0 || !w.buf) {
                set_reason(&w, "out of memory");
        } else if (w.timer_fd < 0) {
                set_reason(&w, "cannot start the job: timerfd: %s", strerror(errno));
        } else {
                if (w.tee_fd >= 0 && fstat(w.tee_fd, &st) == 0)
                        w.tee_chunked = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
                prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
                prctl(PR_SET_CHILD_SUBREAPER, 1UL);
                r = start_job(&w, started_us);
                /* Started (or not to be): the burst's gate need not wait for us. */
                close_fd(&w.started_fd);
                if (r == 0) {
                        w.now = mono_us();
                        if (job->timeout > 0)
                                w.timeout_at = w.now + (int64_t)job->timeout * 1000000;
                        if (job->max_runtime > 0)
                                w.warn_at = w.now + (int64_t)job->max_runtime * 1000000;
                        if (queued) {
                                /* The job runs: now the bookkeeping, unless
                                 * the gate holds it back (then supervise()
                                 * does it when the gate opens). */
                                if (w.gate_fd >= 0)
                                        w.gate_at = w.now + CW_WORKER_GATE_MAX_US;
                                else
                                        queued_mark(&w);
                        } else {
                                job_start_known(&w);
                                (void)cw_store_run_set_pid(store, w.run_id, w.pid, w.pid_start);
                                /* Outside the daemon the run sends its own start. */
                                if (cw_notify_run_event(store, cfg, job, w.run_id, CW_RUN_RUNNING,
                                                        NULL, started_us) == 0)
                                        cw_notify_deliver_run(store, cfg, job, w.run_id,
                                                              CW_NOTIFY_TOTAL_TIMEOUT_MS * 1000LL);
                        }
                        if (opts->on_started)
                                opts->on_started(opts->userdata, w.run_id, w.pid);
                        supervise(&w);
                        store_progress(&w);
                }
                prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)subreaper);
        }
        /* A run that failed before its job started is recorded all the
         * same, and the caller still learns its id. */
        if (w.pid == 0 && opts->on_started)
                opts->on_started(opts->userdata, w.run_id, 0);
        if (queued) {
                gate_wait(&w);
                queued_mark(&w);
        }
        r = queued ? queued_store(&w, err) : 0;
        if (r == 0)
                r = finish_run(&w, w.pid == 0 ? CW_RUN_FAILED : outcome(&w), err);
        /* The daemon's sender delivers its runs' notifications; others
         * deliver their own (the rest waits for the next tick). */
        if (r == 0 && !queued)
                cw_notify_deliver_run(store, cfg, job, w.run_id,
                                      3 * CW_NOTIFY_TOTAL_TIMEOUT_MS * 1000LL);
        *ret = (cw_worker_result){
                .run_id = w.run_id,
                .status = w.pid == 0 ? CW_RUN_FAILED : outcome(&w),
                .exit_code = w.exit_code,
                .signal = w.signal,
        };
        cw_capture_release(&w.cap);
        cw_strv_release(&w.secrets);
        free(w.buf);
        close_fd(&w.timer_fd);
        close_fd(&w.out_fd);
        close_fd(&w.prog_fd);
        close_fd(&w.err_fd);
out_signals:
        close_fd(&w.started_fd);
        close_fd(&w.gate_fd);
        close_fd(&w.hold_fd);
        cw_store_close(w.owned);
        restore_signals(&w, &old_mask, &old_chld);
        return r;
}
