/* transport_load.c - the transport (transport.h) in the cronwarden
 * program: the module cronwarden-curl.so, loaded the first time a
 * notification is sent, so a daemon whose jobs have no channels never
 * maps libcurl nor the TLS libraries it brings (docs/hacking.md,
 * "Modules"). */
#include "notify/transport.h"

int notify_transport_open(const notify_transport **ret, cw_error *err)
{
        const notify_transport *t;
        const void *table;
        int r;

        r = cw_module_load(NOTIFY_TRANSPORT_MODULE, "HTTP and SMTP notification support",
                           NOTIFY_TRANSPORT_LAYOUT, &table, err);
        if (r < 0)
                return r;
        t = table;
        r = t->init();
        if (r < 0)
                return cw_error_fail(err, r, "cannot initialise libcurl");
        *ret = t;
        return 0;
}
