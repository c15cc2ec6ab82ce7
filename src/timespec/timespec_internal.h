/* timespec_internal.h - the representation shared by the parser
 * (timespec.c) and the next-fire search (timespec_next.c). Not installed,
 * not for other modules. */
#ifndef CW_TIMESPEC_INTERNAL_H
#define CW_TIMESPEC_INTERNAL_H

#include "timespec.h"

/* One allocation per spec: this struct, then the `at` times, then the
 * text (both pointers point into the same block; see cw_timespec_parse).
 * Fields are ordered largest first so there is no padding; 96 bytes plus
 * the text on x86-64. A config with 100 000 jobs holds one per distinct
 * spec (see cw_timespec_equal). */
struct cw_timespec {
        /* CW_TIMESPEC_CRON: one bit per allowed value. */
        uint64_t sec; /* bits 0..59 */
        uint64_t min; /* bits 0..59 */
        /* CW_TIMESPEC_EVERY */
        cw_duration interval;
        /* CW_TIMESPEC_AT: sorted, unique seconds of the day (every day). */
        int32_t *at;
        char *text;    /* white space folded */
        uint32_t hour; /* bits 0..23 */
        uint32_t dom;  /* bits 1..31 */
        /* Days 1..31 whose weekday is in `dow`, for each weekday of the 1st. */
        uint32_t dow_pattern[7];
        uint16_t mon;       /* bits 1..12 */
        uint16_t n_at;      /* at most 1440 */
        uint8_t kind;       /* cw_timespec_kind */
        uint8_t dow;        /* bits 0..6, Sunday = 0 */
        uint8_t dow_last;   /* nL: last weekday n of the month, bits 0..6 */
        uint8_t dow_nth[7]; /* n#k: bit k (1..5) set for weekday n */
        bool fixed_time;
        bool uses_hash;
        bool dom_last; /* L: last day of the month */
        bool has_nth;
        bool dom_star; /* day-of-month field starts with '*' or '?' */
        bool dow_star; /* day-of-week field starts with '*' or '?' */
};

#endif
