/* sdnotify.c - the daemon's side of systemd's notification protocol,
 * through libsystemd's sd_notify(3) rather than a socket of our own. The
 * messages are best effort: systemd not listening, or a build without
 * libsystemd (HAVE_LIBSYSTEMD unset), leaves the daemon working as a
 * Type=simple service. The watchdog is pinged at half its interval, which
 * is the one periodic wake-up the daemon has, and only when the unit asks
 * for it.
 *
 * libsystemd is loaded (dlopen) only when systemd gave the daemon a
 * socket to talk to (NOTIFY_SOCKET): with its compression and crypto
 * libraries it costs about 1 MiB of RSS, for nothing in a daemon that
 * systemd does not supervise (bench/README.md, "Idle"). Its soname,
 * libsystemd.so.0, has not changed since 2014. */
#include "daemon/sdnotify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBSYSTEMD
#include <dlfcn.h>
#include <systemd/sd-daemon.h>
#endif

#include "base/clock.h"
#include "base/iso8601.h"

static void send_msg(const cw_sdnotify *s, const char *msg)
{
        if (s->notify)
                (void)s->notify(0, msg);
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
        const char *sock = getenv("NOTIFY_SOCKET");
        __typeof__(sd_watchdog_enabled) *watchdog_enabled;
        uint64_t us = 0;
        void *h;

        if (!sock || !sock[0])
                return;
        /* Never closed: the daemon talks to systemd until it exits. */
        h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!h)
                return;
        s->notify = (__typeof__(sd_notify) *)dlsym(h, "sd_notify");
        watchdog_enabled = (__typeof__(sd_watchdog_enabled) *)dlsym(h, "sd_watchdog_enabled");
        if (s->notify && watchdog_enabled && watchdog_enabled(0, &us) > 0)
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
        send_msg(s, msg);
}

void cw_sdnotify_reloading(cw_sdnotify *s)
{
        char msg[64];

        snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
                 (long long)cw_clock_mono_us());
        send_msg(s, msg);
}

void cw_sdnotify_stopping(cw_sdnotify *s)
{
        send_msg(s, "STOPPING=1\nSTATUS=stopping");
}

void cw_sdnotify_status(cw_sdnotify *s, const char *status)
{
        char msg[sizeof(s->status) + 16];

        if (strncmp(s->status, status, sizeof(s->status) - 1) == 0)
                return;
        snprintf(s->status, sizeof(s->status), "%s", status);
        snprintf(msg, sizeof(msg), "STATUS=%s", s->status);
        send_msg(s, msg);
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
        send_msg(s, "WATCHDOG=1");
}
