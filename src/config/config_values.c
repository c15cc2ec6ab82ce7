/* config_values.c - a configuration value parsed and validated by its
 * kind (see config_values.h): names and identifiers, booleans, bounded
 * integers, durations and sizes, text and paths, enums through their one
 * string table, and lists over several lines. Each applier validates the
 * whole value before touching the target, so a rejected value leaves the
 * default (or the [defaults] value) in place. */
#include "config_internal.h"
#include "config_values.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/array.h"
#include "base/units.h"

static bool is_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool cfg_is_digit(char c)
{
        return c >= '0' && c <= '9';
}

bool cfg_is_alnum(char c)
{
        return is_alpha(c) || cfg_is_digit(c);
}

bool cfg_has_control_or_space(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == 0x7f)
                        return true;
        return false;
}

bool cfg_has_control(const char *s)
{
        for (; *s; s++)
                if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
                        return true;
        return false;
}

/* [A-Za-z_][A-Za-z0-9_-]*, at most 128 bytes: param names. */
bool cfg_is_identifier(const char *s)
{
        size_t i;

        if (!is_alpha(s[0]) && s[0] != '_')
                return false;
        for (i = 1; s[i]; i++)
                if (!cfg_is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
                        return false;
        return i <= CW_JOBSPEC_NAME_MAX;
}

/* [A-Za-z_][A-Za-z0-9_]*: environment variable names. */
bool cfg_is_env_key(const char *s)
{
        size_t i;

        if (!is_alpha(s[0]) && s[0] != '_')
                return false;
        for (i = 1; s[i]; i++)
                if (!cfg_is_alnum(s[i]) && s[i] != '_')
                        return false;
        return i <= 256;
}

bool cfg_is_node_name(const char *s)
{
        size_t i;

        for (i = 0; s[i]; i++)
                if (!cfg_is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return i > 0 && i <= 255;
}

/* User names as useradd(8) accepts them, plus '.' (common on other
 * systems); not checked against the passwd database, since a config is
 * often checked on a machine without the user. */
bool cfg_is_user_name(const char *s)
{
        size_t i;

        if (!is_alpha(s[0]) && s[0] != '_')
                return false;
        for (i = 1; s[i]; i++) {
                if (s[i] == '$' && s[i + 1] == '\0')
                        break;
                if (!cfg_is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        }
        return i <= 32;
}

/* Strict integer: optional sign, digits, nothing else. */
bool cfg_parse_ll(const char *s, long long *ret)
{
        const char *p = s;
        char *end;
        long long v;

        if (*p == '-' || *p == '+')
                p++;
        if (!cfg_is_digit(*p))
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return false;
        *ret = v;
        return true;
}

void *cfg_field(void *obj, const cfg_key *k)
{
        return (char *)obj + k->offset;
}

/* Points *dst at a copy of v in the config's arena. The old value is
 * not freed: it is in the arena too, maybe shared with [defaults]. */
int cfg_set_string(cfg_loader *L, char **dst, const char *v)
{
        char *s = cw_config_strdup(L, v);

        if (!s)
                return -ENOMEM;
        *dst = s;
        return 0;
}

/* ---- generic appliers ---------------------------------------------------- */

static int parse_bool(const char *v, bool *ret)
{
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < CW_ARRAY_SIZE(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_bool_kv(cfg_loader *L, const cfg_kv *kv, bool *ret)
{
        char q[CFG_QUOTE_MAX];

        if (parse_bool(kv->text, ret) < 0)
                return cw_config_error(
                        L, kv->line, "%s: expected yes or no (or true/false, on/off, 1/0), got %s",
                        kv->key->name, cw_config_quote(kv->text, q));
        return 0;
}

int cfg_apply_bool(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        bool b;
        int r = parse_bool_kv(L, kv, &b);

        if (r == 0)
                *(bool *)cfg_field(obj, kv->key) = b;
        return r;
}

/* cw_job keeps its flags in bit-fields, which have no offset. */
int cfg_apply_shell(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        bool b;
        int r = parse_bool_kv(L, kv, &b);

        if (r == 0)
                ((cw_job *)obj)->shell = b;
        return r;
}

int cfg_apply_can_resume(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        bool b;
        int r = parse_bool_kv(L, kv, &b);

        if (r == 0)
                ((cw_job *)obj)->can_resume = b;
        return r;
}

int cfg_apply_enabled(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        bool b;
        int r = parse_bool_kv(L, kv, &b);

        if (r == 0)
                ((cw_job *)obj)->enabled = b;
        return r;
}

int cfg_parse_int_range(cfg_loader *L, const cfg_kv *kv, int *ret)
{
        char q[CFG_QUOTE_MAX];
        long long v;

        if (!cfg_parse_ll(kv->text, &v) || v < kv->key->min || v > kv->key->max)
                return cw_config_error(
                        L, kv->line, "%s: expected a whole number from %lld to %lld, got %s",
                        kv->key->name, kv->key->min, kv->key->max, cw_config_quote(kv->text, q));
        *ret = (int)v;
        return 0;
}

int cfg_apply_int(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_parse_int_range(L, kv, (int *)cfg_field(obj, kv->key));
}

/* A whole number stored into a uint64_t cfg_field (rlimits). */
int cfg_apply_u64(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char q[CFG_QUOTE_MAX];
        long long v;

        if (!cfg_parse_ll(kv->text, &v) || v < kv->key->min || v > kv->key->max)
                return cw_config_error(
                        L, kv->line, "%s: expected a whole number from %lld to %lld, got %s",
                        kv->key->name, kv->key->min, kv->key->max, cw_config_quote(kv->text, q));
        *(uint64_t *)cfg_field(obj, kv->key) = (uint64_t)v;
        return 0;
}

int cfg_apply_duration(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char q[CFG_QUOTE_MAX], lim[32];
        cw_error err;
        int64_t v;

        if (cw_duration_parse(kv->text, &v, &err) < 0)
                return cw_config_error(L, kv->line, "%s: %s", kv->key->name, err.msg);
        if (v < kv->key->min) {
                cw_duration_format(kv->key->min, lim, sizeof(lim));
                return cw_config_error(L, kv->line,
                                       "%s: expected a duration of at least %s, got %s",
                                       kv->key->name, lim, cw_config_quote(kv->text, q));
        }
        if (v > kv->key->max) {
                cw_duration_format(kv->key->max, lim, sizeof(lim));
                return cw_config_error(L, kv->line, "%s: expected a duration of at most %s, got %s",
                                       kv->key->name, lim, cw_config_quote(kv->text, q));
        }
        *(cw_duration *)cfg_field(obj, kv->key) = v;
        return 0;
}

int cfg_apply_size(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char q[CFG_QUOTE_MAX], lo[32], hi[32];
        cw_error err;
        uint64_t v;

        if (cw_size_parse(kv->text, &v, &err) < 0)
                return cw_config_error(L, kv->line, "%s: %s", kv->key->name, err.msg);
        if (v < (uint64_t)kv->key->min || v > (uint64_t)kv->key->max) {
                cw_size_format((uint64_t)kv->key->min, lo, sizeof(lo));
                cw_size_format((uint64_t)kv->key->max, hi, sizeof(hi));
                return cw_config_error(L, kv->line, "%s: expected a size from %s to %s, got %s",
                                       kv->key->name, lo, hi, cw_config_quote(kv->text, q));
        }
        *(uint64_t *)cfg_field(obj, kv->key) = v;
        return 0;
}

/* Any text, including none (description). */
int cfg_apply_text(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        if (cfg_has_control(kv->text))
                return cw_config_error(L, kv->line, "%s: control characters are not allowed",
                                       kv->key->name);
        return cfg_set_string(L, (char **)cfg_field(obj, kv->key), kv->text);
}

/* The command line; split into argv by config_jobs.c once `shell` is known. */
int cfg_apply_command(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        if (!kv->text[0])
                return cw_config_error(L, kv->line, "command: expected a command line, got ''");
        return cfg_apply_text(L, obj, kv);
}

int cfg_apply_path(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char *p;

        if (!kv->text[0])
                return cw_config_error(
                        L, kv->line,
                        "%s: expected a path (absolute, or relative to the config file's directory), got ''",
                        kv->key->name);
        if (cfg_has_control(kv->text))
                return cw_config_error(L, kv->line,
                                       "%s: control characters are not allowed in a path",
                                       kv->key->name);
        p = cw_config_path_absolute(L, kv->text);
        if (!p)
                return -ENOMEM;
        *(char **)cfg_field(obj, kv->key) = p;
        return 0;
}

/* A name-like string checked by `valid`; `what` completes "expected ...". */
int cfg_apply_checked_string(cfg_loader *L, void *obj, const cfg_kv *kv,
                             bool (*valid)(const char *), const char *what)
{
        char q[CFG_QUOTE_MAX];

        if (!valid(kv->text))
                return cw_config_error(L, kv->line, "%s: expected %s, got %s", kv->key->name, what,
                                       cw_config_quote(kv->text, q));
        return cfg_set_string(L, (char **)cfg_field(obj, kv->key), kv->text);
}

/* ---- enums -------------------------------------------------------------- */

/* The one string table per enum: parsing and printing both
 * read these, indexed by the enum value. */
static const char *const lock_mode_names[] = {
        [CW_LOCK_NONE] = "none", [CW_LOCK_CLASS] = "class", [CW_LOCK_PARAMS] = "params"};
static const char *const concurrency_names[] = {[CW_CONCURRENCY_FORBID] = "forbid",
                                                [CW_CONCURRENCY_ALLOW] = "allow",
                                                [CW_CONCURRENCY_REPLACE] = "replace"};
static const char *const catch_up_names[] = {
        [CW_CATCH_UP_NONE] = "none", [CW_CATCH_UP_ONCE] = "once", [CW_CATCH_UP_ALL] = "all"};
static const char *const ionice_class_names[] = {[CW_IONICE_UNSET] = "none",
                                                 [CW_IONICE_IDLE] = "idle",
                                                 [CW_IONICE_BEST_EFFORT] = "best-effort",
                                                 [CW_IONICE_REALTIME] = "realtime"};

#define NAME_OF(table, v) ((unsigned)(v) < CW_ARRAY_SIZE(table) ? table[v] : NULL)

const char *cw_lock_mode_to_string(cw_lock_mode m)
{
        return NAME_OF(lock_mode_names, m);
}

const char *cw_concurrency_to_string(cw_concurrency c)
{
        return NAME_OF(concurrency_names, c);
}

const char *cw_catch_up_to_string(cw_catch_up c)
{
        return NAME_OF(catch_up_names, c);
}

const char *cw_ionice_class_to_string(cw_ionice_class c)
{
        return NAME_OF(ionice_class_names, c);
}

static const char *const maint_mode_names[] = {
        [CW_MAINT_SKIP] = "skip",
        [CW_MAINT_DEFER] = "defer",
};

const char *cw_maint_mode_to_string(cw_maint_mode m)
{
        return NAME_OF(maint_mode_names, m);
}

static int apply_enum(cfg_loader *L, const cfg_kv *kv, const char *const *names, size_t n, int *ret)
{
        char q[CFG_QUOTE_MAX], expected[64] = "";
        size_t len = 0;

        for (size_t i = 0; i < n; i++)
                if (strcmp(kv->text, names[i]) == 0) {
                        *ret = (int)i;
                        return 0;
                }
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(expected + len, sizeof(expected) - len, "%s%s",
                                 i == 0       ? ""
                                 : i + 1 == n ? " or "
                                              : ", ",
                                 names[i]);

                if (w > 0 && (size_t)w < sizeof(expected) - len)
                        len += (size_t)w;
        }
        return cw_config_error(L, kv->line, "%s: expected %s, got %s", kv->key->name, expected,
                               cw_config_quote(kv->text, q));
}

int cfg_apply_lock(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int v = 0, r = apply_enum(L, kv, lock_mode_names, CW_ARRAY_SIZE(lock_mode_names), &v);

        if (r == 0)
                ((cw_job *)obj)->lock = (cw_lock_mode)v;
        return r;
}

int cfg_apply_concurrency(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int v = 0, r = apply_enum(L, kv, concurrency_names, CW_ARRAY_SIZE(concurrency_names), &v);

        if (r == 0)
                ((cw_job *)obj)->concurrency = (cw_concurrency)v;
        return r;
}

int cfg_apply_during_maintenance(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int v = 0, r = apply_enum(L, kv, maint_mode_names, CW_ARRAY_SIZE(maint_mode_names), &v);

        if (r == 0)
                ((cw_job *)obj)->during_maintenance = (cw_maint_mode)v;
        return r;
}

int cfg_apply_catch_up(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int v = 0, r = apply_enum(L, kv, catch_up_names, CW_ARRAY_SIZE(catch_up_names), &v);

        if (r == 0)
                ((cw_job *)obj)->catch_up = (cw_catch_up)v;
        return r;
}

/* none | idle | best-effort[:N] | realtime[:N], N from 0 to 7 (4 when
 * omitted, the kernel's default level). "none" lets a job drop an ionice
 * class set in [defaults]. */
int cfg_apply_ionice(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const char *v = kv->text;
        char q[CFG_QUOTE_MAX];
        cw_job *job = obj;

        for (size_t i = 0; i < CW_ARRAY_SIZE(ionice_class_names); i++) {
                const char *name = ionice_class_names[i];
                size_t n = strlen(name);
                bool levels = i == CW_IONICE_BEST_EFFORT || i == CW_IONICE_REALTIME;
                int level = levels ? 4 : 0;

                if (strncmp(v, name, n) != 0 || (v[n] != '\0' && v[n] != ':'))
                        continue;
                if (v[n] == ':') {
                        if (!levels)
                                return cw_config_error(L, kv->line,
                                                       "ionice: the %s class has no level, got %s",
                                                       name, cw_config_quote(v, q));
                        if (!cfg_is_digit(v[n + 1]) || v[n + 1] > '7' || v[n + 2] != '\0')
                                return cw_config_error(
                                        L, kv->line,
                                        "ionice: expected a level from 0 to 7 after '%s:', got %s",
                                        name, cw_config_quote(v, q));
                        level = v[n + 1] - '0';
                }
                job->ionice = (cw_ionice_class)i;
                job->ionice_level = level;
                return 0;
        }
        return cw_config_error(
                L, kv->line,
                "ionice: expected idle, best-effort:N or realtime:N (N from 0 to 7), got %s",
                cw_config_quote(v, q));
}

/* ---- lists ---------------------------------------------------------------- */

/* Splits one physical line of a list: items separated by commas and/or
 * white space. A trailing comma is allowed when another line follows. */
static int parse_list_part(cfg_loader *L, const cfg_kv *kv, const cfg_part *part, bool last,
                           bool (*valid)(const char *), const char *what, cw_strv *out)
{
        const char *s = part->text;
        char q[CFG_QUOTE_MAX];
        size_t i = 0;
        bool need_item = false;

        while (s[i]) {
                size_t start, n;
                char *item;
                int r;

                while (s[i] == ' ' || s[i] == '\t')
                        i++;
                if (!s[i])
                        break;
                if (s[i] == ',')
                        return cw_config_error(
                                L, part->line,
                                "%s: empty item in list %s: separate items with one ',' or spaces",
                                kv->key->name, cw_config_quote(s, q));
                start = i;
                while (s[i] && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
                        i++;
                n = i - start;
                item = strndup(s + start, n);
                if (!item)
                        return -ENOMEM;
                if (!valid(item)) {
                        r = cw_config_error(L, part->line, "%s: expected %s, got %s", kv->key->name,
                                            what, cw_config_quote(item, q));
                        free(item);
                        return r;
                }
                if (cw_strv_find(out, item) >= 0) {
                        r = cw_config_error(L, part->line, "%s: '%s' is listed twice",
                                            kv->key->name, item);
                        free(item);
                        return r;
                }
                r = cw_strv_consume(out, item);
                if (r < 0)
                        return r;
                while (s[i] == ' ' || s[i] == '\t')
                        i++;
                need_item = false;
                if (s[i] == ',') {
                        i++;
                        need_item = true;
                }
        }
        if (need_item && last)
                return cw_config_error(L, part->line, "%s: list %s ends with ','", kv->key->name,
                                       cw_config_quote(s, q));
        return 0;
}

/* Parses every line of kv as a list into a new vector, then replaces
 * *dst with it (or with *dst followed by its new items when merge is
 * set), in the arena. *dst itself is never written through: it may be
 * shared with [defaults]. */
int cfg_apply_list(cfg_loader *L, const cfg_kv *kv, bool (*valid)(const char *), const char *what,
                   cw_strv *dst, bool merge)
{
        _cleanup_(cw_strv_release) cw_strv items = {0};
        _cleanup_free_ char **all = NULL;
        size_t n = 0;
        int r;

        for (size_t p = 0; p < kv->n_parts; p++) {
                cfg_part part = cfg_kv_part(kv, p);

                r = parse_list_part(L, kv, &part, p + 1 == kv->n_parts, valid, what, &items);
                if (r < 0)
                        return r;
        }
        if (!merge || dst->n == 0)
                return cw_config_strv_freeze(L, items.v, items.n, true, dst);
        all = calloc(dst->n + items.n + 1, sizeof(char *));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < dst->n; i++)
                all[n++] = dst->v[i];
        for (size_t i = 0; i < items.n; i++) {
                char *s;

                if (cw_strv_find(dst, items.v[i]) >= 0)
                        continue;
                s = cw_config_strdup(L, items.v[i]);
                if (!s)
                        return -ENOMEM;
                all[n++] = s;
        }
        return cw_config_strv_freeze(L, all, n, false, dst);
}
