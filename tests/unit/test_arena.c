/* test_arena.c - the region allocator (base/arena.h): alignment, growth of
 * the block chain, large requests in blocks of their own, string copies,
 * release and reuse. Run under ASan, the tests also check that every byte
 * handed out is writable and that release frees every block. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"

static void test_arena_empty(void **state)
{
        cw_arena a = CW_ARENA_INIT;

        (void)state;
        assert_int_equal(cw_arena_allocated(&a), 0);
        cw_arena_release(&a);
        cw_arena_release(NULL);
        assert_int_equal(cw_arena_allocated(&a), 0);
}

static void test_arena_alignment(void **state)
{
        static const size_t aligns[] = {1, 2, 4, 8, 16};
        cw_arena a = CW_ARENA_INIT;

        (void)state;
        /* Odd sizes between differently aligned requests. */
        for (int round = 0; round < 2000; round++)
                for (size_t k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
                        size_t size = (size_t)(round % 37) + k;
                        unsigned char *p = cw_arena_alloc(&a, size, aligns[k]);

                        assert_non_null(p);
                        assert_int_equal((uintptr_t)p % aligns[k], 0);
                        memset(p, 0xab, size);
                }
        assert_int_equal(
                (uintptr_t)cw_arena_alloc(&a, 1, alignof(max_align_t)) % alignof(max_align_t), 0);
        /* Unsupported alignments are refused, not rounded. */
        assert_null(cw_arena_alloc(&a, 8, 0));
        assert_null(cw_arena_alloc(&a, 8, 3));
        assert_null(cw_arena_alloc(&a, 8, 2 * alignof(max_align_t)));
        cw_arena_release(&a);
}

static void test_arena_growth(void **state)
{
        cw_arena a = CW_ARENA_INIT;
        char *prev = NULL;
        size_t before;

        (void)state;
        /* The first block is small: a tiny arena stays tiny. */
        assert_non_null(cw_arena_alloc(&a, 10, 1));
        assert_true(cw_arena_allocated(&a) < 2 * CW_ARENA_BLOCK_MIN);
        /* Consecutive small allocations share a block: no per-allocation
         * overhead. */
        before = cw_arena_allocated(&a);
        for (int i = 0; i < 100; i++) {
                char *p = cw_arena_alloc(&a, 8, 1);

                assert_non_null(p);
                if (prev)
                        assert_ptr_equal(p, prev + 8);
                prev = p;
        }
        assert_int_equal(cw_arena_allocated(&a), before);
        /* 64 MiB in 96-byte pieces: blocks grow up to the maximum, and
         * the overhead stays a small fraction of what was asked for. */
        for (size_t total = 0; total < ((size_t)64 << 20); total += 96) {
                unsigned char *p = cw_arena_alloc(&a, 96, 8);

                assert_non_null(p);
                p[0] = p[95] = 1;
        }
        assert_true(cw_arena_allocated(&a) < ((size_t)64 << 20) + ((size_t)64 << 20) / 50);
        assert_int_equal(a.next_size, CW_ARENA_BLOCK_MAX);
        cw_arena_release(&a);
        assert_int_equal(cw_arena_allocated(&a), 0);
}

static void test_arena_huge(void **state)
{
        cw_arena a = CW_ARENA_INIT;
        char *small1, *small2, *big;
        size_t n = (size_t)8 << 20;

        (void)state;
        small1 = cw_arena_alloc(&a, 16, 1);
        assert_non_null(small1);
        /* Larger than any block: a block of its own ... */
        big = cw_arena_alloc(&a, n, 16);
        assert_non_null(big);
        memset(big, 'x', n);
        /* ... and the current block keeps its free space. */
        small2 = cw_arena_alloc(&a, 16, 1);
        assert_ptr_equal(small2, small1 + 16);
        /* A huge string. */
        big[n - 1] = '\0';
        {
                char *copy = cw_arena_strdup(&a, big);

                assert_non_null(copy);
                assert_int_equal(strlen(copy), n - 1);
                assert_int_equal(copy[n / 2], 'x');
        }
        /* Impossible sizes fail cleanly. */
        assert_null(cw_arena_alloc(&a, SIZE_MAX, 1));
        assert_null(cw_arena_alloc(&a, SIZE_MAX - 8, 8));
        assert_null(cw_arena_calloc(&a, SIZE_MAX / 2, 4, 4));
        /* A huge first request, then small ones. */
        cw_arena_release(&a);
        assert_non_null(cw_arena_alloc(&a, n, 1));
        assert_non_null(cw_arena_alloc(&a, 1, 1));
        assert_non_null(cw_arena_alloc(&a, 1, 1));
        cw_arena_release(&a);
}

static void test_arena_strings(void **state)
{
        cw_arena a = CW_ARENA_INIT;
        const int src[3] = {1, 2, 3};
        int *ip;
        char *s;

        (void)state;
        s = cw_arena_strdup(&a, "hello");
        assert_string_equal(s, "hello");
        s = cw_arena_strdup(&a, "");
        assert_string_equal(s, "");
        s = cw_arena_strndup(&a, "hello world", 5);
        assert_string_equal(s, "hello");
        s = cw_arena_strndup(&a, "hi", 10);
        assert_string_equal(s, "hi");
        ip = cw_arena_memdup(&a, src, sizeof(src), alignof(int));
        assert_non_null(ip);
        assert_memory_equal(ip, src, sizeof(src));
        ip = cw_arena_calloc(&a, 100, sizeof(int), alignof(int));
        assert_non_null(ip);
        for (int i = 0; i < 100; i++)
                assert_int_equal(ip[i], 0);
        /* The arena can be used again after a release. */
        cw_arena_release(&a);
        s = cw_arena_strdup(&a, "again");
        assert_string_equal(s, "again");
        cw_arena_release(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_arena_empty),   cmocka_unit_test(test_arena_alignment),
                cmocka_unit_test(test_arena_growth),  cmocka_unit_test(test_arena_huge),
                cmocka_unit_test(test_arena_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
