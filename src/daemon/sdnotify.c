/* sdnotify.c - the daemon's side of systemd's notification protocol,
 * through libsystemd's sd_notify(3) rather than a socket of our own. The
 * messages are best effort: systemd not listening, or a build without
 * libsystemd (HAVE_LIBSYSTEMD unset), leaves the daemon working as a
 * Type=simple service. The watchdog is pinged at half its interval, which
 * is the one periodic wake-up the daemon has, and only when the unit asks
 * for it. */
#include "daemon/sdnotify.h"

#include <stdio.h>
#include <string.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "base/clock.h"
#include "base/iso8601.h"

static void send_msg(const char *msg)
{
#ifdef HAVE_LIBSYSTEMD
        (void)sd_notify(0, msg);
#else
        (void)msg;
#endif
}

bool cw_sdnotify_supported(void)
{
#ifdef HAVE_LIBSYSTEMD
        return true;
#else
        return false;
#endif
}

void cw_sdnotify_init(cw_sdnotify *s)
{
        *s = (cw_sdnotify){0};
#ifdef HAVE_LIBSYSTEMD
        uint64_t us = 0;

        if (sd_watchdog_enabled(0, &us) > 0)
                s->watchdog_us = (int64_t)us;
#endif
}

void cw_sdnotify_ready(cw_sdnotify *s, const char *status)
{
        char msg[sizeof(s->status) + 32];

        if (status) {
                snprintf(s->status, sizeof(s->status), "%s", status);
                snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", s->status);
        } else {
                snprintf(msg, sizeof(msg), "READY=1");
        }
        send_msg(msg);
}

void cw_sdnotify_reloading(cw_sdnotify *s)
{
        char msg[64];

        (void)s;
        snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
                 (long long)cw_clock_mono_us());
        send_msg(msg);
}

void cw_sdnotify_stopping(cw_sdnotify *s)
{
        (void)s;
        send_msg("STOPPING=1\nSTATUS=stopping");
}

void cw_sdnotify_status(cw_sdnotify *s, const char *status)
{
        char msg[sizeof(s->status) + 16];

        if (strncmp(s->status, status, sizeof(s->status) - 1) == 0)
                return;
        snprintf(s->status, sizeof(s->status), "%s", status);
        snprintf(msg, sizeof(msg), "STATUS=%s", s->status);
        send_msg(msg);
}

void cw_sdnotify_status_next(cw_sdnotify *s, size_t n_jobs, int64_t next)
{
        char when[CW_ISO8601_MAX] = "", status[sizeof(s->status)];

        if (next > 0 && cw_iso8601_format(next, 0, when, sizeof(when)) >= 0)
                snprintf(status, sizeof(status), "%zu job%s, next fire at %s", n_jobs,
                         n_jobs == 1 ? "" : "s", when);
        else
                snprintf(status, sizeof(status), "%zu job%s, nothing scheduled", n_jobs,
                         n_jobs == 1 ? "" : "s");
        cw_sdnotify_status(s, status);
}

int cw_sdnotify_timeout_ms(const cw_sdnotify *s, int64_t now_us)
{
        int64_t left;

        if (s->watchdog_us <= 0)
                return -1;
        left = s->pinged + s->watchdog_us / 2 - now_us;
        return left > 0 ? (int)((left + 999) / 1000) : 0;
}

void cw_sdnotify_watchdog(cw_sdnotify *s, int64_t now_us)
{
        if (s->watchdog_us <= 0 || (s->pinged && now_us - s->pinged < s->watchdog_us / 2))
                return;
        s->pinged = now_us;
        send_msg("WATCHDOG=1");
}
