/* iso8601.c - ISO 8601 text for instants (see iso8601.h). */
#include "iso8601.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cw_iso8601_format(cw_time t, int32_t utoff, char *buf, size_t size)
{
        cw_civil c;
        int32_t a = utoff < 0 ? -utoff : utoff;
        int w;

        if (size)
                buf[0] = '\0';
        cw_secs_to_civil(t + utoff, &c);
        if (c.year < 0 || c.year > 9999)
                return -ERANGE;
        if (a % 60)
                w = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d:%02d",
                             (int)c.year, c.mon, c.day, c.hour, c.min, c.sec, utoff < 0 ? '-' : '+',
                             a / 3600, a / 60 % 60, a % 60);
        else
                w = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (int)c.year,
                             c.mon, c.day, c.hour, c.min, c.sec, utoff < 0 ? '-' : '+', a / 3600,
                             a / 60 % 60);
        if (w < 0 || (size_t)w >= size) {
                if (size)
                        buf[0] = '\0';
                return -ERANGE;
        }
        return 0;
}

/* Reads exactly n digits at s[*i]; returns the value or -1. */
static int digits(const char *s, size_t *i, int n)
{
        int v = 0;

        for (int k = 0; k < n; k++) {
                char ch = s[*i + (size_t)k];
                if (ch < '0' || ch > '9')
                        return -1;
                v = v * 10 + (ch - '0');
        }
        *i += (size_t)n;
        return v;
}

#define ISO_HINT "expected an ISO 8601 time like 2027-03-28T03:00:00+02:00"

static int parse_offset(const char *s, size_t *i, int32_t *ret, cw_error *err)
{
        size_t start = *i;
        int sign = s[*i] == '-' ? -1 : 1;
        int hh, mm = 0;

        (*i)++;
        hh = digits(s, i, 2);
        if (hh < 0)
                return cw_error_set(err, (int)start, 1, "bad UTC offset in '%s': " ISO_HINT, s);
        if (s[*i] == ':')
                (*i)++;
        if (s[*i]) {
                mm = digits(s, i, 2);
                if (mm < 0)
                        return cw_error_set(err, (int)start, (int)(*i - start),
                                            "bad UTC offset in '%s': " ISO_HINT, s);
        }
        if (hh > 23 || mm > 59)
                return cw_error_set(err, (int)start, (int)(*i - start),
                                    "UTC offset out of range in '%s'", s);
        *ret = sign * (hh * 3600 + mm * 60);
        return 0;
}

int cw_iso8601_parse(const char *s, int64_t *ret, bool *ret_has_offset, cw_error *err)
{
        cw_civil c = {0};
        size_t i = 0;
        int32_t off = 0;
        bool has_off = false;
        int y, r;

        y = digits(s, &i, 4);
        if (y < 0 || s[i] != '-')
                return cw_error_set(err, 0, (int)(i + 1), "bad date in '%s': " ISO_HINT, s);
        i++;
        c.year = y;
        c.mon = digits(s, &i, 2);
        if (c.mon < 1 || c.mon > 12 || s[i] != '-')
                return cw_error_set(err, 5, 2, "bad month in '%s': " ISO_HINT, s);
        i++;
        c.day = digits(s, &i, 2);
        if (c.day < 1 || c.day > cw_days_in_month(c.year, c.mon))
                return cw_error_set(err, 8, 2, "bad day in '%s': " ISO_HINT, s);
        if (s[i] == 'T' || s[i] == 't' || s[i] == ' ') {
                i++;
                c.hour = digits(s, &i, 2);
                if (c.hour < 0 || c.hour > 23 || s[i] != ':')
                        return cw_error_set(err, (int)i - 2, 2, "bad hour in '%s': " ISO_HINT, s);
                i++;
                c.min = digits(s, &i, 2);
                if (c.min < 0 || c.min > 59)
                        return cw_error_set(err, (int)i - 2, 2, "bad minute in '%s': " ISO_HINT, s);
                if (s[i] == ':') {
                        i++;
                        c.sec = digits(s, &i, 2);
                        if (c.sec < 0 || c.sec > 59)
                                return cw_error_set(err, (int)i - 2, 2,
                                                    "bad second in '%s': " ISO_HINT, s);
                        if (s[i] == '.' || s[i] == ',') {
                                size_t fs = ++i;
                                while (s[i] >= '0' && s[i] <= '9')
                                        i++;
                                if (i == fs)
                                        return cw_error_set(err, (int)fs - 1, 1,
                                                            "bad fraction in '%s': " ISO_HINT, s);
                        }
                }
                if (s[i] == 'Z' || s[i] == 'z') {
                        has_off = true;
                        i++;
                } else if (s[i] == '+' || s[i] == '-') {
                        r = parse_offset(s, &i, &off, err);
                        if (r < 0)
                                return r;
                        has_off = true;
                }
        }
        if (s[i])
                return cw_error_set(err, (int)i, (int)strlen(s + i),
                                    "unexpected text at the end of '%s': " ISO_HINT, s);
        *ret = cw_civil_to_secs(&c) - off;
        *ret_has_offset = has_off;
        return 0;
}
