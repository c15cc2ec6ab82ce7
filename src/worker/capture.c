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
        char marker[96];
        int mlen = 0;
        char *out;

        if (omitted > 0) {
                /* The marker is a line of its own even when the head was
                 * cut in the middle of one, so `logs` shows it clearly. */
                bool nl = c->head_len > 0 && c->head[c->head_len - 1] != '\n';

                mlen = snprintf(marker, sizeof(marker),
                                "%s[... cronwarden: %" PRIu64 " bytes omitted ...]\n",
                                nl ? "\n" : "", omitted);
                if (mlen < 0 || (size_t)mlen >= sizeof(marker))
                        return -EOVERFLOW;
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
