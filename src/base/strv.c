/* strv.c - string vectors (see strv.h). */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cw_strv_consume(cw_strv *sv, char *s)
{
        char **nv;

        if (!s)
                return -ENOMEM;
        nv = realloc(sv->v, (sv->n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[sv->n++] = s;
        nv[sv->n] = NULL;
        sv->v = nv;
        return 0;
}

int cw_strv_push(cw_strv *sv, const char *s)
{
        return cw_strv_consume(sv, strdup(s));
}

long cw_strv_find(const cw_strv *sv, const char *s)
{
        for (size_t i = 0; i < sv->n; i++)
                if (strcmp(sv->v[i], s) == 0)
                        return (long)i;
        return -1;
}

void cw_strv_release(cw_strv *sv)
{
        if (!sv)
                return;
        for (size_t i = 0; i < sv->n; i++)
                free(sv->v[i]);
        free(sv->v);
        sv->v = NULL;
        sv->n = 0;
}
