/* config_internal.h - what the files of the config loader share: config.c
 * (the loaded config and the load), config_loader.c (the state of one
 * load, its diagnostics, paths and zones), config_read.c (pass one),
 * config_jobs.c and config_schedule.c (pass two) and config_keys.c (the
 * key table and value validators). Private to src/config/: nothing
 * outside it includes this.
 *
 * Loading happens in two passes. The first (config_read.c, driven by libinih)
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
        CFG_SEC_SMTP,
        CFG_SEC_MAINTENANCE, /* [maintenance NAME] (config_maint.c) */
        CFG_SEC_SKIP,        /* unknown, duplicate or broken: keys are ignored */
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
        CFG_K_DEAD_TIMEOUT,
        /* [admin] */
        CFG_K_LISTEN,
        CFG_K_USER,
        CFG_K_PASSWORD_HASH,
        CFG_K_ALLOW_UI_COMMANDS,
        CFG_K_API_TOKEN,
        CFG_K_TRUSTED_PROXIES,
        CFG_K_PUBLIC_URL,
        CFG_K_COOKIE_SECURE,
        CFG_K_METRICS_JOB_HISTOGRAMS,
        /* [defaults] and [job NAME] */
        CFG_K_DESCRIPTION,
        CFG_K_COMMAND,
        CFG_K_FUNCTION,
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
        CFG_K_WEBHOOK,
        CFG_K_WEBHOOK_FORMAT,
        CFG_K_EMAIL,
        CFG_K_SENTRY_DSN,
        CFG_K_DURING_MAINTENANCE,
        /* [smtp] */
        CFG_K_SMTP_URL,
        CFG_K_SMTP_FROM,
        CFG_K_SMTP_USER,
        CFG_K_SMTP_PASSWORD_FILE,
        CFG_K_SMTP_SUBJECT_PREFIX,
        /* [schedule] */
        CFG_K_RUN,
        /* [maintenance NAME] */
        CFG_K_M_SCHEDULE,
        CFG_K_M_DURATION,
        CFG_K_M_START,
        CFG_K_M_END,
        CFG_K_M_TIMEZONE,
        CFG_K_M_JOBS,
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
 * in one block per section (see config_read.c), freed once the section has
 * been applied. Most values have one line: they have no parts array, and
 * cfg_kv_part() gives the value itself as their only part. */
typedef struct cfg_kv {
        const cfg_key *key;
        char *text;      /* all parts joined with single spaces */
        cfg_part *parts; /* n_parts lines when there are several, else NULL */
        uint32_t n_parts;
        int line;    /* line of the key */
        bool broken; /* a line of the value was rejected: do not validate */
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
#define CFG_DEFERRED (1u << 2)   /* handled by config_jobs.c after the other keys */

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
 * config_jobs.c stores it into the job once the section is applied. Reset by
 * config_jobs.c at every section. */
typedef struct cfg_env_seen {
        cw_strv keys;
        int *lines;
        char **entries;
        size_t n_entries, cap_entries;
        bool loaded;
} cfg_env_seen;
cfg_env_seen *cw_config_env_seen(cfg_loader *L);

/* ---- what a loaded config is (config.c) ---- */

/* Open addressing over indices: a slot holds index + 1 (0: empty) and the
 * name's hash, 8 bytes a slot; names are found through a callback (the
 * sections while reading, the jobs after), so the table holds no
 * pointers. The stored hash makes growing need no names and skips most
 * string comparisons. */
typedef struct cfg_map_slot {
        uint32_t idx1;
        uint32_t hash;
} cfg_map_slot;

typedef struct cfg_map {
        cfg_map_slot *slots;
        size_t cap, n; /* cap is 0 or a power of two, at least twice n */
} cfg_map;

typedef const char *(*cfg_name_fn)(const void *ctx, size_t idx);

/* The value stored for key in m (names through name(ctx, idx)). */
bool cfg_map_get(const cfg_map *m, const char *key, cfg_name_fn name, const void *ctx, size_t *ret);
/* Adds key with value, which must be absent; name(ctx, value) must give
 * key from now on. -ENOMEM when it cannot grow. */
int cfg_map_put(cfg_map *m, const char *key, size_t value, cfg_name_fn name, const void *ctx);
void cfg_map_release(cfg_map *m);
/* cfg_name_fn over an array of cw_job. */
const char *cfg_job_name_at(const void *ctx, size_t idx);

typedef struct cfg_zone {
        char *name;
        cw_tz *tz; /* NULL when loading failed */
        int r;
        cw_error err;
} cfg_zone;

/* What a cw_config really is: the public part first, so a cw_config
 * pointer is the private object. */
typedef struct cfg_priv {
        cw_config pub;
        /* References beyond the first (cw_config_ref); the config is freed
         * when cw_config_free is called once more than this. */
        _Atomic unsigned extra_refs;
        cw_arena arena; /* every string and string array of pub */
        cfg_map jobs;   /* job name -> index into pub.jobs */
        cfg_zone *zones;
        size_t n_zones;
        cw_timespec **specs; /* the distinct time specs the entries share */
        size_t n_specs, cap_specs;
} cfg_priv;

/* Writes "a, b, c" (cut to fit) into buf. */
void cfg_join_names(const cw_strv *sv, char *buf, size_t size);

/* ---- the state of one load (config_loader.c) ---- */

/* What the line the reader just handed to inih is (config_read.c). */
typedef enum cfg_line_kind {
        CFG_LINE_SKIP, /* nothing for the handler (blank, comment, header, error) */
        CFG_LINE_KEY,
        CFG_LINE_CONT,
        CFG_LINE_LONG_KEY,  /* too long: the handler records a broken key */
        CFG_LINE_LONG_CONT, /* too long: the handler marks the current key broken */
} cfg_line_kind;

typedef struct cfg_section {
        char *name;  /* job name for [job NAME], in the config's arena */
        cfg_kv *kvs; /* n_kvs values in one block (config_read.c, section_close), or NULL */
        uint32_t n_kvs;
        uint32_t job; /* [job NAME]: index into cw_config.jobs */
        int line;
        cfg_section_kind kind;
} cfg_section;

/* A value of the section being read, until the section is closed: its
 * lines are parts first_part.. of open_parts, their text in open_text. */
typedef struct cfg_open_kv {
        const cfg_key *key;
        size_t first_part, n_parts;
        size_t len; /* of the joined value */
        int line;
        bool broken;
} cfg_open_kv;

typedef struct cfg_open_part {
        size_t off, len; /* in open_text */
        int line;
} cfg_open_part;

typedef struct cfg_msg {
        int line;
        size_t seq;
        char *text;
} cfg_msg;

struct cfg_loader {
        const char *file;
        const char *zoneinfo_dir;
        cw_time now;
        cw_config_function_lookup function; /* cw_config_opts's */
        const void *function_userdata;

        const char *text;
        size_t len, pos;
        int lineno;

        /* What the line just handed to inih is, for the handler. */
        cfg_line_kind kind;
        bool bom; /* line 1: hand inih a byte-order mark to remove */
        char *long_name;
        /* Mirrors inih's "previous key" (non-empty prev_name). */
        bool have_prev;
        /* Index of the key continuations extend in the current section, -1 none. */
        long prev_kv;

        cfg_section *sections;
        size_t n_sections, cap_sections;
        cfg_section_kind cur_kind;
        size_t cur;
        /* The values of sections[cur] while it is read (config_read.c, section_close). */
        bool open;
        cfg_open_kv *open_kvs;
        size_t n_open_kvs, cap_open_kvs;
        cfg_open_part *open_parts;
        size_t n_open_parts, cap_open_parts;
        char *open_text;
        size_t n_open_text, cap_open_text;
        size_t n_schedule_keys;      /* schedule= and run= lines, to size the entries */
        int key_line[CFG_K__MAX];    /* in the current section */
        int kind_line[CFG_SEC__MAX]; /* first header of [cronwarden], [admin], [defaults] */
        cfg_map section_names;       /* job name -> section index, then job index */
        size_t n_job_sections;

        cfg_msg *msgs;
        size_t n_msgs, n_dropped, seq;
        bool enomem;

        cfg_env_seen env_seen;
        int *after_line; /* per job: line of its after= key */
        size_t cap_entries;
        cfg_map spec_set; /* distinct time specs: index into cfg->specs */
        char *empty;      /* "" in the arena, shared by every job's description */
        cfg_priv *cfg;
};

/* Frees a section's values once pass two no longer needs them. */
void cfg_section_release_values(cfg_section *s);
/* Frees everything L holds, the config being built included. */
void cfg_loader_release(cfg_loader *L);
/* Forgets the env= keys seen, at the start of a section. */
void cfg_env_seen_reset(cfg_loader *L);
/* Moves the messages, sorted by line, to the end of errs (may be NULL). */
int cfg_flush_errors(cfg_loader *L, cw_config_errors *errs);
/* Appends text (taken; NULL: -ENOMEM) to errs (may be NULL: dropped). */
int cfg_errs_add(cw_config_errors *errs, char *text);
/* The absolute directory of the file called name, in the arena. */
int cfg_dir_of(cfg_loader *L, const char *name, char **ret);
/* Adds an already loaded zone (the system's; taken) to the config. */
int cfg_zone_adopt(cfg_loader *L, cw_tz *tz);

/* ---- the passes ---- */

/* White space as inih sees it. */
static inline bool cfg_ini_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Pass one (config_read.c): reads L->text with libinih into L->sections.
 * Returns inih's result (0, or the first line it could not parse);
 * problems are recorded, running out of memory sets L->enomem. */
int cfg_read(cfg_loader *L);

/* Pass two (config_jobs.c): [cronwarden] and [admin], then [defaults],
 * the jobs and the [schedule] lines. 0, or -ENOMEM; problems are
 * recorded. */
int cfg_load_global(cfg_loader *L);
int cfg_load_jobs(cfg_loader *L);

/* config_schedule.c: a schedule entry of job number job for js (whose
 * canonical text is spec_text, both in the arena) firing at the time spec
 * ts_text, which starts at ts_off in full_text (the value shown under
 * error carets), reported as key at line; and one `run =` line of
 * [schedule]. 0, -EINVAL (recorded) or -ENOMEM. */
int cfg_add_entry(cfg_loader *L, size_t job, cw_jobspec *js, char *spec_text, const char *ts_text,
                  size_t ts_off, const char *full_text, const char *key, int line);
int cfg_add_run(cfg_loader *L, const cfg_kv *kv);

/* config_maint.c: the [maintenance NAME] sections, after the jobs (their
 * `jobs` name them), into cw_config.maintenance; and the job key
 * during_maintenance. 0, or -ENOMEM; problems are recorded. */
int cfg_load_maintenance(cfg_loader *L);
int cfg_apply_during_maintenance(cfg_loader *L, void *obj, const cfg_kv *kv);

#endif
