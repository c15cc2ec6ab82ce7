/* test_clock.c - the clocks of base/clock.h (real, fixed, fake), the
 * instant/second conversions, and the signalfd helper of base/sigfd.h. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/sigfd.h"

static void test_instant_sec(void **state)
{
        static const struct {
                cw_instant t;
                cw_time s;
        } cases[] = {
                {0, 0},
                {999999, 0},
                {1000000, 1},
                {-1, -1},
                {-1000000, -1},
                {-1000001, -2},
                {INT64_C(1806364800123456), 1806364800},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(cw_instant_sec(cases[i].t), cases[i].s);
                assert_true(cw_instant_from_sec(cases[i].s) <= cases[i].t);
        }
        assert_int_equal(cw_instant_from_sec(1806364800), INT64_C(1806364800000000));
}

static void test_real(void **state)
{
        cw_clock c;
        cw_instant a, b;

        (void)state;
        cw_clock_init_real(&c);
        assert_true(cw_clock_is_real(&c));
        a = (cw_instant)time(NULL) * CW_US_PER_SEC;
        b = cw_clock_now(&c);
        assert_true(b >= a && b < a + 2 * CW_US_PER_SEC);
        cw_clock_set(&c, 0); /* no effect */
        assert_true(cw_clock_now(&c) >= b);
}

static void test_fixed_steps(void **state)
{
        cw_clock c;

        (void)state;
        cw_clock_init_fixed(&c, 42);
        assert_false(cw_clock_is_real(&c));
        assert_int_equal(cw_clock_now(&c), 42);
        assert_int_equal(cw_clock_now(&c), 42);
        cw_clock_set(&c, 7 * CW_US_PER_SEC);
        assert_int_equal(cw_clock_now(&c), 7 * CW_US_PER_SEC);
}

static void test_fake_advances(void **state)
{
        const cw_instant base = INT64_C(1806364800) * CW_US_PER_SEC;
        cw_clock c, child;
        int64_t m = cw_clock_mono_us();
        cw_instant a, b;

        (void)state;
        cw_clock_init_fake(&c, base, m);
        assert_false(cw_clock_is_real(&c));
        a = cw_clock_now(&c);
        assert_true(a >= base && a < base + CW_US_PER_SEC);
        usleep(20000);
        b = cw_clock_now(&c);
        assert_true(b - a >= 20000);
        /* Another process with the same anchor reads the same time. */
        cw_clock_init_fake(&child, base, m);
        a = cw_clock_now(&child);
        b = cw_clock_now(&c);
        assert_true(b >= a && b - a < CW_US_PER_SEC);
        cw_clock_set(&c, 5);
        assert_true(cw_clock_now(&c) >= 5 && cw_clock_now(&c) < 5 + CW_US_PER_SEC);
}

static void test_sigfd(void **state)
{
        static const int block[] = {SIGUSR1, SIGUSR2, 0};
        static const int watch[] = {SIGUSR1, 0};
        struct signalfd_siginfo si;
        sigset_t b, w, old, now;
        int fd;

        (void)state;
        cw_sigset_of(&b, block);
        cw_sigset_of(&w, watch);
        assert_true(sigismember(&b, SIGUSR2));
        assert_false(sigismember(&w, SIGUSR2));
        fd = cw_sigfd_open(&b, &w, &old);
        assert_true(fd >= 0);
        assert_false(sigismember(&old, SIGUSR1));
        sigprocmask(SIG_SETMASK, NULL, &now);
        assert_true(sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2));
        assert_int_equal(read(fd, &si, sizeof(si)), -1); /* non-blocking, empty */
        raise(SIGUSR1);
        assert_int_equal(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
        assert_int_equal(si.ssi_signo, SIGUSR1);
        close(fd);
        sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_instant_sec), cmocka_unit_test(test_real),
                cmocka_unit_test(test_fixed_steps), cmocka_unit_test(test_fake_advances),
                cmocka_unit_test(test_sigfd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
