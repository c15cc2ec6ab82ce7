/* capture.c - bounded head + tail capture of a job's output (capture.h).
 *
 * Representation: `head` is a plain buffer that takes the first max/2
 * bytes; once it is full, every further byte goes into `tail`, a ring of
 * max - max/2 bytes whose oldest byte sits at tail_pos once it has
 * wrapped. Appending is O(len) with at most three memcpy calls, and a
 * single append larger than the ring only copies its last ring-size bytes,
 * so a job flooding gigabytes costs the worker nothing but the copy of what
 * it keeps.
 *
 * Both buffers are allocated in full by cw_capture_init: malloc of a large
 * block maps pages lazily, so a job printing ten bytes touches one page of
 * a 1 MiB capture, while the bound stays a plain fact of the allocation. */
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_capture_init(cw_capture *c, size_t max)
{
        size_t head_max, tail_max;

        if (max < 2)
                max = 2;
        head_max = max / 2;
        tail_max = max - head_max;
        *c = (cw_capture){.max = max};
        c->head = malloc(head_max);
        c->tail = malloc(tail_max);
        if (!c->head || !c->tail) {
                cw_capture_release(c);
                return -ENOMEM;
        }
        return 0;
}

void cw_capture_append(cw_capture *c, const void *data, size_t len)
{
        const char *p = data;
        size_t head_max = c->max / 2, tail_max = c->max - head_max, n;

        c->total += len;
        if (c->head_len < head_max) {
                n = head_max - c->head_len < len ? head_max - c->head_len : len;
                memcpy(c->head + c->head_len, p, n);
                c->head_len += n;
                p += n;
                len -= n;
        }
        if (len == 0)
                return;
        if (len >= tail_max) {
                /* Everything the ring held is pushed out by this append. */
                memcpy(c->tail, p + len - tail_max, tail_max);
                c->tail_len = tail_max;
                c->tail_pos = 0;
                return;
        }
        /* Write at tail_pos (the next free slot, or the oldest byte once
         * the ring is full), wrapping at most once. */
        n = tail_max - c->tail_pos < len ? tail_max - c->tail_pos : len;
        memcpy(c->tail + c->tail_pos, p, n);
        if (n < len)
                memcpy(c->tail, p + n, len - n);
        c->tail_pos = (c->tail_pos + len) % tail_max;
        c->tail_len = c->tail_len + len > tail_max ? tail_max : c->tail_len + len;
}

int cw_capture_finish(const cw_capture *c, char **ret, size_t *ret_len, bool *ret_truncated)
{
        size_t tail_max = c->max - c->max / 2, kept = c->head_len + c->tail_len, len = 0;
        uint64_t omitted = c->total - kept;
        char marker[CW_CAPTURE_MARKER_MAX];
        int mlen = 0;
        char *out;

        if (omitted > 0) {
                /* The marker is a line of its own even when the head was
                 * cut in the middle of one, so `logs` shows it clearly. */
                bool nl = c->head_len > 0 && c->head[c->head_len - 1] != '\n';

                mlen = cw_capture_marker(marker, sizeof(marker), omitted, nl);
                if (mlen < 0)
                        return mlen;
        }
        out = malloc(kept + (size_t)mlen + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, c->head, c->head_len);
        len = c->head_len;
        memcpy(out + len, marker, (size_t)mlen);
        len += (size_t)mlen;
        if (c->tail_len < tail_max) {
                /* Never wrapped: the ring holds bytes 0..tail_len in order. */
                memcpy(out + len, c->tail, c->tail_len);
                len += c->tail_len;
        } else {
                memcpy(out + len, c->tail + c->tail_pos, tail_max - c->tail_pos);
                len += tail_max - c->tail_pos;
                memcpy(out + len, c->tail, c->tail_pos);
                len += c->tail_pos;
        }
        /* A NUL after the data costs nothing and lets text callers print it. */
        out[len] = '\0';
        *ret = out;
        *ret_len = len;
        *ret_truncated = omitted > 0;
        return 0;
}

void cw_capture_release(cw_capture *c)
{
        if (!c)
                return;
        free(c->head);
        free(c->tail);
        *c = (cw_capture){0};
}

#define MARKER_OPEN "[... cronwarden: "
#define MARKER_CLOSE " bytes omitted ...]\n"

int cw_capture_marker(char *buf, size_t size, uint64_t omitted, bool nl)
{
        int n = snprintf(buf, size, "%s" MARKER_OPEN "%" PRIu64 MARKER_CLOSE, nl ? "\n" : "",
                         omitted);

        if (n < 0 || (size_t)n >= size)
                return -EOVERFLOW;
        return n;
}

/* A truncated rendering is head (max/2 bytes), the marker for total - max
 * omitted bytes, and tail (max - max/2 bytes): both parts are full once
 * anything was dropped. max is not stored, but the marker's length only
 * depends on the digits of total - max and on the newline before it, so
 * each of the few possible lengths is tried, and the one whose marker is
 * found where it must be, saying the count it must say, is the rendering.
 * A head that merely contains marker-like text cannot fool this: the
 * marker is looked for at one exact offset with one exact count. */
int cw_capture_view_parse(const void *out, size_t len, uint64_t total, bool truncated,
                          cw_capture_view *ret)
{
        const size_t fixed = strlen(MARKER_OPEN) + strlen(MARKER_CLOSE);
        const char *p = out;

        if (!p && len > 0)
                return -EINVAL;
        if (!truncated) {
                if (len != total)
                        return -EINVAL;
                *ret = (cw_capture_view){
                        .total = total, .head = p, .head_len = len, .tail = p + len};
                return 0;
        }
        for (int nl = 0; nl <= 1; nl++) {
                for (size_t digits = 1; digits <= 20; digits++) {
                        char marker[CW_CAPTURE_MARKER_MAX];
                        size_t mlen = fixed + digits + (size_t)nl, max, head_len;
                        int m;

                        if (len < mlen + 2)
                                break;
                        max = len - mlen;
                        if (total <= max)
                                continue;
                        head_len = max / 2;
                        m = cw_capture_marker(marker, sizeof(marker), total - max, nl);
                        if (m < 0 || (size_t)m != mlen || memcmp(p + head_len, marker, mlen) != 0)
                                continue;
                        /* The newline is there exactly when the head does
                         * not end a line (cw_capture_finish). */
                        if ((p[head_len - 1] != '\n') != (nl == 1))
                                continue;
                        *ret = (cw_capture_view){
                                .total = total,
                                .head = p,
                                .head_len = head_len,
                                .tail = p + head_len + mlen,
                                .tail_len = max - head_len,
                        };
                        return 0;
                }
        }
        return -EINVAL;
}

int cw_capture_view_rest(const cw_capture_view *v, uint64_t from, cw_capture_rest *ret)
{
        uint64_t tail_from = v->total - v->tail_len;

        if (from > v->total)
                return -ERANGE;
        if (from < v->head_len) {
                *ret = (cw_capture_rest){
                        .a = v->head + from,
                        .a_len = v->head_len - (size_t)from,
                        .omitted = tail_from - v->head_len,
                        .b = v->tail,
                        .b_len = v->tail_len,
                };
        } else if (from >= tail_from) {
                *ret = (cw_capture_rest){.a = v->tail + (from - tail_from),
                                         .a_len = (size_t)(v->total - from)};
        } else {
                *ret = (cw_capture_rest){
                        .omitted = tail_from - from, .b = v->tail, .b_len = v->tail_len};
        }
        return 0;
}
