/* pg_absent.c - the PostgreSQL backend's entry point in a program built
 * without it: the daemon's lean spawner (src/cli/spawner_main.c), which
 * only ever serves SQLite stores. Linked as an object of that program, it
 * satisfies store.c's one reference to the backend, so the linker takes
 * nothing of src/store/pg/ from the core library, and the program does not
 * load libpq (nor, through it, the TLS and Kerberos libraries): each
 * worker that program forks then copies fewer mappings (docs/scheduling.md,
 * "Starting workers: the daemon's spawner"). */
#include <errno.h>

#include "store/store_backend.h"

int cw_store_pg_load(cw_error *err)
{
        return cw_error_fail(err, -EPROTONOSUPPORT,
                             "this program has no PostgreSQL backend (the daemon's spawner "
                             "for SQLite stores); use the cronwarden binary");
}

int cw_store_pg_open(const char *url, cw_store **ret, cw_error *err)
{
        (void)url;
        (void)ret;
        return cw_store_pg_load(err);
}
