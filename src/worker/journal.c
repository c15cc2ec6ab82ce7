/* journal.c - finished runs' outcomes kept in files until the store takes
 * them (journal.h).
 *
 * One file per run, DATA_DIR/journal/RUNID: a few "key value" lines, then
 * "output LEN" and LEN bytes of output. Written to RUNID.tmp and renamed,
 * so a reader sees a whole entry or none; a leftover .tmp (a writer that
 * died) is ignored. Values are numbers, a status name and one line of
 * reason (newlines in it become spaces). */
#include "worker/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"

#define JOURNAL_MAGIC "cronwarden-journal 1"
/* A journal entry larger than this is not ours (output is capped far below). */
#define JOURNAL_MAX (256u << 20)

static int journal_dir(const char *data_dir, char *buf, size_t size)
{
        if ((size_t)snprintf(buf, size, "%s/journal", data_dir) >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;

        while (n > 0) {
                ssize_t w = write(fd, c, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                c += w;
                n -= (size_t)w;
        }
        return 0;
}

/* The header lines of run's entry into buf. */
static int format_header(const cw_run *run, size_t len, char *buf, size_t size)
{
        char reason[1024], fence[48] = "";
        int n;

        snprintf(reason, sizeof(reason), "%s", run->reason ? run->reason : "");
        for (char *p = reason; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        /* A run's fencing token, when it has one (a cluster): its outcome
         * is recorded only while the run still has it. */
        if (run->fence > 0)
                snprintf(fence, sizeof(fence), "fence %" PRId64 "\n", run->fence);
        n = snprintf(buf, size,
                     JOURNAL_MAGIC "\nid %" PRId64 "\nstatus %s\nexit_code %d\nsignal %d\n"
                                   "ended_us %" PRId64 "\noutput_size %" PRIu64
                                   "\noutput_truncated %d\n"
                                   "%sreason %s\noutput %zu\n",
                     run->id, cw_run_status_to_string(run->status), run->exit_code, run->signal,
                     run->ended_us, (uint64_t)run->output_size, run->output_truncated ? 1 : 0,
                     fence, reason, len);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static int write_entry(const char *dir, const cw_run *run, const void *output, size_t len)
{
        char tmp[4096], path[4096], head[2048];
        int fd, r, n;

        if ((size_t)snprintf(path, sizeof(path), "%s/%" PRId64, dir, run->id) >= sizeof(path) ||
            (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        n = format_header(run, len, head, sizeof(head));
        if (n < 0)
                return n;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, head, (size_t)n);
        if (r == 0 && len)
                r = write_all(fd, output, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int cw_journal_write(const char *data_dir, const cw_run *run, const void *output, size_t len)
{
        char dir[4096];
        int r = journal_dir(data_dir, dir, sizeof(dir));

        if (r < 0)
                return r;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        r = write_entry(dir, run, output, len);
        if (r < 0 && len) {
                /* No room for the output: the outcome matters most. */
                cw_run bare = *run;

                bare.output_truncated = true;
                r = write_entry(dir, &bare, NULL, 0);
        }
        return r;
}

/* ---- replay ---------------------------------------------------------------- */

/* Reads the whole file at dirfd/name into a new buffer (NUL-terminated). */
static int read_entry(int dirfd, const char *name, char **ret, size_t *ret_len)
{
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        char *buf;
        size_t got = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > JOURNAL_MAX) {
                close(fd);
                return -EINVAL;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        buf[got] = '\0';
        *ret = buf;
        *ret_len = got;
        return 0;
}

/* The value after "key " on the line at *p, which moves past the line. */
static const char *field(char **p, const char *key)
{
        size_t k = strlen(key);
        char *nl;

        if (strncmp(*p, key, k) != 0 || (*p)[k] != ' ')
                return NULL;
        nl = strchr(*p, '\n');
        if (!nl)
                return NULL;
        *nl = '\0';
        {
                const char *v = *p + k + 1;
                *p = nl + 1;
                return v;
        }
}

static bool num(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (!s || !*s)
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

/* Parses an entry into run (whose reason points into buf) and the output's place. */
static int parse_entry(char *buf, size_t size, cw_run *run, const char **ret_out, size_t *ret_len)
{
        char *p = buf;
        int64_t id, code, sig, ended, osize, trunc, len, fence = 0;
        const char *status, *reason;
        char *at;

        if (strncmp(p, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC)) != 0)
                return -EINVAL;
        p += sizeof(JOURNAL_MAGIC);
        if (!num(field(&p, "id"), &id) || !(status = field(&p, "status")) ||
            !num(field(&p, "exit_code"), &code) || !num(field(&p, "signal"), &sig) ||
            !num(field(&p, "ended_us"), &ended) || !num(field(&p, "output_size"), &osize) ||
            !num(field(&p, "output_truncated"), &trunc))
                return -EINVAL;
        /* Optional (entries of runs without a token have none). */
        at = p;
        if (!num(field(&p, "fence"), &fence))
                p = at;
        if (!(reason = field(&p, "reason")) || !num(field(&p, "output"), &len))
                return -EINVAL;
        if (id <= 0 || len < 0 || (size_t)len > size - (size_t)(p - buf))
                return -EINVAL;
        if (cw_run_status_from_string(status, &run->status) < 0 ||
            !cw_run_status_is_final(run->status))
                return -EINVAL;
        run->id = id;
        run->exit_code = (int)code;
        run->signal = (int)sig;
        run->ended_us = ended;
        run->output_size = (uint64_t)osize;
        run->output_truncated = trunc != 0;
        run->reason = *reason ? (char *)reason : NULL;
        run->fence = fence > 0 ? fence : 0;
        *ret_out = p;
        *ret_len = (size_t)len;
        return 0;
}

/* Records one entry. 0 when recorded (or not ours to record: a malformed
 * entry, a run the store no longer has), so the caller removes it. */
static int replay_one(cw_store *s, int dirfd, const char *name, bool *ret_recorded)
{
        _cleanup_free_ char *buf = NULL;
        const char *out;
        cw_run run = {0};
        size_t size = 0, len = 0;
        int r;

        *ret_recorded = false;
        r = read_entry(dirfd, name, &buf, &size);
        if (r == -ENOENT)
                return 1; /* another process replayed it meanwhile */
        if (r < 0)
                return r == -EINVAL ? 0 : r;
        if (parse_entry(buf, size, &run, &out, &len) < 0)
                return 0;
        r = cw_store_run_finish(s, &run, out, len);
        /* -ESTALE: the run lost its token (a cluster recorded it lost and
         * gave its lock to another run): that decision stands. */
        if (r == -ENOENT || r == -ESTALE)
                return 0;
        if (r == 0)
                *ret_recorded = true;
        return r;
}

static bool entry_name(const char *name)
{
        if (!*name)
                return false;
        for (const char *p = name; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

int cw_journal_replay(cw_store *s, const char *data_dir, size_t *ret_n)
{
        char dir[4096];
        DIR *d;
        struct dirent *de;
        size_t n = 0;
        int first = 0, r = journal_dir(data_dir, dir, sizeof(dir));

        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                bool recorded;

                if (!entry_name(de->d_name))
                        continue;
                r = replay_one(s, dirfd(d), de->d_name, &recorded);
                if (r == 0)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
                if (recorded)
                        n++;
                if (r < 0 && !first)
                        first = r;
        }
        closedir(d);
        if (ret_n)
                *ret_n = n;
        return first;
}
