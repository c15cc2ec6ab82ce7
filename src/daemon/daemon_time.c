/* daemon_time.c - the daemon's answers to time changing under it (see
 * daemon.h, docs/scheduling.md "Clock changes" and docs/timespec.md
 * "Time zones").
 *
 * Zone files: the files of the config's zones are watched (tzwatch.h).
 * When one changes, the daemon waits TZ_SETTLE_US for the rest of a
 * tzdata update's renames, then loads the config text it accepted last
 * once more, with the files as they are now. A zone that no longer loads
 * keeps everything as it was (an error is logged; the next change or a
 * reload tries again). Otherwise the zones whose rules, name or tzdata
 * version differ are logged with every next fire that moves, and the new
 * config takes over as in a SIGHUP reload: the next pass plans with it
 * and a new spawner, which reads the same files, starts its workers.
 *
 * The wall clock: a change wakes the timerfd (TFD_TIMER_CANCEL_ON_SET);
 * the loop's next pass plans from the new "now". The scheduler's window
 * and claims make that safe both ways: fires a jump forward skipped are
 * missed and handled by catch_up, and a jump back finds every fire up to
 * the previous pass already handled. A test clock cannot be changed from
 * outside, so a test hook (SIGUSR2 and a file) steps it instead. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/iso8601.h"
#include "daemon/daemon_internal.h"

void daemon_zones_watch(daemon_state *d)
{
        int r;

        if (!d->tzw)
                return;
        r = cw_tzwatch_set(d->tzw, d->cfg);
        if (r < 0)
                logline(d, "warning", "event=error what=tzwatch error=%s action=%s", strerror(-r),
                        "zone_changes_need_a_reload");
}

static void on_zone_change(void *userdata, const cw_tzwatch_change *c)
{
        daemon_state *d = userdata;
        char from[CW_ISO8601_MAX] = "-", to[CW_ISO8601_MAX] = "-", q[256];

        if (!c->entry) {
                logline(d, "warning",
                        "event=zone_changed zone=%s was=%s tzdata=%s was_tzdata=%s source=%s",
                        cw_tz_name(c->new_tz), cw_tz_name(c->old_tz),
                        cw_tz_version(c->new_tz) ?: "-", cw_tz_version(c->old_tz) ?: "-",
                        cw_tz_source(c->new_tz) ?: "-");
                return;
        }
        if (c->old_next)
                cw_iso8601_format(c->old_next, cw_tz_utoff(c->old_tz, c->old_next), from,
                                  sizeof(from));
        if (c->new_next)
                cw_iso8601_format(c->new_next, cw_tz_utoff(c->new_tz, c->new_next), to, sizeof(to));
        logline(d, "warning", "event=fire_moved zone=%s job=%s spec=%s from=%s to=%s",
                cw_tz_name(c->new_tz), c->job->name, quoted(c->entry->spec_text, q, sizeof(q)),
                from, to);
}

/* A zone file in use changed: the accepted text is loaded again with the
 * files as they are now; what moved is logged and the new config replaces
 * the old as in a reload (the spawner too, so workers get the new rules).
 * A zone that no longer loads keeps the old config, rules and all. */
void daemon_zones_reload(daemon_state *d)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;
        cw_config *n = NULL;
        cw_error err;
        char q[400];

        cw_error_clear(&err);
        r = daemon_config_text(d, &text, &len);
        if (r < 0)
                cw_error_fail(&err, r, "cannot read the config snapshot '%s': %s", d->snapshot,
                              strerror(-r));
        if (r < 0 || parse_config(d, text, len, &n, &err) < 0) {
                logline(d, "error", "event=zone_error error=%s keeping=old",
                        quoted(err.msg, q, sizeof(q)));
                daemon_zones_watch(d);
                return;
        }
        if (cw_tzwatch_compare(d->cfg, n, cw_instant_sec(cw_clock_now(d->clock)), on_zone_change,
                               d) == 0) {
                cw_config_free(n);
                daemon_zones_watch(d);
                return;
        }
        adopt_config(d, n);
        if (d->http)
                cw_http_set_config(d->http, n);
        logline(d, "info", "event=replan reason=zone_changed spawner=%d", (int)d->spawner_pid);
}

void daemon_zones_read(daemon_state *d)
{
        int r = cw_tzwatch_read(d->tzw);

        if (r < 0)
                logline(d, "error", "event=error what=tzwatch error=%s", strerror(-r));
        if (r > 0 && !d->tz_due)
                d->tz_due = cw_clock_mono_us() + TZ_SETTLE_US;
}

void daemon_timer_read(daemon_state *d)
{
        uint64_t n;

        if (read(d->timer_fd, &n, sizeof(n)) < 0 && errno == ECANCELED) {
                cw_time t = cw_instant_sec(cw_clock_now(d->clock));
                char when[CW_ISO8601_MAX];

                cw_iso8601_format(t, cw_tz_utoff(d->cfg->tz, t), when, sizeof(when));
                logline(d, "warning", "event=clock_changed now=%s action=replan", when);
        }
}

/* Reads the first line of the step file: an instant with an offset. */
static int read_step(const char *path, cw_time *ret, char *why, size_t size)
{
        char text[128];
        bool has_off;
        cw_error e;
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                snprintf(why, size, "cannot open '%s': %s", path, strerror(errno));
                return -errno;
        }
        n = read(fd, text, sizeof(text) - 1);
        close(fd);
        text[n > 0 ? n : 0] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (cw_iso8601_parse(text, ret, &has_off, &e) < 0 || !has_off) {
                snprintf(why, size, "expected an ISO 8601 time with offset in '%s'", path);
                return -EINVAL;
        }
        return 0;
}

void daemon_clock_step(daemon_state *d)
{
        char when[CW_ISO8601_MAX], why[512], q[600];
        cw_time t;

        if (!d->o->step_file || !d->o->step_clock)
                return;
        if (read_step(d->o->step_file, &t, why, sizeof(why)) < 0) {
                logline(d, "error", "event=error what=clock_step error=%s",
                        quoted(why, q, sizeof(q)));
                return;
        }
        /* Unlocked: the server's threads may read a torn clock for an
         * instant. Acceptable for a test hook, never used in production. */
        cw_clock_set(d->o->step_clock, cw_instant_from_sec(t));
        cw_iso8601_format(t, cw_tz_utoff(d->cfg->tz, t), when, sizeof(when));
        logline(d, "warning", "event=clock_changed now=%s action=replan", when);
}
