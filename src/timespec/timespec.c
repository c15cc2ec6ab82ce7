/* timespec.c - parsing time specs into bitsets (see timespec.h).
 *
 * The parser walks the original text and reports errors with the column
 * and length of the offending element in that text, so the fronts can put
 * a caret under it. Each cron field is a list of elements; every element
 * sets bits in the field's set. `H` elements take a stable value from a
 * hash of the seed (the job spec) and the field's position, so two jobs
 * with the same spec spread out while each keeps its own time. */
#include "timespec_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/array.h"
#include "base/units.h"

typedef enum field_id { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F__MAX } field_id;

typedef struct field_desc {
        const char *name;
        int lo, hi;
        int hash_lo, hash_hi;     /* range H picks from when none is given */
        const char *const *names; /* value names, index = value - names_base */
        int names_base;
        int n_names;
} field_desc;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_desc fields[F__MAX] = {
        [F_SEC] = {"second", 0, 59, 0, 59, NULL, 0, 0},
        [F_MIN] = {"minute", 0, 59, 0, 59, NULL, 0, 0},
        [F_HOUR] = {"hour", 0, 23, 0, 23, NULL, 0, 0},
        /* H in day-of-month stays within 1-28 so it exists in every month. */
        [F_DOM] = {"day-of-month", 1, 31, 1, 28, NULL, 0, 0},
        [F_MON] = {"month", 1, 12, 1, 12, month_names, 1, 12},
        /* 7 is accepted as Sunday and folded to 0 after parsing. */
        [F_DOW] = {"day-of-week", 0, 7, 0, 6, dow_names, 0, 7},
};

/* Parser state for one cron field. */
typedef struct field_parse {
        const char *text; /* whole spec, for columns */
        field_id id;
        size_t start, end; /* the field's span in text */
        uint64_t seed_hash;
        uint64_t bits;
        bool last_dom;
        uint8_t dow_last;
        uint8_t dow_nth[7];
        bool used_hash;
        cw_error *err;
} field_parse;

_printf_(4, 5) static int fail(field_parse *fp, size_t from, size_t to, const char *fmt, ...)
{
        char m[200];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        return cw_error_set(fp->err, (int)from, (int)(to > from ? to - from : 1),
                            "bad %s field: %s", fields[fp->id].name, m);
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A number in a message is shown as written (the value read stops
 * growing once it is out of range), up to this many digits. */
#define DIGITS_SHOWN 40

static int digits_shown(size_t start, size_t end)
{
        return (int)(end - start > DIGITS_SHOWN ? DIGITS_SHOWN : end - start);
}

/* Reads a number or (for month/day-of-week) a three-letter name at *i.
 * Sets *ret_named when a name was read. */
static int read_value(field_parse *fp, size_t *i, int *ret, bool *ret_named)
{
        const field_desc *fd = &fields[fp->id];
        const char *s = fp->text;
        size_t start = *i;

        if (is_digit(s[*i])) {
                long v = 0;
                while (*i < fp->end && is_digit(s[*i])) {
                        if (v < 1000)
                                v = v * 10 + (s[*i] - '0');
                        (*i)++;
                }
                if (v < fd->lo || v > fd->hi) {
                        char d[128];
                        snprintf(d, sizeof(d), "%.*s%s is out of range %d-%d",
                                 digits_shown(start, *i), s + start,
                                 *i - start > DIGITS_SHOWN ? "..." : "", fd->lo, fd->hi);
                        return fail(fp, start, *i, "%s", d);
                }
                *ret = (int)v;
                *ret_named = false;
                return 0;
        }
        if (is_alpha(s[*i]) && fd->names) {
                size_t n = 0;
                while (*i + n < fp->end && is_alpha(s[*i + n]))
                        n++;
                /* "FRIL" is a name followed by L: look at three letters. */
                if (n >= 3) {
                        for (int k = 0; k < fd->n_names; k++) {
                                if (strncasecmp(s + *i, fd->names[k], 3) == 0 &&
                                    (n == 3 || (fp->id == F_DOW && n == 4 &&
                                                (s[*i + 3] == 'L' || s[*i + 3] == 'l')))) {
                                        *i += 3;
                                        *ret = k + fd->names_base;
                                        *ret_named = true;
                                        return 0;
                                }
                        }
                }
                {
                        char word[32];
                        snprintf(word, sizeof(word), "%.*s", (int)(n < 24 ? n : 24), s + start);
                        return fail(fp, start, start + n,
                                    fp->id == F_MON
                                            ? "unknown month name '%s' (use JAN-DEC or 1-12)"
                                            : "unknown day name '%s' (use SUN-SAT or 0-7)",
                                    word);
                }
        }
        return fail(fp, start, start + 1, "expected a number%s", fd->names ? " or a name" : "");
}

/* The hash value for H in this field, in 0..n-1. */
static int hash_pick(field_parse *fp, int n)
{
        fp->used_hash = true;
        return (int)(cw_hash_mix(fp->seed_hash ^ ((uint64_t)fp->id + 1) * 0x9e3779b97f4a7c15ULL) %
                     (uint64_t)n);
}

/* Number of distinct values in a field (day-of-week: 7, since 7 = 0). */
static int field_span(field_id id)
{
        return id == F_DOW ? 7 : fields[id].hi - fields[id].lo + 1;
}

static int read_step(field_parse *fp, size_t *i, int range, int *ret)
{
        const char *s = fp->text;
        size_t start = *i;
        long v = 0;

        if (!is_digit(s[*i]))
                return fail(fp, start, start + 1, "expected a step number after '/'%s", "");
        while (*i < fp->end && is_digit(s[*i])) {
                if (v < 100000)
                        v = v * 10 + (s[*i] - '0');
                (*i)++;
        }
        if (v < 1)
                return fail(fp, start, *i, "step must be at least 1%s", "");
        if (v > range) {
                char d[128];
                snprintf(d, sizeof(d), "step %.*s%s is larger than the field's range of %d values",
                         digits_shown(start, *i), s + start, *i - start > DIGITS_SHOWN ? "..." : "",
                         range);
                return fail(fp, start, *i, "%s", d);
        }
        *ret = (int)v;
        return 0;
}

static void set_range(field_parse *fp, int a, int b, int step)
{
        for (int v = a; v <= b; v += step)
                fp->bits |= (uint64_t)1 << v;
}

/* H, H/n, H(a-b), H(a-b)/n at *i (which points at 'H'). */
static int parse_hash_element(field_parse *fp, size_t *i)
{
        const field_desc *fd = &fields[fp->id];
        const char *s = fp->text;
        size_t start = *i;
        int a = fd->hash_lo, b = fd->hash_hi, step = 0, r;
        bool named;

        (*i)++;
        if (s[*i] == '(') {
                (*i)++;
                r = read_value(fp, i, &a, &named);
                if (r < 0)
                        return r;
                if (s[*i] != '-')
                        return fail(fp, *i, *i + 1, "expected '-' in H(a-b)%s", "");
                (*i)++;
                r = read_value(fp, i, &b, &named);
                if (r < 0)
                        return r;
                if (s[*i] != ')')
                        return fail(fp, *i, *i + 1, "expected ')' to close H(a-b)%s", "");
                (*i)++;
                if (a > b)
                        return fail(fp, start, *i, "range start is after its end%s", "");
        }
        if (s[*i] == '/') {
                (*i)++;
                r = read_step(fp, i, field_span(fp->id), &step);
                if (r < 0)
                        return r;
                /* The first value must fall inside a-b even when the step
                 * is longer than the range (H(4-5)/10 in months). */
                set_range(fp, a + hash_pick(fp, step < b - a + 1 ? step : b - a + 1), b, step);
        } else {
                int v = a + hash_pick(fp, b - a + 1);
                set_range(fp, v, v, 1);
        }
        return 0;
}

/* nL (last weekday n of the month) and n#k (k-th weekday n), after the value. */
static int parse_dow_suffix(field_parse *fp, size_t *i, size_t start, int v)
{
        const char *s = fp->text;

        if (v == 7)
                v = 0;
        if (s[*i] == 'L' || s[*i] == 'l') {
                (*i)++;
                fp->dow_last |= (uint8_t)(1u << v);
                return 0;
        }
        /* s[*i] == '#' */
        (*i)++;
        if (!is_digit(s[*i]) || s[*i] < '1' || s[*i] > '5' ||
            (*i + 1 < fp->end && is_digit(s[*i + 1])))
                return fail(fp, start, *i + 1,
                            "'#' must be followed by 1-5 (MON#2 = second Monday)%s", "");
        fp->dow_nth[v] |= (uint8_t)(1u << (s[*i] - '0'));
        (*i)++;
        return 0;
}

static int parse_element(field_parse *fp, size_t *i)
{
        const field_desc *fd = &fields[fp->id];
        const char *s = fp->text;
        size_t start = *i;
        int a, b, step = 1, r;
        bool named_a = false, named_b = false, ranged;

        if (s[*i] == '*' || (s[*i] == '?' && (fp->id == F_DOM || fp->id == F_DOW))) {
                (*i)++;
                a = fd->lo;
                b = fp->id == F_DOW ? 6 : fd->hi;
                if (s[*i] == '/') {
                        (*i)++;
                        r = read_step(fp, i, field_span(fp->id), &step);
                        if (r < 0)
                                return r;
                }
                set_range(fp, a, b, step);
                return 0;
        }
        if (s[*i] == 'H' || s[*i] == 'h')
                return parse_hash_element(fp, i);
        if (fp->id == F_DOM && (s[*i] == 'L' || s[*i] == 'l')) {
                (*i)++;
                fp->last_dom = true;
                return 0;
        }
        if (fp->id == F_DOW && (s[*i] == 'L' || s[*i] == 'l') &&
            (*i + 1 >= fp->end || s[*i + 1] == ','))
                return fail(fp, start, start + 1,
                            "'L' needs a weekday: 5L or FRIL is the last Friday%s", "");

        r = read_value(fp, i, &a, &named_a);
        if (r < 0)
                return r;
        if (fp->id == F_DOW && (s[*i] == 'L' || s[*i] == 'l' || s[*i] == '#'))
                return parse_dow_suffix(fp, i, start, a);
        b = a;
        ranged = s[*i] == '-';
        if (ranged) {
                (*i)++;
                r = read_value(fp, i, &b, &named_b);
                if (r < 0)
                        return r;
                /* "FRI-SUN" means Friday through Sunday. */
                if (fp->id == F_DOW && named_b && b == 0 && a > 0)
                        b = 7;
                if (a > b)
                        return fail(fp, start, *i,
                                    "range start is after its end (ranges do not wrap around)%s",
                                    "");
        }
        if (s[*i] == '/') {
                (*i)++;
                /* "a/n" means a-max/n (as in cronie; for day-of-week the max
                 * is 7, Sunday); an explicit "a-a/n" stays the single value. */
                if (!ranged)
                        b = fd->hi;
                r = read_step(fp, i, field_span(fp->id), &step);
                if (r < 0)
                        return r;
        }
        set_range(fp, a, b, step);
        return 0;
}

static int parse_list(field_parse *fp, size_t *ip);

static int parse_field(field_parse *fp)
{
        size_t i = fp->start;
        int r;

        r = parse_list(fp, &i);
        if (r < 0)
                return r;
        /* Every element selects at least one value, but keep the search's
         * invariant (no empty set) even if an element form ever doesn't. */
        if (!fp->bits && !fp->last_dom && !fp->dow_last &&
            !(fp->dow_nth[0] | fp->dow_nth[1] | fp->dow_nth[2] | fp->dow_nth[3] | fp->dow_nth[4] |
              fp->dow_nth[5] | fp->dow_nth[6]))
                return fail(fp, fp->start, fp->end, "selects no value");
        return 0;
}

static int parse_list(field_parse *fp, size_t *ip)
{
        size_t i = *ip;
        int r;

        for (;;) {
                r = parse_element(fp, &i);
                if (r < 0)
                        return r;
                if (i >= fp->end)
                        break;
                if (fp->text[i] != ',')
                        return fail(fp, i, i + 1, "unexpected '%s'", (char[2]){fp->text[i], 0});
                i++;
                if (i >= fp->end)
                        return fail(fp, i - 1, i, "list ends with ','%s", "");
        }
        *ip = i;
        return 0;
}

static const struct {
        const char *name;
        const char *cron;
} macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
};

static void fill_dow_patterns(cw_timespec *ts)
{
        for (int first = 0; first < 7; first++) {
                uint32_t m = 0;
                for (int d = 1; d <= 31; d++)
                        if (ts->dow & (1u << ((first + d - 1) % 7)))
                                m |= 1u << d;
                ts->dow_pattern[first] = m;
        }
}

/* Splits text into white-space separated fields; returns their count (at
 * most max + 1, so callers can report "too many"). */
static size_t split_fields(const char *text, size_t *starts, size_t *ends, size_t max)
{
        size_t n = 0, i = 0;

        for (;;) {
                while (text[i] && isspace((unsigned char)text[i]))
                        i++;
                if (!text[i] || n > max)
                        return n;
                starts[n] = i;
                while (text[i] && !isspace((unsigned char)text[i]))
                        i++;
                ends[n++] = i;
        }
}

static int parse_cron(cw_timespec *ts, const char *text, uint64_t seed_hash, cw_error *err)
{
        size_t starts[8], ends[8], n;
        field_parse fp = {.text = text, .seed_hash = seed_hash, .err = err};
        int first, r;

        n = split_fields(text, starts, ends, 7);
        if (n != 5 && n != 6) {
                /* Too many: underline the surplus fields; too few: all of it. */
                size_t s = n > 6 ? starts[6] : (n ? starts[0] : 0),
                       e = n ? ends[n - 1] : strlen(text);
                return cw_error_set(
                        err, (int)s, (int)(e - s),
                        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
                        "(seconds first), got %zu",
                        n);
        }
        first = n == 6 ? F_SEC : F_MIN;
        if (n == 5)
                ts->sec = 1; /* second 0 */
        for (int f = first; f < F__MAX; f++) {
                size_t k = (size_t)(f - first);
                fp.id = (field_id)f;
                fp.start = starts[k];
                fp.end = ends[k];
                fp.bits = 0;
                r = parse_field(&fp);
                if (r < 0)
                        return r;
                switch (f) {
                case F_SEC:
                        ts->sec = fp.bits;
                        break;
                case F_MIN:
                        ts->min = fp.bits;
                        break;
                case F_HOUR:
                        ts->hour = (uint32_t)fp.bits;
                        break;
                case F_DOM:
                        ts->dom = (uint32_t)fp.bits;
                        break;
                case F_MON:
                        ts->mon = (uint16_t)fp.bits;
                        break;
                case F_DOW:
                        ts->dow = (uint8_t)((fp.bits | (fp.bits >> 7)) & 0x7f);
                        break;
                default:
                        break;
                }
        }
        ts->dom_last = fp.last_dom;
        ts->dow_last = fp.dow_last;
        memcpy(ts->dow_nth, fp.dow_nth, sizeof(ts->dow_nth));
        for (int w = 0; w < 7; w++)
                ts->has_nth |= ts->dow_nth[w] != 0;
        ts->uses_hash = fp.used_hash;
        {
                size_t dom_k = (size_t)(F_DOM - first), dow_k = (size_t)(F_DOW - first);
                size_t min_k = (size_t)(F_MIN - first), hour_k = (size_t)(F_HOUR - first);
                char dc = text[starts[dom_k]], wc = text[starts[dow_k]];
                ts->dom_star = dc == '*' || dc == '?';
                ts->dow_star = wc == '*' || wc == '?';
                ts->fixed_time = text[starts[min_k]] != '*' && text[starts[hour_k]] != '*';
        }
        fill_dow_patterns(ts);
        return 0;
}

static int parse_every(cw_timespec *ts, const char *text, size_t at, cw_error *err)
{
        cw_error derr;
        size_t s = at, e;
        char buf[64];
        int64_t v;

        while (isspace((unsigned char)text[s]))
                s++;
        e = s;
        while (text[e] && !isspace((unsigned char)text[e]))
                e++;
        if (e == s)
                return cw_error_set(err, (int)at, 1, "'every' needs a duration, like 'every 90m'");
        {
                size_t t = e;
                while (isspace((unsigned char)text[t]))
                        t++;
                if (text[t])
                        return cw_error_set(
                                err, (int)t, (int)strlen(text + t),
                                "unexpected text after the duration (write '1h30m', not '1h 30m')");
        }
        if (e - s >= sizeof(buf))
                return cw_error_set(err, (int)s, (int)(e - s), "duration too long");
        memcpy(buf, text + s, e - s);
        buf[e - s] = '\0';
        cw_error_clear(&derr);
        if (cw_duration_parse(buf, &v, &derr) < 0)
                return cw_error_set(err, (int)s + (derr.col > 0 ? derr.col : 0),
                                    derr.len > 0 ? derr.len : (int)(e - s), "%s", derr.msg);
        if (v < 1)
                return cw_error_set(err, (int)s, (int)(e - s),
                                    "'every' needs a duration of at least 1s");
        ts->kind = CW_TIMESPEC_EVERY;
        ts->interval = v;
        return 0;
}

static int cmp_i32(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return (x > y) - (x < y);
}

static int parse_at(cw_timespec *ts, const char *text, size_t at, cw_error *err)
{
        size_t i = at, cap = 0;
        bool need_sep = false;

        for (;;) {
                size_t start;
                int hh = 0, mm = 0, nd = 0;

                while (isspace((unsigned char)text[i]))
                        i++;
                if (!text[i])
                        break;
                if (need_sep) {
                        if (text[i] != ',')
                                return cw_error_set(
                                        err, (int)i, 1,
                                        "expected ',' between times, like 'at 11:30, 14:00'");
                        i++;
                        while (isspace((unsigned char)text[i]))
                                i++;
                }
                start = i;
                while (is_digit(text[i]) && nd < 3) {
                        hh = hh * 10 + (text[i++] - '0');
                        nd++;
                }
                if (nd < 1 || nd > 2 || text[i] != ':' || !is_digit(text[i + 1]) ||
                    !is_digit(text[i + 2]) ||
                    (text[i + 3] && text[i + 3] != ',' && !isspace((unsigned char)text[i + 3]))) {
                        size_t e = start;
                        while (text[e] && text[e] != ',' && !isspace((unsigned char)text[e]))
                                e++;
                        return cw_error_set(
                                err, (int)start, (int)(e > start ? e - start : 1),
                                "expected a time HH:MM (24-hour clock), like 'at 11:30, 14:00'");
                }
                mm = (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
                i += 3;
                if (hh > 23 || mm > 59)
                        return cw_error_set(err, (int)start, (int)(i - start),
                                            "time out of range (00:00-23:59)");
                /* 1440 distinct HH:MM exist; more means a duplicate, caught below. */
                if (cw_array_reserve((void **)&ts->at, &cap, ts->n_at + 1, sizeof(*ts->at), 4) < 0)
                        return -ENOMEM;
                for (size_t k = 0; k < ts->n_at; k++)
                        if (ts->at[k] == hh * 3600 + mm * 60)
                                return cw_error_set(err, (int)start, (int)(i - start),
                                                    "time listed twice");
                ts->at[ts->n_at++] = hh * 3600 + mm * 60;
                need_sep = true;
        }
        if (ts->n_at == 0)
                return cw_error_set(err, (int)at, 1,
                                    "'at' needs at least one time, like 'at 11:30, 14:00'");
        qsort(ts->at, ts->n_at, sizeof(*ts->at), cmp_i32);
        ts->kind = CW_TIMESPEC_AT;
        ts->fixed_time = true;
        /* Every day matches: reuse the cron day tables with full sets. */
        ts->mon = 0x1ffe;
        ts->dom = 0xfffffffe;
        ts->dow = 0x7f;
        ts->dom_star = ts->dow_star = true;
        fill_dow_patterns(ts);
        return 0;
}

/* Length of s with runs of white space folded into one space and both
 * ends trimmed; writes the folded text to out when out is not NULL. */
static size_t fold_space(const char *s, char *out)
{
        size_t o = 0;
        bool space = false;

        for (size_t i = 0; s[i]; i++) {
                if (isspace((unsigned char)s[i])) {
                        space = o > 0;
                        continue;
                }
                if (space) {
                        if (out)
                                out[o] = ' ';
                        o++;
                }
                space = false;
                if (out)
                        out[o] = s[i];
                o++;
        }
        if (out)
                out[o] = '\0';
        return o;
}

/* True when text at i starts with word (case-insensitive) followed by
 * white space or the end. */
static bool starts_word(const char *text, size_t i, const char *word)
{
        size_t n = strlen(word);
        return strncasecmp(text + i, word, n) == 0 &&
               (!text[i + n] || isspace((unsigned char)text[i + n]));
}

static int parse_dispatch(cw_timespec *ts, const char *text, const char *seed, cw_error *err)
{
        uint64_t seed_hash = cw_hash_fnv1a(seed ? seed : "", seed ? strlen(seed) : 0);
        size_t i = 0, n = strlen(text);

        while (isspace((unsigned char)text[i]))
                i++;
        if (!text[i])
                return cw_error_set(err, 0, 1, "empty time spec");
        if (n > CW_TIMESPEC_TEXT_MAX)
                return cw_error_set(err, 0, (int)n, "time spec too long (at most %d bytes)",
                                    CW_TIMESPEC_TEXT_MAX);
        if (text[i] == '@') {
                size_t e = i;
                while (text[e] && !isspace((unsigned char)text[e]))
                        e++;
                for (size_t k = e; text[k]; k++)
                        if (!isspace((unsigned char)text[k]))
                                return cw_error_set(err, (int)k, (int)strlen(text + k),
                                                    "unexpected text after '%.*s'", (int)(e - i),
                                                    text + i);
                if (e - i == 7 && strncasecmp(text + i, "@reboot", 7) == 0) {
                        ts->kind = CW_TIMESPEC_REBOOT;
                        return 0;
                }
                for (size_t k = 0; k < CW_ARRAY_SIZE(macros); k++) {
                        if (strlen(macros[k].name) == e - i &&
                            strncasecmp(text + i, macros[k].name, e - i) == 0) {
                                int r = parse_cron(ts, macros[k].cron, 0, NULL);
                                ts->kind = CW_TIMESPEC_CRON;
                                return r;
                        }
                }
                return cw_error_set(
                        err, (int)i, (int)(e - i),
                        "unknown macro '%.*s' (known: @yearly @annually @monthly @weekly @daily "
                        "@midnight @hourly @reboot)",
                        (int)(e - i), text + i);
        }
        if (starts_word(text, i, "every"))
                return parse_every(ts, text, i + 5, err);
        if (starts_word(text, i, "at"))
                return parse_at(ts, text, i + 2, err);
        ts->kind = CW_TIMESPEC_CRON;
        return parse_cron(ts, text, seed_hash, err);
}

int cw_timespec_parse(const char *text, const char *seed, cw_timespec **ret, cw_error *err)
{
        cw_timespec tmp = {0}, *ts;
        size_t at_bytes, text_len;
        int r;

        cw_error_clear(err);
        r = parse_dispatch(&tmp, text, seed, err);
        if (r < 0) {
                free(tmp.at);
                return r;
        }
        /* One block: the struct, the `at` times, the folded text. */
        at_bytes = (size_t)tmp.n_at * sizeof(*tmp.at);
        text_len = fold_space(text, NULL);
        ts = malloc(sizeof(*ts) + at_bytes + text_len + 1);
        if (!ts) {
                free(tmp.at);
                return -ENOMEM;
        }
        *ts = tmp;
        ts->at = tmp.n_at ? (int32_t *)(ts + 1) : NULL;
        if (tmp.n_at)
                memcpy(ts->at, tmp.at, at_bytes);
        free(tmp.at);
        ts->text = (char *)(ts + 1) + at_bytes;
        fold_space(text, ts->text);
        *ret = ts;
        return 0;
}

void cw_timespec_free(cw_timespec *ts)
{
        free(ts);
}

bool cw_timespec_equal(const cw_timespec *a, const cw_timespec *b)
{
        if (a == b)
                return true;
        if (a->kind != b->kind || strcmp(a->text, b->text) != 0)
                return false;
        /* Equal text means equal values unless H made them depend on the
         * seed: then compare what was computed. */
        if (!a->uses_hash && !b->uses_hash)
                return true;
        return a->uses_hash == b->uses_hash && a->sec == b->sec && a->min == b->min &&
               a->hour == b->hour && a->dom == b->dom && a->mon == b->mon && a->dow == b->dow &&
               a->dow_last == b->dow_last && a->dom_last == b->dom_last &&
               a->has_nth == b->has_nth && a->dom_star == b->dom_star &&
               a->dow_star == b->dow_star && a->fixed_time == b->fixed_time &&
               memcmp(a->dow_nth, b->dow_nth, sizeof(a->dow_nth)) == 0 &&
               memcmp(a->dow_pattern, b->dow_pattern, sizeof(a->dow_pattern)) == 0 &&
               a->interval == b->interval && a->n_at == b->n_at &&
               (a->n_at == 0 || memcmp(a->at, b->at, a->n_at * sizeof(*a->at)) == 0);
}

uint64_t cw_timespec_hash(const cw_timespec *ts)
{
        uint64_t h = cw_hash_fnv1a(ts->text, strlen(ts->text));

        if (ts->uses_hash) {
                uint64_t v[4] = {ts->sec, ts->min, ((uint64_t)ts->hour << 32) | ts->dom,
                                 ((uint64_t)ts->mon << 16) | ts->dow};

                h ^= cw_hash_fnv1a(v, sizeof(v)) * 0x9e3779b97f4a7c15ULL;
        }
        return h;
}

cw_timespec_kind cw_timespec_get_kind(const cw_timespec *ts)
{
        return ts->kind;
}
const char *cw_timespec_text(const cw_timespec *ts)
{
        return ts->text;
}
bool cw_timespec_is_fixed_time(const cw_timespec *ts)
{
        return ts->fixed_time;
}
bool cw_timespec_uses_hash(const cw_timespec *ts)
{
        return ts->uses_hash;
}
cw_duration cw_timespec_interval(const cw_timespec *ts)
{
        return ts->kind == CW_TIMESPEC_EVERY ? ts->interval : 0;
}
