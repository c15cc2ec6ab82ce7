/* posix_tz.h - POSIX TZ rule strings, private to the tz module.
 *
 * A TZif file ends with a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3")
 * that gives local time for every instant after the file's last
 * transition. This header holds the parsed form of such a string and the
 * arithmetic that turns it into periods: for any instant, the stretch of
 * standard or daylight time around it, computed from the rule's dates in
 * the neighbouring years without stepping through time.
 *
 * The grammar is POSIX.1-2017 with the extensions of RFC 8536 §3.3.1
 * (TZif version 3): transition times may be negative and go up to ±167
 * hours. Offsets in the string count west of UTC ("EST5"); here they are
 * stored east of UTC, like TZif's utoff. */
#ifndef CW_TZ_POSIX_TZ_H
#define CW_TZ_POSIX_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* Abbreviations longer than this are rejected (fits cw_tz_period.abbr). */
#define CW_TZ_ABBR_MAX 15

typedef enum cw_tz_posix_date_kind {
        CW_TZ_POSIX_JULIAN1, /* Jn: 1..365, February 29 never counted */
        CW_TZ_POSIX_JULIAN0, /* n: 0..365, February 29 counted in leap years */
        CW_TZ_POSIX_MONTH,   /* Mm.w.d: weekday d of week w (5 = last) of month m */
} cw_tz_posix_date_kind;

/* When in a year a switch happens, read on the clock in force before it. */
typedef struct cw_tz_posix_date {
        cw_tz_posix_date_kind kind;
        int day;      /* JULIAN1 / JULIAN0 */
        int mon;      /* MONTH: 1..12 */
        int week;     /* MONTH: 1..5 */
        int wday;     /* MONTH: 0 = Sunday .. 6 */
        int32_t secs; /* local time of day, -167h .. +167h */
} cw_tz_posix_date;

typedef struct cw_tz_posix {
        int32_t std_off; /* seconds east of UTC */
        int32_t dst_off;
        bool has_dst;        /* false: standard time all year, rest unused */
        bool never_switches; /* dates that never change the state (set by parse) */
        bool dst_all_year;   /* with never_switches: the state kept */
        char std_abbr[CW_TZ_ABBR_MAX + 1];
        char dst_abbr[CW_TZ_ABBR_MAX + 1];
        cw_tz_posix_date start; /* standard -> daylight */
        cw_tz_posix_date end;   /* daylight -> standard */
} cw_tz_posix;

/* Parses `s`, which must be consumed entirely. A DST name without rule
 * dates gets the US rule "M3.2.0,M11.1.0" (what glibc and Go do). On error
 * returns -EINVAL with err->col at the offending byte; *ret untouched. */
int cw_tz_posix_parse(const char *s, cw_tz_posix *ret, cw_error *err);

/* Where the rule changes between standard and daylight time around t:
 * *ret_dst says which one holds at t, [*ret_start, *ret_end) is the
 * maximal stretch of it. INT64_MIN / INT64_MAX when the rule never
 * changes on that side (standard-only rules, "all year DST" rules, and
 * beyond ±2^52 s, where the state at the limit is kept forever). Costs a
 * few years' worth of switch dates, whatever t. */
void cw_tz_posix_period(const cw_tz_posix *r, int64_t t, bool *ret_dst, int64_t *ret_start,
                        int64_t *ret_end);

#endif
