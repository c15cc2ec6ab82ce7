/* config_internal.h - what config.c (reading, sections, cross-checks) and
 * config_keys.c (the key table and value validators) share. Private to
 * src/config/: nothing outside it includes this.
 *
 * Loading happens in two passes. The first (config.c, driven by libinih)
 * stores every key of every section as a cfg_kv holding the value's
 * physical lines; it reports syntax errors, unknown sections and keys and
 * repeated keys. The second walks the stored sections in a fixed order
 * ([cronwarden], [admin], [defaults], jobs, [schedule]) and hands each
 * value to its key's apply function from config_keys.c, which validates it
 * and stores it into the cw_config or cw_job being built. */
#ifndef CW_CONFIG_CONFIG_INTERNAL_H
#define CW_CONFIG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "config.h"

typedef enum cfg_section_kind {
        CFG_SEC_NONE, /* keys before any section header */
        CFG_SEC_CRONWARDEN,
        CFG_SEC_ADMIN,
        CFG_SEC_DEFAULTS,
        CFG_SEC_JOB,
        CFG_SEC_SCHEDULE,
        CFG_SEC_SKIP, /* unknown, duplicate or broken: keys are ignored */
        CFG_SEC__MAX,
} cfg_section_kind;

/* Every key; the table in config_keys.c is indexed by these. */
typedef enum cfg_key_id {
        /* [cronwarden] */
        CFG_K_DATA_DIR,
        CFG_K_STORE,
        CFG_K_GLOBAL_TIMEZONE,
        CFG_K_NODE,
        CFG_K_MAX_OUTPUT,
        CFG_K_KEEP_HISTORY,
        CFG_K_MAX_RUNNING,
        CFG_K_MAX_LOAD,
        /* [admin] */
        CFG_K_LISTEN,
        CFG_K_USER,
        CFG_K_PASSWORD_HASH,
        CFG_K_ALLOW_UI_COMMANDS,
        CFG_K_API_TOKEN,
        /* [defaults] and [job NAME] */
        CFG_K_DESCRIPTION,
        CFG_K_COMMAND,
        CFG_K_SHELL,
        CFG_K_ARGS,
        CFG_K_OPTIONS,
        CFG_K_SCHEDULE,
        CFG_K_LOCK,
        CFG_K_LOCK_NAME,
        CFG_K_NICE,
        CFG_K_IONICE,
        CFG_K_TIMEOUT,
        CFG_K_KILL_GRACE,
        CFG_K_CONCURRENCY,
        CFG_K_CATCH_UP,
        CFG_K_RETRIES,
        CFG_K_RETRY_DELAY,
        CFG_K_CAN_RESUME,
        CFG_K_AFTER,
        CFG_K_HOSTS,
        CFG_K_PING,
        CFG_K_NOTIFY_AFTER_FAILURES,
        CFG_K_RUN_AS,
        CFG_K_WORKDIR,
        CFG_K_ENV,
        CFG_K_SECRET_ENV,
        CFG_K_ENV_FILE,
        CFG_K_TIMEZONE,
        CFG_K_ENABLED,
        CFG_K_JITTER,
        CFG_K_START_DEADLINE,
        CFG_K_MAX_RUNTIME,
        CFG_K_MIN_RUNTIME,
        CFG_K_DISABLE_AFTER_FAILURES,
        CFG_K_PRIORITY,
        CFG_K_LIMIT_NOFILE,
        CFG_K_LIMIT_MEMORY,
        CFG_K_LIMIT_CPU,
        /* [schedule] */
        CFG_K_RUN,
        CFG_K__MAX,
} cfg_key_id;

/* One physical line of a value: the line with the key, then each indented
 * continuation line. */
typedef struct cfg_part {
        char *text;
        int line;
} cfg_part;

typedef struct cfg_key cfg_key;

/* One key = value, with its continuation lines. A section's values live
 * in one block per section (see config.c), freed once the section has
 * been applied. Most values have one line: they have no parts array, and
 * cfg_kv_part() gives the value itself as their only part. */
typedef struct cfg_kv {
        const cfg_key *key;
        char *text;       /* all parts joined with single spaces */
        cfg_part *parts;  /* n_parts lines when there are several, else NULL */
        uint32_t n_parts;
        int line;         /* line of the key */
        bool broken;      /* a line of the value was rejected: do not validate */
} cfg_kv;

/* Line i (< kv->n_parts) of a value. */
static inline cfg_part cfg_kv_part(const cfg_kv *kv, size_t i)
{
        if (!kv->parts)
                return (cfg_part){kv->text, kv->line};
        return kv->parts[i];
}

typedef struct cfg_loader cfg_loader;

/* Validates kv's value and stores it into obj. Strings and arrays stored
 * into a cw_config or cw_job come from the config's arena (cw_config_arena,
 * cw_config_strdup, cw_config_strv_freeze): never malloc'ed, never freed
 * on their own, possibly shared with [defaults] and other jobs, so an
 * applier replaces a field's pointer and never writes through it. (a cw_config for
 * [cronwarden] and [admin] keys, a cw_job otherwise). Returns 0, -EINVAL
 * after recording the problem with cw_config_error(), or -ENOMEM. */
typedef int (*cfg_apply_fn)(cfg_loader *L, void *obj, const cfg_kv *kv);

#define CFG_REPEATABLE (1u << 0) /* may appear several times in one section */
#define CFG_JOB_ONLY (1u << 1)   /* [job NAME] only, not [defaults] */
#define CFG_DEFERRED (1u << 2)   /* handled by config.c after the other keys */

struct cfg_key {
        cfg_key_id id;
        const char *name;
        unsigned sections; /* bitmask of 1u << cfg_section_kind */
        unsigned flags;
        cfg_apply_fn apply;
        size_t offset; /* of the field in cw_config / cw_job, for generic appliers */
        long long min, max;
};

/* The key called name in a section of this kind, or NULL. */
const cfg_key *cw_config_key_lookup(const char *name, cfg_section_kind kind);
/* Describes an unknown key for an error message: " (did you mean 'x'?)",
 * " (it belongs in [admin])" or "". Writes into buf. */
void cw_config_key_hint(const char *name, cfg_section_kind kind, char *buf, size_t size);

/* Edit distance between a and b, capped at cap + 1 (cheap early exit). */
size_t cw_config_edit_distance(const char *a, const char *b, size_t cap);

/* Records "FILE:LINE: " + message (line <= 0: "FILE: "). Returns -EINVAL
 * so callers can `return cw_config_error(...)`. */
int cw_config_error(cfg_loader *L, int line, const char *fmt, ...) _printf_(3, 4);
/* Same, followed by text on its own line with a caret under e's span. */
int cw_config_error_caret(cfg_loader *L, int line, const cw_error *e, const char *text,
                          const char *fmt, ...) _printf_(5, 6);

/* s as 'text' for messages: control bytes escaped, long values cut. */
#define CFG_QUOTE_MAX 96
const char *cw_config_quote(const char *s, char buf[static CFG_QUOTE_MAX]);

/* The zone called name, loaded once per config and owned by it. Returns 0
 * and sets *ret, or records an error for key at line and returns -EINVAL
 * (or -ENOMEM). */
int cw_config_zone_get(cfg_loader *L, const char *name, const char *key, int line,
                       const cw_tz **ret);

/* path made absolute against the config file's directory, lexically
 * normalised ("." and repeated '/' dropped), in the config's arena. NULL
 * on ENOMEM. */
char *cw_config_path_absolute(cfg_loader *L, const char *path);

/* The arena of the config being loaded, and a copy of s in it (NULL on
 * ENOMEM). */
cw_arena *cw_config_arena(cfg_loader *L);
char *cw_config_strdup(cfg_loader *L, const char *s);
/* Stores the n strings of v as *ret in the arena: a NULL-terminated array
 * ({NULL, 0} when n is 0), with the strings copied unless they are
 * already in the arena (copy false). -ENOMEM with *ret unchanged. */
int cw_config_strv_freeze(cfg_loader *L, char *const *v, size_t n, bool copy, cw_strv *ret);

/* What env= keys of the section being applied have done, so a key set
 * twice in one section is an error while a job may override a [defaults]
 * entry. `entries` is the job's env being built (pointers to arena
 * strings), loaded from the job's inherited env on the first env= line;
 * config.c stores it into the job once the section is applied. Reset by
 * config.c at every section. */
typedef struct cfg_env_seen {
        cw_strv keys;
        int *lines;
        char **entries;
        size_t n_entries, cap_entries;
        bool loaded;
} cfg_env_seen;
cfg_env_seen *cw_config_env_seen(cfg_loader *L);

#endif
