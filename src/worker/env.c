/* env.c - building the job's environment and argv (env.h).
 *
 * Everything here runs in the worker before the fork: user lookups go
 * through NSS (getpwnam_r, getgrouplist), which may open files or talk to
 * daemons and is not safe between fork and exec. The results are plain
 * vectors the child hands to execve.
 *
 * env_file syntax is the common subset of Docker's --env-file, systemd's
 * EnvironmentFile and python-dotenv that means the same in all of them:
 * KEY=value, optional "export ", '#' comment lines, and one pair of
 * surrounding quotes removed. Escapes and inline comments after unquoted
 * values are not interpreted (they differ between those tools), so a value
 * is always taken literally. */
#include "env.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* ---- users ------------------------------------------------------------ */

void cw_env_user_release(cw_env_user *u)
{
        if (!u)
                return;
        free(u->name);
        free(u->home);
        free(u->shell);
        free(u->groups);
        *u = (cw_env_user){0};
}

static int user_groups(const char *name, gid_t gid, cw_env_user *u)
{
        int n = 16;

        for (int tries = 0; tries < 8; tries++) {
                gid_t *g = realloc(u->groups, (size_t)n * sizeof(gid_t));
                int want = n;

                if (!g)
                        return -ENOMEM;
                u->groups = g;
                if (getgrouplist(name, gid, g, &want) >= 0) {
                        u->n_groups = want;
                        return 0;
                }
                /* want now holds the size needed (glibc). */
                n = want > n ? want : n * 2;
        }
        return -EIO;
}

int cw_env_user_lookup(const char *name, cw_env_user *ret, cw_error *err)
{
        _cleanup_(cw_env_user_release) cw_env_user u = {0};
        struct passwd pw, *found = NULL;
        size_t size = 4096;
        _cleanup_free_ char *buf = NULL;
        uid_t euid = geteuid();
        int r;

        for (;;) {
                char *nb = realloc(buf, size);

                if (!nb)
                        return -ENOMEM;
                buf = nb;
                r = name ? getpwnam_r(name, &pw, buf, size, &found)
                         : getpwuid_r(euid, &pw, buf, size, &found);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 2;
        }
        if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM)
                return cw_error_fail(err, -EIO, "cannot look up user '%s': %s",
                                     name ? name : "(current)", strerror(r));
        if (!found) {
                char num[32];

                if (name)
                        return cw_error_fail(err, -ENOENT, "unknown user '%s'", name);
                /* Containers often run as a uid with no passwd entry:
                 * the job still needs HOME, USER and SHELL. */
                snprintf(num, sizeof(num), "%u", (unsigned)euid);
                u.uid = euid;
                u.gid = getegid();
                u.name = strdup(num);
                u.home = strdup("/");
                u.shell = strdup("/bin/sh");
                if (!u.name || !u.home || !u.shell)
                        return -ENOMEM;
                u.groups = malloc(sizeof(gid_t));
                if (!u.groups)
                        return -ENOMEM;
                u.groups[0] = u.gid;
                u.n_groups = 1;
                *ret = u;
                u = (cw_env_user){0};
                return 0;
        }
        u.uid = pw.pw_uid;
        u.gid = pw.pw_gid;
        u.name = strdup(pw.pw_name);
        u.home = strdup(pw.pw_dir && pw.pw_dir[0] ? pw.pw_dir : "/");
        u.shell = strdup(pw.pw_shell && pw.pw_shell[0] ? pw.pw_shell : "/bin/sh");
        if (!u.name || !u.home || !u.shell)
                return -ENOMEM;
        r = user_groups(u.name, u.gid, &u);
        if (r < 0)
                return cw_error_fail(err, r, "cannot list the groups of user '%s'", u.name);
        *ret = u;
        u = (cw_env_user){0};
        return 0;
}

/* ---- environment vectors ---------------------------------------------- */

static long env_find(const cw_strv *env, const char *key, size_t klen)
{
        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, klen) == 0 && env->v[i][klen] == '=')
                        return (long)i;
        return -1;
}

/* key is klen bytes (not necessarily NUL-terminated there). */
static int env_set_n(cw_strv *env, const char *key, size_t klen, const char *value, size_t vlen)
{
        char *entry = malloc(klen + vlen + 2);
        long i;

        if (!entry)
                return -ENOMEM;
        memcpy(entry, key, klen);
        entry[klen] = '=';
        memcpy(entry + klen + 1, value, vlen);
        entry[klen + 1 + vlen] = '\0';
        i = env_find(env, key, klen);
        if (i >= 0) {
                free(env->v[i]);
                env->v[i] = entry;
                return 0;
        }
        return cw_strv_consume(env, entry);
}

int cw_env_set(cw_strv *env, const char *key, const char *value)
{
        return env_set_n(env, key, strlen(key), value, strlen(value));
}

const char *cw_env_get(const cw_strv *env, const char *key)
{
        long i = env_find(env, key, strlen(key));

        return i >= 0 ? env->v[i] + strlen(key) + 1 : NULL;
}

/* ---- env_file ------------------------------------------------------------- */

static bool is_key_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
        return is_key_start(c) || (c >= '0' && c <= '9');
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* The line for a message: at most 60 bytes, control bytes as '?'. */
static const char *quote_line(const char *s, size_t len, char buf[static 64])
{
        size_t n = len > 60 ? 60 : len;

        for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? '?' : s[i];
        buf[n] = '\0';
        return buf;
}

/* One line (without its '\n' or '\r'), lineno for messages. */
static int parse_line(const char *name, int lineno, const char *s, size_t len, cw_strv *env,
                      cw_error *err)
{
        const char *end = s + len, *p = s, *key, *val, *vend;
        char q[64];
        size_t klen;

        while (p < end && is_blank(*p))
                p++;
        if (p == end || *p == '#')
                return 0;
        if (end - p > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6])) {
                p += 7;
                while (p < end && is_blank(*p))
                        p++;
        }
        key = p;
        if (p == end || !is_key_start(*p))
                goto bad;
        while (p < end && is_key_char(*p))
                p++;
        klen = (size_t)(p - key);
        while (p < end && is_blank(*p))
                p++;
        if (p == end || *p != '=')
                goto bad;
        if (klen > 256)
                return cw_error_fail(err, -EINVAL,
                                     "%s:%d: variable name is too long (at most 256 bytes)", name,
                                     lineno);
        if (klen >= 11 && memcmp(key, "CRONWARDEN_", 11) == 0)
                return cw_error_fail(
                        err, -EINVAL,
                        "%s:%d: names starting with CRONWARDEN_ are set by cronwarden itself, got '%.*s'",
                        name, lineno, (int)(klen > 64 ? 64 : klen), key);
        p++;
        while (p < end && is_blank(*p))
                p++;
        vend = end;
        while (vend > p && is_blank(vend[-1]))
                vend--;
        val = p;
        if (p < vend && (*p == '"' || *p == '\'')) {
                const char *close = memchr(p + 1, *p, (size_t)(vend - p - 1));
                const char *after;

                if (!close)
                        return cw_error_fail(err, -EINVAL, "%s:%d: %s: missing closing %c quote",
                                             name, lineno, quote_line(key, klen, q), *p);
                after = close + 1;
                while (after < vend && is_blank(*after))
                        after++;
                if (after < vend && *after != '#')
                        return cw_error_fail(
                                err, -EINVAL,
                                "%s:%d: %s: unexpected text after the closing quote: %s", name,
                                lineno, quote_line(key, klen, q),
                                quote_line(after, (size_t)(vend - after), (char[64]){0}));
                val = p + 1;
                vend = close;
        }
        return env_set_n(env, key, klen, val, (size_t)(vend - val));
bad:
        return cw_error_fail(err, -EINVAL, "%s:%d: expected KEY=value, got '%s'", name, lineno,
                             quote_line(s, len, q));
}

int cw_env_file_parse(const char *name, const char *text, size_t len, cw_strv *env, cw_error *err)
{
        const char *p = text, *end = text + len;
        int lineno = 0;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                size_t n = (size_t)(le - p);
                int r;

                lineno++;
                if (memchr(p, '\0', n))
                        return cw_error_fail(err, -EINVAL, "%s:%d: line contains a NUL byte", name,
                                             lineno);
                if (n > 0 && p[n - 1] == '\r')
                        n--;
                r = parse_line(name, lineno, p, n, env, err);
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : end;
        }
        return 0;
}

int cw_env_file_load(const char *path, cw_strv *env, cw_error *err)
{
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int fd, r = 0;

        /* O_NONBLOCK: opening a FIFO for reading would wait for a writer
         * forever; the type is checked on the descriptor, after. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return cw_error_fail(err, -errno, "env_file: cannot open '%s': %s", path,
                                     strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return cw_error_fail(err, -EINVAL, "env_file: '%s' is not a regular file", path);
        }
        buf = malloc(CW_ENV_FILE_MAX + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        /* Read one byte past the limit to tell "exactly max" from "more". */
        for (;;) {
                ssize_t n = read(fd, buf + len, CW_ENV_FILE_MAX + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > CW_ENV_FILE_MAX) {
                        r = -EFBIG;
                        break;
                }
        }
        close(fd);
        if (r == -EFBIG)
                return cw_error_fail(err, r, "env_file: '%s' is larger than %d bytes", path,
                                     CW_ENV_FILE_MAX);
        if (r < 0)
                return cw_error_fail(err, r, "env_file: cannot read '%s': %s", path, strerror(-r));
        return cw_env_file_parse(path, buf, len, env, err);
}

/* ---- the job's environment and argv ----------------------------------------- */

int cw_env_build(const cw_env_vars *v, cw_strv *ret, cw_error *err)
{
        _cleanup_(cw_strv_release) cw_strv env = {0};
        const cw_job *job = v->job;
        const cw_jobspec *spec = v->spec;
        char num[32], key[300];
        int r;

        if (cw_env_set(&env, "PATH", DEFAULT_PATH) < 0 ||
            cw_env_set(&env, "HOME", v->user->home) < 0 ||
            cw_env_set(&env, "USER", v->user->name) < 0 ||
            cw_env_set(&env, "LOGNAME", v->user->name) < 0 ||
            cw_env_set(&env, "SHELL", v->user->shell) < 0 ||
            cw_env_set(&env, "LANG", "C.UTF-8") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < job->env.n; i++) {
                const char *e = job->env.v[i], *eq = strchr(e, '=');

                if (!eq)
                        continue; /* the config loader guarantees one */
                r = env_set_n(&env, e, (size_t)(eq - e), eq + 1, strlen(eq + 1));
                if (r < 0)
                        return r;
        }
        if (job->env_file) {
                r = cw_env_file_load(job->env_file, &env, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; spec && i < spec->n_positional; i++) {
                snprintf(key, sizeof(key), "CRONWARDEN_ARG_%zu", i + 1);
                if (cw_env_set(&env, key, spec->params[i].value) < 0)
                        return -ENOMEM;
        }
        for (size_t i = spec ? spec->n_positional : 0; spec && i < spec->n_params; i++) {
                const char *k = spec->params[i].key;
                size_t n = strlen("CRONWARDEN_OPT_"), j;

                memcpy(key, "CRONWARDEN_OPT_", n);
                for (j = 0; k[j] && n + j + 1 < sizeof(key); j++) {
                        char c = k[j];

                        key[n + j] = c == '-' ? '_' : c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
                }
                key[n + j] = '\0';
                if (cw_env_set(&env, key, spec->params[i].value) < 0)
                        return -ENOMEM;
        }
        snprintf(num, sizeof(num), "%" PRId64, v->run_id);
        if (cw_env_set(&env, "CRONWARDEN_RUN_ID", num) < 0 ||
            cw_env_set(&env, "CRONWARDEN_JOB", job->name) < 0)
                return -ENOMEM;
        snprintf(num, sizeof(num), "%d", v->progress_fd);
        if (cw_env_set(&env, "CRONWARDEN_PROGRESS_FD", num) < 0 ||
            cw_env_set(&env, "CRONWARDEN_SCHEDULED_AT", v->scheduled_at) < 0)
                return -ENOMEM;
        snprintf(num, sizeof(num), "%" PRId64, v->fence);
        if (v->fence > 0 && cw_env_set(&env, "CRONWARDEN_FENCE_TOKEN", num) < 0)
                return -ENOMEM;
        *ret = env;
        env = (cw_strv){0};
        return 0;
}

static int push_params(const cw_jobspec *spec, cw_strv *argv)
{
        for (size_t i = 0; spec && i < spec->n_params; i++) {
                const cw_param *p = &spec->params[i];
                int r;

                if (!p->key) {
                        r = cw_strv_push(argv, p->value);
                } else {
                        size_t kl = strlen(p->key), vl = strlen(p->value);
                        char *s = malloc(kl + vl + 4);

                        if (!s)
                                return -ENOMEM;
                        memcpy(s, "--", 2);
                        memcpy(s + 2, p->key, kl);
                        s[2 + kl] = '=';
                        memcpy(s + 3 + kl, p->value, vl + 1);
                        r = cw_strv_consume(argv, s);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int cw_env_argv(const cw_job *job, const cw_jobspec *spec, cw_strv *ret)
{
        _cleanup_(cw_strv_release) cw_strv argv = {0};
        int r;

        if (job->shell) {
                size_t n = job->command ? strlen(job->command) : 0;
                char *script;

                if (n == 0)
                        return -EINVAL;
                /* With params, "$@" hands them to the command as separate
                 * words, never re-parsed by the shell. Without, the command
                 * runs exactly as written (as cron would run it): a trailing
                 * "$@" would break scripts ending in `fi`, `done` or `;`. */
                bool params = spec && spec->n_params > 0;
                script = malloc(n + sizeof(" \"$@\""));
                if (!script)
                        return -ENOMEM;
                memcpy(script, job->command, n);
                if (params)
                        memcpy(script + n, " \"$@\"", sizeof(" \"$@\""));
                else
                        script[n] = '\0';
                if (cw_strv_push(&argv, "/bin/sh") < 0 || cw_strv_push(&argv, "-c") < 0 ||
                    cw_strv_consume(&argv, script) < 0 || cw_strv_push(&argv, "cronwarden") < 0)
                        return -ENOMEM;
        } else {
                if (job->argv.n == 0)
                        return -EINVAL;
                for (size_t i = 0; i < job->argv.n; i++)
                        if (cw_strv_push(&argv, job->argv.v[i]) < 0)
                                return -ENOMEM;
        }
        r = push_params(spec, &argv);
        if (r < 0)
                return r;
        *ret = argv;
        argv = (cw_strv){0};
        return 0;
}
