/* timespec_next.c - the next fire instant of a time spec (see timespec.h).
 *
 * The search runs in local time, in two layers:
 *
 *  1. next_local(): the smallest matching wall-clock reading >= L. It jumps
 *     through the bitsets: month (skip to the next allowed month), day (a
 *     31-bit mask of the month's matching days, built from day-of-month,
 *     day-of-week, L, nL and n#k under the Vixie rule), then hour, minute
 *     and second (next set bit). It never steps minute by minute, so a
 *     yearly spec costs about as much as a per-minute one.
 *
 *  2. next_in_zone(): maps readings to instants with cw_tz_resolve and the
 *     DST rules of docs/timespec.md. Readings are visited in increasing local order, but
 *     around a fall-back transition a later reading can map to an earlier
 *     instant, so the search keeps the best instant found and stops only
 *     when no later reading can beat it: when the best lies in the same
 *     UTC-offset period as `after` (no transition in between: the common
 *     case, one reading), or when the reading minus the largest offset in
 *     force between `after` and the best is already past the best.
 *
 * Range: local years 0000 to CW_TIMESPEC_MAX_YEAR. */
#include "timespec_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/* Instants outside this range are never produced or accepted as `after`. */
#define MIN_INSTANT ((cw_time)-62167219200LL) /* 0000-01-01T00:00:00Z */
#define MAX_INSTANT ((cw_time)253402300799LL) /* 9999-12-31T23:59:59Z */

/* Lowest set bit of `set` at or above `from`, or -1. */
static int next_bit(uint64_t set, int from)
{
        uint64_t m;

        if (from >= 64)
                return -1;
        m = set & (~0ULL << from);
        return m ? __builtin_ctzll(m) : -1;
}

/* Days (bits 1..31) of year y, month m that match the day fields. */
static uint32_t day_mask(const cw_timespec *ts, int64_t y, int m)
{
        int nd = cw_days_in_month(y, m);
        uint32_t full = (uint32_t)(((1ULL << (nd + 1)) - 1) & ~1ULL);
        int first = cw_weekday_from_days(cw_days_from_civil(y, m, 1));
        uint32_t dom = ts->dom & full;
        uint32_t dow = ts->dow_pattern[first] & full;

        if (ts->dom_last)
                dom |= 1u << nd;
        if (ts->dow_last || ts->has_nth) {
                for (int w = 0; w < 7; w++) {
                        int fd = 1 + (w - first + 7) % 7; /* first day that is weekday w */
                        if (ts->dow_last & (1u << w))
                                dow |= 1u << (fd + 7 * ((nd - fd) / 7));
                        for (int k = 1; k <= 5; k++)
                                if ((ts->dow_nth[w] & (1u << k)) && fd + 7 * (k - 1) <= nd)
                                        dow |= 1u << (fd + 7 * (k - 1));
                }
        }
        /* Vixie cron: when either field starts with '*', both must match;
         * when both are restricted, either may. */
        return (ts->dom_star || ts->dow_star) ? (dom & dow) : (dom | dow);
}

/* First matching second of the day >= tod, or -1. */
static int tod_next(const cw_timespec *ts, int tod)
{
        int h, m, s;

        if (ts->kind == CW_TIMESPEC_AT) {
                size_t lo = 0, hi = ts->n_at;
                while (lo < hi) {
                        size_t mid = (lo + hi) / 2;
                        if (ts->at[mid] < tod)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                return lo < ts->n_at ? ts->at[lo] : -1;
        }
        h = tod / 3600;
        m = tod / 60 % 60;
        s = tod % 60;
        for (;;) {
                int nh = next_bit(ts->hour, h), nm, ns;
                if (nh < 0)
                        return -1;
                if (nh != h) {
                        h = nh;
                        m = s = 0;
                }
                nm = next_bit(ts->min, m);
                if (nm < 0) {
                        h++;
                        m = s = 0;
                        continue;
                }
                if (nm != m) {
                        m = nm;
                        s = 0;
                }
                ns = next_bit(ts->sec, s);
                if (ns < 0) {
                        m++;
                        s = 0;
                        if (m == 60) {
                                h++;
                                m = 0;
                        }
                        continue;
                }
                return h * 3600 + m * 60 + ns;
        }
}

/* Smallest matching local reading >= L with year <= max_year. */
static int next_local(const cw_timespec *ts, int64_t L, int64_t max_year, int64_t *ret)
{
        cw_civil c;
        int64_t y;
        int m, d, tod;

        cw_secs_to_civil(L, &c);
        y = c.year;
        m = c.mon;
        d = c.day;
        tod = c.hour * 3600 + c.min * 60 + c.sec;
        for (;;) {
                uint32_t dm;
                int nd, t;

                if (y > max_year)
                        return -ENOENT;
                if (!(ts->mon & (1u << m))) {
                        int nm = next_bit(ts->mon, m + 1);
                        if (nm < 0) {
                                y++;
                                nm = next_bit(ts->mon, 1);
                        }
                        m = nm;
                        d = 1;
                        tod = 0;
                        continue;
                }
                dm = day_mask(ts, y, m);
                nd = next_bit(dm, d);
                if (nd < 0) {
                        if (++m > 12) {
                                m = 1;
                                y++;
                        }
                        d = 1;
                        tod = 0;
                        continue;
                }
                if (nd != d) {
                        d = nd;
                        tod = 0;
                }
                t = tod_next(ts, tod);
                if (t < 0) {
                        d++;
                        tod = 0;
                        continue;
                }
                *ret = cw_days_from_civil(y, m, d) * CW_SECS_PER_DAY + t;
                return 0;
        }
}

/* Largest UTC offset in force at any instant in (after, until). */
static int32_t max_offset_between(const cw_tz *tz, const cw_tz_period *p, cw_time until)
{
        cw_tz_period q = *p;
        int32_t mx = p->utoff;

        /* Periods are months long; the bound of 8 only guards odd tables. */
        for (int k = 0; k < 8 && q.end != INT64_MAX && q.end < until; k++) {
                cw_tz_lookup(tz, q.end, &q);
                if (q.utoff > mx)
                        mx = q.utoff;
        }
        if (q.end != INT64_MAX && q.end < until) {
                int32_t lo, hi;
                cw_tz_offset_range(tz, &lo, &hi);
                mx = hi;
        }
        return mx;
}

/* The smallest local reading that can map to an instant after `after`. */
static int64_t search_start(const cw_tz *tz, const cw_tz_period *p, cw_time after)
{
        int64_t L = after + p->utoff + 1;
        cw_tz_period q;
        int32_t lo, hi;

        cw_tz_offset_range(tz, &lo, &hi);
        /* No later period can start readings earlier than L: done. */
        if (p->end == INT64_MAX || p->end + lo >= L)
                return L;
        cw_tz_lookup(tz, p->end, &q);
        if (p->end + q.utoff < L)
                L = p->end + q.utoff;
        if (q.end != INT64_MAX) {
                if (q.end + lo < L)
                        L = q.end + lo;
        }
        return L;
}

/* True when reading `local` has exactly one instant, t = local - p->utoff,
 * and t lies in period p: t is far enough inside p that an instant with any
 * other offset (at most `spread` seconds away) would also lie in p, where
 * the offset is p->utoff. Saves the resolve step on almost every call. */
static bool unique_in_period(const cw_tz_period *p, int32_t spread, int64_t local, cw_time *ret)
{
        cw_time t = local - p->utoff;

        if (p->start != INT64_MIN && t - spread < p->start)
                return false;
        if (p->end != INT64_MAX && t + spread >= p->end)
                return false;
        *ret = t;
        return true;
}

static int next_in_zone(const cw_timespec *ts, const cw_tz *tz, cw_time after, int64_t max_year,
                        cw_time *ret)
{
        cw_tz_period p;
        cw_time best = INT64_MAX;
        int32_t window_max = 0, lo, hi;
        int64_t L;

        cw_tz_lookup(tz, after, &p);
        cw_tz_offset_range(tz, &lo, &hi);
        L = search_start(tz, &p, after);
        for (;;) {
                int64_t local;
                cw_time inst[2], c = INT64_MAX;
                int n;

                if (next_local(ts, L, max_year, &local) < 0)
                        break;
                if (best != INT64_MAX && local - window_max >= best)
                        break;
                /* The common case: same period as `after`, so nothing
                 * later can come earlier (see the top of the file). */
                if (best == INT64_MAX && unique_in_period(&p, hi - lo, local, &c) && c > after) {
                        best = c;
                        break;
                }
                c = INT64_MAX;
                n = cw_tz_resolve(tz, local, inst);
                if (n == 1) {
                        if (inst[0] > after)
                                c = inst[0];
                } else if (n == 2) {
                        /* Repeated reading: fixed-time fires only at the first. */
                        if (inst[0] > after)
                                c = inst[0];
                        else if (!ts->fixed_time && inst[1] > after)
                                c = inst[1];
                } else if (ts->fixed_time) {
                        /* Skipped reading: fixed-time fires once, right after the gap. */
                        if (inst[0] > after)
                                c = inst[0];
                } else {
                        /* Wildcard readings in a gap do not exist: resume the
                         * search at the first reading after the gap rather
                         * than trying each second of it (a spec whose every
                         * match falls in gaps would otherwise crawl to 9999). */
                        L = inst[0] + cw_tz_utoff(tz, inst[0]);
                        continue;
                }
                if (c < best) {
                        best = c;
                        if (best < p.end)
                                break;
                        window_max = max_offset_between(tz, &p, best);
                }
                L = local + 1;
        }
        if (best == INT64_MAX || best > MAX_INSTANT)
                return -ENOENT;
        *ret = best;
        return 0;
}

int cw_timespec_next(const cw_timespec *ts, const cw_tz *tz, cw_time after, cw_time *ret)
{
        if (after < MIN_INSTANT)
                after = MIN_INSTANT;
        if (after >= MAX_INSTANT)
                return -ENOENT;
        switch (ts->kind) {
        case CW_TIMESPEC_REBOOT:
                return -ENOENT;
        case CW_TIMESPEC_EVERY:
                if (after > MAX_INSTANT - ts->interval)
                        return -ENOENT;
                *ret = after + ts->interval;
                return 0;
        case CW_TIMESPEC_CRON:
        case CW_TIMESPEC_AT:
                break;
        }
        return next_in_zone(ts, tz, after, CW_TIMESPEC_MAX_YEAR, ret);
}

int cw_timespec_check_fires(const cw_timespec *ts, const cw_tz *tz, cw_time now, cw_error *err)
{
        cw_civil c;
        cw_time t;
        cw_tz *utc;
        bool in_utc;

        if (ts->kind == CW_TIMESPEC_REBOOT || ts->kind == CW_TIMESPEC_EVERY)
                return 0;
        if (now < MIN_INSTANT)
                now = MIN_INSTANT;
        if (now >= MAX_INSTANT)
                now = MAX_INSTANT - 1;
        cw_secs_to_civil(now, &c);
        /* The Gregorian calendar repeats every 400 years, weekdays included. */
        if (next_in_zone(ts, tz, now, c.year + 401, &t) == 0)
                return 0;
        /* Near the end of the calendar cronwarden computes, a spec that
         * fires in an earlier 400-year cycle only has no fire left. */
        if (c.year + 401 > CW_TIMESPEC_MAX_YEAR &&
            next_in_zone(ts, tz, (cw_time)946684800 /* 2000-01-01 */, 2401, &t) == 0)
                return cw_error_set(
                        err, -1, 0,
                        "never fires: its next fire would be after the year %d, the last "
                        "year cronwarden computes",
                        CW_TIMESPEC_MAX_YEAR);
        utc = cw_tz_utc();
        if (!utc)
                return -ENOMEM;
        in_utc = next_in_zone(ts, utc, now, c.year + 401, &t) == 0;
        cw_tz_free(utc);
        if (in_utc)
                return cw_error_set(
                        err, -1, 0,
                        "never fires in %s: every matching time falls in a daylight-saving gap",
                        cw_tz_name(tz));
        return cw_error_set(
                err, -1, 0,
                "never fires: no date matches its day-of-month, month and day-of-week together");
}
