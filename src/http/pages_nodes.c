/* pages_nodes.c - the cluster's nodes page (/nodes, docs/cluster.md
 * "Reading the nodes page"): each node's status, heartbeat age and clock
 * offset (by the database's clock), whether it claims fires and why not,
 * its running runs, and the jobs whose definition on it differs from the
 * cluster's. On a store without nodes (SQLite) the page says there is one.
 * Reached from the scheduler page. */
#include <errno.h>
#include <stdio.h>

#include "http/pages.h"
#include "report/nodes.h"

static void node_row(cw_buf *b, const cw_node *n)
{
        char age[64];

        cw_html_format_duration((double)(n->age_us > 0 ? n->age_us : 0) / 1e6, age, sizeof(age));
        cw_html_printf(b,
                       "<tr data-node=\"%s\" class=\"node-%s\"><td data-label=\"Node\" "
                       "class=\"mono\">%s</td><td data-label=\"Status\">%s</td>"
                       "<td data-label=\"Heartbeat\">%s ago</td>"
                       "<td data-label=\"Clock offset\" class=\"mono\">%+.3f s</td>"
                       "<td data-label=\"Claiming\">%s%s%s</td>"
                       "<td data-label=\"Running\">%llu</td><td data-label=\"Config\">%s%s</td>"
                       "<td data-label=\"Version\" class=\"mono\">%s</td></tr>",
                       n->name, cw_report_node_status(n), n->name, cw_report_node_status(n), age,
                       (double)n->clock_offset_us / 1e6, n->claiming ? "yes" : "no",
                       n->reason ? ": " : "", n->reason ? n->reason : "",
                       (unsigned long long)n->running, n->disagree ? "differs: " : "agrees",
                       n->disagree ? n->disagree : "", n->version ? n->version : "");
}

int cw_page_nodes(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_node *nodes = NULL;
        size_t n = 0;
        int r = cw_store_nodes_list(req->store, req->cfg->dead_timeout * CW_US_PER_SEC, &nodes, &n);

        if (r < 0 && r != -EOPNOTSUPP)
                return cw_page_fail(req, resp, r, NULL);
        cw_html_page_begin(req, b, "Nodes", CW_NAV_SCHEDULER, "data-page=\"nodes\"");
        cw_html_raw(b, "<div class=\"page-head\"><h1>Nodes</h1></div><section class=\"card\" "
                       "id=\"nodes\">");
        if (r == -EOPNOTSUPP) {
                cw_html_printf(b,
                               "<p class=\"muted\" id=\"nodes-single\">One node: %s. The store "
                               "is not shared, so there is no cluster.</p>",
                               req->cfg->node ? req->cfg->node : "");
        } else if (n == 0) {
                cw_html_raw(b, "<p class=\"muted\" id=\"nodes-empty\">No daemon has run on this "
                               "store yet.</p>");
        } else {
                cw_html_printf(b,
                               "<p class=\"muted\">Ages and offsets are measured by the "
                               "database's clock. A node silent for %lld s is declared dead.</p>",
                               (long long)req->cfg->dead_timeout);
                cw_html_raw(b,
                            "<div class=\"table-wrap\"><table class=\"table\" id=\"nodes-table\">"
                            "<thead><tr><th>Node</th><th>Status</th><th>Heartbeat</th>"
                            "<th>Clock offset</th><th>Claiming</th><th>Running</th>"
                            "<th>Config</th><th>Version</th></tr></thead><tbody>");
                for (size_t i = 0; i < n; i++)
                        node_row(b, &nodes[i]);
                cw_html_raw(b, "</tbody></table></div>");
        }
        cw_html_raw(b, "</section>\n");
        cw_html_page_end(req, b);
        cw_nodes_free(nodes, n);
        return cw_page_done(resp);
}
