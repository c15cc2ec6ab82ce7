/* embed_internal.h - what the files of src/embed/ (the public API of
 * cronwarden.h: registry.c, context.c, embed_main.c) share. */
#ifndef CW_EMBED_EMBED_INTERNAL_H
#define CW_EMBED_EMBED_INTERNAL_H

#include "cli/cli.h"
#include "config/config.h"
#include "cronwarden.h"

/* The config's view of the registered function called name (its
 * description and declared params), or NULL: a cw_config_function_lookup
 * over a const cronwarden_registry *. */
const cw_config_function *cw_embed_function_decl(const void *registry, const char *name);

/* The internal command `run-function NAME`: runs the function of a
 * function job in the job's process, and returns its exit status. */
int cw_embed_run_function(const void *registry, cw_cli *cli, int argc, char **argv);

#endif
