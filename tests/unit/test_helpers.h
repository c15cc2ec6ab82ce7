/* test_helpers.h - shared by the time-spec unit tests: run a spec and
 * compare its fires, written as ISO 8601 text, with a list. */
#ifndef CW_TEST_HELPERS_H
#define CW_TEST_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/iso8601.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

static inline cw_tz *load_zone(const char *name)
{
        cw_tz *tz = NULL;
        cw_error e;

        if (strcmp(name, "UTC") == 0)
                return cw_tz_utc();
        if (cw_tz_load(name, NULL, &tz, &e) < 0)
                fail_msg("cannot load zone %s: %s", name, e.msg);
        return tz;
}

static inline cw_time iso(const char *s)
{
        int64_t v;
        bool off;
        cw_error e;

        if (cw_iso8601_parse(s, &v, &off, &e) < 0 || !off)
                fail_msg("bad test time %s: %s", s, e.msg);
        return v;
}

/* Checks that spec (seeded by seed) fires exactly at expected[0..] (NULL
 * terminated) after `from`, in zone. */
static inline void expect_fires(const char *spec, const char *seed, const char *zone,
                                const char *from, const char *const *expected)
{
        cw_timespec *ts = NULL;
        cw_tz *tz = load_zone(zone);
        cw_error e;
        cw_time t = iso(from);

        if (cw_timespec_parse(spec, seed, &ts, &e) < 0)
                fail_msg("'%s' failed to parse: %s", spec, e.msg);
        for (size_t i = 0; expected[i]; i++) {
                char got[CW_ISO8601_MAX];
                int r = cw_timespec_next(ts, tz, t, &t);
                if (r < 0)
                        fail_msg("'%s' in %s from %s: fire %zu missing (want %s)", spec, zone, from,
                                 i, expected[i]);
                cw_iso8601_format(t, cw_tz_utoff(tz, t), got, sizeof(got));
                if (strcmp(got, expected[i]) != 0)
                        fail_msg("'%s' in %s from %s: fire %zu is %s, want %s", spec, zone, from, i,
                                 got, expected[i]);
        }
        cw_timespec_free(ts);
        cw_tz_free(tz);
}

#define FIRES(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
