/* tzwatch.c - inotify on the directories of the daemon's zone files (see
 * tzwatch.h).
 *
 * A watch is a (directory watch descriptor, file name) pair; several names
 * share a descriptor when they live in one directory, since inotify gives
 * one descriptor per directory however often it is added. Replacing the
 * set adds the new watches first and only then removes descriptors no
 * longer used, so a directory in both sets is watched throughout. */
#include "tzwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"

/* Everything that can give a name new contents, or take it away: an
 * atomic rename (tzdata, timedatectl), an in-place write, a new symlink,
 * a removal, a chmod that makes it unreadable; and the directory itself
 * going away. */
#define TZWATCH_MASK                                                                               \
        (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |        \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

typedef struct watch {
        int wd;
        char *name;
} watch;

struct cw_tzwatch {
        int fd;
        watch *w;
        size_t n;
};

int cw_tzwatch_open(cw_tzwatch **ret)
{
        cw_tzwatch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                int e = errno;

                free(w);
                return -e;
        }
        *ret = w;
        return 0;
}

static void watches_free(watch *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].name);
        free(v);
}

void cw_tzwatch_free(cw_tzwatch *w)
{
        if (!w)
                return;
        close(w->fd);
        watches_free(w->w, w->n);
        free(w);
}

int cw_tzwatch_fd(const cw_tzwatch *w)
{
        return w->fd;
}

typedef struct watch_list {
        watch *v;
        size_t n, cap;
} watch_list;

/* Watches path's directory for path's name. Returns 0, -ENOMEM, or the
 * errno of inotify_add_watch. */
static int add_path(int fd, watch_list *l, const char *path)
{
        const char *slash = strrchr(path, '/');
        char dir[PATH_MAX];
        const char *name;
        int wd;

        if (!slash || !slash[1])
                return -EINVAL;
        name = slash + 1;
        if ((size_t)(slash - path) >= sizeof(dir))
                return -ENAMETOOLONG;
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        wd = inotify_add_watch(fd, dir[0] ? dir : "/", TZWATCH_MASK);
        if (wd < 0)
                return -errno;
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].wd == wd && strcmp(l->v[i].name, name) == 0)
                        return 0;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                watch *v = realloc(l->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n].wd = wd;
        l->v[l->n].name = strdup(name);
        if (!l->v[l->n].name)
                return -ENOMEM;
        l->n++;
        return 0;
}

/* The zone's file, and when that is a symlink (/etc/localtime, a
 * backward-compatible name) the file it resolves to: an update replaces
 * the target, not the link. Returns the first error, having tried both. */
static int add_zone(int fd, watch_list *l, const cw_tz *tz)
{
        const char *src = tz ? cw_tz_source(tz) : NULL;
        char real[PATH_MAX];
        struct stat st;
        int r, r2 = 0;

        if (!src)
                return 0;
        r = add_path(fd, l, src);
        if (r == -ENOMEM)
                return r;
        if (lstat(src, &st) == 0 && S_ISLNK(st.st_mode) && realpath(src, real))
                r2 = add_path(fd, l, real);
        return r < 0 ? r : r2;
}

static bool wd_used(const watch_list *l, int wd)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].wd == wd)
                        return true;
        return false;
}

/* The config's zones, each once: jobs share the config's zone objects,
 * so ten thousand jobs cost a few watches. Returns how many, or -ENOMEM. */
static ssize_t distinct_zones(const cw_config *cfg, const cw_tz ***ret)
{
        const cw_tz **v = malloc((cfg->n_jobs + 2) * sizeof(*v));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_jobs + 2; i++) {
                const cw_tz *tz = i == 0   ? cfg->tz
                                  : i == 1 ? cfg->defaults.tz
                                           : cfg->jobs[i - 2].tz;
                size_t k = 0;

                while (k < n && v[k] != tz)
                        k++;
                if (k == n && tz)
                        v[n++] = tz;
        }
        *ret = v;
        return (ssize_t)n;
}

int cw_tzwatch_set(cw_tzwatch *w, const cw_config *cfg)
{
        watch_list l = {0};
        const cw_tz **zones = NULL;
        ssize_t n = distinct_zones(cfg, &zones);
        int first = 0, r = 0;

        if (n < 0)
                return (int)n;
        for (ssize_t i = 0; r != -ENOMEM && i < n; i++) {
                r = add_zone(w->fd, &l, zones[i]);
                first = first < 0 ? first : r;
        }
        free(zones);
        if (r == -ENOMEM) {
                /* Added directories stay watched: harmless, and the old
                 * set still lists what is watched for. */
                watches_free(l.v, l.n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < w->n; i++)
                if (!wd_used(&l, w->w[i].wd) &&
                    !wd_used(&(watch_list){.v = w->w, .n = i}, w->w[i].wd))
                        (void)inotify_rm_watch(w->fd, w->w[i].wd);
        watches_free(w->w, w->n);
        w->w = l.v;
        w->n = l.n;
        return first;
}

/* Whether event e concerns a watched name, or the directory itself. */
static bool event_matters(const cw_tzwatch *w, const struct inotify_event *e)
{
        if (e->mask & IN_Q_OVERFLOW)
                return true;
        for (size_t i = 0; i < w->n; i++) {
                if (w->w[i].wd != e->wd)
                        continue;
                if (e->len == 0 || strcmp(e->name, w->w[i].name) == 0)
                        return true;
        }
        return false;
}

int cw_tzwatch_read(cw_tzwatch *w)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool seen = false;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return seen;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return seen;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *)p;

                        seen = seen || event_matters(w, e);
                        p += sizeof(*e) + e->len;
                }
        }
}

/* ---- what a reload of the zones changes ---- */

static bool zone_changed(const cw_tz *a, const cw_tz *b)
{
        const char *va = cw_tz_version(a), *vb = cw_tz_version(b);

        return !cw_tz_same_rules(a, b) || strcmp(cw_tz_name(a), cw_tz_name(b)) != 0 ||
               (va || vb) != (va && vb) || (va && strcmp(va, vb) != 0);
}

static cw_time next_after(const cw_schedule_entry *e, const cw_tz *tz, cw_time now)
{
        cw_time t = 0;

        return cw_timespec_next(e->when, tz, now, &t) == 0 ? t : 0;
}

/* The old config's zones, each once, paired with the new one's. */
typedef struct zone_pair {
        const cw_tz *old_tz, *new_tz;
} zone_pair;

static size_t pair_add(zone_pair *v, size_t n, const cw_tz *a, const cw_tz *b)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].old_tz == a)
                        return n;
        v[n].old_tz = a;
        v[n].new_tz = b;
        return n + 1;
}

size_t cw_tzwatch_compare(const cw_config *old, const cw_config *neu, cw_time now,
                          void (*report)(void *userdata, const cw_tzwatch_change *c),
                          void *userdata)
{
        size_t n_jobs = old->n_jobs < neu->n_jobs ? old->n_jobs : neu->n_jobs;
        size_t n_entries = old->n_entries < neu->n_entries ? old->n_entries : neu->n_entries;
        zone_pair *pairs = calloc(n_jobs + 2, sizeof(*pairs));
        size_t n = 0, changed = 0;

        if (!pairs)
                return 1; /* cannot tell: say it changed, the caller re-plans */
        n = pair_add(pairs, n, old->tz, neu->tz);
        n = pair_add(pairs, n, old->defaults.tz, neu->defaults.tz);
        for (size_t i = 0; i < n_jobs; i++)
                n = pair_add(pairs, n, old->jobs[i].tz, neu->jobs[i].tz);
        for (size_t i = 0; i < n; i++) {
                if (!zone_changed(pairs[i].old_tz, pairs[i].new_tz))
                        continue;
                changed++;
                report(userdata,
                       &(cw_tzwatch_change){.old_tz = pairs[i].old_tz, .new_tz = pairs[i].new_tz});
        }
        free(pairs);
        for (size_t i = 0; changed && i < n_entries; i++) {
                const cw_schedule_entry *e = &neu->entries[i];
                const cw_tz *a, *b;
                cw_tzwatch_change c;

                if (e->job >= n_jobs || old->entries[i].job != e->job)
                        continue;
                a = old->jobs[e->job].tz;
                b = neu->jobs[e->job].tz;
                if (cw_tz_same_rules(a, b))
                        continue;
                c = (cw_tzwatch_change){.old_tz = a,
                                        .new_tz = b,
                                        .job = &neu->jobs[e->job],
                                        .entry = e,
                                        .old_next = next_after(&old->entries[i], a, now),
                                        .new_next = next_after(e, b, now)};
                if (c.old_next != c.new_next)
                        report(userdata, &c);
        }
        return changed;
}
