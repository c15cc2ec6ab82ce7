/* test_memo.c - the shared answers of src/http/memo.c (internal.h): a
 * fresh body is served, an expired one is rebuilt by one request while
 * the others get the old body, a failed build keeps what was there, an
 * old body is dropped, a request with nothing kept waits for the
 * build in progress (with two threads), and bodies handed out outlive
 * their slot and the memo. */
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

/* A new body holding s. */
static cw_memo_body *body_of(const char *s)
{
        char *data = strdup(s);
        cw_memo_body *b;

        assert_non_null(data);
        b = cw_memo_body_new(data, strlen(s));
        assert_non_null(b);
        return b;
}

/* Builds for slot with s as the answer (the memo keeps its own reference). */
static void put(cw_memo *m, unsigned slot, int64_t at, const char *s)
{
        cw_memo_body *b = s ? body_of(s) : NULL;

        cw_memo_put(m, slot, at, b);
        cw_memo_body_unref(b);
}

/* cw_memo_get's answer: 1 and the body's text in out, or 0. */
static int get(cw_memo *m, unsigned slot, int64_t now, bool *build, char *out, size_t size)
{
        cw_memo_body *b = NULL;
        const char *data;
        size_t len;
        int r = cw_memo_get(m, slot, now, &b, build);

        if (r == 1) {
                data = cw_memo_body_data(b, &len);
                assert_true(len < size);
                memcpy(out, data, len);
                out[len] = '\0';
                cw_memo_body_unref(b);
        } else {
                assert_null(b);
        }
        return r;
}

static void test_fresh_stale_rebuild(void **state _unused_)
{
        cw_memo *m = cw_memo_new();
        char t[16];
        bool build = true;

        /* Nothing kept: this request builds. */
        assert_int_equal(get(m, 1, 100, &build, t, sizeof(t)), 0);
        assert_true(build);
        put(m, 1, 100, "one");
        /* Fresh: served, no build; another slot is separate. */
        assert_int_equal(get(m, 1, 100 + SEC - 1, &build, t, sizeof(t)), 1);
        assert_false(build);
        assert_string_equal(t, "one");
        assert_int_equal(get(m, 0, 100, &build, t, sizeof(t)), 0);
        assert_true(build);
        put(m, 0, 100, NULL);
        /* Expired: the first request rebuilds, the next gets the old body. */
        assert_int_equal(get(m, 1, 100 + SEC, &build, t, sizeof(t)), 0);
        assert_true(build);
        assert_int_equal(get(m, 1, 100 + SEC + 5, &build, t, sizeof(t)), 1);
        assert_false(build);
        assert_string_equal(t, "one");
        /* A failed build keeps the old body (still expired: rebuilt next). */
        put(m, 1, 100 + SEC, NULL);
        assert_int_equal(get(m, 1, 100 + SEC + 6, &build, t, sizeof(t)), 0);
        assert_true(build);
        put(m, 1, 100 + SEC + 6, "two!");
        assert_int_equal(get(m, 1, 100 + SEC + 7, &build, t, sizeof(t)), 1);
        assert_string_equal(t, "two!");
        cw_memo_free(m);
        cw_memo_free(NULL);
}

static void test_old_bodies_dropped(void **state _unused_)
{
        cw_memo *m = cw_memo_new();
        char t[16];
        bool build;

        assert_int_equal(get(m, 2, 0, &build, t, sizeof(t)), 0);
        put(m, 2, 0, "once");
        /* Asked for once: gone after CW_MEMO_DROP_US, at any slot's request. */
        assert_int_equal(get(m, 1, CW_MEMO_DROP_US - 1, &build, t, sizeof(t)), 0);
        put(m, 1, CW_MEMO_DROP_US - 1, "other");
        assert_int_equal(get(m, 1, CW_MEMO_DROP_US, &build, t, sizeof(t)), 1);
        assert_string_equal(t, "other");
        assert_int_equal(get(m, 2, CW_MEMO_DROP_US + 1, &build, t, sizeof(t)), 0);
        assert_true(build); /* nothing kept: no stale body either */
        put(m, 2, CW_MEMO_DROP_US + 1, NULL);
        cw_memo_free(m);
        /* Without a memo (a request not made by a server): build, unshared. */
        assert_int_equal(get(NULL, 0, 0, &build, t, sizeof(t)), 0);
        assert_false(build);
        cw_memo_put(NULL, 0, 0, NULL);
        cw_memo_body_unref(NULL);
}

static void test_bodies_outlive_the_memo(void **state _unused_)
{
        cw_memo *m = cw_memo_new();
        cw_memo_body *b = NULL;
        const char *data;
        size_t len;
        bool build;

        assert_int_equal(get(m, 0, 0, &build, NULL, 0), 0);
        put(m, 0, 0, "kept");
        assert_int_equal(cw_memo_get(m, 0, 1, &b, &build), 1);
        put(m, 0, SEC, "newer"); /* the slot drops its reference to "kept" */
        cw_memo_free(m);
        data = cw_memo_body_data(b, &len);
        assert_int_equal(len, 4);
        assert_memory_equal(data, "kept", 4);
        cw_memo_body_unref(b);
}

typedef struct waiter {
        cw_memo *m;
        int r;
        bool build;
        char text[16];
} waiter;

static void *wait_for_build(void *arg)
{
        waiter *w = arg;

        w->r = get(w->m, 3, 10, &w->build, w->text, sizeof(w->text));
        return NULL;
}

static void test_first_build_is_shared(void **state _unused_)
{
        waiter w = {.m = cw_memo_new()};
        pthread_t t;
        bool build;

        assert_int_equal(get(w.m, 3, 10, &build, NULL, 0), 0);
        assert_true(build);
        assert_int_equal(pthread_create(&t, NULL, wait_for_build, &w), 0);
        usleep(50 * 1000); /* the other request is waiting (or about to) */
        put(w.m, 3, 10, "shared");
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(w.r, 1);
        assert_false(w.build);
        assert_string_equal(w.text, "shared");
        cw_memo_free(w.m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fresh_stale_rebuild),
                cmocka_unit_test(test_old_bodies_dropped),
                cmocka_unit_test(test_bodies_outlive_the_memo),
                cmocka_unit_test(test_first_build_is_shared),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
