/* name.c - a job name for a crontab command (crontab_internal.h): what
 * the entry is about, as a reader of the crontab would name it. The
 * command is split roughly into words and operators (quotes removed,
 * enough to find the program), then set-up steps (cd DIR &&, sleep N;),
 * wrappers (nice, flock LOCK, timeout 1h...) and interpreters (python3 -m
 * mod, php script.php, manage.py COMMAND) are looked through. */
#include "crontab/crontab_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/strv.h"

/* Longest program-derived part of a job name. */
#define NAME_BASE_MAX 64

/* Splits cmd roughly into words (quotes removed) and operators, enough to
 * find the program an entry is about. */
static int rough_words(const char *cmd, cw_strv *ret)
{
        /* Bounded by the crontab line it comes from. */
        _cleanup_(cw_buf_release) cw_buf w = CW_BUF_INIT(0);
        bool in_word = false;
        ct_quote q = Q_NONE;
        int r;

        for (const char *p = cmd;; p++) {
                char c = *p;
                bool op = q == Q_NONE && c && strchr(";&|()<>", c);

                if (c && q == Q_SINGLE) {
                        if (c == '\'')
                                q = Q_NONE;
                        else
                                cw_buf_putc(&w, c);
                        continue;
                }
                if (c && q == Q_DOUBLE) {
                        if (c == '"')
                                q = Q_NONE;
                        else
                                cw_buf_putc(&w, c);
                        continue;
                }
                if (!c || ct_ini_ws(c) || op) {
                        if (in_word) {
                                if (cw_buf_error(&w) < 0)
                                        return cw_buf_error(&w);
                                r = cw_strv_consume(ret, cw_buf_steal(&w, NULL));
                                if (r < 0)
                                        return r;
                                in_word = false;
                        }
                        if (op) {
                                char o[2] = {c, '\0'};

                                if (cw_strv_push(ret, o) < 0)
                                        return -ENOMEM;
                        }
                        if (!c)
                                return 0;
                        continue;
                }
                in_word = true;
                if (c == '\'')
                        q = Q_SINGLE;
                else if (c == '"')
                        q = Q_DOUBLE;
                else if (c == '\\' && p[1])
                        cw_buf_putc(&w, *++p);
                else
                        cw_buf_putc(&w, c);
        }
}

static bool word_in(const char *w, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(w, list[i]) == 0)
                        return true;
        return false;
}

static bool is_operator(const char *w)
{
        return w[0] && !w[1] && strchr(";&|()<>", w[0]);
}

const char *cw_crontab_base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s && s[1] ? s + 1 : path;
}

/* Whether w is an assignment (NAME=...), as at the start of a command. */
static bool is_assignment(const char *w)
{
        const char *eq = strchr(w, '=');

        if (!eq || eq == w || (!ct_alpha(w[0]) && w[0] != '_'))
                return false;
        for (const char *p = w; p < eq; p++)
                if (!ct_alpha(*p) && !ct_digit(*p) && *p != '_')
                        return false;
        return true;
}

/* The word of cmd that names what the entry does: past assignments,
 * set-up steps (cd DIR &&, sleep N;, test ... &&), wrappers (nice, flock
 * LOCK, timeout 1h, ...) and interpreters (python3 -m mod, php script.php,
 * manage.py COMMAND). Returns a pointer into words, or NULL. */
static const char *program_word(const cw_strv *words)
{
        static const char *const setup[] = {"cd",    "sleep",  "test",   "[", "true", ":",
                                            "umask", "export", "source", ".", "set",  "ulimit"};
        static const char *const wrappers[] = {
                "nice",    "ionice", "nohup",   "env",         "exec",      "time",
                "chronic", "cronic", "timeout", "flock",       "setlock",   "sudo",
                "run-one", "setsid", "chpst",   "systemd-cat", "caffeinate"};
        static const char *const keywords[] = {"{",    "!",     "if",    "then", "else",
                                               "elif", "while", "until", "do"};
        static const char *const with_arg[] = {"flock", "setlock", "timeout"};
        static const char *const interpreters[] = {
                "sh",   "bash", "dash", "zsh",  "ksh",    "python",  "python2", "python3",
                "perl", "ruby", "php",  "node", "nodejs", "Rscript", "lua"};
        size_t i = 0, n = words->n;

        while (i < n) {
                const char *w = words->v[i];
                const char *b = cw_crontab_base_name(w);

                if (is_operator(w) || is_assignment(w) ||
                    word_in(w, keywords, CW_ARRAY_SIZE(keywords))) {
                        /* A redirection's target is no program either. */
                        if ((w[0] == '<' || w[0] == '>') && i + 1 < n &&
                            !is_operator(words->v[i + 1]))
                                i++;
                        i++;
                        continue;
                }
                if (word_in(b, setup, CW_ARRAY_SIZE(setup))) {
                        size_t k = i + 1;

                        while (k < n &&
                               !(is_operator(words->v[k]) && strchr(";&|", words->v[k][0])))
                                k++;
                        if (k < n) {
                                i = k + 1;
                                continue;
                        }
                        return w;
                }
                if (word_in(b, wrappers, CW_ARRAY_SIZE(wrappers))) {
                        bool arg = word_in(b, with_arg, CW_ARRAY_SIZE(with_arg));

                        for (i++; i < n; i++) {
                                const char *o = words->v[i];

                                if (o[0] == '-') {
                                        /* sudo -u USER, nice -n 5, ionice -c 3 */
                                        if (!o[2] && strchr("ugnc", o[1]) && i + 1 < n)
                                                i++;
                                } else if (ct_digit(o[0]) || is_assignment(o)) {
                                        continue;
                                } else if (arg) {
                                        arg = false;
                                } else {
                                        break;
                                }
                        }
                        continue;
                }
                if (strcmp(b, "run-parts") == 0 ||
                    word_in(b, interpreters, CW_ARRAY_SIZE(interpreters)) ||
                    (strncmp(b, "python", 6) == 0 && ct_digit(b[6]))) {
                        size_t k;

                        for (k = i + 1; k < n && words->v[k][0] == '-'; k++)
                                if (strcmp(words->v[k], "-m") == 0 && k + 1 < n)
                                        return words->v[k + 1];
                        if (k >= n || is_operator(words->v[k]))
                                return w;
                        i = k;
                        w = words->v[i];
                        b = cw_crontab_base_name(w);
                }
                if ((strcmp(b, "manage.py") == 0 || strcmp(b, "django-admin") == 0) && i + 1 < n &&
                    !is_operator(words->v[i + 1]) && words->v[i + 1][0] != '-')
                        return words->v[i + 1];
                return w;
        }
        return NULL;
}

void cw_crontab_derive_name(const char *cmd, const char *prefix, char *buf, size_t size)
{
        _cleanup_(cw_strv_release) cw_strv words = {0};
        const char *prog = NULL, *b, *dot;
        size_t n = 0, blen;

        if (rough_words(cmd, &words) == 0)
                prog = program_word(&words);
        b = prog ? cw_crontab_base_name(prog) : "job";
        blen = strlen(b);
        dot = strrchr(b, '.');
        if (dot && dot > b && strlen(dot) >= 2 && strlen(dot) <= 5)
                blen = (size_t)(dot - b);
        n = (size_t)snprintf(buf, size, "%s", prefix);
        if (n >= size)
                n = size - 1;
        if (n == 0 && blen > 0 && !ct_alpha(b[0]) && b[0] != '_')
                n = (size_t)snprintf(buf, size, "job_");
        for (size_t i = 0; i < blen && i < NAME_BASE_MAX && n + 1 < size; i++) {
                char c = b[i];

                if (!ct_alpha(c) && !ct_digit(c) && c != '-')
                        c = '_';
                if (c == '_' && n > 0 && buf[n - 1] == '_')
                        continue;
                buf[n++] = c;
        }
        while (n > strlen(prefix) && (buf[n - 1] == '_' || buf[n - 1] == '-'))
                n--;
        if (n == strlen(prefix))
                n += (size_t)snprintf(buf + n, size - n, "job");
        buf[n] = '\0';
}