/* path.c - bounded path joins (see path.h). */
#include "base/path.h"

#include <errno.h>
#include <string.h>

/* Appends s to buf at *len; -ENAMETOOLONG when it does not fit. */
static int append(char *buf, size_t size, size_t *len, const char *s)
{
        size_t n = strlen(s);

        if (n >= size - *len)
                return -ENAMETOOLONG;
        memcpy(buf + *len, s, n + 1);
        *len += n;
        return 0;
}

/* Appends "/" and then s, unless buf is empty or already ends in '/'. */
static int append_part(char *buf, size_t size, size_t *len, const char *s)
{
        int r;

        if (*len > 0 && buf[*len - 1] != '/') {
                r = append(buf, size, len, "/");
                if (r < 0)
                        return r;
        }
        return append(buf, size, len, s);
}

int cw_path_join3(char *buf, size_t size, const char *dir, const char *sub, const char *name)
{
        size_t len = 0;
        int r;

        if (size == 0)
                return -ENAMETOOLONG;
        buf[0] = '\0';
        r = append(buf, size, &len, dir);
        if (r == 0 && sub)
                r = append_part(buf, size, &len, sub);
        if (r == 0)
                r = append_part(buf, size, &len, name);
        if (r < 0)
                buf[0] = '\0';
        return r;
}

int cw_path_join(char *buf, size_t size, const char *dir, const char *name)
{
        return cw_path_join3(buf, size, dir, NULL, name);
}
