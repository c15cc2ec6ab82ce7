/* transport_direct.c - the transport (transport.h) when deliver.c is
 * linked in: the public library and the tests. */
#include "notify/transport.h"

int notify_transport_open(const notify_transport **ret, cw_error *err)
{
        int r = notify_curl_transport.init();

        if (r < 0)
                return cw_error_fail(err, r, "cannot initialise libcurl");
        *ret = &notify_curl_transport;
        return 0;
}
