/* module.c - the PostgreSQL backend as the module cronwarden-pg.so
 * (store_backend.h, CW_STORE_PG_MODULE): the one symbol it exports
 * (src/module.map), which the cronwarden program's pg_load.c looks up.
 * Built into the module only, never into a library. */
#include "base/module.h"
#include "store/store_backend.h"

static const cw_store_pg_module table = {
        .open = cw_store_pg_open,
};

/* Exported by name (CW_MODULE_SYMBOL): cannot be static. */
extern const cw_module_info cw_module;
const cw_module_info cw_module = {
        .name = CW_STORE_PG_MODULE,
        .version = CW_VERSION,
        .layout = CW_STORE_PG_LAYOUT,
        .table = &table,
};
