/* transport.h - private to src/notify/: how a rendered request goes over
 * the network, as a table of functions, so the program can keep libcurl
 * (and the TLS libraries it brings) out of a process that sends nothing.
 *
 * deliver.c implements the table with libcurl. The public library and the
 * tests link it (transport_direct.c); the cronwarden program instead loads
 * it as the module cronwarden-curl.so (base/module.h), built from
 * deliver.c and curl_module.c, the first time it sends a notification
 * (transport_load.c). A sender opens the transport once and keeps it. */
#ifndef CW_NOTIFY_TRANSPORT_H
#define CW_NOTIFY_TRANSPORT_H

#include "base/module.h"
#include "notify/notify_internal.h"

#define NOTIFY_TRANSPORT_MODULE "cronwarden-curl.so"

typedef struct notify_transport {
        /* Readies the transport (libcurl's global state); called by
         * notify_transport_open before the transport is handed out, from
         * any thread. 0 or a negative errno. */
        int (*init)(void);
        /* Sends q (st for SMTP), within the timeouts of notify.h; aborts
         * soon when *stop becomes true. Fills *ans; returns 0 when
         * delivered. Reentrant. */
        int (*deliver)(const notify_request *q, const notify_settings *st, atomic_bool *stop,
                       notify_answer *ans);
} notify_transport;

/* Both sides of the module share these types. */
#define NOTIFY_TRANSPORT_LAYOUT                                                                    \
        CW_MODULE_LAYOUT(sizeof(notify_transport), sizeof(notify_request),                         \
                         sizeof(notify_settings) * 1000u + sizeof(notify_answer))

/* deliver.c's table. */
extern const notify_transport notify_curl_transport;

/* Sets *ret to the program's transport, ready (init called). On failure
 * (the module is missing or broken) returns a negative errno with err
 * saying why; *ret is unchanged. */
int notify_transport_open(const notify_transport **ret, cw_error *err);

#endif
