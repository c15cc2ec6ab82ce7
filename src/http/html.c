/* html.c - escaping, formatting and the page layout (see html.h).
 *
 * The escaping printf parses the format itself: literal text and numeric
 * conversions are copied as printf would write them, %s and %c arguments
 * go through the escaper. Each numeric conversion is formatted by
 * snprintf with the one conversion spec taken from the caller's format,
 * which the compiler has already checked against the arguments
 * (_printf_ on cw_html_printf); that is the only place a non-literal
 * format string is used, and the warning is silenced there alone. */
#include "http/html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "base/iso8601.h"
#include "base/utf8.h"
#include "http/form.h"
#include "sched/drain.h"

/* ---- escaping ---- */

void cw_html_text_n(cw_buf *b, const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, run = 0;

        if (!s)
                return;
        while (i < n) {
                unsigned char c = p[i];
                const char *rep = NULL;
                char ctl[4];
                size_t len = 1;

                switch (c) {
                case '&':
                        rep = "&amp;";
                        break;
                case '<':
                        rep = "&lt;";
                        break;
                case '>':
                        rep = "&gt;";
                        break;
                case '"':
                        rep = "&quot;";
                        break;
                case '\'':
                        rep = "&#39;";
                        break;
                case '\t':
                case '\n':
                case '\r':
                        break;
                default:
                        if (c < 0x20 || c == 0x7f) {
                                /* U+2400 + c, or U+2421 for DEL. */
                                ctl[0] = (char)0xe2;
                                ctl[1] = (char)0x90;
                                ctl[2] = (char)(c == 0x7f ? 0xa1 : 0x80 + c);
                                ctl[3] = 0;
                                rep = ctl;
                        } else if (c >= 0x80) {
                                len = cw_utf8_seq(p + i, n - i, NULL);
                                if (len == 0) {
                                        rep = "\xef\xbf\xbd";
                                        len = 1;
                                }
                        }
                        break;
                }
                if (!rep) {
                        i += len;
                        run += len;
                        continue;
                }
                if (run)
                        cw_buf_add(b, s + i - run, run);
                run = 0;
                cw_buf_puts(b, rep);
                i += len;
        }
        if (run)
                cw_buf_add(b, s + i - run, run);
}

void cw_html_text(cw_buf *b, const char *s)
{
        if (s)
                cw_html_text_n(b, s, strlen(s));
}

void cw_html_raw(cw_buf *b, const char *markup)
{
        if (markup)
                cw_buf_puts(b, markup);
}

static void pad(cw_buf *b, int n)
{
        while (n-- > 0)
                cw_buf_putc(b, ' ');
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Formats one numeric conversion; spec is "%...X" from a checked format. */
static void put_number(cw_buf *b, const char *spec, char conv, const char *len, va_list *ap)
{
        if (strchr("diouxX", conv)) {
                bool sign = conv == 'd' || conv == 'i';
                if (strcmp(len, "ll") == 0) {
                        if (sign)
                                cw_buf_printf(b, spec, va_arg(*ap, long long));
                        else
                                cw_buf_printf(b, spec, va_arg(*ap, unsigned long long));
                } else if (strcmp(len, "l") == 0) {
                        if (sign)
                                cw_buf_printf(b, spec, va_arg(*ap, long));
                        else
                                cw_buf_printf(b, spec, va_arg(*ap, unsigned long));
                } else if (strcmp(len, "j") == 0) {
                        if (sign)
                                cw_buf_printf(b, spec, va_arg(*ap, intmax_t));
                        else
                                cw_buf_printf(b, spec, va_arg(*ap, uintmax_t));
                } else if (strcmp(len, "z") == 0 || strcmp(len, "t") == 0) {
                        /* size_t and ptrdiff_t have the same size here. */
                        if (sign)
                                cw_buf_printf(b, spec, va_arg(*ap, ptrdiff_t));
                        else
                                cw_buf_printf(b, spec, va_arg(*ap, size_t));
                } else {
                        /* int, and hh / h (promoted to int). */
                        if (sign)
                                cw_buf_printf(b, spec, va_arg(*ap, int));
                        else
                                cw_buf_printf(b, spec, va_arg(*ap, unsigned));
                }
        } else if (strchr("fFeEgGaA", conv)) {
                if (strcmp(len, "L") == 0)
                        cw_buf_printf(b, spec, va_arg(*ap, long double));
                else
                        cw_buf_printf(b, spec, va_arg(*ap, double));
        } else if (conv == 'p') {
                cw_buf_printf(b, spec, va_arg(*ap, void *));
        }
}
#pragma GCC diagnostic pop

int cw_html_vprintf(cw_buf *b, const char *fmt, va_list ap_in)
{
        va_list ap;
        const char *p = fmt;

        va_copy(ap, ap_in);
        while (*p) {
                const char *pct = strchr(p, '%');
                char spec[64], len[3] = "";
                size_t o = 0;
                int width = -1, prec = -1;
                bool left = false;
                char conv;

                if (!pct) {
                        cw_buf_puts(b, p);
                        break;
                }
                cw_buf_add(b, p, (size_t)(pct - p));
                p = pct + 1;
                if (*p == '%') {
                        cw_buf_putc(b, '%');
                        p++;
                        continue;
                }
                spec[o++] = '%';
                while (*p && strchr("-+ #0'", *p)) {
                        left |= *p == '-';
                        if (o < 8)
                                spec[o++] = *p;
                        p++;
                }
                if (*p == '*') {
                        width = va_arg(ap, int);
                        if (width < 0) {
                                left = true;
                                width = -width;
                        }
                        o += (size_t)snprintf(spec + o, sizeof(spec) - o, "%d", width);
                        p++;
                } else if (*p >= '0' && *p <= '9') {
                        width = 0;
                        while (*p >= '0' && *p <= '9') {
                                if (width < 100000)
                                        width = width * 10 + (*p - '0');
                                p++;
                        }
                        o += (size_t)snprintf(spec + o, sizeof(spec) - o, "%d", width);
                }
                if (*p == '.') {
                        p++;
                        prec = 0;
                        if (*p == '*') {
                                prec = va_arg(ap, int);
                                p++;
                        } else {
                                while (*p >= '0' && *p <= '9') {
                                        if (prec < 100000)
                                                prec = prec * 10 + (*p - '0');
                                        p++;
                                }
                        }
                        if (prec >= 0)
                                o += (size_t)snprintf(spec + o, sizeof(spec) - o, ".%d", prec);
                }
                while (*p && strchr("hljztL", *p)) {
                        if (strlen(len) < 2)
                                len[strlen(len)] = *p;
                        p++;
                }
                conv = *p;
                if (!conv)
                        break;
                p++;
                if (o + 4 > sizeof(spec)) {
                        b->err = b->err ? b->err : -EINVAL;
                        break;
                }
                memcpy(spec + o, len, strlen(len));
                o += strlen(len);
                spec[o++] = conv;
                spec[o] = 0;
                if (conv == 's') {
                        const char *s = va_arg(ap, const char *);
                        size_t n;
                        if (!s)
                                s = "";
                        n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
                        if (!left && width > (int)n)
                                pad(b, width - (int)n);
                        cw_html_text_n(b, s, n);
                        if (left && width > (int)n)
                                pad(b, width - (int)n);
                } else if (conv == 'c') {
                        char c = (char)va_arg(ap, int);
                        if (!left && width > 1)
                                pad(b, width - 1);
                        cw_html_text_n(b, &c, 1);
                        if (left && width > 1)
                                pad(b, width - 1);
                } else if (strchr("diouxXfFeEgGaAp", conv)) {
                        put_number(b, spec, conv, len, &ap);
                } else {
                        /* %n and anything unknown: refuse rather than guess
                         * the argument's type. */
                        b->err = b->err ? b->err : -EINVAL;
                        break;
                }
        }
        va_end(ap);
        return cw_buf_error(b);
}

int cw_html_printf(cw_buf *b, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = cw_html_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void cw_html_urlenc(cw_buf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";

        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~') {
                        cw_buf_putc(b, (char)c);
                } else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        cw_buf_add(b, e, 3);
                }
        }
}

char *cw_html_urlenc_dup(const char *s)
{
        cw_buf b = CW_BUF_INIT(0);

        cw_html_urlenc(&b, s);
        if (cw_buf_error(&b)) {
                cw_buf_release(&b);
                return NULL;
        }
        return cw_buf_steal(&b, NULL);
}

/* ---- formatting ---- */

void cw_html_format_local(const cw_tz *tz, cw_time t, char *out, size_t n)
{
        cw_civil c;

        cw_secs_to_civil(t + (tz ? cw_tz_utoff(tz, t) : 0), &c);
        snprintf(out, n, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)c.year, c.mon, c.day, c.hour,
                 c.min, c.sec);
}

void cw_html_format_relative(cw_time t, cw_time now, char *out, size_t n)
{
        int64_t d = t - now, a = d < 0 ? -d : d;
        char v[32];

        if (a < 5) {
                snprintf(out, n, "just now");
                return;
        }
        if (a < 60)
                snprintf(v, sizeof(v), "%lld s", (long long)a);
        else if (a < 3600)
                snprintf(v, sizeof(v), "%lld min", (long long)(a / 60));
        else if (a < 86400)
                snprintf(v, sizeof(v), "%lld h", (long long)(a / 3600));
        else
                snprintf(v, sizeof(v), "%lld d", (long long)(a / 86400));
        snprintf(out, n, d > 0 ? "in %s" : "%s ago", v);
}

void cw_html_format_duration(double secs, char *out, size_t n)
{
        long long s;

        if (secs < 0)
                secs = 0;
        if (secs < 1) {
                snprintf(out, n, "%.0f ms", secs * 1000);
                return;
        }
        if (secs < 10) {
                snprintf(out, n, "%.1f s", secs);
                return;
        }
        s = (long long)(secs + 0.5);
        if (s < 60)
                snprintf(out, n, "%lld s", s);
        else if (s < 3600)
                snprintf(out, n, "%lld min %lld s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(out, n, "%lld h %lld min", s / 3600, s / 60 % 60);
        else
                snprintf(out, n, "%lld d %lld h", s / 86400, s / 3600 % 24);
}

void cw_html_time(const cw_http_req *req, cw_buf *b, cw_time t, bool relative)
{
        cw_html_time_in(req, b, t, req->cfg ? req->cfg->tz : NULL, relative);
}

void cw_html_fire(const cw_http_req *req, cw_buf *b, cw_time t, const cw_tz *tz, bool relative)
{
        const cw_tz *server = req->cfg ? req->cfg->tz : NULL;
        const char *zone = tz ? cw_tz_name(tz) : "UTC";

        if (!tz || t == 0 || strcmp(zone, server ? cw_tz_name(server) : "UTC") == 0) {
                cw_html_time(req, b, t, relative);
                return;
        }
        cw_html_time_in(req, b, t, tz, false);
        cw_html_printf(b, " <span class=\"zone\" data-zone>%s</span>", zone);
        if (relative) {
                char rel[40];

                cw_html_format_relative(t, (cw_time)(req->now_us / 1000000), rel, sizeof(rel));
                cw_html_printf(b, " <span class=\"rel\" data-rel=\"%lld\">%s</span>", (long long)t,
                               rel);
        }
}

void cw_html_time_in(const cw_http_req *req, cw_buf *b, cw_time t, const cw_tz *tz, bool relative)
{
        char local[40], iso[CW_ISO8601_MAX], rel[40];

        if (t == 0) {
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
                return;
        }
        cw_html_format_local(tz, t, local, sizeof(local));
        cw_iso8601_format(t, 0, iso, sizeof(iso));
        cw_html_printf(b, "<time datetime=\"%s\" data-ts=\"%lld\" title=\"%s\">%s</time>", iso,
                       (long long)t, tz ? cw_tz_name(tz) : "UTC", local);
        if (relative) {
                cw_html_format_relative(t, (cw_time)(req->now_us / 1000000), rel, sizeof(rel));
                cw_html_printf(b, " <span class=\"rel\" data-rel=\"%lld\">%s</span>", (long long)t,
                               rel);
        }
}

const char *cw_html_status_label(const char *status)
{
        /* The one status whose stored word is not a word. */
        return status && strcmp(status, "timed_out") == 0 ? "timed out" : status;
}

void cw_html_badge(cw_buf *b, cw_run_status s)
{
        const char *name = cw_run_status_to_string(s);
        cw_html_printf(b, "<span class=\"badge s-%s\" data-run-status=\"%s\">%s</span>", name, name,
                       cw_html_status_label(name));
}

void cw_html_progress(cw_buf *b, double pct, int64_t done, int64_t total)
{
        if (pct >= 0) {
                cw_html_printf(
                        b,
                        "<span class=\"progress\" data-progress><progress max=\"100\" value=\"%.1f\"></progress>"
                        "<span class=\"progress-text\">%.0f%%",
                        pct, pct);
                if (total > 0 && total != 100)
                        cw_html_printf(b, " <span class=\"muted\">(%lld/%lld)</span>",
                                       (long long)done, (long long)total);
                cw_html_raw(b, "</span></span>");
        } else if (done >= 0) {
                cw_html_printf(b,
                               "<span class=\"progress\" data-progress><progress></progress>"
                               "<span class=\"progress-text\">%lld done</span></span>",
                               (long long)done);
        } else {
                cw_html_raw(b,
                            "<span class=\"progress\" data-progress><progress></progress></span>");
        }
}

void cw_html_code(cw_buf *b, const char *s, const char *cls)
{
        bool long_ = s && strlen(s) > CW_HTML_CODE_SHORT;

        if (cls || long_)
                cw_html_printf(b, "<code class=\"%s%s%s\">", cls ? cls : "",
                               cls && long_ ? " " : "", long_ ? "long" : "");
        else
                cw_html_raw(b, "<code>");
        cw_html_text(b, s);
        cw_html_raw(b, "</code>");
}

void cw_html_csrf(const cw_http_req *req, cw_buf *b)
{
        if (req->csrf)
                cw_html_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", req->csrf);
}

/* ---- layout ---- */

static const struct {
        cw_html_nav id;
        const char *href, *label;
} nav_items[] = {
        {CW_NAV_JOBS, "/jobs", "Jobs"},
        {CW_NAV_RUNNING, "/running", "Running"},
        {CW_NAV_HISTORY, "/runs", "History"},
        {CW_NAV_SCHEDULER, "/scheduler", "Scheduler"},
        {CW_NAV_ENTRIES, "/entries", "UI entries"},
};

/* The clock-and-shield mark, drawn with presentation attributes only
 * (the CSP forbids inline styles). */
#define LOGO                                                                                                   \
        "<svg class=\"logo\" viewBox=\"0 0 24 24\" width=\"22\" height=\"22\" aria-hidden=\"true\">"           \
        "<path d=\"M12 2l8 3v6c0 5-3.4 9.4-8 11-4.6-1.6-8-6-8-11V5z\" fill=\"currentColor\" opacity=\".18\"/>" \
        "<path d=\"M12 2l8 3v6c0 5-3.4 9.4-8 11-4.6-1.6-8-6-8-11V5z\" fill=\"none\" stroke=\"currentColor\" "  \
        "stroke-width=\"1.6\" stroke-linejoin=\"round\"/>"                                                     \
        "<path d=\"M12 7v5l3 2\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.8\" "                  \
        "stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg>"

/* While `cronwarden drain` runs, every page says so (the scheduler page
 * shows the details: the runs still waited for). */
/* The success flash; `?follow=` adds a link to where the action's result
 * will show (a requested run: /requests/N, which leads to its run). Only
 * that page is linked to, whatever the query says. */
static void flash_ok(const cw_http_req *req, cw_buf *b, const char *msg)
{
        const char *follow = cw_http_query(req, "follow");

        cw_html_printf(b, "<div class=\"flash flash-ok\" id=\"flash\" role=\"status\">%s", msg);
        if (follow && cw_http_local_path(follow) && strncmp(follow, "/requests/", 10) == 0)
                cw_html_printf(b, " <a href=\"%s\" id=\"flash-follow\">Follow the run</a>", follow);
        cw_html_raw(b, "</div>");
}

static void drain_notice(const cw_http_req *req, cw_buf *b, cw_html_nav active)
{
        cw_time since = 0;

        if (!req->user || !req->store || active == CW_NAV_SCHEDULER ||
            cw_sched_drain_get(req->store, &since) < 0 || since == 0)
                return;
        cw_html_raw(
                b,
                "<div class=\"banner banner-warn\" id=\"draining-notice\">The scheduler is draining for a "
                "deploy: nothing new starts. <a href=\"/scheduler\">Runs still in progress</a></div>");
}

void cw_html_page_begin(const cw_http_req *req, cw_buf *b, const char *title, cw_html_nav active,
                        const char *body_attrs)
{
        const char *msg = cw_http_query(req, "msg"), *err = cw_http_query(req, "err");

        cw_html_raw(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"color-scheme\" content=\"light dark\">\n"
                       "<meta name=\"referrer\" content=\"same-origin\">\n");
        if (req->csrf)
                cw_html_printf(b, "<meta name=\"csrf-token\" content=\"%s\">\n", req->csrf);
        if (req->cfg && req->cfg->tz)
                cw_html_printf(b, "<meta name=\"cw-zone\" content=\"%s\">\n",
                               cw_tz_name(req->cfg->tz));
        cw_html_printf(b, "<title>%s \xc2\xb7 cronwarden</title>\n", title);
        cw_html_raw(b, "<link rel=\"stylesheet\" href=\"/static/app.css\">\n"
                       "<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">\n"
                       "<script src=\"/static/app.js\" defer></script>\n"
                       "</head>\n<body>\n<header class=\"topbar\"><div class=\"topbar-in\">\n"
                       "<a class=\"brand\" href=\"/jobs\">" LOGO "<span>cronwarden</span></a>\n");
        if (req->user) {
                cw_html_raw(
                        b,
                        "<input type=\"checkbox\" id=\"nav-toggle\" class=\"nav-toggle\" aria-hidden=\"true\">"
                        "<label for=\"nav-toggle\" class=\"nav-burger\" title=\"Menu\" aria-label=\"Menu\">"
                        "<span></span><span></span><span></span></label>\n"
                        "<nav class=\"nav\" id=\"nav\">");
                for (size_t i = 0; i < sizeof(nav_items) / sizeof(nav_items[0]); i++)
                        cw_html_printf(b, "<a href=\"%s\" id=\"nav-%s\"%s>%s</a>",
                                       nav_items[i].href, nav_items[i].href + 1,
                                       nav_items[i].id == active
                                               ? " class=\"active\" aria-current=\"page\""
                                               : "",
                                       nav_items[i].label);
                cw_html_printf(
                        b,
                        "<div class=\"user\"><span class=\"user-name\" id=\"user-name\">%s</span>"
                        "<form method=\"post\" action=\"/logout\" class=\"inline\">",
                        req->user);
                cw_html_csrf(req, b);
                cw_html_raw(
                        b,
                        "<button type=\"submit\" class=\"btn btn-ghost btn-sm\" id=\"logout\">Log out</button>"
                        "</form></div></nav>\n");
        }
        cw_html_raw(b, "</div></header>\n<div class=\"container\" id=\"flash-area\">");
        if (err && *err)
                cw_html_printf(
                        b, "<div class=\"flash flash-err\" id=\"flash\" role=\"alert\">%s</div>",
                        err);
        else if (msg && *msg)
                flash_ok(req, b, msg);
        drain_notice(req, b, active);
        cw_html_raw(b, "</div>\n<main class=\"container\" id=\"main\"");
        if (body_attrs) {
                cw_buf_putc(b, ' ');
                cw_html_raw(b, body_attrs);
        }
        cw_html_raw(b, ">\n");
}

void cw_html_page_end(const cw_http_req *req, cw_buf *b)
{
        (void)req;
        cw_html_raw(b, "</main>\n<footer class=\"container footer\">cronwarden " CW_VERSION
                       "</footer>\n"
                       "</body></html>\n");
}

void cw_html_resp_ok(cw_http_resp *resp)
{
        resp->status = 200;
        resp->content_type = "text/html; charset=utf-8";
}

char *cw_html_flash_url(const char *path, const char *kind, const char *message)
{
        cw_buf b = CW_BUF_INIT(16 * 1024);

        cw_buf_puts(&b, path);
        cw_buf_putc(&b, strchr(path, '?') ? '&' : '?');
        cw_buf_puts(&b, kind);
        cw_buf_putc(&b, '=');
        cw_html_urlenc(&b, message);
        if (cw_buf_error(&b)) {
                cw_buf_release(&b);
                return NULL;
        }
        return cw_buf_steal(&b, NULL);
}
