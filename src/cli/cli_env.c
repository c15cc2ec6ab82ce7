/* cli_env.c - the clock and zoneinfo directory from the environment
 * (cli_env.h). */
#include "cli_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/iso8601.h"

/* The CLOCK_MONOTONIC reading (µs) that CRONWARDEN_FAKE_NOW goes with,
 * set by the first process that saw the fake time, so that its children
 * (the daemon's spawner, their workers) keep one test clock between them. */
#define FAKE_NOW_MONO "CRONWARDEN_FAKE_NOW_MONO"

/* The fake clock's monotonic anchor: the parent's, or now (then exported
 * for our children). */
static int64_t fake_mono0(void)
{
        const char *v = getenv(FAKE_NOW_MONO);
        char buf[32];
        char *end;
        long long n;

        if (v && *v) {
                errno = 0;
                n = strtoll(v, &end, 10);
                if (errno == 0 && *end == '\0' && n >= 0)
                        return n;
        }
        n = cw_clock_mono_us();
        snprintf(buf, sizeof(buf), "%lld", n);
        (void)setenv(FAKE_NOW_MONO, buf, 1);
        return n;
}

int cli_env_clock(cw_clock *clock, cw_instant *ret_now, cw_error *err)
{
        const char *fake = getenv("CRONWARDEN_FAKE_NOW");
        cw_time base;
        cw_error e;
        bool has_off;

        if (!fake || !*fake) {
                cw_clock_init_real(clock);
                *ret_now = cw_clock_now(clock);
                return 0;
        }
        if (cw_iso8601_parse(fake, &base, &has_off, &e) < 0 || !has_off)
                return cw_error_fail(
                        err, -EINVAL,
                        "CRONWARDEN_FAKE_NOW: expected an ISO 8601 time with offset, got '%s'",
                        fake);
        cw_clock_init_fake(clock, cw_instant_from_sec(base), fake_mono0());
        *ret_now = cw_instant_from_sec(base);
        return 0;
}

const char *cli_env_zoneinfo(void)
{
        const char *v = getenv("CRONWARDEN_ZONEINFO");

        if (!v || !*v)
                v = secure_getenv("TZDIR");
        return v && *v ? v : NULL;
}
