/* html.h - building the admin UI's HTML safely (docs/api.md).
 *
 * Everything a page shows that did not come from this file's own string
 * literals (job names, descriptions, commands, run output, messages, query
 * values) goes through one of the escaping writers below, so markup cannot
 * be smuggled in by habit:
 *
 *   cw_html_printf()  printf where every %s and %c argument is escaped for
 *                     both text and double-quoted attribute context; the
 *                     format string itself is trusted markup.
 *   cw_html_text()    escapes one string.
 *   cw_html_raw()     appends trusted markup as is: the one explicit way in,
 *                     for fragments this program built itself.
 *
 * Escaping turns & < > " ' into entities, replaces C0 control characters
 * (other than tab, newline, carriage return) and DEL with their visible
 * Unicode "control pictures" (U+2400...), and replaces bytes that are not
 * valid UTF-8 with U+FFFD, so binary job output renders inert and legible.
 * URLs are built from path segments and query values percent-encoded with
 * cw_html_urlenc(); the pages only link to paths on this server.
 *
 * The layout (cw_html_page_begin/end) writes the doctype, viewport, title,
 * the top bar with the navigation, the signed-in user with a logout form
 * (CSRF field), the flash message from `?msg=` / `?err=`, and the
 * /static/app.css and /static/app.js references. Pages carry their CSRF
 * token in <meta name="csrf-token"> for scripts.
 *
 * Times: instants are shown in the config's zone (cfg->tz) as
 * "2027-03-28 03:10:00" inside <time datetime="UTC ISO 8601">, with
 * relative text ("in 5 min", "3 h ago") that app.js keeps current. */
#ifndef CW_HTTP_HTML_H
#define CW_HTTP_HTML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/civil.h"
#include "http/http.h"
#include "store/run.h"
#include "tz/tz.h"

/* ---- escaping ---- */

/* Appends s escaped (text and attribute context). NULL appends nothing. */
void cw_html_text(cw_buf *b, const char *s);
/* Same for n bytes of s (may hold NULs and invalid UTF-8). */
void cw_html_text_n(cw_buf *b, const char *s, size_t n);
/* Appends trusted markup unchanged. */
void cw_html_raw(cw_buf *b, const char *markup);

/* printf into b where each %s / %c argument is escaped as by
 * cw_html_text (NULL %s is written as ""); numbers are formatted as
 * printf does. Supports the flags, width, precision (also *) and length
 * modifiers of C99 printf; %n is refused (the buffer is marked -EINVAL).
 * Returns b's sticky error. */
_printf_(2, 3) int cw_html_printf(cw_buf *b, const char *fmt, ...);
_printf_(2, 0) int cw_html_vprintf(cw_buf *b, const char *fmt, va_list ap);

/* Appends s percent-encoded for a path segment or a query value: every
 * byte but A-Z a-z 0-9 - . _ ~ becomes %XX. */
void cw_html_urlenc(cw_buf *b, const char *s);
/* The same, as a new string (caller frees); NULL on ENOMEM. */
char *cw_html_urlenc_dup(const char *s);

/* ---- formatting ---- */

/* "2027-03-28 03:10:00" in zone tz (NULL: UTC) into out (at least 24
 * bytes). */
void cw_html_format_local(const cw_tz *tz, cw_time t, char *out, size_t n);
/* Relative to now: "just now", "in 5 s", "in 5 min", "3 h ago", "in 2 d". */
void cw_html_format_relative(cw_time t, cw_time now, char *out, size_t n);
/* A duration in seconds: "850 ms", "5.3 s", "2 min 5 s", "1 h 3 min", "2 d 4 h". */
void cw_html_format_duration(double secs, char *out, size_t n);

/* <time datetime="ISO UTC" data-ts="SECS" title="ZONE">LOCAL</time>,
 * followed by the relative form in a <span class="rel" data-rel="SECS">
 * when `relative`. t == 0 writes an em dash. */
void cw_html_time(const cw_http_req *req, cw_buf *b, cw_time t, bool relative);
/* The same in zone tz (NULL: UTC) instead of the config's. */
void cw_html_time_in(const cw_http_req *req, cw_buf *b, cw_time t, const cw_tz *tz, bool relative);
/* A schedule's fire t, which is defined in its entry's zone tz: shown in
 * that zone, followed by <span class="zone" data-zone>ZONE</span> when it
 * is not the config's zone (the zone every other time is shown in). */
void cw_html_fire(const cw_http_req *req, cw_buf *b, cw_time t, const cw_tz *tz, bool relative);
/* How a status word (cw_run_status_to_string, or "active" and the like) is
 * shown to people: "timed out" for timed_out, any other word as it is. */
const char *cw_html_status_label(const char *status);
/* A run status badge: <span class="badge s-STATUS" data-run-status="STATUS">
 * with the status's label as its text. */
void cw_html_badge(cw_buf *b, cw_run_status s);
/* A progress bar for pct 0..100 (-1: indeterminate), with its text. */
void cw_html_progress(cw_buf *b, double pct, int64_t done, int64_t total);
/* Inline code: <code class="CLS">S</code> with s escaped. A short text
 * (at most CW_HTML_CODE_SHORT bytes) never wraps (app.css: code is
 * nowrap), so "run =" or "ui-made" stay whole; a longer one also gets
 * class "long", which may break anywhere, so a long path or command
 * cannot widen the page. cls may be NULL. */
#define CW_HTML_CODE_SHORT 32
void cw_html_code(cw_buf *b, const char *s, const char *cls);
/* The hidden CSRF field for a form (nothing without a session). */
void cw_html_csrf(const cw_http_req *req, cw_buf *b);

/* ---- layout ---- */

/* Navigation items; `active` marks the current one. */
typedef enum cw_html_nav {
        CW_NAV_NONE,
        CW_NAV_JOBS,
        CW_NAV_RUNNING,
        CW_NAV_HISTORY,
        CW_NAV_SCHEDULER,
        CW_NAV_ENTRIES,
} cw_html_nav;

/* Starts a page: everything up to the opening of <main>. `title` is
 * escaped. `body_attrs` is trusted markup added to <main> (e.g.
 * data-page="jobs"); NULL for none. */
void cw_html_page_begin(const cw_http_req *req, cw_buf *b, const char *title, cw_html_nav active,
                        const char *body_attrs);
/* Closes <main> and the document. */
void cw_html_page_end(const cw_http_req *req, cw_buf *b);

/* Sets resp to 200 text/html (the body is the caller's). */
void cw_html_resp_ok(cw_http_resp *resp);

/* "/jobs?msg=Run+requested" (caller frees): path plus a flash message,
 * for a 303 after a POST. kind is "msg" or "err". NULL on ENOMEM. */
char *cw_html_flash_url(const char *path, const char *kind, const char *message);

#endif
