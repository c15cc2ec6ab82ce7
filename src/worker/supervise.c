/* supervise.c - supervising a started job until it and its leftovers are
 * gone (worker_internal.h; the run's records are worker.c's).
 *
 * One poll loop over the output pipe, the progress pipe, a signalfd
 * (SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE) and one timerfd armed for
 * the earliest deadline (timeout, kill grace, giving up on leftovers, the
 * next progress write, the next output snapshot, the burst's gate). "Now"
 * is read once per iteration. Nothing sleeps.
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
 * Processes that left the group (setsid) are not waited for, but none
 * outlives the run: when it is done, every child the worker inherited is
 * killed, and so on down (kill_escaped).
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
#include "worker/worker_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "base/units.h"
#include "notify/notify.h"
#include "worker/secrets.h"

#define PROGRESS_INTERVAL_US 250000
/* Live output: a snapshot of the capture is stored at most this often
 * while it changes, and a snapshot that met a busy store is tried again
 * after the shorter pause. */
#define SNAPSHOT_INTERVAL_US 1000000
#define SNAPSHOT_RETRY_US 250000
/* How long to wait for SIGKILLed leftovers to vanish before recording the
 * run anyway (only processes stuck in the kernel take this long). */
#define GIVEUP_US (5 * 1000000LL)

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

void worker_stop(worker *w, stop_cause cause, int64_t kill_by)
{
        w->now = cw_clock_mono_us();
        if (w->state == W_RUNNING) {
                w->cause = cause;
                w->timeout_at = 0;
                terminate(w, W_STOPPING);
        }
        /* The lease ends at kill_by: no grace beyond it. */
        if (kill_by > 0 && w->grace_at > kill_by &&
            (w->state == W_STOPPING || w->state == W_LEFTOVERS_TERM))
                w->grace_at = kill_by > w->now ? kill_by : w->now;
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

/* The job's process was reaped: stop whatever is left of its group. */
static void leader_exited(worker *w)
{
        int left = cw_proc_kill_group(w->pid, w->pid_start, 0);

        worker_read_child_report(w);
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
void worker_job_start_known(worker *w)
{
        if (w->pid > 0 && w->pid_start == 0)
                w->pid_start = cw_proc_start_time(w->pid);
}

static void reap(worker *w)
{
        siginfo_t si;

        worker_job_start_known(w);
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
 * is marked running (its store may not even be open before), through
 * its store, opened again if it was closed for being idle. */
static bool store_ready(worker *w)
{
        cw_error e;

        if (w->run_id <= 0 || w->stale || (w->o->run_id != 0 && !w->marked))
                return false;
        if (w->o->run_id != 0 && worker_queued_store(w, &e) < 0)
                return false;
        return w->store != NULL;
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
        /* With a token, not running with it means the cluster took over. */
        if (r == -ESTALE && w->fence > 0)
                worker_fenced_out(w, "its output");
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

void worker_store_progress(worker *w)
{
        if (!w->prog_dirty || w->stale)
                return;
        /* A token's writes need the run marked running (a queued run's
         * progress waits for that). */
        if (w->fence > 0 && !store_ready(w))
                return;
        /* Progress is advisory: a failed write is not worth failing for,
         * unless it says the run is no longer this worker's. */
        if (cw_store_run_progress(w->store, w->run_id, w->prog_done, w->prog_total) == -ESTALE &&
            w->fence > 0)
                worker_fenced_out(w, "its progress");
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
                        worker_store_progress(w);
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
                worker_store_progress(w);
        if (w->snap_at && w->now >= w->snap_at)
                store_snapshot(w);
        if (w->gate_at && w->now >= w->gate_at)
                worker_gate_open(w);
        worker_lease_tick(w);
        if (w->park_at && w->now >= w->park_at)
                worker_store_park(w);
        if (w->warn_at && w->now >= w->warn_at) {
                /* Until the store is ready, asked again each second. */
                w->warn_at = store_ready(w) ? 0 : w->now + 1000000;
                if (!w->warn_at)
                        (void)cw_notify_max_runtime(w->store, w->o->cfg, w->o->job, w->run_id,
                                                    worker_now(w));
        }
}

static void arm_timer(worker *w)
{
        int64_t d[] = {w->timeout_at, w->grace_at, w->giveup_at, w->flush_at,      w->snap_at,
                       w->gate_at,    w->warn_at,  w->renew_at,  w->lease_stop_at, w->park_at};
        int64_t at = 0;
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

/* Reaps those of pids[0..n) that have ended; true when one was. */
static bool reap_these(const int *pids, size_t n)
{
        bool any = false;

        for (size_t i = 0; i < n; i++)
                if (waitpid(pids[i], NULL, WNOHANG) > 0)
                        any = true;
        return any;
}

/* The job is done: no descendant of it may outlive its run. A process
 * that left the job's group (setsid, a daemonising double fork) is not
 * stopped with the group; once its parent dies it is re-parented to us
 * (subreaper). Kill every child we did not have before the job, wait for
 * it, and again for the children its death hands us, until none is left
 * or GIVEUP_US passes (a process stuck in the kernel). Only those pids are
 * reaped (an embedding program's own children are not ours to reap).
 * Waits on the signalfd, never sleeps. */
static void kill_escaped(worker *w)
{
        int64_t giveup = cw_clock_mono_us() + GIVEUP_US;
        int pids[256];
        size_t n;

        while ((n = cw_proc_children(w->host_children, w->n_host_children, pids,
                                     CW_ARRAY_SIZE(pids)))) {
                struct signalfd_siginfo si;
                struct pollfd p = {.fd = w->sig_fd, .events = POLLIN};
                int64_t left;

                for (size_t i = 0; i < n; i++)
                        (void)kill(pids[i], SIGKILL);
                if (reap_these(pids, n))
                        continue;
                left = giveup - cw_clock_mono_us();
                if (left <= 0 || poll(&p, 1, (int)(left / 1000) + 1) <= 0)
                        break;
                /* SIGCHLD (or a stop request, moot now): read, then reap. */
                while (read(w->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                        ;
                (void)reap_these(pids, n);
        }
}

void worker_supervise(worker *w)
{
        while (true) {
                struct pollfd p[6];
                int n = 0, i_out = -1, i_prog = -1, i_tee = -1, i_gate = -1;

                if (w->state == W_DRAINING)
                        drain(w);
                if (w->state == W_DONE) {
                        kill_escaped(w);
                        return;
                }
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
                w->now = cw_clock_mono_us();
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
                        worker_gate_settle(w);
        }
}
