/* nodes.c - cluster nodes as JSON (see nodes.h). Ages and offsets are
 * seconds with fractions; instants as json.h writes them. */
#include "report/nodes.h"

#include <string.h>

#include "report/json.h"

const char *cw_report_node_status(const cw_node *n)
{
        if (n->state == CW_NODE_ALIVE && n->expired)
                return "silent";
        return cw_node_state_to_string(n->state);
}

/* The comma-separated list s ("a, b") as an array of strings. */
static json_t *list_json(const char *s)
{
        json_t *a = json_array();

        for (const char *p = s; a && p && *p;) {
                size_t k = strcspn(p, ",");
                json_array_append_new(a, json_stringn(p, k));
                p += k;
                while (*p == ',' || *p == ' ')
                        p++;
        }
        return a;
}

json_t *cw_report_node_json(const cw_node *n)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "name", json_string(n->name));
        json_object_set_new(o, "status", json_string(cw_report_node_status(n)));
        json_object_set_new(o, "pid", json_integer(n->pid));
        json_object_set_new(o, "version", cw_json_str(n->version));
        cw_json_set_instant(o, "started_at", n->started_us);
        cw_json_set_instant(o, "heartbeat_at", n->heartbeat_us);
        cw_json_set_instant(o, "dead_at", n->dead_us);
        json_object_set_new(o, "heartbeat_age", json_real((double)n->age_us / 1e6));
        json_object_set_new(o, "clock_offset", json_real((double)n->clock_offset_us / 1e6));
        json_object_set_new(o, "claiming", json_boolean(n->claiming));
        json_object_set_new(o, "reason", cw_json_str(n->reason));
        json_object_set_new(o, "running", json_integer((json_int_t)n->running));
        json_object_set_new(o, "jobs", json_integer((json_int_t)n->jobs));
        json_object_set_new(o, "config_agrees", json_boolean(!n->disagree));
        json_object_set_new(o, "config_differs", list_json(n->disagree));
        return o;
}

json_t *cw_report_nodes_json(const cw_node *n, size_t count)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < count; i++)
                json_array_append_new(a, cw_report_node_json(&n[i]));
        return a;
}
