/* buf.h - growable byte buffers with a hard maximum (cw_buf), for
 * anything built from input a user controls: HTTP responses, JSON, HTML.
 *
 * Errors are sticky: once an append fails (out of memory, or the buffer
 * would pass its max) the buffer keeps what it had, every later append is
 * a no-op returning the same error, and b->err says which. Builders may
 * therefore ignore each append's return and check cw_buf_error() once at
 * the end. The content is always NUL-terminated when non-empty
 * (b->p[b->len] == 0); b->p is NULL while nothing was added.
 *
 * Lifecycle (git's verbs): CW_BUF_INIT(max) initialises without
 * allocating; cw_buf_release() frees the contents and leaves an empty
 * buffer with the same max; cw_buf_steal() hands the contents over. */
#ifndef CW_BASE_BUF_H
#define CW_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/macro.h"

typedef struct cw_buf {
        char *p;
        size_t len;
        size_t cap;
        size_t max; /* the most bytes it may hold (without the NUL); 0: no limit */
        int err;    /* 0, -ENOMEM or -E2BIG (sticky) */
} cw_buf;

/* clang-format off */
#define CW_BUF_INIT(max_bytes) {.max = (max_bytes)}
/* clang-format on */

/* Each returns 0, or the sticky error (-ENOMEM, -E2BIG when the result
 * would be longer than max); on error nothing of this call was added. */
int cw_buf_add(cw_buf *b, const void *data, size_t len);
int cw_buf_puts(cw_buf *b, const char *s);
int cw_buf_putc(cw_buf *b, char c);
_printf_(2, 3) int cw_buf_printf(cw_buf *b, const char *fmt, ...);
_printf_(2, 0) int cw_buf_vprintf(cw_buf *b, const char *fmt, va_list ap);

static inline int cw_buf_error(const cw_buf *b)
{
        return b->err;
}

/* Shortens the content to its first len bytes (nothing happens when it
 * is not longer); the error, if any, stays. For builders that take back
 * what they just wrote (a trailing blank, a separator). */
void cw_buf_truncate(cw_buf *b, size_t len);
/* The last byte, or '\0' when empty. */
static inline char cw_buf_last(const cw_buf *b)
{
        return b->len ? b->p[b->len - 1] : '\0';
}

/* Empties the buffer without freeing (keeps max and the error cleared). */
void cw_buf_reset(cw_buf *b);
/* Frees the contents; b is empty again (max kept, error cleared). */
void cw_buf_release(cw_buf *b);
/* Returns the contents (NUL-terminated, never NULL: "" allocated when
 * empty; NULL only when that allocation fails) and its length in
 * *ret_len (may be NULL); b is empty afterwards. The caller frees. */
char *cw_buf_steal(cw_buf *b, size_t *ret_len);

#endif
