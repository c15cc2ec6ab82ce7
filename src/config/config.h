/* config.h - the configuration file (docs/config.md), loaded with libinih.
 *
 * One INI file: [cronwarden], [admin], [defaults], [job NAME]..., and
 * [schedule]. Every key is parsed and validated at load time (types,
 * durations, sizes, enums, zones, time specs, job specs, references between
 * jobs, `after=` cycles, duplicates); unknown sections and keys are errors.
 * Every diagnostic reads "FILE:LINE: KEY: what was expected, got what",
 * optionally followed by the offending value with a caret under the bad
 * part. Physical lines longer than the parser's buffer are an error naming
 * the line (never a silent cut); long values continue on indented lines.
 *
 * A loaded cw_config is immutable and owns everything it points to,
 * including the cw_tz zones its jobs use.
 *
 * Memory layout (docs/hacking.md, Quality targets: 100 000 jobs in < 64 MiB). Every string
 * and string array a cw_config, its cw_jobs and its schedule entries
 * point to lives in one arena (base/arena.h) freed at once by
 * cw_config_free: no field is ever freed, released or changed on its own,
 * and the cw_strv fields of a job do not own their strings. Values a job
 * inherits from [defaults] (lists, env, paths, the empty description) are
 * shared between the jobs, not copied. cw_job is ordered largest field
 * first, with its enums and flags in bit-fields (296 bytes on x86-64,
 * was 352; bit-fields have no address). Equal time specs (cw_timespec_equal) are
 * parsed once each and shared by the entries that use them; a plain
 * `schedule =` entry shares its job's name as spec_text. The loader keeps
 * each section's raw values in one block per section and frees a job's
 * block as soon as the job is built, so the raw file and the built config
 * are never both held whole. */
#ifndef CW_CONFIG_CONFIG_H
#define CW_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/strv.h"
#include "jobspec/jobspec.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

typedef enum cw_lock_mode { CW_LOCK_NONE, CW_LOCK_CLASS, CW_LOCK_PARAMS } cw_lock_mode;
typedef enum cw_concurrency {
        CW_CONCURRENCY_FORBID,
        CW_CONCURRENCY_ALLOW,
        CW_CONCURRENCY_REPLACE
} cw_concurrency;
typedef enum cw_catch_up { CW_CATCH_UP_NONE, CW_CATCH_UP_ONCE, CW_CATCH_UP_ALL } cw_catch_up;
/* What a job's fires inside a maintenance window become. */
typedef enum cw_maint_mode { CW_MAINT_SKIP, CW_MAINT_DEFER } cw_maint_mode;
typedef enum cw_ionice_class {
        CW_IONICE_UNSET,
        CW_IONICE_IDLE,
        CW_IONICE_BEST_EFFORT,
        CW_IONICE_REALTIME
} cw_ionice_class;

/* The one string table for each stored/printed enum (docs/hacking.md, Conventions). */
const char *cw_lock_mode_to_string(cw_lock_mode m);
const char *cw_concurrency_to_string(cw_concurrency c);
const char *cw_catch_up_to_string(cw_catch_up c);
const char *cw_ionice_class_to_string(cw_ionice_class c);
const char *cw_maint_mode_to_string(cw_maint_mode m);

typedef struct cw_job {
        char *name;
        char *description;      /* "" when unset */
        char *command;          /* the command line as written (continuations joined by ' ') */
        char *function;         /* function = NAME (an embedding program's), NULL: runs command */
        char *lock_name;        /* NULL: the job's own name */
        char *ping;             /* NULL when unset */
        char *webhook;          /* NULL when unset */
        char *sentry_dsn;       /* NULL when unset */
        cw_strv email;          /* addresses to mail; empty: none */
        char *run_as;           /* NULL when unset */
        char *workdir;          /* absolute, NULL when unset */
        char *env_file;         /* absolute, NULL when unset */
        const cw_tz *tz;        /* owned by the config */
        cw_strv argv;           /* command split with shell-like quoting (when !shell) */
        cw_strv args;           /* declared positional params, in order (all required) */
        cw_strv options;        /* declared key=value params (all optional) */
        cw_strv after;          /* job names */
        cw_strv hosts;          /* node names; empty = any */
        cw_strv env;            /* "KEY=VALUE", [defaults] first then the job's */
        cw_strv secret_env;     /* keys whose values are masked */
        cw_duration timeout;    /* 0 = none */
        cw_duration kill_grace; /* default 10s */
        cw_duration retry_delay;
        cw_duration jitter;
        cw_duration start_deadline;
        cw_duration max_runtime;
        cw_duration min_runtime;
        cw_duration limit_cpu; /* RLIMIT_CPU in seconds, 0 = unset */
        uint64_t limit_nofile; /* RLIMIT_NOFILE, 0 = unset */
        uint64_t limit_memory; /* RLIMIT_AS in bytes, 0 = unset */
        int line;              /* line of its [job NAME] header */
        int nice;              /* -20..19 */
        int ionice_level;      /* 0..7 for best-effort/realtime */
        int retries;
        int notify_after_failures;  /* default 1 */
        int disable_after_failures; /* 0 = off */
        int priority;
        cw_lock_mode lock : 2;
        cw_ionice_class ionice : 2;
        cw_concurrency concurrency : 2;
        cw_catch_up catch_up : 2;
        cw_maint_mode during_maintenance : 1;
        bool shell : 1;
        bool nice_set : 1;
        bool can_resume : 1;
        bool enabled : 1;
        bool webhook_slack : 1; /* webhook_format = slack */
} cw_job;

typedef struct cw_schedule_entry {
        size_t job; /* index into cw_config.jobs */
        cw_jobspec *spec;
        char *spec_text; /* canonical job spec (seeds H) */
        cw_timespec *when;
        int line;
        /* When this entry's text was last changed, 0 when unknown (the
         * config's own entries: the pass takes cw_sched_opts.config_at). */
        cw_time changed_at;
} cw_schedule_entry;

/* [admin] cookie_secure: whether session cookies carry Secure (auto:
 * when public_url is https). */
typedef enum cw_cookie_secure {
        CW_COOKIE_SECURE_AUTO,
        CW_COOKIE_SECURE_YES,
        CW_COOKIE_SECURE_NO,
} cw_cookie_secure;
/* A [maintenance NAME] section: a window that opens at each fire of
 * `when` (in tz) and lasts `duration`, or once from start to end; it
 * covers the instants [open, open + duration) or [start, end). */
typedef struct cw_maintenance {
        const char *name;
        cw_timespec *when; /* NULL for a one-off window */
        cw_duration duration;
        cw_time start, end; /* one-off: the window; else 0 */
        const cw_tz *tz;    /* owned by the config */
        cw_strv jobs;       /* job names; empty when all */
        bool all;
        int line;
} cw_maintenance;

typedef struct cw_config {
        char *path;      /* as given */
        char *dir;       /* directory of the file, absolute */
        char *data_dir;  /* absolute */
        char *store;     /* "sqlite" or a postgresql:// URL */
        const cw_tz *tz; /* global default zone, owned by the config */
        char *node;
        uint64_t max_output;      /* default 1MiB */
        cw_duration keep_history; /* default 90d */
        int max_running;          /* 0 = unlimited */
        double max_load;          /* 0 = off */
        /* Cluster (PostgreSQL store, docs/cluster.md): a node without a
         * heartbeat for dead_timeout (database time) is dead; one whose
         * clock is further than max_clock_offset from the database's
         * stops claiming fires; a cluster lock's lease lasts dead_timeout.
         * Defaults 30s and 2s. */
        cw_duration dead_timeout;
        cw_duration max_clock_offset;
        char *admin_listen; /* default 127.0.0.1:8080 */
        char *admin_user;
        char *admin_password_hash;
        /* [admin] api_token lines, each "NAME sha256:HEX" (HEX: 64 lowercase
         * hex digits, the SHA-256 of the token), names unique. */
        cw_strv admin_api_tokens;
        bool allow_ui_commands;
        /* [admin] trusted_proxies: addresses and CIDRs ("10.0.0.0/8",
         * "::1"), checked by the loader; none by default. */
        cw_strv admin_trusted_proxies;
        char *admin_public_url;               /* an absolute http(s) URL, or NULL */
        cw_cookie_secure admin_cookie_secure; /* default auto */
        bool metrics_job_histograms;          /* /metrics: a duration histogram per job too */
        /* [smtp]: how email notifications leave (docs/notifications.md);
         * NULL when unset. The password stays in its file, read when a
         * mail is sent. */
        char *smtp_url;
        char *smtp_from;
        char *smtp_user;
        char *smtp_password_file;
        char *smtp_subject_prefix;
        cw_job *jobs;
        size_t n_jobs;
        cw_schedule_entry *entries;
        size_t n_entries;
        cw_maintenance *maintenance; /* in config order */
        size_t n_maintenance;
        /* What every job starts as: the built-in defaults under [defaults]
         * (name and command NULL, no args, options, after or schedule; tz
         * never NULL). Jobs the admin UI creates from a free command are
         * made from it (catalog/catalog.h). */
        cw_job defaults;
} cw_config;

/* Collected diagnostics: each a complete, possibly multi-line message. */
typedef struct cw_config_errors {
        char **msgs;
        size_t n;
} cw_config_errors;

void cw_config_errors_release(cw_config_errors *e);

/* What a program that embeds cronwarden (cronwarden.h) registered under
 * a function name: a function job's section takes its description and
 * declared params from here when it sets none. Lists NULL-terminated or
 * NULL. */
typedef struct cw_config_function {
        const char *description;
        const char *const *args;
        const char *const *options;
} cw_config_function;

/* The registered function of that name, or NULL. */
typedef const cw_config_function *(*cw_config_function_lookup)(const void *userdata,
                                                               const char *name);

typedef struct cw_config_opts {
        const char *zoneinfo_dir; /* NULL = CW_TZ_DIR */
        cw_time now;              /* for "never fires" checks (NULL opts: the wall clock) */
        /* Function jobs name functions found here; NULL: this program
         * registers none, and a function job is an error. */
        cw_config_function_lookup function;
        const void *function_userdata;
} cw_config_opts;

/* Loads and validates path. Returns 0 and a new config in *ret; -EINVAL
 * with every problem found appended to errs; -ENOENT/-EACCES/... when the
 * file cannot be read (also described in errs); -ENOMEM. */
int cw_config_load(const char *path, const cw_config_opts *opts, cw_config **ret,
                   cw_config_errors *errs);

/* Same as cw_config_load for a file already in memory: text holds len
 * bytes (no NUL needed; NUL bytes are an error). name is used in messages
 * and, like a path, gives the directory relative paths are resolved
 * against. For tests, fuzzing and callers that read the file themselves. */
int cw_config_load_string(const char *name, const char *text, size_t len,
                          const cw_config_opts *opts, cw_config **ret, cw_config_errors *errs);

/* Reads a config file whole (at most 256 MiB) into a new buffer (caller
 * frees; NUL-terminated, *ret_len without the NUL). Negative errno on
 * failure (-EFBIG when too large). Lets a caller parse and keep exactly
 * the same text (the daemon's snapshot for its workers). */
int cw_config_read_file(const char *path, char **ret, size_t *ret_len);

/* A config is shared read-only between threads (the daemon and its admin
 * server) by reference counting: cw_config_ref takes one more reference
 * and returns c; cw_config_free drops one and frees the config, and
 * everything it owns, with the last (accepts NULL). Both are thread-safe;
 * nothing else in a loaded config changes. */
cw_config *cw_config_ref(const cw_config *c);
void cw_config_free(cw_config *c);
static inline void cw_config_freep(cw_config **c)
{
        cw_config_free(*c);
}

/* The config file to use: `explicit` if non-NULL, else $CRONWARDEN_CONFIG
 * if set and non-empty, else ./cronwarden.ini if it exists, else
 * /etc/cronwarden/cronwarden.ini if it exists, else NULL. env_value is the
 * value of CRONWARDEN_CONFIG (passed in: library code does not read the
 * environment). */
const char *cw_config_find(const char *explicit_path, const char *env_value);

/* Job by name, or NULL. O(1) average. */
const cw_job *cw_config_job(const cw_config *c, const char *name);

/* Which part of a schedule entry a cw_config_compile_entry() error is
 * about. */
typedef enum cw_entry_part {
        CW_ENTRY_PART_NONE,
        CW_ENTRY_PART_JOBSPEC,  /* the job spec does not parse */
        CW_ENTRY_PART_JOB,      /* no such job, or params its job does not declare */
        CW_ENTRY_PART_TIMESPEC, /* the time spec is empty, does not parse or never fires */
} cw_entry_part;

/* Compiles one schedule entry, a [schedule] `run = TIMESPEC JOBSPEC` line
 * given as its two texts, against c's jobs at instant now: the job spec
 * parsed and checked against its job's declared params
 * (cw_config_check_jobspec), then the time spec parsed with the canonical
 * job spec as its H seed and checked to fire at least once in the job's
 * zone. The config loader and the admin UI's entries (catalog/entries.h)
 * both compile entries with it. On success returns 0 and, when ret is
 * non-NULL, fills *ret (.job an index into c->jobs, .line 0, the other
 * parts newly allocated: release with cw_schedule_entry_release). On
 * failure returns -EINVAL with err->msg saying what and err->col/len into
 * the text of the part *ret_part names (a CW_ENTRY_PART_JOB error spans
 * the whole job spec), or -ENOMEM; *ret is untouched. */
int cw_config_compile_entry(const cw_config *c, const char *timespec, const char *jobspec,
                            cw_time now, cw_schedule_entry *ret, cw_entry_part *ret_part,
                            cw_error *err);

/* Frees what an entry from cw_config_compile_entry owns and zeroes it
 * (never for a loaded config's own entries, which live in its arena).
 * Accepts NULL. */
void cw_schedule_entry_release(cw_schedule_entry *e);
/* Releases n entries and frees the array. Accepts NULL. */
void cw_schedule_entries_free(cw_schedule_entry *e, size_t n);

/* Checks js against its job's declared params: known job, exactly the
 * declared positional count, only declared option keys. Returns 0 or
 * -EINVAL with err filled (column into the canonical text is not needed:
 * col = -1). */
int cw_config_check_jobspec(const cw_config *c, const cw_jobspec *js, cw_error *err);

#endif
