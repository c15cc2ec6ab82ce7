/* nodes.c - the store's cluster node operations (store.h, "cluster
 * nodes"): argument checks and dispatch to the backend, and the node
 * state's string table. Kept apart from store.c so the cluster's surface
 * reads in one place. */
#include "store/store_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"

static const char *const state_names[CW_NODE_STATE_MAX] = {
        [CW_NODE_ALIVE] = "alive",
        [CW_NODE_DEAD] = "dead",
        [CW_NODE_LEFT] = "left",
};

const char *cw_node_state_to_string(cw_node_state s)
{
        return (unsigned)s < CW_NODE_STATE_MAX ? state_names[s] : "?";
}

int cw_node_state_from_string(const char *name, cw_node_state *ret)
{
        for (int i = 0; name && i < CW_NODE_STATE_MAX; i++)
                if (strcmp(name, state_names[i]) == 0) {
                        *ret = (cw_node_state)i;
                        return 0;
                }
        return -EINVAL;
}

void cw_node_release(cw_node *n)
{
        if (!n)
                return;
        free(n->name);
        free(n->version);
        free(n->reason);
        free(n->disagree);
        free(n->jobs_digest);
        *n = (cw_node){0};
}

void cw_nodes_free(cw_node *n, size_t count)
{
        for (size_t i = 0; n && i < count; i++)
                cw_node_release(&n[i]);
        free(n);
}

int cw_store_db_now(cw_store *s, int64_t *ret_us)
{
        OP_OR_RETURN(s, db_now);
        if (!ret_us)
                return -EINVAL;
        return s->ops->db_now(s, ret_us);
}

int cw_store_node_beat(cw_store *s, const cw_node_beat *b, bool *ret_was_dead)
{
        bool dummy;

        OP_OR_RETURN(s, node_beat);
        if (!b || !b->node)
                return -EINVAL;
        return s->ops->node_beat(s, b, ret_was_dead ? ret_was_dead : &dummy);
}

int cw_store_node_leave(cw_store *s, const char *node)
{
        OP_OR_RETURN(s, node_leave);
        if (!node)
                return -EINVAL;
        return s->ops->node_leave(s, node);
}

int cw_store_nodes_list(cw_store *s, int64_t dead_after_us, cw_node **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, nodes_list);
        if (!ret || !ret_n || dead_after_us <= 0)
                return -EINVAL;
        return s->ops->nodes_list(s, dead_after_us, ret, ret_n);
}

int cw_store_nodes_sweep(cw_store *s, int64_t dead_after_us, char ***ret, size_t *ret_n)
{
        OP_OR_RETURN(s, nodes_sweep);
        if (!ret || !ret_n || dead_after_us <= 0)
                return -EINVAL;
        return s->ops->nodes_sweep(s, dead_after_us, ret, ret_n);
}

int cw_store_node_jobs_set(cw_store *s, const char *node, const char *const *jobs,
                           const char *const *hashes, size_t n)
{
        OP_OR_RETURN(s, node_jobs_set);
        if (!node || (n && (!jobs || !hashes)))
                return -EINVAL;
        return s->ops->node_jobs_set(s, node, jobs, hashes, n);
}

int cw_store_node_jobs_disagree(cw_store *s, const char *node, int64_t dead_after_us, char ***ret,
                                size_t *ret_n)
{
        OP_OR_RETURN(s, node_jobs_disagree);
        if (!node || !ret || !ret_n || dead_after_us <= 0)
                return -EINVAL;
        return s->ops->node_jobs_disagree(s, node, dead_after_us, ret, ret_n);
}
