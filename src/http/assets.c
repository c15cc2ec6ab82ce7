/* assets.c - GET /static/NAME: the files of src/http/static/, compiled
 * into the binary by embed_assets.py (the table cw_assets in the
 * generated assets_data.c). Nothing is read from the filesystem at run
 * time, so no path can reach outside the table: a name that is not in it
 * is 404. Responses carry a strong ETag (the file's SHA-256) and may be
 * cached for a day; pages link assets with cw_http_asset_path, whose
 * ?v=HASH changes with the content, so an upgrade is seen at once. */
#include "http/http.h"

#include <string.h>

#include "http/internal.h"

const cw_asset *cw_asset_find(const char *name)
{
        for (size_t i = 0; i < cw_n_assets; i++)
                if (strcmp(cw_assets[i].name, name) == 0)
                        return &cw_assets[i];
        return NULL;
}

const char *cw_http_asset_path(const char *name)
{
        const cw_asset *a = cw_asset_find(name);

        return a ? a->path : NULL;
}

/* If-None-Match: a list of entity tags or "*"; weak comparison (RFC 9110
 * 13.1.2), so W/"x" matches "x". */
static bool etag_matches(const char *header, const char *etag)
{
        const char *p = header;

        while (*p == ' ' || *p == '\t')
                p++;
        if (strcmp(p, "*") == 0)
                return true;
        return strstr(header, etag) != NULL;
}

static int serve_asset(const cw_http_req *req, cw_http_resp *resp)
{
        const cw_asset *a = cw_asset_find(req->args[0]);
        const char *inm;

        if (!a) {
                cw_http_error(req, resp, 404, "no such file: /static/%s", req->args[0]);
                return 0;
        }
        resp->content_type = a->content_type;
        resp->etag = a->etag;
        resp->cacheable = true;
        inm = cw_http_header(req, "If-None-Match");
        if (inm && etag_matches(inm, a->etag)) {
                resp->status = 304;
                return 0;
        }
        return cw_buf_add(&resp->body, a->data, a->size);
}

const cw_http_route cw_http_asset_routes[] = {
        {CW_HTTP_GET, "/static/%", CW_ROUTE_PUBLIC, serve_asset},
        {0},
};
