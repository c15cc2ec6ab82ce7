/* locks.c - the store's cluster lock and fencing token operations
 * (store.h, "cluster locks and fencing tokens"): argument checks and
 * dispatch to the backend. Kept apart from store.c, as nodes.c is, so the
 * cluster's surface reads in one place. */
#include "store/store_backend.h"

#include <errno.h>
#include <stdlib.h>

void cw_cluster_lock_release(cw_cluster_lock *l)
{
        if (!l)
                return;
        free(l->key);
        free(l->node);
        *l = (cw_cluster_lock){0};
}

void cw_cluster_locks_free(cw_cluster_lock *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++)
                cw_cluster_lock_release(&l[i]);
        free(l);
}

int cw_store_lock_acquire(cw_store *s, const char *key, const char *node, int64_t run_id,
                          int worker_pid, int64_t lease_us, int64_t *ret_fence,
                          cw_cluster_lock *ret_holder)
{
        OP_OR_RETURN(s, lock_acquire);
        if (!key || !key[0] || !node || !ret_fence || lease_us <= 0 || run_id < 0)
                return -EINVAL;
        return s->ops->lock_acquire(s, key, node, run_id, worker_pid, lease_us, ret_fence,
                                    ret_holder);
}

int cw_store_lock_try(cw_store *s, const char *key, const char *node, int64_t run_id,
                      int64_t lease_us, int64_t *ret_fence)
{
        OP_OR_RETURN(s, lock_try);
        if (!key || !key[0] || !node || !ret_fence || lease_us <= 0 || run_id < 0)
                return -EINVAL;
        return s->ops->lock_try(s, key, node, run_id, lease_us, ret_fence);
}

int cw_store_lock_renew(cw_store *s, const char *key, int64_t fence, int64_t run_id, int worker_pid,
                        int64_t lease_us)
{
        OP_OR_RETURN(s, lock_renew);
        if (!key || fence <= 0 || lease_us <= 0 || run_id < 0 || worker_pid < 0)
                return -EINVAL;
        return s->ops->lock_renew(s, key, fence, run_id, worker_pid, lease_us);
}

int cw_store_lock_release(cw_store *s, const char *key, int64_t fence)
{
        OP_OR_RETURN(s, lock_release);
        if (!key || fence <= 0)
                return -EINVAL;
        return s->ops->lock_release(s, key, fence);
}

int cw_store_lock_revoke(cw_store *s, const char *key, const char *by)
{
        OP_OR_RETURN(s, lock_revoke);
        if (!key || !by)
                return -EINVAL;
        return s->ops->lock_revoke(s, key, by);
}

int cw_store_lock_holder(cw_store *s, const char *key, cw_cluster_lock *ret)
{
        OP_OR_RETURN(s, lock_holder);
        if (!key || !ret)
                return -EINVAL;
        return s->ops->lock_holder(s, key, ret);
}

int cw_store_locks_list(cw_store *s, cw_cluster_lock **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, locks_list);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->locks_list(s, ret, ret_n);
}

int cw_store_fence_next(cw_store *s, int64_t *ret_fence)
{
        OP_OR_RETURN(s, fence_next);
        if (!ret_fence)
                return -EINVAL;
        return s->ops->fence_next(s, ret_fence);
}

int cw_store_run_fence(cw_store *s, int64_t run_id, int64_t fence)
{
        OP_OR_RETURN(s, run_fence);
        if (run_id < 0 || fence < 0)
                return -EINVAL;
        return s->ops->run_fence(s, run_id, fence);
}
