/* module.c - finding and loading a module (module.h): the path is decided
 * from the environment and /proc/self/exe the way the daemon finds its
 * lean spawner (src/cli/spawn.c), then dlopen(RTLD_NOW) resolves every
 * symbol at once, so a module that cannot work fails here, with its
 * reason, rather than at its first call. */
#include "base/module.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The path of module `file` into buf: see module.h for the order. When no
 * candidate exists, the one the program should have (the error names it):
 * in CW_LIBEXECDIR for the installed program, else beside it. */
static int module_path(const char *file, char *buf, size_t size)
{
        const char *dir = getenv(CW_MODULE_DIR_ENV);
        char self[PATH_MAX];
        const char *slash;
        ssize_t len;
        int dirlen, n;

        if (dir && dir[0]) {
                n = snprintf(buf, size, "%s/%s", dir, file);
                return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
        }
        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len < 0)
                return -errno;
        self[len] = '\0';
        slash = strrchr(self, '/');
        dirlen = slash ? (int)(slash - self) : 0;
        n = snprintf(buf, size, "%.*s/%s", dirlen, self, file);
        if (n <= 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        if (access(buf, F_OK) == 0)
                return 0;
#if defined(CW_LIBEXECDIR) && defined(CW_BINDIR)
        if ((size_t)dirlen == strlen(CW_BINDIR) && strncmp(self, CW_BINDIR, dirlen) == 0) {
                n = snprintf(buf, size, "%s/%s", CW_LIBEXECDIR, file);
                return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
        }
#endif
        return 0;
}

/* dlerror's text without the path it often starts with (the caller's
 * message names the path already). */
static const char *why_of(const char *path)
{
        const char *e = dlerror();
        size_t n = strlen(path);

        if (!e)
                return "unknown error";
        if (strncmp(e, path, n) == 0 && strncmp(e + n, ": ", 2) == 0)
                return e + n + 2;
        return e;
}

int cw_module_load(const char *file, const char *what, size_t layout, const void **ret_table,
                   cw_error *err)
{
        char path[PATH_MAX];
        const cw_module_info *info;
        void *h;
        int r;

        r = module_path(file, path, sizeof(path));
        if (r < 0)
                return cw_error_fail(err, r, "%s not installed: %s: %s", what, file, strerror(-r));
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!h)
                return cw_error_fail(err, access(path, F_OK) == 0 ? -ENOEXEC : -ENOENT,
                                     "%s not installed: %s: %s", what, path, why_of(path));
        info = dlsym(h, CW_MODULE_SYMBOL);
        if (!info)
                return cw_error_fail(err, -ENOEXEC, "%s not installed: %s: %s", what, path,
                                     why_of(path));
        if (strcmp(info->name, file) != 0)
                return cw_error_fail(err, -ENOEXEC, "%s not installed: %s: is the module %s", what,
                                     path, info->name);
        if (strcmp(info->version, CW_VERSION) != 0)
                return cw_error_fail(err, -ENOEXEC,
                                     "%s not installed: %s: built for cronwarden %s, not %s "
                                     "(install it with this program)",
                                     what, path, info->version, CW_VERSION);
        if (info->layout != layout)
                return cw_error_fail(err, -ENOEXEC,
                                     "%s not installed: %s: built from other sources than this "
                                     "program (install it with this program)",
                                     what, path);
        *ret_table = info->table;
        return 0;
}
