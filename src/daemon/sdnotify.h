/* sdnotify.h - telling systemd how the daemon is doing (sd_notify(3)):
 * READY=1 once the store is open and the admin server listens,
 * RELOADING=1/READY=1 around a reload, STOPPING=1, a STATUS= line, and
 * WATCHDOG=1 keep-alives when the unit sets WatchdogSec=. Without
 * NOTIFY_SOCKET (not started by systemd) or without libsystemd at build
 * time every call does nothing. Nothing here fails the daemon: a message
 * that cannot be sent is dropped. */
#ifndef CW_DAEMON_SDNOTIFY_H
#define CW_DAEMON_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cw_sdnotify {
        /* libsystemd's sd_notify, loaded by init when NOTIFY_SOCKET is
         * set; NULL: nothing is sent */
        int (*notify)(int unset_environment, const char *state);
        int64_t watchdog_us; /* WATCHDOG_USEC meant for us, 0: no watchdog */
        int64_t pinged;      /* the last WATCHDOG=1, monotonic µs */
        char status[128];    /* the last STATUS= sent (sent again only when changed) */
} cw_sdnotify;

/* Loads libsystemd when NOTIFY_SOCKET is set (without it, or when the
 * library cannot be loaded, every call below does nothing) and reads the
 * watchdog settings from the environment (WATCHDOG_USEC, and WATCHDOG_PID
 * when set must be ours). */
void cw_sdnotify_init(cw_sdnotify *s);

/* READY=1, with STATUS= when status is not NULL. */
void cw_sdnotify_ready(cw_sdnotify *s, const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (what Type=notify-reload expects). */
void cw_sdnotify_reloading(cw_sdnotify *s);
/* STOPPING=1. */
void cw_sdnotify_stopping(cw_sdnotify *s);
/* STATUS=status, unless it is the one sent last. */
void cw_sdnotify_status(cw_sdnotify *s, const char *status);

/* STATUS= saying how many jobs there are and when the next one fires
 * (next: a UTC instant, 0: nothing is scheduled), e.g. "12 jobs, next
 * fire at 2026-12-07T05:00:00Z". */
void cw_sdnotify_status_next(cw_sdnotify *s, size_t n_jobs, int64_t next);

/* How long the loop may sleep before cw_sdnotify_watchdog must run again
 * (half the watchdog interval), in ms; -1: no watchdog, sleep as long as
 * needed. now_us is monotonic. */
int cw_sdnotify_timeout_ms(const cw_sdnotify *s, int64_t now_us);
/* Sends WATCHDOG=1 when half the interval has passed since the last one. */
void cw_sdnotify_watchdog(cw_sdnotify *s, int64_t now_us);

/* Whether this build talks to systemd at all (libsystemd was found). */
bool cw_sdnotify_supported(void);

#endif
