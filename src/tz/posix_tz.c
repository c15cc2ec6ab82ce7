/* posix_tz.c - parsing POSIX TZ strings and evaluating their yearly rule.
 *
 * Parsing follows POSIX.1-2017 "TZ" plus RFC 8536 §3.3.1: quoted names
 * ("<+0330>"), switch times from -167 to +167 hours.
 *
 * Evaluation never steps through time: each year's two switches are
 * computed directly from the calendar (civil.h), and the stretch around
 * an instant is found by walking switches outwards from its year, in
 * order, until the state changes on each side. For real rules that is
 * two or three years each way. A rule's switches can stray up to nine
 * days outside their own year (a 167-hour switch time plus a 25-hour
 * offset, e.g. "J365/167"), and rules may switch twice at one instant
 * ("EST5EDT,0/0,J365/25" ends DST exactly when it starts again), so the
 * walk merges the years' switches in order before reading states off
 * them; see ev_stream. */
#include "posix_tz.h"

#include <errno.h>
#include <string.h>

#include "base/civil.h"

/* Instants beyond ±2^52 s (about 142 million years) keep the state the
 * rule has at the limit, so that no calendar arithmetic can overflow. */
#define RULE_LIMIT ((int64_t)1 << 52)

/* How far a switch can fall outside its own calendar year: day 365 of a
 * common year (one day), 167 hours, and a 25-hour UTC offset. */
#define STRAY_SECS ((int64_t)9 * CW_SECS_PER_DAY)

typedef struct parser {
        const char *text;
        size_t pos;
        cw_error *err;
} parser;

static int parse_fail(parser *p, const char *what)
{
        return cw_error_set(p->err, (int)p->pos, 1, "%s in TZ string '%s'", what, p->text);
}

static bool is_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* An abbreviation: three or more letters, or <...> holding three or more
 * of [A-Za-z0-9+-]. Copied without the angle brackets. */
static int parse_name(parser *p, char ret[CW_TZ_ABBR_MAX + 1])
{
        const char *s = p->text;
        size_t start = p->pos, len = 0;
        bool quoted = s[p->pos] == '<';

        if (quoted)
                start = ++p->pos;
        while (quoted ? is_alpha(s[p->pos]) || is_digit(s[p->pos]) || s[p->pos] == '+' ||
                                s[p->pos] == '-'
                      : is_alpha(s[p->pos])) {
                p->pos++;
                len++;
        }
        if (quoted && s[p->pos] != '>')
                return parse_fail(p, "expected '>' closing a quoted abbreviation");
        if (len < 3) {
                p->pos = start;
                return parse_fail(p, "expected an abbreviation of three or more characters");
        }
        if (len > CW_TZ_ABBR_MAX) {
                p->pos = start;
                return parse_fail(p, "abbreviation too long");
        }
        memcpy(ret, s + start, len);
        ret[len] = '\0';
        if (quoted)
                p->pos++;
        return 0;
}

/* One to `maxdigits` decimal digits, from lo to hi; `what` says what the
 * number is and its range, for the message when it is out of range. */
static int parse_ranged(parser *p, int maxdigits, int lo, int hi, const char *what, int *ret)
{
        size_t at = p->pos;
        int v = 0, n = 0;

        while (is_digit(p->text[p->pos]) && n < maxdigits) {
                v = v * 10 + (p->text[p->pos] - '0');
                p->pos++;
                n++;
        }
        if (n == 0)
                return parse_fail(p, "expected a number");
        if (v < lo || v > hi || is_digit(p->text[p->pos])) {
                p->pos = at;
                return parse_fail(p, what);
        }
        *ret = v;
        return 0;
}

/* [+-]hh[:mm[:ss]] with hh up to max_hours (`what` says so), as signed
 * seconds. */
static int parse_hms(parser *p, int max_hours, const char *what, int32_t *ret)
{
        int sign = 1, h = 0, m = 0, sec = 0, r;

        if (p->text[p->pos] == '+' || p->text[p->pos] == '-')
                sign = p->text[p->pos++] == '-' ? -1 : 1;
        r = parse_ranged(p, 3, 0, max_hours, what, &h);
        if (r < 0)
                return r;
        if (p->text[p->pos] == ':') {
                p->pos++;
                r = parse_ranged(p, 2, 0, 59, "minutes must be 00 to 59", &m);
                if (r < 0)
                        return r;
                if (p->text[p->pos] == ':') {
                        p->pos++;
                        r = parse_ranged(p, 2, 0, 59, "seconds must be 00 to 59", &sec);
                        if (r < 0)
                                return r;
                }
        }
        *ret = sign * (h * 3600 + m * 60 + sec);
        return 0;
}

/* A UTC offset as written in TZ (west positive), returned east positive. */
static int parse_offset(parser *p, int32_t *ret)
{
        int32_t west = 0;
        int r;

        if (!is_digit(p->text[p->pos]) && p->text[p->pos] != '+' && p->text[p->pos] != '-')
                return parse_fail(p, "expected a UTC offset");
        r = parse_hms(p, 24, "offset hours must be 0 to 24", &west);
        if (r < 0)
                return r;
        *ret = -west;
        return 0;
}

static int expect_char(parser *p, char c, const char *what)
{
        if (p->text[p->pos] != c)
                return parse_fail(p, what);
        p->pos++;
        return 0;
}

/* Mm.w.d, the 'M' already consumed. */
static int parse_month_date(parser *p, cw_tz_posix_date *d)
{
        int r;

        d->kind = CW_TZ_POSIX_MONTH;
        r = parse_ranged(p, 2, 1, 12, "month must be 1 to 12", &d->mon);
        if (r >= 0)
                r = expect_char(p, '.', "expected '.' after the month");
        if (r >= 0)
                r = parse_ranged(p, 1, 1, 5, "week must be 1 to 5", &d->week);
        if (r >= 0)
                r = expect_char(p, '.', "expected '.' after the week");
        if (r >= 0)
                r = parse_ranged(p, 1, 0, 6, "weekday must be 0 to 6", &d->wday);
        return r;
}

/* Jn | n | Mm.w.d, then an optional /time (default 02:00). */
static int parse_date(parser *p, cw_tz_posix_date *ret)
{
        cw_tz_posix_date d = {.secs = 2 * 3600};
        char c = p->text[p->pos];
        int r;

        if (c == 'J') {
                p->pos++;
                d.kind = CW_TZ_POSIX_JULIAN1;
                r = parse_ranged(p, 3, 1, 365, "julian day must be 1 to 365", &d.day);
        } else if (is_digit(c)) {
                d.kind = CW_TZ_POSIX_JULIAN0;
                r = parse_ranged(p, 3, 0, 365, "day must be 0 to 365", &d.day);
        } else if (c == 'M') {
                p->pos++;
                r = parse_month_date(p, &d);
        } else
                r = parse_fail(p, "expected a rule date (Jn, n or Mm.w.d)");
        if (r < 0)
                return r;
        if (p->text[p->pos] == '/') {
                p->pos++;
                r = parse_hms(p, 167, "switch time hours must be 0 to 167", &d.secs);
                if (r < 0)
                        return r;
        }
        *ret = d;
        return 0;
}

static void default_us_rule(cw_tz_posix *r)
{
        r->start = (cw_tz_posix_date){.kind = CW_TZ_POSIX_MONTH, .mon = 3, .week = 2, .secs = 7200};
        r->end = (cw_tz_posix_date){.kind = CW_TZ_POSIX_MONTH, .mon = 11, .week = 1, .secs = 7200};
}

/* The part after the standard offset: dst name, offset and rule. */
static int parse_dst(parser *p, cw_tz_posix *r)
{
        char c;
        int ret;

        ret = parse_name(p, r->dst_abbr);
        if (ret < 0)
                return ret;
        r->has_dst = true;
        r->dst_off = r->std_off + 3600;
        c = p->text[p->pos];
        if (is_digit(c) || c == '+' || c == '-') {
                ret = parse_offset(p, &r->dst_off);
                if (ret < 0)
                        return ret;
        }
        if (p->text[p->pos] == '\0') {
                default_us_rule(r);
                return 0;
        }
        if (p->text[p->pos] != ',')
                return parse_fail(p, "expected ',' before the rule");
        p->pos++;
        ret = parse_date(p, &r->start);
        if (ret < 0)
                return ret;
        if (p->text[p->pos] != ',')
                return parse_fail(p, "expected ',' between the rule dates");
        p->pos++;
        return parse_date(p, &r->end);
}

static bool rule_switches(const cw_tz_posix *r, bool *ret_dst);

int cw_tz_posix_parse(const char *s, cw_tz_posix *ret, cw_error *err)
{
        parser p = {.text = s, .pos = 0, .err = err};
        cw_tz_posix r = {0};
        int k;

        k = parse_name(&p, r.std_abbr);
        if (k < 0)
                return k;
        k = parse_offset(&p, &r.std_off);
        if (k < 0)
                return k;
        if (s[p.pos] != '\0') {
                k = parse_dst(&p, &r);
                if (k < 0)
                        return k;
        }
        if (s[p.pos] != '\0')
                return parse_fail(&p, "unexpected text");
        /* "DST all year" rules (zic writes "EST5EDT,0/0,J365/25") are
         * found once here, so lookups need not search 400 years for a
         * change that never comes. */
        r.never_switches = r.has_dst && !rule_switches(&r, &r.dst_all_year);
        *ret = r;
        return 0;
}

/* Days before each month in a common year. */
static const int days_before_month[13] = {0,   31,  59,  90,  120, 151, 181,
                                          212, 243, 273, 304, 334, 365};

/* The day (since 1970-01-01) of switch d in the year starting on jan1.
 * Works from the year's first day so that a window of years costs one
 * full calendar conversion, not one per switch. */
static int64_t switch_day(const cw_tz_posix_date *d, int64_t jan1, bool leap)
{
        int64_t first;
        int wd, dim, day;

        switch (d->kind) {
        case CW_TZ_POSIX_JULIAN1:
                /* February 29 is never counted: day 60 is always March 1. */
                return jan1 + d->day - 1 + (d->day >= 60 && leap);
        case CW_TZ_POSIX_JULIAN0:
                return jan1 + d->day;
        default:
                first = jan1 + days_before_month[d->mon - 1] + (d->mon > 2 && leap);
                wd = (int)cw_floormod(first + 4, 7); /* 1970-01-01 was a Thursday */
                dim = days_before_month[d->mon] - days_before_month[d->mon - 1] +
                      (d->mon == 2 && leap);
                day = (d->wday - wd + 7) % 7 + 7 * (d->week - 1);
                /* Week 5 means the last such weekday, which may be the 4th. */
                if (day >= dim)
                        day -= 7;
                return first + day;
        }
}

/* One switch. rank orders switches at the same instant: the later year
 * wins, and within a year the end of DST wins over its start (the order
 * POSIX lists them in). The "all year DST" idiom relies on the first. */
typedef struct rule_event {
        int64_t at;
        int64_t rank;
        bool to_dst;
} rule_event;

/* The switches of a rule in time order (or reverse), generated a year at
 * a time. A year's switches lie within STRAY_SECS of the year, so once
 * year g is generated every buffered switch before (after) the first day
 * of year g+1 (g-1) minus (plus) STRAY_SECS is final: no year yet to come
 * can put one before it. At most three years are ever buffered. */
typedef struct ev_stream {
        const cw_tz_posix *r;
        int dir;      /* +1 ascending, -1 descending */
        int64_t year; /* next year to generate */
        int64_t jan1; /* its first day */
        rule_event buf[8];
        size_t n;
} ev_stream;

static void stream_init(ev_stream *s, const cw_tz_posix *r, int64_t year, int dir)
{
        *s = (ev_stream){.r = r, .dir = dir, .year = year, .jan1 = cw_days_from_civil(year, 1, 1)};
}

static void stream_generate(ev_stream *s)
{
        const cw_tz_posix *r = s->r;
        bool leap = cw_is_leap(s->year);

        s->buf[s->n++] = (rule_event){
                .at = switch_day(&r->start, s->jan1, leap) * CW_SECS_PER_DAY + r->start.secs -
                      r->std_off,
                .rank = s->year * 2,
                .to_dst = true,
        };
        s->buf[s->n++] = (rule_event){
                .at = switch_day(&r->end, s->jan1, leap) * CW_SECS_PER_DAY + r->end.secs -
                      r->dst_off,
                .rank = s->year * 2 + 1,
                .to_dst = false,
        };
        if (s->dir > 0)
                s->jan1 += 365 + leap;
        else
                s->jan1 -= 365 + cw_is_leap(s->year - 1);
        s->year += s->dir;
}

/* Nothing from the years not generated yet can reach past this. */
static int64_t stream_bound(const ev_stream *s)
{
        if (s->dir > 0)
                return s->jan1 * CW_SECS_PER_DAY - STRAY_SECS;
        /* Descending: s->jan1 starts s->year; the year after it starts
         * 365 or 366 days later. */
        return (s->jan1 + 365 + cw_is_leap(s->year)) * CW_SECS_PER_DAY + STRAY_SECS;
}

/* The next instant at which the rule switches, in the stream's direction,
 * generating years until nothing still to come can precede it. */
static int64_t stream_peek(ev_stream *s)
{
        for (;;) {
                int64_t best = s->n ? s->buf[0].at : 0;

                for (size_t i = 1; i < s->n; i++)
                        best = s->dir > 0 ? (s->buf[i].at < best ? s->buf[i].at : best)
                                          : (s->buf[i].at > best ? s->buf[i].at : best);
                if (s->n && (s->dir > 0 ? best < stream_bound(s) : best > stream_bound(s)))
                        return best;
                stream_generate(s);
        }
}

/* Takes every switch at the next instant; returns it, and in *ret_dst
 * the state after them all (the highest rank decides). */
static int64_t stream_next(ev_stream *s, bool *ret_dst)
{
        int64_t at = stream_peek(s), top = INT64_MIN;
        size_t m = 0;

        for (size_t i = 0; i < s->n; i++) {
                if (s->buf[i].at != at) {
                        s->buf[m++] = s->buf[i];
                } else if (s->buf[i].rank > top) {
                        top = s->buf[i].rank;
                        *ret_dst = s->buf[i].to_dst;
                }
        }
        s->n = m;
        return at;
}

/* The calendar, and so every rule, repeats after 400 years: a rule that
 * does not change state within that long never does. */
#define SCAN_YEARS 402

/* Whether the rule ever changes between standard and daylight time; when
 * it does not, *ret_dst is the state it keeps. */
static bool rule_switches(const cw_tz_posix *r, bool *ret_dst)
{
        ev_stream s;
        bool first = false, dst = false;

        stream_init(&s, r, 2000, 1);
        stream_next(&s, &first);
        while (s.year < 2000 + SCAN_YEARS) {
                stream_next(&s, &dst);
                if (dst != first)
                        return true;
        }
        *ret_dst = first;
        return false;
}

/* The common case, cheaply: the six switches of years year-1 .. year+1,
 * sorted, when the switches on both sides of `at` change the state and
 * the one before the start lies where no other year's switch can
 * interleave. Returns false when that does not hold (switches at equal
 * instants, or rules whose changes are years apart): then walk. */
static bool period_fast(const cw_tz_posix *r, int64_t at, int64_t year, bool *ret_dst,
                        int64_t *ret_start, int64_t *ret_end)
{
        ev_stream s;
        int64_t safe_lo, safe_hi;
        size_t k = 0;

        stream_init(&s, r, year - 1, 1);
        safe_lo = s.jan1 * CW_SECS_PER_DAY + STRAY_SECS;
        for (int i = 0; i < 3; i++)
                stream_generate(&s);
        safe_hi = stream_bound(&s);
        /* Three years of switches: insertion-sort six entries. */
        for (size_t i = 1; i < s.n; i++) {
                rule_event e = s.buf[i];
                size_t j = i;

                for (; j > 0 && s.buf[j - 1].at > e.at; j--)
                        s.buf[j] = s.buf[j - 1];
                s.buf[j] = e;
        }
        for (size_t i = 1; i < s.n; i++)
                if (s.buf[i].at == s.buf[i - 1].at)
                        return false;
        while (k < s.n && s.buf[k].at <= at)
                k++;
        /* s.buf[k - 1] is the switch in force at `at`, s.buf[k] the next. */
        if (k < 2 || k >= s.n || s.buf[k - 2].at <= safe_lo || s.buf[k].at >= safe_hi)
                return false;
        if (s.buf[k - 2].to_dst == s.buf[k - 1].to_dst || s.buf[k].to_dst == s.buf[k - 1].to_dst)
                return false;
        *ret_dst = s.buf[k - 1].to_dst;
        *ret_start = s.buf[k - 1].at;
        *ret_end = s.buf[k].at;
        return true;
}

/* The general case: walk switches outwards from `at`'s year until the
 * state changes on each side (or 400 years pass: then it never does). */
static void period_walk(const cw_tz_posix *r, int64_t at, int64_t year, bool *ret_dst,
                        int64_t *ret_start, int64_t *ret_end)
{
        int64_t g, start, end = INT64_MAX;
        ev_stream s;
        bool dst = false, d = false;

        /* Backwards from the year after: the first switch at or before
         * `at` gives the state, the run of switches keeping it the start. */
        stream_init(&s, r, year + 1, -1);
        do
                g = stream_next(&s, &dst);
        while (g > at);
        for (start = g;; start = g) {
                g = stream_next(&s, &d);
                if (d != dst)
                        break;
                if (s.year < year - SCAN_YEARS) {
                        start = INT64_MIN;
                        break;
                }
        }

        /* Forwards from the year before: the first switch after `at` that
         * changes the state is the end. */
        stream_init(&s, r, year - 1, 1);
        do
                g = stream_next(&s, &d);
        while (g <= at);
        while (s.year <= year + SCAN_YEARS) {
                if (d != dst) {
                        end = g;
                        break;
                }
                g = stream_next(&s, &d);
        }
        *ret_dst = dst;
        *ret_start = start;
        *ret_end = end;
}

void cw_tz_posix_period(const cw_tz_posix *r, int64_t t, bool *ret_dst, int64_t *ret_start,
                        int64_t *ret_end)
{
        int64_t year, at, start, end;
        int mon, day;

        if (!r->has_dst || r->never_switches) {
                *ret_dst = r->has_dst && r->dst_all_year;
                *ret_start = INT64_MIN;
                *ret_end = INT64_MAX;
                return;
        }
        at = t > RULE_LIMIT ? RULE_LIMIT : t < -RULE_LIMIT ? -RULE_LIMIT : t;
        cw_civil_from_days(cw_floordiv(at, CW_SECS_PER_DAY), &year, &mon, &day);
        if (!period_fast(r, at, year, ret_dst, &start, &end))
                period_walk(r, at, year, ret_dst, &start, &end);
        /* Keep periods consistent for every t beyond the limits. */
        *ret_start = start <= -RULE_LIMIT ? INT64_MIN : start;
        *ret_end = end > RULE_LIMIT ? INT64_MAX : end;
}
