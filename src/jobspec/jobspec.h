/* jobspec.h - job specs: how a run is requested (docs/config.md, What runs).
 *
 *   Name
 *   Name:pos1,pos2,key=value,key2="quoted, value",k3="a \"b\""
 *
 * Names: [A-Za-z_][A-Za-z0-9_.-]* (at most 128 bytes). Params are
 * comma-separated; positional values come first, then key=value pairs
 * (keys [A-Za-z_][A-Za-z0-9_-]*, each at most once). A value is either
 * unquoted (no comma, quote, backslash, '=' or whitespace) or double-quoted,
 * in which case a comma, '=' and spaces are data and \" and \\ are escapes.
 * Parsing is strict: every error names the column. The canonical form
 * (cw_jobspec_format) quotes only values that need it, so equal specs have
 * equal text; that text seeds `H` in time specs. */
#ifndef CW_JOBSPEC_JOBSPEC_H
#define CW_JOBSPEC_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define CW_JOBSPEC_NAME_MAX 128
#define CW_JOBSPEC_PARAMS_MAX 64
#define CW_JOBSPEC_TEXT_MAX 4096

typedef struct cw_param {
        char *key;   /* NULL for a positional value */
        char *value; /* never NULL; may be "" */
} cw_param;

typedef struct cw_jobspec {
        char *name;
        cw_param *params; /* positional first, in order, then named, in order given */
        size_t n_params;
        size_t n_positional;
} cw_jobspec;

/* Parses text (NUL-terminated, at most CW_JOBSPEC_TEXT_MAX bytes) into
 * *ret, a new object (free with cw_jobspec_free). Returns 0, -EINVAL with
 * err filled (column into text), or -ENOMEM. *ret untouched on failure. */
int cw_jobspec_parse(const char *text, cw_jobspec **ret, cw_error *err);

/* Canonical text of js, newly allocated (caller frees), or NULL on ENOMEM. */
char *cw_jobspec_format(const cw_jobspec *js);

/* Value of named param key, or NULL. */
const char *cw_jobspec_get(const cw_jobspec *js, const char *key);

/* True when name is a valid job name. */
bool cw_jobspec_name_valid(const char *name);

void cw_jobspec_free(cw_jobspec *js);
static inline void cw_jobspec_freep(cw_jobspec **js)
{
        cw_jobspec_free(*js);
}

#endif
