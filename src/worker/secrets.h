/* secrets.h - secret_env values kept out of what a run records
 * (docs/config.md, secret_env): the worker collects the values of the
 * job's secret variables from the environment it built, and masks every
 * occurrence in the captured output before storing it (the final record
 * and the live snapshots alike). Masking is in place, byte for byte, so
 * sizes and the head/tail split stay what capture.h says. */
#ifndef CW_WORKER_SECRETS_H
#define CW_WORKER_SECRETS_H

#include <stddef.h>

#include "base/strv.h"

/* Appends to *ret the values in env ("KEY=VALUE" entries) of the keys
 * named in names; empty values are skipped. 0 or -ENOMEM (*ret then
 * holds what was appended before). */
int cw_secrets_collect(const cw_strv *names, const cw_strv *env, cw_strv *ret);

/* Replaces every occurrence of each value in buf[0..len) with '*'. */
void cw_secrets_mask(char *buf, size_t len, const cw_strv *values);

#endif
