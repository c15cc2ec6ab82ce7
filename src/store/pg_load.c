/* pg_load.c - the PostgreSQL backend's entry point in the cronwarden
 * program: loads the module cronwarden-pg.so (store_backend.h,
 * CW_STORE_PG_MODULE; base/module.h says where it is looked for) the
 * first time a PostgreSQL store is opened, and opens the store with it.
 * So a daemon on SQLite never maps libpq nor the TLS, Kerberos and LDAP
 * libraries libpq brings (docs/hacking.md, "Modules"). Each open looks
 * the module up again: dlopen of a loaded module only counts a reference,
 * and the program keeps no state outside main. */
#include "store/store_backend.h"

static int load(const cw_store_pg_module **ret, cw_error *err)
{
        const void *table;
        int r;

        r = cw_module_load(CW_STORE_PG_MODULE, "PostgreSQL support", CW_STORE_PG_LAYOUT, &table,
                           err);
        if (r < 0)
                return r;
        *ret = table;
        return 0;
}

int cw_store_pg_load(cw_error *err)
{
        const cw_store_pg_module *m;

        return load(&m, err);
}

int cw_store_pg_open(const char *url, cw_store **ret, cw_error *err)
{
        const cw_store_pg_module *m;
        int r;

        r = load(&m, err);
        if (r < 0)
                return r;
        return m->open(url, ret, err);
}
