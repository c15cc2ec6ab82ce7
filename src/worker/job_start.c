/* job_start.c - starting a run's job (worker_internal.h, docs/config.md
 * and docs/running.md).
 *
 * Everything is prepared before the fork: the user (looked up here, or
 * taken from the spawner's cache, cw_worker_users), the environment and
 * argv (env.c), the pipes, the search path's buffer. The job's process is
 * started with vfork and sets itself up with system calls only (process
 * group, descriptors, workdir, rlimits, nice, ionice, user, parent-death
 * signal) before it execs, or reports over a CLOEXEC pipe which step
 * failed (read_child_report turns that into the run's reason). A queued
 * run's start record (started.h) is written just before the vfork. */
#include "worker/worker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "base/iso8601.h"
#include "worker/env.h"
#include "worker/secrets.h"
#include "worker/started.h"

#define JOB_PROGRESS_FD 3
#define PIPE_SIZE (1024 * 1024)

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#endif
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_VALUE(cls, data) (((cls) << IOPRIO_CLASS_SHIFT) | (data))

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
 * are not copied for a child that execs at once (docs/hacking.md, Quality targets,
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
void worker_read_child_report(worker *w)
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

/* The run's fate is in the store (running, or its outcome), or its job
 * never started: its start record is done. */
void worker_unmark(worker *w)
{
        cw_started_done(w->mark_fd, w->run_id);
        w->mark_fd = -1;
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
        if (stat("/etc/passwd", &pw) < 0 || stat("/etc/group", &gr) < 0 ||
            !same_file(&pw, &c->passwd) || !same_file(&gr, &c->group)) {
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
int worker_start_job(worker *w, int64_t started_us)
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
                                        .scheduled_at = when,
                                        .fence = w->fence},
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

        /* A queued run: from here its job may start, which recovery must
         * be able to tell after this worker's death (started.h). One
         * pwrite to a file that exists, not a file per run. */
        if (w->o->run_id > 0) {
                r = cw_started_create(cfg->data_dir, w->run_id, &w->mark_fd);
                if (r == -EEXIST) {
                        w->foreign = true;
                        set_reason(w, "run %" PRId64 " was started by another worker already",
                                   w->run_id);
                        goto out;
                }
                if (r < 0) {
                        set_reason(
                                w,
                                "cannot start the job: cannot record that it starts in '%s/%s': %s",
                                cfg->data_dir, CW_STARTED_FILE,
                                r == -ESTALE ? "its slot holds a later run's record"
                                             : strerror(-r));
                        goto out;
                }
        }
        pid = spawn_child(&a);
        if (pid < 0) {
                r = -errno;
                set_reason(w, "cannot start the job: vfork: %s", strerror(-r));
                worker_unmark(w);
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
