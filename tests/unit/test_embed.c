/* test_embed.c - the registry of function jobs (cronwarden.h): what
 * registering accepts and refuses, copies, lookup, unregistering and the
 * config's view (description and declared params). Running a function
 * job is tested end to end in tests/integration/test_embedded.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cronwarden.h"
#include "embed/embed_internal.h"

static int noop(cronwarden_ctx *ctx, void *userdata)
{
        (void)ctx;
        (void)userdata;
        return 0;
}

static void test_register_refuses(void **state)
{
        static const char *const bad_param[] = {"ok", "9lives", NULL};
        static const struct {
                cronwarden_function fn;
                int want;
        } cases[] = {
                {{.name = NULL, .run = noop}, -EINVAL},
                {{.name = "", .run = noop}, -EINVAL},
                {{.name = "has space", .run = noop}, -EINVAL},
                {{.name = "nofn", .run = NULL}, -EINVAL},
                {{.name = "badparam", .run = noop, .args = bad_param}, -EINVAL},
                {{.name = "fine", .run = noop}, 0},
                {{.name = "fine", .run = noop}, -EEXIST},
        };
        cronwarden_registry *reg = cronwarden_registry_new();

        (void)state;
        assert_non_null(reg);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(cronwarden_register(reg, &cases[i].fn), cases[i].want);
        /* NULL is the process's registry (what cronwarden_main(argc, argv) uses). */
        assert_int_equal(cronwarden_register(NULL, &cases[5].fn), 0);
        assert_ptr_equal(cronwarden_lookup(cronwarden_default_registry(), cases[5].fn.name),
                         cronwarden_lookup(NULL, cases[5].fn.name));
        assert_non_null(cronwarden_lookup(NULL, cases[5].fn.name));
        assert_int_equal(cronwarden_unregister(NULL, cases[5].fn.name), 0);
        assert_int_equal(cronwarden_registry_size(NULL), 0);
        cronwarden_registry_free(cronwarden_default_registry()); /* a no-op */
        assert_int_equal(cronwarden_registry_size(reg), 1);
        cronwarden_registry_free(reg);
}

static void test_copies_lookup_unregister(void **state)
{
        char name[] = "greet", desc[] = "Says hello";
        char who[] = "who";
        const char *args[] = {who, NULL};
        static const char *const options[] = {"times", "loud", NULL};
        cronwarden_function fn = {.name = name,
                                  .run = noop,
                                  .description = desc,
                                  .args = args,
                                  .options = options,
                                  .userdata = desc};
        cronwarden_registry *reg = cronwarden_registry_new();
        const cronwarden_function *got;
        const cw_config_function *decl;

        (void)state;
        assert_int_equal(cronwarden_register(reg, &fn), 0);
        assert_int_equal(cronwarden_register(reg, &(cronwarden_function){.name = "b", .run = noop}),
                         0);
        /* The caller's strings may change or go away. */
        memcpy(name, "xxxxx", sizeof(name));
        memcpy(desc, "changed!!!", sizeof(desc));
        memcpy(who, "zzz", sizeof(who));
        got = cronwarden_lookup(reg, "greet");
        assert_non_null(got);
        assert_string_equal(got->name, "greet");
        assert_string_equal(got->description, "Says hello");
        assert_string_equal(got->args[0], "who");
        assert_null(got->args[1]);
        assert_string_equal(got->options[1], "loud");
        assert_ptr_equal(got->run, noop);
        assert_ptr_equal(got->userdata, desc);
        assert_null(cronwarden_lookup(reg, "xxxxx"));
        assert_ptr_equal(cronwarden_registry_at(reg, 0), got);
        assert_string_equal(cronwarden_registry_at(reg, 1)->name, "b");
        assert_null(cronwarden_registry_at(reg, 2));

        decl = cw_embed_function_decl(reg, "greet");
        assert_non_null(decl);
        assert_string_equal(decl->description, "Says hello");
        assert_string_equal(decl->args[0], "who");
        assert_string_equal(decl->options[0], "times");
        decl = cw_embed_function_decl(reg, "b");
        assert_null(decl->description);
        assert_null(decl->args);
        assert_null(decl->options);

        assert_int_equal(cronwarden_unregister(reg, "greet"), 0);
        assert_int_equal(cronwarden_unregister(reg, "greet"), -ENOENT);
        assert_null(cronwarden_lookup(reg, "greet"));
        assert_null(cw_embed_function_decl(reg, "greet"));
        assert_int_equal(cronwarden_registry_size(reg), 1);
        assert_string_equal(cronwarden_registry_at(reg, 0)->name, "b");
        cronwarden_registry_free(reg);
        cronwarden_registry_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_register_refuses),
                cmocka_unit_test(test_copies_lookup_unregister),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
