/* form.c - request text parsers (see form.h).
 *
 * Decoding is done in place on one copy of the input, so a parsed form
 * costs a single allocation no larger than the text it came from. */
#include "http/form.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

ssize_t cw_url_decode(char *s, size_t len, bool plus_space)
{
        size_t i = 0, o = 0;

        while (i < len) {
                char c = s[i];

                if (c == '%') {
                        int hi, lo;

                        if (len - i < 3)
                                return -EINVAL;
                        hi = hexval(s[i + 1]);
                        lo = hexval(s[i + 2]);
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EINVAL;
                        s[o++] = (char)(hi << 4 | lo);
                        i += 3;
                        continue;
                }
                if (c == '\0')
                        return -EINVAL;
                s[o++] = plus_space && c == '+' ? ' ' : c;
                i++;
        }
        s[o] = '\0';
        return (ssize_t)o;
}

int cw_url_encode(cw_buf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
                        cw_buf_putc(b, (char)c);
                else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        cw_buf_add(b, e, 3);
                }
        }
        return cw_buf_error(b);
}

void cw_form_release(cw_form *f)
{
        free(f->mem);
        f->mem = NULL;
        f->n = 0;
}

int cw_form_parse(const char *text, size_t len, cw_form *f)
{
        char *p, *end;
        int r = 0;

        cw_form_release(f);
        f->mem = malloc(len + 1);
        if (!f->mem)
                return -ENOMEM;
        memcpy(f->mem, text, len);
        f->mem[len] = '\0';
        p = f->mem;
        end = f->mem + len;
        /* Each piece is decoded in place: key and value each shrink (or
         * keep their length), so the NULs written never reach the next
         * piece, which starts after the '&' we replace. */
        while (p < end) {
                char *amp = memchr(p, '&', (size_t)(end - p)), *eq, *pend = amp ? amp : end;
                ssize_t kl, vl;

                if (pend == p) {
                        p++;
                        continue;
                }
                if (f->n == CW_HTTP_MAX_PARAMS) {
                        r = -E2BIG;
                        goto fail;
                }
                eq = memchr(p, '=', (size_t)(pend - p));
                if (eq) {
                        kl = cw_url_decode(p, (size_t)(eq - p), true);
                        vl = cw_url_decode(eq + 1, (size_t)(pend - eq - 1), true);
                        f->kv[f->n].value = eq + 1;
                } else {
                        kl = cw_url_decode(p, (size_t)(pend - p), true);
                        vl = 0;
                        /* The piece's terminator (NUL or the '&' we are about
                         * to replace) doubles as the empty value. */
                        f->kv[f->n].value = pend;
                }
                if (kl < 0 || vl < 0) {
                        r = -EINVAL;
                        goto fail;
                }
                f->kv[f->n].key = p;
                f->n++;
                if (!amp)
                        break;
                *amp = '\0';
                p = amp + 1;
        }
        return 0;
fail:
        cw_form_release(f);
        return r;
}

const char *cw_form_get(const cw_http_kv *kv, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(kv[i].key, key) == 0)
                        return kv[i].value;
        return NULL;
}

/* True when the segment s[0..n) decodes to "." or "..". */
static bool dot_segment(const char *s, size_t n)
{
        size_t dots = 0;

        for (size_t i = 0; i < n;) {
                if (s[i] == '.')
                        i++;
                else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' &&
                         (s[i + 2] == 'e' || s[i + 2] == 'E'))
                        i += 3;
                else
                        return false;
                dots++;
        }
        return dots == 1 || dots == 2;
}

int cw_http_path_check(const char *raw, size_t len)
{
        size_t i = 0;

        if (len == 0 || raw[0] != '/')
                return -EINVAL;
        while (i < len) {
                size_t start = ++i, n;

                while (i < len && raw[i] != '/')
                        i++;
                n = i - start;
                if (dot_segment(raw + start, n))
                        return -EINVAL;
                for (size_t k = start; k < i; k++) {
                        if (raw[k] == '\0')
                                return -EINVAL;
                        if (raw[k] == '%' &&
                            (i - k < 3 || hexval(raw[k + 1]) < 0 || hexval(raw[k + 2]) < 0 ||
                             (raw[k + 1] == '0' && raw[k + 2] == '0')))
                                return -EINVAL;
                }
        }
        return 0;
}

bool cw_http_cookie_get(const char *header, const char *name, char *buf, size_t size)
{
        size_t nl = strlen(name);
        const char *p = header;

        if (size)
                buf[0] = '\0';
        if (!header || !size)
                return false;
        while (*p) {
                const char *end, *v;
                size_t n;

                while (*p == ' ' || *p == '\t' || *p == ';')
                        p++;
                end = strchr(p, ';');
                if (!end)
                        end = p + strlen(p);
                if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
                        v = p + nl + 1;
                        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                                end--;
                        if (end - v >= 2 && v[0] == '"' && end[-1] == '"') {
                                v++;
                                end--;
                        }
                        n = (size_t)(end - v);
                        if (n >= size)
                                return false;
                        memcpy(buf, v, n);
                        buf[n] = '\0';
                        return true;
                }
                p = end;
        }
        return false;
}

bool cw_http_local_path(const char *s)
{
        size_t n;

        if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\')
                return false;
        for (n = 0; s[n]; n++)
                if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f)
                        return false;
        return n <= 2048;
}

bool cw_http_secret_equal(const char *a, const char *b)
{
        size_t n = strlen(a);

        return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}
