/* tzwatch.h - notices when a zone file the daemon uses changes on disk.
 *
 * Debian replaces zone files (tzdata updates) and /etc/localtime (a
 * symlink, re-pointed by timedatectl) by rename, so a watch on the file
 * itself would follow the old inode and miss the new one. A cw_tzwatch
 * therefore watches, with inotify, the directory holding each zone's
 * source file (cw_tz_source), and the directory of the file a symlink
 * resolves to, and reports only events on those names. Nothing is polled:
 * the caller polls the descriptor with its other ones and is woken only
 * when something under a watched directory happens.
 *
 * The watched set is given as a config's zones (the global one, the
 * defaults' and every job's) and can be replaced at any time (after a
 * reload); directories watched before and after keep their watch, so no
 * event falls between. */
#ifndef CW_DAEMON_TZWATCH_H
#define CW_DAEMON_TZWATCH_H

#include "config/config.h"
#include "timespec/timespec.h"

typedef struct cw_tzwatch cw_tzwatch;

/* A watcher with nothing watched yet. Returns 0, or a negative errno
 * (inotify_init1's: -EMFILE, -ENOMEM...); *ret untouched on failure. */
int cw_tzwatch_open(cw_tzwatch **ret);

void cw_tzwatch_free(cw_tzwatch *w);

/* The descriptor to poll for POLLIN (non-blocking, close-on-exec). */
int cw_tzwatch_fd(const cw_tzwatch *w);

/* Watches the source files of cfg's zones instead of what was watched.
 * Returns 0, or a negative errno when a directory cannot be watched (the
 * others still are); -ENOMEM leaves the previous set in place. */
int cw_tzwatch_set(cw_tzwatch *w, const cw_config *cfg);

/* Reads every pending event. Returns 1 when one concerns a watched file
 * (created, replaced, written, removed, its attributes changed, its
 * directory gone, or events lost to a queue overflow), 0 when none does,
 * or a negative errno. */
int cw_tzwatch_read(cw_tzwatch *w);

/* What a new config (the same text loaded again) changes in time: a zone
 * whose rules, name or tzdata version differ (entry NULL, the times 0), or
 * one schedule entry in such a zone whose next fire after `now` moved
 * (old_next, new_next: 0 when there is none). */
typedef struct cw_tzwatch_change {
        const cw_tz *old_tz, *new_tz;
        const cw_job *job;              /* in the new config; NULL for a zone */
        const cw_schedule_entry *entry; /* in the new config */
        cw_time old_next, new_next;
} cw_tzwatch_change;

/* Compares old and neu, which must come from the same config text (jobs
 * and entries match by index), calling report for each change, zones
 * first. Returns how many zones changed (0: neu changes nothing). */
size_t cw_tzwatch_compare(const cw_config *old, const cw_config *neu, cw_time now,
                          void (*report)(void *userdata, const cw_tzwatch_change *c),
                          void *userdata);

#endif
