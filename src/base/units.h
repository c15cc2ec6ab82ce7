/* units.h - durations ("90s", "10m", "1h30m", "7d", "2w") and sizes
 * ("512KiB", "1MiB", "4096"), as written in the config file and on the
 * command line. Parsing is strict: a unit is required for durations,
 * components must appear in decreasing order (w d h m s) at most once each,
 * no spaces, no signs. */
#ifndef CW_BASE_UNITS_H
#define CW_BASE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Largest accepted duration: 100 years. */
#define CW_DURATION_MAX ((int64_t)100 * 366 * 86400)
/* Largest accepted size: 1 TiB. */
#define CW_SIZE_MAX ((uint64_t)1 << 40)

/* Parses s into seconds. Returns 0, or -EINVAL with err filled (the column
 * points into s). ret is untouched on failure. "0s" is accepted; callers
 * that need a positive duration check for it. */
int cw_duration_parse(const char *s, int64_t *ret, cw_error *err);
/* Writes the canonical form ("1h30m", "0s") into buf. */
void cw_duration_format(int64_t secs, char *buf, size_t size);

/* Parses a byte size: digits, optionally followed by B, K, KiB, M, MiB, G,
 * GiB (all binary multiples). Returns 0 or -EINVAL with err filled. */
int cw_size_parse(const char *s, uint64_t *ret, cw_error *err);
/* Writes the canonical form ("512KiB", "1MiB", "1000B") into buf. */
void cw_size_format(uint64_t bytes, char *buf, size_t size);

#endif
