/* error.h - where and what went wrong, for parsers.
 *
 * Functions return 0 or a negative errno; parsers additionally fill a
 * cw_error so the fronts (CLI, HTTP) can show the offending text with a
 * caret under it. Library code never prints: it fills this and returns. */
#ifndef CW_BASE_ERROR_H
#define CW_BASE_ERROR_H

#include "macro.h"

typedef struct cw_error {
        int col;       /* byte offset of the problem in the parsed text, -1 if none */
        int len;       /* bytes to underline (>= 1 when col >= 0) */
        char msg[320]; /* lowercase, problem first, subject in quotes */
} cw_error;

/* Clears e (col = -1, empty msg). Accepts NULL. */
void cw_error_clear(cw_error *e);

/* Sets e's position and message; always returns -EINVAL so parsers can
 * write `return cw_error_set(...)`. Accepts NULL e (then only returns). */
int cw_error_set(cw_error *e, int col, int len, const char *fmt, ...) _printf_(4, 5);

/* Like cw_error_set without a position, but returns r (any negative
 * errno) so callers can write `return cw_error_fail(err, -EACCES, ...)`. */
int cw_error_fail(cw_error *e, int r, const char *fmt, ...) _printf_(3, 4);

/* Writes `text` and, on the next line, a caret line under e's span into
 * buf (at most size bytes, always NUL-terminated). Writes only the text when
 * e has no position. Returns the number of bytes written. */
size_t cw_error_caret(const cw_error *e, const char *text, const char *indent, char *buf,
                      size_t size);

#endif
