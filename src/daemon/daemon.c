/* daemon.c - the scheduler daemon's event loop (see daemon.h).
 *
 * One thread, one poll() on two descriptors: a signalfd and a timerfd.
 * Every wake-up runs a full pass, which is idempotent (claims) and knows
 * from the store what is due; the pass also says when the next thing is
 * due, and the timer is armed for exactly that second. So the daemon
 * wakes only when there is work, a signal, or a wall-clock change. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/iso8601.h"
#include "http/http.h"
#include "sched/entries.h"

typedef struct daemon_state {
        const cw_daemon_opts *o;
        cw_config *cfg;
        cw_store *store;
        int sig_fd, timer_fd, pid_fd;
        bool pid_locked;  /* we hold daemon.pid (and may empty it on exit) */
        bool journal;   /* stderr is the systemd journal */
        bool stop;
        cw_time boot;
        sigset_t old_mask;
        /* The admin server (http.h) and the address it listens on; its
         * threads log through logline, so log_lock serialises lines and
         * guards d->cfg against a reload swapping it mid-line. */
        cw_http_server *http;
        char *admin_listen;
        pthread_mutex_t log_lock;
} daemon_state;

/* One log line: a timestamp (or a syslog priority under systemd), the
 * level, then key=value pairs given by fmt. */
_printf_(3, 4) static void logline(daemon_state *d, const char *level, const char *fmt, ...)
{
        struct timespec ts;
        char when[CW_ISO8601_MAX] = "";
        va_list ap;

        if (!d->o->log)
                return;
        pthread_mutex_lock(&d->log_lock);
        if (d->journal) {
                int prio = strcmp(level, "error") == 0 ? 3 : strcmp(level, "warning") == 0 ? 4 : 6;
                fprintf(d->o->log, "<%d>", prio);
        } else {
                clock_gettime(CLOCK_REALTIME, &ts);
                cw_iso8601_format(ts.tv_sec, d->cfg ? cw_tz_utoff(d->cfg->tz, ts.tv_sec) : 0, when, sizeof(when));
                fprintf(d->o->log, "%s ", when);
        }
        fprintf(d->o->log, "level=%s ", level);
        va_start(ap, fmt);
        vfprintf(d->o->log, fmt, ap);
        va_end(ap);
        fputc('\n', d->o->log);
        fflush(d->o->log);
        pthread_mutex_unlock(&d->log_lock);
}

/* A value for key=value: quoted when it has spaces or quotes. */
static const char *quoted(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        if (!s)
                return "-";
        if (!strpbrk(s, " \"=\t") && s[0])
                return s;
        buf[o++] = '"';
        for (; *s && o + 3 < size; s++) {
                if (*s == '"' || *s == '\\')
                        buf[o++] = '\\';
                buf[o++] = *s == '\n' ? ' ' : *s;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

static void on_action(void *userdata, const cw_sched_action *a)
{
        daemon_state *d = userdata;
        char fire[CW_ISO8601_MAX], q1[256], q2[512];

        cw_iso8601_format(a->scheduled_at, cw_tz_utoff(a->job->tz, a->scheduled_at), fire, sizeof(fire));
        logline(d, a->kind == CW_SCHED_FAILED ? "error" : "info",
                "event=%s run=%" PRId64 " job=%s spec=%s fire=%s trigger=%s attempt=%d%s%s", cw_sched_action_kind_to_string(a->kind),
                a->run_id, a->job->name, quoted(a->spec, q1, sizeof(q1)), fire, cw_trigger_to_string(a->trigger),
                a->attempt, a->reason ? " reason=" : "", a->reason ? quoted(a->reason, q2, sizeof(q2)) : "");
}

static int start_worker(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err)
{
        daemon_state *d = userdata;

        return d->o->start(d->o->userdata, d->cfg, a, ret_run_id, err);
}

static cw_sched_opts pass_opts(daemon_state *d)
{
        struct timespec ts;
        cw_sched_opts o = {
                .cfg = d->cfg,
                .store = d->store,
                .start = start_worker,
                .on_action = on_action,
                .userdata = d,
        };

        clock_gettime(CLOCK_REALTIME, &ts);
        o.now = ts.tv_sec;
        o.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        return o;
}

/* Writes text to DATA_DIR/CW_DAEMON_SNAPSHOT atomically (temporary file,
 * then rename), so a worker never reads a half-written snapshot. */
static int write_snapshot(const cw_config *cfg, const char *text, size_t len, cw_error *err)
{
        char path[4096], tmp[4112];
        ssize_t w;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, CW_DAEMON_SNAPSHOT);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return cw_error_fail(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        w = write(fd, text, len);
        if (w != (ssize_t)len || fsync(fd) < 0) {
                int e = w < 0 ? errno : EIO;
                close(fd);
                return cw_error_fail(err, -e, "cannot write '%s': %s", tmp, strerror(e));
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return cw_error_fail(err, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
        return 0;
}

/* Reads the config file once, parses that text, and (when it is good)
 * keeps it as the snapshot workers load: a config file edited or broken
 * under a running daemon then changes nothing until a reload accepts it. */
static int load_config(daemon_state *d, cw_config **ret, cw_error *err)
{
        cw_config_opts opts = {.zoneinfo_dir = d->o->zoneinfo_dir, .now = (cw_time)time(NULL)};
        cw_config_errors errs = {0};
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = cw_config_read_file(d->o->config_path, &text, &len);
        if (r < 0)
                return cw_error_fail(err, r, "cannot read '%s': %s", d->o->config_path, strerror(-r));
        r = cw_config_load_string(d->o->config_path, text, len, &opts, ret, &errs);
        if (r < 0)
                cw_error_fail(err, r, "%s%s", errs.n ? errs.msgs[0] : strerror(-r),
                              errs.n > 1 ? " (and more: run 'cronwarden check')" : "");
        cw_config_errors_release(&errs);
        if (r < 0)
                return r;
        /* data_dir must exist to hold the snapshot (the store creates it too). */
        (void)mkdir((*ret)->data_dir, 0755);
        r = write_snapshot(*ret, text, len, err);
        if (r < 0) {
                cw_config_free(*ret);
                *ret = NULL;
        }
        return r;
}

/* data_dir/daemon.pid, flocked for the daemon's life: one daemon per store. */
static int take_pid_file(daemon_state *d, cw_error *err)
{
        char path[4096], buf[32];
        int n;

        snprintf(path, sizeof(path), "%s/%s", d->cfg->data_dir, CW_DAEMON_PID_FILE);
        d->pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (d->pid_fd < 0)
                return cw_error_fail(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (flock(d->pid_fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                ssize_t k = pread(d->pid_fd, buf, sizeof(buf) - 1, 0);
                buf[k > 0 ? k : 0] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                if (e == EWOULDBLOCK)
                        return cw_error_fail(err, -EBUSY, "another daemon (pid %s) is running on '%s'",
                                             buf[0] ? buf : "?", d->cfg->data_dir);
                return cw_error_fail(err, -e, "cannot lock '%s': %s", path, strerror(e));
        }
        d->pid_locked = true;
        n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (ftruncate(d->pid_fd, 0) < 0 || pwrite(d->pid_fd, buf, (size_t)n, 0) != n)
                return cw_error_fail(err, -errno, "cannot write '%s': %s", path, strerror(errno));
        return 0;
}

static int setup_fds(daemon_state *d, cw_error *err)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &set, &d->old_mask) < 0)
                return cw_error_fail(err, -errno, "cannot block signals: %s", strerror(errno));
        d->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (d->sig_fd < 0)
                return cw_error_fail(err, -errno, "signalfd: %s", strerror(errno));
        d->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        if (d->timer_fd < 0)
                return cw_error_fail(err, -errno, "timerfd: %s", strerror(errno));
        return 0;
}

/* Arms the timer for second `wake` (0: nothing scheduled, far away), so a
 * wall-clock change still wakes us (CANCEL_ON_SET) and the plan is redone. */
static void arm(daemon_state *d, cw_time wake)
{
        struct itimerspec its = {0};

        its.it_value.tv_sec = wake ? wake : (cw_time)time(NULL) + 366 * 86400;
        if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                logline(d, "error", "event=error what=timerfd_settime error=%s", strerror(errno));
}

/* Adds the UI-created entries (sched/entries.h) to a pass: read from the
 * store each time, so an entry saved by any process fires without a
 * reload. A store error leaves them out of this pass only. The caller
 * frees *ret with cw_schedule_entries_free. */
static void add_ui_entries(daemon_state *d, cw_sched_opts *o, cw_schedule_entry **ret, size_t *ret_n)
{
        int r = cw_ui_entries_load(d->cfg, d->store, o->now, ret, ret_n, NULL);

        if (r < 0) {
                logline(d, "error", "event=error what=ui_entries error=%s", strerror(-r));
                *ret = NULL;
                *ret_n = 0;
        }
        o->extra_entries = *ret;
        o->n_extra_entries = *ret_n;
}

static cw_time run_pass(daemon_state *d)
{
        cw_sched_opts o = pass_opts(d);
        cw_sched_result res = {0};
        cw_schedule_entry *ui = NULL;
        size_t n_ui = 0;
        cw_error err;
        int r;

        add_ui_entries(d, &o, &ui, &n_ui);
        cw_error_clear(&err);
        r = cw_sched_pass(&o, &res, &err);
        cw_schedule_entries_free(ui, n_ui);
        if (r < 0) {
                char q[400];
                logline(d, "error", "event=error what=pass error=%s", quoted(err.msg, q, sizeof(q)));
                /* The store may be briefly unavailable: try again soon. */
                return o.now + 5;
        }
        return res.next_wake;
}

/* ---- the admin server (http/http.h) ---- */

/* It runs when [admin] has something to log in with. */
static bool admin_wanted(const cw_config *cfg)
{
        return cfg->admin_password_hash || cfg->admin_api_tokens.n > 0;
}

/* From a server thread: SIGUSR1 to ourselves, blocked in every thread,
 * so it lands on the signalfd and the loop runs a pass. */
static void admin_wake(void *userdata)
{
        (void)userdata;
        kill(getpid(), SIGUSR1);
}

static void admin_log(void *userdata, const char *level, const char *line)
{
        logline(userdata, level, "%s", line);
}

/* Starts the server when wanted. Call after setup_fds: its threads then
 * inherit the blocked signals. Any failure is -EADDRINUSE with err saying
 * why (address taken, not allowed, not resolvable). */
static int admin_start(daemon_state *d, cw_error *err)
{
        cw_http_opts o = {.listen = d->cfg->admin_listen, .wake = admin_wake, .log = admin_log, .userdata = d};
        char why[sizeof(err->msg)];

        if (!admin_wanted(d->cfg))
                return 0;
        d->admin_listen = strdup(d->cfg->admin_listen);
        if (!d->admin_listen)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        if (cw_http_start(&o, d->cfg, &d->http, err) < 0) {
                snprintf(why, sizeof(why), "%s", err->msg);
                return cw_error_fail(err, -EADDRINUSE, "admin server: %s", why);
        }
        return 0;
}

/* After a reload: the server serves n from now on; what it cannot change
 * while running is logged. */
static void admin_reloaded(daemon_state *d, const cw_config *n)
{
        char q[96];

        if (!d->http) {
                if (admin_wanted(n))
                        logline(d, "warning", "event=admin_not_started reason=%s",
                                quoted("the admin server starts with the daemon: restart it", q, sizeof(q)));
                return;
        }
        cw_http_set_config(d->http, n);
        if (strcmp(n->admin_listen, d->admin_listen) != 0)
                logline(d, "warning", "event=admin_listen_unchanged address=%s wanted=%s reason=%s", d->admin_listen,
                        n->admin_listen, quoted("a new listen address needs a restart", q, sizeof(q)));
        if (!admin_wanted(n))
                logline(d, "warning", "event=admin_no_credentials reason=%s",
                        quoted("no password_hash or api_token: every login is refused", q, sizeof(q)));
}

static void admin_stop(daemon_state *d)
{
        cw_http_stop(d->http);
        d->http = NULL;
        free(d->admin_listen);
        d->admin_listen = NULL;
}

static void reload(daemon_state *d)
{
        cw_config *n = NULL, *old;
        cw_error err;
        char q[400];

        cw_error_clear(&err);
        if (load_config(d, &n, &err) < 0) {
                logline(d, "error", "event=reload_failed error=%s keeping=old", quoted(err.msg, q, sizeof(q)));
                return;
        }
        if (strcmp(n->data_dir, d->cfg->data_dir) != 0 || strcmp(n->store, d->cfg->store) != 0) {
                logline(d, "error", "event=reload_failed error=%s keeping=old",
                        quoted("data_dir and store cannot change while running: restart the daemon", q, sizeof(q)));
                cw_config_free(n);
                return;
        }
        pthread_mutex_lock(&d->log_lock);
        old = d->cfg;
        d->cfg = n;
        pthread_mutex_unlock(&d->log_lock);
        cw_config_free(old);
        logline(d, "info", "event=reload jobs=%zu entries=%zu", n->n_jobs, n->n_entries);
        admin_reloaded(d, n);
}

static void reap(daemon_state *d)
{
        int st;

        (void)d;
        while (waitpid(-1, &st, WNOHANG) > 0) {
                /* Workers record their own outcome; nothing to do here but
                 * not to leave zombies. */
        }
}

static void handle_signals(daemon_state *d)
{
        struct signalfd_siginfo si;

        while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        d->stop = true;
                        break;
                case SIGHUP:
                        reload(d);
                        break;
                case SIGCHLD:
                        reap(d);
                        break;
                default: /* SIGUSR1: a request was queued; the next pass takes it. */
                        break;
                }
        }
}

static void handle_timer(daemon_state *d)
{
        uint64_t n;

        if (read(d->timer_fd, &n, sizeof(n)) < 0 && errno == ECANCELED)
                logline(d, "warning", "event=clock_changed action=replan");
}

static void fire_reboot(daemon_state *d)
{
        cw_sched_opts o = pass_opts(d);
        cw_sched_result res;
        cw_schedule_entry *ui = NULL;
        size_t n_ui = 0;
        cw_error err;
        char q[400];

        add_ui_entries(d, &o, &ui, &n_ui);
        cw_error_clear(&err);
        if (cw_sched_reboot(&o, d->boot, &res, &err) < 0)
                logline(d, "error", "event=error what=reboot error=%s", quoted(err.msg, q, sizeof(q)));
        cw_schedule_entries_free(ui, n_ui);
}

static void cleanup(daemon_state *d)
{
        /* First: its threads may still log or send SIGUSR1, which must stay
         * blocked and land on the signalfd until they are gone. */
        admin_stop(d);
        if (d->sig_fd >= 0)
                close(d->sig_fd);
        if (d->timer_fd >= 0)
                close(d->timer_fd);
        sigprocmask(SIG_SETMASK, &d->old_mask, NULL);
        if (d->pid_fd >= 0) {
                /* Emptied while still locked (a pid read later is a live
                 * daemon's), and only by its holder: a refused second daemon
                 * must leave the running one's pid alone. */
                if (d->pid_locked)
                        (void)!ftruncate(d->pid_fd, 0);
                close(d->pid_fd);
        }
        cw_store_close(d->store);
        cw_config_free(d->cfg);
}

int cw_daemon_run(const cw_daemon_opts *o, cw_error *err)
{
        daemon_state d = {.o = o, .sig_fd = -1, .timer_fd = -1, .pid_fd = -1, .log_lock = PTHREAD_MUTEX_INITIALIZER};
        const char *js = getenv("JOURNAL_STREAM");
        int r;

        d.journal = js && *js;
        sigprocmask(SIG_SETMASK, NULL, &d.old_mask);
        r = load_config(&d, &d.cfg, err);
        if (r == 0)
                r = cw_store_open(d.cfg->store, d.cfg->data_dir, &d.store, err);
        if (r == 0)
                r = take_pid_file(&d, err);
        if (r == 0)
                r = setup_fds(&d, err);
        if (r == 0)
                r = admin_start(&d, err);
        if (r < 0) {
                cleanup(&d);
                return r;
        }
        d.boot = (cw_time)time(NULL);
        logline(&d, "info", "event=start pid=%d jobs=%zu entries=%zu node=%s data_dir=%s", (int)getpid(), d.cfg->n_jobs,
                d.cfg->n_entries, d.cfg->node, d.cfg->data_dir);
        if (d.http)
                logline(&d, "info", "event=admin_listen address=%s", d.admin_listen);
        fire_reboot(&d);
        while (!d.stop) {
                struct pollfd p[2] = {{.fd = d.sig_fd, .events = POLLIN}, {.fd = d.timer_fd, .events = POLLIN}};

                arm(&d, run_pass(&d));
                if (poll(p, 2, -1) < 0 && errno != EINTR) {
                        logline(&d, "error", "event=error what=poll error=%s", strerror(errno));
                        break;
                }
                if (p[1].revents)
                        handle_timer(&d);
                if (p[0].revents)
                        handle_signals(&d);
        }
        logline(&d, "info", "event=stop pid=%d", (int)getpid());
        cleanup(&d);
        return 0;
}
