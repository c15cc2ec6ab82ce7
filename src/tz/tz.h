/* tz.h - time zones from the system tz database, read as TZif files.
 *
 * A cw_tz is an immutable, self-contained copy of one zone's rules: the
 * transition table of its TZif file (version 2 or later data block, 64-bit
 * times) and the POSIX TZ rule from the file's footer, which gives local
 * time for instants past the last transition. Nothing here reads or changes
 * the process's TZ or calls localtime(): a zone is pure data, so any number
 * of zones can be evaluated side by side, from any thread.
 *
 * Instants are UTC seconds (cw_time). "Local seconds" are wall-clock
 * readings counted the same way (see civil.h): local = instant + utoff.
 *
 * Zones are found under a zoneinfo directory (default
 * /usr/share/zoneinfo, kept current by Debian's tzdata package; the CLI
 * passes $TZDIR instead when set). "UTC", "Etc/UTC", "GMT" and "Z" always
 * work, with or without the file. A zone remembers the file it was read
 * from and the tz database version of its directory, so that a long-running
 * process can notice the file changing (daemon/tzwatch.h) and say which
 * rules it uses. */
#ifndef CW_TZ_TZ_H
#define CW_TZ_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/error.h"

typedef struct cw_tz cw_tz;

#define CW_TZ_DIR "/usr/share/zoneinfo"

/* Loads zone `name` ("Europe/Warsaw") from dir (NULL = CW_TZ_DIR).
 * Names are validated first: no leading '/', no "..", only
 * [A-Za-z0-9_+-./]. Returns 0 and a new zone in *ret (free with
 * cw_tz_free), or -ENOENT (no such zone), -EINVAL (bad name or corrupt
 * file; err says which and where), -ENOMEM. *ret untouched on failure. */
int cw_tz_load(const char *name, const char *dir, cw_tz **ret, cw_error *err);

/* Loads the system's zone: /etc/localtime (its name is taken from the
 * symlink target when it points into a zoneinfo directory, else "localtime");
 * UTC when the file is missing. Same returns as cw_tz_load. */
int cw_tz_load_system(cw_tz **ret, cw_error *err);

/* Parses a zone from a POSIX TZ string alone ("CET-1CEST,M3.5.0,M10.5.0/3");
 * used for tests and for the TZif footer. */
int cw_tz_from_posix(const char *name, const char *posix, cw_tz **ret, cw_error *err);

/* The built-in UTC zone; never fails (returns NULL only on ENOMEM). */
cw_tz *cw_tz_utc(void);

void cw_tz_free(cw_tz *tz);
static inline void cw_tz_freep(cw_tz **tz)
{
        cw_tz_free(*tz);
}

/* The name the zone was loaded under. */
const char *cw_tz_name(const cw_tz *tz);

/* The file the rules were read from ("/usr/share/zoneinfo/Europe/Warsaw",
 * "/etc/localtime", also when that was missing and UTC was used), or NULL
 * for a built-in or POSIX-string zone. */
const char *cw_tz_source(const cw_tz *tz);

/* The version of the tz database the rules come from ("2024a"), read from
 * the zoneinfo directory when the zone was loaded (cw_tz_db_version), or
 * NULL when unknown (built-in zones, a tree without a version file). */
const char *cw_tz_version(const cw_tz *tz);

/* Where tz's rules come from, for people: "tzdata 2024a", "tzdata
 * (version unknown)" or "built in"; written into buf, which is returned. */
const char *cw_tz_origin(const cw_tz *tz, char *buf, size_t size);

/* Reads the version of the tz database in dir (NULL = CW_TZ_DIR): the
 * first line of tzdata.zi ("# version 2024a"), else the first line of
 * +VERSION. Writes it NUL-terminated into buf. Returns 0, -ENOENT (no
 * version file), -EINVAL (a file that does not hold a version) or
 * -ENAMETOOLONG (longer than size - 1); buf untouched on failure. */
int cw_tz_db_version(const char *dir, char *buf, size_t size);

/* True when a and b give the same answers for every instant (same
 * transitions, time types and footer rule), whatever their names. */
bool cw_tz_same_rules(const cw_tz *a, const cw_tz *b);

/* Smallest and largest UT offset (seconds) the zone ever uses, over its
 * whole table and footer rule. Used to bound searches. */
void cw_tz_offset_range(const cw_tz *tz, int32_t *ret_min, int32_t *ret_max);

/* One stretch of time with constant local-time rules. */
typedef struct cw_tz_period {
        int64_t start; /* first instant of the period (INT64_MIN if unbounded) */
        int64_t end;   /* first instant after it (INT64_MAX if unbounded) */
        int32_t utoff; /* seconds east of UTC */
        bool isdst;
        char abbr[16]; /* "CEST", "+0530", ... NUL-terminated */
} cw_tz_period;

/* The period containing instant t. Never fails. Before the first
 * transition the zone's first time type applies (RFC 8536 §3.2). */
void cw_tz_lookup(const cw_tz *tz, cw_time t, cw_tz_period *ret);

/* Offset at instant t (cw_tz_lookup's utoff). */
int32_t cw_tz_utoff(const cw_tz *tz, cw_time t);

/* The instants whose local reading is `local` (local seconds), ascending.
 * Returns 1 normally, 2 in a fall-back overlap (the repeated hour), 0 in a
 * spring-forward gap (that reading never happens). When 0 is returned,
 * ret[0] is set to the first instant after the gap (the transition itself),
 * so callers can apply "fires at the first instant after the gap".
 * Exact for any table, including transitions only hours apart. */
int cw_tz_resolve(const cw_tz *tz, int64_t local, cw_time ret[2]);

#endif
