/* test_describe.c - time specs in English (src/timespec/describe.h): one
 * table of spec -> expected text, covering each shape put_time() and
 * put_days() know and the fallbacks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/macro.h"
#include "timespec/describe.h"

static const struct {
        const char *spec;
        const char *want;
} cases[] = {
        /* Frequent shapes. */
        {"* * * * *", "every minute"},
        {"*/5 * * * *", "every 5 minutes"},
        {"0/15 * * * *", "every 15 minutes"},
        {"0,30 * * * *", "every 30 minutes"},
        {"0 * * * *", "every hour"},
        {"@hourly", "every hour"},
        {"15 * * * *", "at 15 minutes past every hour"},
        {"0 */2 * * *", "every 2 hours"},
        {"0 */3 * * *", "every 3 hours"},
        {"30 */3 * * *", "every 3 hours at 30 minutes past the hour"},
        {"0 */6 * * *", "at 00:00, 06:00, 12:00 and 18:00 every day"},
        /* Clock times. */
        {"15 5 * * *", "at 05:15 every day"},
        {"0 0 * * *", "at 00:00 every day"},
        {"@daily", "at 00:00 every day"},
        {"@midnight", "at 00:00 every day"},
        {"30 11 * * *", "at 11:30 every day"},
        {"0,30 9 * * *", "at 09:00 and 09:30 every day"},
        {"0 9,17 * * *", "at 09:00 and 17:00 every day"},
        {"at 11:30, 14:00", "at 11:30 and 14:00 every day"},
        {"at 7:05", "at 07:05 every day"},
        {"at 23:59, 00:00, 12:00", "at 00:00, 12:00 and 23:59 every day"},
        /* Days of the week. */
        {"30 2 * * 1-5", "at 02:30 on Monday through Friday"},
        {"30 2 * * MON-FRI", "at 02:30 on Monday through Friday"},
        {"0 10 * * 6,0", "at 10:00 on Saturday and Sunday"},
        {"0 10 * * 7", "at 10:00 on Sunday"},
        {"@weekly", "at 00:00 on Sunday"},
        {"0 8 * * 1,3,5", "at 08:00 on Monday, Wednesday and Friday"},
        {"*/10 * * * 1-5", "every 10 minutes on Monday through Friday"},
        {"0 9 * * MON#2", "at 09:00 on the second Monday of the month"},
        {"0 18 * * 5L", "at 18:00 on the last Friday of the month"},
        {"0 18 * * FRIL", "at 18:00 on the last Friday of the month"},
        /* Days of the month. */
        {"0 0 L * *", "at 00:00 on the last day of the month"},
        {"0 0 1 * *", "at 00:00 on the 1st of the month"},
        {"@monthly", "at 00:00 on the 1st of the month"},
        {"0 12 1,15 * *", "at 12:00 on the 1st and 15th of the month"},
        {"0 12 1-7 * *", "at 12:00 on the 1st through 7th of the month"},
        {"0 12 2,22,23 * *", "at 12:00 on the 2nd, 22nd and 23rd of the month"},
        {"0 12 11,12,13,21 * *", "at 12:00 on the 11th through 13th and 21st of the month"},
        {"0 6 1,L * *", "at 06:00 on the 1st and last day of the month"},
        {"0 0 */2 * *", "at 00:00 on every 2nd day of the month"},
        /* Vixie rule: both restricted = either; a '*' start = both. */
        {"0 0 1 * 1", "at 00:00 on the 1st of the month or on Monday"},
        {"0 0 */2 * 1", "at 00:00 on every 2nd day of the month if it is Monday"},
        {"0 0 1-31 * 1", "at 00:00 every day"},
        /* Months and dates. */
        {"@yearly", "at 00:00 on January 1"},
        {"0 0 25 12 *", "at 00:00 on December 25"},
        {"0 9 * 1-3 *", "at 09:00 every day in January through March"},
        {"0 9 1 */3 *", "at 09:00 on the 1st of the month in January, April, July and October"},
        {"*/5 * * JUN,AUG *", "every 5 minutes in June and August"},
        /* Hour ranges. */
        {"0 9-17 * * 1-5", "every hour from 09:00 through 17:00 on Monday through Friday"},
        {"30 9-17 * * *", "every hour from 09:30 through 17:30"},
        {"*/15 9-17 * * *", "every 15 minutes from 09:00 through 17:45"},
        {"* 22-23 * * *", "every minute from 22:00 through 23:59"},
        /* Seconds (6 fields). */
        {"* * * * * *", "every second"},
        {"*/10 * * * * *", "every 10 seconds"},
        {"30 * * * * *", "every minute at second 30"},
        {"0 * * * * *", "every minute"},
        {"30 15 5 * * *", "at 05:15:30 every day"},
        {"*/30 * 9 * * *", "every 30 seconds during hour 9"},
        {"0,5 * * * * *", "at seconds 0 and 5 of every minute"},
        /* Fallbacks. */
        {"3,7 1,5,9 * * *", "at 01:03, 01:07, 05:03, 05:07, 09:03 and 09:07 every day"},
        {"3,7 1,5,9,13 * * *", "at minutes 3 and 7 past hours 1, 5, 9 and 13"},
        {"5/15 */2 * * *",
         "every 15 minutes from minute 5 during hours 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20 and 22"},
        {"0-10 * * * *", "at minutes 0 through 10 past every hour"},
        {"*/7 * * * *", "at minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 past every hour"},
        /* The other kinds. */
        {"every 90m", "every 90 minutes"},
        {"every 1h30m", "every 90 minutes"},
        {"every 2h", "every 2 hours"},
        {"every 1h", "every hour"},
        {"every 1d", "every day"},
        {"every 45s", "every 45 seconds"},
        {"every 1s", "every second"},
        {"every 10m", "every 10 minutes"},
        {"@reboot", "once, when the daemon starts"},
};

static void test_table(void **state)
{
        int bad = 0;

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                cw_timespec *ts = NULL;
                cw_buf b = CW_BUF_INIT(4096);
                cw_error e;

                if (cw_timespec_parse(cases[i].spec, "seed", &ts, &e) < 0)
                        fail_msg("'%s' does not parse: %s", cases[i].spec, e.msg);
                assert_int_equal(cw_timespec_describe(ts, &b), 0);
                if (strcmp(b.p, cases[i].want) != 0) {
                        print_message("'%s' reads\n  \"%s\"\nwant\n  \"%s\"\n", cases[i].spec, b.p,
                                      cases[i].want);
                        bad++;
                }
                cw_buf_release(&b);
                cw_timespec_free(ts);
        }
        assert_int_equal(bad, 0);
}

/* H resolves to concrete values; the text names them, not "H". */
static void test_hash_reads_as_times(void **state)
{
        cw_timespec *ts = NULL;
        cw_buf b = CW_BUF_INIT(4096);
        cw_error e;

        (void)state;
        assert_int_equal(cw_timespec_parse("H H * * *", "Job:x", &ts, &e), 0);
        assert_int_equal(cw_timespec_describe(ts, &b), 0);
        assert_true(strncmp(b.p, "at ", 3) == 0);
        assert_non_null(strstr(b.p, " every day"));
        assert_null(strchr(b.p, 'H'));
        cw_buf_release(&b);
        cw_timespec_free(ts);
}

/* A full buffer reports its error and never overflows. */
static void test_bounded(void **state)
{
        cw_timespec *ts = NULL;
        cw_buf b = CW_BUF_INIT(10);
        cw_error e;

        (void)state;
        assert_int_equal(cw_timespec_parse("3,7 1,5,9 * * *", NULL, &ts, &e), 0);
        assert_int_equal(cw_timespec_describe(ts, &b), -E2BIG);
        assert_true(b.len <= 10);
        cw_buf_release(&b);
        cw_timespec_free(ts);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_hash_reads_as_times),
                cmocka_unit_test(test_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
