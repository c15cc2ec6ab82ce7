/* describe.h - a time spec in plain English (docs/timespec.md, docs/api.md), for the
 * admin UI and `info`: "every 5 minutes", "at 05:15 every day", "at 02:30
 * on Monday through Friday", "every 90 minutes", "at 11:30 and 14:00
 * every day", "at 00:00 on the last day of the month", "every second".
 *
 * The description is computed from the parsed bitsets, not from the text,
 * so equivalent specs read alike ("0 0 * * *" and "@daily") and `H`
 * values read as the times they resolved to. Shapes that have no short
 * phrase fall back to naming each restricted field ("at minutes 3, 5 and
 * 7 during hours 1 and 5 on the 2nd of the month"): always correct, only
 * less pretty. The time zone is not part of the text; callers show it. */
#ifndef CW_TIMESPEC_DESCRIBE_H
#define CW_TIMESPEC_DESCRIBE_H

#include "base/buf.h"
#include "timespec/timespec.h"

/* Appends the description of ts to out (no trailing period, no newline).
 * Returns 0, or out's sticky error (-ENOMEM, -E2BIG); on error out may
 * hold part of the text. */
int cw_timespec_describe(const cw_timespec *ts, cw_buf *out);

#endif
