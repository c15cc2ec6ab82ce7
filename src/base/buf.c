/* buf.c - see buf.h. Growth doubles from 256 bytes, capped at max + 1
 * (room for the NUL), so a buffer never holds more than its max. */
#include "base/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for `extra` more bytes plus the NUL. */
static int reserve(cw_buf *b, size_t extra)
{
        size_t need, cap;
        char *p;

        if (b->err)
                return b->err;
        if (extra > SIZE_MAX - 1 - b->len || (b->max && b->len + extra > b->max))
                return b->err = -E2BIG;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (b->max && cap > b->max + 1)
                cap = b->max + 1;
        p = realloc(b->p, cap);
        if (!p)
                return b->err = -ENOMEM;
        b->p = p;
        b->cap = cap;
        return 0;
}

int cw_buf_add(cw_buf *b, const void *data, size_t len)
{
        int r = reserve(b, len);

        if (r < 0)
                return r;
        if (len)
                memcpy(b->p + b->len, data, len);
        b->len += len;
        b->p[b->len] = '\0';
        return 0;
}

int cw_buf_puts(cw_buf *b, const char *s)
{
        return cw_buf_add(b, s, strlen(s));
}

int cw_buf_putc(cw_buf *b, char c)
{
        return cw_buf_add(b, &c, 1);
}

int cw_buf_vprintf(cw_buf *b, const char *fmt, va_list ap)
{
        va_list ap2;
        int n, r;

        if (b->err)
                return b->err;
        va_copy(ap2, ap);
        n = vsnprintf(NULL, 0, fmt, ap2);
        va_end(ap2);
        if (n < 0)
                return b->err = -EINVAL;
        r = reserve(b, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int cw_buf_printf(cw_buf *b, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = cw_buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void cw_buf_truncate(cw_buf *b, size_t len)
{
        if (len >= b->len)
                return;
        b->len = len;
        b->p[len] = '\0';
}

void cw_buf_reset(cw_buf *b)
{
        b->len = 0;
        b->err = 0;
        if (b->p)
                b->p[0] = '\0';
}

void cw_buf_release(cw_buf *b)
{
        free(b->p);
        b->p = NULL;
        b->len = b->cap = 0;
        b->err = 0;
}

char *cw_buf_steal(cw_buf *b, size_t *ret_len)
{
        char *p = b->p ? b->p : strdup("");
        size_t len = b->p ? b->len : 0;

        b->p = NULL;
        b->len = b->cap = 0;
        b->err = 0;
        if (ret_len)
                *ret_len = p ? len : 0;
        return p;
}
