/* test_base.c - the base layer: calendar arithmetic, durations and sizes,
 * ISO 8601, error carets, string vectors, hashes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/array.h"
#include "base/civil.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/iso8601.h"
#include "base/strv.h"
#include "base/units.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "base/path.h"

static void test_civil_roundtrip(void **state)
{
        (void)state;
        /* Every day from year -1000 to 3000 round-trips and weekdays advance by one. */
        int64_t first = cw_days_from_civil(-1000, 1, 1), last = cw_days_from_civil(3000, 12, 31);
        int prev_wd = cw_weekday_from_days(first - 1);
        for (int64_t d = first; d <= last; d++) {
                int64_t y;
                int m, dd;
                cw_civil_from_days(d, &y, &m, &dd);
                assert_int_equal(cw_days_from_civil(y, m, dd), d);
                assert_true(dd >= 1 && dd <= cw_days_in_month(y, m));
                assert_int_equal(cw_weekday_from_days(d), (prev_wd + 1) % 7);
                prev_wd = cw_weekday_from_days(d);
        }
}

static void test_civil_known(void **state)
{
        (void)state;
        assert_int_equal(cw_days_from_civil(1970, 1, 1), 0);
        assert_int_equal(cw_weekday_from_days(0), 4);                               /* Thursday */
        assert_int_equal(cw_weekday_from_days(cw_days_from_civil(2027, 3, 28)), 0); /* Sunday */
        assert_true(cw_is_leap(2000));
        assert_false(cw_is_leap(1900));
        assert_true(cw_is_leap(2028));
        assert_int_equal(cw_days_in_month(2028, 2), 29);
        assert_int_equal(cw_days_in_month(2027, 2), 28);
        cw_civil c = {2038, 1, 19, 3, 14, 8};
        assert_int_equal(cw_civil_to_secs(&c), 2147483648LL);
        cw_secs_to_civil(-1, &c);
        assert_int_equal(c.year, 1969);
        assert_int_equal(c.mon, 12);
        assert_int_equal(c.day, 31);
        assert_int_equal(c.hour, 23);
        assert_int_equal(c.sec, 59);
        assert_int_equal(cw_floordiv(-7, 2), -4);
        assert_int_equal(cw_floormod(-7, 7), 0);
        assert_int_equal(cw_floormod(-8, 7), 6);
}

static void test_duration_ok(void **state _unused_)
{
        static const struct {
                const char *s;
                int64_t v;
                const char *canon;
        } t[] = {
                {"90s", 90, "1m30s"},     {"10m", 600, "10m"},
                {"1h30m", 5400, "1h30m"}, {"7d", 604800, "7d"},
                {"2w", 1209600, "14d"},   {"1d2h3m4s", 93784, "1d2h3m4s"},
                {"0s", 0, "0s"},          {"36500d", 36500LL * 86400, "36500d"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                int64_t v = -1;
                char buf[32];
                cw_error e;
                assert_int_equal(cw_duration_parse(t[i].s, &v, &e), 0);
                assert_int_equal(v, t[i].v);
                cw_duration_format(v, buf, sizeof(buf));
                assert_string_equal(buf, t[i].canon);
        }
}

static void test_duration_bad(void **state _unused_)
{
        static const struct {
                const char *s;
                int col;
                const char *needle;
        } t[] = {
                {"", 0, "empty"},
                {"90", 0, "needs a unit"},
                {"10x", 2, "unknown unit"},
                {"30m1h", 4, "out of order"},
                {"1h1h", 3, "out of order"},
                {"-5m", 0, "unexpected '-'"},
                {"1h 30m", 2, "unexpected ' '"},
                {"99999999999999d", 0, "too long"},
                {"h", 0, "unexpected 'h'"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                int64_t v = 42;
                cw_error e;
                assert_int_equal(cw_duration_parse(t[i].s, &v, &e), -EINVAL);
                assert_int_equal(v, 42);
                assert_int_equal(e.col, t[i].col);
                assert_non_null(strstr(e.msg, t[i].needle));
        }
}

static void test_size(void **state)
{
        (void)state;
        static const struct {
                const char *s;
                uint64_t v;
                const char *canon;
        } ok[] = {{"512KiB", 512 * 1024, "512KiB"},
                  {"1MiB", 1 << 20, "1MiB"},
                  {"1000", 1000, "1000B"},
                  {"2G", 2ULL << 30, "2GiB"},
                  {"1K", 1024, "1KiB"},
                  {"0B", 0, "0B"}};
        for (size_t i = 0; i < CW_ARRAY_SIZE(ok); i++) {
                uint64_t v;
                char buf[32];
                assert_int_equal(cw_size_parse(ok[i].s, &v, NULL), 0);
                assert_int_equal(v, ok[i].v);
                cw_size_format(v, buf, sizeof(buf));
                assert_string_equal(buf, ok[i].canon);
        }
        static const char *const bad[] = {"", "MiB", "1 MiB", "1MB", "1.5MiB", "2TiB", "-1"};
        for (size_t i = 0; i < CW_ARRAY_SIZE(bad); i++) {
                uint64_t v = 7;
                cw_error e;
                assert_int_equal(cw_size_parse(bad[i], &v, &e), -EINVAL);
                assert_int_equal(v, 7);
                assert_true(e.msg[0] != '\0');
        }
}

static void test_iso8601(void **state)
{
        (void)state;
        char buf[CW_ISO8601_MAX];
        int64_t v;
        bool off;
        cw_error e;

        assert_int_equal(cw_iso8601_format(1837645200, 7200, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "2028-03-26T03:00:00+02:00");
        assert_int_equal(cw_iso8601_format(0, 0, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
        assert_int_equal(cw_iso8601_format(0, -(3 * 3600 + 30 * 60), buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1969-12-31T20:30:00-03:30");
        assert_int_equal(cw_iso8601_format(0, 5040, buf, sizeof(buf)), 0); /* LMT +01:24 */
        assert_string_equal(buf, "1970-01-01T01:24:00+01:24");
        assert_int_equal(cw_iso8601_format(0, 5041, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1970-01-01T01:24:01+01:24:01");
        assert_int_equal(cw_iso8601_format(253402300800LL, 0, buf, sizeof(buf)), -ERANGE);

        static const struct {
                const char *s;
                int64_t v;
                bool off;
        } ok[] = {
                {"2027-03-27T00:00:00+01:00", 1806102000LL, true},
                {"1970-01-01T00:00:00Z", 0, true},
                {"1970-01-01 00:00", 0, false},
                {"1970-01-01", 0, false},
                {"1970-01-01T01:00:00.999+01", 0, true},
                {"1970-01-01T00:00:00-0130", 5400, true},
                {"2000-02-29T12:00:00z", 951825600, true},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(ok); i++) {
                assert_int_equal(cw_iso8601_parse(ok[i].s, &v, &off, &e), 0);
                assert_int_equal(v, ok[i].v);
                assert_int_equal(off, ok[i].off);
        }
        /* Round trip: format then parse gives the instant back. */
        for (int64_t t = -2208988800LL; t < 4102444800LL; t += 7777777) {
                assert_int_equal(cw_iso8601_format(t, -18000, buf, sizeof(buf)), 0);
                assert_int_equal(cw_iso8601_parse(buf, &v, &off, &e), 0);
                assert_int_equal(v, t);
                assert_true(off);
        }
        static const char *const bad[] = {"",
                                          "2027",
                                          "2027-13-01",
                                          "2027-02-29",
                                          "2027-01-01T24:00",
                                          "2027-01-01T10:60",
                                          "2027-01-01T10:00:61",
                                          "2027-01-01T10:00+25:00",
                                          "2027-01-01T10:00 junk",
                                          "2027-01-01T10:00:00.",
                                          "27-01-01"};
        for (size_t i = 0; i < CW_ARRAY_SIZE(bad); i++) {
                v = 99;
                assert_int_equal(cw_iso8601_parse(bad[i], &v, &off, &e), -EINVAL);
                assert_int_equal(v, 99);
                assert_non_null(strstr(e.msg, bad[i]));
        }
}

static void test_error_caret(void **state)
{
        (void)state;
        cw_error e;
        char buf[128];

        cw_error_clear(&e);
        assert_int_equal(e.col, -1);
        assert_int_equal(cw_error_set(&e, 4, 2, "bad %s", "thing"), -EINVAL);
        assert_string_equal(e.msg, "bad thing");
        cw_error_caret(&e, "0 0 99 * *", "  ", buf, sizeof(buf));
        assert_string_equal(buf, "  0 0 99 * *\n      ^^");
        cw_error_clear(&e);
        cw_error_caret(&e, "x", "", buf, sizeof(buf));
        assert_string_equal(buf, "x");
        /* Truncation never overflows and keeps the string terminated. */
        cw_error_set(&e, 3, 50, "m");
        cw_error_caret(&e, "abcdefghij", "", buf, 8);
        assert_int_equal(strlen(buf), 7);
        assert_int_equal(cw_error_set(NULL, 0, 0, "x"), -EINVAL);
}

static void test_strv(void **state)
{
        (void)state;
        cw_strv sv = {0};

        assert_int_equal(sv.n, 0);
        assert_string_equal(cw_strv_get(&sv, 0), "");
        assert_int_equal(cw_strv_push(&sv, "a"), 0);
        assert_int_equal(cw_strv_push(&sv, "b"), 0);
        assert_int_equal(sv.n, 2);
        assert_null(sv.v[2]);
        assert_int_equal(cw_strv_find(&sv, "b"), 1);
        assert_int_equal(cw_strv_find(&sv, "c"), -1);
        cw_strv_release(&sv);
        assert_int_equal(sv.n, 0);
        assert_null(sv.v);
        cw_strv_release(NULL);
}

static void test_array_reserve(void **state _unused_)
{
        int *v = NULL;
        size_t cap = 0;

        assert_int_equal(cw_array_reserve((void **)&v, &cap, 1, sizeof(int), 4), 0);
        assert_int_equal(cap, 4);
        assert_int_equal(cw_array_reserve((void **)&v, &cap, 4, sizeof(int), 4), 0);
        assert_int_equal(cap, 4); /* enough room: unchanged */
        assert_int_equal(cw_array_reserve((void **)&v, &cap, 9, sizeof(int), 4), 0);
        assert_int_equal(cap, 16);
        for (int i = 0; i < 16; i++)
                v[i] = i;
        /* Overflow is -ENOMEM with the array untouched. */
        assert_int_equal(cw_array_reserve((void **)&v, &cap, SIZE_MAX / 2 + 2, sizeof(int), 4),
                         -ENOMEM);
        assert_int_equal(cw_array_reserve((void **)&v, &cap, SIZE_MAX / 4, sizeof(int), 4),
                         -ENOMEM);
        assert_int_equal(cap, 16);
        assert_int_equal(v[15], 15);
        free(v);
}

static void test_hash_stable(void **state)
{
        (void)state;
        /* These values feed H: they must never change between versions. */
        assert_true(cw_hash_fnv1a("", 0) == 0xcbf29ce484222325ULL);
        assert_true(cw_hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL);
        assert_true(cw_hash_mix(0) == 0xe220a8397b1dcdafULL);
}

/* cw_utf8_seq: valid lengths, the RFC 3629 exclusions, and sequences
 * cut by the end of the bytes (partial) versus broken ones (invalid). */
static void test_utf8_seq(void **state)
{
        static const struct {
                const char *s;
                size_t n, want;
                bool partial;
        } cases[] = {
                {"a", 1, 1, false},
                {"\xc3\xa9", 2, 2, false},
                {"\xe2\x82\xac", 3, 3, false},
                {"\xf0\x9f\x98\x80", 4, 4, false},
                {"\xc3", 1, 0, true},
                {"\xe2\x82", 2, 0, true},
                {"\xf0\x9f\x98", 3, 0, true},
                {"\xc0\xaf", 2, 0, false}, /* overlong '/' */
                {"\xe0\x80\xaf", 3, 0, false},
                /* overlong */ {"\xed\xa0\x80", 3, 0, false}, /* surrogate */
                {"\xf4\x90\x80\x80", 4, 0, false},
                /* > U+10FFFF */ {"\xf5\x80\x80\x80", 4, 0, false},
                {"\x80", 1, 0, false},
                {"\xc3\x28", 2, 0, false},
                {"\xe2\x28\xa1", 3, 0, false},
                {"\xe2\x82", 1, 0, true}, /* cut after the lead byte */
        };
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                bool partial = !cases[i].partial;

                assert_int_equal(
                        cw_utf8_seq((const unsigned char *)cases[i].s, cases[i].n, &partial),
                        cases[i].want);
                assert_int_equal(partial, cases[i].partial);
                assert_int_equal(cw_utf8_seq((const unsigned char *)cases[i].s, cases[i].n, NULL),
                                 cases[i].want);
        }
}

/* cw_buf: appends, printf, the hard maximum with a sticky error, steal. */
static void test_buf(void **state)
{
        cw_buf b = CW_BUF_INIT(10);
        char *p;
        size_t n;

        (void)state;
        assert_int_equal(cw_buf_puts(&b, "abc"), 0);
        assert_int_equal(cw_buf_printf(&b, "%d%s", 42, "x"), 0);
        assert_string_equal(b.p, "abc42x");
        assert_int_equal(cw_buf_puts(&b, "12345"), -E2BIG); /* would be 11 bytes */
        assert_string_equal(b.p, "abc42x");
        assert_int_equal(cw_buf_putc(&b, 'z'), -E2BIG); /* sticky */
        assert_int_equal(cw_buf_error(&b), -E2BIG);
        cw_buf_reset(&b);
        assert_int_equal(cw_buf_add(&b, "0123456789", 10), 0);
        assert_int_equal(b.len, 10);
        p = cw_buf_steal(&b, &n);
        assert_int_equal(n, 10);
        assert_string_equal(p, "0123456789");
        free(p);
        p = cw_buf_steal(&b, &n); /* empty: "" */
        assert_non_null(p);
        assert_int_equal(n, 0);
        assert_string_equal(p, "");
        free(p);
        cw_buf_release(&b);
}

static void test_path_join(void **state)
{
        char buf[16], big[CW_PATH_MAX];
        char longname[CW_PATH_MAX + 10];

        (void)state;
        assert_int_equal(cw_path_join(buf, sizeof(buf), "/var/d", "x.db"), 0);
        assert_string_equal(buf, "/var/d/x.db");
        assert_int_equal(cw_path_join(buf, sizeof(buf), "/var/d/", "x.db"), 0);
        assert_string_equal(buf, "/var/d/x.db");
        assert_int_equal(cw_path_join(buf, sizeof(buf), "", "x.db"), 0);
        assert_string_equal(buf, "x.db");
        assert_int_equal(cw_path_join3(buf, sizeof(buf), "d", "locks", "k"), 0);
        assert_string_equal(buf, "d/locks/k");
        /* 15 characters fit a 16-byte buffer, 16 do not. */
        assert_int_equal(cw_path_join(buf, sizeof(buf), "0123456", "89abcde"), 0);
        assert_string_equal(buf, "0123456/89abcde");
        assert_int_equal(cw_path_join(buf, sizeof(buf), "0123456", "89abcdef"), -ENAMETOOLONG);
        assert_string_equal(buf, "");
        assert_int_equal(cw_path_join3(buf, sizeof(buf), "0123456", "89", "abcdef"), -ENAMETOOLONG);
        assert_string_equal(buf, "");
        assert_int_equal(cw_path_join(buf, 0, "a", "b"), -ENAMETOOLONG);
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(cw_path_join(big, sizeof(big), "/d", longname), -ENAMETOOLONG);
}

/* cw_buf_truncate takes back bytes, never adds; the error stays. */
static void test_buf_truncate(void **state)
{
        cw_buf b = CW_BUF_INIT(4);

        (void)state;
        assert_int_equal(cw_buf_last(&b), '\0');
        cw_buf_truncate(&b, 0); /* empty, nothing allocated: no-op */
        assert_int_equal(cw_buf_puts(&b, "ab; "), 0);
        assert_int_equal(cw_buf_last(&b), ' ');
        cw_buf_truncate(&b, 2);
        assert_string_equal(b.p, "ab");
        cw_buf_truncate(&b, 3); /* longer than the content: unchanged */
        assert_int_equal(b.len, 2);
        assert_int_equal(cw_buf_puts(&b, "xyz"), -E2BIG);
        cw_buf_truncate(&b, 1);
        assert_string_equal(b.p, "a");
        assert_int_equal(cw_buf_error(&b), -E2BIG);
        cw_buf_release(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_civil_roundtrip),
                cmocka_unit_test(test_civil_known),
                cmocka_unit_test(test_duration_ok),
                cmocka_unit_test(test_duration_bad),
                cmocka_unit_test(test_size),
                cmocka_unit_test(test_iso8601),
                cmocka_unit_test(test_error_caret),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_array_reserve),
                cmocka_unit_test(test_hash_stable),
                cmocka_unit_test(test_utf8_seq),
                cmocka_unit_test(test_buf),
                cmocka_unit_test(test_path_join),
                cmocka_unit_test(test_buf_truncate),
        };
        return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
