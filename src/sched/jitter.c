/* jitter.c - the delay of a fire (see jitter.h). The value is part of the
 * product's behaviour (where a fire lands): FNV-1a of the canonical job
 * spec, mixed with the instant by splitmix64 (base/hash.h), reduced to
 * [0, jitter]. Never change it: a running daemon and a newer `next` would
 * disagree. */
#include "jitter.h"

#include <string.h>

#include "base/hash.h"

cw_duration cw_jitter_delay(const char *spec, cw_time t, cw_duration jitter)
{
        uint64_t h;

        if (jitter <= 0 || !spec)
                return 0;
        h = cw_hash_mix(cw_hash_fnv1a(spec, strlen(spec)) ^ cw_hash_mix((uint64_t)t));
        return (cw_duration)(h % ((uint64_t)jitter + 1));
}
