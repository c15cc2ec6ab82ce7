/* notify_internal.h - private to src/notify/: a notification rendered into
 * one request (render.c) and sent (transport.h, deliver.c). */
#ifndef CW_NOTIFY_NOTIFY_INTERNAL_H
#define CW_NOTIFY_NOTIFY_INTERNAL_H

#include <stdatomic.h>

#include "notify/notify.h"

/* The settings a sender renders and sends with (copies of the config's). */
typedef struct notify_settings {
        char *smtp_url, *smtp_from, *smtp_user, *smtp_password_file, *subject_prefix;
        char *public_url;
} notify_settings;

/* One request: HTTP (url, get or POST of body as ctype) or SMTP (the
 * settings' server, from, rcpt, body as the whole message). */
typedef struct notify_request {
        bool smtp;
        bool get;
        char *url;
        const char *ctype;
        char *body;
        size_t body_len;
        char **rcpt;  /* NULL-terminated */
        char *auth;   /* an extra header line (Sentry's X-Sentry-Auth), or NULL */
        char key[64]; /* the Idempotency-Key: "cronwarden-ID" */
} notify_request;
void notify_request_release(notify_request *q);

/* What the endpoint said. */
typedef struct notify_answer {
        bool ok;         /* delivered */
        bool permanent;  /* refused for good (a 4xx but 408 and 429): no retry */
        long body_limit; /* a Ping-Body-Limit header, 0: none */
        char text[300];  /* "HTTP 200", "250 ...", or the transport error */
} notify_answer;

/* Renders notice n about run (NULL for a test or a run pruned since) with
 * output tail (tail_len bytes) into *ret. body_limit caps a ping's body.
 * -ENOMEM, or -EINVAL for a channel it does not know. */
int notify_render(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                  const notify_settings *st, size_t body_limit, notify_request *ret);

/* The ping URL for event (started, succeeded, anything else is a
 * failure) with rid= uuid, and whether it is a GET ({event} URLs). */
int notify_ping_url(const char *base, const char *event, const char *uuid, char **ret,
                    bool *ret_get);
/* The JSON webhook payload (docs/notifications.md), newly allocated. */
char *notify_webhook_json(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                          const char *public_url);

/* Sending a request: transport.h. */

/* text as valid UTF-8 (each bad byte U+FFFD), newly allocated; NULL
 * when out of memory. */
char *notify_utf8_clean(const char *text, size_t len);

/* Sentry (sentry.c): the detail a sentry row carries (the reason and the
 * job's monitor_config, as JSON), newly allocated; the envelope URL and
 * auth header of a DSN (-EINVAL for a DSN without key or project); the
 * envelope for notice n. */
char *notify_sentry_detail(const cw_config *cfg, const cw_job *job, const char *reason);
int notify_sentry_endpoint(const char *dsn, char **ret_url, char **ret_auth);
int notify_sentry_render(const cw_notice *n, const cw_run *run, const char *tail, size_t tail_len,
                         char **ret_body, size_t *ret_len);

/* The endpoint a breaker is kept for: scheme://host[:port] of url. */
void notify_endpoint_of(const char *url, char *buf, size_t size);
/* url with any user:password@ and the query string and path replaced by
 * "...", for what is shown to people (tokens often live there). */
void notify_redact_url(const char *url, char *buf, size_t size);

#endif
