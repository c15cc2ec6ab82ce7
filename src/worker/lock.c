/* lock.c - flock(2) locks in data_dir/locks, one file per key (lock.h).
 *
 * The file LOCKS_DIR/KEY.lock is opened (created 0600) and locked with
 * flock(LOCK_EX | LOCK_NB). The kernel owns the truth: the lock exists
 * exactly as long as an open file description holding it, so a worker
 * killed with SIGKILL frees it at once and no stale-pid guessing is ever
 * needed. The file's content is only a label for people and for `status`:
 * one line "PID RUN_ID SINCE_US NODE\n" written by the holder with pwrite
 * and ftruncate (a reader parses up to the first newline, so it never
 * mistakes the remains of a longer old line for data) and emptied again
 * by a clean release. A record found by a new holder was therefore left by
 * a worker that died holding the lock; cw_lock_acquire hands it back so
 * the worker can clean up after it.
 *
 * Trade-off: cw_lock_probe takes the lock for the instant of the probe, so
 * an acquirer that tries in that instant would see it held. An acquirer
 * that meets an empty record (what a probe looks like) therefore tries once
 * more before reporting -EBUSY, which shrinks that window to the time of
 * one pread. */
#include "lock.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <time.h>
#include <poll.h>
#include <sys/inotify.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hash.h"

#define RECORD_MAX 256

struct cw_lock {
        int fd;
};

static const char *lock_name(const cw_job *job)
{
        return job->lock_name ? job->lock_name : job->name;
}

int cw_lock_key(const cw_job *job, const char *spec_text, char *buf, size_t size)
{
        int n;

        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        switch (job->lock) {
        case CW_LOCK_NONE:
                return -ENOENT;
        case CW_LOCK_CLASS:
                n = snprintf(buf, size, "class-%s", lock_name(job));
                break;
        case CW_LOCK_PARAMS:
                n = snprintf(buf, size, "params-%s-%016" PRIx64, job->name,
                             cw_hash_fnv1a(spec_text, strlen(spec_text)));
                break;
        default:
                return -EINVAL;
        }
        if (n < 0 || (size_t)n >= size) {
                buf[0] = '\0';
                return -ENOBUFS;
        }
        return 0;
}

/* Keys come from cw_lock_key (job names: letters, digits, '_', '.', '-'),
 * but the check keeps a bad caller from escaping the directory. */
static bool key_valid(const char *key)
{
        size_t i;

        if (!key[0] || key[0] == '.')
                return false;
        for (i = 0; key[i]; i++)
                if (key[i] == '/' || (unsigned char)key[i] <= ' ' || key[i] == 0x7f)
                        return false;
        return i <= CW_LOCK_KEY_MAX;
}

static int lock_path(const char *locks_dir, const char *key, char *buf, size_t size)
{
        int n;

        if (!key_valid(key))
                return -EINVAL;
        n = snprintf(buf, size, "%s/%s.lock", locks_dir, key);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p: the data directory itself may not exist yet on a first run. */
static int mkdir_parents(const char *dir)
{
        char path[4096];
        size_t len = strlen(dir);

        if (len == 0 || len >= sizeof(path))
                return -ENAMETOOLONG;
        memcpy(path, dir, len + 1);
        for (size_t i = 1; i <= len; i++) {
                if (path[i] != '/' && path[i] != '\0')
                        continue;
                path[i] = '\0';
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return -errno;
                path[i] = dir[i];
        }
        return 0;
}

/* "PID RUN_ID SINCE_US NODE\n" -> h. Anything else leaves h zeroed. */
static void parse_record(const char *buf, cw_lock_holder *h)
{
        long long pid, run_id, since;
        char node[sizeof(h->node)];
        const char *nl = strchr(buf, '\n');

        *h = (cw_lock_holder){0};
        if (!nl)
                return;
        if (sscanf(buf, "%lld %lld %lld %63s", &pid, &run_id, &since, node) != 4)
                return;
        if (pid <= 0 || pid > INT32_MAX || run_id < 0 || since < 0)
                return;
        h->pid = (int)pid;
        h->run_id = run_id;
        h->since_us = since;
        memcpy(h->node, node, sizeof(node));
}

static void read_record(int fd, cw_lock_holder *h)
{
        char buf[RECORD_MAX];
        ssize_t n;

        do
                n = pread(fd, buf, sizeof(buf) - 1, 0);
        while (n < 0 && errno == EINTR);
        buf[n > 0 ? n : 0] = '\0';
        parse_record(buf, h);
}

static int try_flock(int fd)
{
        int r;

        do
                r = flock(fd, LOCK_EX | LOCK_NB);
        while (r < 0 && errno == EINTR);
        if (r == 0)
                return 0;
        return errno == EWOULDBLOCK ? -EBUSY : -errno;
}

/* The holder writes its record right after taking the lock and adds the
 * run id once the run is recorded (a store write, which can take a while
 * under contention). A loser that reads a record without a run id waits
 * for the file to change, event-driven through inotify, at most
 * HOLDER_WAIT_MS, so "already running" can name the run. */
#define HOLDER_WAIT_MS 1000

/* Returns 0 when the lock was taken meanwhile (the holder was releasing
 * it: a released lock's record is emptied just before the unlock, and a
 * loser seeing that empty record must not report a lock that is free),
 * -EBUSY with *h read from the file otherwise. */
static int wait_for_holder(const char *path, int fd, cw_lock_holder *h)
{
        int64_t start;
        char ev[sizeof(struct inotify_event) + NAME_MAX + 1];
        int in, wd, r = -EBUSY;

        in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in < 0)
                return -EBUSY;
        wd = inotify_add_watch(in, path, IN_MODIFY | IN_CLOSE_WRITE);
        start = cw_clock_mono_us();
        /* Check again after arming the watch: the change may be done. */
        for (;;) {
                struct pollfd p = {.fd = in, .events = POLLIN};
                long left;

                if (try_flock(fd) == 0) {
                        r = 0;
                        break;
                }
                read_record(fd, h);
                if (wd < 0 || h->run_id != 0)
                        break;
                left = HOLDER_WAIT_MS - (long)((cw_clock_mono_us() - start) / 1000);
                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        break;
                while (read(in, ev, sizeof(ev)) > 0) {
                        /* Drain: one check covers every event so far. */
                }
        }
        close(in);
        return r;
}

int cw_lock_acquire(const char *locks_dir, const char *key, cw_lock **ret, cw_lock_holder *holder)
{
        cw_lock_holder h = {0};
        char path[4096];
        cw_lock *l;
        int fd, r;

        r = lock_path(locks_dir, key, path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == ENOENT) {
                r = mkdir_parents(locks_dir);
                if (r < 0)
                        return r;
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
                return -errno;
        r = try_flock(fd);
        if (r == -EBUSY) {
                read_record(fd, &h);
                /* No run id yet: the holder is starting or releasing. */
                if (h.run_id == 0)
                        r = wait_for_holder(path, fd, &h);
        }
        if (r < 0) {
                close(fd);
                if (r == -EBUSY && holder)
                        *holder = h;
                return r;
        }
        l = malloc(sizeof(*l));
        if (!l) {
                close(fd);
                return -ENOMEM;
        }
        l->fd = fd;
        if (holder)
                read_record(fd, holder);
        *ret = l;
        return 0;
}

int cw_lock_set_holder(cw_lock *l, const cw_lock_holder *h)
{
        char buf[RECORD_MAX];
        ssize_t w;
        int n;

        n = snprintf(buf, sizeof(buf), "%d %" PRId64 " %" PRId64 " %.63s\n", h->pid, h->run_id,
                     h->since_us, h->node[0] ? h->node : "-");
        if (n < 0 || (size_t)n >= sizeof(buf))
                return -EOVERFLOW;
        do
                w = pwrite(l->fd, buf, (size_t)n, 0);
        while (w < 0 && errno == EINTR);
        if (w < 0)
                return -errno;
        if (w != n)
                return -EIO;
        if (ftruncate(l->fd, n) < 0)
                return -errno;
        return 0;
}

void cw_lock_release(cw_lock *l)
{
        if (!l)
                return;
        /* Emptied while still held, so a record seen by the next holder
         * always means its writer died holding the lock. */
        (void)!ftruncate(l->fd, 0);
        /* Unlock before close: the kernel reports the close to inotify
         * (which contenders wait on) before it drops the flock, so a
         * contender woken by the close would still find the lock held. */
        (void)flock(l->fd, LOCK_UN);
        close(l->fd);
        free(l);
}

/* The pid owning a flock on inode ino per /proc/locks, 0 if none. Only
 * the inode is compared: on overlayfs /proc/locks shows the underlying
 * file system's device while stat() shows the overlay's, and a device
 * mismatch would make a live holder look dead. Callers that need
 * certainty also compare the pid. */
static int flock_owner_ino(ino_t ino)
{
        char line[256];
        FILE *f = fopen("/proc/locks", "re");
        int owner = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                unsigned maj, min;
                unsigned long long lino;
                char kind[16], mode[16], rw[16];
                int pid;

                /* "1: FLOCK  ADVISORY  WRITE 31922 fe:00:10952915 0 EOF"; a
                 * blocked waiter's line ("1: -> FLOCK ...") does not parse. */
                if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu", kind, mode, rw, &pid, &maj,
                           &min, &lino) != 7)
                        continue;
                if (strcmp(kind, "FLOCK") == 0 && lino == (unsigned long long)ino) {
                        owner = pid;
                        break;
                }
        }
        fclose(f);
        return owner;
}

/* True when process pid has the file `real` (a canonical path) open. */
static bool proc_has_open(int pid, const char *real)
{
        char dir[64], link[PATH_MAX], target[PATH_MAX];
        struct dirent *de;
        bool found = false;
        DIR *d;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
        d = opendir(dir);
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                ssize_t n;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
                n = readlink(link, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                found = strcmp(target, real) == 0;
        }
        closedir(d);
        return found;
}

int cw_lock_file_owner(const char *path)
{
        struct stat st;

        return stat(path, &st) < 0 ? 0 : flock_owner_ino(st.st_ino);
}

bool cw_lock_held_by(const char *locks_dir, const char *key, int pid)
{
        char path[4096], real[PATH_MAX];
        struct stat st;

        if (pid <= 0 || lock_path(locks_dir, key, path, sizeof(path)) < 0 || stat(path, &st) < 0)
                return false;
        if (flock_owner_ino(st.st_ino) == pid)
                return true;
        /* /proc/locks unreadable or unusual: a worker keeps its lock file
         * open exactly as long as it holds the lock. */
        return realpath(path, real) && proc_has_open(pid, real);
}

int cw_lock_probe(const char *locks_dir, const char *key, bool *ret_held, cw_lock_holder *holder)
{
        cw_lock_holder h = {0};
        char path[4096], real[PATH_MAX];
        struct stat st;
        int fd, r;

        r = lock_path(locks_dir, key, path, sizeof(path));
        if (r < 0)
                return r;
        /* Read-only, never created, never locked: taking the lock even for
         * an instant would make a `run` starting then report it held. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret_held = false;
                if (holder)
                        *holder = h;
                return 0;
        }
        read_record(fd, &h);
        r = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        *ret_held = flock_owner_ino(st.st_ino) != 0 ||
                    (h.pid > 0 && realpath(path, real) && proc_has_open(h.pid, real));
        if (holder)
                *holder = h;
        return 0;
}
