/* policy.c - the pure rules of delivery (notify.h): the run's UUID for
 * healthchecks.io's rid=, the wait between attempts, and the per-endpoint
 * breaker. No I/O, no clock: callers pass the time in. */
#include "notify/notify.h"

#include <stdio.h>
#include <string.h>

#include "base/hash.h"

void cw_notify_run_uuid(int64_t run_id, const char *node, char buf[37])
{
        char seed[320];
        uint64_t h1, h2;
        uint8_t b[16];

        /* Two independent 64-bit hashes of the same seed give 128 bits; the
         * node keeps two stores' run 7 apart. A start and an end of one run
         * always derive the same UUID, so the endpoint pairs them. */
        snprintf(seed, sizeof(seed), "cronwarden-run:%s:%lld", node ? node : "", (long long)run_id);
        h1 = cw_hash_mix(cw_hash_fnv1a(seed, strlen(seed)));
        h2 = cw_hash_mix(h1 ^ cw_hash_fnv1a(seed, strlen(seed)) * 0x9e3779b97f4a7c15ULL);
        for (int i = 0; i < 8; i++) {
                b[i] = (uint8_t)(h1 >> (56 - 8 * i));
                b[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
        }
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x80); /* version 8: custom */
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
        snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
}

int64_t cw_notify_retry_delay_us(int attempts)
{
        int64_t d = CW_NOTIFY_RETRY_BASE_US;

        for (int i = 1; i < attempts && d < CW_NOTIFY_RETRY_MAX_US; i++)
                d *= 2;
        return d < CW_NOTIFY_RETRY_MAX_US ? d : CW_NOTIFY_RETRY_MAX_US;
}

bool cw_notify_breaker_allows(const cw_notify_breaker *b, int64_t now_us)
{
        return now_us >= b->open_until_us;
}

void cw_notify_breaker_record(cw_notify_breaker *b, bool ok, int64_t now_us)
{
        int64_t len;

        if (ok) {
                *b = (cw_notify_breaker){0};
                return;
        }
        b->failures++;
        if (b->failures < CW_NOTIFY_BREAKER_FAILURES)
                return;
        /* Open; each opening that is followed by another failure doubles. */
        len = b->last_open_us ? b->last_open_us * 2 : CW_NOTIFY_BREAKER_BASE_US;
        if (len > CW_NOTIFY_BREAKER_MAX_US)
                len = CW_NOTIFY_BREAKER_MAX_US;
        b->last_open_us = len;
        b->open_until_us = now_us + len;
}
