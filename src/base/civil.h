/* civil.h - proleptic Gregorian calendar arithmetic, no time zones.
 *
 * Instants are int64 seconds since 1970-01-01T00:00:00Z (cw_time).
 * A "local" value is the same count read on a wall clock: seconds since
 * 1970-01-01T00:00:00 in some zone's local time (see tz.h for converting).
 * Days are counted from 1970-01-01 (day 0, a Thursday). The algorithms
 * (Howard Hinnant's days_from_civil) are exact for any year that fits. */
#ifndef CW_BASE_CIVIL_H
#define CW_BASE_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

typedef int64_t cw_time;     /* UTC instant, seconds since the epoch */
typedef int64_t cw_duration; /* seconds */

#define CW_TIME_INVALID INT64_MIN
#define CW_SECS_PER_DAY 86400

typedef struct cw_civil {
        int64_t year;
        int mon;  /* 1..12 */
        int day;  /* 1..31 */
        int hour; /* 0..23 */
        int min;  /* 0..59 */
        int sec;  /* 0..59 */
} cw_civil;

bool cw_is_leap(int64_t year);
int cw_days_in_month(int64_t year, int mon);
int64_t cw_days_from_civil(int64_t year, int mon, int day);
void cw_civil_from_days(int64_t days, int64_t *ret_year, int *ret_mon, int *ret_day);
/* 0 = Sunday .. 6 = Saturday */
int cw_weekday_from_days(int64_t days);

/* Seconds-since-epoch of a broken-down value read as UTC (or as "local
 * seconds" when the value is a wall-clock reading). Fields must be in range. */
int64_t cw_civil_to_secs(const cw_civil *c);
void cw_secs_to_civil(int64_t secs, cw_civil *ret);

/* Floor division helpers that are correct for negative numerators. */
static inline int64_t cw_floordiv(int64_t a, int64_t b)
{
        int64_t q = a / b;
        return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t cw_floormod(int64_t a, int64_t b)
{
        return a - cw_floordiv(a, b) * b;
}

#endif
