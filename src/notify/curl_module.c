/* curl_module.c - deliver.c as the module cronwarden-curl.so
 * (transport.h): the one symbol it exports (src/module.map), which the
 * cronwarden program's transport_load.c looks up. Built into the module
 * only, never into a library. */
#include "notify/transport.h"

/* Exported by name (CW_MODULE_SYMBOL): cannot be static. */
extern const cw_module_info cw_module;
const cw_module_info cw_module = {
        .name = NOTIFY_TRANSPORT_MODULE,
        .version = CW_VERSION,
        .layout = NOTIFY_TRANSPORT_LAYOUT,
        .table = &notify_curl_transport,
};
