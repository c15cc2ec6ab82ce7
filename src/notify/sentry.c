/* sentry.c - Sentry Crons check-ins and error events over the envelope
 * API (notify_internal.h; docs/notifications.md, "Sentry"). A job's
 * monitor is named by its slug; each run's check-ins share one
 * check_in_id derived from the run (like a ping's rid), so Sentry pairs
 * in_progress with ok or error. The monitor_config (schedule, time zone,
 * checkin margin, max runtime) is worked out from the config when the
 * row is written, since the sender may not have the config. */
#include "notify/notify_internal.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/iso8601.h"

/* The monitor slug: the job's name in lower case, anything but letters,
 * digits, '-' and '_' as '-'. */
static void slug_of(const char *job, char *buf, size_t size)
{
        size_t i = 0;

        for (; job[i] && i + 1 < size; i++)
                buf[i] = isalnum((unsigned char)job[i]) || job[i] == '_' || job[i] == '-'
                                 ? (char)tolower((unsigned char)job[i])
                                 : '-';
        buf[i] = '\0';
}

/* A 5-field crontab line Sentry can read for the entry, or NULL: the
 * fixed macros map to one; H, seconds, L, # and other grammars do not. */
static const char *crontab_of(const cw_timespec *ts)
{
        static const struct {
                const char *macro, *cron;
        } macros[] = {
                {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
                {"@annually", "0 0 1 1 *"},
        };
        const char *t = cw_timespec_text(ts);
        int fields = 1;

        if (cw_timespec_get_kind(ts) != CW_TIMESPEC_CRON || cw_timespec_uses_hash(ts))
                return NULL;
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
                if (strcmp(t, macros[i].macro) == 0)
                        return macros[i].cron;
        for (const char *p = t; *p; p++) {
                if (*p == ' ')
                        fields++;
                else if (strchr("LW#?", *p))
                        return NULL;
        }
        return fields == 5 ? t : NULL;
}

/* The monitor_config for job, or NULL when its schedule is not one entry
 * Sentry can express (the monitor must then exist in Sentry already). */
static json_t *monitor_config(const cw_config *cfg, const cw_job *job)
{
        const cw_timespec *ts = NULL;
        json_t *o, *sched;
        const char *cron;
        cw_duration every;
        int n = 0;

        if (!cfg)
                return NULL;
        for (size_t i = 0; i < cfg->n_entries; i++)
                if (&cfg->jobs[cfg->entries[i].job] == job) {
                        ts = cfg->entries[i].when;
                        n++;
                }
        if (n != 1)
                return NULL;
        sched = json_object();
        if ((cron = crontab_of(ts))) {
                json_object_set_new(sched, "type", json_string("crontab"));
                json_object_set_new(sched, "value", json_string(cron));
        } else if ((every = cw_timespec_interval(ts)) >= 60) {
                json_object_set_new(sched, "type", json_string("interval"));
                json_object_set_new(sched, "value", json_integer(every / 60));
                json_object_set_new(sched, "unit", json_string("minute"));
        } else {
                json_decref(sched);
                return NULL;
        }
        o = json_object();
        json_object_set_new(o, "schedule", sched);
        json_object_set_new(o, "timezone", json_string(cw_tz_name(job->tz)));
        /* Minutes, at least 1: a start later than start_deadline is missed. */
        json_object_set_new(o, "checkin_margin",
                            json_integer(job->start_deadline > 60 ? job->start_deadline / 60 : 1));
        if (job->timeout > 0 || job->max_runtime > 0) {
                cw_duration d = job->timeout > 0 ? job->timeout : job->max_runtime;

                json_object_set_new(o, "max_runtime", json_integer(d > 60 ? (d + 59) / 60 : 1));
        }
        return o;
}

char *notify_sentry_detail(const cw_config *cfg, const cw_job *job, const char *reason)
{
        json_t *o = json_object(), *mc = monitor_config(cfg, job);
        char *s;

        json_object_set_new(o, "reason", reason ? json_string(reason) : json_null());
        if (mc)
                json_object_set_new(o, "monitor_config", mc);
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

int notify_sentry_endpoint(const char *dsn, char **ret_url, char **ret_auth)
{
        const char *p = strstr(dsn, "://"), *at, *slash, *host;
        char url[2400], auth[400];

        if (!p)
                return -EINVAL;
        host = p + 3;
        at = strchr(host, '@');
        slash = at ? strrchr(at, '/') : NULL;
        if (!at || !slash || !slash[1] || at == host)
                return -EINVAL;
        /* KEY[:SECRET]@HOST[:PORT][/PREFIX]/PROJECT -> HOST[/PREFIX]/api/PROJECT/envelope/ */
        snprintf(url, sizeof(url), "%.*s%.*s/api/%s/envelope/", (int)(host - dsn), dsn,
                 (int)(slash - (at + 1)), at + 1, slash + 1);
        snprintf(auth, sizeof(auth),
                 "X-Sentry-Auth: Sentry sentry_version=7, sentry_client=cronwarden/" CW_VERSION
                 ", sentry_key=%.*s",
                 (int)strcspn(host, ":@"), host);
        *ret_url = strdup(url);
        *ret_auth = strdup(auth);
        if (!*ret_url || !*ret_auth) {
                free(*ret_url);
                free(*ret_auth);
                return -ENOMEM;
        }
        return 0;
}

static const char *checkin_status(const char *event)
{
        if (strcmp(event, "started") == 0)
                return "in_progress";
        if (strcmp(event, "succeeded") == 0)
                return "ok";
        return "error";
}

static void hex32(const char *uuid, char buf[33])
{
        size_t k = 0;

        for (const char *p = uuid; *p && k < 32; p++)
                if (*p != '-')
                        buf[k++] = *p;
        buf[k] = '\0';
}

/* One envelope item: its header line and its payload line. */
static void add_item(json_t *payload, const char *type, cw_buf *out)
{
        char *body = json_dumps(payload, JSON_COMPACT);

        json_decref(payload);
        if (!body)
                return;
        cw_buf_printf(out, "{\"type\":\"%s\",\"length\":%zu}\n%s\n", type, strlen(body), body);
        free(body);
}

int notify_sentry_render(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                         char **ret_body, size_t *ret_len)
{
        json_error_t e;
        json_t *detail = n->detail ? json_loads(n->detail, 0, &e) : NULL, *ci, *ev, *tags;
        char uuid[37], id[33], evid[33], slug[160], when[CW_ISO8601_MAX] = "", *msg;
        cw_buf out = CW_BUF_INIT(0);
        bool test = strcmp(n->event, "test") == 0;
        bool failure = !test && strcmp(checkin_status(n->event), "error") == 0;

        cw_notify_run_uuid(n->run_id, run ? run->node : NULL, uuid);
        hex32(uuid, id);
        cw_notify_run_uuid(-n->id, "sentry-event", uuid);
        hex32(uuid, evid);
        slug_of(n->job, slug, sizeof(slug));
        cw_iso8601_format(n->created_us / 1000000, 0, when, sizeof(when));
        cw_buf_printf(&out, "{\"event_id\":\"%s\",\"sent_at\":\"%s\"}\n", evid, when);
        if (!test) {
                ci = json_object();
                json_object_set_new(ci, "check_in_id", json_string(id));
                json_object_set_new(ci, "monitor_slug", json_string(slug));
                json_object_set_new(ci, "status", json_string(checkin_status(n->event)));
                if (run && run->ended_us > 0 && run->started_us > 0 &&
                    strcmp(n->event, "started") != 0)
                        json_object_set_new(
                                ci, "duration",
                                json_real((double)(run->ended_us - run->started_us) / 1e6));
                if (detail && json_object_get(detail, "monitor_config"))
                        json_object_set(ci, "monitor_config",
                                        json_object_get(detail, "monitor_config"));
                add_item(ci, "check_in", &out);
        }
        if (failure || test) {
                char line[600];
                char *clean = NULL;

                snprintf(line, sizeof(line), "%s: %s%s%s", n->job,
                         test ? "test notification from cronwarden" : n->event,
                         run && run->reason ? ": " : "", run && run->reason ? run->reason : "");
                ev = json_object();
                json_object_set_new(ev, "event_id", json_string(evid));
                json_object_set_new(ev, "timestamp", json_string(when));
                json_object_set_new(ev, "platform", json_string("other"));
                json_object_set_new(ev, "level", json_string(test ? "info" : "error"));
                json_object_set_new(ev, "logger", json_string("cronwarden"));
                msg = line;
                json_object_set_new(ev, "message", json_pack("{s:s}", "formatted", msg));
                tags = json_object();
                json_object_set_new(tags, "job", json_string(n->job));
                json_object_set_new(tags, "event", json_string(n->event));
                if (run) {
                        json_object_set_new(tags, "node", json_string(run->node ? run->node : ""));
                        json_object_set_new(tags, "run", json_integer(run->id));
                }
                json_object_set_new(ev, "tags", tags);
                if (run)
                        json_object_set_new(ev, "extra",
                                            json_pack("{s:s, s:i}", "spec",
                                                      run->spec ? run->spec : "", "exit_code",
                                                      run->exit_code));
                if (tail_len > 0 && (clean = notify_utf8_clean(tail, tail_len))) {
                        json_t *x = json_object_get(ev, "extra");

                        if (!x) {
                                x = json_object();
                                json_object_set_new(ev, "extra", x);
                        }
                        json_object_set_new(x, "output_tail", json_string(clean));
                        free(clean);
                }
                add_item(ev, "event", &out);
        }
        json_decref(detail);
        if (cw_buf_error(&out) < 0) {
                int r = cw_buf_error(&out);

                cw_buf_release(&out);
                return r;
        }
        *ret_body = cw_buf_steal(&out, ret_len);
        return *ret_body ? 0 : -ENOMEM;
}
