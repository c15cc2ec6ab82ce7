/* module.h - parts of the program loaded on demand (dlopen), so that a
 * process which never needs them does not map their libraries.
 *
 * The cronwarden program links neither libpq nor libcurl: the PostgreSQL
 * backend (cronwarden-pg.so) and the HTTP/SMTP transport of notifications
 * (cronwarden-curl.so) are modules, loaded the first time a PostgreSQL
 * store is opened or a notification is sent. Loading libpq or libcurl
 * maps, relocates and initialises their TLS, Kerberos and LDAP libraries,
 * megabytes of dirty pages an idle daemon on SQLite has no use for.
 *
 * A module exports a single symbol, CW_MODULE_SYMBOL, a cw_module_info
 * pointing at the module's function table (whose type the module's
 * loader states: store_backend.h, notify/transport.h). Modules are built
 * and installed with the program; the loader refuses one from another
 * release (version) or built from other sources (layout: a number both
 * sides compute from the sizes of the table and of the structs passed
 * through it, CW_MODULE_LAYOUT).
 *
 * Where a module is found: in $CRONWARDEN_MODULE_DIR when that is set
 * (tests, relocated installs); else beside the program (a build tree);
 * else, when the program is the installed one in CW_BINDIR, in
 * CW_LIBEXECDIR, next to cronwarden-spawner (docs/hacking.md, "Modules"):
 * the order in which src/cli/spawn.c looks for the lean spawner.
 * A loaded module stays loaded until the process exits (never dlclose'd:
 * its libraries register exit handlers and thread keys). */
#ifndef CW_BASE_MODULE_H
#define CW_BASE_MODULE_H

#include <stddef.h>

#include "base/error.h"

#define CW_MODULE_SYMBOL "cw_module"
#define CW_MODULE_DIR_ENV "CRONWARDEN_MODULE_DIR"

typedef struct cw_module_info {
        const char *name;    /* its file name, e.g. "cronwarden-pg.so" */
        const char *version; /* CW_VERSION of the build that made it */
        size_t layout;       /* CW_MODULE_LAYOUT of the types it shares */
        const void *table;
} cw_module_info;

/* A module's layout number from the sizes of up to three shared types. */
#define CW_MODULE_LAYOUT(a, b, c)                                                                  \
        ((size_t)(a)*1000003u * 1000003u + (size_t)(b)*1000003u + (size_t)(c))

/* Loads module `file` (a file name, no directory) and sets *ret_table to
 * its function table, the module's layout being `layout`. On failure returns
 * a negative errno (-ENOENT: no such file; -ENOEXEC: it cannot be loaded
 * or is not a module of this build) and err says "<what> not installed:
 * <path>: <why>"; *ret_table is unchanged. Thread-safe (dlopen is). */
int cw_module_load(const char *file, const char *what, size_t layout, const void **ret_table,
                   cw_error *err);

#endif
