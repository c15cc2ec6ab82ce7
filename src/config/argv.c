/* argv.c - shell-like word splitting without a shell (see argv.h).
 *
 * One pass with three states (outside quotes, inside '...', inside "...").
 * A word is "open" from its first byte, quoted or not, so "" yields an
 * empty word while plain white space yields none. Words are collected in a
 * local vector and moved into the caller's only when the whole line is
 * valid. */
#include "argv.h"
#include "base/array.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct word {
        char *p;
        size_t n, cap;
        bool open;
} word;

static int word_putc(word *w, char c)
{
        if (cw_array_reserve((void **)&w->p, &w->cap, w->n + 2, 1, 32) < 0)
                return -ENOMEM;
        w->p[w->n++] = c;
        w->p[w->n] = '\0';
        w->open = true;
        return 0;
}

/* Moves the open word (if any) into sv. */
static int word_end(word *w, cw_strv *sv)
{
        char *s;

        if (!w->open)
                return 0;
        s = w->p ? w->p : strdup("");
        *w = (word){0};
        return cw_strv_consume(sv, s);
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int cw_argv_split(const char *s, unsigned flags, cw_strv *ret, cw_error *err)
{
        _cleanup_(cw_strv_release) cw_strv words = {0};
        word w = {0};
        size_t i = 0;
        int r;

        cw_error_clear(err);
        while (s[i]) {
                char c = s[i];

                if (is_blank(c)) {
                        r = word_end(&w, &words);
                        if (r < 0)
                                goto fail;
                        i++;
                } else if (c == '\'') {
                        size_t open = i++;

                        w.open = true;
                        while (s[i] && s[i] != '\'') {
                                r = word_putc(&w, s[i++]);
                                if (r < 0)
                                        goto fail;
                        }
                        if (!s[i]) {
                                r = cw_error_set(err, (int)open, 1, "unterminated single quote");
                                goto fail;
                        }
                        i++;
                } else if (c == '"') {
                        size_t open = i++;

                        w.open = true;
                        while (s[i] && s[i] != '"') {
                                if (s[i] == '\\' && s[i + 1] == '\n') {
                                        i += 2;
                                        continue;
                                }
                                if (s[i] == '\\' && s[i + 1] && strchr("\"\\$`", s[i + 1]))
                                        i++;
                                r = word_putc(&w, s[i++]);
                                if (r < 0)
                                        goto fail;
                        }
                        if (!s[i]) {
                                r = cw_error_set(err, (int)open, 1, "unterminated double quote");
                                goto fail;
                        }
                        i++;
                } else if (c == '\\') {
                        if (!s[i + 1]) {
                                r = cw_error_set(
                                        err, (int)i, 1,
                                        "backslash at the end of the command: it must escape something");
                                goto fail;
                        }
                        if (s[i + 1] == '\n') {
                                i += 2;
                                continue;
                        }
                        r = word_putc(&w, s[i + 1]);
                        if (r < 0)
                                goto fail;
                        i += 2;
                } else if ((flags & CW_ARGV_REJECT_SHELL_OPS) && strchr("|&;<>()$`", c)) {
                        r = cw_error_set(
                                err, (int)i, 1,
                                "'%c' would need a shell, but the command runs without one: "
                                "set shell = yes, or quote it to pass it literally",
                                c);
                        goto fail;
                } else {
                        r = word_putc(&w, c);
                        if (r < 0)
                                goto fail;
                        i++;
                }
        }
        r = word_end(&w, &words);
        if (r < 0)
                goto fail;
        if (ret->n == 0) {
                free(ret->v);
                *ret = words;
                words = (cw_strv){0};
                return 0;
        }
        for (size_t k = 0; k < words.n; k++) {
                r = cw_strv_push(ret, words.v[k]);
                if (r < 0) {
                        /* Undo the partial append so *ret is unchanged. */
                        while (k-- > 0)
                                free(ret->v[--ret->n]);
                        if (ret->v)
                                ret->v[ret->n] = NULL;
                        return r;
                }
        }
        return 0;
fail:
        free(w.p);
        return r;
}
