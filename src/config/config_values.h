/* config_values.h - configuration values parsed by kind (config_values.c),
 * the pieces the key table of config_keys.c is built from. Private to
 * src/config/.
 *
 * An applier (cfg_apply_fn) validates kv's whole value, then stores it
 * into obj (a cw_config or cw_job) at the field its key names
 * (cfg_key.offset, bounded by .min and .max where it has a range), in the
 * config's arena. It returns 0, -EINVAL after recording the problem with
 * cw_config_error(), or -ENOMEM; a rejected value leaves the field as it
 * was. */
#ifndef CW_CONFIG_CONFIG_VALUES_H
#define CW_CONFIG_CONFIG_VALUES_H

#include <stdbool.h>

#include "config_internal.h"

/* ---- names ---- */

bool cfg_is_digit(char c);
bool cfg_is_alnum(char c);
/* True when s holds a control byte or a space; the second lets tabs and
 * spaces pass. */
bool cfg_has_control_or_space(const char *s);
bool cfg_has_control(const char *s);
/* [A-Za-z_][A-Za-z0-9_-]*, at most 128 bytes: param names. */
bool cfg_is_identifier(const char *s);
/* [A-Za-z_][A-Za-z0-9_]*: environment variable names. */
bool cfg_is_env_key(const char *s);
/* A node name: letters, digits, '_', '.' and '-', 1 to 255 bytes. */
bool cfg_is_node_name(const char *s);
/* User names as useradd(8) accepts them, plus '.' (common on other
 * systems); not checked against the passwd database, since a config is
 * often checked on a machine without the user. */
bool cfg_is_user_name(const char *s);

/* ---- numbers and fields ---- */

/* Strict integer: optional sign, digits, nothing else. */
bool cfg_parse_ll(const char *s, long long *ret);
/* The field of obj that key k stores into (k->offset). */
void *cfg_field(void *obj, const cfg_key *k);
/* Points *dst at a copy of v in the config's arena. The old value is
 * not freed: it is in the arena too, maybe shared with [defaults]. */
int cfg_set_string(cfg_loader *L, char **dst, const char *v);
/* An integer within the key's [min, max] into *ret (no field). */
int cfg_parse_int_range(cfg_loader *L, const cfg_kv *kv, int *ret);

/* ---- appliers by kind ---- */

int cfg_apply_bool(cfg_loader *L, void *obj, const cfg_kv *kv);
/* cw_job keeps its flags in bit-fields, which have no offset. */
int cfg_apply_shell(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_can_resume(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_enabled(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_int(cfg_loader *L, void *obj, const cfg_kv *kv);
/* A whole number stored into a uint64_t field (rlimits). */
int cfg_apply_u64(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_duration(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_size(cfg_loader *L, void *obj, const cfg_kv *kv);
/* Any text, including none (description). */
int cfg_apply_text(cfg_loader *L, void *obj, const cfg_kv *kv);
/* The command line; split into argv by config_jobs.c once `shell` is
 * known. */
int cfg_apply_command(cfg_loader *L, void *obj, const cfg_kv *kv);
/* A path, made absolute against the config file's directory. */
int cfg_apply_path(cfg_loader *L, void *obj, const cfg_kv *kv);
/* A name-like string checked by `valid`; `what` completes "expected ...". */
int cfg_apply_checked_string(cfg_loader *L, void *obj, const cfg_kv *kv,
                             bool (*valid)(const char *), const char *what);

/* Enums, read through their one string table (config.h). */
int cfg_apply_lock(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_concurrency(cfg_loader *L, void *obj, const cfg_kv *kv);
int cfg_apply_catch_up(cfg_loader *L, void *obj, const cfg_kv *kv);
/* none | idle | best-effort[:N] | realtime[:N], N from 0 to 7 (4 when
 * omitted, the kernel's default level). "none" lets a job drop an ionice
 * class set in [defaults]. */
int cfg_apply_ionice(cfg_loader *L, void *obj, const cfg_kv *kv);

/* Parses every line of kv as a list of items `valid` accepts (`what`
 * completes "expected ..."), then replaces *dst with it (or with *dst
 * followed by its new items when merge is set), in the arena. *dst itself
 * is never written through: it may be shared with [defaults]. */
int cfg_apply_list(cfg_loader *L, const cfg_kv *kv, bool (*valid)(const char *), const char *what,
                   cw_strv *dst, bool merge);

#endif
