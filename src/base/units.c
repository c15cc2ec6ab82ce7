/* units.c - duration and size parsing (see units.h). */
#include "units.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
        char unit;
        int64_t secs;
} duration_units[] = {
        {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};

#define DURATION_HINT "expected a duration like 90s, 10m, 1h30m or 7d"

int cw_duration_parse(const char *s, int64_t *ret, cw_error *err)
{
        int64_t total = 0;
        size_t next_unit = 0, i = 0;

        if (!s[0])
                return cw_error_set(err, 0, 1, "empty duration: " DURATION_HINT);
        while (s[i]) {
                size_t start = i;
                int64_t v = 0;
                size_t u;

                if (s[i] < '0' || s[i] > '9')
                        return cw_error_set(err, (int)i, 1,
                                            "unexpected '%c' in duration '%s': " DURATION_HINT,
                                            s[i], s);
                while (s[i] >= '0' && s[i] <= '9') {
                        if (v > CW_DURATION_MAX)
                                return cw_error_set(err, (int)start, (int)(i - start),
                                                    "duration '%s' is too long (at most 100 years)",
                                                    s);
                        v = v * 10 + (s[i] - '0');
                        i++;
                }
                if (!s[i])
                        return cw_error_set(
                                err, (int)start, (int)(i - start),
                                "duration '%s' needs a unit (s, m, h, d or w): " DURATION_HINT, s);
                for (u = next_unit; u < CW_ARRAY_SIZE(duration_units); u++)
                        if (duration_units[u].unit == s[i])
                                break;
                if (u == CW_ARRAY_SIZE(duration_units)) {
                        bool known = strchr("wdhms", s[i]) != NULL;
                        return cw_error_set(
                                err, (int)i, 1,
                                known ? "unit '%c' out of order in duration '%s': write larger units first, each once"
                                      : "unknown unit '%c' in duration '%s': " DURATION_HINT,
                                s[i], s);
                }
                if (v > CW_DURATION_MAX / duration_units[u].secs ||
                    total + v * duration_units[u].secs > CW_DURATION_MAX)
                        return cw_error_set(err, (int)start, (int)(i - start + 1),
                                            "duration '%s' is too long (at most 100 years)", s);
                total += v * duration_units[u].secs;
                next_unit = u + 1;
                i++;
        }
        *ret = total;
        return 0;
}

void cw_duration_format(int64_t secs, char *buf, size_t size)
{
        size_t n = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        if (secs == 0) {
                snprintf(buf, size, "0s");
                return;
        }
        /* Weeks are not used in output: "14d" reads better than "2w". */
        for (size_t u = 1; u < CW_ARRAY_SIZE(duration_units); u++) {
                int64_t q = secs / duration_units[u].secs;
                int w;

                if (q == 0)
                        continue;
                secs -= q * duration_units[u].secs;
                w = snprintf(buf + n, size - n, "%lld%c", (long long)q, duration_units[u].unit);
                if (w < 0 || (size_t)w >= size - n)
                        return;
                n += (size_t)w;
        }
}

static const struct {
        const char *name;
        uint64_t mult;
} size_units[] = {
        {"", 1},
        {"B", 1},
        {"K", 1024},
        {"KiB", 1024},
        {"M", 1024 * 1024},
        {"MiB", 1024 * 1024},
        {"G", 1024ULL * 1024 * 1024},
        {"GiB", 1024ULL * 1024 * 1024},
};

int cw_size_parse(const char *s, uint64_t *ret, cw_error *err)
{
        uint64_t v = 0;
        size_t i = 0;

        if (s[0] < '0' || s[0] > '9')
                return cw_error_set(err, 0, 1, "expected a size like 512KiB or 1MiB, got '%s'", s);
        while (s[i] >= '0' && s[i] <= '9') {
                if (v > CW_SIZE_MAX)
                        return cw_error_set(err, 0, (int)i, "size '%s' is too large (at most 1TiB)",
                                            s);
                v = v * 10 + (uint64_t)(s[i] - '0');
                i++;
        }
        for (size_t u = 0; u < CW_ARRAY_SIZE(size_units); u++) {
                if (strcmp(s + i, size_units[u].name) != 0)
                        continue;
                if (v > CW_SIZE_MAX / size_units[u].mult)
                        return cw_error_set(err, 0, (int)strlen(s),
                                            "size '%s' is too large (at most 1TiB)", s);
                *ret = v * size_units[u].mult;
                return 0;
        }
        return cw_error_set(err, (int)i, (int)strlen(s + i),
                            "unknown unit '%s' in size '%s': expected B, KiB, MiB or GiB", s + i,
                            s);
}

void cw_size_format(uint64_t bytes, char *buf, size_t size)
{
        static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        size_t u = 0;

        while (u + 1 < CW_ARRAY_SIZE(names) && bytes >= 1024 && bytes % 1024 == 0) {
                bytes /= 1024;
                u++;
        }
        snprintf(buf, size, "%llu%s", (unsigned long long)bytes, names[u]);
}
