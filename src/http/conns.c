/* conns.c - the admin server's connection accounting (see internal.h):
 * which connections are open, from whom, and how long each has been
 * reading its current request.
 *
 * libmicrohttpd's own timeout counts idle time only, so a client that
 * sends a byte every few seconds keeps a connection for ever, and its
 * per-address limit sees a reverse proxy as one address. This table adds
 * what it lacks:
 *   - a request (headers and body) must arrive within CW_REQUEST_TIMEOUT_US
 *     of the connection opening or of the previous answer; the server's
 *     reaper answers 408 and closes connections past it;
 *   - at most CW_CONN_PER_CLIENT connections per address, not counting a
 *     trusted proxy (its requests are counted by the address it forwards
 *     for, once their headers are in);
 *   - when fewer than CW_CONN_RESERVE of CW_CONN_LIMIT slots are left, a
 *     new connection closes the one that has waited longest for its
 *     request (at least CW_CONN_EVICT_AGE_US): normal clients send theirs
 *     in milliseconds, so the slots go to them, not to trickling ones.
 * Closing is done with shutdown(2) on the socket; libmicrohttpd then sees
 * the end of the stream and frees the connection as usual (the entry
 * leaves the table on its close notification, before the descriptor is
 * closed, so a descriptor is never shut down after being reused).
 *
 * One mutex guards the table; every operation is a scan of at most
 * CW_CONN_TABLE entries. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/internal.h"

typedef enum conn_state {
        CONN_READING, /* waiting for (the rest of) a request */
        CONN_BUSY,    /* the request is being answered */
        CONN_CLOSING, /* shut down by us; libmicrohttpd has yet to notice */
} conn_state;

typedef struct conn_entry {
        const void *key; /* the MHD_Connection; NULL: free slot */
        int fd;
        conn_state state;
        bool via_proxy;   /* the peer is a trusted proxy */
        int64_t since_us; /* when the current request's clock started */
        char peer[CW_CLIENT_MAX];
        char client[CW_CLIENT_MAX]; /* peer, or the address a proxy forwards for */
} conn_entry;

struct cw_conns {
        pthread_mutex_t lock;
        conn_entry e[CW_CONN_TABLE];
};

cw_conns *cw_conns_new(void)
{
        cw_conns *t = calloc(1, sizeof(*t));

        if (t)
                pthread_mutex_init(&t->lock, NULL);
        return t;
}

void cw_conns_free(cw_conns *t)
{
        if (!t)
                return;
        pthread_mutex_destroy(&t->lock);
        free(t);
}

static conn_entry *conn_find(cw_conns *t, const void *key)
{
        for (size_t i = 0; i < CW_CONN_TABLE; i++)
                if (t->e[i].key == key)
                        return &t->e[i];
        return NULL;
}

/* Shuts the connection down, first answering 408 when its request took
 * too long (best effort: the socket is non-blocking and the client may be
 * gone). An evicted connection is closed without a word, as an idle
 * keep-alive connection may be. Under t->lock. */
static void conn_close(conn_entry *e, bool timeout)
{
        static const char resp[] = "HTTP/1.1 408 Request Timeout\r\n"
                                   "Connection: close\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Length: 41\r\n"
                                   "\r\n"
                                   "the request did not arrive in 15 seconds\n";

        _Static_assert(CW_REQUEST_TIMEOUT_US == 15 * 1000000LL, "the 408 text says 15 seconds");
        if (timeout)
                (void)send(e->fd, resp, sizeof(resp) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)shutdown(e->fd, SHUT_RDWR);
        e->state = CONN_CLOSING;
}

static size_t count_live(const cw_conns *t, const char *client)
{
        size_t n = 0;

        for (size_t i = 0; i < CW_CONN_TABLE; i++) {
                const conn_entry *e = &t->e[i];

                if (e->key && e->state != CONN_CLOSING &&
                    (!client || strcmp(e->client, client) == 0))
                        n++;
        }
        return n;
}

/* Closes the connection that has waited longest for its request, if one
 * has waited CW_CONN_EVICT_AGE_US. Under t->lock. */
static void evict_oldest(cw_conns *t, int64_t now_us)
{
        conn_entry *old = NULL;

        for (size_t i = 0; i < CW_CONN_TABLE; i++) {
                conn_entry *e = &t->e[i];

                if (e->key && e->state == CONN_READING &&
                    now_us - e->since_us >= CW_CONN_EVICT_AGE_US &&
                    (!old || e->since_us < old->since_us))
                        old = e;
        }
        if (old)
                conn_close(old, now_us - old->since_us >= CW_REQUEST_TIMEOUT_US);
}

int cw_conns_admit(cw_conns *t, const char *peer, bool trusted, int64_t now_us)
{
        int r = 0;

        pthread_mutex_lock(&t->lock);
        if (count_live(t, NULL) >= CW_CONN_LIMIT - CW_CONN_RESERVE)
                evict_oldest(t, now_us);
        if (count_live(t, NULL) >= CW_CONN_LIMIT)
                r = -EBUSY;
        else if (!trusted && count_live(t, peer) >= CW_CONN_PER_CLIENT)
                r = -EMFILE;
        pthread_mutex_unlock(&t->lock);
        return r;
}

int cw_conns_add(cw_conns *t, const void *key, int fd, const char *peer, bool trusted,
                 int64_t now_us)
{
        conn_entry *e;

        pthread_mutex_lock(&t->lock);
        e = conn_find(t, NULL);
        if (e) {
                e->key = key;
                e->fd = fd;
                e->state = CONN_READING;
                e->via_proxy = trusted;
                e->since_us = now_us;
                snprintf(e->peer, sizeof(e->peer), "%s", peer);
                snprintf(e->client, sizeof(e->client), "%s", peer);
        } else
                /* More connections than the table holds (libmicrohttpd's
                 * limit is the table's size, so only in a race): refuse. */
                (void)shutdown(fd, SHUT_RDWR);
        pthread_mutex_unlock(&t->lock);
        return e ? 0 : -EBUSY;
}

void cw_conns_remove(cw_conns *t, const void *key)
{
        conn_entry *e;

        pthread_mutex_lock(&t->lock);
        e = conn_find(t, key);
        if (e)
                memset(e, 0, sizeof(*e));
        pthread_mutex_unlock(&t->lock);
}

size_t cw_conns_set_client(cw_conns *t, const void *key, const char *client)
{
        conn_entry *e;
        size_t n = 0;

        pthread_mutex_lock(&t->lock);
        e = conn_find(t, key);
        if (e && e->via_proxy) {
                snprintf(e->client, sizeof(e->client), "%s", client);
                n = count_live(t, e->client);
        }
        pthread_mutex_unlock(&t->lock);
        return n;
}

bool cw_conns_begin(cw_conns *t, const void *key)
{
        conn_entry *e;
        bool ok = true;

        pthread_mutex_lock(&t->lock);
        e = conn_find(t, key);
        if (e) {
                ok = e->state != CONN_CLOSING;
                if (ok)
                        e->state = CONN_BUSY;
        }
        pthread_mutex_unlock(&t->lock);
        return ok;
}

void cw_conns_end(cw_conns *t, const void *key, int64_t now_us)
{
        conn_entry *e;

        pthread_mutex_lock(&t->lock);
        e = conn_find(t, key);
        if (e && e->state == CONN_BUSY) {
                e->state = CONN_READING;
                e->since_us = now_us;
                memcpy(e->client, e->peer, sizeof(e->client));
        }
        pthread_mutex_unlock(&t->lock);
}

size_t cw_conns_reap(cw_conns *t, int64_t now_us)
{
        size_t n = 0;

        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < CW_CONN_TABLE; i++) {
                conn_entry *e = &t->e[i];

                if (e->key && e->state == CONN_READING &&
                    now_us - e->since_us >= CW_REQUEST_TIMEOUT_US) {
                        conn_close(e, true);
                        n++;
                }
        }
        pthread_mutex_unlock(&t->lock);
        return n;
}

/* ---- addresses ---- */

/* addr (text) into bin; returns its family, or 0 when it is no address. */
static int parse_addr(const char *addr, size_t n, unsigned char bin[16])
{
        char buf[INET6_ADDRSTRLEN + 1];
        int family;

        if (n == 0 || n >= sizeof(buf))
                return 0;
        memcpy(buf, addr, n);
        buf[n] = '\0';
        family = strchr(buf, ':') ? AF_INET6 : AF_INET;
        return inet_pton(family, buf, bin) == 1 ? family : 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
        unsigned bytes = bits / 8, rest = bits % 8;

        if (memcmp(a, b, bytes) != 0)
                return false;
        return rest == 0 || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool cw_http_addr_match(const char *addr, const cw_strv *list)
{
        unsigned char a[16], m[16];
        int fa = parse_addr(addr, strlen(addr), a);

        if (!fa || !list)
                return false;
        for (size_t i = 0; i < list->n; i++) {
                const char *item = list->v[i], *slash = strchr(item, '/');
                int fm = parse_addr(item, slash ? (size_t)(slash - item) : strlen(item), m);
                unsigned max = fm == AF_INET ? 32 : 128;
                unsigned bits = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : max;

                if (fm == fa && bits <= max && prefix_equal(a, m, bits))
                        return true;
        }
        return false;
}

/* One element of an X-Forwarded-For list, trimmed, normalised into out
 * (an IPv4-mapped IPv6 address as IPv4); false when it is no address. */
static bool xff_element(const char *s, size_t n, char *out, size_t size)
{
        unsigned char bin[16];
        int family;

        while (n && (*s == ' ' || *s == '\t'))
                s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        family = parse_addr(s, n, bin);
        if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)bin))
                return inet_ntop(AF_INET, bin + 12, out, (socklen_t)size) != NULL;
        return family && inet_ntop(family, bin, out, (socklen_t)size) != NULL;
}

void cw_http_forwarded_client(const char *peer, const char *xff, const cw_strv *trusted, char *out,
                              size_t size)
{
        char hop[CW_CLIENT_MAX];
        size_t end;

        snprintf(out, size, "%s", peer);
        if (!xff || !cw_http_addr_match(peer, trusted))
                return;
        /* From the right: each hop was added by the one after it; the
         * first we do not trust is the client. Anything unparsable ends
         * the walk (the last trusted hop stays the client). */
        end = strlen(xff);
        while (end > 0) {
                size_t start = end;

                while (start > 0 && xff[start - 1] != ',')
                        start--;
                if (!xff_element(xff + start, end - start, hop, sizeof(hop)))
                        return;
                snprintf(out, size, "%s", hop);
                if (!cw_http_addr_match(hop, trusted))
                        return;
                end = start ? start - 1 : 0;
        }
}
