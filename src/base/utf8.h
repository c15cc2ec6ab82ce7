/* utf8.h - validating UTF-8 one sequence at a time, for everything that
 * shows bytes a job wrote (HTML pages, JSON, a terminal): shortest forms
 * only, no surrogates, nothing past U+10FFFF (RFC 3629). */
#ifndef CW_BASE_UTF8_H
#define CW_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at p, which has n >= 1 bytes
 * left; 0 when it is invalid. When the bytes run out in the middle of a
 * sequence valid so far, returns 0 and sets *ret_partial (if non-NULL) to
 * true, so a reader of a growing stream can wait for the rest; otherwise
 * *ret_partial is false. */
size_t cw_utf8_seq(const unsigned char *p, size_t n, bool *ret_partial);

#endif
