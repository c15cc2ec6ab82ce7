/* nodes.h - the one shape of cluster nodes (store.h, "cluster nodes"),
 * for `cronwarden nodes`, /api/v1/nodes and the admin Nodes page alike
 * (docs/cluster.md, "Reading the nodes page"). */
#ifndef CW_REPORT_NODES_H
#define CW_REPORT_NODES_H

#include <jansson.h>

#include "store/store.h"

/* What a node is now: "alive", "dead", "left", or "silent" (recorded
 * alive, but without a heartbeat for the dead timeout: about to be
 * declared dead). Static text. */
const char *cw_report_node_status(const cw_node *n);

/* One node as a JSON object (see docs/cluster.md for the fields); a new
 * reference, NULL when out of memory. */
json_t *cw_report_node_json(const cw_node *n);

/* Every node as a JSON array. */
json_t *cw_report_nodes_json(const cw_node *n, size_t count);

#endif
