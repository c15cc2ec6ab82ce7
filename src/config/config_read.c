/* config_read.c - pass one of loading the configuration file: the reader
 * and the handler libinih calls (see config_internal.h).
 *
 * The file is read into memory and handed to libinih through our own
 * reader (ini_parse_stream), one physical line per call. The reader is
 * where we know what inih does not tell a handler: the physical line
 * number, whether a line is an indented continuation of the previous key,
 * the full text of a [section] header (inih keeps only 49 bytes of it) and
 * whether a line fits inih's buffer. Debian builds inih with a 200-byte
 * line buffer and silently splits longer lines; the reader measures every
 * line first and turns an overlong one into a precise "line too long"
 * error, handing inih a harmless stand-in that keeps its state (current
 * key, for continuations) the same as the real line would have. Comments
 * and indentation are not handed over, so only a line's meaningful text
 * counts against the limit. Syntax errors (no '=', unterminated header)
 * are found by the reader too, so each is reported at its own line rather
 * than only the first one inih returns.
 *
 * The reader classifies lines exactly the way inih does (a comment after
 * white space + ';', start-of-line ';' and '#' comments, continuation =
 * indented non-blank line after a key in the same section), so the
 * handler only has to ask the reader what kind of line inih is reporting;
 * a throwaway differential fuzzer checked this against inih itself. Two
 * differences are deliberate: an inline comment is removed from a
 * continuation line too (inih 55 keeps it in the value, later versions do
 * not), and an indented "[section]" line is an error read as a header
 * rather than silently appended to the previous value. */
#include "config_internal.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"

/* One value over all its continuation lines. */
#define CFG_VALUE_MAX 65536

/* Where an inline comment starts (';' after white space), or e. */
static const char *find_comment(const char *s, const char *e)
{
        for (const char *p = s; p < e; p++)
                if (*p == ';' && p > s && cfg_ini_space(p[-1]))
                        return p;
        return e;
}

/* Copies what inih should see into its buffer (which holds num bytes and
 * has room for it: callers check the length first), after a byte-order
 * mark for inih to remove when L->bom is set. */
static char *feed(const cfg_loader *L, char *str, bool indent, const char *s, size_t n)
{
        size_t k = 0;

        if (L->bom) {
                memcpy(str, "\xef\xbb\xbf", 3);
                k = 3;
        }
        if (indent)
                str[k++] = ' ';
        memcpy(str + k, s, n);
        k += n;
        str[k++] = '\n';
        str[k] = '\0';
        return str;
}

/* Section words; the first four are whole headers, "job" takes a name. */
static const char *const section_names[] = {"cronwarden", "admin", "defaults",
                                            "schedule",   "smtp",  "job"};
static const cfg_section_kind section_kinds[] = {CFG_SEC_CRONWARDEN, CFG_SEC_ADMIN,
                                                 CFG_SEC_DEFAULTS, CFG_SEC_SCHEDULE, CFG_SEC_SMTP};

static const char *kind_name(cfg_section_kind k)
{
        switch (k) {
        case CFG_SEC_CRONWARDEN:
                return "cronwarden";
        case CFG_SEC_ADMIN:
                return "admin";
        case CFG_SEC_DEFAULTS:
                return "defaults";
        case CFG_SEC_SCHEDULE:
                return "schedule";
        case CFG_SEC_SMTP:
                return "smtp";
        case CFG_SEC_MAINTENANCE:
                return "maintenance";
        default:
                return "job";
        }
}

/* Moves the values of the section being read into one block of their
 * own: the cfg_kv array, then the parts of values with several lines,
 * then every text. A job's block is freed as soon as the job is built
 * (cfg_load_jobs), so the raw values of all jobs are never held at once
 * beside the built ones, and one allocation per section keeps the
 * allocator's overhead small. */
static int section_close(cfg_loader *L)
{
        cfg_section *sec;
        size_t size, n_parts = 0, n_text = 0;
        cfg_part *parts;
        char *text;
        cfg_kv *kvs;

        if (!L->open)
                return 0;
        L->open = false;
        sec = &L->sections[L->cur];
        if (L->n_open_kvs == 0)
                return 0;
        for (size_t k = 0; k < L->n_open_kvs; k++) {
                const cfg_open_kv *o = &L->open_kvs[k];

                n_text += o->len + 1;
                if (o->n_parts > 1) {
                        n_parts += o->n_parts;
                        for (size_t p = 0; p < o->n_parts; p++)
                                n_text += L->open_parts[o->first_part + p].len + 1;
                }
        }
        size = L->n_open_kvs * sizeof(cfg_kv) + n_parts * sizeof(cfg_part) + n_text;
        kvs = malloc(size);
        if (!kvs)
                return -ENOMEM;
        parts = (cfg_part *)(kvs + L->n_open_kvs);
        text = (char *)(parts + n_parts);
        for (size_t k = 0; k < L->n_open_kvs; k++) {
                const cfg_open_kv *o = &L->open_kvs[k];
                const cfg_open_part *op = &L->open_parts[o->first_part];
                cfg_kv *kv = &kvs[k];

                *kv = (cfg_kv){.key = o->key,
                               .text = text,
                               .n_parts = (uint32_t)o->n_parts,
                               .line = o->line,
                               .broken = o->broken};
                /* The joined value: the parts with single spaces. */
                for (size_t p = 0; p < o->n_parts; p++) {
                        if (p)
                                *text++ = ' ';
                        if (op[p].len)
                                memcpy(text, L->open_text + op[p].off, op[p].len);
                        text += op[p].len;
                }
                *text++ = '\0';
                if (o->n_parts > 1) {
                        kv->parts = parts;
                        for (size_t p = 0; p < o->n_parts; p++) {
                                *parts++ = (cfg_part){text, op[p].line};
                                if (op[p].len)
                                        memcpy(text, L->open_text + op[p].off, op[p].len);
                                text += op[p].len;
                                *text++ = '\0';
                        }
                }
        }
        sec->kvs = kvs;
        sec->n_kvs = (uint32_t)L->n_open_kvs;
        L->n_open_kvs = L->n_open_parts = L->n_open_text = 0;
        return 0;
}

static const char *section_name_at(const void *ctx, size_t idx)
{
        return ((const cfg_loader *)ctx)->sections[idx].name;
}

static int section_add(cfg_loader *L, cfg_section_kind kind, char *name)
{
        int r = section_close(L);

        if (r < 0)
                return r;
        if (L->n_sections >= UINT32_MAX ||
            cw_array_reserve((void **)&L->sections, &L->cap_sections, L->n_sections + 1,
                             sizeof(cfg_section), 16) < 0)
                return -ENOMEM;
        L->sections[L->n_sections] = (cfg_section){.kind = kind, .name = name, .line = L->lineno};
        if (kind == CFG_SEC_JOB)
                L->sections[L->n_sections].job = (uint32_t)L->n_job_sections++;
        L->cur = L->n_sections++;
        L->cur_kind = kind;
        L->open = true;
        return 0;
}

/* "[maintenance NAME]": a is just after the word, b the end of the title. */
static int maintenance_section(cfg_loader *L, const char *title, const char *a, const char *b)
{
        char q[CFG_QUOTE_MAX];
        char *name;

        for (; a < b && cfg_ini_space(*a); a++)
                ;
        if (a == b)
                return cw_config_error(L, L->lineno,
                                       "%s: missing window name: write [maintenance NAME]", title);
        name = cw_arena_strndup(&L->cfg->arena, a, (size_t)(b - a));
        if (!name)
                return -ENOMEM;
        if (!cw_jobspec_name_valid(name))
                return cw_config_error(
                        L, L->lineno,
                        "%s: invalid window name %s: use letters, digits, '_', '.' and '-', starting with a letter or '_'",
                        title, cw_config_quote(name, q));
        for (size_t i = 0; i < L->n_sections; i++)
                if (L->sections[i].kind == CFG_SEC_MAINTENANCE &&
                    strcmp(L->sections[i].name, name) == 0)
                        return cw_config_error(L, L->lineno,
                                               "%s: window defined twice (first on line %d)", title,
                                               L->sections[i].line);
        return section_add(L, CFG_SEC_MAINTENANCE, name);
}

/* A "[...]" line: s points at '[', e at the end of the trimmed line. */
static int on_section(cfg_loader *L, const char *s, const char *e)
{
        const char *close = memchr(s, ']', (size_t)(e - s)), *comment = find_comment(s, e);
        const char *a, *b, *after;
        _cleanup_free_ char *title = NULL;
        char q[CFG_QUOTE_MAX], hint[64] = "";
        size_t best;
        cfg_section_kind kind = CFG_SEC__MAX;

        if (!close || close > comment) {
                /* inih keeps the previous key for continuations here. */
                L->cur_kind = CFG_SEC_SKIP;
                L->prev_kv = -1;
                return cw_config_error(L, L->lineno,
                                       "unterminated section header: expected '[NAME]'");
        }
        L->have_prev = false;
        L->prev_kv = -1;
        memset(L->key_line, 0, sizeof(L->key_line));
        L->cur_kind = CFG_SEC_SKIP;

        title = strndup(s, (size_t)(close - s) + 1);
        if (!title)
                return -ENOMEM;
        for (after = close + 1; after < e && cfg_ini_space(*after); after++)
                ;
        if (after < e && *after != ';' && *after != '#')
                cw_config_error(L, L->lineno, "%s: unexpected text after ']'", title);

        a = s + 1;
        b = close;
        while (a < b && cfg_ini_space(*a))
                a++;
        while (b > a && cfg_ini_space(b[-1]))
                b--;
        for (size_t k = 0; k < CW_ARRAY_SIZE(section_kinds); k++)
                if ((size_t)(b - a) == strlen(section_names[k]) &&
                    memcmp(a, section_names[k], (size_t)(b - a)) == 0)
                        kind = section_kinds[k];
        if (kind == CFG_SEC_SCHEDULE)
                return section_add(L, kind, NULL);
        if (kind != CFG_SEC__MAX) {
                if (L->kind_line[kind])
                        return cw_config_error(
                                L, L->lineno,
                                "%s: section given twice (first on line %d): merge them", title,
                                L->kind_line[kind]);
                L->kind_line[kind] = L->lineno;
                return section_add(L, kind, NULL);
        }
        if ((size_t)(b - a) >= 11 && memcmp(a, "maintenance", 11) == 0 &&
            (a + 11 == b || cfg_ini_space(a[11])))
                return maintenance_section(L, title, a + 11, b);
        if ((size_t)(b - a) >= 3 && memcmp(a, "job", 3) == 0 &&
            (a + 3 == b || cfg_ini_space(a[3]))) {
                char *name;
                size_t idx;
                int r;

                for (a += 3; a < b && cfg_ini_space(*a); a++)
                        ;
                if (a == b)
                        return cw_config_error(L, L->lineno,
                                               "%s: missing job name: write [job NAME]", title);
                /* In the config's arena: it becomes the job's name. */
                name = cw_arena_strndup(&L->cfg->arena, a, (size_t)(b - a));
                if (!name)
                        return -ENOMEM;
                if (!cw_jobspec_name_valid(name))
                        return cw_config_error(
                                L, L->lineno,
                                "%s: invalid job name %s: use letters, digits, '_', '.' and '-', starting with a letter or '_' (at most %d bytes)",
                                title, cw_config_quote(name, q), CW_JOBSPEC_NAME_MAX);
                if (cfg_map_get(&L->section_names, name, section_name_at, L, &idx))
                        return cw_config_error(L, L->lineno,
                                               "%s: job defined twice (first on line %d)", title,
                                               L->sections[idx].line);
                r = section_add(L, CFG_SEC_JOB, name);
                if (r < 0)
                        return r;
                return cfg_map_put(&L->section_names, name, L->cur, section_name_at, L);
        }
        {
                /* Compare the first word, so "[jbo X]" still gets a hint. */
                const char *we = a;
                _cleanup_free_ char *word = NULL;

                while (we < b && !cfg_ini_space(*we))
                        we++;
                word = strndup(a, (size_t)(we - a));
                if (!word)
                        return -ENOMEM;
                /* Short words are close to everything: be stricter. */
                best = strlen(word) >= 5 ? 3 : strlen(word) >= 3 ? 2 : 1;
                for (size_t k = 0; k < CW_ARRAY_SIZE(section_names); k++) {
                        size_t d = cw_config_edit_distance(word, section_names[k], 2);

                        if (d < best) {
                                best = d;
                                snprintf(hint, sizeof(hint), " (did you mean [%s%s]?)",
                                         section_names[k],
                                         k == CW_ARRAY_SIZE(section_kinds) ? " NAME" : "");
                        }
                }
        }
        return cw_config_error(
                L, L->lineno,
                "%s: unknown section%s: expected [cronwarden], [admin], [defaults], [job NAME], [schedule], [smtp] or [maintenance NAME]",
                title, hint);
}

static char *read_line(char *str, int num, void *stream)
{
        cfg_loader *L = stream;
        const char *line, *nl, *s, *e, *cut, *sep;
        size_t n, limit, mlen;
        bool indented;

        L->kind = CFG_LINE_SKIP;
        if (L->pos >= L->len || L->enomem)
                return NULL;
        /* inih always asks for its whole buffer (200 bytes in Debian's
         * build); a tiny one is not something we can work with. */
        if (num < 8) {
                cw_config_error(L, 0, "libinih's line buffer is too small (%d bytes)", num);
                return NULL;
        }
        limit = (size_t)num - 2; /* room for '\n' and the NUL */
        line = L->text + L->pos;
        nl = memchr(line, '\n', L->len - L->pos);
        n = nl ? (size_t)(nl - line) : L->len - L->pos;
        L->pos += n + (nl ? 1 : 0);
        L->lineno++;
        L->bom = L->lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0;
        if (L->bom) {
                line += 3;
                n -= 3;
        }
        if (memchr(line, '\0', n)) {
                cw_config_error(L, L->lineno, "line contains a NUL byte");
                return feed(L, str, false, "", 0);
        }
        e = line + n;
        while (e > line && cfg_ini_space(e[-1]))
                e--;
        s = line;
        while (s < e && cfg_ini_space(*s))
                s++;
        /* On line 1 inih drops a leading byte-order mark: give it one
         * whenever what we hand over starts with one (the file's own, or
         * one that is data after white space). */
        if (L->lineno == 1 && (L->bom || (e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0))) {
                L->bom = true;
                limit -= 3;
        }
        if (s == e || *s == ';' || *s == '#')
                return feed(L, str, false, "", 0);
        indented = s > line;
        cut = find_comment(s, e);
        while (cut > s && cfg_ini_space(cut[-1]))
                cut--;

        if (L->have_prev && indented && *s == '[' && cut[-1] == ']') {
                /* inih would take this for more of the previous value,
                 * silently. It is surely meant as a header: say so, and
                 * read it as one so the keys below land where intended. */
                cw_config_error(
                        L, L->lineno,
                        "section header must start the line (an indented line continues the "
                        "previous value)");
                indented = false;
        }
        if (L->have_prev && indented) {
                mlen = (size_t)(cut - s) + 1;
                if (mlen > limit) {
                        cw_config_error(
                                L, L->lineno,
                                "line too long (%zu bytes, at most %zu): continue the value on more indented lines",
                                mlen - 1, limit - 1);
                        L->kind = CFG_LINE_LONG_CONT;
                        return feed(L, str, true, "x", 1);
                }
                L->kind = CFG_LINE_CONT;
                return feed(L, str, true, s, (size_t)(cut - s));
        }
        if (*s == '[') {
                const char *close = memchr(s, ']', (size_t)(e - s));

                if (close && (size_t)(close - s) + 1 > limit) {
                        cw_config_error(L, L->lineno, "line too long (%zu bytes, at most %zu)",
                                        (size_t)(close - s) + 1, limit);
                        L->have_prev = false;
                        L->prev_kv = -1;
                        L->cur_kind = CFG_SEC_SKIP;
                        return feed(L, str, false, "[]", 2);
                }
                if (on_section(L, s, e) == -ENOMEM)
                        L->enomem = true;
                /* An unterminated header changes nothing in inih either. */
                if (!close || close > find_comment(s, e))
                        return feed(L, str, false, "", 0);
                return feed(L, str, false, s, (size_t)(close - s) + 1);
        }
        for (sep = s; sep < cut && *sep != '=' && *sep != ':'; sep++)
                ;
        if (sep == cut) {
                char q[CFG_QUOTE_MAX];
                _cleanup_free_ char *t = strndup(s, (size_t)(cut - s));

                if (!t)
                        L->enomem = true;
                else
                        cw_config_error(L, L->lineno,
                                        "expected KEY = VALUE or a [section] header, got %s",
                                        cw_config_quote(t, q));
                return feed(L, str, false, "", 0);
        }
        {
                const char *ne = sep;

                while (ne > s && cfg_ini_space(ne[-1]))
                        ne--;
                L->have_prev = ne > s;
                mlen = (size_t)(cut - s);
                if (mlen > limit) {
                        cw_config_error(
                                L, L->lineno,
                                "line too long (%zu bytes, at most %zu): continue the value on indented lines",
                                mlen, limit);
                        free(L->long_name);
                        L->long_name = strndup(s, (size_t)(ne - s));
                        if (!L->long_name) {
                                L->enomem = true;
                                return feed(L, str, false, "", 0);
                        }
                        L->kind = CFG_LINE_LONG_KEY;
                        return ne > s ? feed(L, str, false, "x=", 2) : feed(L, str, false, "=", 1);
                }
        }
        L->kind = CFG_LINE_KEY;
        return feed(L, str, false, s, mlen);
}

static const char *current_title(cfg_loader *L, char *buf, size_t size)
{
        if (L->cur_kind == CFG_SEC_JOB)
                snprintf(buf, size, "[job %s]", L->sections[L->cur].name);
        else if (L->cur_kind == CFG_SEC_MAINTENANCE)
                snprintf(buf, size, "[maintenance %s]", L->sections[L->cur].name);
        else
                snprintf(buf, size, "[%s]", kind_name(L->cur_kind));
        return buf;
}

/* True when s has only printable ASCII (safe to show unquoted). */
static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
                        return false;
        return true;
}

/* Appends one line of a value to the section being read. */
static int open_part_add(cfg_loader *L, const char *value)
{
        size_t n = strlen(value);

        if (cw_array_reserve((void **)&L->open_parts, &L->cap_open_parts, L->n_open_parts + 1,
                             sizeof(cfg_open_part), 16) < 0 ||
            cw_array_reserve((void **)&L->open_text, &L->cap_open_text, L->n_open_text + n, 1,
                             1024) < 0)
                return -ENOMEM;
        if (n)
                memcpy(L->open_text + L->n_open_text, value, n);
        L->open_parts[L->n_open_parts++] = (cfg_open_part){L->n_open_text, n, L->lineno};
        L->n_open_text += n;
        return 0;
}

static int on_key(cfg_loader *L, const char *name, const char *value, bool broken)
{
        char title[CW_JOBSPEC_NAME_MAX + 8], hint[96], q[CFG_QUOTE_MAX];
        const cfg_key *key;
        int r;

        L->prev_kv = -1;
        if (!name[0])
                return cw_config_error(L, L->lineno, "missing key name before '='");
        if (L->cur_kind == CFG_SEC_SKIP)
                return 0;
        if (L->cur_kind == CFG_SEC_NONE)
                return cw_config_error(
                        L, L->lineno,
                        "%s: key outside any section: put it under a header such as [cronwarden] or [job NAME]",
                        name);
        current_title(L, title, sizeof(title));
        key = cw_config_key_lookup(name, L->cur_kind);
        if (!key) {
                cw_config_key_hint(name, L->cur_kind, hint, sizeof(hint));
                /* "FILE:LINE: KEY: ..." like every other diagnostic; a key
                 * with control characters is shown quoted and escaped. */
                return cw_config_error(L, L->lineno, "%s: unknown key in %s%s",
                                       printable(name) ? name : cw_config_quote(name, q), title,
                                       hint);
        }
        if (L->cur_kind == CFG_SEC_DEFAULTS && (key->flags & CFG_JOB_ONLY))
                return cw_config_error(
                        L, L->lineno,
                        "%s: not allowed in [defaults]: it only makes sense in a [job NAME] section",
                        name);
        if (!(key->flags & CFG_REPEATABLE) && L->key_line[key->id])
                return cw_config_error(L, L->lineno, "%s: set twice in %s (first set on line %d)",
                                       name, title, L->key_line[key->id]);
        L->key_line[key->id] = L->lineno;

        if (key->id == CFG_K_SCHEDULE || key->id == CFG_K_RUN)
                L->n_schedule_keys++;
        if (cw_array_reserve((void **)&L->open_kvs, &L->cap_open_kvs, L->n_open_kvs + 1,
                             sizeof(cfg_open_kv), 16) < 0)
                return -ENOMEM;
        r = open_part_add(L, value);
        if (r < 0)
                return r;
        L->open_kvs[L->n_open_kvs] = (cfg_open_kv){.key = key,
                                                   .first_part = L->n_open_parts - 1,
                                                   .n_parts = 1,
                                                   .len = strlen(value),
                                                   .line = L->lineno,
                                                   .broken = broken};
        L->prev_kv = (long)L->n_open_kvs++;
        return 0;
}

static int on_continuation(cfg_loader *L, const char *value, bool broken)
{
        size_t add;
        cfg_open_kv *kv;
        int r;

        if (L->prev_kv < 0)
                return 0;
        kv = &L->open_kvs[L->prev_kv];
        if (broken)
                kv->broken = true;
        if (kv->broken)
                return 0;
        add = strlen(value);
        if (kv->len + 1 + add > CFG_VALUE_MAX) {
                kv->broken = true;
                return cw_config_error(L, L->lineno,
                                       "%s: value too long (at most %d bytes over all its lines)",
                                       kv->key->name, CFG_VALUE_MAX);
        }
        /* Continuations only ever extend the last key, so its parts stay
         * together at the end of open_parts. */
        r = open_part_add(L, value);
        if (r < 0)
                return r;
        kv->n_parts++;
        kv->len += 1 + add;
        return 0;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
        cfg_loader *L = user;
        int r = 0;

        (void)section; /* ours is complete; inih's is cut at 49 bytes */
        switch (L->kind) {
        case CFG_LINE_KEY:
                r = on_key(L, name, value, false);
                break;
        case CFG_LINE_LONG_KEY:
                r = on_key(L, L->long_name, "", true);
                break;
        case CFG_LINE_CONT:
                r = on_continuation(L, value, false);
                break;
        case CFG_LINE_LONG_CONT:
                r = on_continuation(L, "", true);
                break;
        case CFG_LINE_SKIP:
                /* The reader and inih disagree about this line; say so
                 * rather than guess. */
                cw_config_error(L, L->lineno, "cannot parse this line");
                break;
        }
        L->kind = CFG_LINE_SKIP;
        if (r == -ENOMEM)
                L->enomem = true;
        /* Problems are recorded by us; inih's return value then only
         * reports lines it could not parse at all. */
        return 1;
}

int cfg_read(cfg_loader *L)
{
        int bad_line = ini_parse_stream(read_line, L, on_ini_value, L);

        /* The last section is closed here. The name table stays:
         * cfg_load_jobs turns it into the jobs' table. */
        if (section_close(L) < 0)
                L->enomem = true;
        return bad_line;
}
