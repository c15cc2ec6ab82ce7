/* deliver.c - one request over the network with libcurl, the transport
 * of transport.h: HTTP(S) GET or POST with the notification's
 * Idempotency-Key, or a mail over SMTP (STARTTLS when the server offers
 * it on smtp://, TLS from the start on smtps://). Connect and total
 * timeouts bound every transfer; a progress callback aborts one when the
 * sender is asked to stop. The SMTP password is read from its file here,
 * kept on the stack and wiped after use. Linked into the public library
 * and the tests, and built into the module cronwarden-curl.so for the
 * program, so it uses nothing of the core but the types it is given. */
#include "notify/transport.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/macro.h"

typedef struct xfer {
        const notify_request *q;
        size_t sent;
        long body_limit;
        atomic_bool *stop;
} xfer;

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
        (void)p;
        (void)ud;
        return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
        xfer *x = ud;
        size_t len = size * n;
        static const char name[] = "ping-body-limit:";

        if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0)
                x->body_limit = strtol(p + sizeof(name) - 1, NULL, 10);
        return len;
}

static size_t read_body(char *buf, size_t size, size_t n, void *ud)
{
        xfer *x = ud;
        size_t room = size * n, left = x->q->body_len - x->sent;
        size_t k = left < room ? left : room;

        memcpy(buf, x->q->body + x->sent, k);
        x->sent += k;
        return k;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
        xfer *x = ud;

        (void)a;
        (void)b;
        (void)c;
        (void)d;
        return x->stop && atomic_load(x->stop) ? 1 : 0;
}

/* The first line of the password file, without its newline. */
static int read_password(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -EIO;
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        return 0;
}

static void common_opts(CURL *c, xfer *x)
{
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CW_NOTIFY_CONNECT_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CW_NOTIFY_TOTAL_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
}

static int http_send(CURL *c, xfer *x, notify_answer *ans)
{
        const notify_request *q = x->q;
        struct curl_slist *h = NULL;
        char key[96], ctype[128];
        CURLcode rc;
        long code = 0;

        snprintf(key, sizeof(key), "Idempotency-Key: %s", q->key);
        h = curl_slist_append(h, key);
        h = curl_slist_append(h, "User-Agent: cronwarden/" CW_VERSION);
        if (q->ctype) {
                snprintf(ctype, sizeof(ctype), "Content-Type: %s", q->ctype);
                h = curl_slist_append(h, ctype);
        }
        h = curl_slist_append(h, "Expect:");
        if (q->auth)
                h = curl_slist_append(h, q->auth);
        curl_easy_setopt(c, CURLOPT_URL, q->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        if (!q->get) {
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        }
        rc = curl_easy_perform(c);
        curl_slist_free_all(h);
        if (rc != CURLE_OK) {
                snprintf(ans->text, sizeof(ans->text), "%s", curl_easy_strerror(rc));
                return -EIO;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        ans->body_limit = x->body_limit;
        snprintf(ans->text, sizeof(ans->text), "HTTP %ld", code);
        if (code >= 200 && code < 300) {
                ans->ok = true;
                return 0;
        }
        ans->permanent = code >= 400 && code < 500 && code != 408 && code != 429;
        return -EIO;
}

static int smtp_send(CURL *c, xfer *x, const notify_settings *st, notify_answer *ans)
{
        struct curl_slist *rcpt = NULL;
        char password[512] = "", from[300];
        CURLcode rc;
        long code = 0;
        int r = 0;

        if (!st->smtp_url || !st->smtp_from) {
                snprintf(ans->text, sizeof(ans->text), "no [smtp] url and from in the config");
                ans->permanent = true;
                return -EINVAL;
        }
        if (st->smtp_password_file &&
            (r = read_password(st->smtp_password_file, password, sizeof(password))) < 0) {
                snprintf(ans->text, sizeof(ans->text), "cannot read the smtp password_file: %s",
                         strerror(-r));
                return r;
        }
        for (char **p = x->q->rcpt; p && *p; p++)
                rcpt = curl_slist_append(rcpt, *p);
        snprintf(from, sizeof(from), "<%s>", st->smtp_from);
        curl_easy_setopt(c, CURLOPT_URL, st->smtp_url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
        if (st->smtp_user) {
                curl_easy_setopt(c, CURLOPT_USERNAME, st->smtp_user);
                curl_easy_setopt(c, CURLOPT_PASSWORD, password);
        }
        rc = curl_easy_perform(c);
        explicit_bzero(password, sizeof(password));
        curl_slist_free_all(rcpt);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK) {
                snprintf(ans->text, sizeof(ans->text), "%s (SMTP %ld)", curl_easy_strerror(rc),
                         code);
                ans->permanent = code >= 500 && code < 600;
                return -EIO;
        }
        snprintf(ans->text, sizeof(ans->text), "SMTP %ld", code);
        ans->ok = true;
        return 0;
}

static int deliver(const notify_request *q, const notify_settings *st, atomic_bool *stop,
                   notify_answer *ans)
{
        xfer x = {.q = q, .stop = stop};
        CURL *c = curl_easy_init();
        int r;

        *ans = (notify_answer){0};
        if (!c) {
                snprintf(ans->text, sizeof(ans->text), "out of memory");
                return -ENOMEM;
        }
        common_opts(c, &x);
        r = q->smtp ? smtp_send(c, &x, st, ans) : http_send(c, &x, ans);
        curl_easy_cleanup(c);
        return r;
}

/* curl_global_init counts its calls, and is thread-safe in the libcurl
 * of Debian 12 (7.88, built with atomics). */
static int init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

const notify_transport notify_curl_transport = {
        .init = init,
        .deliver = deliver,
};
