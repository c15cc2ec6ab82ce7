/* timespec_format.c - the canonical text of a time spec (see timespec.h).
 *
 * The normal form is printed from what the parser computed, never from
 * the text, so every way of writing one schedule prints the same:
 *
 *   - Macros become their cron fields (@daily -> "0 0 * * *"), `H` the
 *     values it picked, names numbers (SUN -> 0, JAN -> 1), 7 Sunday 0.
 *   - Five fields unless seconds other than 0 are selected.
 *   - A field's values print as "*" when it selects all, "* /n" when they
 *     are every n-th from the field's first value (without the space;
 *     three values or more, or two when n divides the range),
 *     "a-b/n" for any other progression of 3 or more, else a list of runs
 *     ("a", "a,b", "a-b" for 3 or more in a row); then L, nL and n#k.
 *   - What the text's leading '*' means is kept, and only that: a spec
 *     is fixed-time or wildcard (minute and hour, DST rules), and its
 *     days follow the OR or the AND rule (day-of-month and day-of-week).
 *     A fixed-time spec prints no minute or hour starting with '*' (all
 *     minutes are "0-59"); a wildcard one prints at least one, forcing
 *     "* /n,rest" on the minute (else the hour) when neither selects a
 *     progression from 0. The days likewise, by the day rule.
 *   - `at` lists its times sorted, "at HH:MM, HH:MM"; `every` its
 *     duration in canonical units ("every 1h30m"); @reboot stays.
 *
 * `at 11:30` and `30 11 * * *` fire alike but stay two kinds: the
 * normal form does not convert between kinds. */
#include "timespec_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"

/* A bounded writer: overflow is remembered, reported once at the end. */
typedef struct out {
        char *buf;
        size_t size, len;
        bool overflow;
} out;

_printf_(2, 3) static void put(out *o, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (o->overflow)
                return;
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= o->size - o->len) {
                o->overflow = true;
                return;
        }
        o->len += (size_t)n;
}

static bool has(uint64_t bits, int v)
{
        return (bits >> v) & 1;
}

static uint64_t progression(int lo, int hi, int step)
{
        uint64_t m = 0;

        for (int v = lo; v <= hi; v += step)
                m |= (uint64_t)1 << v;
        return m;
}

/* The step n when bits are exactly every n-th value from lo to hi: three
 * values or more, or two when n divides the range (`* /30` minutes, not
 * `* /7` months for January and August); 0 if none. */
static int star_step(uint64_t bits, int lo, int hi)
{
        int span = hi - lo + 1, n;

        if (!has(bits, lo))
                return 0;
        /* The only candidate step is the distance to the second value. */
        for (n = 1; lo + n <= hi && !has(bits, lo + n); n++)
                ;
        if (lo + n > hi || bits != progression(lo, hi, n))
                return 0;
        return lo + 2 * n <= hi || span % n == 0 ? n : 0;
}

/* Values as "a-b/n" when they are a progression of 3 or more, else runs. */
static void put_plain(out *o, uint64_t bits, int lo, int hi, bool *first)
{
        int vals[64], n = 0;

        for (int v = lo; v <= hi; v++)
                if (has(bits, v))
                        vals[n++] = v;
        if (n >= 3) {
                int step = vals[1] - vals[0];
                bool ap = true;

                for (int k = 2; k < n && ap; k++)
                        ap = vals[k] - vals[k - 1] == step;
                if (ap) {
                        put(o, "%s%d-%d", *first ? "" : ",", vals[0], vals[n - 1]);
                        if (step > 1)
                                put(o, "/%d", step);
                        *first = false;
                        return;
                }
        }
        for (int k = 0; k < n;) {
                int e = k;

                while (e + 1 < n && vals[e + 1] == vals[e] + 1)
                        e++;
                if (e - k >= 2) {
                        put(o, "%s%d-%d", *first ? "" : ",", vals[k], vals[e]);
                } else {
                        for (int x = k; x <= e; x++)
                                put(o, "%s%d", *first && x == k ? "" : ",", vals[x]);
                }
                *first = false;
                k = e + 1;
        }
}

/* How a field's leading element is printed. */
typedef enum lead { LEAD_NATURAL, LEAD_PLAIN, LEAD_STAR } lead;

/* True when the field prints starting with '*' under LEAD_NATURAL. */
static bool natural_star(uint64_t bits, int lo, int hi)
{
        return star_step(bits, lo, hi) > 0;
}

/* The values of one field. LEAD_STAR needs lo among bits: it prints the
 * longest "* /n" whose values are all selected, then the rest. */
static void put_values(out *o, uint64_t bits, int lo, int hi, lead how, bool *first)
{
        int n = star_step(bits, lo, hi);

        if (how != LEAD_PLAIN && n > 0) {
                put(o, n == 1 ? "*" : "*/%d", n);
                *first = false;
                return;
        }
        if (how == LEAD_STAR && has(bits, lo)) {
                for (n = 1; n < hi - lo + 1; n++)
                        if ((bits & progression(lo, hi, n)) == progression(lo, hi, n))
                                break;
                put(o, "*/%d", n);
                *first = false;
                bits &= ~progression(lo, hi, n);
        }
        put_plain(o, bits, lo, hi, first);
}

static void put_field(out *o, uint64_t bits, int lo, int hi, lead how)
{
        bool first = true;

        put_values(o, bits, lo, hi, how, &first);
}

static void put_dom(out *o, const cw_timespec *ts, lead how)
{
        bool first = true;

        put_values(o, ts->dom, 1, 31, how, &first);
        if (ts->dom_last)
                put(o, "%sL", first ? "" : ",");
}

static void put_dow(out *o, const cw_timespec *ts, lead how)
{
        bool first = true;

        put_values(o, ts->dow, 0, 6, how, &first);
        for (int w = 0; w < 7; w++) {
                if (ts->dow_last & (1u << w)) {
                        put(o, "%s%dL", first ? "" : ",", w);
                        first = false;
                }
        }
        for (int w = 0; w < 7; w++) {
                for (int k = 1; k <= 5; k++) {
                        if (ts->dow_nth[w] & (1u << k)) {
                                put(o, "%s%d#%d", first ? "" : ",", w, k);
                                first = false;
                        }
                }
        }
}

/* Which of two fields carries the '*' a rule needs: a field whose natural
 * form already starts with one, else the first that can be forced. */
static void pick_leads(bool need_star, uint64_t a, int a_lo, int a_hi, uint64_t b, int b_lo,
                       int b_hi, lead *ret_a, lead *ret_b)
{
        *ret_a = *ret_b = need_star ? LEAD_NATURAL : LEAD_PLAIN;
        if (!need_star || natural_star(a, a_lo, a_hi) || natural_star(b, b_lo, b_hi))
                return;
        if (has(a, a_lo))
                *ret_a = LEAD_STAR;
        else
                *ret_b = LEAD_STAR;
}

static void put_cron(out *o, const cw_timespec *ts)
{
        lead min_l, hour_l, dom_l, dow_l;

        pick_leads(!ts->fixed_time, ts->min, 0, 59, ts->hour, 0, 23, &min_l, &hour_l);
        /* The day rule: OR when neither day field starts with '*'. */
        pick_leads(ts->dom_star || ts->dow_star, ts->dom, 1, 31, ts->dow, 0, 6, &dom_l, &dow_l);
        if (ts->sec != 1) {
                put_field(o, ts->sec, 0, 59, LEAD_NATURAL);
                put(o, " ");
        }
        put_field(o, ts->min, 0, 59, min_l);
        put(o, " ");
        put_field(o, ts->hour, 0, 23, hour_l);
        put(o, " ");
        put_dom(o, ts, dom_l);
        put(o, " ");
        put_field(o, ts->mon, 1, 12, LEAD_NATURAL);
        put(o, " ");
        put_dow(o, ts, dow_l);
}

int cw_timespec_format(const cw_timespec *ts, char *buf, size_t size)
{
        out o = {.buf = buf, .size = size};
        char d[64];

        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        switch ((cw_timespec_kind)ts->kind) {
        case CW_TIMESPEC_REBOOT:
                put(&o, "@reboot");
                break;
        case CW_TIMESPEC_EVERY:
                cw_duration_format(ts->interval, d, sizeof(d));
                put(&o, "every %s", d);
                break;
        case CW_TIMESPEC_AT:
                put(&o, "at ");
                for (size_t i = 0; i < ts->n_at; i++)
                        put(&o, "%s%02d:%02d", i ? ", " : "", ts->at[i] / 3600,
                            ts->at[i] / 60 % 60);
                break;
        case CW_TIMESPEC_CRON:
                put_cron(&o, ts);
                break;
        }
        if (o.overflow) {
                buf[0] = '\0';
                return -ENOBUFS;
        }
        return 0;
}

bool cw_timespec_same(const cw_timespec *a, const cw_timespec *b)
{
        char fa[CW_TIMESPEC_CANONICAL_MAX], fb[CW_TIMESPEC_CANONICAL_MAX];

        if (a == b)
                return true;
        if (cw_timespec_format(a, fa, sizeof(fa)) < 0 || cw_timespec_format(b, fb, sizeof(fb)) < 0)
                return cw_timespec_equal(a, b);
        return strcmp(fa, fb) == 0;
}
