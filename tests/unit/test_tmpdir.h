/* test_tmpdir.h - removing a test's own temporary directory tree, shared
 * by the unit tests that make one with mkdtemp. */
#ifndef CW_TEST_TMPDIR_H
#define CW_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Deletes path and everything below it (no symlinks are followed: an
 * entry that is not a directory is unlinked). */
static inline void test_remove_tree(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d) {
                unlink(path);
                return;
        }
        while ((de = readdir(d))) {
                char sub[4096];
                int n;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                if (n < 0 || (size_t)n >= sizeof(sub))
                        continue; /* deeper than any test makes */
                test_remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
}

#endif
