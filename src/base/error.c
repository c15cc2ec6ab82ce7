/* error.c - filling and showing cw_error. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cw_error_clear(cw_error *e)
{
        if (!e)
                return;
        e->col = -1;
        e->len = 0;
        e->msg[0] = '\0';
}

int cw_error_set(cw_error *e, int col, int len, const char *fmt, ...)
{
        va_list ap;

        if (!e)
                return -EINVAL;
        e->col = col;
        e->len = col >= 0 && len < 1 ? 1 : len;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int cw_error_fail(cw_error *e, int r, const char *fmt, ...)
{
        va_list ap;

        if (!e)
                return r;
        e->col = -1;
        e->len = 0;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        return r;
}

size_t cw_error_caret(const cw_error *e, const char *text, const char *indent, char *buf,
                      size_t size)
{
        size_t n = 0, tlen = strlen(text);
        int w;

        if (size == 0)
                return 0;
        buf[0] = '\0';
        w = snprintf(buf, size, "%s%s", indent, text);
        if (w < 0 || (size_t)w >= size)
                return size - 1;
        n = (size_t)w;
        if (!e || e->col < 0)
                return n;
        if (n + 1 < size)
                buf[n++] = '\n';
        for (size_t i = 0; indent[i] && n + 1 < size; i++)
                buf[n++] = indent[i];
        /* Keep tabs so the caret lines up under tab-separated text. */
        for (int i = 0; i < e->col && n + 1 < size; i++)
                buf[n++] = ((size_t)i < tlen && text[i] == '\t') ? '\t' : ' ';
        for (int i = 0; i < (e->len > 0 ? e->len : 1) && n + 1 < size; i++)
                buf[n++] = '^';
        buf[n] = '\0';
        return n;
}
