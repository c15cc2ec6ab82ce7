/* capture.h - bounded capture of a job's output (docs/running.md).
 *
 * Keeps the first max/2 bytes and the last max/2 bytes of everything
 * appended, however much that is, in memory bounded by max: a job printing
 * a gigabyte costs max bytes. cw_capture_finish() renders head, a marker
 * line "[... cronwarden: N bytes omitted ...]", and tail. Binary-safe.
 *
 * A rendering can be taken at any time (the worker stores one about once
 * a second while the job runs), and read back: cw_capture_view_parse
 * splits a stored rendering into the stream bytes it holds, and
 * cw_capture_view_rest says what a reader who has seen the first `from`
 * bytes of the stream sees next (`logs --follow`, the API's ?since=). */
#ifndef CW_WORKER_CAPTURE_H
#define CW_WORKER_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cw_capture {
        size_t max; /* bound on kept bytes (>= 2) */
        char *head; /* first max/2 bytes */
        size_t head_len;
        char *tail; /* ring of the last max - max/2 bytes */
        size_t tail_len, tail_pos;
        uint64_t total; /* bytes appended in all */
} cw_capture;

/* Sets up an empty capture bounded by max bytes. Returns 0 or -ENOMEM. */
int cw_capture_init(cw_capture *c, size_t max);
void cw_capture_append(cw_capture *c, const void *data, size_t len);
/* Renders the kept output into a new buffer (caller frees) of *ret_len
 * bytes; *ret_truncated when bytes were dropped. -ENOMEM on failure. */
int cw_capture_finish(const cw_capture *c, char **ret, size_t *ret_len, bool *ret_truncated);
void cw_capture_release(cw_capture *c);

/* Room for any marker line. */
#define CW_CAPTURE_MARKER_MAX 96
/* Writes the marker line for `omitted` bytes into buf (NUL-terminated),
 * preceded by a newline when nl (the text before it does not end a line).
 * Returns its length, or -EOVERFLOW when size is too small. */
int cw_capture_marker(char *buf, size_t size, uint64_t omitted, bool nl);

/* A rendering split back into the stream bytes it holds; the pointers
 * point into the rendering (not owned). */
typedef struct cw_capture_view {
        uint64_t total;   /* bytes appended in all */
        const char *head; /* stream bytes [0, head_len) */
        size_t head_len;
        const char *tail; /* stream bytes [total - tail_len, total) */
        size_t tail_len;
} cw_capture_view;

/* Splits out[0..len), a rendering by cw_capture_finish of a stream of
 * `total` bytes that said `truncated`. Returns 0, or -EINVAL when out
 * cannot be such a rendering (stored by something else, or with a size
 * that does not fit it); *ret is unchanged then. A size of another moment
 * is not always detected (with an odd max, total + 1 may fit a rendering
 * of max + 1): read the output and its size at one moment
 * (cw_store_run_output_get). */
int cw_capture_view_parse(const void *out, size_t len, uint64_t total, bool truncated,
                          cw_capture_view *ret);

/* The stream from byte `from` on, as a view holds it: a (bytes held
 * contiguously, from the head or the tail), then, when omitted > 0, that
 * many bytes the view does not hold, then b (the tail). */
typedef struct cw_capture_rest {
        const char *a;
        size_t a_len;
        uint64_t omitted;
        const char *b;
        size_t b_len;
} cw_capture_rest;
/* Returns 0, or -ERANGE when from > v->total (*ret unchanged). */
int cw_capture_view_rest(const cw_capture_view *v, uint64_t from, cw_capture_rest *ret);

#endif
