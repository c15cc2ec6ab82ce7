/* test_timespec_dst.c - the DST rules of docs/timespec.md, in several zones
 * and years (expected values follow the rules; transition dates are from
 * tzdata 2026f):
 *  - fixed-time fire in a spring-forward gap: once, at the end of the gap;
 *  - fixed-time fire in a fall-back overlap: once, at the first occurrence;
 *  - wildcard fires: none in the gap, both occurrences in the overlap. */
#include "test_helpers.h"

static void test_warsaw_spring(void **state _unused_)
{
        /* 2027-03-28 02:00 CET -> 03:00 CEST. */
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00",
                           "2027-03-30T02:30:00+02:00"));
        expect_fires("0 2 * * *", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00"));
        /* Two fixed times in one gap, and one just after it: a single fire. */
        expect_fires("0,30 2 * * *", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00"));
        expect_fires("0 2,3 * * *", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00",
                           "2027-03-29T03:00:00+02:00"));
        expect_fires("at 02:30", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"));
        /* Wildcard fires in the gap do not exist. */
        expect_fires("*/30 2 * * *", NULL, "Europe/Warsaw", "2027-03-27T12:00:00+01:00",
                     FIRES("2027-03-29T02:00:00+02:00", "2027-03-29T02:30:00+02:00"));
        expect_fires("*/30 * * * *", NULL, "Europe/Warsaw", "2027-03-28T01:00:00+01:00",
                     FIRES("2027-03-28T01:30:00+01:00", "2027-03-28T03:00:00+02:00",
                           "2027-03-28T03:30:00+02:00"));
        /* Same rule in a later year (2031-03-30) and past the table (2100, footer rule). */
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2031-03-29T12:00:00+01:00",
                     FIRES("2031-03-30T03:00:00+02:00", "2031-03-31T02:30:00+02:00"));
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2100-03-27T12:00:00+01:00",
                     FIRES("2100-03-28T03:00:00+02:00", "2100-03-29T02:30:00+02:00"));
        /* `every` counts real time, not wall-clock time. */
        expect_fires("every 1h", NULL, "Europe/Warsaw", "2027-03-28T01:30:00+01:00",
                     FIRES("2027-03-28T03:30:00+02:00", "2027-03-28T04:30:00+02:00"));
}

static void test_warsaw_fall(void **state _unused_)
{
        /* 2027-10-31 03:00 CEST -> 02:00 CET: 02:00-02:59 happens twice. */
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2027-10-30T12:00:00+02:00",
                     FIRES("2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"));
        /* From between the two occurrences: the second is not a fire. */
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2027-10-31T02:45:00+02:00",
                     FIRES("2027-11-01T02:30:00+01:00"));
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2027-10-31T02:15:00+01:00",
                     FIRES("2027-11-01T02:30:00+01:00"));
        /* Wildcard: both occurrences. */
        expect_fires("*/30 2 * * *", NULL, "Europe/Warsaw", "2027-10-30T12:00:00+02:00",
                     FIRES("2027-10-31T02:00:00+02:00", "2027-10-31T02:30:00+02:00",
                           "2027-10-31T02:00:00+01:00", "2027-10-31T02:30:00+01:00",
                           "2027-11-01T02:00:00+01:00"));
        expect_fires("*/30 2 * * *", NULL, "Europe/Warsaw", "2027-10-31T02:40:00+02:00",
                     FIRES("2027-10-31T02:00:00+01:00", "2027-10-31T02:30:00+01:00",
                           "2027-11-01T02:00:00+01:00"));
        expect_fires("*/30 * * * *", NULL, "Europe/Warsaw", "2027-10-31T02:10:00+02:00",
                     FIRES("2027-10-31T02:30:00+02:00", "2027-10-31T02:00:00+01:00",
                           "2027-10-31T02:30:00+01:00", "2027-10-31T03:00:00+01:00"));
        expect_fires("0 */15 * * * *", NULL, "Europe/Warsaw", "2027-10-31T02:40:00+02:00",
                     FIRES("2027-10-31T02:45:00+02:00", "2027-10-31T02:00:00+01:00",
                           "2027-10-31T02:15:00+01:00"));
        /* A fixed-time spec with every second of 02:30: 60 fires, all in the first occurrence. */
        expect_fires("* 30 2 * * *", NULL, "Europe/Warsaw", "2027-10-31T02:30:58+02:00",
                     FIRES("2027-10-31T02:30:59+02:00", "2027-11-01T02:30:00+01:00"));
        expect_fires("30 2 * * *", NULL, "Europe/Warsaw", "2100-10-30T12:00:00+02:00",
                     FIRES("2100-10-31T02:30:00+02:00", "2100-11-01T02:30:00+01:00"));
}

static void test_new_york(void **state _unused_)
{
        /* 2027-03-14 02:00 EST -> 03:00 EDT; 2027-11-07 02:00 EDT -> 01:00 EST. */
        expect_fires("30 2 * * *", NULL, "America/New_York", "2027-03-13T12:00:00-05:00",
                     FIRES("2027-03-14T03:00:00-04:00", "2027-03-15T02:30:00-04:00"));
        expect_fires("30 1 * * *", NULL, "America/New_York", "2027-11-06T12:00:00-04:00",
                     FIRES("2027-11-07T01:30:00-04:00", "2027-11-08T01:30:00-05:00"));
        expect_fires("*/30 1 * * *", NULL, "America/New_York", "2027-11-06T12:00:00-04:00",
                     FIRES("2027-11-07T01:00:00-04:00", "2027-11-07T01:30:00-04:00",
                           "2027-11-07T01:00:00-05:00", "2027-11-07T01:30:00-05:00",
                           "2027-11-08T01:00:00-05:00"));
        expect_fires("@hourly", NULL, "America/New_York", "2027-11-07T00:30:00-04:00",
                     FIRES("2027-11-07T01:00:00-04:00", "2027-11-07T01:00:00-05:00",
                           "2027-11-07T02:00:00-05:00"));
        expect_fires("@hourly", NULL, "America/New_York", "2027-03-14T00:30:00-05:00",
                     FIRES("2027-03-14T01:00:00-05:00", "2027-03-14T03:00:00-04:00",
                           "2027-03-14T04:00:00-04:00"));
        expect_fires("0 9 * * MON-FRI", NULL, "America/New_York", "2027-03-12T10:00:00-05:00",
                     FIRES("2027-03-15T09:00:00-04:00"));
        expect_fires("30 2 * * *", NULL, "America/New_York", "2099-03-07T12:00:00-05:00",
                     FIRES("2099-03-08T03:00:00-04:00", "2099-03-09T02:30:00-04:00"));
}

static void test_lord_howe(void **state _unused_)
{
        /* Half-hour DST. 2027-04-04 02:00 (+11) -> 01:30 (+10:30);
         * 2027-10-03 02:00 (+10:30) -> 02:30 (+11). */
        expect_fires("45 1 * * *", NULL, "Australia/Lord_Howe", "2027-04-03T12:00:00+11:00",
                     FIRES("2027-04-04T01:45:00+11:00", "2027-04-05T01:45:00+10:30"));
        expect_fires("*/15 1 * * *", NULL, "Australia/Lord_Howe", "2027-04-03T12:00:00+11:00",
                     FIRES("2027-04-04T01:00:00+11:00", "2027-04-04T01:15:00+11:00",
                           "2027-04-04T01:30:00+11:00", "2027-04-04T01:45:00+11:00",
                           "2027-04-04T01:30:00+10:30", "2027-04-04T01:45:00+10:30",
                           "2027-04-05T01:00:00+10:30"));
        expect_fires("15 2 * * *", NULL, "Australia/Lord_Howe", "2027-10-02T12:00:00+10:30",
                     FIRES("2027-10-03T02:30:00+11:00", "2027-10-04T02:15:00+11:00"));
        expect_fires("*/15 2 * * *", NULL, "Australia/Lord_Howe", "2027-10-02T12:00:00+10:30",
                     FIRES("2027-10-03T02:30:00+11:00", "2027-10-03T02:45:00+11:00",
                           "2027-10-04T02:00:00+11:00"));
}

static void test_midnight_transitions(void **state _unused_)
{
        /* Santiago: 2027-09-05 00:00 -> 01:00 (midnight does not exist);
         * 2027-04-03 24:00 -> 23:00 (23:00-23:59 happens twice). */
        expect_fires("@daily", NULL, "America/Santiago", "2027-09-04T12:00:00-04:00",
                     FIRES("2027-09-05T01:00:00-03:00", "2027-09-06T00:00:00-03:00"));
        expect_fires("0 0 5 9 *", NULL, "America/Santiago", "2027-01-01T00:00:00-03:00",
                     FIRES("2027-09-05T01:00:00-03:00", "2028-09-05T00:00:00-03:00"));
        expect_fires("0 * * * *", NULL, "America/Santiago", "2027-09-04T22:30:00-04:00",
                     FIRES("2027-09-04T23:00:00-04:00", "2027-09-05T01:00:00-03:00",
                           "2027-09-05T02:00:00-03:00"));
        expect_fires("30 23 * * *", NULL, "America/Santiago", "2027-04-03T12:00:00-03:00",
                     FIRES("2027-04-03T23:30:00-03:00", "2027-04-04T23:30:00-04:00"));
        expect_fires("30 23 * * *", NULL, "America/Santiago", "2027-04-03T23:40:00-03:00",
                     FIRES("2027-04-04T23:30:00-04:00"));
        /* Havana: 2027-11-07 01:00 -> 00:00 (midnight hour twice);
         * 2028-03-12 00:00 -> 01:00 (no midnight). */
        expect_fires("30 0 * * *", NULL, "America/Havana", "2027-11-06T12:00:00-04:00",
                     FIRES("2027-11-07T00:30:00-04:00", "2027-11-08T00:30:00-05:00"));
        expect_fires("@midnight", NULL, "America/Havana", "2027-11-06T12:00:00-04:00",
                     FIRES("2027-11-07T00:00:00-04:00", "2027-11-08T00:00:00-05:00"));
        expect_fires("@midnight", NULL, "America/Havana", "2028-03-11T12:00:00-05:00",
                     FIRES("2028-03-12T01:00:00-04:00", "2028-03-13T00:00:00-04:00"));
        expect_fires("*/20 0 * * *", NULL, "America/Havana", "2028-03-11T12:00:00-05:00",
                     FIRES("2028-03-13T00:00:00-04:00"));
}

/* Consecutive fires are strictly increasing and never repeat, across a
 * whole year of transitions, for fixed-time and wildcard specs alike. */
static void test_monotonic_year(void **state _unused_)
{
        static const char *const zones[] = {"Europe/Warsaw",
                                            "America/New_York",
                                            "Australia/Lord_Howe",
                                            "America/Santiago",
                                            "America/Havana",
                                            "Asia/Tehran",
                                            "UTC"};
        static const char *const specs[] = {"*/7 * * * *",    "30 2 * * *",  "0 0 * * *",
                                            "*/30 0-3 * * *", "0 0-2 * * *", "at 00:30, 02:30"};
        for (size_t z = 0; z < CW_ARRAY_SIZE(zones); z++) {
                cw_tz *tz = load_zone(zones[z]);
                for (size_t s = 0; s < CW_ARRAY_SIZE(specs); s++) {
                        cw_timespec *ts;
                        cw_error e;
                        cw_time t = iso("2027-01-01T00:00:00Z"), prev = t;
                        assert_int_equal(cw_timespec_parse(specs[s], NULL, &ts, &e), 0);
                        while (t < iso("2029-01-01T00:00:00Z")) {
                                assert_int_equal(cw_timespec_next(ts, tz, t, &t), 0);
                                if (t <= prev)
                                        fail_msg("%s in %s: %lld after %lld", specs[s], zones[z],
                                                 (long long)t, (long long)prev);
                                prev = t;
                        }
                        cw_timespec_free(ts);
                }
                cw_tz_free(tz);
        }
}

/* Regression (found by fuzz_timespec): the fifth Sunday of March is always
 * the last, Europe's spring-forward day, so hour 2 never exists then. The
 * wildcard spec never fires; the search must say so at once, not visit
 * every second of every gap until the year 9999. */
static void test_never_fires_in_gaps(void **state _unused_)
{
        cw_tz *tz = load_zone("Europe/Warsaw"), *utc = cw_tz_utc();
        cw_timespec *ts;
        cw_error e;
        cw_time t;

        assert_int_equal(cw_timespec_parse("15-42 * 2 * 3 0#5", NULL, &ts, &e), 0);
        assert_int_equal(cw_timespec_next(ts, tz, iso("2026-01-01T00:00:00Z"), &t), -ENOENT);
        assert_int_equal(cw_timespec_check_fires(ts, tz, iso("2026-01-01T00:00:00Z"), &e), -EINVAL);
        assert_non_null(strstr(e.msg, "never fires in Europe/Warsaw"));
        assert_non_null(strstr(e.msg, "daylight-saving gap"));
        /* In UTC the same spec fires (2026-03-29 is a fifth Sunday). */
        assert_int_equal(cw_timespec_check_fires(ts, utc, iso("2026-01-01T00:00:00Z"), &e), 0);
        assert_int_equal(cw_timespec_next(ts, utc, iso("2026-01-01T00:00:00Z"), &t), 0);
        assert_int_equal(t, iso("2026-03-29T02:00:15Z"));
        cw_timespec_free(ts);
        cw_tz_free(tz);
        cw_tz_free(utc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_warsaw_spring),
                cmocka_unit_test(test_warsaw_fall),
                cmocka_unit_test(test_new_york),
                cmocka_unit_test(test_lord_howe),
                cmocka_unit_test(test_midnight_transitions),
                cmocka_unit_test(test_monotonic_year),
                cmocka_unit_test(test_never_fires_in_gaps),
        };
        return cmocka_run_group_tests_name("timespec_dst", tests, NULL, NULL);
}
