/* embed_main.c - cronwarden_main and cronwarden_version (cronwarden.h):
 * the command line of the cronwarden program (src/cli/), given the
 * program's registry so that config loads resolve `function = NAME` and
 * a function job's process can run its function. */
#include "embed/embed_internal.h"

const char *cronwarden_version(void)
{
        return CW_VERSION;
}

int cronwarden_main_with(const cronwarden_registry *reg, int argc, char **argv)
{
        const cw_cli_embed embed = {
                .function = cw_embed_function_decl,
                .userdata = reg ? reg : cronwarden_default_registry(),
                .run_function = cw_embed_run_function,
        };

        return cw_cli_main(&embed, argc, argv);
}

int cronwarden_main(int argc, char **argv)
{
        return cronwarden_main_with(NULL, argc, argv);
}
