/* diff.h - what a reload would change (docs/running.md, "cronwarden
 * diff"): two config texts compared section by section and key by key.
 *
 * The comparison reads the texts themselves (sections, keys, values with
 * their continuation lines, comments dropped), not the loaded configs, so
 * it works when either side does not load; given the loaded configs as
 * well, a changed job schedule carries the next fires before and after.
 * Secrets never appear: password_hash and api_token values, and env
 * values whose name is in secret_env, are shown as "***". Pure: no I/O. */
#ifndef CW_CONFIG_DIFF_H
#define CW_CONFIG_DIFF_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config.h"

#define CW_DIFF_FIRES 3

/* Store state keys where the daemon records the config it runs: the
 * text's version (cw_config_version), when it was loaded (epoch seconds),
 * and the text of that load's diff against the one before. */
#define CW_STATE_CONFIG_VERSION "config_version"
#define CW_STATE_CONFIG_LOADED_AT "config_loaded_at"
#define CW_STATE_CONFIG_DIFF "config_last_diff"

typedef enum cw_diff_kind { CW_DIFF_ADDED, CW_DIFF_REMOVED, CW_DIFF_CHANGED } cw_diff_kind;

/* "added", "removed", "changed": the one string table. */
const char *cw_diff_kind_to_string(cw_diff_kind k);

typedef struct cw_diff_item {
        cw_diff_kind kind;
        char *section;   /* "job A", "cronwarden", "schedule", ... */
        char *key;       /* NULL: the whole section was added or removed */
        char *old_value; /* NULL when absent; values of a repeated key joined by '\n' */
        char *new_value;
        /* For a changed job schedule with both configs loaded: its next
         * fires under each (0 when fewer). */
        cw_time fires_old[CW_DIFF_FIRES], fires_new[CW_DIFF_FIRES];
        const cw_tz *tz_old, *tz_new; /* the job's zone in each config (owned by it) */
        bool has_fires;
} cw_diff_item;

typedef struct cw_config_diff {
        cw_diff_item *items; /* sections in the new text's order, removed ones last */
        size_t n, cap;
} cw_config_diff;

#define CW_CONFIG_DIFF_INIT                                                                        \
        {                                                                                          \
                0                                                                                  \
        }

/* Compares two config texts (len bytes each, NUL bytes end a text). Fills
 * *d (which must be empty). Returns 0, or -ENOMEM with *d released. */
int cw_config_diff_texts(const char *old_text, size_t old_len, const char *new_text, size_t new_len,
                         cw_config_diff *d);

/* Adds the next fires after now to each changed job schedule, from the
 * two loaded configs (either may be NULL: nothing is added). */
void cw_config_diff_add_fires(cw_config_diff *d, const cw_config *old_cfg, const cw_config *new_cfg,
                              cw_time now);

/* Appends the diff as text, one change a line ("+ [job D]", "- [job X]",
 * "~ [job A] timeout: 1h -> 2h", "~ [schedule] run: + VALUE") and an
 * indented "next fires" line under a schedule change; nothing for an
 * empty diff. Returns 0 or the buffer's error. */
int cw_config_diff_format(const cw_config_diff *d, cw_buf *out);

void cw_config_diff_release(cw_config_diff *d);

/* The value of key in section (as in diff items: "cronwarden",
 * "job A") of a config text, read as the comparison reads it (so also
 * from a text that does not load); NULL when absent or out of memory.
 * The caller frees it. */
char *cw_config_text_value(const char *text, size_t len, const char *section, const char *key);

/* A config text's version: 16 lowercase hex digits (FNV-1a of the bytes),
 * the same for the same text. buf holds at least CW_CONFIG_VERSION_LEN+1. */
#define CW_CONFIG_VERSION_LEN 16
void cw_config_version(const char *text, size_t len, char *buf);

#endif
