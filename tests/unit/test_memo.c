/* test_memo.c - the shared answers of src/http/memo.c (internal.h): a
 * fresh body is served, an expired one is rebuilt by one request while
 * the others get the old body, a failed build keeps what was there, a
 * body too large is not kept, and a request with nothing kept waits for
 * the build in progress (with two threads). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/internal.h"

#define SEC CW_MEMO_MAX_AGE_US

static void test_fresh_stale_rebuild(void **state _unused_)
{
        cw_memo *m = cw_memo_new();
        cw_buf b = CW_BUF_INIT(0);
        bool build = true;

        /* Nothing kept: this request builds. */
        assert_int_equal(cw_memo_get(m, 1, 100, &b, &build), 0);
        assert_true(build);
        cw_memo_put(m, 1, 100, "one", 3);
        /* Fresh: served, no build; another slot is separate. */
        assert_int_equal(cw_memo_get(m, 1, 100 + SEC - 1, &b, &build), 1);
        assert_false(build);
        assert_int_equal(b.len, 3);
        assert_memory_equal(b.p, "one", 3);
        assert_int_equal(cw_memo_get(m, 0, 100, &b, &build), 0);
        assert_true(build);
        cw_memo_put(m, 0, 100, NULL, 0);
        /* Expired: the first request rebuilds, the next gets the old body. */
        assert_int_equal(cw_memo_get(m, 1, 100 + SEC, &b, &build), 0);
        assert_true(build);
        assert_int_equal(cw_memo_get(m, 1, 100 + SEC + 5, &b, &build), 1);
        assert_false(build);
        assert_memory_equal(b.p, "one", 3);
        /* A failed build keeps the old body (still expired: rebuilt next). */
        cw_memo_put(m, 1, 100 + SEC, NULL, 0);
        assert_int_equal(cw_memo_get(m, 1, 100 + SEC + 6, &b, &build), 0);
        assert_true(build);
        cw_memo_put(m, 1, 100 + SEC + 6, "two!", 4);
        assert_int_equal(cw_memo_get(m, 1, 100 + SEC + 7, &b, &build), 1);
        assert_int_equal(b.len, 4);
        assert_memory_equal(b.p, "two!", 4);
        cw_buf_release(&b);
        cw_memo_free(m);
        cw_memo_free(NULL);
}

static void test_too_big_not_kept(void **state _unused_)
{
        cw_memo *m = cw_memo_new();
        size_t len = (size_t)CW_MEMO_MAX_BODY + 1;
        char *big = calloc(1, len);
        cw_buf b = CW_BUF_INIT(0);
        bool build;

        assert_non_null(big);
        assert_int_equal(cw_memo_get(m, 2, 0, &b, &build), 0);
        cw_memo_put(m, 2, 0, big, len);
        /* Not kept: every request builds its own, without waiting. */
        assert_int_equal(cw_memo_get(m, 2, 1, &b, &build), 0);
        assert_false(build);
        assert_int_equal(cw_memo_get(m, 2, 2, &b, &build), 0);
        assert_false(build);
        /* Once that expires, a build for the slot again. */
        assert_int_equal(cw_memo_get(m, 2, SEC, &b, &build), 0);
        assert_true(build);
        cw_memo_put(m, 2, SEC, "x", 1);
        assert_int_equal(cw_memo_get(m, 2, SEC + 1, &b, &build), 1);
        free(big);
        cw_buf_release(&b);
        cw_memo_free(m);
        /* Without a memo (a request not made by a server): build, unshared. */
        assert_int_equal(cw_memo_get(NULL, 0, 0, &b, &build), 0);
        assert_false(build);
        cw_memo_put(NULL, 0, 0, "x", 1);
}

typedef struct waiter {
        cw_memo *m;
        int r;
        bool build;
        cw_buf b;
} waiter;

static void *wait_for_build(void *arg)
{
        waiter *w = arg;

        w->r = cw_memo_get(w->m, 3, 10, &w->b, &w->build);
        return NULL;
}

static void test_first_build_is_shared(void **state _unused_)
{
        waiter w = {.m = cw_memo_new(), .b = CW_BUF_INIT(0)};
        cw_buf b = CW_BUF_INIT(0);
        pthread_t t;
        bool build;

        assert_int_equal(cw_memo_get(w.m, 3, 10, &b, &build), 0);
        assert_true(build);
        assert_int_equal(pthread_create(&t, NULL, wait_for_build, &w), 0);
        usleep(50 * 1000); /* the other request is waiting (or about to) */
        cw_memo_put(w.m, 3, 10, "shared", 6);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(w.r, 1);
        assert_false(w.build);
        assert_int_equal(w.b.len, 6);
        assert_memory_equal(w.b.p, "shared", 6);
        cw_buf_release(&w.b);
        cw_buf_release(&b);
        cw_memo_free(w.m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fresh_stale_rebuild),
                cmocka_unit_test(test_too_big_not_kept),
                cmocka_unit_test(test_first_build_is_shared),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
