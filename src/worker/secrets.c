/* secrets.c - masking secret_env values in captured output (secrets.h). */
#include "worker/secrets.h"

#include <errno.h>
#include <string.h>

int cw_secrets_collect(const cw_strv *names, const cw_strv *env, cw_strv *ret)
{
        for (size_t i = 0; i < names->n; i++) {
                size_t klen = strlen(names->v[i]);

                for (size_t j = 0; j < env->n; j++) {
                        const char *e = env->v[j];
                        int r;

                        if (strncmp(e, names->v[i], klen) != 0 || e[klen] != '=' || !e[klen + 1])
                                continue;
                        r = cw_strv_push(ret, e + klen + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

void cw_secrets_mask(char *buf, size_t len, const cw_strv *values)
{
        if (!buf)
                return;
        for (size_t i = 0; i < values->n; i++) {
                const char *v = values->v[i];
                size_t vlen = strlen(v);
                char *p = buf, *end = buf + len;

                while (vlen > 0 && (size_t)(end - p) >= vlen) {
                        char *hit = memmem(p, (size_t)(end - p), v, vlen);

                        if (!hit)
                                break;
                        memset(hit, '*', vlen);
                        p = hit + vlen;
                }
        }
}
