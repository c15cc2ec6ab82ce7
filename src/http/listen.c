/* listen.c - the admin server's listening socket (see internal.h):
 * "HOST:PORT", "[V6]:PORT" or ":PORT" parsed, resolved (numeric port
 * only), then bound and listening, close-on-exec and non-blocking, as
 * libmicrohttpd expects. ":PORT" is one dual-stack IPv6 socket for every
 * interface, or IPv4 only on a host without IPv6. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"

int cw_http_listen(const char *listen_addr, int *ret_fd, cw_error *err)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        char host[256];
        const char *port, *colon;
        int r, e = EADDRNOTAVAIL, fd = -1;

        if (listen_addr[0] == '[') {
                const char *close = strchr(listen_addr, ']');
                if (!close || close[1] != ':' || (size_t)(close - listen_addr - 1) >= sizeof(host))
                        goto bad;
                snprintf(host, sizeof(host), "%.*s", (int)(close - listen_addr - 1),
                         listen_addr + 1);
                port = close + 2;
        } else {
                colon = strrchr(listen_addr, ':');
                if (!colon || (size_t)(colon - listen_addr) >= sizeof(host))
                        goto bad;
                snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_addr), listen_addr);
                port = colon + 1;
        }
        if (!port[0])
                goto bad;
        if (!host[0]) {
                /* All interfaces: IPv6 and IPv4 on one dual-stack socket. */
                snprintf(host, sizeof(host), "::");
                hints.ai_family = AF_INET6;
        }
        r = getaddrinfo(host, port, &hints, &res);
        if (r != 0 && strcmp(host, "::") == 0) {
                snprintf(host, sizeof(host), "0.0.0.0");
                hints.ai_family = AF_INET;
                r = getaddrinfo(host, port, &hints, &res);
        }
        if (r != 0)
                return cw_error_fail(err, -EINVAL, "cannot listen on '%s': %s", listen_addr,
                                     gai_strerror(r));
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                int one = 1, zero = 0;

                fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            ai->ai_protocol);
                if (fd < 0) {
                        e = errno;
                        continue;
                }
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (ai->ai_family == AF_INET6 && strcmp(host, "::") == 0)
                        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
                        break;
                e = errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        if (fd < 0)
                return cw_error_fail(err, -e, "cannot listen on '%s': %s", listen_addr,
                                     strerror(e));
        *ret_fd = fd;
        return 0;
bad:
        return cw_error_fail(err, -EINVAL,
                             "cannot listen on '%s': expected HOST:PORT, [IPV6]:PORT or :PORT",
                             listen_addr);
}
