/* pages.c - placeholder until written; see http.h. */
#include "http/http.h"

const cw_http_route cw_http_page_routes[] = {{0}};

void cw_http_page_error(const cw_http_req *req, cw_http_resp *resp, int status, const char *message)
{
        (void)req;
        resp->status = status;
        resp->content_type = "text/plain; charset=utf-8";
        cw_buf_printf(&resp->body, "%d %s\n", status, message);
}

void cw_http_page_login(const cw_http_req *req, cw_http_resp *resp, const char *error, const char *next)
{
        (void)req, (void)error, (void)next;
        resp->content_type = "text/plain; charset=utf-8";
        cw_buf_puts(&resp->body, "login form not written yet\n");
}
