/* jobspec.c - parsing and printing job specs (see jobspec.h).
 *
 * A single left-to-right pass over the text: the name, then, after ':',
 * comma-separated params, each an unquoted or a double-quoted value,
 * optionally preceded by `key=`. Every error carries the byte column of
 * the offending character so the fronts can put a caret under it. Params
 * are collected in a temporary array and copied into the result only when
 * the whole text is valid, so a failed parse leaves nothing behind.
 *
 * The canonical form written by cw_jobspec_format quotes exactly the values
 * that could not be written unquoted (empty ones, and those holding a
 * comma, quote, backslash, '=' or white space). Parsing the canonical text
 * gives back an equal spec, and formatting that gives the same text; the
 * fuzz target checks both properties. */
#include "jobspec.h"
#include "base/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One value being decoded: never longer than the text it comes from. */
#define VALUE_BUF_INIT CW_BUF_INIT(CW_JOBSPEC_TEXT_MAX)

static bool is_name_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || is_digit(c) || c == '.' || c == '-';
}

static bool is_key_char(char c)
{
        return is_name_start(c) || is_digit(c) || c == '-';
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_control(char c)
{
        return ((unsigned char)c < 0x20 && !is_space(c)) || c == 0x7f;
}

/* True for bytes that end or break an unquoted value. */
static bool value_needs_quotes_char(char c)
{
        return c == ',' || c == '"' || c == '\\' || c == '=' || is_space(c);
}

/* A short, printable description of byte c for messages. */
static const char *describe_char(char c, char out[8])
{
        if (c == ' ')
                return "space";
        if (c == '\t')
                return "tab";
        if ((unsigned char)c < 0x20 || c == 0x7f) {
                snprintf(out, 8, "\\x%02x", (unsigned char)c);
                return out;
        }
        snprintf(out, 8, "'%c'", c);
        return out;
}

bool cw_jobspec_name_valid(const char *name)
{
        size_t i;

        if (!name || !is_name_start(name[0]))
                return false;
        for (i = 1; name[i]; i++)
                if (!is_name_char(name[i]))
                        return false;
        return i <= CW_JOBSPEC_NAME_MAX;
}

static void params_free(cw_param *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(p[i].key);
                free(p[i].value);
        }
        free(p);
}

void cw_jobspec_free(cw_jobspec *js)
{
        if (!js)
                return;
        free(js->name);
        params_free(js->params, js->n_params);
        free(js);
}

/* Parses a double-quoted value starting at text[*i] == '"' into b;
 * leaves *i after the closing quote. */
static int parse_quoted(const char *text, size_t *i, cw_buf *b, cw_error *err)
{
        size_t open = *i, j = *i + 1;
        char d[8];

        for (;;) {
                char c = text[j];

                if (c == '\0')
                        return cw_error_set(
                                err, (int)open, (int)(j - open),
                                "unterminated quote: a value opened with '\"' needs a closing '\"'");
                if (c == '"')
                        break;
                if (c == '\\') {
                        char e = text[j + 1];

                        if (e != '"' && e != '\\') {
                                if (e == '\0')
                                        return cw_error_set(
                                                err, (int)j, 1,
                                                "unterminated quote: '\\' at the end of the spec");
                                if ((unsigned char)e > ' ' && e != 0x7f)
                                        return cw_error_set(
                                                err, (int)j, 2,
                                                "unknown escape '\\%c' in quoted value: only \\\" and \\\\ are escapes",
                                                e);
                                return cw_error_set(
                                        err, (int)j, 2,
                                        "'\\' followed by %s in quoted value: only \\\" and \\\\ are escapes",
                                        describe_char(e, d));
                        }
                        if (cw_buf_putc(b, e) < 0)
                                return cw_buf_error(b);
                        j += 2;
                        continue;
                }
                if (is_control(c))
                        return cw_error_set(err, (int)j, 1, "control character %s in quoted value",
                                            describe_char(c, d));
                if (cw_buf_putc(b, c) < 0)
                        return cw_buf_error(b);
                j++;
        }
        *i = j + 1;
        return 0;
}

/* Parses an unquoted run of value bytes at text[*i] into b, stopping at
 * ',', '=' or the end; any other byte that needs quoting is an error. */
static int parse_bare(const char *text, size_t *i, cw_buf *b, cw_error *err)
{
        size_t j = *i;
        char d[8];

        while (text[j] && text[j] != ',' && text[j] != '=') {
                char c = text[j];

                if (c == '"')
                        return cw_error_set(
                                err, (int)j, 1,
                                "unexpected '\"' inside a value: quote the whole value, as in k=\"a b\"");
                if (c == '\\')
                        return cw_error_set(
                                err, (int)j, 1,
                                "unexpected '\\' in an unquoted value: quote the value and write \\\\");
                if (is_space(c))
                        return cw_error_set(
                                err, (int)j, 1,
                                "unexpected %s in a value: quote values that contain spaces",
                                describe_char(c, d));
                if (is_control(c))
                        return cw_error_set(err, (int)j, 1, "control character %s in a value",
                                            describe_char(c, d));
                if (cw_buf_putc(b, c) < 0)
                        return cw_buf_error(b);
                j++;
        }
        *i = j;
        return 0;
}

static bool bare_is_key(const char *s)
{
        if (!is_name_start(s[0]))
                return false;
        for (size_t i = 1; s[i]; i++)
                if (!is_key_char(s[i]))
                        return false;
        return strlen(s) <= CW_JOBSPEC_NAME_MAX;
}

typedef struct parse_state {
        cw_param params[CW_JOBSPEC_PARAMS_MAX];
        int cols[CW_JOBSPEC_PARAMS_MAX]; /* column of each param's key, for duplicates */
        size_t n;
} parse_state;

static void parse_state_release(parse_state *st)
{
        for (size_t k = 0; k < st->n; k++) {
                free(st->params[k].key);
                free(st->params[k].value);
        }
        st->n = 0;
}

/* Parses one param starting at text[*i]; appends it to st. */
static int parse_param(const char *text, size_t *i, parse_state *st, bool *seen_named,
                       cw_error *err)
{
        _cleanup_free_ char *key = NULL;
        _cleanup_(cw_buf_release) cw_buf b = VALUE_BUF_INIT;
        size_t start = *i;
        char d[8];
        int r;

        if (st->n >= CW_JOBSPEC_PARAMS_MAX)
                return cw_error_set(err, (int)start, 1, "too many params (at most %d)",
                                    CW_JOBSPEC_PARAMS_MAX);
        if (text[*i] == ',' || text[*i] == '\0')
                return cw_error_set(
                        err, (int)start, 1,
                        "empty param: write \"\" for an empty value, and no ',' without a param after it");
        if (text[*i] == '=')
                return cw_error_set(err, (int)start, 1, "missing param name before '='");

        if (text[*i] == '"') {
                r = parse_quoted(text, i, &b, err);
                if (r < 0)
                        goto fail;
                if (text[*i] == '=') {
                        r = cw_error_set(
                                err, (int)start, (int)(*i - start),
                                "a quoted text cannot be a param name: write name=\"value\"");
                        goto fail;
                }
        } else {
                r = parse_bare(text, i, &b, err);
                if (r < 0)
                        goto fail;
                if (text[*i] == '=') {
                        /* What we read was the key. */
                        if (!bare_is_key(b.p)) {
                                r = cw_error_set(
                                        err, (int)start, (int)(*i - start),
                                        "invalid param name '%s': use letters, digits, '_' and '-', starting with a letter or '_'",
                                        b.p);
                                goto fail;
                        }
                        for (size_t k = 0; k < st->n; k++)
                                if (st->params[k].key && strcmp(st->params[k].key, b.p) == 0) {
                                        r = cw_error_set(
                                                err, (int)start, (int)(*i - start),
                                                "duplicate param '%s' (first given at column %d)",
                                                b.p, st->cols[k] + 1);
                                        goto fail;
                                }
                        key = cw_buf_steal(&b, NULL);
                        if (!key)
                                return -ENOMEM;
                        (*i)++;
                        if (text[*i] == '"') {
                                r = parse_quoted(text, i, &b, err);
                                if (r < 0)
                                        goto fail;
                        } else if (text[*i] == ',' || text[*i] == '\0') {
                                r = cw_error_set(
                                        err, (int)*i, 1,
                                        "missing value after '%s=': write %s=\"\" for an empty value",
                                        key, key);
                                goto fail;
                        } else {
                                r = parse_bare(text, i, &b, err);
                                if (r < 0)
                                        goto fail;
                                if (text[*i] == '=') {
                                        r = cw_error_set(
                                                err, (int)*i, 1,
                                                "unexpected '=' in the value of '%s': quote values that contain '='",
                                                key);
                                        goto fail;
                                }
                        }
                }
        }
        if (text[*i] != ',' && text[*i] != '\0') {
                r = cw_error_set(err, (int)*i, 1,
                                 "unexpected %s after the closing quote: expected ',' or the end",
                                 describe_char(text[*i], d));
                goto fail;
        }
        if (key)
                *seen_named = true;
        else if (*seen_named) {
                r = cw_error_set(
                        err, (int)start, (int)(*i - start),
                        "positional value after a key=value param: positional values come first");
                goto fail;
        }
        /* An empty quoted value still gets a string ("") of its own. */
        st->params[st->n].value = cw_buf_steal(&b, NULL);
        if (!st->params[st->n].value)
                return -ENOMEM;
        st->params[st->n].key = CW_TAKE_PTR(key);
        st->cols[st->n] = (int)start;
        st->n++;
        return 0;
fail:
        return r;
}

int cw_jobspec_parse(const char *text, cw_jobspec **ret, cw_error *err)
{
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        parse_state st;
        size_t len = strnlen(text, CW_JOBSPEC_TEXT_MAX + 1), i = 0;
        bool seen_named = false;
        char d[8];
        int r;

        cw_error_clear(err);
        if (len == 0)
                return cw_error_set(err, 0, 1, "empty job spec: expected a job name");
        if (len > CW_JOBSPEC_TEXT_MAX)
                return cw_error_set(err, CW_JOBSPEC_TEXT_MAX, 1,
                                    "job spec is too long (at most %d bytes)", CW_JOBSPEC_TEXT_MAX);
        if (text[0] == ':')
                return cw_error_set(err, 0, 1, "missing job name before ':'");
        if (!is_name_start(text[0]))
                return cw_error_set(err, 0, 1, "job name must start with a letter or '_', got %s",
                                    describe_char(text[0], d));
        while (is_name_char(text[i]))
                i++;
        if (i > CW_JOBSPEC_NAME_MAX)
                return cw_error_set(err, CW_JOBSPEC_NAME_MAX, (int)(i - CW_JOBSPEC_NAME_MAX),
                                    "job name is too long (at most %d bytes)", CW_JOBSPEC_NAME_MAX);
        if (text[i] != '\0' && text[i] != ':')
                return cw_error_set(
                        err, (int)i, 1,
                        "unexpected %s in job name: names use letters, digits, '_', '.' and '-'; params follow a ':'",
                        describe_char(text[i], d));

        js = calloc(1, sizeof(*js));
        if (!js)
                return -ENOMEM;
        js->name = strndup(text, i);
        if (!js->name)
                return -ENOMEM;

        if (text[i] == ':') {
                i++;
                if (text[i] == '\0')
                        return cw_error_set(err, (int)i - 1, 1,
                                            "missing params after ':' (drop the ':' for none)");
                st.n = 0;
                for (;;) {
                        r = parse_param(text, &i, &st, &seen_named, err);
                        if (r < 0) {
                                parse_state_release(&st);
                                return r;
                        }
                        if (text[i] == '\0')
                                break;
                        i++; /* the ',' */
                }
                js->params = calloc(st.n, sizeof(cw_param));
                if (!js->params) {
                        parse_state_release(&st);
                        return -ENOMEM;
                }
                memcpy(js->params, st.params, st.n * sizeof(cw_param));
                js->n_params = st.n;
                for (size_t k = 0; k < st.n; k++)
                        if (!st.params[k].key)
                                js->n_positional++;
        }
        *ret = CW_TAKE_PTR(js);
        return 0;
}

static bool value_needs_quotes(const char *v)
{
        if (!v[0])
                return true;
        for (size_t i = 0; v[i]; i++)
                if (value_needs_quotes_char(v[i]))
                        return true;
        return false;
}

/* Appends v, quoted when it has to be; errors stay in b (sticky). */
static void format_value(cw_buf *b, const char *v)
{
        if (!value_needs_quotes(v)) {
                cw_buf_puts(b, v);
                return;
        }
        cw_buf_putc(b, '"');
        for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                        cw_buf_putc(b, '\\');
                cw_buf_putc(b, *v);
        }
        cw_buf_putc(b, '"');
}

char *cw_jobspec_format(const cw_jobspec *js)
{
        /* No maximum: the spec's own strings bound the text. */
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(0);

        cw_buf_puts(&b, js->name);
        for (size_t k = 0; k < js->n_params; k++) {
                const cw_param *p = &js->params[k];

                cw_buf_putc(&b, k == 0 ? ':' : ',');
                if (p->key) {
                        cw_buf_puts(&b, p->key);
                        cw_buf_putc(&b, '=');
                }
                format_value(&b, p->value);
        }
        return cw_buf_error(&b) < 0 ? NULL : cw_buf_steal(&b, NULL);
}

const char *cw_jobspec_get(const cw_jobspec *js, const char *key)
{
        for (size_t k = js->n_positional; k < js->n_params; k++)
                if (js->params[k].key && strcmp(js->params[k].key, key) == 0)
                        return js->params[k].value;
        return NULL;
}
