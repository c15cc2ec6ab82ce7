/* test_tz.c - unit tests for src/tz: TZif reading, POSIX TZ rules,
 * lookups and local-time resolution.
 *
 * Zone data comes from the system tz database (Debian's tzdata); the
 * expected values were cross-checked with Python's zoneinfo and glibc's
 * date(1). Tests needing a zone file skip when it is missing. Corrupt
 * files are built byte by byte in a temporary directory; the point of
 * those tests is that every one is refused with -EINVAL and none crashes
 * (run them under ASan+UBSan). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tz/tz.h"

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        print_error(__VA_ARGS__);                                                  \
                        print_error("\n");                                                         \
                        fail_msg("check failed: %s", #cond);                                       \
                }                                                                                  \
        } while (0)

/* "2027-03-28T01:00:00" as seconds (UTC instant or local reading). */
static int64_t secs(const char *iso)
{
        cw_civil c = {0};
        long long y;

        if (sscanf(iso, "%lld-%d-%dT%d:%d:%d", &y, &c.mon, &c.day, &c.hour, &c.min, &c.sec) != 6)
                fail_msg("bad test time '%s'", iso);
        c.year = y;
        return cw_civil_to_secs(&c);
}

static bool have_zone(const char *name)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", CW_TZ_DIR, name);
        return access(path, R_OK) == 0;
}

static cw_tz *load(const char *name)
{
        cw_error err;
        cw_tz *tz = NULL;
        int r = cw_tz_load(name, NULL, &tz, &err);

        CHECK(r == 0, "loading %s: %d %s", name, r, err.msg);
        return tz;
}

/* ---- offsets and abbreviations at chosen instants ---------------------- */

typedef struct offset_case {
        const char *zone;
        const char *at; /* UTC */
        int32_t utoff;
        bool isdst;
        const char *abbr;
} offset_case;

static const offset_case offset_cases[] = {
        {"UTC", "2027-06-01T00:00:00", 0, false, "UTC"},
        {"Europe/Warsaw", "2027-01-15T12:00:00", 3600, false, "CET"},
        {"Europe/Warsaw", "2027-07-01T12:00:00", 7200, true, "CEST"},
        {"Europe/Warsaw", "2027-03-28T00:59:59", 3600, false, "CET"},
        {"Europe/Warsaw", "2027-03-28T01:00:00", 7200, true, "CEST"},
        {"Europe/Warsaw", "2027-10-31T00:59:59", 7200, true, "CEST"},
        {"Europe/Warsaw", "2027-10-31T01:00:00", 3600, false, "CET"},
        {"America/New_York", "2027-03-14T06:59:59", -18000, false, "EST"},
        {"America/New_York", "2027-03-14T07:00:00", -14400, true, "EDT"},
        {"America/New_York", "2027-11-07T05:59:59", -14400, true, "EDT"},
        {"America/New_York", "2027-11-07T06:00:00", -18000, false, "EST"},
        {"Australia/Lord_Howe", "2027-01-15T00:00:00", 39600, true, "+11"},
        {"Australia/Lord_Howe", "2027-07-01T00:00:00", 37800, false, "+1030"},
        {"America/Santiago", "2027-01-15T00:00:00", -10800, true, "-03"},
        {"America/Santiago", "2027-07-01T00:00:00", -14400, false, "-04"},
        {"Asia/Kolkata", "2027-01-01T00:00:00", 19800, false, "IST"},
        {"Asia/Kolkata", "1942-10-01T00:00:00", 23400, true, "+0630"},
        /* Dublin: IST (+1) is standard time, winter GMT is negative DST. */
        {"Europe/Dublin", "2027-01-15T12:00:00", 0, true, "GMT"},
        {"Europe/Dublin", "2027-07-01T12:00:00", 3600, false, "IST"},
        /* Samoa skipped 2011-12-30 entirely. */
        {"Pacific/Apia", "2011-12-30T09:59:59", -36000, true, "-10"},
        {"Pacific/Apia", "2011-12-30T10:00:00", 50400, true, "+14"},
        /* British double summer time. */
        {"Europe/London", "1941-07-01T00:00:00", 7200, true, "BDST"},
        /* Far future: the footer rule. */
        {"Europe/Warsaw", "2100-07-01T00:00:00", 7200, true, "CEST"},
        {"Europe/Warsaw", "9999-12-31T00:00:00", 3600, false, "CET"},
        {"America/New_York", "9999-07-01T00:00:00", -14400, true, "EDT"},
        {"Australia/Lord_Howe", "2100-01-01T00:00:00", 39600, true, "+11"},
};

static void test_offsets(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(offset_cases); i++) {
                const offset_case *c = &offset_cases[i];
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_tz_period p;
                int64_t t = secs(c->at);

                if (strcmp(c->zone, "UTC") != 0 && !have_zone(c->zone))
                        continue;
                tz = load(c->zone);
                cw_tz_lookup(tz, t, &p);
                CHECK(p.utoff == c->utoff && p.isdst == c->isdst && strcmp(p.abbr, c->abbr) == 0,
                      "%s at %s: got %d %d %s, want %d %d %s", c->zone, c->at, p.utoff, p.isdst,
                      p.abbr, c->utoff, c->isdst, c->abbr);
                CHECK(p.start <= t && t < p.end, "%s at %s: period misses the instant", c->zone,
                      c->at);
                CHECK(cw_tz_utoff(tz, t) == c->utoff, "%s at %s: cw_tz_utoff", c->zone, c->at);
        }
}

/* ---- periods ------------------------------------------------------------ */

typedef struct period_case {
        const char *zone;
        const char *at;
        const char *start; /* NULL: unbounded */
        const char *end;
} period_case;

static const period_case period_cases[] = {
        {"UTC", "2027-06-01T00:00:00", NULL, NULL},
        /* Table range (Debian's files list transitions up to 2037). */
        {"Europe/Warsaw", "2027-07-01T00:00:00", "2027-03-28T01:00:00", "2027-10-31T01:00:00"},
        /* From the table's last transition into the rule's first one. */
        {"Europe/Warsaw", "2037-12-01T00:00:00", "2037-10-25T01:00:00", "2038-03-28T01:00:00"},
        /* Rule range only. */
        {"Europe/Warsaw", "2090-07-01T00:00:00", "2090-03-26T01:00:00", "2090-10-29T01:00:00"},
        {"Europe/Warsaw", "2091-01-01T00:00:00", "2090-10-29T01:00:00", "2091-03-25T01:00:00"},
        /* Southern hemisphere: the DST period spans the new year. */
        {"Australia/Lord_Howe", "2090-01-01T00:00:00", "2089-10-01T15:30:00",
         "2090-04-01T15:00:00"},
        /* No DST in the rule: the last period never ends. */
        {"Asia/Kolkata", "2027-01-01T00:00:00", "1945-10-14T17:30:00", NULL},
        {"Pacific/Apia", "2011-12-30T10:00:00", "2011-12-30T10:00:00", "2012-03-31T14:00:00"},
};

static void test_periods(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(period_cases); i++) {
                const period_case *c = &period_cases[i];
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                int64_t start = c->start ? secs(c->start) : INT64_MIN;
                int64_t end = c->end ? secs(c->end) : INT64_MAX;
                cw_tz_period p;

                if (strcmp(c->zone, "UTC") != 0 && !have_zone(c->zone))
                        continue;
                tz = load(c->zone);
                cw_tz_lookup(tz, secs(c->at), &p);
                CHECK(p.start == start && p.end == end,
                      "%s at %s: got [%lld, %lld), want [%lld, %lld)", c->zone, c->at,
                      (long long)p.start, (long long)p.end, (long long)start, (long long)end);
        }
}

/* Walking period by period must tile time with no gaps or overlaps, and
 * each boundary must be a real change. */
static void test_period_walk(void **state)
{
        static const char *const zones[] = {"Europe/Warsaw", "Australia/Lord_Howe",
                                            "America/Santiago", "Europe/Dublin"};

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(zones); i++) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_tz_period p, q;
                int n = 0;

                if (!have_zone(zones[i]))
                        continue;
                tz = load(zones[i]);
                cw_tz_lookup(tz, INT64_MIN, &p);
                CHECK(p.start == INT64_MIN, "%s: first period bounded", zones[i]);
                while (p.end < secs("2200-01-01T00:00:00")) {
                        cw_tz_lookup(tz, p.end, &q);
                        CHECK(q.start == p.end, "%s: gap or overlap at %lld", zones[i],
                              (long long)p.end);
                        CHECK(q.utoff != p.utoff || q.isdst != p.isdst ||
                                      strcmp(q.abbr, p.abbr) != 0,
                              "%s: no-op boundary at %lld", zones[i], (long long)p.end);
                        p = q;
                        n++;
                }
                CHECK(n > 300, "%s: only %d periods", zones[i], n);
        }
}

/* ---- resolve ------------------------------------------------------------ */

typedef struct resolve_case {
        const char *zone;
        const char *local;
        int n;             /* 0 gap, 1 normal, 2 overlap */
        const char *first; /* UTC; for gaps the end of the gap */
        const char *second;
} resolve_case;

static const resolve_case resolve_cases[] = {
        {"UTC", "2027-03-28T02:30:00", 1, "2027-03-28T02:30:00", NULL},
        {"Europe/Warsaw", "2027-06-01T12:00:00", 1, "2027-06-01T10:00:00", NULL},
        {"Europe/Warsaw", "2027-03-28T02:30:00", 0, "2027-03-28T01:00:00", NULL},
        {"Europe/Warsaw", "2027-03-28T02:00:00", 0, "2027-03-28T01:00:00", NULL},
        {"Europe/Warsaw", "2027-03-28T03:00:00", 1, "2027-03-28T01:00:00", NULL},
        {"Europe/Warsaw", "2027-03-28T01:59:59", 1, "2027-03-28T00:59:59", NULL},
        {"Europe/Warsaw", "2027-10-31T02:30:00", 2, "2027-10-31T00:30:00", "2027-10-31T01:30:00"},
        {"Europe/Warsaw", "2027-10-31T02:00:00", 2, "2027-10-31T00:00:00", "2027-10-31T01:00:00"},
        {"Europe/Warsaw", "2027-10-31T03:00:00", 1, "2027-10-31T02:00:00", NULL},
        /* Across the end of the table and in the rule's range. */
        {"Europe/Warsaw", "2038-03-28T02:30:00", 0, "2038-03-28T01:00:00", NULL},
        {"Europe/Warsaw", "2099-03-29T02:30:00", 0, "2099-03-29T01:00:00", NULL},
        {"Europe/Warsaw", "2099-10-25T02:30:00", 2, "2099-10-25T00:30:00", "2099-10-25T01:30:00"},
        {"America/New_York", "2027-03-14T02:30:00", 0, "2027-03-14T07:00:00", NULL},
        {"America/New_York", "2027-11-07T01:30:00", 2, "2027-11-07T05:30:00",
         "2027-11-07T06:30:00"},
        /* 30-minute DST. */
        {"Australia/Lord_Howe", "2027-10-03T02:15:00", 0, "2027-10-02T15:30:00", NULL},
        {"Australia/Lord_Howe", "2027-04-04T01:45:00", 2, "2027-04-03T14:45:00",
         "2027-04-03T15:15:00"},
        /* Transitions at midnight. */
        {"America/Santiago", "2027-04-03T23:30:00", 2, "2027-04-04T02:30:00",
         "2027-04-04T03:30:00"},
        {"America/Santiago", "2027-09-05T00:30:00", 0, "2027-09-05T04:00:00", NULL},
        {"America/Havana", "2028-03-12T00:30:00", 0, "2028-03-12T05:00:00", NULL},
        {"America/Havana", "2027-11-07T00:30:00", 2, "2027-11-07T04:30:00", "2027-11-07T05:30:00"},
        {"America/Asuncion", "2023-10-01T00:30:00", 0, "2023-10-01T04:00:00", NULL},
        {"America/Asuncion", "2023-03-25T23:30:00", 2, "2023-03-26T02:30:00",
         "2023-03-26T03:30:00"},
        /* Negative DST. */
        {"Europe/Dublin", "2027-03-28T01:30:00", 0, "2027-03-28T01:00:00", NULL},
        {"Europe/Dublin", "2027-10-31T01:30:00", 2, "2027-10-31T00:30:00", "2027-10-31T01:30:00"},
        /* Double summer time: +1 -> +2 and back. */
        {"Europe/London", "1941-05-04T02:30:00", 0, "1941-05-04T01:00:00", NULL},
        {"Europe/London", "1941-08-10T02:30:00", 2, "1941-08-10T00:30:00", "1941-08-10T01:30:00"},
        /* A whole day skipped. */
        {"Pacific/Apia", "2011-12-30T12:00:00", 0, "2011-12-30T10:00:00", NULL},
        {"Pacific/Apia", "2011-12-31T00:00:00", 1, "2011-12-30T10:00:00", NULL},
        {"Pacific/Apia", "2011-12-29T23:59:59", 1, "2011-12-30T09:59:59", NULL},
};

static void test_resolve(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(resolve_cases); i++) {
                const resolve_case *c = &resolve_cases[i];
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_time r[2] = {0, 0};
                int n;

                if (strcmp(c->zone, "UTC") != 0 && !have_zone(c->zone))
                        continue;
                tz = load(c->zone);
                n = cw_tz_resolve(tz, secs(c->local), r);
                CHECK(n == c->n, "%s %s: %d answers, want %d", c->zone, c->local, n, c->n);
                CHECK(r[0] == secs(c->first), "%s %s: first %lld, want %s", c->zone, c->local,
                      (long long)r[0], c->first);
                if (c->n == 2)
                        CHECK(r[1] == secs(c->second), "%s %s: second %lld, want %s", c->zone,
                              c->local, (long long)r[1], c->second);
        }
}

/* Every instant must be found again from its own local reading. */
static void test_resolve_roundtrip(void **state)
{
        static const char *const zones[] = {"Europe/Warsaw", "Australia/Lord_Howe",
                                            "America/Santiago", "Pacific/Apia", "Europe/Dublin"};

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(zones); i++) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;

                if (!have_zone(zones[i]))
                        continue;
                tz = load(zones[i]);
                for (int64_t t = secs("1900-01-01T00:00:00"); t < secs("2100-01-01T00:00:00");
                     t += 86400 * 7 + 3599) {
                        int32_t off = cw_tz_utoff(tz, t);
                        cw_time r[2];
                        int n = cw_tz_resolve(tz, t + off, r);

                        CHECK(n >= 1 && (r[0] == t || (n == 2 && r[1] == t)),
                              "%s: %lld not found again (%d answers)", zones[i], (long long)t, n);
                }
        }
}

/* Extreme inputs must neither crash nor overflow. */
static void test_extremes(void **state)
{
        static const int64_t ts[] = {INT64_MIN,
                                     INT64_MIN + 1,
                                     -((int64_t)1 << 60),
                                     ((int64_t)1 << 52) + 5,
                                     (int64_t)1 << 60,
                                     INT64_MAX - 1,
                                     INT64_MAX};
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        cw_error err;

        (void)state;
        assert_int_equal(cw_tz_from_posix(NULL, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", &tz, &err),
                         0);
        for (size_t i = 0; i < CW_ARRAY_SIZE(ts); i++) {
                cw_tz_period p;
                cw_time r[2];

                cw_tz_lookup(tz, ts[i], &p);
                assert_true(p.start <= ts[i] && (ts[i] < p.end || p.end == INT64_MAX));
                (void)cw_tz_resolve(tz, ts[i], r);
        }
}

/* ---- POSIX TZ strings --------------------------------------------------- */

typedef struct posix_point {
        const char *at;
        int32_t utoff;
        bool isdst;
        const char *abbr;
} posix_point;

typedef struct posix_case {
        const char *tz;
        posix_point points[5];
} posix_case;

/* Expected values from glibc: TZ='...' date -d @... */
static const posix_case posix_cases[] = {
        {"CET-1CEST,M3.5.0,M10.5.0/3",
         {{"2027-03-28T00:59:59", 3600, false, "CET"},
          {"2027-03-28T01:00:00", 7200, true, "CEST"},
          {"2027-10-31T01:00:00", 3600, false, "CET"}}},
        {"<+0330>-3:30", {{"2027-06-01T00:00:00", 12600, false, "+0330"}}},
        {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
         {{"2027-03-28T00:59:59", -10800, false, "-03"},
          {"2027-03-28T01:00:00", -7200, true, "-02"},
          {"2027-10-31T00:59:59", -7200, true, "-02"},
          {"2027-10-31T01:00:00", -10800, false, "-03"}}},
        {"EET-2EEST,M3.4.4/50,M10.4.4/50",
         {{"2027-03-26T23:59:59", 7200, false, "EET"},
          {"2027-03-27T00:00:00", 10800, true, "EEST"},
          {"2027-10-29T22:59:59", 10800, true, "EEST"},
          {"2027-10-29T23:00:00", 7200, false, "EET"}}},
        /* Jn never counts February 29; n does. */
        {"AAA3BBB,J60/0,J300/0",
         {{"2028-03-01T02:59:59", -10800, false, "AAA"},
          {"2028-03-01T03:00:00", -7200, true, "BBB"},
          {"2027-03-01T03:00:00", -7200, true, "BBB"},
          {"2028-10-27T01:59:59", -7200, true, "BBB"},
          {"2028-10-27T02:00:00", -10800, false, "AAA"}}},
        {"AAA3BBB,59/0,299/0",
         {{"2028-02-29T02:59:59", -10800, false, "AAA"},
          {"2028-02-29T03:00:00", -7200, true, "BBB"},
          {"2027-03-01T03:00:00", -7200, true, "BBB"},
          {"2028-10-26T01:59:59", -7200, true, "BBB"},
          {"2028-10-26T02:00:00", -10800, false, "AAA"}}},
        {"IST-1GMT0,M10.5.0,M3.5.0/1",
         {{"2027-01-15T00:00:00", 0, true, "GMT"},
          {"2027-03-28T01:00:00", 3600, false, "IST"},
          {"2027-10-31T00:59:59", 3600, false, "IST"},
          {"2027-10-31T01:00:00", 0, true, "GMT"}}},
        /* No rule: the US rule. */
        {"EST5EDT",
         {{"2027-03-14T06:59:59", -18000, false, "EST"},
          {"2027-03-14T07:00:00", -14400, true, "EDT"}}},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
         {{"2027-07-01T00:00:00", 37800, false, "+1030"},
          {"2027-12-25T00:00:00", 39600, true, "+11"}}},
        /* DST all year round, as zic writes it. */
        {"EST5EDT,0/0,J365/25",
         {{"2027-01-01T02:00:00", -14400, true, "EDT"},
          {"2027-07-01T00:00:00", -14400, true, "EDT"},
          {"2027-12-31T23:00:00", -14400, true, "EDT"}}},
        {"<-00>0", {{"2027-06-01T00:00:00", 0, false, "-00"}}},
        {"EST+5:00:00EDT+4,M3.2.0/+2:00:00,M11.1.0/167",
         {{"2027-11-14T02:59:59", -14400, true, "EDT"},
          {"2027-11-14T03:00:00", -18000, false, "EST"}}},
};

static void test_posix(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(posix_cases); i++) {
                const posix_case *c = &posix_cases[i];
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_error err;
                int r = cw_tz_from_posix(NULL, c->tz, &tz, &err);

                CHECK(r == 0, "'%s': %d %s", c->tz, r, err.msg);
                assert_string_equal(cw_tz_name(tz), c->tz);
                for (size_t j = 0; j < CW_ARRAY_SIZE(c->points) && c->points[j].at; j++) {
                        const posix_point *pt = &c->points[j];
                        cw_tz_period p;

                        cw_tz_lookup(tz, secs(pt->at), &p);
                        CHECK(p.utoff == pt->utoff && p.isdst == pt->isdst &&
                                      strcmp(p.abbr, pt->abbr) == 0,
                              "'%s' at %s: got %d %d %s", c->tz, pt->at, p.utoff, p.isdst, p.abbr);
                }
        }
}

static void test_posix_all_year_dst(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        cw_tz_period p;
        cw_time r[2];
        int32_t lo, hi;

        (void)state;
        assert_int_equal(cw_tz_from_posix("x", "EST5EDT,0/0,J365/25", &tz, NULL), 0);
        cw_tz_lookup(tz, secs("2027-06-01T00:00:00"), &p);
        assert_true(p.start == INT64_MIN && p.end == INT64_MAX);
        assert_int_equal(cw_tz_resolve(tz, secs("2027-01-01T00:30:00"), r), 1);
        assert_int_equal(r[0], secs("2027-01-01T04:30:00"));
        cw_tz_offset_range(tz, &lo, &hi);
        assert_int_equal(lo, -18000);
        assert_int_equal(hi, -14400);
}

/* Regression (found by fuzzing): DST ends on day 365 at the instant it
 * starts again on day 0 of the next year, except in leap years, where day
 * 365 is December 31. So standard time lasts one day every four years,
 * and the periods around must be found however far apart the changes. */
static void test_posix_sparse_switches(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        cw_tz_period p;

        (void)state;
        assert_int_equal(cw_tz_from_posix("x", "EST1EDT1,0,365", &tz, NULL), 0);
        cw_tz_lookup(tz, secs("2027-06-01T00:00:00"), &p);
        assert_true(p.isdst);
        assert_int_equal(p.start, secs("2025-01-01T03:00:00"));
        assert_int_equal(p.end, secs("2028-12-31T03:00:00"));
        cw_tz_lookup(tz, secs("2028-12-31T12:00:00"), &p);
        assert_false(p.isdst);
        assert_int_equal(p.start, secs("2028-12-31T03:00:00"));
        assert_int_equal(p.end, secs("2029-01-01T03:00:00"));
        /* 2100 is not a leap year: eight years of DST. */
        cw_tz_lookup(tz, secs("2100-06-01T00:00:00"), &p);
        assert_int_equal(p.start, secs("2097-01-01T03:00:00"));
        assert_int_equal(p.end, secs("2104-12-31T03:00:00"));
}

typedef struct bad_posix {
        const char *tz;
        int col;
} bad_posix;

static const bad_posix bad_posix_cases[] = {
        {"", 0},
        {"CE", 0},
        {"CET", 3},
        {"C1T-1", 0},
        {"CET-25", 4},
        {"CET-1:60", 6},
        {"CET-1CEST,M3.5.0", 16},
        {"CET-1CEST,M13.5.0,M10.5.0", 11},
        {"CET-1CEST,M0.5.0,M10.5.0", 11},
        {"CET-1CEST,M3.6.0,M10.5.0", 13},
        {"CET-1CEST,M3.0.0,M10.5.0", 13},
        {"CET-1CEST,M3.5.7,M10.5.0", 15},
        {"CET-1CEST,M3.5,M10.5.0", 14},
        {"CET-1CEST,M3.5.0/168,M10.5.0", 17},
        {"CET-1CEST,M3.5.0/-168,M10.5.0", 18},
        {"CET-1CEST,J0,J365", 11},
        {"CET-1CEST,J366,J365", 11},
        {"CET-1CEST,366,0", 10},
        {"CET-1CEST,X,M10.5.0", 10},
        {"CET-1CEST,M3.5.0,M10.5.0x", 24},
        {"CET-1CEST,M3.5.0,M10.5.0,", 24},
        {"CET-1CEST;M3.5.0,M10.5.0", 9},
        {"CET-1 ", 5},
        {"<+03", 4},
        {"<+0>-3", 1},
        {"<+03!>-3", 4},
        {"ABCDEFGHIJKLMNOP5", 0},
        {"EST5EDT,", 8},
        {"EST5ED", 4},
        {"EST5EDT4:", 9},
        {"EST", 3},
        {"EST1234", 3},
};

static void test_posix_invalid(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(bad_posix_cases); i++) {
                const bad_posix *c = &bad_posix_cases[i];
                cw_tz *tz = (cw_tz *)&tz; /* must stay untouched */
                cw_error err;
                int r = cw_tz_from_posix(NULL, c->tz, &tz, &err);

                CHECK(r == -EINVAL, "'%s' accepted", c->tz);
                CHECK(tz == (cw_tz *)&tz, "'%s': *ret touched", c->tz);
                CHECK(err.col == c->col, "'%s': col %d, want %d (%s)", c->tz, err.col, c->col,
                      err.msg);
                CHECK(strstr(err.msg, "TZ string") != NULL, "'%s': message '%s'", c->tz, err.msg);
        }
}

static uint64_t rng_next(uint64_t *state)
{
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        return *state >> 33;
}

/* A random rule string: mostly valid pieces, sometimes garbage. */
static void random_rule(uint64_t *rng, char *out, size_t size)
{
        static const char *const names[] = {"AAA", "<+03>", "<-0330>", "B", "<x>", "CCCC"};
        static const char *const offs[] = {"3", "-1", "+5:30", "-14", "24", "0", "-10:30:15"};
        static const char *const dates[] = {"M3.5.0", "M10.1.0", "M2.5.6", "J1",
                                            "J365",   "J60",     "0",      "365",
                                            "59",     "M12.5.6", "M1.1.0"};
        static const char *const times[] = {"",    "/0",  "/-2",   "/167",     "/-167",
                                            "/25", "/24", "/2:30", "/-0:30:01"};
        const char *garbage = rng_next(rng) % 20 == 0 ? ",x" : "";

        if (rng_next(rng) % 4 == 0)
                snprintf(out, size, "%s%s%s", names[rng_next(rng) % 6], offs[rng_next(rng) % 7],
                         garbage);
        else
                snprintf(out, size, "%s%s%s%s,%s%s,%s%s%s", names[rng_next(rng) % 6],
                         offs[rng_next(rng) % 7], names[rng_next(rng) % 6],
                         rng_next(rng) % 2 ? offs[rng_next(rng) % 7] : "",
                         dates[rng_next(rng) % 11], times[rng_next(rng) % 9],
                         dates[rng_next(rng) % 11], times[rng_next(rng) % 9], garbage);
}

/* Whatever the rule (switches on the same day, a week into the next
 * year, in either order), periods must tile time and every instant must
 * be found again from its local reading. */
static void test_posix_random(void **state)
{
        uint64_t rng = 42;
        int parsed = 0;

        (void)state;
        for (int i = 0; i < 4000; i++) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                char rule[128];
                cw_tz_period p, q;

                random_rule(&rng, rule, sizeof(rule));
                if (cw_tz_from_posix(NULL, rule, &tz, NULL) < 0)
                        continue;
                parsed++;
                cw_tz_lookup(tz, secs("2026-12-20T00:00:00") + (int64_t)rng_next(&rng) % 86400, &p);
                for (int k = 0; k < 12 && p.end != INT64_MAX; k++) {
                        cw_time r[2];
                        int64_t t = p.end - 1;
                        int n = cw_tz_resolve(tz, t + p.utoff, r);

                        CHECK(n >= 1 && (r[0] == t || (n == 2 && r[1] == t)),
                              "'%s': %lld not found again", rule, (long long)t);
                        cw_tz_lookup(tz, p.end, &q);
                        CHECK(q.start == p.end, "'%s': periods do not tile at %lld", rule,
                              (long long)p.end);
                        CHECK(q.isdst != p.isdst, "'%s': no change at %lld", rule,
                              (long long)p.end);
                        p = q;
                }
        }
        CHECK(parsed > 1500, "only %d random rules parsed", parsed);
}

/* ---- names, system zone, built-ins -------------------------------------- */

static void test_names_invalid(void **state)
{
        static const char *const names[] = {
                "",
                "../etc/passwd",
                "/etc/passwd",
                "Europe/../../etc/passwd",
                "Europe//Warsaw",
                "Europe/Warsaw/",
                "Europe/./Warsaw",
                "./UTC",
                "..",
                "Europe/Wars aw",
                "Europe/Warsaw\n",
                "Europe\\Warsaw",
                "Europe/Warsaw;rm",
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++) {
                cw_tz *tz = NULL;
                cw_error err;
                int r = cw_tz_load(names[i], NULL, &tz, &err);

                CHECK(r == -EINVAL, "name '%s': %d", names[i], r);
                CHECK(tz == NULL, "name '%s' produced a zone", names[i]);
                CHECK(err.msg[0] != '\0', "name '%s': no message", names[i]);
        }
}

static void test_unknown_zone(void **state)
{
        cw_tz *tz = NULL;
        cw_error err;

        (void)state;
        assert_int_equal(cw_tz_load("Europe/Warsw", NULL, &tz, &err), -ENOENT);
        assert_null(tz);
        assert_non_null(strstr(err.msg, "unknown time zone 'Europe/Warsw'"));
        if (have_zone("Europe")) {
                assert_int_equal(cw_tz_load("Europe", NULL, &tz, &err), -ENOENT);
                assert_non_null(strstr(err.msg, "unknown time zone 'Europe'"));
        }
}

static void test_builtin(void **state)
{
        static const char *const names[] = {"UTC", "Etc/UTC", "GMT", "Z"};

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_tz_period p;
                cw_time r[2];
                int32_t lo, hi;

                /* No such directory: these names must not need files. */
                assert_int_equal(cw_tz_load(names[i], "/nonexistent", &tz, NULL), 0);
                assert_string_equal(cw_tz_name(tz), names[i]);
                cw_tz_lookup(tz, 0, &p);
                assert_int_equal(p.utoff, 0);
                assert_false(p.isdst);
                assert_string_equal(p.abbr, strcmp(names[i], "GMT") == 0 ? "GMT" : "UTC");
                assert_true(p.start == INT64_MIN && p.end == INT64_MAX);
                assert_int_equal(cw_tz_resolve(tz, 12345, r), 1);
                assert_int_equal(r[0], 12345);
                cw_tz_offset_range(tz, &lo, &hi);
                assert_true(lo == 0 && hi == 0);
        }
        {
                _cleanup_(cw_tz_freep) cw_tz *utc = cw_tz_utc();

                assert_non_null(utc);
                assert_string_equal(cw_tz_name(utc), "UTC");
                assert_int_equal(cw_tz_utoff(utc, INT64_MAX), 0);
        }
        cw_tz_free(NULL);
}

static void test_system(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        cw_error err;

        (void)state;
        /* Whatever the machine is set to, it must load and be named. */
        assert_int_equal(cw_tz_load_system(&tz, &err), 0);
        assert_non_null(tz);
        assert_true(cw_tz_name(tz)[0] != '\0');
        assert_null(strstr(cw_tz_name(tz), "zoneinfo/"));
        /* Watched as /etc/localtime, also when that is missing (UTC). */
        assert_string_equal(cw_tz_source(tz), "/etc/localtime");
}

static void test_offset_range(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        int32_t lo, hi;

        (void)state;
        assert_int_equal(cw_tz_from_posix("x", "CET-1CEST,M3.5.0,M10.5.0/3", &tz, NULL), 0);
        cw_tz_offset_range(tz, &lo, &hi);
        assert_int_equal(lo, 3600);
        assert_int_equal(hi, 7200);
        cw_tz_free(tz);
        tz = NULL;
        if (!have_zone("Pacific/Apia"))
                return;
        tz = load("Pacific/Apia");
        cw_tz_offset_range(tz, &lo, &hi);
        assert_true(lo <= -39600 && hi >= 50400);
}

/* Leap-second zones load; their corrections are ignored. Their footer is
 * empty (no POSIX string can describe leap seconds) and their table stops
 * where the leap-second list expires, so like glibc the last type then
 * stays forever; only the past is compared. */
static void test_right_zone(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *right = NULL, *plain = NULL;

        (void)state;
        if (!have_zone("right/Europe/Warsaw") || !have_zone("Europe/Warsaw"))
                skip();
        right = load("right/Europe/Warsaw");
        plain = load("Europe/Warsaw");
        assert_int_equal(cw_tz_utoff(right, secs("2027-07-01T00:00:00")), 7200);
        assert_int_equal(cw_tz_utoff(right, secs("2020-01-01T00:00:00")), 3600);
        assert_int_equal(cw_tz_utoff(plain, secs("1990-07-01T00:00:00")),
                         cw_tz_utoff(right, secs("1990-07-01T00:00:00")));
}

/* ---- TZif files built by hand -------------------------------------------- */

typedef struct buf {
        uint8_t data[8192];
        size_t len;
} buf;

static void put(buf *b, const void *p, size_t n)
{
        assert_true(b->len + n <= sizeof(b->data));
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

static void put32(buf *b, uint32_t v)
{
        uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

        put(b, x, 4);
}

static void put64(buf *b, int64_t v)
{
        put32(b, (uint32_t)((uint64_t)v >> 32));
        put32(b, (uint32_t)v);
}

typedef struct tzif_spec {
        char version; /* 0, '2', '3', '4' */
        size_t n_trans;
        int64_t trans[4];
        uint8_t idx[4];
        size_t n_types;
        int32_t utoff[3];
        uint8_t isdst[3];
        uint8_t abbr_idx[3];
        size_t n_chars;
        const char *chars;
        size_t n_leap;
        const char *footer; /* without the newlines; NULL for v1 */
} tzif_spec;

/* Where the fields of the newest block landed, for corrupting them. */
typedef struct tzif_layout {
        size_t header; /* its header */
        size_t trans;  /* first transition time */
        size_t idx;    /* first transition type index */
        size_t types;  /* first type record */
        size_t chars;
        size_t footer; /* the '\n' opening the footer */
        unsigned tsize;
} tzif_layout;

static void put_block(buf *b, const tzif_spec *s, unsigned tsize, tzif_layout *l)
{
        l->header = b->len;
        put(b, "TZif", 4);
        put(b, &s->version, 1);
        put(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
        put32(b, (uint32_t)s->n_types); /* isutcnt */
        put32(b, (uint32_t)s->n_types); /* isstdcnt */
        put32(b, (uint32_t)s->n_leap);
        put32(b, (uint32_t)s->n_trans);
        put32(b, (uint32_t)s->n_types);
        put32(b, (uint32_t)s->n_chars);
        l->trans = b->len;
        l->tsize = tsize;
        for (size_t i = 0; i < s->n_trans; i++)
                tsize == 8 ? put64(b, s->trans[i]) : put32(b, (uint32_t)s->trans[i]);
        l->idx = b->len;
        put(b, s->idx, s->n_trans);
        l->types = b->len;
        for (size_t i = 0; i < s->n_types; i++) {
                put32(b, (uint32_t)s->utoff[i]);
                put(b, &s->isdst[i], 1);
                put(b, &s->abbr_idx[i], 1);
        }
        l->chars = b->len;
        put(b, s->chars, s->n_chars);
        for (size_t i = 0; i < s->n_leap; i++) {
                tsize == 8 ? put64(b, 78796800 + (int64_t)i * 15811200)
                           : put32(b, (uint32_t)(78796800 + i * 15811200));
                put32(b, (uint32_t)i + 1);
        }
        for (size_t i = 0; i < s->n_types; i++)
                put(b, "\0", 1);
        for (size_t i = 0; i < s->n_types; i++)
                put(b, "\0", 1);
}

static void build(buf *b, const tzif_spec *s, tzif_layout *l)
{
        b->len = 0;
        put_block(b, s, 4, l);
        if (s->version == 0)
                return;
        put_block(b, s, 8, l);
        l->footer = b->len;
        put(b, "\n", 1);
        put(b, s->footer, strlen(s->footer));
        put(b, "\n", 1);
}

/* A small CET/CEST zone: LMT, then CET from 1900, CEST in 2000. */
static const tzif_spec base_spec = {
        .version = '2',
        .n_trans = 3,
        .trans = {-2100000000, 954032400, 972781200},
        .idx = {1, 2, 1},
        .n_types = 3,
        .utoff = {5040, 3600, 7200},
        .isdst = {0, 0, 1},
        .abbr_idx = {0, 4, 8},
        .n_chars = 13,
        .chars = "LMT\0CET\0CEST",
        .footer = "CET-1CEST,M3.5.0,M10.5.0/3",
};

typedef struct tmpdir {
        char path[200];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
        const char *base = getenv("TMPDIR");
        int n = snprintf(d->path, sizeof(d->path), "%s/cw-test-tz-XXXXXX",
                         base && *base ? base : "/tmp");

        assert_true(n > 0 && (size_t)n < sizeof(d->path) - 16);
        assert_non_null(mkdtemp(d->path));
}

static void tmpdir_remove(tmpdir *d)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/zone", d->path);
        unlink(p);
        snprintf(p, sizeof(p), "%s/fifo", d->path);
        unlink(p);
        rmdir(d->path);
}

static int load_bytes(tmpdir *d, const uint8_t *data, size_t len, cw_tz **ret, cw_error *err)
{
        char p[256];
        FILE *f;

        snprintf(p, sizeof(p), "%s/zone", d->path);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        return cw_tz_load("zone", d->path, ret, err);
}

static void test_tzif_synthetic(void **state)
{
        static const char versions[] = {'2', '3', '4', '9', 0};
        tmpdir d;

        (void)state;
        tmpdir_make(&d);
        for (size_t v = 0; v < CW_ARRAY_SIZE(versions); v++) {
                tzif_spec s = base_spec;
                tzif_layout l;
                buf b;
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                cw_error err;
                int r;

                s.version = versions[v];
                s.n_leap = 2; /* skipped, but must be sized right */
                build(&b, &s, &l);
                r = load_bytes(&d, b.data, b.len, &tz, &err);
                CHECK(r == 0, "version %d: %d %s", versions[v], r, err.msg);
                assert_int_equal(cw_tz_utoff(tz, -2100000001), 5040);
                assert_int_equal(cw_tz_utoff(tz, 0), 3600);
                assert_int_equal(cw_tz_utoff(tz, 954032400), 7200);
                assert_int_equal(cw_tz_utoff(tz, 972781200), 3600);
                /* The footer only exists from version 2: v1 keeps CET. */
                assert_int_equal(cw_tz_utoff(tz, secs("2027-07-01T00:00:00")),
                                 versions[v] ? 7200 : 3600);
        }
        tmpdir_remove(&d);
}

/* Every prefix of a valid file must be refused, never crash. */
static void expect_truncations_fail(tmpdir *d, const uint8_t *data, size_t len)
{
        for (size_t n = 0; n < len; n++) {
                cw_tz *tz = NULL;
                cw_error err;
                int r = load_bytes(d, data, n, &tz, &err);

                CHECK(r == -EINVAL, "prefix of %zu of %zu bytes: %d", n, len, r);
                CHECK(tz == NULL, "prefix of %zu bytes produced a zone", n);
                CHECK(strstr(err.msg, "invalid time zone file") != NULL, "message '%s'", err.msg);
        }
}

static void test_tzif_truncated(void **state)
{
        tzif_layout l;
        buf b;
        tmpdir d;

        (void)state;
        tmpdir_make(&d);
        build(&b, &base_spec, &l);
        expect_truncations_fail(&d, b.data, b.len);
        if (have_zone("Europe/Warsaw")) {
                FILE *f = fopen(CW_TZ_DIR "/Europe/Warsaw", "re");

                assert_non_null(f);
                b.len = fread(b.data, 1, sizeof(b.data), f);
                fclose(f);
                expect_truncations_fail(&d, b.data, b.len);
        }
        tmpdir_remove(&d);
}

static void set32(buf *b, size_t at, uint32_t v)
{
        b->data[at] = (uint8_t)(v >> 24);
        b->data[at + 1] = (uint8_t)(v >> 16);
        b->data[at + 2] = (uint8_t)(v >> 8);
        b->data[at + 3] = (uint8_t)v;
}

typedef enum corruption {
        BAD_MAGIC,
        BAD_MAGIC_V2,
        TIMECNT_HUGE,
        TYPECNT_HUGE,
        CHARCNT_HUGE,
        LEAPCNT_HUGE,
        TYPECNT_ZERO,
        CHARCNT_ZERO,
        ISUTCNT_ODD,
        ISSTDCNT_ODD,
        TYPE_INDEX,
        ABBR_INDEX,
        ABBR_UNTERMINATED,
        NOT_ASCENDING,
        EQUAL_TIMES,
        UTOFF_RANGE,
        UTOFF_MIN,
        ISDST_TWO,
        FOOTER_BAD,
        FOOTER_NO_NEWLINE,
        FOOTER_MISSING,
        FOOTER_NUL,
        V1_TIMECNT_HUGE,
        N_CORRUPTIONS,
} corruption;

static void corrupt(buf *b, const tzif_layout *l, corruption c)
{
        switch (c) {
        case BAD_MAGIC:
                b->data[1] = 'X';
                break;
        case BAD_MAGIC_V2:
                b->data[l->header + 3] = 'g';
                break;
        case TIMECNT_HUGE:
                set32(b, l->header + 32, 0xffffffff);
                break;
        case TYPECNT_HUGE:
                set32(b, l->header + 36, 0x10000001);
                break;
        case CHARCNT_HUGE:
                set32(b, l->header + 40, 0xfffffff0);
                break;
        case LEAPCNT_HUGE:
                set32(b, l->header + 28, 0x20000000);
                break;
        case TYPECNT_ZERO:
                set32(b, l->header + 20, 0);
                set32(b, l->header + 24, 0);
                set32(b, l->header + 36, 0);
                break;
        case CHARCNT_ZERO:
                set32(b, l->header + 40, 0);
                break;
        case ISUTCNT_ODD:
                set32(b, l->header + 20, 1);
                break;
        case ISSTDCNT_ODD:
                set32(b, l->header + 24, 2);
                break;
        case TYPE_INDEX:
                b->data[l->idx + 1] = 3;
                break;
        case ABBR_INDEX:
                b->data[l->types + 6 + 5] = 13;
                break;
        case ABBR_UNTERMINATED:
                b->data[l->chars + 12] = 'X';
                break;
        case NOT_ASCENDING:
                set32(b, l->trans + 8 + 4, 0x7ffffff0);
                break;
        case EQUAL_TIMES:
                memcpy(b->data + l->trans + 8, b->data + l->trans, 8);
                break;
        case UTOFF_RANGE:
                set32(b, l->types, 100000);
                break;
        case UTOFF_MIN:
                set32(b, l->types, 0x80000000);
                break;
        case ISDST_TWO:
                b->data[l->types + 4] = 2;
                break;
        case FOOTER_BAD:
                b->data[l->footer + 10] = ';';
                break;
        case FOOTER_NO_NEWLINE:
                b->len--;
                break;
        case FOOTER_MISSING:
                b->len = l->footer;
                break;
        case FOOTER_NUL:
                b->data[l->footer + 4] = '\0';
                break;
        case V1_TIMECNT_HUGE:
                set32(b, 32, 0x7fffffff);
                break;
        case N_CORRUPTIONS:
                break;
        }
}

static void test_tzif_corrupt(void **state)
{
        tmpdir d;

        (void)state;
        tmpdir_make(&d);
        for (int c = 0; c < N_CORRUPTIONS; c++) {
                cw_tz *tz = NULL;
                cw_error err;
                tzif_layout l;
                buf b;
                int r;

                build(&b, &base_spec, &l);
                corrupt(&b, &l, (corruption)c);
                r = load_bytes(&d, b.data, b.len, &tz, &err);
                CHECK(r == -EINVAL, "corruption %d accepted (%d)", c, r);
                CHECK(tz == NULL, "corruption %d produced a zone", c);
                CHECK(strstr(err.msg, "invalid time zone file '") == err.msg,
                      "corruption %d: message '%s'", c, err.msg);
        }
        tmpdir_remove(&d);
}

/* Random byte damage to a real file: any outcome but a crash or a zone
 * whose periods do not hold together. */
static void test_tzif_mutations(void **state)
{
        uint64_t rng = 0x2027032802300000ULL;
        uint8_t orig[8192];
        size_t len;
        tmpdir d;
        FILE *f;

        (void)state;
        if (!have_zone("Europe/Warsaw"))
                skip();
        f = fopen(CW_TZ_DIR "/Europe/Warsaw", "re");
        assert_non_null(f);
        len = fread(orig, 1, sizeof(orig), f);
        fclose(f);
        tmpdir_make(&d);
        for (int i = 0; i < 3000; i++) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
                uint8_t data[8192];
                cw_error err;
                int flips;

                memcpy(data, orig, len);
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                flips = 1 + (int)(rng >> 62);
                for (int k = 0; k < flips; k++) {
                        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        data[(rng >> 33) % len] ^= (uint8_t)(1u << ((rng >> 20) & 7));
                }
                if (load_bytes(&d, data, len, &tz, &err) < 0)
                        continue;
                for (int64_t t = -4000000000; t < 8000000000; t += 500000000) {
                        cw_tz_period p;
                        cw_time r[2];

                        cw_tz_lookup(tz, t, &p);
                        assert_true(p.start <= t && t < p.end);
                        (void)cw_tz_resolve(tz, t, r);
                }
        }
        tmpdir_remove(&d);
}

static void test_tzif_special_files(void **state)
{
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        cw_error err;
        char p[256];
        tmpdir d;

        (void)state;
        tmpdir_make(&d);
        /* A FIFO must not hang the loader. */
        snprintf(p, sizeof(p), "%s/fifo", d.path);
        assert_int_equal(mkfifo(p, 0600), 0);
        assert_int_equal(cw_tz_load("fifo", d.path, &tz, &err), -EINVAL);
        /* Text files in the zoneinfo tree are not zones. */
        assert_int_equal(load_bytes(&d, (const uint8_t *)"# tzdb\n", 7, &tz, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "bad magic"));
        tmpdir_remove(&d);
}

/* Writes text to dir/name (a version file for cw_tz_db_version). */
static void put_file(const tmpdir *d, const char *name, const char *text)
{
        char p[256];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", d->path, name);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void drop_file(const tmpdir *d, const char *name)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/%s", d->path, name);
        unlink(p);
}

/* tzdata.zi's first line wins over +VERSION; anything not a plain
 * version is refused, and nothing at all is -ENOENT. */
static void test_db_version(void **state)
{
        static const struct {
                const char *zi, *plus, *want;
                int r;
        } cases[] = {
                {NULL, NULL, NULL, -ENOENT},
                {"# version 2024a\n# more\n", NULL, "2024a", 0},
                {NULL, "2023c\n", "2023c", 0},
                {"# version 2025b\n", "2023c\n", "2025b", 0},
                {"# Version 2025b\n", NULL, NULL, -EINVAL},
                {"# version \n", NULL, NULL, -EINVAL},
                {NULL, "20 23c\n", NULL, -EINVAL},
                {NULL, "../etc\n", NULL, -EINVAL},
        };
        tmpdir d;

        (void)state;
        tmpdir_make(&d);
        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                char got[64] = "untouched";
                int r;

                if (cases[i].zi)
                        put_file(&d, "tzdata.zi", cases[i].zi);
                if (cases[i].plus)
                        put_file(&d, "+VERSION", cases[i].plus);
                r = cw_tz_db_version(d.path, got, sizeof(got));
                CHECK(r == cases[i].r, "case %zu: %d", i, r);
                CHECK(strcmp(got, cases[i].want ? cases[i].want : "untouched") == 0, "case %zu: %s",
                      i, got);
                drop_file(&d, "tzdata.zi");
                drop_file(&d, "+VERSION");
        }
        put_file(&d, "+VERSION", "2024a\n");
        {
                char small[4];

                assert_int_equal(cw_tz_db_version(d.path, small, sizeof(small)), -ENAMETOOLONG);
        }
        drop_file(&d, "+VERSION");
        rmdir(d.path);
}

/* A zone knows its file and its database's version; same rules compare
 * equal whatever the name (Poland is a link to Europe/Warsaw). */
static void test_provenance(void **state)
{
        char want[64], path[256];
        _cleanup_(cw_tz_freep) cw_tz *a = NULL;
        _cleanup_(cw_tz_freep) cw_tz *b = NULL;
        _cleanup_(cw_tz_freep) cw_tz *c = NULL;
        _cleanup_(cw_tz_freep) cw_tz *utc = NULL;
        cw_error err;

        (void)state;
        assert_int_equal(cw_tz_load("UTC", NULL, &utc, &err), 0);
        assert_null(cw_tz_source(utc));
        assert_null(cw_tz_version(utc));
        if (!have_zone("Europe/Warsaw") || !have_zone("Poland") || !have_zone("Europe/Lisbon"))
                skip();
        a = load("Europe/Warsaw");
        b = load("Poland");
        c = load("Europe/Lisbon");
        snprintf(path, sizeof(path), "%s/Europe/Warsaw", CW_TZ_DIR);
        assert_string_equal(cw_tz_source(a), path);
        if (cw_tz_db_version(NULL, want, sizeof(want)) == 0)
                assert_string_equal(cw_tz_version(a), want);
        else
                assert_null(cw_tz_version(a));
        assert_true(cw_tz_same_rules(a, b));
        assert_true(cw_tz_same_rules(a, a));
        assert_false(cw_tz_same_rules(a, c));
        assert_false(cw_tz_same_rules(a, utc));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_offsets),
                cmocka_unit_test(test_periods),
                cmocka_unit_test(test_period_walk),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_resolve_roundtrip),
                cmocka_unit_test(test_extremes),
                cmocka_unit_test(test_posix),
                cmocka_unit_test(test_posix_all_year_dst),
                cmocka_unit_test(test_posix_sparse_switches),
                cmocka_unit_test(test_posix_invalid),
                cmocka_unit_test(test_posix_random),
                cmocka_unit_test(test_names_invalid),
                cmocka_unit_test(test_unknown_zone),
                cmocka_unit_test(test_builtin),
                cmocka_unit_test(test_system),
                cmocka_unit_test(test_offset_range),
                cmocka_unit_test(test_right_zone),
                cmocka_unit_test(test_tzif_synthetic),
                cmocka_unit_test(test_tzif_truncated),
                cmocka_unit_test(test_tzif_corrupt),
                cmocka_unit_test(test_tzif_mutations),
                cmocka_unit_test(test_tzif_special_files),
                cmocka_unit_test(test_db_version),
                cmocka_unit_test(test_provenance),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
