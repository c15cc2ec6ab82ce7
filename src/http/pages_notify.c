/* pages_notify.c - the notifications page (/notifications): the outbox's
 * newest rows, what is still pending and what failed (docs/notifications.md).
 * Endpoints are shown as cw_notify_shown_target() gives them: never a
 * whole URL, which may hold a token. Reached from the scheduler page. */
#include <stdio.h>
#include <string.h>

#include "http/pages.h"
#include "notify/notify.h"

#define PAGE_ROWS 200

static void notice_row(const cw_http_req *req, cw_buf *b, const cw_notice *n)
{
        char target[600];

        cw_notify_shown_target(n, target, sizeof(target));
        cw_html_printf(
                b,
                "<tr data-notice=\"%lld\" class=\"notice-%s\"><td data-label=\"#\" class=\"mono\">%lld</td>"
                "<td data-label=\"Queued\">",
                (long long)n->id, cw_notice_state_to_string(n->state), (long long)n->id);
        cw_html_time(req, b, (cw_time)(n->created_us / 1000000), true);
        cw_html_raw(b, "</td><td data-label=\"Job\">");
        cw_page_job_link(b, n->job);
        cw_html_raw(b, "</td><td data-label=\"Run\">");
        if (n->run_id > 0)
                cw_html_printf(b, "<a href=\"/runs/%lld\">%lld</a>", (long long)n->run_id,
                               (long long)n->run_id);
        cw_html_printf(
                b,
                "</td><td data-label=\"Event\">%s</td><td data-label=\"Channel\">%s</td>"
                "<td data-label=\"Endpoint\" class=\"mono\">%s</td><td data-label=\"State\">%s</td>"
                "<td data-label=\"Attempts\">%d</td><td data-label=\"Answer\">%s</td></tr>",
                n->event, n->channel, target, cw_notice_state_to_string(n->state), n->attempts,
                n->result ? n->result : "");
}

int cw_page_notifications(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_notice *rows = NULL;
        size_t n = 0, pending = 0, failed = 0;
        int r = cw_store_notices_list(req->store, false, PAGE_ROWS, &rows, &n);

        if (r < 0)
                return cw_page_fail(req, resp, r, NULL);
        for (size_t i = 0; i < n; i++) {
                pending += rows[i].state == CW_NOTICE_PENDING;
                failed += rows[i].state == CW_NOTICE_FAILED;
        }
        cw_html_page_begin(req, b, "Notifications", CW_NAV_SCHEDULER,
                           "data-page=\"notifications\"");
        cw_html_raw(b, "<div class=\"page-head\"><h1>Notifications</h1></div>");
        cw_html_printf(
                b,
                "<section class=\"card\" id=\"notifications\"><p class=\"muted\">The newest %zu "
                "notifications: <span id=\"notify-pending\">%zu</span> pending, "
                "<span id=\"notify-failed\">%zu</span> given up. Test a job's channels with "
                "<code>cronwarden notify-test JOB</code>.</p>",
                n, pending, failed);
        if (n == 0) {
                cw_html_raw(b,
                            "<p class=\"muted\" id=\"notifications-empty\">Nothing sent yet.</p>");
        } else {
                cw_html_raw(
                        b,
                        "<div class=\"table-wrap\"><table class=\"table\" id=\"notifications-table\"><thead>"
                        "<tr><th>#</th><th>Queued</th><th>Job</th><th>Run</th><th>Event</th><th>Channel</th>"
                        "<th>Endpoint</th><th>State</th><th>Attempts</th><th>Answer</th></tr></thead><tbody>");
                for (size_t i = 0; i < n; i++)
                        notice_row(req, b, &rows[i]);
                cw_html_raw(b, "</tbody></table></div>");
        }
        cw_html_raw(b, "</section>\n");
        cw_html_page_end(req, b);
        cw_notices_free(rows, n);
        return cw_page_done(resp);
}
