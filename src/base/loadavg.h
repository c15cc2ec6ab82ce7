/* loadavg.h - the system's 1-minute load average, for `max_load`
 * (docs/config.md). Read from /proc/loadavg, or from a file of the same
 * format that the caller names (the fronts take CRONWARDEN_LOADAVG, so
 * tests and containers can give their own). */
#ifndef CW_BASE_LOADAVG_H
#define CW_BASE_LOADAVG_H

#define CW_LOADAVG_PATH "/proc/loadavg"

/* Reads the first number of path (NULL: CW_LOADAVG_PATH) into *ret.
 * Returns 0, -errno when the file cannot be read, or -EINVAL when it
 * does not start with a number (*ret untouched on failure). */
int cw_loadavg_read(const char *path, double *ret);

#endif
