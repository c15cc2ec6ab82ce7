/* timespec.h - time specs (docs/timespec.md): when a schedule entry fires.
 *
 *   cron      "min hour dom mon dow" or "sec min hour dom mon dow":
 *             *, lists, ranges, steps (a-b/n, * /n, a/n), names (JAN, mon),
 *             dow 0-7 (7 = Sunday), L in dom, nL / FRIL and MON#2 in dow,
 *             H, H/n, H(a-b), H(a-b)/n (stable values from the seed), ? = *.
 *   macros    @yearly @annually @monthly @weekly @daily @midnight @hourly
 *             @reboot
 *   every     "every DURATION" (fires DURATION after the previous fire)
 *   at        "at HH:MM[, HH:MM...]" (daily at those local times)
 *
 * Representation: cron fields are bitsets, plus DOM_STAR/DOW_STAR flags for
 * the Vixie day rule; `at` is a sorted list of seconds-of-day. Next-fire
 * search jumps month -> day -> hour -> minute -> second through the bitsets,
 * never stepping minute by minute, and evaluates local time through a
 * cw_tz, never the process's TZ.
 *
 * DST (docs/timespec.md): a spec is fixed-time when neither its minute nor its hour field
 * starts with '*' (and every `at` spec); others are wildcard. In a
 * spring-forward gap a fixed-time fire happens once, at the first instant
 * after the gap; wildcard fires in the gap do not exist. In a fall-back
 * overlap a fixed-time fire happens once, at the first occurrence; wildcard
 * fires happen in both occurrences. */
#ifndef CW_TIMESPEC_TIMESPEC_H
#define CW_TIMESPEC_TIMESPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/error.h"
#include "tz/tz.h"

/* No fire is computed past the end of this year. */
#define CW_TIMESPEC_MAX_YEAR 9999
#define CW_TIMESPEC_TEXT_MAX 1024

typedef enum cw_timespec_kind {
        CW_TIMESPEC_CRON,
        CW_TIMESPEC_AT,
        CW_TIMESPEC_EVERY,
        CW_TIMESPEC_REBOOT,
} cw_timespec_kind;

typedef struct cw_timespec cw_timespec;

/* Parses text. seed is the canonical job spec text that `H` hashes (NULL
 * is the empty seed). Returns 0 and a new object in *ret, -EINVAL with err
 * filled (column and length of the offending field), or -ENOMEM. *ret is
 * untouched on failure. Does not check that the spec can ever fire: see
 * cw_timespec_check_fires. */
int cw_timespec_parse(const char *text, const char *seed, cw_timespec **ret, cw_error *err);

void cw_timespec_free(cw_timespec *ts);
static inline void cw_timespec_freep(cw_timespec **ts)
{
        cw_timespec_free(*ts);
}

cw_timespec_kind cw_timespec_get_kind(const cw_timespec *ts);
/* The text as given, with runs of white space folded to one space. */
const char *cw_timespec_text(const cw_timespec *ts);
/* True for fixed-time specs (see top of file). */
bool cw_timespec_is_fixed_time(const cw_timespec *ts);
/* True when the spec contains H (its fires depend on the seed). */
bool cw_timespec_uses_hash(const cw_timespec *ts);
/* Interval of an `every` spec, 0 for other kinds. */
cw_duration cw_timespec_interval(const cw_timespec *ts);

/* True when a and b are the same spec: the same text and, when it has H,
 * the same values picked from the seed. Equal specs fire at the same
 * instants in any zone, so a holder of many specs may keep one copy. */
bool cw_timespec_equal(const cw_timespec *a, const cw_timespec *b);
/* A hash consistent with cw_timespec_equal (equal specs, equal hashes). */
uint64_t cw_timespec_hash(const cw_timespec *ts);

/* Buffer size that always holds cw_timespec_format's output. */
#define CW_TIMESPEC_CANONICAL_MAX 2048
/* Writes the canonical text of ts into buf: one text per schedule however
 * it was written (`0 0 * * 7`, `0 0 * * SUN` and `@weekly` all print
 * "0 0 * * 0"; H prints the values it picked), which parses back to a spec
 * that fires at the same instants in every zone and prints the same again
 * (timespec_format.c defines the form). Returns 0, or -ENOBUFS (buf then
 * holds "") when size is too small. */
int cw_timespec_format(const cw_timespec *ts, char *buf, size_t size);
/* True when a and b are one schedule: their canonical texts are equal.
 * This is the comparison for "did the schedule change"; cw_timespec_equal
 * is stricter (same text) so that a shared copy shows what was written. */
bool cw_timespec_same(const cw_timespec *a, const cw_timespec *b);

/* The first fire strictly after `after`, evaluated in tz. For `every`,
 * `after` is the previous fire and the result is after + interval. Returns
 * 0 with *ret set; -ENOENT when there is no such fire before the end of
 * CW_TIMESPEC_MAX_YEAR (or the spec is @reboot, which has no instants). */
int cw_timespec_next(const cw_timespec *ts, const cw_tz *tz, cw_time after, cw_time *ret);

/* Returns 0 if the spec fires at least once in the 400 years (a full
 * Gregorian cycle) after `now`; -EINVAL with err filled otherwise
 * ("never fires: ..."). @reboot and every always pass. */
int cw_timespec_check_fires(const cw_timespec *ts, const cw_tz *tz, cw_time now, cw_error *err);

#endif
