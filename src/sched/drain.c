/* drain.c - the drain flag in the store's scheduler state (see drain.h). */
#include "drain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/macro.h"
#include "sched/sched.h"

int cw_sched_drain_get(cw_store *store, cw_time *ret_since)
{
        _cleanup_free_ char *v = NULL;
        int r = cw_store_state_get(store, CW_SCHED_STATE_DRAINING, &v);

        if (r == -ENOENT) {
                *ret_since = 0;
                return 0;
        }
        if (r < 0)
                return r;
        *ret_since = strtoll(v, NULL, 10);
        if (*ret_since < 0)
                *ret_since = 0;
        return 0;
}

int cw_sched_drain_set(cw_store *store, cw_time since)
{
        char buf[32];
        cw_time cur = 0;
        int r;

        if (since > 0) {
                r = cw_sched_drain_get(store, &cur);
                if (r < 0)
                        return r;
                if (cur > 0)
                        return 0;
        }
        snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)(since > 0 ? since : 0));
        return cw_store_state_set(store, CW_SCHED_STATE_DRAINING, buf);
}
