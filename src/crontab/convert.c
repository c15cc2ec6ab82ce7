/* convert.c - a crontab into config sections (crontab.h): the converter
 * behind `cronwarden import-crontab`.
 *
 * Each entry becomes a [job NAME] with `command` and `schedule`; the
 * environment lines before the first entry become [defaults] (`env`,
 * `timezone` from CRON_TZ or TZ), and later ones become per-job `env` or
 * `timezone` lines, since cron applies an assignment to the entries below
 * it only. The output is meant to pass `cronwarden check` unchanged, so
 * every value is written the way the config loader reads it back
 * (docs/config.md):
 *
 *   - Physical lines stay far below libinih's 198-byte limit: a long value
 *     is cut at single spaces onto indented continuation lines (the parser
 *     joins them with single spaces), never where the next piece would
 *     read as a comment ('#', ';') or a section header ('[').
 *   - " ;" (white space, then ';') starts an inline comment, so no value
 *     may contain it; commands are rewritten so they do not (shell.c), and
 *     a line that cannot be is skipped.
 *   - A command with shell syntax gets shell = yes (shell.c), as cron ran
 *     every command with /bin/sh.
 *   - cron's % (standard input) cannot be kept, as jobs have no stdin: the
 *     job keeps the command before the % and a NOTE comment quotes the
 *     input for a human to review.
 *
 * Lines that cannot be converted are reported in the result (line, why)
 * and skipped. Output and diagnostics are built in memory (cw_buf, with a
 * hard maximum) and handed to the caller; nothing is printed. */
#include "crontab/crontab.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/buf.h"
#include "base/strv.h"
#include "config/argv.h"
#include "crontab/crontab_internal.h"
#include "jobspec/jobspec.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

/* Physical output lines are kept to this (the config loader allows 198). */
#define IMP_OUT_MAX 160
#define IMP_INDENT "    "

/* ---- values as the config file reads them ---- */

/* A variable name env = accepts: letters, digits and '_', no digit first. */
static bool env_key_valid(const char *s)
{
        if (!ct_alpha(s[0]) && s[0] != '_')
                return false;
        for (s++; *s; s++)
                if (!ct_alpha(*s) && !ct_digit(*s) && *s != '_')
                        return false;
        return true;
}

/* A value the config loader reads back as written on one `key = value` line. */
static bool value_fits_line(const char *v)
{
        size_t n = strlen(v);

        if (n == 0 || v[0] == ';' || ct_ini_ws(v[0]) || ct_ini_ws(v[n - 1]) ||
            cw_crontab_has_control(v))
                return false;
        for (size_t i = 1; i < n; i++)
                if (v[i] == ';' && ct_ini_ws(v[i - 1]))
                        return false;
        return true;
}

/* ---- long values ---- */

/* Where a value may be cut: a single space between two non-blank bytes,
 * with nothing after it that the parser would read as a comment or a
 * section header at the start of a continuation line. */
static bool split_point(const char *v, size_t i)
{
        return v[i] == ' ' && i > 0 && !ct_ini_ws(v[i - 1]) && v[i + 1] && !ct_ini_ws(v[i + 1]) &&
               v[i + 1] != '#' && v[i + 1] != ';' && v[i + 1] != '[';
}

/* Checks that value can be written as `key = value` within IMP_OUT_MAX
 * bytes per physical line; returns 0, or -E2BIG (with *ret_word, the
 * length of the piece that cannot be cut) when it cannot. */
static int value_layout(const char *key, const char *v, cw_buf *out, size_t *ret_word)
{
        size_t n = strlen(v), start = 0, budget = IMP_OUT_MAX - strlen(key) - 3;

        while (n - start > budget) {
                size_t cut = 0;

                for (size_t i = start + budget; i > start; i--)
                        if (split_point(v, i)) {
                                cut = i;
                                break;
                        }
                if (cut == 0) {
                        size_t e = start + budget;

                        while (e < n && !split_point(v, e))
                                e++;
                        if (ret_word)
                                *ret_word = e - start;
                        return -E2BIG;
                }
                if (out)
                        cw_buf_printf(out, "%s%s%.*s\n", start == 0 ? key : IMP_INDENT,
                                      start == 0 ? " = " : "", (int)(cut - start), v + start);
                start = cut + 1;
                budget = IMP_OUT_MAX - strlen(IMP_INDENT);
        }
        if (out)
                cw_buf_printf(out, "%s%s%s\n", start == 0 ? key : IMP_INDENT,
                              start == 0 ? " = " : "", v + start);
        return 0;
}

/* A comment line's text: control bytes (a file name with a newline, an
 * escape sequence) are shown as '?'. */
static void put_comment_text(cw_buf *out, const char *s)
{
        for (; *s; s++)
                cw_buf_putc(out, ((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f ? '?' : *s);
}

/* ---- the converter ---- */

typedef struct importer {
        const cw_crontab_opts *opts;
        const char *file;   /* shown in comments */
        const char *prefix; /* never NULL */
        bool shell_all, system;
        cw_crontab_result *res; /* diagnostics and counts go here */
        bool enomem;            /* a diagnostic could not be stored (sticky) */

        cw_buf body;     /* the job sections */
        cw_strv env;     /* current KEY=VALUE assignments, in order */
        char *tz;        /* current CRON_TZ/TZ zone, or NULL */
        cw_strv def_env; /* the assignments the first entry saw */
        char *def_tz;
        bool seen_entry;
        cw_strv def_comments; /* comments for [defaults] */
        cw_strv names;        /* job names used */
        char *pending;        /* the comment line right above, or NULL */
        cw_tz *utc;
} importer;

static void importer_release(importer *im)
{
        cw_strv_release(&im->env);
        free(im->tz);
        cw_strv_release(&im->def_env);
        free(im->def_tz);
        cw_strv_release(&im->def_comments);
        cw_strv_release(&im->names);
        free(im->pending);
        cw_tz_free(im->utc);
        cw_buf_release(&im->body);
}

static void warn(importer *im, int line, bool skipped, const char *fmt, ...) _printf_(4, 5);
/* Records a skipped line or a note. Out of memory is remembered in
 * im->enomem, so callers go on and the conversion fails at its end. */
static void warn(importer *im, int line, bool skipped, const char *fmt, ...)
{
        cw_crontab_result *res = im->res;
        char *msg = NULL;
        va_list ap;
        int n;

        if (skipped)
                res->n_skipped++;
        else
                res->n_notes++;
        /* A crontab of any length may be read: keep memory bounded. */
        if (res->n_diags == CW_CRONTAB_DIAGS_MAX) {
                res->n_dropped++;
                return;
        }
        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0 || cw_array_reserve((void **)&res->diags, &res->cap_diags, res->n_diags + 1,
                                      sizeof(*res->diags), 16) < 0) {
                if (n >= 0)
                        free(msg);
                im->enomem = true;
                return;
        }
        res->diags[res->n_diags++] = (cw_crontab_diag){line, skipped, msg};
}

/* The value of key in an env list of KEY=VALUE, or NULL. */
static const char *env_get(const cw_strv *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=')
                        return env->v[i] + n + 1;
        return NULL;
}

static int env_set(cw_strv *env, const char *key, const char *value)
{
        size_t n = strlen(key);
        char *entry = NULL;

        if (asprintf(&entry, "%s=%s", key, value) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=') {
                        free(env->v[i]);
                        env->v[i] = entry;
                        return 0;
                }
        return cw_strv_consume(env, entry);
}

static int set_string(char **dst, const char *s)
{
        char *c = s ? strdup(s) : NULL;

        if (s && !c)
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

/* A comment for [defaults] before the first entry, else in place. */
static int add_comment(importer *im, const char *text)
{
        if (im->seen_entry) {
                cw_buf_puts(&im->body, "; ");
                put_comment_text(&im->body, text);
                cw_buf_puts(&im->body, "\n\n");
                return 0;
        }
        return cw_strv_push(&im->def_comments, text);
}

/* Parses `NAME = VALUE` the way cron does (either may be quoted; blanks
 * around '=' and the value are dropped; matching quotes around the value
 * are removed). Returns false when the line is not an assignment. */
static bool parse_env_line(const char *s, char **ret_key, char **ret_value)
{
        const char *k = s, *ke, *v, *ve;

        if (*k == '"' || *k == '\'') {
                ke = strchr(k + 1, *k);
                if (!ke)
                        return false;
                k++;
                s = ke + 1;
        } else {
                while (*s && !ct_blank(*s) && *s != '=')
                        s++;
                ke = s;
        }
        if (ke == k)
                return false;
        while (ct_blank(*s))
                s++;
        if (*s != '=')
                return false;
        for (v = s + 1; ct_blank(*v); v++)
                ;
        ve = v + strlen(v);
        while (ve > v && ct_blank(ve[-1]))
                ve--;
        if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
                v++;
                ve--;
        }
        *ret_key = strndup(k, (size_t)(ke - k));
        *ret_value = strndup(v, (size_t)(ve - v));
        if (!*ret_key || !*ret_value) {
                free(*ret_key);
                free(*ret_value);
                *ret_key = *ret_value = NULL;
        }
        return true;
}

static int on_env(importer *im, int line, const char *key, const char *value)
{
        cw_error err;
        char *text = NULL;
        int r;

        if (strcmp(key, "CRON_TZ") == 0 || strcmp(key, "TZ") == 0) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;

                r = cw_tz_load(value, im->opts->zoneinfo, &tz, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(im, line, true, "%s: unknown time zone '%s'", key, value);
                        return 0;
                }
                r = set_string(&im->tz, value);
                /* TZ also reached the commands' environment under cron. */
                if (r == 0 && strcmp(key, "TZ") == 0)
                        r = env_set(&im->env, key, value);
                return r;
        }
        if (strcmp(key, "MAILTO") == 0 || strcmp(key, "MAILFROM") == 0) {
                if (asprintf(&text,
                             "%s=%s (crontab line %d): cron mailed job output; cronwarden keeps "
                             "every run's output in its history and notifies differently (ping, "
                             "notify_after_failures): not imported",
                             key, value, line) < 0)
                        return -ENOMEM;
                r = add_comment(im, text);
                free(text);
                return r;
        }
        if (strcmp(key, "SHELL") == 0 && !im->shell_all) {
                if (asprintf(&text,
                             "SHELL=%s (crontab line %d): cronwarden runs shell = yes commands "
                             "with /bin/sh: not imported (--shell keeps it as an env line)",
                             value, line) < 0)
                        return -ENOMEM;
                r = add_comment(im, text);
                free(text);
                if (r == 0 && strcmp(value, "/bin/sh") != 0)
                        warn(im, line, false,
                             "SHELL=%s: commands will run with /bin/sh, check any written for %s",
                             value, cw_crontab_base_name(value));
                return r;
        }
        if (!env_key_valid(key)) {
                warn(im, line, true,
                     "environment variable '%s': expected letters, digits and '_', not "
                     "starting with a digit",
                     key);
                return 0;
        }
        if (strncmp(key, "CRONWARDEN_", 11) == 0) {
                warn(im, line, true,
                     "environment variable '%s': CRONWARDEN_ names are set by "
                     "cronwarden itself",
                     key);
                return 0;
        }
        if (asprintf(&text, "%s=%s", key, value) < 0)
                return -ENOMEM;
        if (!value_fits_line(text) || strlen(text) + 6 > IMP_OUT_MAX) {
                warn(im, line, true,
                     "environment variable '%s': its value %s cannot be written in an "
                     "env = line",
                     key,
                     cw_crontab_has_control(value)    ? "has control characters and"
                     : strlen(text) + 6 > IMP_OUT_MAX ? "is too long and"
                     : value[0] && ct_ini_ws(value[strlen(value) - 1]) ? "ends in white space and"
                                                                       : "has ' ;' and");
                free(text);
                return 0;
        }
        free(text);
        if (strcmp(key, "SHELL") == 0 && strcmp(value, "/bin/sh") != 0)
                warn(im, line, false,
                     "SHELL=%s: kept as an env line, but commands run with /bin/sh", value);
        return env_set(&im->env, key, value);
}

/* Writes `description = TEXT` (continued as needed) for a comment's text:
 * blanks folded, control bytes dropped, " ;" closed up. A text with no
 * space to cut at stays a comment. */
static void put_description(cw_buf *out, const char *text)
{
        /* Bounded by the crontab line it comes from. */
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(0);
        const char *v;

        for (const char *p = text; *p; p++) {
                char c = *p;

                if (((unsigned char)c < ' ' && c != '\t') || c == 0x7f)
                        continue;
                if (ct_ini_ws(c)) {
                        if (b.len > 0 && cw_buf_last(&b) != ' ')
                                cw_buf_putc(&b, ' ');
                        continue;
                }
                if (c == ';' && cw_buf_last(&b) == ' ')
                        cw_buf_truncate(&b, b.len - 1);
                if (c == ';' && b.len == 0)
                        continue;
                cw_buf_putc(&b, c);
        }
        while (cw_buf_last(&b) == ' ')
                cw_buf_truncate(&b, b.len - 1);
        if (cw_buf_error(&b) < 0 || b.len == 0)
                return;
        v = b.p;
        /* A text without spaces to cut at stays a comment. */
        if (value_layout("description", v, NULL, NULL) == 0) {
                value_layout("description", v, out, NULL);
        } else {
                cw_buf_puts(out, "; description: ");
                put_comment_text(out, v);
                cw_buf_putc(out, '\n');
        }
}

/* A comment that is cron's column legend, not a description. */
static bool is_legend(const char *s)
{
        static const char *const words[] = {"m", "h", "dom", "mon", "dow"};
        const char *p = s;

        for (size_t i = 0; i < CW_ARRAY_SIZE(words); i++) {
                size_t n = strlen(words[i]);

                while (ct_blank(*p))
                        p++;
                if (strncmp(p, words[i], n) != 0 || (p[n] && !ct_blank(p[n])))
                        return false;
                p += n;
        }
        return true;
}

/* A comment that is a commented-out entry or assignment, not prose:
 * "#0 5 * * * backup", "#@daily backup", "#PATH=/bin". */
static bool looks_like_entry(const char *s)
{
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(0);
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        char *k = NULL, *v = NULL;
        const char *p = s;
        cw_error err;
        bool env;

        if (*s == '@')
                return true;
        env = parse_env_line(s, &k, &v) && k && !strchr(k, ' ');
        free(k);
        free(v);
        if (env)
                return true;
        for (int f = 0; f < 5; f++) {
                const char *e;

                while (ct_blank(*p))
                        p++;
                for (e = p; *e && !ct_blank(*e); e++)
                        ;
                if (e == p)
                        return false;
                if (f > 0)
                        cw_buf_putc(&b, ' ');
                cw_buf_add(&b, p, (size_t)(e - p));
                p = e;
        }
        return cw_buf_error(&b) == 0 && cw_timespec_parse(b.p, NULL, &ts, &err) == 0;
}

static int make_name(importer *im, const char *cmd, char *name, size_t size)
{
        char base[CW_JOBSPEC_NAME_MAX + 1];

        cw_crontab_derive_name(cmd, im->prefix, base, sizeof(base));
        snprintf(name, size, "%s", base);
        for (unsigned k = 2;
             k < 1000000 && (cw_strv_find(&im->names, name) >= 0 || !cw_jobspec_name_valid(name));
             k++)
                snprintf(name, size, "%s-%u", base, k);
        return cw_strv_push(&im->names, name);
}

/* ---- entries ---- */

static bool is_macro(const char *w)
{
        static const char *const macros[] = {"@reboot", "@yearly", "@annually", "@monthly",
                                             "@weekly", "@daily",  "@midnight", "@hourly"};

        for (size_t i = 0; i < CW_ARRAY_SIZE(macros); i++)
                if (strcmp(w, macros[i]) == 0)
                        return true;
        return false;
}

/* Reads an entry's schedule (an @macro, or 5 time fields joined by single
 * spaces) at *p into *ret and moves *p past it. Returns 0, 1 when the
 * line was reported and skipped, or -ENOMEM. */
static int take_schedule(importer *im, int line, const char **p, char **ret)
{
        /* Bounded by the crontab line it comes from. */
        _cleanup_(cw_buf_release) cw_buf sb = CW_BUF_INIT(0);
        const char *q = *p, *e;

        if (*q == '@') {
                for (e = q; *e && !ct_blank(*e); e++)
                        ;
                cw_buf_add(&sb, q, (size_t)(e - q));
                if (cw_buf_error(&sb) < 0)
                        return cw_buf_error(&sb);
                if (!is_macro(sb.p)) {
                        warn(im, line, true,
                             "unknown macro '%s' (expected @reboot, @yearly, @annually, "
                             "@monthly, @weekly, @daily, @midnight or @hourly)",
                             sb.p);
                        return 1;
                }
                q = e;
        } else {
                for (int f = 0; f < 5; f++) {
                        while (ct_blank(*q))
                                q++;
                        if (!*q) {
                                warn(im, line, true,
                                     "expected 5 time fields and a command, got %d field%s", f,
                                     f == 1 ? "" : "s");
                                return 1;
                        }
                        for (e = q; *e && !ct_blank(*e); e++)
                                ;
                        if (f > 0)
                                cw_buf_putc(&sb, ' ');
                        cw_buf_add(&sb, q, (size_t)(e - q));
                        q = e;
                }
                if (cw_buf_error(&sb) < 0)
                        return cw_buf_error(&sb);
        }
        *p = q;
        *ret = cw_buf_steal(&sb, NULL);
        return *ret ? 0 : -ENOMEM;
}

/* With --system, reads the user field at *p into *ret and moves *p past
 * it (the blanks after it included). Same returns as take_schedule. */
static int take_user(importer *im, int line, const char **p, char **ret)
{
        const char *q = *p, *e = *p;

        while (*e && !ct_blank(*e))
                e++;
        *ret = strndup(q, (size_t)(e - q));
        if (!*ret)
                return -ENOMEM;
        while (ct_blank(*e))
                e++;
        *p = e;
        if (!*e)
                return 0; /* reported as a missing command */
        if (!cw_crontab_user_name_valid(q, strlen(*ret))) {
                warn(im, line, true, "--system: expected a user name in the 6th field, got '%s'",
                     *ret);
                return 1;
        }
        return 0;
}

/* Whether the schedule fires at all from now on. Same returns as
 * take_schedule. */
static int check_schedule(importer *im, int line, const char *spec)
{
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        cw_error err;
        int r;

        r = cw_timespec_parse(spec, NULL, &ts, &err);
        if (r == 0)
                r = cw_timespec_check_fires(ts, im->utc, im->opts->now, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                warn(im, line, true, "bad schedule '%s': %s", spec, err.msg);
                return 1;
        }
        return 0;
}

/* The command as the config will hold it: *ret (new string) and whether
 * it needs shell = yes. Same returns as take_schedule. */
static int take_command(importer *im, int line, const char *cmd, char **ret, bool *ret_shell)
{
        const char *why = NULL;
        size_t word = 0;
        bool shell;
        int r;

        if (cw_crontab_has_control(cmd)) {
                warn(im, line, true, "the command contains control characters");
                return 1;
        }
        shell = im->shell_all || cw_crontab_needs_shell(cmd);
        for (size_t i = 1; cmd[i] && !shell; i++)
                if (cmd[i] == ';' && ct_ini_ws(cmd[i - 1]))
                        shell = true; /* a quoted " ;": sh reads the same words */
        if (!shell) {
                _cleanup_(cw_strv_release) cw_strv words = {0};
                cw_error err;

                /* cw_crontab_needs_shell() errs towards a shell; this is the
                 * check the config loader makes, so a disagreement cannot
                 * reach the output. */
                r = cw_argv_split(cmd, CW_ARGV_REJECT_SHELL_OPS, &words, &err);
                if (r == -ENOMEM)
                        return r;
                shell = r < 0 || words.n == 0;
        }
        if (shell) {
                r = cw_crontab_shell_rewrite(cmd, ret, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(im, line, true, "cannot convert the command: %s", why);
                        return 1;
                }
        } else {
                *ret = strdup(cmd);
                if (!*ret)
                        return -ENOMEM;
        }
        if ((*ret)[0] == ';') {
                warn(im, line, true, "the command starts with ';'");
                return 1;
        }
        if (value_layout("command", *ret, NULL, &word) < 0) {
                warn(im, line, true,
                     "the command has %zu bytes without a space to cut at: too long for a "
                     "config line (at most %d bytes here), even continued",
                     word, IMP_OUT_MAX);
                return 1;
        }
        *ret_shell = shell;
        return 0;
}

/* What one converted entry is made of. */
typedef struct entry {
        int line;
        const char *raw;     /* the crontab line */
        const char *spec;    /* its schedule */
        const char *user;    /* --system: its user, or NULL */
        const char *command; /* as the config holds it */
        bool shell;
        const char *stdin_text; /* what cron fed its standard input, or NULL */
} entry;

/* Writes the [job NAME] section of an entry, with the original line and
 * any NOTE above it. */
static int put_job(importer *im, const entry *en)
{
        char name[CW_JOBSPEC_NAME_MAX + 16];
        int r;

        if (!im->seen_entry) {
                im->seen_entry = true;
                for (size_t i = 0; i < im->env.n; i++)
                        if (cw_strv_push(&im->def_env, im->env.v[i]) < 0)
                                return -ENOMEM;
                if (set_string(&im->def_tz, im->tz) < 0)
                        return -ENOMEM;
        }
        r = make_name(im, en->command, name, sizeof(name));
        if (r < 0)
                return r;

        cw_buf_printf(&im->body, "; %s:%d: ", im->file, en->line);
        put_comment_text(&im->body, en->raw);
        cw_buf_putc(&im->body, '\n');
        if (en->stdin_text) {
                cw_buf_puts(&im->body,
                            "; NOTE: cron fed the text after '%' to this command's standard "
                            "input ('%' = newline);\n"
                            ";       cronwarden gives jobs no stdin: REVIEW this job. The input "
                            "was: ");
                put_comment_text(&im->body, en->stdin_text);
                cw_buf_putc(&im->body, '\n');
                warn(im, en->line, false,
                     "'%%' gives the command standard input, which cronwarden jobs do not "
                     "have: job %s kept without it, review it",
                     name);
        }
        cw_buf_printf(&im->body, "[job %s]\n", name);
        if (im->pending) {
                put_description(&im->body, im->pending);
                free(im->pending);
                im->pending = NULL;
        }
        value_layout("command", en->command, &im->body, NULL);
        if (en->shell)
                cw_buf_puts(&im->body, "shell = yes\n");
        cw_buf_printf(&im->body, "schedule = %s\n", en->spec);
        if (en->user)
                cw_buf_printf(&im->body, "run_as = %s\n", en->user);
        if (im->tz && (!im->def_tz || strcmp(im->tz, im->def_tz) != 0))
                cw_buf_printf(&im->body, "timezone = %s\n", im->tz);
        for (size_t i = 0; i < im->env.n; i++) {
                const char *eq = strchr(im->env.v[i], '=');
                _cleanup_free_ char *key = strndup(im->env.v[i], (size_t)(eq - im->env.v[i]));
                const char *dv;

                if (!key)
                        return -ENOMEM;
                dv = env_get(&im->def_env, key);
                if (!dv || strcmp(dv, eq + 1) != 0)
                        cw_buf_printf(&im->body, "env = %s\n", im->env.v[i]);
        }
        cw_buf_putc(&im->body, '\n');
        im->res->n_jobs++;
        return 0;
}

/* A user's crontab has no user column: a line that has one is from a
 * system crontab, and converting it would make a job run `USER COMMAND`.
 * Returns 0, or -EINVAL with the result saying why. */
static int refuse_user_column(importer *im, int line, const char *rest)
{
        char user[64];

        if (!cw_crontab_user_column(rest, env_get(&im->env, "PATH"), im->opts->user_known,
                                    im->opts->userdata, user, sizeof(user)))
                return 0;
        im->res->error_line = line;
        snprintf(im->res->error, sizeof(im->res->error),
                 "'%s' after the schedule is the user column of a system crontab "
                 "(/etc/crontab, /etc/cron.d/*): import it with --system, which makes the "
                 "user run_as",
                 user);
        return -EINVAL;
}

/* An entry line (s: raw without its leading blanks). Returns 0 (converted
 * or skipped), -EINVAL (conversion stopped: im->res says why), -ENOMEM. */
static int on_entry(importer *im, int line, const char *raw, const char *s)
{
        _cleanup_free_ char *spec = NULL, *user = NULL, *cmd = NULL, *final = NULL;
        const char *p = s, *stdin_text = NULL;
        bool shell = false;
        int r;

        r = take_schedule(im, line, &p, &spec);
        if (r != 0)
                return r < 0 ? r : 0;
        while (ct_blank(*p))
                p++;
        if (im->system && *p) {
                r = take_user(im, line, &p, &user);
                if (r != 0)
                        return r < 0 ? r : 0;
        } else if (*p) {
                r = refuse_user_column(im, line, p);
                if (r < 0)
                        return r;
        }
        if (!*p) {
                warn(im, line, true, "missing command after the schedule '%s'%s", spec,
                     im->system ? " and the user" : "");
                return 0;
        }
        r = check_schedule(im, line, spec);
        if (r != 0)
                return r < 0 ? r : 0;
        cmd = cw_crontab_split_percent(p, &stdin_text);
        if (!cmd)
                return -ENOMEM;
        if (!cmd[0]) {
                warn(im, line, true,
                     "the command is empty before its first '%%' (cron's "
                     "standard input)");
                return 0;
        }
        r = take_command(im, line, cmd, &final, &shell);
        if (r != 0)
                return r < 0 ? r : 0;
        return put_job(im, &(entry){line, raw, spec, user, final, shell, stdin_text});
}

static int on_line(importer *im, int line, const char *raw)
{
        const char *s = raw;
        char *key = NULL, *value = NULL;
        int r;

        while (ct_blank(*s))
                s++;
        if (!*s) {
                free(im->pending);
                im->pending = NULL;
                return 0;
        }
        if (*s == '#') {
                free(im->pending);
                im->pending = NULL;
                for (s++; ct_blank(*s) || *s == '#'; s++)
                        ;
                if (*s && !is_legend(s) && !looks_like_entry(s) && !(im->pending = strdup(s)))
                        return -ENOMEM;
                return 0;
        }
        if (parse_env_line(s, &key, &value)) {
                free(im->pending);
                im->pending = NULL;
                if (!key)
                        return -ENOMEM;
                r = on_env(im, line, key, value);
                free(key);
                free(value);
                return r;
        }
        r = on_entry(im, line, raw, s);
        free(im->pending);
        im->pending = NULL;
        return r;
}

/* Reads one line into b (without its newline; a trailing CR dropped).
 * Returns 1, 0 at end of file, -E2BIG for a line longer than
 * CW_CRONTAB_LINE_MAX (consumed and dropped) or one with a NUL byte, or
 * -ENOMEM. */
static int read_line(FILE *f, cw_buf *b)
{
        bool any = false, nul = false;
        int c;

        cw_buf_reset(b);
        while ((c = getc(f)) != EOF) {
                any = true;
                if (c == '\n')
                        break;
                if (c == '\0')
                        nul = true;
                else
                        cw_buf_putc(b, (char)c); /* past the maximum: -E2BIG, kept */
        }
        if (!any)
                return 0;
        if (cw_buf_error(b) == -ENOMEM)
                return -ENOMEM;
        if (cw_buf_error(b) < 0 || nul)
                return -E2BIG;
        if (cw_buf_last(b) == '\r')
                cw_buf_truncate(b, b->len - 1);
        cw_buf_puts(b, ""); /* allocated even when empty */
        return cw_buf_error(b) < 0 ? cw_buf_error(b) : 1;
}

static int convert_lines(importer *im, FILE *in)
{
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(CW_CRONTAB_LINE_MAX);
        int line = 0, r;

        for (;;) {
                r = read_line(in, &b);
                if (r == 0 || r == -ENOMEM)
                        break;
                line++;
                if (r < 0) {
                        warn(im, line, true, "line longer than %d bytes or with a NUL byte",
                             CW_CRONTAB_LINE_MAX);
                        continue;
                }
                /* A byte-order mark is not part of the first line. */
                r = on_line(im, line,
                            line == 1 && strncmp(b.p, "\xef\xbb\xbf", 3) == 0 ? b.p + 3 : b.p);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return ferror(in) ? -EIO : 0;
}

/* The whole config: a header, [defaults], then the job sections. */
static int put_output(importer *im, cw_buf *out)
{
        const cw_strv *env = im->seen_entry ? &im->def_env : &im->env;
        const char *tz = im->seen_entry ? im->def_tz : im->tz;

        cw_buf_puts(out, "; Converted from the crontab ");
        put_comment_text(out, im->file);
        cw_buf_puts(out, " by 'cronwarden import-crontab'.\n"
                         "; Check it with 'cronwarden --config FILE check' and read the NOTE "
                         "comments.\n"
                         "[cronwarden]\n\n");
        if (env->n > 0 || tz || im->def_comments.n > 0) {
                cw_buf_puts(out, "[defaults]\n");
                for (size_t i = 0; i < im->def_comments.n; i++) {
                        cw_buf_puts(out, "; ");
                        put_comment_text(out, im->def_comments.v[i]);
                        cw_buf_putc(out, '\n');
                }
                if (tz)
                        cw_buf_printf(out, "timezone = %s\n", tz);
                for (size_t i = 0; i < env->n; i++)
                        cw_buf_printf(out, "env = %s\n", env->v[i]);
                cw_buf_putc(out, '\n');
        }
        if (im->body.len)
                cw_buf_add(out, im->body.p, im->body.len);
        return cw_buf_error(out);
}

static int buf_fail(int r)
{
        return r == -E2BIG ? -EFBIG : r;
}

int cw_crontab_convert(FILE *in, const cw_crontab_opts *opts, cw_crontab_result *ret)
{
        _cleanup_(importer_release) importer im = {
                .opts = opts,
                .file = opts->file ? opts->file : "<stdin>",
                .prefix = opts->prefix ? opts->prefix : "",
                .shell_all = opts->shell_all,
                .system = opts->system,
                .res = ret,
                .body = CW_BUF_INIT(CW_CRONTAB_OUTPUT_MAX),
        };
        _cleanup_(cw_buf_release) cw_buf out = CW_BUF_INIT(CW_CRONTAB_OUTPUT_MAX);
        int r;

        *ret = (cw_crontab_result){0};
        im.utc = cw_tz_utc();
        if (!im.utc)
                return -ENOMEM;
        r = convert_lines(&im, in);
        if (r == 0 && im.enomem)
                r = -ENOMEM;
        if (r == 0)
                r = buf_fail(cw_buf_error(&im.body));
        if (r == 0)
                r = buf_fail(put_output(&im, &out));
        if (r < 0)
                return r;
        ret->text = cw_buf_steal(&out, &ret->len);
        return ret->text ? 0 : -ENOMEM;
}

void cw_crontab_result_release(cw_crontab_result *res)
{
        for (size_t i = 0; i < res->n_diags; i++)
                free(res->diags[i].msg);
        free(res->diags);
        free(res->text);
        *res = (cw_crontab_result){0};
}

bool cw_crontab_prefix_valid(const char *prefix)
{
        char probe[CW_CRONTAB_PREFIX_MAX + 2];

        if (strlen(prefix) > CW_CRONTAB_PREFIX_MAX || strchr(prefix, '.'))
                return false;
        snprintf(probe, sizeof(probe), "%sx", prefix);
        return cw_jobspec_name_valid(probe);
}
