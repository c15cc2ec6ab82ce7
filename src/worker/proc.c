/* proc.c - what the worker, `status` and `kill` know about processes,
 * read from /proc (Linux only): a process's start time, whether it is
 * alive, and signalling every member of a process group; and resetting
 * every signal's disposition for a job.
 *
 * A pid alone names a process only until it is reused, so every check here
 * can pair it with the process's start time (field 22 of /proc/PID/stat,
 * in clock ticks since boot): two processes never share both. The stat
 * line is parsed from its last ')' because the command name before it is
 * chosen by the process and may contain spaces and parentheses.
 *
 * Zombies count as gone: they run no code and hold no files, and a dead
 * worker that was not yet reaped is dead for every purpose here. */
#include "worker/worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct proc_stat {
        char state;
        int pgrp;
        uint64_t start;
} proc_stat;

/* Strict unsigned decimal ending at a space (or the end): *p advances. */
static bool parse_u64(const char **p, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return false;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (*s != ' ' && *s != '\0' && *s != '\n')
                return false;
        *p = s;
        *ret = v;
        return true;
}

/* Reads /proc/PID/stat. Returns 0, -ESRCH when the process is gone, or
 * -EIO when the line does not parse. */
static int read_stat(int pid, proc_stat *ret)
{
        char path[64], buf[1024];
        const char *p;
        int fd, field;
        ssize_t n;

        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n <= 0)
                return -ESRCH; /* ESRCH from read: it exited after open */
        buf[n] = '\0';
        /* comm is at most 16 bytes, so the whole line fits in buf; the
         * last ')' ends it whatever the name holds. */
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ' || !p[2])
                return -EIO;
        p += 2;
        ret->state = *p++;
        /* Fields 4 (ppid) to 22 (starttime), space separated; 5 is pgrp. */
        for (field = 4; field <= 22; field++) {
                uint64_t v;

                if (*p != ' ')
                        return -EIO;
                p++;
                /* Fields 4..22 are numbers; only some may be negative
                 * (priority, nice), and those are skipped unparsed. */
                if (field == 5 || field == 22) {
                        if (!parse_u64(&p, &v))
                                return -EIO;
                        if (field == 5) {
                                if (v > INT32_MAX)
                                        return -EIO;
                                ret->pgrp = (int)v;
                        } else {
                                ret->start = v;
                        }
                        continue;
                }
                while (*p && *p != ' ')
                        p++;
        }
        return 0;
}

static bool is_dead_state(char s)
{
        return s == 'Z' || s == 'X' || s == 'x';
}

uint64_t cw_proc_start_time(int pid)
{
        proc_stat st;

        return read_stat(pid, &st) == 0 ? st.start : 0;
}

bool cw_proc_alive(int pid, uint64_t start)
{
        proc_stat st;

        if (read_stat(pid, &st) < 0 || is_dead_state(st.state))
                return false;
        return start == 0 || st.start == start;
}

static bool parse_pid(const char *name, int *ret)
{
        uint64_t v;
        const char *p = name;

        if (!parse_u64(&p, &v) || *p != '\0' || v == 0 || v > INT32_MAX)
                return false;
        *ret = (int)v;
        return true;
}

int cw_proc_kill_group(int pgid, uint64_t start, int sig)
{
        proc_stat leader;
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (pgid <= 1)
                return 0;
        /* No process at all in the group (the common case: a job that
         * left nothing behind): nothing to scan /proc for, which with
         * thousands of processes costs far more than the job's start. */
        if (kill(-pgid, 0) < 0 && errno == ESRCH)
                return 0;
        /* A live process with the group's id that started at another time
         * leads a new group that reused the id: not ours. (A pid is never
         * handed out while a group of that id has members, so when the
         * leader is gone the members found are the old group's.) */
        if (start != 0 && read_stat(pgid, &leader) == 0 && leader.start != start)
                return 0;
        /* opendir uses O_CLOEXEC. */
        d = opendir("/proc");
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                proc_stat st;
                int pid;

                if (!parse_pid(de->d_name, &pid))
                        continue;
                if (read_stat(pid, &st) < 0 || st.pgrp != pgid || is_dead_state(st.state))
                        continue;
                if (kill(pid, sig) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

static bool listed(const int *pids, size_t n, long pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* Adds the children in one thread's /proc children file to ret[*n..max). */
static void read_children(const char *path, const int *spare, size_t n_spare, int *ret, size_t max,
                          size_t *n)
{
        char buf[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t len;

        if (fd < 0)
                return;
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
                return;
        buf[len] = '\0';
        for (char *p = buf, *end; *p && *n < max; p = end) {
                long pid = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (pid > 1 && !listed(spare, n_spare, pid) && !listed(ret, *n, pid))
                        ret[(*n)++] = (int)pid;
        }
}

size_t cw_proc_children(const int *spare, size_t n_spare, int *ret, size_t max)
{
        siginfo_t si = {0};
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        /* No child at all (the common case): no /proc to read. */
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
                return 0;
        d = opendir("/proc/self/task");
        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                char path[64];
                int tid;

                if (!parse_pid(de->d_name, &tid))
                        continue;
                snprintf(path, sizeof(path), "/proc/self/task/%d/children", tid);
                read_children(path, spare, n_spare, ret, max, &n);
        }
        closedir(d);
        return n;
}

void cw_signals_default(void)
{
        /* The kernel's struct for rt_sigaction: glibc's sigaction() refuses
         * its own two internal signals (32, 33), which a multithreaded
         * parent's posix_spawn leaves ignored in the child. */
        struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                uint64_t mask;
        } dfl = {.handler = SIG_DFL};

        for (int s = 1; s <= 64; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void)syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(dfl.mask));
}
