/* iso8601.h - formatting and parsing instants as ISO 8601 / RFC 3339 text.
 *
 * Output is always "YYYY-MM-DDTHH:MM:SS+HH:MM" (UTC prints "+00:00"; an
 * offset with seconds, found only in historical local mean time, prints
 * "+HH:MM:SS"). Input accepts "YYYY-MM-DD", optionally followed by 'T' or
 * one space, "HH:MM", optional ":SS" and fraction (dropped: instants are
 * whole seconds, and dropping keeps "strictly after" correct), and an
 * optional "Z", "±HH", "±HHMM" or "±HH:MM". Years 0000-9999. */
#ifndef CW_BASE_ISO8601_H
#define CW_BASE_ISO8601_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "civil.h"
#include "error.h"

#define CW_ISO8601_MAX 32 /* buffer size that always suffices */

/* Writes instant t as seen at offset utoff (seconds east of UTC) into buf.
 * Returns 0, or -ERANGE when the local year is outside 0000-9999 or buf is
 * too small (buf then holds "" ). */
int cw_iso8601_format(cw_time t, int32_t utoff, char *buf, size_t size);

/* Parses s. With an offset or Z: *ret is the UTC instant and *ret_has_offset
 * is true. Without: *ret is local seconds (a wall-clock reading, see
 * civil.h) and *ret_has_offset is false; the caller resolves it in a zone.
 * Returns 0 or -EINVAL with err filled. Outputs untouched on failure. */
int cw_iso8601_parse(const char *s, int64_t *ret, bool *ret_has_offset, cw_error *err);

#endif
