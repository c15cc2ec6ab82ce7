/* resident.c - what a store costs the process between operations
 * (store.h): its backend's code, loaded ahead of a fork so the children
 * share it (cw_store_load), and the caches a daemon about to sleep for
 * long can give back (cw_store_release_memory). Apart from store.c, which
 * is about the operations themselves. */
#include <errno.h>

#include "store/store_backend.h"

int cw_store_load(const char *url, cw_error *err)
{
        cw_store_url u;
        int r;

        cw_error_clear(err);
        r = cw_store_url_parse(url, &u, err);
        if (r < 0)
                return r;
        return u.kind == CW_STORE_POSTGRESQL ? cw_store_pg_load(err) : 0;
}

int cw_store_release_memory(cw_store *s)
{
        if (!s || !s->ops)
                return -EINVAL;
        if (!s->ops->release_memory)
                return -EOPNOTSUPP;
        return s->ops->release_memory(s);
}
