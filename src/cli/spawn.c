/* spawn.c - starting detached workers: this same binary, re-executed in a
 * new session as `run SPEC --report-fd 3 ...` with stdio on /dev/null. The
 * worker writes one line to fd 3 once its run is recorded ("started ID
 * PID"), or when it cannot run ("busy HOLDER", "error MESSAGE"), so the
 * starter learns the run id without waiting for the run. Re-executing
 * rather than forking keeps the worker independent of whatever state its
 * starter had (a daemon's threads, sockets, signal handling). Used by
 * `run --detach`, `resume` and `tick`. The daemon instead starts its
 * spawner here (cli_spawn_spawner), which forks workers without waiting
 * for them (daemon/spawner.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "daemon/spawner.h"

extern char **environ;

/* Reads the worker's report line into buf (NUL-terminated, no newline). */
static void read_line(int fd, char *buf, size_t size)
{
        size_t n = 0;
        ssize_t k;

        while (n + 1 < size && (k = read(fd, buf + n, size - 1 - n)) != 0) {
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                n += (size_t)k;
                if (memchr(buf, '\n', n))
                        break;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

int cli_spawn_worker(const cw_config *cfg, const cli_worker_req *w, int64_t *ret_run_id, char *msg,
                     size_t msgsize)
{
        char self[PATH_MAX], cfgpath[PATH_MAX], att[32], sched[32], resumed[32], line[512];
        const char *argv[24];
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        long long id;
        int p[2], k = 0, r, pid_w;
        ssize_t len;
        pid_t pid;

        msg[0] = '\0';
        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                return snprintf(msg, msgsize, "cannot find the cronwarden binary: %s",
                                strerror(errno)),
                       -errno;
        self[len] = '\0';
        if (!realpath(cfg->path, cfgpath))
                return snprintf(msg, msgsize, "cannot resolve '%s': %s", cfg->path,
                                strerror(errno)),
                       -errno;
        snprintf(att, sizeof(att), "%d", w->attempt > 0 ? w->attempt : 1);
        snprintf(sched, sizeof(sched), "%lld", (long long)w->scheduled_at);
        snprintf(resumed, sizeof(resumed), "%lld", (long long)w->resumed_from);
        argv[k++] = self;
        argv[k++] = "--config";
        argv[k++] = cfgpath;
        argv[k++] = "run";
        argv[k++] = w->spec;
        argv[k++] = "--quiet";
        argv[k++] = "--report-fd=3";
        argv[k++] = "--trigger";
        argv[k++] = cw_trigger_to_string(w->trigger);
        argv[k++] = "--attempt";
        argv[k++] = att;
        argv[k++] = "--scheduled-at";
        argv[k++] = sched;
        argv[k++] = "--resumed-from";
        argv[k++] = resumed;
        if (w->force)
                argv[k++] = "--force";
        if (w->ignore_lock)
                argv[k++] = "--ignore-lock";
        if (w->config_snapshot) {
                argv[k++] = "--config-snapshot";
                argv[k++] = w->config_snapshot;
        }
        argv[k] = NULL;

        if (pipe2(p, O_CLOEXEC) < 0)
                return snprintf(msg, msgsize, "cannot create a pipe: %s", strerror(errno)), -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], 3);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&pid, self, &fa, &attr, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                snprintf(msg, msgsize, "cannot start a detached worker: %s", strerror(r));
                return -r;
        }
        read_line(p[0], line, sizeof(line));
        close(p[0]);
        if (sscanf(line, "started %lld %d", &id, &pid_w) == 2) {
                *ret_run_id = id;
                return 0;
        }
        if (strncmp(line, "busy ", 5) == 0) {
                snprintf(msg, msgsize, "%s", line + 5);
                return -EBUSY;
        }
        snprintf(msg, msgsize, "%s",
                 strncmp(line, "error ", 6) == 0
                         ? line + 6
                         : "the detached worker ended without starting the run");
        return -EIO;
}

int cli_spawn_for_action(const cw_config *cfg, const cw_sched_action *a,
                         const char *config_snapshot, int64_t *ret_run_id, cw_error *err)
{
        cli_worker_req w = {
                .spec = a->spec,
                .trigger = a->trigger,
                .attempt = a->attempt,
                .scheduled_at = a->scheduled_at,
                .force = true, /* the pass already applied enable/disable */
                .ignore_lock = a->ignore_lock,
                .config_snapshot = config_snapshot,
        };

        err->col = -1;
        return cli_spawn_worker(cfg, &w, ret_run_id, err->msg, sizeof(err->msg));
}

/* The spawner's environment: ours, plus LD_BIND_NOW (unless it is set
 * already) and a note that we added it (CLI_SPAWNER_BIND_NOW), so the
 * spawner takes it out again before it forks any worker (cmd_daemon.c).
 * Every symbol is then bound once in the spawner, not again in each worker
 * it forks: a worker's first call of each function otherwise looks it up
 * through every loaded library and writes its GOT entry (a page copied).
 * Returns a NULL-terminated array whose strings are environ's; free() the
 * array only. NULL when out of memory. */
static char **spawner_env(void)
{
        static char bind_now[] = "LD_BIND_NOW=1", note[] = CLI_SPAWNER_BIND_NOW "=1";
        size_t n = 0, k = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 3, sizeof(*env));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                env[k++] = environ[i];
        if (!getenv("LD_BIND_NOW")) {
                env[k++] = bind_now;
                env[k++] = note;
        }
        return env;
}

void cli_spawner_proto(char *buf, size_t size)
{
        snprintf(buf, size, "%d-%zu", CW_SPAWNER_PROTO, sizeof(cw_spawn_req));
}

/* The lean spawner program (spawner_main.c) that goes with the binary
 * `self`: beside it (a build tree), or in CW_LIBEXECDIR when self is the
 * installed program in CW_BINDIR. False when there is none: the full
 * binary is the spawner then. */
static bool lean_spawner(const char *self, char *buf, size_t size)
{
        const char *slash = strrchr(self, '/');
        int dirlen = slash ? (int)(slash - self) : 0;
        int n;

        n = snprintf(buf, size, "%.*s/%s", dirlen, self, CLI_LEAN_SPAWNER);
        if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
                return true;
#if defined(CW_LIBEXECDIR) && defined(CW_BINDIR)
        if ((size_t)dirlen == strlen(CW_BINDIR) && strncmp(self, CW_BINDIR, dirlen) == 0) {
                n = snprintf(buf, size, "%s/%s", CW_LIBEXECDIR, CLI_LEAN_SPAWNER);
                if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
                        return true;
        }
#endif
        return false;
}

int cli_spawn_spawner(const char *config_path, const char *snapshot, bool lean, int fd,
                      cw_error *err)
{
        char self[PATH_MAX], cfgpath[PATH_MAX], leanpath[PATH_MAX];
        const char *argv[] = {self,        "--config",          cfgpath,  "daemon",
                              "--spawner", "--config-snapshot", snapshot, NULL};
        char proto[32];
        const char *lean_argv[] = {leanpath, self, cfgpath, snapshot, proto, NULL};
        const char *const *args = argv;
        _cleanup_free_ char **env = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        ssize_t len;
        pid_t pid;
        int r;

        env = spawner_env();
        if (!env)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                return cw_error_fail(err, -errno, "cannot find the cronwarden binary: %s",
                                     strerror(errno));
        self[len] = '\0';
        cli_spawner_proto(proto, sizeof(proto));
        if (lean && lean_spawner(self, leanpath, sizeof(leanpath)))
                args = lean_argv;
        if (!realpath(config_path, cfgpath))
                return cw_error_fail(err, -errno, "cannot resolve '%s': %s", config_path,
                                     strerror(errno));
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (fd == CW_SPAWNER_FD) {
                /* dup2 onto itself would leave it close-on-exec. */
                posix_spawn_file_actions_adddup2(&fa, fd, 100);
                posix_spawn_file_actions_adddup2(&fa, 100, CW_SPAWNER_FD);
                posix_spawn_file_actions_addclose(&fa, 100);
        } else {
                posix_spawn_file_actions_adddup2(&fa, fd, CW_SPAWNER_FD);
        }
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&pid, args[0], &fa, &attr, (char *const *)args, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return cw_error_fail(err, -r, "cannot start the spawner: %s", strerror(r));
        return (int)pid;
}
