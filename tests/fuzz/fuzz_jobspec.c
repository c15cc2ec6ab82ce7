/* fuzz_jobspec.c - libFuzzer target for the job spec parser.
 *
 * Any input must either be rejected with a column inside the text, or
 * parse into a spec whose canonical form parses back to an equal spec and
 * prints identically (the canonical text seeds H, so it must be stable). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec/jobspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, const char *text)
{
        if (ok)
                return;
        fprintf(stderr, "fuzz_jobspec: %s for '%s'\n", what, text);
        abort();
}

static bool same_spec(const cw_jobspec *a, const cw_jobspec *b)
{
        if (strcmp(a->name, b->name) != 0 || a->n_params != b->n_params ||
            a->n_positional != b->n_positional)
                return false;
        for (size_t i = 0; i < a->n_params; i++) {
                if ((a->params[i].key == NULL) != (b->params[i].key == NULL))
                        return false;
                if (a->params[i].key && strcmp(a->params[i].key, b->params[i].key) != 0)
                        return false;
                if (strcmp(a->params[i].value, b->params[i].value) != 0)
                        return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cw_jobspec *js = NULL, *js2 = NULL;
        char *text, *canon = NULL, *canon2 = NULL;
        cw_error err;
        int r;

        if (size > CW_JOBSPEC_TEXT_MAX + 64)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = cw_jobspec_parse(text, &js, &err);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "unexpected error code", text);
                check(err.col >= 0 && (size_t)err.col <= strlen(text),
                      "error column outside the text", text);
                check(err.len >= 1 && err.msg[0], "empty error", text);
                free(text);
                return 0;
        }
        check(cw_jobspec_name_valid(js->name), "invalid name accepted", text);
        for (size_t i = js->n_positional; i < js->n_params; i++)
                check(cw_jobspec_get(js, js->params[i].key) == js->params[i].value, "get mismatch",
                      text);
        canon = cw_jobspec_format(js);
        if (canon) {
                r = cw_jobspec_parse(canon, &js2, &err);
                check(r == 0, "canonical text does not parse", canon);
                check(same_spec(js, js2), "canonical text parses differently", canon);
                canon2 = cw_jobspec_format(js2);
                check(!canon2 || strcmp(canon, canon2) == 0, "canonical text is not stable", canon);
        }
        free(canon2);
        free(canon);
        cw_jobspec_free(js2);
        cw_jobspec_free(js);
        free(text);
        return 0;
}
