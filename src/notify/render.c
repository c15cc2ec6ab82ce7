/* render.c - what a notification says (notify_internal.h;
 * docs/notifications.md has the formats): healthchecks.io and Cronitor
 * style ping URLs, the JSON webhook payload, a Slack message, and a mail.
 * Everything a job wrote is shown as valid UTF-8 (bad bytes become
 * U+FFFD) and bounded to its tail. */
#include "notify/notify_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/buf.h"
#include "base/iso8601.h"
#include "base/macro.h"
#include "base/utf8.h"

void notify_request_release(notify_request *q)
{
        if (!q)
                return;
        free(q->url);
        free(q->body);
        free(q->auth);
        if (q->rcpt)
                for (char **p = q->rcpt; *p; p++)
                        free(*p);
        free(q->rcpt);
        *q = (notify_request){0};
}

static bool is_failure_event(const char *ev)
{
        return strcmp(ev, "started") != 0 && strcmp(ev, "succeeded") != 0 &&
               strcmp(ev, "test") != 0;
}

int notify_ping_url(const char *base, const char *event, const char *uuid, char **ret,
                    bool *ret_get)
{
        cw_buf b = CW_BUF_INIT(8192);
        const char *ph = strstr(base, "{event}"), *q;
        const char *word, *suffix;
        int r;

        if (ph) {
                /* Cronitor's telemetry words, as a GET. */
                word = strcmp(event, "started") == 0                                   ? "run"
                       : strcmp(event, "succeeded") == 0 || strcmp(event, "test") == 0 ? "complete"
                                                                                       : "fail";
                cw_buf_add(&b, base, (size_t)(ph - base));
                cw_buf_puts(&b, word);
                cw_buf_puts(&b, ph + 7);
                *ret_get = true;
        } else {
                /* healthchecks.io: URL/start, URL, URL/fail, with rid= so the
                 * start and the end of one run pair up. */
                suffix = strcmp(event, "started") == 0 ? "/start"
                         : is_failure_event(event)     ? "/fail"
                                                       : "";
                q = strchr(base, '?');
                if (q) {
                        size_t n = (size_t)(q - base);

                        while (n > 0 && base[n - 1] == '/')
                                n--;
                        cw_buf_add(&b, base, n);
                        cw_buf_puts(&b, suffix);
                        cw_buf_puts(&b, q);
                        cw_buf_puts(&b, "&rid=");
                } else {
                        size_t n = strlen(base);

                        while (n > 0 && base[n - 1] == '/')
                                n--;
                        cw_buf_add(&b, base, n);
                        cw_buf_puts(&b, suffix);
                        cw_buf_puts(&b, "?rid=");
                }
                cw_buf_puts(&b, uuid);
                *ret_get = false;
        }
        r = cw_buf_error(&b);
        if (r < 0) {
                cw_buf_release(&b);
                return r;
        }
        *ret = cw_buf_steal(&b, NULL);
        return *ret ? 0 : -ENOMEM;
}

/* text as valid UTF-8 (each bad byte becomes U+FFFD), newly allocated. */
char *notify_utf8_clean(const char *text, size_t len)
{
        cw_buf b = CW_BUF_INIT(4 * CW_NOTIFY_BODY_MAX + 64);
        size_t i = 0;

        while (i < len) {
                size_t k = cw_utf8_seq((const unsigned char *)text + i, len - i, NULL);

                if (k == 0 || (k == 1 && text[i] == '\0')) {
                        cw_buf_puts(&b, k ? " " : "\xef\xbf\xbd");
                        i++;
                        continue;
                }
                cw_buf_add(&b, text + i, k);
                i += k;
        }
        cw_buf_putc(&b, '\0');
        if (cw_buf_error(&b) < 0) {
                cw_buf_release(&b);
                return NULL;
        }
        return cw_buf_steal(&b, NULL);
}

static void iso_us(int64_t us, char *buf, size_t size)
{
        if (us <= 0 || cw_iso8601_format(us / 1000000, 0, buf, size) < 0)
                buf[0] = '\0';
}

static json_t *time_or_null(int64_t us)
{
        char t[CW_ISO8601_MAX];

        iso_us(us, t, sizeof(t));
        return t[0] ? json_string(t) : json_null();
}

static void run_link(const char *public_url, int64_t run_id, char *buf, size_t size)
{
        size_t n;

        buf[0] = '\0';
        if (!public_url || run_id <= 0)
                return;
        n = strlen(public_url);
        while (n > 0 && public_url[n - 1] == '/')
                n--;
        snprintf(buf, size, "%.*s/runs/%lld", (int)n, public_url, (long long)run_id);
}

static json_t *run_json(const cw_run *run)
{
        json_t *o = json_object();

        json_object_set_new(o, "id", json_integer(run->id));
        json_object_set_new(o, "spec", json_string(run->spec ? run->spec : ""));
        json_object_set_new(o, "node", run->node ? json_string(run->node) : json_null());
        json_object_set_new(o, "status", json_string(cw_run_status_to_string(run->status)));
        json_object_set_new(o, "trigger", json_string(cw_trigger_to_string(run->trigger)));
        json_object_set_new(o, "attempt", json_integer(run->attempt));
        json_object_set_new(o, "scheduled_at", time_or_null(run->scheduled_at * 1000000));
        json_object_set_new(o, "started_at", time_or_null(run->started_us));
        json_object_set_new(o, "ended_at", time_or_null(run->ended_us));
        json_object_set_new(o, "duration_s",
                            run->ended_us > 0 && run->started_us > 0
                                    ? json_real((double)(run->ended_us - run->started_us) / 1e6)
                                    : json_null());
        json_object_set_new(o, "exit_code",
                            run->exit_code >= 0 ? json_integer(run->exit_code) : json_null());
        json_object_set_new(o, "signal", run->signal ? json_integer(run->signal) : json_null());
        json_object_set_new(o, "reason", run->reason ? json_string(run->reason) : json_null());
        return o;
}

char *notify_webhook_json(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                          const char *public_url)
{
        json_t *o = json_object();
        char link[2200], *clean = tail_len ? notify_utf8_clean(tail, tail_len) : NULL, *s;

        run_link(public_url, n->run_id, link, sizeof(link));
        json_object_set_new(o, "id", json_integer(n->id));
        json_object_set_new(o, "event", json_string(n->event));
        json_object_set_new(o, "job", json_string(n->job));
        json_object_set_new(o, "detail", n->detail ? json_string(n->detail) : json_null());
        json_object_set_new(o, "run", run ? run_json(run) : json_null());
        json_object_set_new(o, "output_tail", clean ? json_string(clean) : json_null());
        json_object_set_new(o, "url", link[0] ? json_string(link) : json_null());
        json_object_set_new(o, "created_at", time_or_null(n->created_us));
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        free(clean);
        return s;
}

/* One line saying what happened: "job Backup: failed (exit status 3) in 2.0s". */
static void summary(const cw_notice *n, const cw_run *run, char *buf, size_t size)
{
        char how[160] = "";

        if (run && run->exit_code > 0)
                snprintf(how, sizeof(how), " (exit status %d)", run->exit_code);
        else if (run && run->signal)
                snprintf(how, sizeof(how), " (signal %d)", run->signal);
        if (run && run->ended_us > 0 && run->started_us > 0 && strcmp(n->event, "started") != 0)
                snprintf(how + strlen(how), sizeof(how) - strlen(how), " in %.1fs",
                         (double)(run->ended_us - run->started_us) / 1e6);
        snprintf(buf, size, "job %s: %s%s%s%s", n->job,
                 strcmp(n->event, "test") == 0 ? "test notification" : n->event, how,
                 n->detail ? ": " : "", n->detail ? n->detail : "");
}

static char *slack_json(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                        const char *public_url)
{
        cw_buf b = CW_BUF_INIT(64 * 1024);
        char line[1024], link[2200], *clean = NULL, *s;
        json_t *o;

        summary(n, run, line, sizeof(line));
        run_link(public_url, n->run_id, link, sizeof(link));
        cw_buf_printf(&b, "%s %s",
                      is_failure_event(n->event) ? ":red_circle:" : ":large_green_circle:", line);
        if (run && run->node)
                cw_buf_printf(&b, " on %s", run->node);
        if (link[0])
                cw_buf_printf(&b, " <%s|run %lld>", link, (long long)n->run_id);
        if (tail_len > 0) {
                size_t k = tail_len > 2000 ? tail_len - 2000 : 0;

                clean = notify_utf8_clean(tail + k, tail_len - k);
                if (clean)
                        cw_buf_printf(&b, "\n```%s```", clean);
        }
        cw_buf_putc(&b, '\0');
        free(clean);
        if (cw_buf_error(&b) < 0) {
                cw_buf_release(&b);
                return NULL;
        }
        o = json_object();
        json_object_set_new(o, "text", json_string(b.p));
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        cw_buf_release(&b);
        return s;
}

/* The whole message: headers (the subject says the job and the event)
 * and a plain-text body. */
static char *mail_text(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                       const notify_settings *st, size_t *ret_len)
{
        cw_buf b = CW_BUF_INIT(256 * 1024);
        char line[1024], link[2200], date[64], t[CW_ISO8601_MAX];
        time_t now = (time_t)cw_instant_sec(cw_clock_real_us());
        struct tm tm;
        char *clean = NULL;

        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        summary(n, run, line, sizeof(line));
        run_link(st->public_url, n->run_id, link, sizeof(link));
        cw_buf_printf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date,
                      st->smtp_from ? st->smtp_from : "", n->target);
        cw_buf_printf(&b, "Subject: %s%s%s\r\n", st->subject_prefix ? st->subject_prefix : "",
                      st->subject_prefix && st->subject_prefix[0] ? " " : "", line);
        cw_buf_printf(&b, "Message-ID: <cronwarden-%lld-%lld@cronwarden>\r\n", (long long)n->id,
                      (long long)n->created_us);
        cw_buf_puts(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n");
        cw_buf_printf(&b, "%s\r\n\r\n", line);
        cw_buf_printf(&b, "Job:      %s\r\n", n->job);
        if (run) {
                cw_buf_printf(&b, "Params:   %s\r\n", run->spec ? run->spec : n->job);
                cw_buf_printf(&b, "Node:     %s\r\n", run->node ? run->node : "");
                cw_buf_printf(&b, "Run:      %lld\r\n", (long long)run->id);
                cw_buf_printf(&b, "Status:   %s\r\n", cw_run_status_to_string(run->status));
                if (run->exit_code >= 0)
                        cw_buf_printf(&b, "Exit:     %d\r\n", run->exit_code);
                if (run->reason)
                        cw_buf_printf(&b, "Reason:   %s\r\n", run->reason);
                iso_us(run->started_us, t, sizeof(t));
                cw_buf_printf(&b, "Started:  %s\r\n", t);
                if (run->ended_us > 0 && run->started_us > 0)
                        cw_buf_printf(&b, "Duration: %.1fs\r\n",
                                      (double)(run->ended_us - run->started_us) / 1e6);
        }
        if (link[0])
                cw_buf_printf(&b, "Link:     %s\r\n", link);
        if (tail_len > 0 && (clean = notify_utf8_clean(tail, tail_len))) {
                cw_buf_puts(&b, "\r\nThe output's end:\r\n\r\n");
                /* SMTP ends a message at a lone '.' line: dot-stuff. */
                for (char *p = clean; *p;) {
                        size_t k = strcspn(p, "\n");

                        if (p[0] == '.')
                                cw_buf_putc(&b, '.');
                        cw_buf_add(&b, p, k && p[k - 1] == '\r' ? k - 1 : k);
                        cw_buf_puts(&b, "\r\n");
                        p += k + (p[k] ? 1 : 0);
                }
                free(clean);
        }
        if (cw_buf_error(&b) < 0) {
                cw_buf_release(&b);
                return NULL;
        }
        return cw_buf_steal(&b, ret_len);
}

/* The addresses of a row's target ("a@x, b@y"), NULL-terminated. */
static char **split_rcpt(const char *target)
{
        size_t cap = 2;
        char **v = calloc(cap, sizeof(char *));
        size_t n = 0;

        if (!v)
                return NULL;
        for (const char *p = target; *p;) {
                size_t k;

                p += strspn(p, ", ");
                k = strcspn(p, ", ");
                if (k == 0)
                        break;
                if (n + 2 > cap) {
                        char **nv = realloc(v, 2 * cap * sizeof(char *));

                        if (!nv)
                                goto fail;
                        v = nv;
                        cap *= 2;
                }
                v[n] = strndup(p, k);
                if (!v[n])
                        goto fail;
                v[++n] = NULL;
                p += k;
        }
        return v;
fail:
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return NULL;
}

int notify_render(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                  const notify_settings *st, size_t body_limit, notify_request *ret)
{
        notify_request q = {0};
        char uuid[37];

        snprintf(q.key, sizeof(q.key), "cronwarden-%lld", (long long)n->id);
        if (strcmp(n->channel, "ping") == 0) {
                cw_notify_run_uuid(n->run_id ? n->run_id : -n->id, run ? run->node : NULL, uuid);
                if (notify_ping_url(n->target, n->event, uuid, &q.url, &q.get) < 0)
                        return -ENOMEM;
                if (!q.get && strcmp(n->event, "started") != 0) {
                        size_t k = tail_len > body_limit ? body_limit : tail_len;

                        q.body = malloc(k + 1);
                        if (!q.body) {
                                notify_request_release(&q);
                                return -ENOMEM;
                        }
                        if (k > 0)
                                memcpy(q.body, tail + (tail_len - k), k);
                        q.body[k] = '\0';
                        q.body_len = k;
                        q.ctype = "text/plain; charset=utf-8";
                }
        } else if (strcmp(n->channel, "webhook") == 0 || strcmp(n->channel, "slack") == 0) {
                q.url = strdup(n->target);
                q.body = strcmp(n->channel, "slack") == 0
                                 ? slack_json(n, run, tail, tail_len, st->public_url)
                                 : notify_webhook_json(n, run, tail, tail_len, st->public_url);
                q.body_len = q.body ? strlen(q.body) : 0;
                q.ctype = "application/json";
                if (!q.url || !q.body) {
                        notify_request_release(&q);
                        return -ENOMEM;
                }
        } else if (strcmp(n->channel, "sentry") == 0) {
                q.ctype = "application/x-sentry-envelope";
                if (notify_sentry_endpoint(n->target, &q.url, &q.auth) < 0 ||
                    notify_sentry_render(n, run, tail, tail_len, &q.body, &q.body_len) < 0) {
                        notify_request_release(&q);
                        return -ENOMEM;
                }
        } else if (strcmp(n->channel, "email") == 0) {
                q.smtp = true;
                q.rcpt = split_rcpt(n->target);
                q.body = mail_text(n, run, tail, tail_len, st, &q.body_len);
                if (!q.rcpt || !q.body) {
                        notify_request_release(&q);
                        return -ENOMEM;
                }
        } else {
                return -EINVAL;
        }
        *ret = q;
        return 0;
}

void notify_endpoint_of(const char *url, char *buf, size_t size)
{
        const char *p = strstr(url, "://"), *h, *e;

        h = p ? p + 3 : url;
        e = h + strcspn(h, "/?#");
        /* Credentials are no part of the endpoint's name. */
        for (const char *at = h; at < e; at++)
                if (*at == '@')
                        h = at + 1;
        snprintf(buf, size, "%.*s%.*s", p ? (int)(p + 3 - url) : 0, url, (int)(e - h), h);
}

void notify_redact_url(const char *url, char *buf, size_t size)
{
        char ep[512];

        notify_endpoint_of(url, ep, sizeof(ep));
        snprintf(buf, size, "%s%s", ep, strlen(url) > strlen(ep) ? "/..." : "");
}

void cw_notify_shown_target(const cw_notice *n, char *buf, size_t size)
{
        if (strcmp(n->channel, "email") == 0)
                snprintf(buf, size, "%s", n->target);
        else
                notify_redact_url(n->target, buf, size);
}
