/* form.h - the admin server's parsers for request text a client controls:
 * percent-encoding, query strings and x-www-form-urlencoded bodies, the
 * request path, Cookie headers and `next=` redirect targets.
 *
 * Pure functions over bytes (no MHD, no I/O, no globals), so they are unit
 * tested (tests/unit/test_http.c) and fuzzed (tests/fuzz/fuzz_form.c)
 * alone. Every input is bounded by its caller (the server caps URIs,
 * headers and bodies); nothing here grows without a limit. */
#ifndef CW_HTTP_FORM_H
#define CW_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http/http.h"

/* Decodes %XX escapes in s[0..len) in place and NUL-terminates the result;
 * with plus_space, '+' becomes ' ' (queries and forms, not paths).
 * Returns the decoded length, or -EINVAL when a '%' is not followed by two
 * hex digits or an escape decodes to a NUL byte (values are C strings);
 * s is then unspecified. */
ssize_t cw_url_decode(char *s, size_t len, bool plus_space);

/* Appends s percent-encoded for use inside a query value: everything but
 * unreserved characters (A-Z a-z 0-9 - . _ ~) and '/' is escaped. Returns
 * cw_buf's result. */
int cw_url_encode(cw_buf *b, const char *s);

/* Parsed key=value pairs of a query string or form body. kv[i].key and
 * .value point into mem, which the form owns. */
typedef struct cw_form {
        cw_http_kv kv[CW_HTTP_MAX_PARAMS];
        size_t n;
        char *mem;
} cw_form;

/* Parses "k=v&k2=v2" of len bytes (no NUL needed) into f, which must be
 * zeroed or released. Pieces are split on '&'; empty pieces are skipped
 * ("a=1&&b=2"); a piece without '=' has the value ""; keys and values are
 * percent-decoded with '+' as a space. Returns 0; -EINVAL for a malformed
 * escape or one decoding to NUL; -E2BIG for more than CW_HTTP_MAX_PARAMS
 * pairs; -ENOMEM. On failure f is left empty. */
int cw_form_parse(const char *text, size_t len, cw_form *f);
/* Frees f's memory and empties it. Accepts a zeroed form. */
void cw_form_release(cw_form *f);
/* The value of the first pair called key, or NULL. */
const char *cw_form_get(const cw_http_kv *kv, size_t n, const char *key);

/* Checks a request path as sent (percent-encoded, without the query):
 * it must start with '/', decode cleanly, contain no NUL byte (%00), and
 * have no "." or ".." segment, whether written plainly or encoded
 * ("%2e%2e"). Returns 0 or -EINVAL. */
int cw_http_path_check(const char *raw, size_t len);

/* Finds cookie `name` in a Cookie header ("a=1; b=2") and copies its
 * value (without surrounding quotes) into buf. Returns true when found
 * and it fits in size - 1 bytes; false otherwise (buf then ""). */
bool cw_http_cookie_get(const char *header, const char *name, char *buf, size_t size);

/* True when s is a safe place to redirect to after logging in: a path on
 * this server (starts with '/', but not "//" or "/\", which browsers read
 * as another host), printable ASCII without spaces, at most 2048 bytes. */
bool cw_http_local_path(const char *s);

/* Compares two NUL-terminated secrets in time that depends only on their
 * lengths. */
bool cw_http_secret_equal(const char *a, const char *b);

#endif
