/* cli_env.h - what every cronwarden process reads from its environment
 * before anything else: the clock (real, or the test clock that
 * CRONWARDEN_FAKE_NOW sets, docs/hacking.md) and the zoneinfo directory.
 * Shared by the command line (main.c) and the daemon's lean spawner
 * program (spawner_main.c), which must agree on both. */
#ifndef CW_CLI_CLI_ENV_H
#define CW_CLI_CLI_ENV_H

#include "base/clock.h"
#include "base/error.h"

/* Makes *clock from the environment and reads it once into *ret_now.
 * CRONWARDEN_FAKE_NOW=ISO8601 (with an offset) makes a fake clock that
 * starts at that instant and advances with the monotonic clock; the
 * monotonic anchor is shared with child processes through
 * CRONWARDEN_FAKE_NOW_MONO (set here when missing). -EINVAL, err saying
 * why, for a value that is not such a time. */
int cli_env_clock(cw_clock *clock, cw_instant *ret_now, cw_error *err);

/* The zoneinfo directory: CRONWARDEN_ZONEINFO (a test hook), else TZDIR
 * as glibc reads it (ignored in a setuid process); NULL for the default. */
const char *cli_env_zoneinfo(void);

#endif
