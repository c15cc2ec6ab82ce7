/* started.c - start markers of queued runs (see started.h).
 *
 * One file per run, DATA_DIR/started/RUN_ID, empty: its existence is the
 * fact, its flock the worker's liveness. Creation is on the path between
 * a fire and its job's exec, so it is kept to three system calls on the
 * usual path (open O_TMPFILE, flock, linkat); the folder is made only when
 * the first open finds it missing. */
#include "worker/started.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int dir_path(const char *data_dir, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/%s", data_dir, CW_STARTED_DIR);

        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int marker_path(const char *data_dir, int64_t run_id, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/%s/%" PRId64, data_dir, CW_STARTED_DIR, run_id);

        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* An unnamed, locked file in dir, or a negative errno (-EOPNOTSUPP: the
 * file system has no O_TMPFILE). */
static int open_unnamed(const char *dir)
{
        int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

        if (fd < 0)
                return errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP : -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* The fallback: created by name, then locked (see started.h). */
static int create_named(const char *path)
{
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0)
                return -errno;
        (void)flock(fd, LOCK_EX | LOCK_NB);
        return fd;
}

static int create_in(const char *dir, const char *path)
{
        char self[64];
        int fd = open_unnamed(dir);

        if (fd == -EOPNOTSUPP)
                return create_named(path);
        if (fd < 0)
                return fd;
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
                int r = -errno;
                close(fd);
                /* No /proc: by name instead. */
                return r == -ENOENT && access("/proc/self/fd", F_OK) < 0 ? create_named(path) : r;
        }
        return fd;
}

int cw_started_create(const char *data_dir, int64_t run_id, int *ret_fd)
{
        char dir[4096], path[4096];
        int fd, r;

        if ((r = dir_path(data_dir, dir, sizeof(dir))) < 0 ||
            (r = marker_path(data_dir, run_id, path, sizeof(path))) < 0)
                return r;
        fd = create_in(dir, path);
        if (fd == -ENOENT) {
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
                fd = create_in(dir, path);
        }
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

void cw_started_remove(const char *data_dir, int64_t run_id)
{
        char path[4096];

        if (marker_path(data_dir, run_id, path, sizeof(path)) == 0)
                (void)unlink(path);
}

cw_started_state cw_started_probe(const char *data_dir, int64_t run_id)
{
        char path[4096];
        cw_started_state st;
        int fd;

        if (marker_path(data_dir, run_id, path, sizeof(path)) < 0)
                return CW_STARTED_NONE;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                /* Unreadable but there: assume its worker lives rather
                 * than start its job twice. */
                return errno == ENOENT ? CW_STARTED_NONE : CW_STARTED_HELD;
        st = flock(fd, LOCK_SH | LOCK_NB) == 0 ? CW_STARTED_LEFT : CW_STARTED_HELD;
        close(fd);
        return st;
}

static bool kept(int64_t id, const int64_t *keep, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (keep[i] == id)
                        return true;
        return false;
}

void cw_started_prune(const char *data_dir, const int64_t *keep, size_t n)
{
        char dir[4096];
        struct dirent *de;
        DIR *d;

        if (dir_path(data_dir, dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
                return;
        while ((de = readdir(d))) {
                char *end;
                long long id = strtoll(de->d_name, &end, 10);

                if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || id <= 0 ||
                    kept(id, keep, n))
                        continue;
                if (cw_started_probe(data_dir, id) == CW_STARTED_LEFT)
                        cw_started_remove(data_dir, id);
        }
        closedir(d);
}

bool cw_started_before_boot(int64_t queued_us)
{
        struct timespec real, boot;
        int64_t boot_us;

        if (clock_gettime(CLOCK_REALTIME, &real) < 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
                return false;
        boot_us = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000 +
                  (real.tv_nsec - boot.tv_nsec) / 1000;
        return queued_us > 0 && queued_us < boot_us;
}
