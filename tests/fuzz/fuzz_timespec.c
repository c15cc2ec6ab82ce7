/* fuzz_timespec.c - libFuzzer target for the time-spec parser and the
 * next-fire search. Any input must either parse or fail with a column
 * inside the text; parsed specs must give strictly increasing fires, in
 * UTC and in a zone with DST, without crashing or looping; and their
 * canonical text (cw_timespec_format) must parse back to a spec that
 * prints the same and fires at the same instants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timespec/timespec.h"
#include "tz/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fires(const cw_timespec *ts, const cw_tz *tz)
{
        cw_time t = 1800000000, prev = t;

        for (int i = 0; i < 8; i++) {
                if (cw_timespec_next(ts, tz, t, &t) < 0)
                        break;
                if (t <= prev)
                        abort();
                prev = t;
        }
}

static void check_canonical(const cw_timespec *ts, const cw_tz *tz)
{
        char first[CW_TIMESPEC_CANONICAL_MAX], again[CW_TIMESPEC_CANONICAL_MAX];
        cw_timespec *back = NULL;
        cw_time a = 1800000000, b = a;
        cw_error err;

        if (cw_timespec_format(ts, first, sizeof(first)) < 0 ||
            cw_timespec_parse(first, "seed", &back, &err) < 0)
                abort();
        if (cw_timespec_format(back, again, sizeof(again)) < 0 || strcmp(first, again) != 0)
                abort();
        for (int i = 0; i < 8; i++) {
                int ra = cw_timespec_next(ts, tz, a, &a), rb = cw_timespec_next(back, tz, b, &b);
                if (ra != rb || (ra == 0 && a != b))
                        abort();
                if (ra < 0)
                        break;
        }
        cw_timespec_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Loaded once per process: the harness, unlike the library, may
         * keep state between inputs. */
        static cw_tz *utc, *warsaw;
        cw_timespec *ts = NULL;
        cw_error err;
        char *text;

        if (!utc) {
                utc = cw_tz_utc();
                if (cw_tz_load("Europe/Warsaw", NULL, &warsaw, &err) < 0)
                        warsaw = cw_tz_utc();
        }
        if (size > 4096)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (cw_timespec_parse(text, "seed", &ts, &err) == 0) {
                check_fires(ts, utc);
                check_fires(ts, warsaw);
                check_canonical(ts, warsaw);
                (void)cw_timespec_check_fires(ts, warsaw, 1800000000, &err);
                cw_timespec_free(ts);
        } else if (err.col > (int)strlen(text) || err.msg[0] == '\0') {
                abort();
        }
        free(text);
        return 0;
}
