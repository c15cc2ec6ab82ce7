/* spawner.c - the daemon's worker spawner (see spawner.h).
 *
 * Why a worker is forked here without exec, against the house habit of
 * fork-then-exec at once: exec'ing the whole cronwarden binary per run
 * (dynamic linking, then reading and parsing the config, then the store)
 * cost milliseconds before the job could start, and a burst of fires paid
 * it once per fire. The reasons for exec do not hold in this process: it
 * was itself just exec'd, has no threads (so no library lock can be held
 * by a thread that does not exist in the child), no store connection, no
 * sockets but the daemon's, and owns all of its signal handling. The
 * child inherits only the parsed config, the one thing it needs, and
 * drops the rest before it does anything: descriptors (close_range),
 * process group (setpgid; the spawner has a session of its own), stdio
 * (/dev/null). Its signal mask is the worker's
 * own set (SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE blocked), so a
 * `kill` arriving while it sets up waits in the worker's signalfd.
 *
 * The loop: poll on the socket and a signalfd (SIGCHLD). Each readable
 * socket is drained (non-blocking receives), one fork per message;
 * SIGCHLD reaps every finished worker. A zero-length receive is the
 * daemon's end closing: the spawner returns (its workers carry on). */
#include "daemon/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/array.h"
#include "base/path.h"
#include "base/sigfd.h"
#include "catalog/catalog.h"
#include "store/store.h"
#include "worker/worker.h"

/* How long a burst's gate stays shut waiting for runs the daemon said
 * would follow (cw_spawn_req.more) when none comes. */
#define MORE_WAIT_MS 1000

/* Room for a burst of requests in the socket before the daemon waits. */
#define SOCKET_BUF (4 * 1024 * 1024)

static size_t req_size(const cw_spawn_req *r)
{
        return offsetof(cw_spawn_req, spec) + strnlen(r->spec, CW_JOBSPEC_TEXT_MAX) + 1;
}

int cw_spawner_socketpair(int *ret_daemon, int *ret_spawner)
{
        struct timeval tv = {.tv_sec = CW_SPAWNER_SEND_TIMEOUT_MS / 1000,
                             .tv_usec = (CW_SPAWNER_SEND_TIMEOUT_MS % 1000) * 1000};
        int sv[2], size = SOCKET_BUF;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        /* Best effort: the kernel caps them (wmem_max); smaller only means
         * the daemon waits for the spawner a little sooner. */
        (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        (void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        *ret_daemon = sv[0];
        *ret_spawner = sv[1];
        return 0;
}

int cw_spawner_send(int fd, const cw_spawn_req *req)
{
        ssize_t n;

        do
                n = send(fd, req, req_size(req), MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n >= 0)
                return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
        if (errno == ECONNRESET || errno == ENOTCONN || errno == ECONNREFUSED)
                return -EPIPE;
        return -errno;
}

int cw_spawner_read_report(int fd, cw_spawn_report *ret)
{
        cw_spawn_report rep;
        ssize_t n;

        do
                n = recv(fd, &rep, sizeof(rep), MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0
                       : errno == ECONNRESET                   ? -EPIPE
                                                               : -errno;
        if (n == 0)
                return -EPIPE;
        if ((size_t)n != sizeof(rep))
                return -EPROTO;
        rep.msg[sizeof(rep.msg) - 1] = '\0';
        *ret = rep;
        return 1;
}

/* ---- the spawner process ------------------------------------------------ */

/* In the worker child: a queued run that cannot even be set up (its job
 * left the config under it) is recorded as failed on its row. */
static void fail_queued(const cw_config *cfg, const cw_clock *clock, int64_t run_id,
                        const char *why)
{
        cw_store *store = NULL;
        cw_error e;

        if (cw_store_open(cfg->store, cfg->data_dir, &store, &e) < 0)
                return;
        (void)cw_store_run_transition(store, run_id, CW_RUN_QUEUED, CW_RUN_FAILED, why,
                                      cw_clock_now(clock));
        cw_store_close(store);
}

/* In the worker child: the job of spec js (cw_job_resolve). A job the
 * admin UI made from a command entry is not in the config: it is read
 * from the store (the child's own connection, closed at once; the worker
 * opens its own later), so the worker runs what the entry said when it
 * started, whatever happens to the entry afterwards. */
static int resolve_job(const cw_config *cfg, const cw_jobspec *js, cw_job_ref *ret, cw_error *e)
{
        cw_store *store = NULL;
        int r;

        if (cw_config_job(cfg, js->name) || !cw_ui_job_name_parse(js->name, NULL))
                return cw_job_resolve(cfg, NULL, js->name, ret, e);
        r = cw_store_open(cfg->store, cfg->data_dir, &store, e);
        if (r < 0)
                return r;
        r = cw_job_resolve(cfg, store, js->name, ret, e);
        cw_store_close(store);
        return r;
}

/* The worker: runs in the forked child, never returns. */
typedef struct spawner {
        const cw_config *cfg;
        const cw_clock *clock;
        cw_worker_users *users;
        int fd;   /* the daemon's socket */
        int hold; /* CW_SPAWNER_LOCK, held shared (-1: could not) */
        /* The current burst's gate, -1 when none: a pipe whose write end
         * the spawner holds until the daemon's last run of the burst is
         * forked, and each worker until its job is started. */
        int gate[2];
        bool more; /* the last request said more of its burst follow */
        int rank;  /* runs forked in the current burst */
        /* The live workers' pids and runs, so that an abnormal end can be
         * told to the daemon with its run. */
        struct kid {
                pid_t pid;
                int64_t run_id;
        } * kids;
        size_t n_kids, cap_kids;
        bool test_die; /* CW_SPAWNER_TEST_DIE_ENV */
} spawner;

/* A forked worker (untracked when there is no memory: its end is then
 * only news that workers ended). */
static void kid_add(spawner *sp, pid_t pid, int64_t run_id)
{
        if (cw_array_reserve((void **)&sp->kids, &sp->cap_kids, sp->n_kids + 1, sizeof(*sp->kids),
                             64) == 0)
                sp->kids[sp->n_kids++] = (struct kid){pid, run_id};
}

/* The run of worker pid, which ended (forgotten), or 0. */
static int64_t kid_take(spawner *sp, pid_t pid)
{
        for (size_t i = 0; i < sp->n_kids; i++)
                if (sp->kids[i].pid == pid) {
                        int64_t id = sp->kids[i].run_id;
                        sp->kids[i] = sp->kids[--sp->n_kids];
                        return id;
                }
        return 0;
}

static void gate_close(spawner *sp)
{
        for (int i = 0; i < 2; i++) {
                if (sp->gate[i] >= 0)
                        close(sp->gate[i]);
                sp->gate[i] = -1;
        }
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

/* Closes every descriptor from 3 up but the n in keep (-1s are skipped). */
static void keep_only(int *keep, size_t n)
{
        unsigned from = 3;

        qsort(keep, n, sizeof(*keep), cmp_int);
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < (int)from)
                        continue;
                if ((unsigned)keep[i] > from)
                        (void)close_range(from, (unsigned)keep[i] - 1, 0);
                from = (unsigned)keep[i] + 1;
        }
        (void)close_range(from, ~0U, 0);
}

static _Noreturn void worker_main(const spawner *sp, const cw_spawn_req *m)
{
        cw_jobspec *js = NULL;
        cw_job_ref ref = {0};
        cw_worker_result res = {0};
        cw_worker_opts o = {0};
        char *spec_text = NULL;
        char why[sizeof(((cw_error *)0)->msg) + 64];
        const cw_config *cfg = sp->cfg;
        int nul, r, gate = sp->gate[0], started = sp->gate[1], hold = sp->hold;
        int keep[] = {gate, started, hold};
        cw_error e;

        if (sp->test_die)
                raise(SIGKILL);
        /* A process group of its own, in the spawner's session (which has
         * no terminal); not a session: setsid() here would make a
         * scheduler autogroup per worker (~60 µs each), and a hundred of
         * them starve the spawner of CPU in a burst. Then away from the
         * spawner's descriptors: the socket, the signalfd, whatever else;
         * only the gate's two ends and the hand-over lock stay. */
        (void)setpgid(0, 0);
        nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
                (void)dup2(nul, STDIN_FILENO);
                (void)dup2(nul, STDOUT_FILENO);
                (void)dup2(nul, STDERR_FILENO);
        }
        keep_only(keep, sizeof(keep) / sizeof(keep[0]));

        cw_error_clear(&e);
        if (cw_jobspec_parse(m->spec, &js, &e) < 0 || resolve_job(cfg, js, &ref, &e) < 0 ||
            cw_job_check_spec(cfg, ref.job, js, &e) < 0 || !(spec_text = cw_jobspec_format(js))) {
                snprintf(why, sizeof(why), "could not start: %s",
                         e.msg[0] ? e.msg : "out of memory");
                if (started >= 0)
                        close(started);
                fail_queued(cfg, sp->clock, m->run_id, why);
                _exit(1);
        }
        o.cfg = cfg;
        o.job = ref.job;
        o.spec = js;
        o.spec_text = spec_text;
        o.trigger = (cw_trigger)m->trigger;
        o.attempt = m->attempt;
        o.scheduled_at = m->scheduled_at;
        o.ignore_lock = m->ignore_lock != 0;
        o.signals_default = true; /* cw_spawner_main made it so */
        o.run_id = m->run_id;
        o.fence = m->fence;
        o.lease_sent_us = m->lease_sent_us;
        o.users = sp->users;
        o.gate_fd = gate;
        o.started_fd = started;
        o.gate_rank = sp->rank;
        o.hold_fd = hold;
        o.now_us = cw_clock_now(sp->clock);
        o.clock = sp->clock;
        o.tee_fd = -1;
        r = cw_worker_run(NULL, &o, &res, &e);
        _exit(r < 0 && r != -EBUSY ? 1 : 0);
}

static void report(int fd, int64_t run_id, int err, const char *what)
{
        cw_spawn_report rep = {.run_id = run_id, .err = err};

        snprintf(rep.msg, sizeof(rep.msg), "%s: %s", what, strerror(err));
        /* If even this fails the daemon is gone; the row stays queued and
         * the next daemon's start-up sweep records it as lost. */
        (void)send(fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Reaps every finished worker and tells the daemon (a report with run id
 * 0): a run's end may trigger others ('after', retries), which the daemon
 * looks for in a pass, as it did when workers were its own children. A
 * worker that was killed or failed is told with its run first: it may
 * have died before its job started, leaving the run queued. */
static void reap_all(spawner *sp, int sig_fd)
{
        static const cw_spawn_report ended = {.run_id = 0};
        struct signalfd_siginfo si;
        bool any = false;
        int64_t run_id;
        pid_t pid;
        int st;

        while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                any = true;
                run_id = kid_take(sp, pid);
                if (run_id > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                        cw_spawn_report rep = {.run_id = run_id, .ended = 1, .wstatus = st};
                        (void)send(sp->fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL);
                }
        }
        /* A full socket already has a wake-up in it: dropping is fine. */
        if (any)
                (void)send(sp->fd, &ended, sizeof(ended), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The run's user, looked up here (once) rather than in every worker. */
static void prepare_user(const cw_config *cfg, cw_worker_users *users, const char *spec)
{
        char name[CW_JOBSPEC_NAME_MAX + 1];
        size_t n = strcspn(spec, ":");
        const cw_job *job;

        if (n >= sizeof(name))
                return;
        memcpy(name, spec, n);
        name[n] = '\0';
        job = cw_config_job(cfg, name);
        /* A job made in the admin UI runs as [defaults] says. */
        if (!job && cw_ui_job_name_parse(name, NULL))
                job = &cfg->defaults;
        if (job)
                cw_worker_users_prepare(users, job);
}

/* Receives and serves every request waiting. Returns 1 when the daemon's
 * end is closed, 0 when the socket is empty, a negative errno on error. */
static int serve(spawner *sp)
{
        cw_spawn_req m;

        for (;;) {
                ssize_t n = recv(sp->fd, &m, sizeof(m), MSG_DONTWAIT);
                pid_t pid;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Caught up with a daemon still sending its
                         * burst (it said more would come): the gate
                         * stays shut a while (cw_spawner_main). */
                        if ((errno == EAGAIN || errno == EWOULDBLOCK) && sp->more)
                                return 0;
                        gate_close(sp);
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return errno == ECONNRESET ? 1 : -errno;
                }
                if (n == 0) {
                        gate_close(sp);
                        return 1;
                }
                if ((size_t)n <= offsetof(cw_spawn_req, spec) || ((char *)&m)[n - 1] != '\0')
                        continue; /* not one of ours: nothing to start */
                /* Without a gate (no pipe to be had) workers just do not
                 * wait. */
                if (sp->gate[0] < 0) {
                        sp->rank = 0;
                        if (pipe2(sp->gate, O_CLOEXEC) < 0)
                                sp->gate[0] = sp->gate[1] = -1;
                }
                prepare_user(sp->cfg, sp->users, m.spec);
                pid = fork();
                if (pid == 0)
                        worker_main(sp, &m);
                if (pid < 0)
                        report(sp->fd, m.run_id, errno, "cannot fork a worker");
                else
                        kid_add(sp, pid, m.run_id);
                sp->rank++;
                /* The burst's last run is forked: the gate is its workers'
                 * now, open once each has started its job. */
                sp->more = m.more != 0;
                if (!sp->more)
                        gate_close(sp);
        }
}

int cw_spawner_main(const cw_config *cfg, const cw_clock *clock, int fd)
{
        static const int blocked[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE, 0};
        static const int read_here[] = {SIGCHLD, 0};
        spawner sp = {.cfg = cfg,
                      .clock = clock,
                      .users = cw_worker_users_new(),
                      .fd = fd,
                      .hold = -1,
                      .gate = {-1, -1},
                      .test_die = getenv(CW_SPAWNER_TEST_DIE_ENV) &&
                                  strcmp(getenv(CW_SPAWNER_TEST_DIE_ENV), "before_start") == 0};
        char lock_path[4096];
        sigset_t set, chld;
        cw_error e;
        int sig_fd, r = 0;

        /* The worker's own set stays blocked in every child (see above);
         * only SIGCHLD is read here. SIGTERM and friends do not stop the
         * spawner: the daemon does, by closing its end. */
        /* Out of the daemon's session, so its terminal's signals (^C,
         * hang-up) reach neither this process nor the workers it forks. */
        (void)setsid();
        /* No signal ignored (posix_spawn from the daemon, which has
         * threads, leaves glibc's internal ones ignored): the workers'
         * jobs need no reset then (cw_worker_opts.signals_default). */
        cw_signals_default();
        cw_sigset_of(&set, blocked);
        cw_sigset_of(&chld, read_here);
        sig_fd = cw_sigfd_open(&set, &chld, NULL);
        if (sig_fd < 0) {
                cw_worker_users_free(sp.users);
                return sig_fd;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        /* Shared with every worker forked (flock belongs to the open file,
         * which they inherit); a daemon starting up waits for all to let
         * go. Without it a restart records queued runs as lost. */
        sp.hold = cw_path_join(lock_path, sizeof(lock_path), cfg->data_dir, CW_SPAWNER_LOCK) < 0
                          ? -1
                          : open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (sp.hold >= 0 && flock(sp.hold, LOCK_SH) < 0) {
                close(sp.hold);
                sp.hold = -1;
        }
        /* Load the store's backend now (on PostgreSQL the module and
         * libpq: milliseconds of relocations), so that every worker
         * inherits it rather than loading it again. A failure is the
         * workers' to report, when they open the store. */
        (void)cw_store_load(cfg->store, &e);
        /* Look up every job's user now: the first lookup may load NSS
         * modules, which is better done before the first fire. */
        for (size_t i = 0; i < cfg->n_jobs; i++)
                if (i == 0 || cfg->jobs[i].run_as)
                        cw_worker_users_prepare(sp.users, &cfg->jobs[i]);
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = sig_fd, .events = POLLIN}};
                int n = poll(p, 2, sp.more ? MORE_WAIT_MS : -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0) {
                        /* The rest of the burst never came: open the gate. */
                        sp.more = false;
                        gate_close(&sp);
                        continue;
                }
                if (p[1].revents)
                        reap_all(&sp, sig_fd);
                if (p[0].revents) {
                        r = serve(&sp);
                        if (r != 0)
                                break;
                }
        }
        close(sig_fd);
        if (sp.hold >= 0)
                close(sp.hold);
        free(sp.kids);
        cw_worker_users_free(sp.users);
        return r > 0 ? 0 : r;
}
