/* route.c - request routing for the admin server (see internal.h): a
 * request's raw path is split into segments, each decoded on its own (so
 * an encoded '/' stays inside its segment), and matched against the route
 * tables in order; '%' in a pattern takes one non-empty segment as an
 * argument. A path that matches only with another method gives the
 * methods it takes, for a 405 and its Allow header. Also the server's own
 * two routes (/healthz, and / which redirects to the jobs page). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "http/form.h"
#include "http/internal.h"

#define MAX_SEGMENTS 32

static int serve_healthz(const cw_http_req *req, cw_http_resp *resp)
{
        (void)req;
        resp->content_type = "text/plain; charset=utf-8";
        return cw_buf_puts(&resp->body, "ok\n");
}

static int serve_root(const cw_http_req *req, cw_http_resp *resp)
{
        (void)req;
        cw_http_redirect(resp, "/jobs");
        return resp->location ? 0 : -ENOMEM;
}

const cw_http_route cw_http_server_routes[] = {
        {CW_HTTP_GET, "/healthz", CW_ROUTE_PUBLIC, serve_healthz},
        {CW_HTTP_GET, "/", 0, serve_root},
        {0},
};

/* Splits "/a/b" (raw) into decoded segments in argbuf. Returns the count,
 * or -1 when a segment does not decode or there are too many. */
static int split_path(const char *raw, char *argbuf, char *seg[MAX_SEGMENTS])
{
        const char *p = raw + (raw[0] == '/');
        char *o = argbuf;
        int n = 0;

        for (;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);
                ssize_t d;

                if (n == MAX_SEGMENTS)
                        return -1;
                memcpy(o, p, len);
                d = cw_url_decode(o, len, false);
                if (d < 0)
                        return -1;
                seg[n++] = o;
                o += d + 1;
                if (!slash)
                        return n;
                p = slash + 1;
        }
}

/* Matches pattern against the segments; fills args. */
static bool pattern_match(const char *pattern, char *const *seg, int n, const char **args,
                          size_t *n_args)
{
        const char *p = pattern + (pattern[0] == '/');
        int i = 0;

        *n_args = 0;
        for (;; i++) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t)(slash - p) : strlen(p);

                if (i >= n)
                        return false;
                if (len == 1 && p[0] == '%') {
                        if (!seg[i][0] || *n_args == CW_HTTP_MAX_ARGS)
                                return false;
                        args[(*n_args)++] = seg[i];
                } else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0)
                        return false;
                if (!slash)
                        return i + 1 == n;
                p = slash + 1;
        }
}

void cw_http_route_find(const cw_http_route *const *tables, size_t n_tables, unsigned method,
                        const char *raw_path, char *argbuf, cw_route_match *ret)
{
        char *seg[MAX_SEGMENTS];
        int n;

        memset(ret, 0, sizeof(*ret));
        n = split_path(raw_path, argbuf, seg);
        if (n < 0)
                return;
        for (size_t t = 0; t < n_tables; t++)
                for (const cw_http_route *r = tables[t]; r->pattern; r++) {
                        const char *args[CW_HTTP_MAX_ARGS];
                        size_t n_args;

                        if (!pattern_match(r->pattern, seg, n, args, &n_args))
                                continue;
                        if (!(r->methods & method)) {
                                ret->allowed |= r->methods;
                                continue;
                        }
                        ret->route = r;
                        ret->table = t;
                        ret->n_args = n_args;
                        memcpy(ret->args, args, n_args * sizeof(args[0]));
                        return;
                }
}
