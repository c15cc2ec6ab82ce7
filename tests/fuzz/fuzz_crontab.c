/* fuzz_crontab.c - libFuzzer target for the crontab converter.
 *
 * The input is converted as a crontab (the first byte chooses --system
 * and --shell). A conversion either stops with a line and a reason, or
 * yields a config that the config loader accepts with one job per
 * converted entry: the converter's promise that its output passes
 * `cronwarden check` unchanged. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crontab/crontab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000

static void check(bool ok, const char *what, const char *text)
{
        if (ok)
                return;
        fprintf(stderr, "fuzz_crontab: %s\n%s\n", what, text ? text : "");
        abort();
}

/* Deterministic users, whatever the machine running the fuzzer has. */
static bool fake_user_known(const char *name, void *userdata)
{
        (void)userdata;
        return strcmp(name, "root") == 0;
}

static void check_loads(const cw_crontab_result *res)
{
        cw_config_opts opts = {.now = NOW};
        cw_config_errors errs = {0};
        cw_config *c = NULL;
        int r;

        r = cw_config_load_string("/nonexistent/fuzz.ini", res->text, res->len, &opts, &c, &errs);
        check(r == 0 || r == -ENOMEM, errs.n ? errs.msgs[0] : "the output does not load",
              res->text);
        check(r < 0 || c->n_jobs == res->n_jobs, "jobs lost or added", res->text);
        cw_config_free(c);
        cw_config_errors_release(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cw_crontab_opts opts = {.file = "fuzz", .now = NOW, .user_known = fake_user_known};
        cw_crontab_result res = {0};
        FILE *in;
        int r;

        /* Big inputs only make each run slower, not the search better. */
        if (size < 1 || size > 64 * 1024)
                return 0;
        opts.system = data[0] & 1;
        opts.shell_all = data[0] & 2;
        in = fmemopen((void *)(data + 1), size - 1, "r");
        if (!in)
                return 0;
        r = cw_crontab_convert(in, &opts, &res);
        fclose(in);
        check(r == 0 || r == -EINVAL || r == -ENOMEM, "unexpected error code", NULL);
        if (r == -EINVAL)
                check(res.error_line > 0 && res.error[0], "a refusal without a line", NULL);
        if (r == 0) {
                check(res.text && strlen(res.text) == res.len, "no text", NULL);
                check(res.n_diags + res.n_dropped == res.n_skipped + res.n_notes,
                      "reports miscounted", res.text);
                check_loads(&res);
        }
        cw_crontab_result_release(&res);
        return 0;
}
