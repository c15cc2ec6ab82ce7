/* test_jobspec.c - job spec parsing, canonical printing and errors.
 *
 * Table-driven: each good case lists the expected name, params and
 * canonical text; each bad case the expected column and a fragment of the
 * message. Every good case is also round-tripped through the canonical
 * form, which must parse back to an equal spec and print identically. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jobspec/jobspec.h"

typedef struct good_case {
        const char *text;
        const char *name;
        size_t n_positional;
        /* key (NULL for positional) and value pairs, in order */
        const char *params[8][2];
        size_t n_params;
        const char *canonical;
} good_case;

static const good_case good_cases[] = {
        {"Name", "Name", 0, {{0}}, 0, "Name"},
        {"_x", "_x", 0, {{0}}, 0, "_x"},
        {"a.b-c_9", "a.b-c_9", 0, {{0}}, 0, "a.b-c_9"},
        {"Name:a", "Name", 1, {{NULL, "a"}}, 1, "Name:a"},
        {"HelloWorld:\"big world\",sleep=5",
         "HelloWorld",
         1,
         {{NULL, "big world"}, {"sleep", "5"}},
         2,
         "HelloWorld:\"big world\",sleep=5"},
        {"N:k=\"a \\\"b\\\"\"", "N", 0, {{"k", "a \"b\""}}, 1, "N:k=\"a \\\"b\\\"\""},
        {"N:\"\"", "N", 1, {{NULL, ""}}, 1, "N:\"\""},
        {"N:k=\"\"", "N", 0, {{"k", ""}}, 1, "N:k=\"\""},
        /* Quotes that are not needed are dropped in the canonical form. */
        {"N:\"plain\",k=\"v\"", "N", 1, {{NULL, "plain"}, {"k", "v"}}, 2, "N:plain,k=v"},
        {"N:\"a,b\",\"c=d\",\"e\\\\f\"",
         "N",
         3,
         {{NULL, "a,b"}, {NULL, "c=d"}, {NULL, "e\\f"}},
         3,
         "N:\"a,b\",\"c=d\",\"e\\\\f\""},
        {"N:1,2,3,x=y,z-w=0",
         "N",
         3,
         {{NULL, "1"}, {NULL, "2"}, {NULL, "3"}, {"x", "y"}, {"z-w", "0"}},
         5,
         "N:1,2,3,x=y,z-w=0"},
        {"N:a:b,/path/to,k=http://x",
         "N",
         2,
         {{NULL, "a:b"}, {NULL, "/path/to"}, {"k", "http://x"}},
         3,
         "N:a:b,/path/to,k=http://x"},
        {"N:\"tab\there\"", "N", 1, {{NULL, "tab\there"}}, 1, "N:\"tab\there\""},
        {"N:żółw", "N", 1, {{NULL, "żółw"}}, 1, "N:żółw"},
};

typedef struct bad_case {
        const char *text;
        int col;
        const char *msg; /* a fragment of the message */
} bad_case;

static const bad_case bad_cases[] = {
        {"", 0, "empty job spec"},
        {":x", 0, "missing job name"},
        {"N:", 1, "missing params"},
        {"N:a,,b", 4, "empty param"},
        {"N:a,", 4, "empty param"},
        {"N:,a", 2, "empty param"},
        {"N:a=1,a=2", 6, "duplicate param 'a' (first given at column 3)"},
        {"N:k=1,pos", 6, "positional value after a key=value"},
        {"N:\"abc", 2, "unterminated quote"},
        {"N:k=\"abc", 4, "unterminated quote"},
        {"N:\"abc\\", 6, "unterminated quote"},
        {"N:\"abc\"x", 7, "after the closing quote"},
        {"N:\"abc\" ,x", 7, "after the closing quote"},
        {"9x", 0, "must start with a letter"},
        {"a b", 1, "unexpected space in job name"},
        {"a:b c", 3, "quote values that contain spaces"},
        {" N", 0, "must start with a letter"},
        {"N ", 1, "in job name"},
        {"N/x", 1, "'/' in job name"},
        {"N:k=", 4, "missing value after 'k='"},
        {"N:k=,x=1", 4, "missing value after 'k='"},
        {"N:=v", 2, "missing param name"},
        {"N:9k=v", 2, "invalid param name '9k'"},
        {"N:k.x=v", 2, "invalid param name 'k.x'"},
        {"N:k=a=b", 5, "unexpected '='"},
        {"N:\"k\"=v", 2, "quoted text cannot be a param name"},
        {"N:a\"b\"", 3, "unexpected '\"' inside a value"},
        {"N:a\\b", 3, "unexpected '\\'"},
        {"N:\"a\\nb\"", 4, "unknown escape '\\n'"},
        {"N:a\x01", 3, "control character"},
        {"N:\"a\x01\"", 4, "control character"},
};

static void test_good(void **state)
{
        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(good_cases); t++) {
                const good_case *g = &good_cases[t];
                cw_jobspec *js = NULL, *js2 = NULL;
                cw_error err;
                char *text, *text2;

                if (cw_jobspec_parse(g->text, &js, &err) != 0)
                        fail_msg("'%s' should parse, got: %s (col %d)", g->text, err.msg, err.col);
                assert_string_equal(js->name, g->name);
                assert_int_equal(js->n_params, g->n_params);
                assert_int_equal(js->n_positional, g->n_positional);
                for (size_t k = 0; k < g->n_params; k++) {
                        if (g->params[k][0])
                                assert_string_equal(js->params[k].key, g->params[k][0]);
                        else
                                assert_null(js->params[k].key);
                        assert_string_equal(js->params[k].value, g->params[k][1]);
                        if (g->params[k][0])
                                assert_string_equal(cw_jobspec_get(js, g->params[k][0]),
                                                    g->params[k][1]);
                }
                text = cw_jobspec_format(js);
                assert_non_null(text);
                assert_string_equal(text, g->canonical);

                /* The canonical text parses back to the same spec. */
                assert_int_equal(cw_jobspec_parse(text, &js2, &err), 0);
                text2 = cw_jobspec_format(js2);
                assert_string_equal(text, text2);
                assert_int_equal(js2->n_params, js->n_params);
                free(text);
                free(text2);
                cw_jobspec_free(js);
                cw_jobspec_free(js2);
        }
}

static void test_bad(void **state)
{
        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(bad_cases); t++) {
                const bad_case *b = &bad_cases[t];
                cw_jobspec *js = (cw_jobspec *)0x1;
                cw_error err;

                if (cw_jobspec_parse(b->text, &js, &err) != -EINVAL)
                        fail_msg("'%s' should fail", b->text);
                /* *ret is untouched on failure. */
                assert_ptr_equal(js, (cw_jobspec *)0x1);
                if (err.col != b->col)
                        fail_msg("'%s': expected column %d, got %d (%s)", b->text, b->col, err.col,
                                 err.msg);
                assert_true(err.len >= 1);
                if (!strstr(err.msg, b->msg))
                        fail_msg("'%s': expected message with '%s', got '%s'", b->text, b->msg,
                                 err.msg);
        }
}

static void test_limits(void **state)
{
        char text[CW_JOBSPEC_TEXT_MAX + 64];
        cw_jobspec *js = NULL;
        cw_error err;
        size_t n;

        (void)state;
        /* The longest name is fine, one more byte is not. */
        memset(text, 'a', CW_JOBSPEC_NAME_MAX);
        text[CW_JOBSPEC_NAME_MAX] = '\0';
        assert_true(cw_jobspec_name_valid(text));
        assert_int_equal(cw_jobspec_parse(text, &js, &err), 0);
        cw_jobspec_free(js);
        js = NULL;
        text[CW_JOBSPEC_NAME_MAX] = 'a';
        text[CW_JOBSPEC_NAME_MAX + 1] = '\0';
        assert_false(cw_jobspec_name_valid(text));
        assert_int_equal(cw_jobspec_parse(text, &js, &err), -EINVAL);
        assert_int_equal(err.col, CW_JOBSPEC_NAME_MAX);
        assert_non_null(strstr(err.msg, "too long"));

        /* Exactly CW_JOBSPEC_PARAMS_MAX params parse; one more does not. */
        n = (size_t)snprintf(text, sizeof(text), "N:");
        for (int k = 0; k < CW_JOBSPEC_PARAMS_MAX; k++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", k ? "," : "", k);
        assert_int_equal(cw_jobspec_parse(text, &js, &err), 0);
        assert_int_equal(js->n_params, CW_JOBSPEC_PARAMS_MAX);
        cw_jobspec_free(js);
        js = NULL;
        snprintf(text + n, sizeof(text) - n, ",x");
        assert_int_equal(cw_jobspec_parse(text, &js, &err), -EINVAL);
        assert_int_equal(err.col, (int)n + 1);
        assert_non_null(strstr(err.msg, "too many params"));

        /* Text length: CW_JOBSPEC_TEXT_MAX is accepted, one more is not. */
        memcpy(text, "N:\"", 3);
        memset(text + 3, 'v', CW_JOBSPEC_TEXT_MAX - 4);
        text[CW_JOBSPEC_TEXT_MAX - 1] = '"';
        text[CW_JOBSPEC_TEXT_MAX] = '\0';
        assert_int_equal(cw_jobspec_parse(text, &js, &err), 0);
        cw_jobspec_free(js);
        js = NULL;
        text[CW_JOBSPEC_TEXT_MAX - 1] = 'v';
        text[CW_JOBSPEC_TEXT_MAX] = '"';
        text[CW_JOBSPEC_TEXT_MAX + 1] = '\0';
        assert_int_equal(cw_jobspec_parse(text, &js, &err), -EINVAL);
        assert_int_equal(err.col, CW_JOBSPEC_TEXT_MAX);
        assert_non_null(strstr(err.msg, "too long"));
}

static void test_name_valid(void **state)
{
        static const struct {
                const char *name;
                bool valid;
        } cases[] = {
                {"a", true},   {"A_b.c-d", true}, {"_", true},    {"", false},    {"9x", false},
                {"-a", false}, {".a", false},     {"a b", false}, {"a:b", false}, {"a/b", false},
        };

        (void)state;
        assert_false(cw_jobspec_name_valid(NULL));
        for (size_t t = 0; t < CW_ARRAY_SIZE(cases); t++)
                if (cw_jobspec_name_valid(cases[t].name) != cases[t].valid)
                        fail_msg("'%s' should be %s", cases[t].name,
                                 cases[t].valid ? "valid" : "invalid");
}

static void test_get_and_format_built(void **state)
{
        cw_jobspec *js = NULL;
        cw_error err;
        char *text;

        (void)state;
        assert_int_equal(cw_jobspec_parse("J:p,a=1,b=\"x y\"", &js, &err), 0);
        assert_string_equal(cw_jobspec_get(js, "a"), "1");
        assert_string_equal(cw_jobspec_get(js, "b"), "x y");
        assert_null(cw_jobspec_get(js, "p"));
        assert_null(cw_jobspec_get(js, "c"));
        /* Values changed by a caller are re-quoted as needed. */
        free(js->params[0].value);
        js->params[0].value = strdup("a \"q\" \\ ,=");
        text = cw_jobspec_format(js);
        assert_string_equal(text, "J:\"a \\\"q\\\" \\\\ ,=\",a=1,b=\"x y\"");
        free(text);
        cw_jobspec_free(js);
        cw_jobspec_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_name_valid),
                cmocka_unit_test(test_get_and_format_built),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
