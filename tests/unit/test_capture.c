/* test_capture.c - the bounded head + tail capture of job output.
 *
 * Each case appends a known byte stream in some chunking and compares the
 * rendering with what it must be, computed independently from the whole
 * stream: small outputs come back untouched; large ones keep exactly the
 * first max/2 and last max - max/2 bytes with the marker line between,
 * and `total` counts every byte. Streams are pseudo-random binary (NUL
 * bytes and invalid UTF-8 included) so a byte moved or dropped shows. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/macro.h"
#include "worker/capture.h"

/* A reproducible binary stream: byte i of stream `seed`. */
static unsigned char stream_byte(uint64_t seed, uint64_t i)
{
        uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ULL;
        return (unsigned char)(x >> 56);
}

static void fill(unsigned char *buf, uint64_t seed, uint64_t from, size_t n)
{
        for (size_t i = 0; i < n; i++)
                buf[i] = stream_byte(seed, from + i);
}

/* A rendering read back (cw_capture_view_parse) gives the stream's first
 * and last bytes, and cw_capture_view_rest from any offset continues the
 * stream exactly: held bytes as they are, dropped ones counted. */
static void check_view(const char *out, size_t len, uint64_t total, bool truncated, size_t max,
                       uint64_t seed)
{
        uint64_t froms[] = {0,         1,           max / 2 - 1,
                            max / 2,   max / 2 + 1, total / 2,
                            total - 1, total,       total > max ? total - (max - max / 2) : 0};
        cw_capture_view v;
        cw_capture_rest r;

        assert_int_equal(cw_capture_view_parse(out, len, total, truncated, &v), 0);
        assert_true(v.total == total);
        assert_true(v.head_len == (total <= max ? total : max / 2));
        assert_true(v.tail_len == (total <= max ? 0 : max - max / 2));
        for (size_t i = 0; i < v.head_len; i++)
                assert_int_equal((unsigned char)v.head[i], stream_byte(seed, i));
        for (size_t i = 0; i < v.tail_len; i++)
                assert_int_equal((unsigned char)v.tail[i],
                                 stream_byte(seed, total - v.tail_len + i));
        for (size_t k = 0; k < CW_ARRAY_SIZE(froms); k++) {
                uint64_t from = froms[k], pos = from;

                if (from > total)
                        continue;
                assert_int_equal(cw_capture_view_rest(&v, from, &r), 0);
                for (size_t i = 0; i < r.a_len; i++)
                        assert_int_equal((unsigned char)r.a[i], stream_byte(seed, pos + i));
                pos += r.a_len + r.omitted;
                for (size_t i = 0; i < r.b_len; i++)
                        assert_int_equal((unsigned char)r.b[i], stream_byte(seed, pos + i));
                pos += r.b_len;
                assert_true(pos == total);
        }
        assert_int_equal(cw_capture_view_rest(&v, total + 1, &r), -ERANGE);
        /* A size of another moment: refused when the shape cannot hold it
         * (a size far off, or any other size of an untruncated output). */
        if (truncated)
                assert_int_equal(
                        cw_capture_view_parse(out, len, total + 1000000007ULL, truncated, &v),
                        -EINVAL);
        else
                assert_int_equal(cw_capture_view_parse(out, len, total + 1, truncated, &v),
                                 -EINVAL);
}

/* Appends `total` stream bytes to a capture of `max` in chunks cycling
 * through `chunks`, then checks the rendering byte by byte. */
static void check(size_t max, uint64_t total, const size_t *chunks, size_t n_chunks, uint64_t seed)
{
        size_t head_max = max / 2, tail_max = max - head_max;
        unsigned char *buf;
        uint64_t pos = 0;
        size_t ci = 0, len, big = 0;
        cw_capture c;
        bool truncated;
        char *out;

        for (size_t i = 0; i < n_chunks; i++)
                big = chunks[i] > big ? chunks[i] : big;
        buf = malloc(big ? big : 1);
        assert_non_null(buf);
        assert_int_equal(cw_capture_init(&c, max), 0);
        while (pos < total) {
                size_t n = chunks[ci++ % n_chunks];

                if (n > total - pos)
                        n = (size_t)(total - pos);
                fill(buf, seed, pos, n);
                cw_capture_append(&c, buf, n);
                pos += n;
        }
        free(buf);
        assert_true(c.total == total);
        /* Memory never exceeds the bound. */
        assert_true(c.head_len <= head_max && c.tail_len <= tail_max);
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        if (total <= max) {
                assert_false(truncated);
                assert_int_equal(len, total);
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char)out[i] != stream_byte(seed, i))
                                fail_msg("max %zu total %" PRIu64 ": byte %zu differs", max, total,
                                         i);
        } else {
                char marker[128];
                uint64_t omitted = total - head_max - tail_max;
                size_t mlen;
                bool nl = stream_byte(seed, head_max - 1) != '\n';

                assert_true(truncated);
                snprintf(marker, sizeof(marker),
                         "%s[... cronwarden: %" PRIu64 " bytes omitted ...]\n", nl ? "\n" : "",
                         omitted);
                mlen = strlen(marker);
                assert_int_equal(len, head_max + mlen + tail_max);
                for (size_t i = 0; i < head_max; i++)
                        if ((unsigned char)out[i] != stream_byte(seed, i))
                                fail_msg("max %zu total %" PRIu64 ": head byte %zu differs", max,
                                         total, i);
                assert_memory_equal(out + head_max, marker, mlen);
                for (size_t i = 0; i < tail_max; i++)
                        if ((unsigned char)out[head_max + mlen + i] !=
                            stream_byte(seed, total - tail_max + i))
                                fail_msg("max %zu total %" PRIu64 ": tail byte %zu differs", max,
                                         total, i);
        }
        check_view(out, len, total, truncated, max, seed);
        free(out);
        cw_capture_release(&c);
}

static void test_small_untouched(void **state)
{
        static const size_t one[] = {1}, seven[] = {7}, mixed[] = {3, 1, 500, 2};

        (void)state;
        check(1024, 0, one, 1, 1);
        check(1024, 1, one, 1, 2);
        check(1024, 512, seven, 1, 3);
        check(1024, 1000, mixed, 4, 4);
        /* Exactly max: nothing dropped, no marker. */
        check(1024, 1024, one, 1, 5);
        check(1024, 1024, mixed, 4, 6);
        check(1025, 1025, seven, 1, 7);
}

static void test_bounds(void **state)
{
        /* Chunkings that hit every path: byte by byte, chunks that wrap
         * the ring, chunks larger than the ring, and one huge append. */
        static const size_t one[] = {1}, odd[] = {3, 1021, 7, 513, 2048}, big[] = {65536},
                            prime[] = {509};
        static const struct {
                size_t max;
                uint64_t total;
        } cases[] = {
                {1024, 1025}, {1024, 1536}, {1024, 2048}, {1024, 5000},   {1025, 4097},
                {2, 3},       {2, 1000},    {3, 10},      {4096, 100000},
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                check(cases[i].max, cases[i].total, one, 1, 10 + i);
                check(cases[i].max, cases[i].total, odd, CW_ARRAY_SIZE(odd), 20 + i);
                check(cases[i].max, cases[i].total, prime, 1, 30 + i);
                check(cases[i].max, cases[i].total, big, 1, 40 + i);
        }
}

/* 10 MiB into 1 KiB, in the chunk size the worker reads. */
static void test_flood(void **state)
{
        static const size_t chunk[] = {64 * 1024}, odd[] = {4093, 65521};

        (void)state;
        check(1024, 10u * 1024 * 1024, chunk, 1, 99);
        check(1024, 10u * 1024 * 1024 + 17, odd, 2, 98);
        /* One append of everything at once. */
        {
                static const size_t all[] = {3u * 1024 * 1024};

                check(1024, 3u * 1024 * 1024, all, 1, 97);
        }
}

/* The marker line, spelled out once by hand. */
static void test_marker_text(void **state)
{
        const char *text = "line one\nline two\nline three\n";
        cw_capture c;
        size_t len;
        bool truncated;
        char *out;

        (void)state;
        assert_int_equal(cw_capture_init(&c, 10), 0);
        cw_capture_append(&c, text, strlen(text));
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        assert_true(truncated);
        /* Head "line " does not end a line: the marker starts a new one. */
        assert_string_equal(out, "line \n[... cronwarden: 19 bytes omitted ...]\nhree\n");
        assert_int_equal(len, strlen(out));
        free(out);
        cw_capture_release(&c);

        assert_int_equal(cw_capture_init(&c, 18), 0);
        cw_capture_append(&c, text, strlen(text));
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        assert_string_equal(out, "line one\n[... cronwarden: 11 bytes omitted ...]\nne three\n");
        free(out);
        cw_capture_release(&c);
}

/* NUL bytes and invalid UTF-8 survive, and the rendering is NUL-terminated. */
static void test_binary(void **state)
{
        static const char data[] = {'\0', '\xff', '\xfe', 'a', '\0', '\xc3', '(', '\n', '\x80'};
        cw_capture c;
        size_t len;
        bool truncated;
        char *out;

        (void)state;
        assert_int_equal(cw_capture_init(&c, 64), 0);
        cw_capture_append(&c, data, sizeof(data));
        cw_capture_append(&c, "", 0);
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        assert_false(truncated);
        assert_int_equal(len, sizeof(data));
        assert_memory_equal(out, data, sizeof(data));
        assert_int_equal(out[len], '\0');
        free(out);
        cw_capture_release(&c);
        /* Release twice and of a zeroed capture is fine. */
        cw_capture_release(&c);
        cw_capture_release(NULL);
}

/* An empty capture renders as an empty buffer. */
static void test_empty(void **state)
{
        cw_capture c;
        size_t len = 99;
        bool truncated = true;
        char *out = NULL;

        (void)state;
        assert_int_equal(cw_capture_init(&c, 1024), 0);
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        assert_non_null(out);
        assert_int_equal(len, 0);
        assert_false(truncated);
        free(out);
        cw_capture_release(&c);
}

/* Readers of stored output: text that looks like a marker inside the head
 * or the tail is not taken for it, a rendering paired with the wrong size
 * or flag is refused, and the marker helper says what finish writes. */
static void test_view_adversarial(void **state)
{
        char fake[256], m[CW_CAPTURE_MARKER_MAX], *out;
        cw_capture c;
        cw_capture_view v;
        cw_capture_rest r;
        size_t len;
        bool truncated;
        uint64_t total;

        (void)state;
        int ml = cw_capture_marker(m, sizeof(m), 19, true);

        assert_int_equal(ml, (int)strlen(m));
        assert_string_equal(m, "\n[... cronwarden: 19 bytes omitted ...]\n");
        assert_int_equal(cw_capture_marker(m, 10, 19, false), -EOVERFLOW);

        /* The job itself prints marker lines, in the head and in the tail. */
        snprintf(fake, sizeof(fake), "[... cronwarden: 5 bytes omitted ...]\n");
        assert_int_equal(cw_capture_init(&c, 120), 0);
        total = 0;
        for (int i = 0; i < 8; i++) {
                cw_capture_append(&c, fake, strlen(fake));
                total += strlen(fake);
        }
        assert_int_equal(cw_capture_finish(&c, &out, &len, &truncated), 0);
        assert_true(truncated);
        assert_int_equal(cw_capture_view_parse(out, len, total, true, &v), 0);
        assert_int_equal(v.head_len, 60);
        assert_int_equal(v.tail_len, 60);
        assert_memory_equal(v.head, fake, strlen(fake));
        assert_memory_equal(v.tail + 60 - strlen(fake), fake, strlen(fake));
        /* From the middle of the dropped part: a count, then the tail. */
        assert_int_equal(cw_capture_view_rest(&v, 100, &r), 0);
        assert_true(r.a_len == 0 && r.omitted == total - 60 - 100 && r.b_len == 60);
        /* The wrong flag, or a size that does not fit. */
        assert_int_equal(cw_capture_view_parse(out, len, total, false, &v), -EINVAL);
        assert_int_equal(cw_capture_view_parse(out, len, 10, true, &v), -EINVAL);
        assert_int_equal(cw_capture_view_parse(out, 3, total, true, &v), -EINVAL);
        assert_int_equal(cw_capture_view_parse(NULL, 0, 0, false, &v), 0);
        assert_int_equal(cw_capture_view_parse(NULL, 5, 5, false, &v), -EINVAL);
        free(out);
        cw_capture_release(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_small_untouched),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_flood),
                cmocka_unit_test(test_marker_text),
                cmocka_unit_test(test_binary),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_view_adversarial),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
