/* reply.c - what handlers use to read a request and build an answer
 * (http.h), none of which needs libmicrohttpd: the query and form
 * parameters, redirects, error replies (a JSON object for API clients, an
 * HTML page for browsers), and the quoting of values in log lines. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "http/http.h"

const char *cw_http_logval(const char *s, char *buf, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        bool plain = s && s[0];

        if (!s)
                return "-";
        for (const char *p = s; plain && *p; p++)
                if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
                        plain = false;
        if (plain)
                return s;
        buf[o++] = '"';
        for (; *s && o + 6 < size; s++) {
                unsigned char c = (unsigned char)*s;

                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char)c;
                } else if (c < ' ' || c == 0x7f) {
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                } else
                        buf[o++] = (char)c;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

const char *cw_http_query(const cw_http_req *req, const char *name)
{
        return cw_form_get(req->query, req->n_query, name);
}

const char *cw_http_form(const cw_http_req *req, const char *name)
{
        return cw_form_get(req->form, req->n_form, name);
}

const char *cw_http_param(const cw_http_req *req, const char *name)
{
        const char *v = cw_http_form(req, name);

        return v ? v : cw_http_query(req, name);
}

void cw_http_redirect(cw_http_resp *resp, const char *location)
{
        free(resp->location);
        resp->location = strdup(location);
        resp->status = 303;
}

/* s as a JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void json_string(cw_buf *b, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        cw_buf_putc(b, '"');
        while (*p) {
                unsigned char c = *p;
                size_t n = c < 0x80             ? 1
                           : (c & 0xe0) == 0xc0 ? 2
                           : (c & 0xf0) == 0xe0 ? 3
                           : (c & 0xf8) == 0xf0 ? 4
                                                : 0;
                bool ok = n > 0 && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);

                for (size_t i = 1; ok && i < n; i++)
                        ok = (p[i] & 0xc0) == 0x80;
                if (ok && n == 3)
                        ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0);
                if (ok && n == 4)
                        ok = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
                if (!ok) {
                        cw_buf_puts(b, "\\ufffd");
                        p++;
                } else if (c == '"' || c == '\\') {
                        cw_buf_putc(b, '\\');
                        cw_buf_putc(b, (char)c);
                        p++;
                } else if (c < ' ' || c == 0x7f) {
                        cw_buf_printf(b, "\\u%04x", c);
                        p++;
                } else {
                        cw_buf_add(b, p, n);
                        p += n;
                }
        }
        cw_buf_putc(b, '"');
}

void cw_http_error(const cw_http_req *req, cw_http_resp *resp, int status, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cw_buf_reset(&resp->body);
        free(resp->location);
        resp->location = NULL;
        resp->cacheable = false;
        resp->etag = NULL;
        resp->status = status;
        if (req->want_json) {
                resp->content_type = "application/json";
                cw_buf_printf(&resp->body, "{\"error\": {\"status\": %d, \"message\": ", status);
                json_string(&resp->body, msg);
                cw_buf_puts(&resp->body, "}}\n");
                return;
        }
        resp->content_type = NULL;
        cw_http_page_error(req, resp, status, msg);
        resp->status = status;
}
