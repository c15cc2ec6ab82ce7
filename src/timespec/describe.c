/* describe.c - time specs in English (see describe.h).
 *
 * A cron spec is described in two halves: the time of day (seconds,
 * minutes, hours) and the days (day of month, day of week, month). Each
 * half first tries the shapes people write most (a step from the start of
 * the range, one value, a few clock times, a contiguous range), then
 * falls back to naming the field's values, collapsing runs of three or
 * more consecutive values into "A through B". The day half follows the
 * Vixie rule the next-fire search uses (timespec_next.c): when both day
 * fields are restricted and neither starts with '*', a day matches either
 * ("or"); otherwise both must ("if it is"). */
#include "timespec/describe.h"

#include <stdint.h>
#include <stdio.h>

#include "base/macro.h"
#include "timespec_internal.h"

static const char *const dow_words[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char *const mon_words[13] = {"",        "January",  "February", "March",  "April",
                                          "May",     "June",     "July",     "August", "September",
                                          "October", "November", "December"};
static const char *const nth_words[6] = {"", "first", "second", "third", "fourth", "fifth"};

/* How list values are written. */
typedef enum val_style { V_NUM, V_ORD, V_DOW, V_MON } val_style;

static uint64_t mask(int lo, int hi)
{
        return (hi >= 63 ? ~0ULL : ((1ULL << (hi + 1)) - 1)) & ~((1ULL << lo) - 1);
}

static bool full(uint64_t bits, int lo, int hi)
{
        return (bits & mask(lo, hi)) == mask(lo, hi);
}

static int count(uint64_t bits)
{
        return __builtin_popcountll(bits);
}

static bool single(uint64_t bits, int *ret)
{
        if (count(bits) != 1)
                return false;
        *ret = __builtin_ctzll(bits);
        return true;
}

/* True when bits are start, start+step, ... up to the end of lo..hi, with
 * at least two values and start within the first step (cron's "a/n"). */
static bool stepped(uint64_t bits, int lo, int hi, int *ret_start, int *ret_step)
{
        uint64_t want = 0;
        int start, step;

        if (count(bits) < 2)
                return false;
        start = __builtin_ctzll(bits);
        step = __builtin_ctzll(bits & ~(1ULL << start)) - start;
        if (start - lo >= step)
                return false;
        for (int v = start; v <= hi; v += step)
                want |= 1ULL << v;
        if (want != bits)
                return false;
        *ret_start = start;
        *ret_step = step;
        return true;
}

/* "*" + "/n" where n divides the range: a true "every n". */
static bool even_step(uint64_t bits, int lo, int hi, int *ret_step)
{
        int start, step;

        if (!stepped(bits, lo, hi, &start, &step) || start != lo || (hi - lo + 1) % step != 0)
                return false;
        *ret_step = step;
        return true;
}

/* True when bits are one run lo..hi of at least two values. */
static bool contiguous(uint64_t bits, int *ret_lo, int *ret_hi)
{
        int a, b;

        if (count(bits) < 2)
                return false;
        a = __builtin_ctzll(bits);
        b = 63 - __builtin_clzll(bits);
        if (bits != mask(a, b))
                return false;
        *ret_lo = a;
        *ret_hi = b;
        return true;
}

static void put_ordinal(cw_buf *b, int v)
{
        const char *suf = "th";

        if (v % 100 < 11 || v % 100 > 13) {
                if (v % 10 == 1)
                        suf = "st";
                else if (v % 10 == 2)
                        suf = "nd";
                else if (v % 10 == 3)
                        suf = "rd";
        }
        cw_buf_printf(b, "%d%s", v, suf);
}

static void put_value(cw_buf *b, val_style st, int v)
{
        switch (st) {
        case V_NUM:
                cw_buf_printf(b, "%d", v);
                break;
        case V_ORD:
                put_ordinal(b, v);
                break;
        case V_DOW:
                cw_buf_puts(b, dow_words[v]);
                break;
        case V_MON:
                cw_buf_puts(b, mon_words[v]);
                break;
        }
}

static void put_sep(cw_buf *b, size_t i, size_t n)
{
        if (i > 0)
                cw_buf_puts(b, i + 1 == n ? " and " : ", ");
}

/* Writes the values of bits, in `order`, as an English list: runs of three
 * or more neighbours (in that order) become "A through B"; the `extra`
 * phrases are listed after them. */
static void put_list(cw_buf *b, uint64_t bits, const int *order, size_t n_order, val_style st,
                     const char *const *extra, size_t n_extra)
{
        size_t pieces = 0, done = 0;

        for (int pass = 0; pass < 2; pass++) {
                size_t i = 0;
                while (i < n_order) {
                        size_t j = i;
                        if (!(bits & (1ULL << order[i]))) {
                                i++;
                                continue;
                        }
                        while (j + 1 < n_order && (bits & (1ULL << order[j + 1])))
                                j++;
                        if (j - i + 1 >= 3) {
                                if (pass == 0) {
                                        pieces++;
                                } else {
                                        put_sep(b, done++, pieces);
                                        put_value(b, st, order[i]);
                                        cw_buf_puts(b, " through ");
                                        put_value(b, st, order[j]);
                                }
                        } else {
                                for (size_t k = i; k <= j; k++) {
                                        if (pass == 0) {
                                                pieces++;
                                        } else {
                                                put_sep(b, done++, pieces);
                                                put_value(b, st, order[k]);
                                        }
                                }
                        }
                        i = j + 1;
                }
                if (pass == 0)
                        pieces += n_extra;
        }
        for (size_t k = 0; k < n_extra; k++) {
                put_sep(b, done++, pieces);
                cw_buf_puts(b, extra[k]);
        }
}

/* A field lo..hi in natural order. */
static void put_range_list(cw_buf *b, uint64_t bits, int lo, int hi, val_style st)
{
        int order[64];
        size_t n = 0;

        for (int v = lo; v <= hi; v++)
                order[n++] = v;
        put_list(b, bits, order, n, st, NULL, 0);
}

/* "minute 5", "minutes 0 through 9". */
static void put_named_list(cw_buf *b, const char *one, const char *many, uint64_t bits, int lo,
                           int hi)
{
        cw_buf_puts(b, count(bits) == 1 ? one : many);
        cw_buf_putc(b, ' ');
        put_range_list(b, bits, lo, hi, V_NUM);
}

static void put_clock(cw_buf *b, int h, int m, int s)
{
        if (s)
                cw_buf_printf(b, "%02d:%02d:%02d", h, m, s);
        else
                cw_buf_printf(b, "%02d:%02d", h, m);
}

static void put_second_suffix(cw_buf *b, int s)
{
        if (s)
                cw_buf_printf(b, " at second %d", s);
}

/* The time of day of a cron spec. Returns true when it wrote a list of
 * clock times ("at 05:15"), after which "every day" reads well. */
static bool put_time(const cw_timespec *ts, cw_buf *b)
{
        uint64_t S = ts->sec, M = ts->min, H = ts->hour;
        bool mfull = full(M, 0, 59), hfull = full(H, 0, 23);
        int s, m, step, start, a, z;

        if (full(S, 0, 59) || even_step(S, 0, 59, &step)) {
                if (full(S, 0, 59))
                        cw_buf_puts(b, "every second");
                else
                        cw_buf_printf(b, "every %d seconds", step);
                if (!mfull) {
                        cw_buf_puts(b, " during ");
                        put_named_list(b, "minute", "minutes", M, 0, 59);
                }
                if (!hfull) {
                        cw_buf_puts(b, " during ");
                        put_named_list(b, "hour", "hours", H, 0, 23);
                }
                return false;
        }
        if (!single(S, &s)) {
                cw_buf_puts(b, "at ");
                put_named_list(b, "second", "seconds", S, 0, 59);
                if (mfull) {
                        cw_buf_puts(b, " of every minute");
                } else {
                        cw_buf_puts(b, " of ");
                        put_named_list(b, "minute", "minutes", M, 0, 59);
                }
                if (!hfull) {
                        cw_buf_puts(b, " during ");
                        put_named_list(b, "hour", "hours", H, 0, 23);
                }
                return false;
        }
        if (mfull && hfull) {
                cw_buf_puts(b, "every minute");
                put_second_suffix(b, s);
                return false;
        }
        if (hfull && even_step(M, 0, 59, &step)) {
                cw_buf_printf(b, "every %d minutes", step);
                put_second_suffix(b, s);
                return false;
        }
        if (hfull && single(M, &m)) {
                if (m == 0 && s == 0)
                        cw_buf_puts(b, "every hour");
                else if (s == 0)
                        cw_buf_printf(b, "at %d minutes past every hour", m);
                else
                        cw_buf_printf(b, "at %02d:%02d past every hour", m, s);
                return false;
        }
        if (!mfull && !hfull && count(M) * count(H) <= 6) {
                size_t n = (size_t)(count(M) * count(H)), i = 0;
                cw_buf_puts(b, "at ");
                for (int h = 0; h < 24; h++) {
                        if (!(H & (1ULL << h)))
                                continue;
                        for (int mm = 0; mm < 60; mm++) {
                                if (!(M & (1ULL << mm)))
                                        continue;
                                put_sep(b, i++, n);
                                put_clock(b, h, mm, s);
                        }
                }
                return true;
        }
        if (single(M, &m) && even_step(H, 0, 23, &step)) {
                cw_buf_printf(b, "every %d hours", step);
                if (m)
                        cw_buf_printf(b, " at %d minutes past the hour", m);
                put_second_suffix(b, s);
                return false;
        }
        if (single(M, &m) && contiguous(H, &a, &z)) {
                cw_buf_puts(b, "every hour from ");
                put_clock(b, a, m, s);
                cw_buf_puts(b, " through ");
                put_clock(b, z, m, s);
                return false;
        }
        if ((mfull || even_step(M, 0, 59, &step)) && contiguous(H, &a, &z)) {
                if (mfull) {
                        step = 1;
                        cw_buf_puts(b, "every minute from ");
                } else {
                        cw_buf_printf(b, "every %d minutes from ", step);
                }
                put_clock(b, a, 0, s);
                cw_buf_puts(b, " through ");
                put_clock(b, z, 60 - step, s);
                return false;
        }

        /* The general shape: the minutes, then the hours they apply to. */
        {
                bool at_form = false;
                if (mfull) {
                        cw_buf_puts(b, "every minute");
                } else if (even_step(M, 0, 59, &step)) {
                        cw_buf_printf(b, "every %d minutes", step);
                } else if (stepped(M, 0, 59, &start, &step) && 60 % step == 0) {
                        cw_buf_printf(b, "every %d minutes from minute %d", step, start);
                } else {
                        cw_buf_puts(b, "at ");
                        put_named_list(b, "minute", "minutes", M, 0, 59);
                        at_form = true;
                }
                if (hfull) {
                        cw_buf_puts(b, at_form ? " past every hour" : "");
                } else {
                        cw_buf_puts(b, at_form ? " past " : " during ");
                        put_named_list(b, "hour", "hours", H, 0, 23);
                }
                put_second_suffix(b, s);
        }
        return false;
}

static void put_dom(const cw_timespec *ts, cw_buf *b)
{
        const char *last[] = {"last day"};
        int start, step;
        uint32_t dom = ts->dom & (uint32_t)mask(1, 31);

        if (!ts->dom_last && stepped(dom, 1, 31, &start, &step) && start == 1) {
                cw_buf_puts(b, "every ");
                put_ordinal(b, step);
                cw_buf_puts(b, " day of the month");
                return;
        }
        cw_buf_puts(b, "the ");
        {
                int order[31];
                for (int v = 1; v <= 31; v++)
                        order[v - 1] = v;
                put_list(b, dom, order, 31, V_ORD, last, ts->dom_last ? 1 : 0);
        }
        cw_buf_puts(b, " of the month");
}

static void put_dow(const cw_timespec *ts, cw_buf *b)
{
        static const int monday_first[7] = {1, 2, 3, 4, 5, 6, 0};
        /* At most 7 "last" and 35 "nth" phrases. */
        char text[42][48];
        const char *extra[42];
        size_t n = 0;

        for (size_t i = 0; i < 7; i++) {
                int w = monday_first[i];
                for (int k = 1; k <= 5; k++) {
                        if (ts->dow_nth[w] & (1u << k)) {
                                snprintf(text[n], sizeof(text[n]), "the %s %s of the month",
                                         nth_words[k], dow_words[w]);
                                extra[n] = text[n];
                                n++;
                        }
                }
                if (ts->dow_last & (1u << w)) {
                        snprintf(text[n], sizeof(text[n]), "the last %s of the month",
                                 dow_words[w]);
                        extra[n] = text[n];
                        n++;
                }
        }
        put_list(b, ts->dow, monday_first, 7, V_DOW, extra, n);
}

/* The days and months of a cron spec, with a leading space when it
 * writes anything. */
static void put_days(const cw_timespec *ts, cw_buf *b, bool clock_times)
{
        bool dom_r = !full(ts->dom, 1, 31) || ts->dom_last;
        bool dow_r = !full(ts->dow, 0, 6) || ts->dow_last || ts->has_nth;
        bool or_rule = !ts->dom_star && !ts->dow_star;
        bool mon_r = !full(ts->mon, 1, 12);
        int d, mo;

        /* Either day field matching every day makes every day match. */
        if (or_rule && (!dom_r || !dow_r))
                dom_r = dow_r = false;
        if (dom_r && !dow_r && !ts->dom_last && single(ts->dom, &d) && single(ts->mon, &mo)) {
                cw_buf_printf(b, " on %s %d", mon_words[mo], d);
                return;
        }
        if (!dom_r && !dow_r) {
                if (clock_times)
                        cw_buf_puts(b, " every day");
        } else if (dom_r && !dow_r) {
                cw_buf_puts(b, " on ");
                put_dom(ts, b);
        } else if (!dom_r && dow_r) {
                cw_buf_puts(b, " on ");
                put_dow(ts, b);
        } else {
                cw_buf_puts(b, " on ");
                put_dom(ts, b);
                cw_buf_puts(b, or_rule ? " or on " : " if it is ");
                put_dow(ts, b);
        }
        if (mon_r) {
                cw_buf_puts(b, " in ");
                put_range_list(b, ts->mon, 1, 12, V_MON);
        }
}

static void put_every(cw_buf *b, cw_duration v)
{
        static const struct {
                cw_duration secs;
                const char *one, *many;
        } units[] = {
                {86400, "day", "days"},
                {3600, "hour", "hours"},
                {60, "minute", "minutes"},
                {1, "second", "seconds"},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(units); i++) {
                if (v % units[i].secs == 0) {
                        cw_duration n = v / units[i].secs;
                        if (n == 1)
                                cw_buf_printf(b, "every %s", units[i].one);
                        else
                                cw_buf_printf(b, "every %lld %s", (long long)n, units[i].many);
                        return;
                }
        }
}

int cw_timespec_describe(const cw_timespec *ts, cw_buf *out)
{
        switch (ts->kind) {
        case CW_TIMESPEC_REBOOT:
                cw_buf_puts(out, "once, when the daemon starts");
                break;
        case CW_TIMESPEC_EVERY:
                put_every(out, ts->interval);
                break;
        case CW_TIMESPEC_AT:
                cw_buf_puts(out, "at ");
                for (size_t i = 0; i < ts->n_at; i++) {
                        put_sep(out, i, ts->n_at);
                        put_clock(out, ts->at[i] / 3600, ts->at[i] / 60 % 60, ts->at[i] % 60);
                }
                cw_buf_puts(out, " every day");
                break;
        case CW_TIMESPEC_CRON:
                put_days(ts, out, put_time(ts, out));
                break;
        }
        return cw_buf_error(out);
}
