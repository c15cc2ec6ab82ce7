/* test_tzwatch.c - unit tests for src/daemon/tzwatch.c: which changes
 * under a private zoneinfo tree count, and what the comparison of two
 * loads of one config reports.
 *
 * The tree holds a copy of a real zone (Europe/Warsaw, skipped when
 * missing) under Test/City and Test/Other, and a symlink Alias/City ->
 * ../Test/City, like the backward-compatible names of tzdata. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/tzwatch.h"

typedef struct tree {
        char dir[200];
        char path[300];
} tree;

static const char *at(tree *t, const char *name)
{
        snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
        return t->path;
}

static void copy(const char *from, const char *to)
{
        char buf[65536];
        FILE *in = fopen(from, "re"), *out = fopen(to, "we");
        size_t n;

        assert_non_null(in);
        assert_non_null(out);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        assert_int_equal(fclose(out), 0);
}

/* A new file renamed over name, as dpkg does. */
static void replace(tree *t, const char *name, const char *src)
{
        char tmp[320];

        snprintf(tmp, sizeof(tmp), "%s.dpkg-new", at(t, name));
        copy(src, tmp);
        assert_int_equal(rename(tmp, at(t, name)), 0);
}

static cw_config *load(tree *t, const char *zone_global, const char *zone_job)
{
        char text[1024];
        cw_config_opts o = {.zoneinfo_dir = t->dir, .now = 1800000000};
        cw_config_errors errs = {0};
        cw_config *cfg = NULL;
        int r;

        snprintf(text, sizeof(text),
                 "[cronwarden]\ndata_dir = %s/data\ntimezone = %s\n\n[job A]\ncommand = /bin/true\n"
                 "timezone = %s\nschedule = 0 12 * * *\n",
                 t->dir, zone_global, zone_job);
        r = cw_config_load_string("test.ini", text, strlen(text), &o, &cfg, &errs);
        if (r < 0)
                fail_msg("config: %s", errs.n ? errs.msgs[0] : strerror(-r));
        cw_config_errors_release(&errs);
        return cfg;
}

static int setup(void **state)
{
        tree *t = calloc(1, sizeof(*t));
        const char *base = getenv("TMPDIR");

        *state = NULL;
        if (access("/usr/share/zoneinfo/Europe/Warsaw", R_OK) != 0 ||
            access("/usr/share/zoneinfo/Europe/Lisbon", R_OK) != 0) {
                free(t);
                return 0; /* the tests skip */
        }
        snprintf(t->dir, sizeof(t->dir), "%s/cw-test-tzwatch-XXXXXX",
                 base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(t->dir));
        assert_int_equal(mkdir(at(t, "Test"), 0755), 0);
        assert_int_equal(mkdir(at(t, "Alias"), 0755), 0);
        copy("/usr/share/zoneinfo/Europe/Warsaw", at(t, "Test/City"));
        copy("/usr/share/zoneinfo/Europe/Warsaw", at(t, "Test/Other"));
        assert_int_equal(symlink("../Test/City", at(t, "Alias/City")), 0);
        *state = t;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        (void)remove(path);
        return 0;
}

static int teardown(void **state)
{
        tree *t = *state;

        if (!t)
                return 0;
        (void)nftw(t->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(t);
        return 0;
}

/* Each step changes the tree; the watcher must say 1 exactly when a
 * watched name changed. */
static void test_events(void **state)
{
        tree *t = *state;
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        cw_tzwatch *w = NULL;
        char other[320];

        if (!t)
                skip();
        cfg = load(t, "Test/Other", "Alias/City");
        assert_int_equal(cw_tzwatch_open(&w), 0);
        assert_int_equal(cw_tzwatch_set(w, cfg), 0);
        assert_int_equal(cw_tzwatch_read(w), 0);

        /* The link's target replaced: seen through the link. */
        replace(t, "Test/City", "/usr/share/zoneinfo/Europe/Lisbon");
        assert_int_equal(cw_tzwatch_read(w), 1);
        assert_int_equal(cw_tzwatch_read(w), 0);
        /* A file nobody uses, in a watched directory. */
        snprintf(other, sizeof(other), "%s", at(t, "Test/Unused"));
        copy("/usr/share/zoneinfo/Europe/Lisbon", other);
        assert_int_equal(cw_tzwatch_read(w), 0);
        /* A temporary file not yet renamed. */
        snprintf(other, sizeof(other), "%s.dpkg-new", at(t, "Test/City"));
        copy("/usr/share/zoneinfo/Europe/Lisbon", other);
        assert_int_equal(cw_tzwatch_read(w), 0);
        unlink(other);
        assert_int_equal(cw_tzwatch_read(w), 0);
        /* Made unreadable, written in place, removed: all count. */
        assert_int_equal(chmod(at(t, "Test/Other"), 0), 0);
        assert_int_equal(cw_tzwatch_read(w), 1);
        copy("/usr/share/zoneinfo/Europe/Lisbon", at(t, "Test/City"));
        assert_int_equal(cw_tzwatch_read(w), 1);
        assert_int_equal(unlink(at(t, "Test/City")), 0);
        assert_int_equal(cw_tzwatch_read(w), 1);
        /* The link itself re-pointed (ln -sf: a new link renamed over). */
        assert_int_equal(symlink("../Test/Other", at(t, "Alias/City.new")), 0);
        assert_int_equal(cw_tzwatch_read(w), 0);
        snprintf(other, sizeof(other), "%s", at(t, "Alias/City"));
        assert_int_equal(rename(at(t, "Alias/City.new"), other), 0);
        assert_int_equal(cw_tzwatch_read(w), 1);
        /* Watching the same set again drops no watch and invents no event. */
        assert_int_equal(cw_tzwatch_set(w, cfg), 0);
        assert_int_equal(cw_tzwatch_read(w), 0);
        cw_tzwatch_free(w);
}

typedef struct seen {
        int zones, moves;
        cw_time old_next, new_next;
} seen;

static void collect(void *userdata, const cw_tzwatch_change *c)
{
        seen *s = userdata;

        if (!c->entry) {
                s->zones++;
                return;
        }
        s->moves++;
        s->old_next = c->old_next;
        s->new_next = c->new_next;
}

/* Same files: nothing to report. New rules for the job's zone: the zone
 * and its entry's next fire are reported. */
static void test_compare(void **state)
{
        tree *t = *state;
        _cleanup_(cw_config_freep) cw_config *a = NULL;
        _cleanup_(cw_config_freep) cw_config *same = NULL;
        _cleanup_(cw_config_freep) cw_config *b = NULL;
        seen s = {0};

        if (!t)
                skip();
        a = load(t, "UTC", "Test/City");
        same = load(t, "UTC", "Test/City");
        assert_int_equal(cw_tzwatch_compare(a, same, 1800000000, collect, &s), 0);
        assert_int_equal(s.zones + s.moves, 0);
        /* Warsaw is UTC+1 in winter, Lisbon UTC+0: 12:00 moves an hour later. */
        replace(t, "Test/City", "/usr/share/zoneinfo/Europe/Lisbon");
        b = load(t, "UTC", "Test/City");
        assert_int_equal(cw_tzwatch_compare(a, b, 1800000000, collect, &s), 1);
        assert_int_equal(s.zones, 1);
        assert_int_equal(s.moves, 1);
        assert_int_equal(s.new_next - s.old_next, 3600);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
