/* capture.h - bounded capture of a job's output (PRODUCT.md §6.1).
 *
 * Keeps the first max/2 bytes and the last max/2 bytes of everything
 * appended, however much that is, in memory bounded by max: a job printing
 * a gigabyte costs max bytes. cw_capture_finish() renders head, a marker
 * line "[... cronwarden: N bytes omitted ...]", and tail. Binary-safe. */
#ifndef CW_WORKER_CAPTURE_H
#define CW_WORKER_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cw_capture {
        size_t max;        /* bound on kept bytes (>= 2) */
        char *head;        /* first max/2 bytes */
        size_t head_len;
        char *tail;        /* ring of the last max - max/2 bytes */
        size_t tail_len, tail_pos;
        uint64_t total;    /* bytes appended in all */
} cw_capture;

/* Sets up an empty capture bounded by max bytes. Returns 0 or -ENOMEM. */
int cw_capture_init(cw_capture *c, size_t max);
void cw_capture_append(cw_capture *c, const void *data, size_t len);
/* Renders the kept output into a new buffer (caller frees) of *ret_len
 * bytes; *ret_truncated when bytes were dropped. -ENOMEM on failure. */
int cw_capture_finish(const cw_capture *c, char **ret, size_t *ret_len, bool *ret_truncated);
void cw_capture_release(cw_capture *c);

#endif
