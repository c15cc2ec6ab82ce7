/* test_timespec.c - time-spec parsing (fields, names, L, #, H, macros,
 * every, at, errors with columns) and next-fire computation in UTC. DST
 * cases live in test_timespec_dst.c. */
#include "test_helpers.h"

static void test_cron_basics(void **state _unused_)
{
        expect_fires("*/5 * * * *", NULL, "UTC", "2026-11-21T06:02:00Z",
                     FIRES("2026-11-21T06:05:00+00:00", "2026-11-21T06:10:00+00:00",
                           "2026-11-21T06:15:00+00:00"));
        /* Strictly after: from an exact fire, the next one. */
        expect_fires("*/5 * * * *", NULL, "UTC", "2026-11-21T06:05:00Z",
                     FIRES("2026-11-21T06:10:00+00:00"));
        expect_fires("15 5 * * *", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-22T05:15:00+00:00", "2026-11-23T05:15:00+00:00"));
        expect_fires("0 0 29 2 *", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00",
                           "2036-02-29T00:00:00+00:00"));
        expect_fires("0 0 29 2 *", NULL, "UTC", "2096-03-01T00:00:00Z",
                     FIRES("2104-02-29T00:00:00+00:00")); /* 2100 is not a leap year */
        expect_fires("0 9 * * MON-FRI", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-23T09:00:00+00:00", "2026-11-24T09:00:00+00:00",
                           "2026-11-25T09:00:00+00:00", "2026-11-26T09:00:00+00:00",
                           "2026-11-27T09:00:00+00:00", "2026-11-30T09:00:00+00:00"));
        expect_fires("5-20/5,45 * * * *", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-21T06:05:00+00:00", "2026-11-21T06:10:00+00:00",
                           "2026-11-21T06:15:00+00:00", "2026-11-21T06:20:00+00:00",
                           "2026-11-21T06:45:00+00:00", "2026-11-21T07:05:00+00:00"));
        expect_fires("10/20 * * * *", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-21T06:10:00+00:00", "2026-11-21T06:30:00+00:00",
                           "2026-11-21T06:50:00+00:00"));
        /* Regression: an explicit one-value range with a step is that value. */
        expect_fires("5-5/2 * * * *", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-01-01T00:05:00+00:00", "2024-01-01T01:05:00+00:00"));
        expect_fires("0 13-13/1 * * *", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-01-01T13:00:00+00:00", "2024-01-02T13:00:00+00:00"));
        expect_fires("0 0 1-1/5 * *", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"));
        expect_fires("0 0 * * 7-SUN/1", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-01-07T00:00:00+00:00"));
        /* a/n in day-of-week runs through 7 (Sunday), as in cronie. */
        expect_fires("0 0 * * 1/2", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-01-03T00:00:00+00:00", "2024-01-05T00:00:00+00:00",
                           "2024-01-07T00:00:00+00:00", "2024-01-08T00:00:00+00:00"));
        expect_fires("0 0 * * 7/3", NULL, "UTC", "2024-01-01T00:00:00Z",
                     FIRES("2024-01-07T00:00:00+00:00"));
        expect_fires("0 0 1 jan,Jul *", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2027-01-01T00:00:00+00:00", "2027-07-01T00:00:00+00:00",
                           "2028-01-01T00:00:00+00:00"));
        expect_fires("0 0 31 12 *", NULL, "UTC", "2026-12-31T00:00:00Z",
                     FIRES("2027-12-31T00:00:00+00:00"));
        expect_fires("59 23 31 12 *", NULL, "UTC", "2026-12-31T23:59:00Z",
                     FIRES("2027-12-31T23:59:00+00:00"));
}

static void test_cron_days(void **state _unused_)
{
        /* L: last day of the month. */
        expect_fires("0 0 L * *", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-30T00:00:00+00:00", "2026-12-31T00:00:00+00:00",
                           "2027-01-31T00:00:00+00:00", "2027-02-28T00:00:00+00:00",
                           "2027-03-31T00:00:00+00:00"));
        expect_fires("0 0 L 2 *", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2027-02-28T00:00:00+00:00", "2028-02-29T00:00:00+00:00"));
        expect_fires("0 0 1,L * *", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-30T00:00:00+00:00", "2026-12-01T00:00:00+00:00",
                           "2026-12-31T00:00:00+00:00"));
        /* nL / NAMEL: last Friday; MON#2: second Monday. */
        expect_fires("0 12 * * 5L", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-27T12:00:00+00:00", "2026-12-25T12:00:00+00:00",
                           "2027-01-29T12:00:00+00:00"));
        expect_fires("0 12 * * FRIL", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-27T12:00:00+00:00", "2026-12-25T12:00:00+00:00",
                           "2027-01-29T12:00:00+00:00"));
        expect_fires("0 8 * * MON#2", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-12-14T08:00:00+00:00", "2027-01-11T08:00:00+00:00",
                           "2027-02-08T08:00:00+00:00"));
        expect_fires("0 8 * * 1#2,5#1", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-12-04T08:00:00+00:00", "2026-12-14T08:00:00+00:00",
                           "2027-01-01T08:00:00+00:00"));
        /* A fifth weekday exists only in some months. */
        expect_fires("0 0 * * SUN#5", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-29T00:00:00+00:00", "2027-01-31T00:00:00+00:00",
                           "2027-05-30T00:00:00+00:00"));
        /* Vixie: both restricted -> either matches (13th or any Friday). */
        expect_fires("0 0 13 * FRI", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-27T00:00:00+00:00", "2026-12-04T00:00:00+00:00",
                           "2026-12-11T00:00:00+00:00", "2026-12-13T00:00:00+00:00",
                           "2026-12-18T00:00:00+00:00"));
        /* ...but a field starting with '*' means both must match. */
        expect_fires("0 0 */10 * FRI", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-12-11T00:00:00+00:00", "2027-01-01T00:00:00+00:00",
                           "2027-05-21T00:00:00+00:00"));
        expect_fires("0 0 ? * FRI", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-27T00:00:00+00:00"));
        /* 7 and SUN are Sunday; FRI-SUN wraps to Sunday. */
        expect_fires("0 0 * * 7", NULL, "UTC", "2026-11-21T00:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00"));
        expect_fires("0 0 * * 5-7", NULL, "UTC", "2026-11-21T01:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00", "2026-11-27T00:00:00+00:00",
                           "2026-11-28T00:00:00+00:00"));
        expect_fires("0 0 * * FRI-SUN", NULL, "UTC", "2026-11-21T01:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00", "2026-11-27T00:00:00+00:00",
                           "2026-11-28T00:00:00+00:00"));
        expect_fires("0 0 * * 0-7/2", NULL, "UTC", "2026-11-21T01:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00", "2026-11-24T00:00:00+00:00",
                           "2026-11-26T00:00:00+00:00", "2026-11-28T00:00:00+00:00"));
}

static void test_six_fields_and_macros(void **state _unused_)
{
        expect_fires("*/15 * * * * *", NULL, "UTC", "2026-11-21T06:00:07Z",
                     FIRES("2026-11-21T06:00:15+00:00", "2026-11-21T06:00:30+00:00",
                           "2026-11-21T06:00:45+00:00", "2026-11-21T06:01:00+00:00"));
        expect_fires("30 0 12 * * *", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-21T12:00:30+00:00", "2026-11-22T12:00:30+00:00"));
        expect_fires("@hourly", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-21T07:00:00+00:00"));
        expect_fires("@daily", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00"));
        expect_fires("@midnight", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00"));
        expect_fires("@weekly", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00"));
        expect_fires("@monthly", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-12-01T00:00:00+00:00"));
        expect_fires("@yearly", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2027-01-01T00:00:00+00:00"));
        expect_fires("@ANNUALLY", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2027-01-01T00:00:00+00:00"));
        expect_fires("every 90m", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-21T07:30:00+00:00", "2026-11-21T09:00:00+00:00"));
        expect_fires("every 1d2h", NULL, "UTC", "2026-11-21T06:00:00Z",
                     FIRES("2026-11-22T08:00:00+00:00"));
        expect_fires("at 14:00, 11:30", NULL, "UTC", "2026-11-21T12:00:00Z",
                     FIRES("2026-11-21T14:00:00+00:00", "2026-11-22T11:30:00+00:00",
                           "2026-11-22T14:00:00+00:00"));
        expect_fires("at 9:05", NULL, "UTC", "2026-11-21T12:00:00Z",
                     FIRES("2026-11-22T09:05:00+00:00"));
        expect_fires("  0   0  *  * *  ", NULL, "UTC", "2026-11-21T12:00:00Z",
                     FIRES("2026-11-22T00:00:00+00:00"));
}

static void test_kinds_and_flags(void **state _unused_)
{
        static const struct {
                const char *spec;
                cw_timespec_kind kind;
                bool fixed;
                const char *text;
        } t[] = {
                {"0 2 * * *", CW_TIMESPEC_CRON, true, "0 2 * * *"},
                {"*/5 2 * * *", CW_TIMESPEC_CRON, false, "*/5 2 * * *"},
                {"0 * * * *", CW_TIMESPEC_CRON, false, "0 * * * *"},
                {"0 */2 * * *", CW_TIMESPEC_CRON, false, "0 */2 * * *"},
                {"0 1-3 * * *", CW_TIMESPEC_CRON, true, "0 1-3 * * *"},
                {"* 30 2 * * *", CW_TIMESPEC_CRON, true, "* 30 2 * * *"},
                {"H H * * *", CW_TIMESPEC_CRON, true, "H H * * *"},
                {"@daily", CW_TIMESPEC_CRON, true, "@daily"},
                {"@hourly", CW_TIMESPEC_CRON, false, "@hourly"},
                {"@reboot", CW_TIMESPEC_REBOOT, false, "@reboot"},
                {"every  1h30m ", CW_TIMESPEC_EVERY, false, "every 1h30m"},
                {"at 11:30,  14:00", CW_TIMESPEC_AT, true, "at 11:30, 14:00"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_timespec *ts;
                cw_error e;
                assert_int_equal(cw_timespec_parse(t[i].spec, "x", &ts, &e), 0);
                assert_int_equal(cw_timespec_get_kind(ts), t[i].kind);
                assert_int_equal(cw_timespec_is_fixed_time(ts), t[i].fixed);
                assert_string_equal(cw_timespec_text(ts), t[i].text);
                cw_timespec_free(ts);
        }
}

/* The fires of spec seeded by seed within one UTC day, as minutes of the day. */
static int day_minutes(const char *spec, const char *seed, int *out, int max)
{
        cw_timespec *ts;
        cw_tz *utc = cw_tz_utc();
        cw_error e;
        cw_time t = iso("2026-11-22T00:00:00Z") - 1;
        int n = 0;

        assert_int_equal(cw_timespec_parse(spec, seed, &ts, &e), 0);
        while (n < max && cw_timespec_next(ts, utc, t, &t) == 0 && t < iso("2026-11-23T00:00:00Z"))
                out[n++] = (int)(t - iso("2026-11-22T00:00:00Z")) / 60;
        cw_timespec_free(ts);
        cw_tz_free(utc);
        return n;
}

static void test_hash(void **state _unused_)
{
        int a[100], b[100], n;
        int distinct = 0, prev = -1;
        cw_timespec *ts;
        cw_error e;

        /* Stable: same seed, same minute; within range. */
        assert_int_equal(day_minutes("H 3 * * *", "Backup", a, 100), 1);
        assert_int_equal(day_minutes("H 3 * * *", "Backup", b, 100), 1);
        assert_int_equal(a[0], b[0]);
        assert_true(a[0] >= 180 && a[0] < 240);
        /* Different seeds spread out. */
        for (int k = 0; k < 20; k++) {
                char seed[16];
                snprintf(seed, sizeof(seed), "Job%d", k);
                assert_int_equal(day_minutes("H 3 * * *", seed, a, 100), 1);
                distinct += a[0] != prev;
                prev = a[0];
        }
        assert_true(distinct >= 10);
        /* H/15: four fires an hour, 15 minutes apart, first within 0-14. */
        n = day_minutes("H/15 0 * * *", "Sync", a, 100);
        assert_int_equal(n, 4);
        assert_true(a[0] < 15);
        for (int k = 1; k < n; k++)
                assert_int_equal(a[k] - a[k - 1], 15);
        /* H(0-29): within the range. */
        for (int k = 0; k < 50; k++) {
                char seed[16];
                snprintf(seed, sizeof(seed), "J%d", k);
                assert_int_equal(day_minutes("H(0-29) 5 * * *", seed, a, 100), 1);
                assert_true(a[0] >= 300 && a[0] < 330);
        }
        /* H(10-40)/10: values 10+x, 20+x, 30+x, 40+x for some x < 10, capped at 40. */
        n = day_minutes("H(10-40)/10 1 * * *", "Z", a, 100);
        assert_true(n == 3 || n == 4);
        assert_true(a[0] >= 70 && a[0] < 80);
        /* Regression (fuzz_timespec): a step longer than the H range still
         * starts inside it, so the field is never empty. */
        for (int k = 0; k < 40; k++) {
                char seed[16];
                cw_time t;
                cw_tz *utc = cw_tz_utc();
                snprintf(seed, sizeof(seed), "S%d", k);
                assert_int_equal(cw_timespec_parse("0 0 1 H(4-5)/10 *", seed, &ts, &e), 0);
                assert_int_equal(cw_timespec_next(ts, utc, iso("2026-01-01T00:00:00Z"), &t), 0);
                assert_true(t == iso("2026-04-01T00:00:00Z") || t == iso("2026-05-01T00:00:00Z"));
                cw_timespec_free(ts);
                cw_tz_free(utc);
        }
        /* H in the hour field. */
        n = day_minutes("0 H * * *", "Report", a, 100);
        assert_int_equal(n, 1);
        assert_int_equal(a[0] % 60, 0);
        assert_int_equal(cw_timespec_parse("H H H H H", "x", &ts, &e), 0);
        assert_true(cw_timespec_uses_hash(ts));
        cw_timespec_free(ts);
        assert_int_equal(cw_timespec_parse("0 0 * * *", "x", &ts, &e), 0);
        assert_false(cw_timespec_uses_hash(ts));
        cw_timespec_free(ts);
}

static void test_parse_errors(void **state _unused_)
{
        static const struct {
                const char *spec;
                int col, len;
                const char *needle;
        } t[] = {
                {"", 0, 1, "empty"},
                {"   ", 0, 1, "empty"},
                {"* * * *", 0, 7, "expected 5 fields"},
                {"* * * * * * *", 12, 1, "got 7"},
                {"60 * * * *", 0, 2, "60 is out of range 0-59"},
                {"* 24 * * *", 2, 2, "bad hour field"},
                {"* * 0 * *", 4, 1, "bad day-of-month field"},
                {"* * 32 * *", 4, 2, "out of range 1-31"},
                {"* * * 13 *", 6, 2, "bad month field"},
                {"* * * * 8", 8, 1, "out of range 0-7"},
                {"*/0 * * * *", 2, 1, "step must be at least 1"},
                {"*/61 * * * *", 2, 2, "larger than the field's range"},
                {"5-1 * * * *", 0, 3, "range start is after its end"},
                {"* * * FOO *", 6, 3, "unknown month name 'FOO'"},
                {"* * * * FUNDAY", 8, 6, "unknown day name"},
                {"* * * * MO", 8, 2, "unknown day name"},
                {"1,,2 * * * *", 2, 1, "expected a number"},
                {"1, * * * *", 1, 1, "list ends with ','"},
                {"1-2-3 * * * *", 3, 1, "unexpected '-'"},
                {"* * * * L", 8, 1, "'L' needs a weekday"},
                {"* * * * MON#6", 8, 5, "'#' must be followed by 1-5"},
                {"* * * * 1#0", 8, 3, "'#' must be followed by 1-5"},
                {"* * * * 1#12", 8, 3, "'#' must be followed by 1-5"},
                {"H(30-10) * * * *", 0, 8, "range start is after its end"},
                {"H(0-70) * * * *", 4, 2, "70 is out of range"},
                /* Numbers shown as written, never cut. */
                {"H(0-4294967296) * * * *", 4, 10, "4294967296 is out of range 0-59"},
                {"*/4294967296 * * * *", 2, 10, "step 4294967296 is larger"},
                {"H(0-10 * * * *", 6, 1, "expected ')'"},
                {"? * * * *", 0, 1, "bad minute field"},
                {"*/5x * * * *", 3, 1, "unexpected 'x'"},
                {"@foo", 0, 4, "unknown macro '@foo'"},
                {"@daily now", 7, 3, "unexpected text after '@daily'"},
                {"every", 5, 1, "'every' needs a duration"},
                {"every 0s", 6, 2, "at least 1s"},
                {"every 10", 6, 2, "needs a unit"},
                {"every 1h 30m", 9, 3, "unexpected text after the duration"},
                {"every 5q", 7, 1, "unknown unit"},
                {"at", 2, 1, "'at' needs at least one time"},
                {"at 25:00", 3, 5, "out of range"},
                {"at 11:60", 3, 5, "out of range"},
                {"at 11:30 14:00", 9, 1, "expected ','"},
                {"at 11:30, 11:30", 10, 5, "listed twice"},
                {"at 1130", 3, 4, "expected a time HH:MM"},
                {"at 11:3", 3, 4, "expected a time HH:MM"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_timespec *ts = (cw_timespec *)0x1;
                cw_error e;
                int r = cw_timespec_parse(t[i].spec, "", &ts, &e);
                if (r != -EINVAL)
                        fail_msg("'%s' parsed (r=%d), expected an error", t[i].spec, r);
                assert_ptr_equal(ts, (cw_timespec *)0x1);
                if (e.col != t[i].col || e.len != t[i].len || !strstr(e.msg, t[i].needle))
                        fail_msg(
                                "'%s': got col %d len %d msg '%s'; want col %d len %d containing '%s'",
                                t[i].spec, e.col, e.len, e.msg, t[i].col, t[i].len, t[i].needle);
        }
}

static void test_never_fires(void **state _unused_)
{
        static const struct {
                const char *spec;
                bool fires;
        } t[] = {
                {"0 0 30 2 *", false},  {"0 0 31 4,6,9,11 *", false}, {"0 0 31 * *", true},
                {"0 0 29 2 *", true},   {"0 0 29 2 MON", true},       {"0 0 30/5 2 *", false},
                {"0 0 31 2 MON", true}, /* OR rule: any Monday in February */
                {"@reboot", true},      {"every 5m", true},           {"0 0 L 2 *", true},
        };
        cw_tz *utc = cw_tz_utc();
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_timespec *ts;
                cw_error e;
                assert_int_equal(cw_timespec_parse(t[i].spec, "", &ts, &e), 0);
                int r = cw_timespec_check_fires(ts, utc, iso("2026-11-21T00:00:00Z"), &e);
                if ((r == 0) != t[i].fires)
                        fail_msg("'%s': check_fires=%d", t[i].spec, r);
                if (r < 0)
                        assert_non_null(strstr(e.msg, "never fires"));
                cw_timespec_free(ts);
        }
        /* At the end of the calendar: the year limit, not "no date matches". */
        {
                cw_timespec *ts;
                cw_error e;
                assert_int_equal(cw_timespec_parse("* * * * *", "", &ts, &e), 0);
                assert_int_equal(cw_timespec_check_fires(ts, utc, iso("9999-12-31T23:59:59Z"), &e),
                                 -EINVAL);
                if (!strstr(e.msg, "after the year 9999"))
                        fail_msg("%s", e.msg);
                cw_timespec_free(ts);
        }
        cw_tz_free(utc);
}

static void test_limits(void **state _unused_)
{
        cw_timespec *ts;
        cw_tz *utc = cw_tz_utc();
        cw_error e;
        cw_time t;

        assert_int_equal(cw_timespec_parse("0 0 31 12 *", "", &ts, &e), 0);
        assert_int_equal(cw_timespec_next(ts, utc, iso("9999-12-31T00:00:00Z"), &t), -ENOENT);
        assert_int_equal(cw_timespec_next(ts, utc, INT64_MAX, &t), -ENOENT);
        /* Far in the past is clamped to year 0, not undefined behaviour. */
        assert_int_equal(cw_timespec_next(ts, utc, INT64_MIN, &t), 0);
        cw_timespec_free(ts);
        assert_int_equal(cw_timespec_parse("@reboot", "", &ts, &e), 0);
        assert_int_equal(cw_timespec_next(ts, utc, 0, &t), -ENOENT);
        cw_timespec_free(ts);
        assert_int_equal(cw_timespec_parse("every 1h", "", &ts, &e), 0);
        assert_int_equal(cw_timespec_interval(ts), 3600);
        assert_int_equal(cw_timespec_next(ts, utc, iso("9999-12-31T23:30:00Z"), &t), -ENOENT);
        cw_timespec_free(ts);
        cw_tz_free(utc);
}

/* ---- canonical text ------------------------------------------------------ */

static char *canonical(const char *text, const char *seed)
{
        static char buf[CW_TIMESPEC_CANONICAL_MAX];
        cw_timespec *ts = NULL;
        cw_error e;

        if (cw_timespec_parse(text, seed, &ts, &e) != 0)
                fail_msg("'%s' does not parse: %s", text, e.msg);
        assert_int_equal(cw_timespec_format(ts, buf, sizeof(buf)), 0);
        cw_timespec_free(ts);
        return buf;
}

/* Every spec prints its normal form. */
static void test_format_table(void **state _unused_)
{
        static const struct {
                const char *text, *want;
        } cases[] = {
                {"*/5 * * * *", "*/5 * * * *"},
                {"0-59/5 * * * *", "*/5 * * * *"},
                {"0,5,10,15,20,25,30,35,40,45,50,55 * * * *", "*/5 * * * *"},
                {"*/15 0 * * *", "*/15 0 * * *"},
                {"0-45/15 0 * * *", "0-45/15 0 * * *"}, /* fixed-time: no leading '*' */
                {"0-59 3 * * *", "0-59 3 * * *"},
                {"* 3 * * *", "* 3 * * *"},
                {"0 */1 * * *", "0 * * * *"},
                {"0 0-23 * * *", "0 0-23 * * *"},
                {"0 */2 * * *", "0 */2 * * *"},
                {"*/60,7 1 * * *", "*/60,7 1 * * *"},
                {"*/15,7 1 * * *", "*/15,7 1 * * *"},
                {"15 5 * * *", "15 5 * * *"},
                {"0 0 * * 7", "0 0 * * 0"},
                {"0 0 * * SUN", "0 0 * * 0"},
                {"@weekly", "0 0 * * 0"},
                {"@daily", "0 0 * * *"},
                {"@midnight", "0 0 * * *"},
                {"@hourly", "0 * * * *"},
                {"@yearly", "0 0 1 1 *"},
                {"@annually", "0 0 1 1 *"},
                {"@monthly", "0 0 1 * *"},
                {"0 9 * * MON-FRI", "0 9 * * 1-5"},
                {"0 9 * * mon,tue,wed,thu,fri", "0 9 * * 1-5"},
                {"0 0 * * FRI-SUN", "0 0 * * 0,5,6"},
                {"0 0 * * 5-7", "0 0 * * 0,5,6"},
                {"0 0 1 jan,Jul *", "0 0 1 */6 *"}, /* every 6th month from January */
                {"0 0 1 jan,Aug *", "0 0 1 1,8 *"},
                {"0 0 1 1-12/2 *", "0 0 1 */2 *"},
                {"0 0 1 JAN-DEC *", "0 0 1 * *"},
                {"0 0 L * *", "0 0 L * *"},
                {"0 0 1,L * *", "0 0 1,L * *"},
                {"0 12 * * FRIL", "0 12 * * 5L"},
                {"0 8 * * MON#2", "0 8 * * 1#2"},
                {"0 8 * * 5#1,1#2", "0 8 * * 1#2,5#1"},
                {"0 0 13 * FRI", "0 0 13 * 5"},     /* OR rule */
                {"0 0 ? * FRI", "0 0 * * 5"},       /* AND rule */
                {"0 0 1-31 * FRI", "0 0 1-31 * 5"}, /* OR rule: every day */
                {"0 0 */10 * FRI", "0 0 */10 * 5"},
                {"0 0 1-31/9 * FRI", "0 0 1-28/9 * 5"},
                {"0 0 1,10,19,28 * */1", "0 0 */9 * *"},
                {"0 0 0 * * *", "0 0 * * *"},
                {"30 0 0 * * *", "30 0 0 * * *"},
                {"*/10 * * * * *", "*/10 * * * * *"},
                {"0 0 5-5/2 * *", "0 0 5 * *"},
                {"1,2,3,10,11,40 * * * *", "1-3,10,11,40 * * * *"},
                {"at 14:00, 9:05", "at 09:05, 14:00"},
                {"at   9:05", "at 09:05"},
                {"every 90m", "every 1h30m"},
                {"every 3600s", "every 1h"},
                {"@reboot", "@reboot"},
                {"  0   0 * *   * ", "0 0 * * *"},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                const char *got = canonical(cases[i].text, NULL);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("'%s' printed '%s', want '%s'", cases[i].text, got, cases[i].want);
        }
}

static bool same(const char *a, const char *b, const char *seed)
{
        cw_timespec *x = NULL, *y = NULL;
        cw_error e;
        bool r;

        assert_int_equal(cw_timespec_parse(a, seed, &x, &e), 0);
        assert_int_equal(cw_timespec_parse(b, seed, &y, &e), 0);
        r = cw_timespec_same(x, y);
        cw_timespec_free(x);
        cw_timespec_free(y);
        return r;
}

/* Pairs that are one schedule, and pairs that only look alike. */
static void test_format_same(void **state _unused_)
{
        static const char *const one[][2] = {
                {"0 0 * * 7", "0 0 * * SUN"},
                {"0 0 * * 0", "@weekly"},
                {"*/15 * * * *", "0-59/15 * * * *"},
                {"*/15 * * * *", "0,15,30,45 * * * *"},
                {"0 12 * * 5L", "0 12 * * FRIL"},
                {"0 0 1 * *", "@monthly"},
                {"0 0 * * *", "0 0 0 * * *"},
                {"at 9:00, 14:00", "at 14:00,09:00"},
                {"every 1h30m", "every 90m"},
                {"0 0 1-31 * *", "0 0 * * *"}, /* day-of-week '*': the AND rule either way */
                {"0 0 * JAN-DEC *", "0 0 * * *"},
        };
        static const char *const two[][2] = {
                {"0 */1 * * *", "0 0-23 * * *"},   /* wildcard vs fixed-time (DST) */
                {"0 0 13 * FRI", "0 0 */1 * FRI"}, /* OR vs AND rule */
                {"0 0 * * *", "at 00:00"},         /* two kinds */
                {"0 0 * * *", "0 0 * * 1"},        /* other days */
                {"every 1h", "0 * * * *"},         /* every counts from the last fire */
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(one); i++)
                if (!same(one[i][0], one[i][1], NULL))
                        fail_msg("'%s' and '%s' should be one schedule", one[i][0], one[i][1]);
        for (size_t i = 0; i < CW_ARRAY_SIZE(two); i++)
                if (same(two[i][0], two[i][1], NULL))
                        fail_msg("'%s' and '%s' should differ", two[i][0], two[i][1]);
        /* H: the values picked from the seed. */
        assert_true(same("H H * * *", "H H * * *", "Job:a"));
        assert_true(same("H 3 * * *", canonical("H 3 * * *", "Job"), "Job"));
}

/* parse(print(parse(x))) fires as parse(x), in UTC and across DST, and
 * prints the same again. */
static void check_round_trip(const char *text, const char *seed, const cw_tz *const *zones,
                             size_t n_zones)
{
        char first[CW_TIMESPEC_CANONICAL_MAX], again[CW_TIMESPEC_CANONICAL_MAX];
        cw_timespec *a = NULL, *b = NULL;
        cw_error e;

        if (cw_timespec_parse(text, seed, &a, &e) != 0)
                fail_msg("'%s' does not parse: %s", text, e.msg);
        assert_int_equal(cw_timespec_format(a, first, sizeof(first)), 0);
        if (cw_timespec_parse(first, seed, &b, &e) != 0)
                fail_msg("'%s' printed '%s', which does not parse: %s", text, first, e.msg);
        assert_int_equal(cw_timespec_format(b, again, sizeof(again)), 0);
        if (strcmp(first, again) != 0)
                fail_msg("'%s' printed '%s', then '%s'", text, first, again);
        assert_int_equal(cw_timespec_get_kind(a), cw_timespec_get_kind(b));
        assert_int_equal(cw_timespec_is_fixed_time(a), cw_timespec_is_fixed_time(b));
        assert_int_equal(cw_timespec_interval(a), cw_timespec_interval(b));
        for (size_t z = 0; z < n_zones; z++) {
                /* Across the 2027 spring and autumn changes of Europe/Warsaw. */
                cw_time ta = iso("2027-03-27T00:00:00Z"), tb = ta;
                for (int k = 0; k < 200; k++) {
                        int ra = cw_timespec_next(a, zones[z], ta, &ta),
                            rb = cw_timespec_next(b, zones[z], tb, &tb);
                        assert_int_equal(ra, rb);
                        if (ra < 0)
                                break;
                        if (ta != tb)
                                fail_msg("'%s' and its canonical '%s' fire apart", text, first);
                }
        }
        cw_timespec_free(a);
        cw_timespec_free(b);
}

static void test_format_round_trip(void **state _unused_)
{
        static const char *const extra[] = {
                "*/15,7 1 * * *",  "0 */3 * * *",       "5,10 */3 * * *", "0 0 13 * FRI",
                "0 0 */10 * FRI",  "0 0 ? * FRI",       "0 0 L 2 *",      "0 8 * * 1#2,5#1,3L",
                "0 0 * * 1/2",     "0 0 * * 7/3",       "H H(0-5) * * *", "H/15 * * * *",
                "*/7 9-17 * * *",  "0-59 3 * * *",      "0 0 */2,L * 1",  "15 30 2 * * *",
                "at 23:59, 00:00", "every 7d",          "every 1s",       "@reboot",
                "@yearly",         "0 0 29 2 *",        "0 2,3 * * *",    "*/30 2 * * *",
                "0 0 1-31/2 * *",  "0 0 * * SAT,SUN#3",
        };
        cw_tz *utc = cw_tz_utc(), *warsaw = load_zone("Europe/Warsaw");
        const cw_tz *zones[] = {utc, warsaw};
        char path[4096], line[2048];
        size_t n = 0;
        FILE *f;

        for (size_t i = 0; i < CW_ARRAY_SIZE(extra); i++)
                check_round_trip(extra[i], "Job:seed", zones, 2);
        snprintf(path, sizeof(path), "%s/../bench/expressions.tsv", CW_TEST_SRCDIR);
        f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char *tab = strchr(line, '\t');
                if (line[0] == '#' || line[0] == '\n' || !tab)
                        continue;
                *tab = '\0';
                check_round_trip(line, "Job", zones, 2);
                n++;
        }
        fclose(f);
        assert_true(n >= 5);
        cw_tz_free(utc);
        cw_tz_free(warsaw);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cron_basics),
                cmocka_unit_test(test_cron_days),
                cmocka_unit_test(test_six_fields_and_macros),
                cmocka_unit_test(test_kinds_and_flags),
                cmocka_unit_test(test_hash),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_never_fires),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_format_table),
                cmocka_unit_test(test_format_same),
                cmocka_unit_test(test_format_round_trip),
        };
        return cmocka_run_group_tests_name("timespec", tests, NULL, NULL);
}
