/* config_jobs.c - pass two of loading the configuration file (see
 * config_internal.h): [cronwarden] and [admin] into the config, [defaults]
 * into the template every job starts from, each [job NAME] built from it
 * and checked as a whole, `after =` references and cycles, then the
 * [schedule] lines (config_schedule.c). The stored sections are walked in
 * a fixed order, so [defaults] may follow the jobs and [schedule] may come
 * first. */
#include "config_internal.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/argv.h"

/* Names shown in an `after` cycle message before it is cut. */
#define CYCLE_NAMES_MAX 32

static int apply_section(cfg_loader *L, const cfg_section *sec, void *obj, int *lines)
{
        cfg_env_seen_reset(L);
        for (size_t k = 0; k < sec->n_kvs; k++) {
                const cfg_kv *kv = &sec->kvs[k];
                int r;

                if (lines)
                        lines[kv->key->id] = kv->line;
                if (kv->broken || (kv->key->flags & CFG_DEFERRED))
                        continue;
                r = kv->key->apply(L, obj, kv);
                if (r == -ENOMEM)
                        return r;
        }
        /* env= lines (only in [defaults] and jobs) built the env aside. */
        if (L->env_seen.loaded)
                return cw_config_strv_freeze(L, L->env_seen.entries, L->env_seen.n_entries, false,
                                             &((cw_job *)obj)->env);
        return 0;
}

/* The built-in defaults, under [defaults]. Strings are in the arena:
 * every job starts as a shallow copy of the template and shares them. */
static int job_init_defaults(cfg_loader *L, cw_job *j)
{
        *j = (cw_job){0};
        j->lock = CW_LOCK_CLASS;
        j->ionice = CW_IONICE_UNSET;
        j->kill_grace = 10;
        j->concurrency = CW_CONCURRENCY_FORBID;
        j->catch_up = CW_CATCH_UP_ONCE;
        j->retry_delay = 60;
        j->notify_after_failures = 1;
        j->enabled = true;
        j->description = L->empty;
        return 0;
}

static bool env_has_key(const cw_strv *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=')
                        return true;
        return false;
}

static const cfg_kv *section_kv(const cfg_section *sec, cfg_key_id id)
{
        for (size_t k = 0; k < sec->n_kvs; k++)
                if (sec->kvs[k].key->id == id)
                        return &sec->kvs[k];
        return NULL;
}

/* A list of names from an embedding program, frozen into the arena. */
static int freeze_names(cfg_loader *L, const char *const *names, cw_strv *ret)
{
        size_t n = 0;

        while (names && names[n])
                n++;
        return n ? cw_config_strv_freeze(L, (char **)names, n, true, ret) : 0;
}

/* `function = NAME`: the job runs a function of the program that embeds
 * cronwarden (cronwarden.h). Its worker executes that program again
 * (/proc/self/exe: the worker is a process of it) with the internal
 * command `run-function NAME`; params reach it in the environment. The
 * function's description and declared params stand in for the
 * section's when it sets none. */
static int function_job(cfg_loader *L, cw_job *job, const int *lines)
{
        static const char *const argv[] = {"/proc/self/exe", "run-function", NULL};
        const cw_config_function *fn;
        const char *v[3];
        int r;

        if (!job->function)
                return 0; /* a bad name, already reported */
        fn = L->function ? L->function(L->function_userdata, job->function) : NULL;
        if (!fn) {
                cw_config_error(L, lines[CFG_K_FUNCTION],
                                L->function ? "function: '%s' is not registered by this program"
                                            : "function: '%s': function jobs run only under the "
                                              "program that registers them (docs/embedding.md)",
                                job->function);
                return 0;
        }
        /* The function's params are its contract: the section may not
         * redeclare them. */
        if (fn->args && lines[CFG_K_ARGS])
                cw_config_error(L, lines[CFG_K_ARGS], "args: function '%s' declares its own params",
                                job->function);
        if (fn->options && lines[CFG_K_OPTIONS])
                cw_config_error(L, lines[CFG_K_OPTIONS],
                                "options: function '%s' declares its own params", job->function);
        job->shell = false; /* there is no command line for a shell */
        v[0] = argv[0];
        v[1] = argv[1];
        v[2] = job->function;
        r = cw_config_strv_freeze(L, (char **)v, 3, true, &job->argv);
        if (r == 0 && !lines[CFG_K_DESCRIPTION] && fn->description) {
                job->description = cw_config_strdup(L, fn->description);
                r = job->description ? 0 : -ENOMEM;
        }
        if (r == 0 && !lines[CFG_K_ARGS])
                r = freeze_names(L, fn->args, &job->args);
        if (r == 0 && !lines[CFG_K_OPTIONS])
                r = freeze_names(L, fn->options, &job->options);
        return r;
}

/* Cross-key checks of one job, after all its keys and the defaults. */
static int job_finish(cfg_loader *L, const cfg_section *sec, cw_job *job, const int *lines)
{
        char q[CFG_QUOTE_MAX];
        cw_error err;
        int r;

        /* A job runs a command or a function. A command line that was
         * rejected has already been reported, so only a truly absent key
         * is. */
        if (lines[CFG_K_FUNCTION] && lines[CFG_K_COMMAND])
                cw_config_error(L, lines[CFG_K_FUNCTION],
                                "function: a job runs a command or a function, not both");
        else if (lines[CFG_K_FUNCTION] && (r = function_job(L, job, lines)) < 0)
                return r;
        else if (!lines[CFG_K_FUNCTION] && !lines[CFG_K_COMMAND])
                cw_config_error(L, sec->line, "[job %s]: missing command = ... (what the job runs)",
                                job->name);
        /* Without a shell, operators like '|' or '&&' would silently become
         * arguments: the classic crontab-migration mistake, so reject them. */
        if (job->command && !job->shell) {
                const cfg_kv *kv = section_kv(sec, CFG_K_COMMAND);

                _cleanup_(cw_strv_release) cw_strv argv = {0};

                r = cw_argv_split(job->command, CW_ARGV_REJECT_SHELL_OPS, &argv, &err);
                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        r = cw_config_strv_freeze(L, argv.v, argv.n, true, &job->argv);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        cw_config_error_caret(L, kv ? kv->line : sec->line, &err, job->command,
                                              "command: %s", err.msg);
                else if (job->argv.n == 0)
                        cw_config_error(L, kv ? kv->line : sec->line,
                                        "command: expected a command line, got only spaces");
        }
        for (size_t i = 0; i < job->options.n; i++)
                if (cw_strv_find(&job->args, job->options.v[i]) >= 0)
                        cw_config_error(L, lines[CFG_K_OPTIONS],
                                        "options: '%s' is also declared in args",
                                        job->options.v[i]);
        /* Secrets usually live in an env_file deployed next to the app,
         * which need not exist where the config is checked: only without
         * one can a missing name be known to be a mistake. */
        if (!job->env_file)
                for (size_t i = 0; i < job->secret_env.n; i++)
                        if (!env_has_key(&job->env, job->secret_env.v[i]))
                                cw_config_error(
                                        L, lines[CFG_K_SECRET_ENV],
                                        "secret_env: %s is not set by env (or an env_file) of job '%s'",
                                        cw_config_quote(job->secret_env.v[i], q), job->name);
        /* The liveness bounds (docs/config.md) only make sense in this order. */
        if (job->timeout > 0 && job->max_runtime >= job->timeout)
                cw_config_error(
                        L, lines[CFG_K_MAX_RUNTIME],
                        "max_runtime: expected less than timeout (a warning that comes after the kill never shows) in job '%s'",
                        job->name);
        if (job->max_runtime > 0 && job->min_runtime >= job->max_runtime)
                cw_config_error(L, lines[CFG_K_MIN_RUNTIME],
                                "min_runtime: expected less than max_runtime in job '%s'",
                                job->name);
        /* [smtp] is read before any job (cfg_load_global). */
        if (job->email.n > 0 && (!L->cfg->pub.smtp_url || !L->cfg->pub.smtp_from))
                cw_config_error(L, lines[CFG_K_EMAIL],
                                "email: needs an [smtp] section with url and from in job '%s'",
                                job->name);
        return 0;
}

static int build_job(cfg_loader *L, const cfg_section *sec, const cw_job *tmpl,
                     const int *tmpl_lines, size_t idx)
{
        cw_config *c = &L->cfg->pub;
        cw_job *job = &c->jobs[idx];
        cw_jobspec *js = NULL; /* the job's own spec, shared by its schedule lines */
        int lines[CFG_K__MAX];
        int r;

        /* A shallow copy: what the job does not set stays shared with
         * [defaults]. */
        *job = *tmpl;
        job->name = sec->name;
        job->line = sec->line;
        memcpy(lines, tmpl_lines, sizeof(lines));
        r = apply_section(L, sec, job, lines);
        if (r < 0)
                return r;
        if (!job->tz)
                job->tz = c->tz;
        L->after_line[idx] = lines[CFG_K_AFTER];
        r = job_finish(L, sec, job, lines);
        if (r < 0)
                return r;

        for (size_t k = 0; k < sec->n_kvs; k++) {
                const cfg_kv *kv = &sec->kvs[k];
                char names[200];

                if (kv->key->id != CFG_K_SCHEDULE || kv->broken)
                        continue;
                if (job->args.n > 0) {
                        cfg_join_names(&job->args, names, sizeof(names));
                        cw_config_error(
                                L, kv->line,
                                "schedule: job '%s' needs positional params (%s), which a schedule = line cannot give: "
                                "use run = SPEC %s:... in [schedule]",
                                job->name, names, job->name);
                        continue;
                }
                /* The canonical text of a spec without params is the
                 * job's name (a valid job name), so both are shared. */
                if (!js) {
                        js = cw_arena_zalloc(&L->cfg->arena, sizeof(*js), alignof(cw_jobspec));
                        if (!js)
                                return -ENOMEM;
                        js->name = job->name;
                }
                r = cfg_add_entry(L, idx, js, job->name, kv->text, 0, kv->text, "schedule",
                                  kv->line);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

/* Appends "name -> " pieces of a cycle to a bounded message buffer. */
static void cycle_append(char *buf, size_t size, size_t *n, const char *name, bool arrow)
{
        int w;

        if (*n >= size)
                return;
        w = snprintf(buf + *n, size - *n, "%s%s", arrow ? " -> " : "", name);
        if (w < 0 || (size_t)w >= size - *n)
                *n = size;
        else
                *n += (size_t)w;
}

/* Resolves after= names and reports unknown jobs and cycles. The walk is
 * iterative: a chain of 100 000 jobs must not exhaust the C stack. */
static int check_after(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        size_t n = c->n_jobs, total = 0, top = 0;
        _cleanup_free_ size_t *off = NULL, *adj = NULL, *stack = NULL, *next = NULL, *pos = NULL;
        _cleanup_free_ unsigned char *color = NULL;

        for (size_t i = 0; i < n; i++)
                total += c->jobs[i].after.n;
        if (total == 0)
                return 0;
        off = calloc(n + 1, sizeof(size_t));
        adj = calloc(total, sizeof(size_t));
        stack = calloc(n, sizeof(size_t));
        next = calloc(n, sizeof(size_t));
        pos = calloc(n, sizeof(size_t));
        color = calloc(n, 1);
        if (!off || !adj || !stack || !next || !pos || !color)
                return -ENOMEM;
        total = 0;
        for (size_t i = 0; i < n; i++) {
                const cw_job *job = &c->jobs[i];

                off[i] = total;
                for (size_t k = 0; k < job->after.n; k++) {
                        size_t t;

                        if (!cfg_map_get(&L->cfg->jobs, job->after.v[k], cfg_job_name_at, c->jobs,
                                         &t))
                                cw_config_error(L, L->after_line[i], "after: unknown job '%s'",
                                                job->after.v[k]);
                        else if (t == i)
                                cw_config_error(L, L->after_line[i],
                                                "after: job '%s' cannot run after itself",
                                                job->name);
                        else
                                adj[total++] = t;
                }
        }
        off[n] = total;

        /* color: 0 unvisited, 1 on the stack, 2 done. */
        for (size_t s = 0; s < n; s++) {
                if (color[s])
                        continue;
                stack[top++] = s;
                color[s] = 1;
                next[s] = off[s];
                pos[s] = 0;
                while (top > 0) {
                        size_t u = stack[top - 1], v;

                        if (next[u] == off[u + 1]) {
                                color[u] = 2;
                                top--;
                                continue;
                        }
                        v = adj[next[u]++];
                        if (color[v] == 0) {
                                color[v] = 1;
                                next[v] = off[v];
                                pos[v] = top;
                                stack[top++] = v;
                        } else if (color[v] == 1) {
                                char msg[1024];
                                size_t m = 0, shown = 0;

                                for (size_t k = pos[v]; k < top; k++, shown++) {
                                        if (shown == CYCLE_NAMES_MAX) {
                                                cycle_append(msg, sizeof(msg), &m, "...", true);
                                                break;
                                        }
                                        cycle_append(msg, sizeof(msg), &m, c->jobs[stack[k]].name,
                                                     k > pos[v]);
                                }
                                cycle_append(msg, sizeof(msg), &m, c->jobs[v].name, true);
                                cw_config_error(L, L->after_line[u], "after: dependency cycle %s",
                                                msg);
                        }
                }
        }
        return 0;
}

int cfg_load_global(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        cw_error err;
        int r;

        c->max_output = 1024 * 1024;
        c->keep_history = 90 * CW_SECS_PER_DAY;
        c->dead_timeout = 30;
        c->store = cw_config_strdup(L, "sqlite");
        c->admin_listen = cw_config_strdup(L, "127.0.0.1:8080");
        if (!c->store || !c->admin_listen)
                return -ENOMEM;
        for (size_t i = 0; i < L->n_sections; i++) {
                cfg_section_kind k = L->sections[i].kind;

                if (k == CFG_SEC_CRONWARDEN || k == CFG_SEC_ADMIN || k == CFG_SEC_SMTP) {
                        r = apply_section(L, &L->sections[i], c, NULL);
                        if (r < 0)
                                return r;
                }
        }
        if (!c->data_dir && !(c->data_dir = cw_config_path_absolute(L, ".cronwarden")))
                return -ENOMEM;
        if (!c->node) {
                char host[HOST_NAME_MAX + 1];

                if (gethostname(host, sizeof(host)) < 0 || !host[0])
                        snprintf(host, sizeof(host), "localhost");
                host[HOST_NAME_MAX] = '\0';
                c->node = cw_config_strdup(L, host);
                if (!c->node)
                        return -ENOMEM;
        }
        if (!c->tz) {
                bool wanted = false;

                for (size_t i = 0; i < L->n_sections; i++)
                        if (L->sections[i].kind == CFG_SEC_CRONWARDEN &&
                            section_kv(&L->sections[i], CFG_K_GLOBAL_TIMEZONE))
                                wanted = true;
                if (!wanted) {
                        cw_tz *tz = NULL;

                        r = cw_tz_load_system(&tz, &err);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                cw_config_error(
                                        L, 0,
                                        "cannot load the system time zone (%s): set timezone in [cronwarden]",
                                        err.msg);
                        else {
                                r = cfg_zone_adopt(L, tz);
                                if (r < 0)
                                        return r;
                                c->tz = tz;
                        }
                }
                if (!c->tz) {
                        /* An error is already recorded; carry on in UTC so the
                         * rest of the file is still checked. */
                        cw_tz *utc = cw_tz_utc();

                        if (!utc)
                                return -ENOMEM;
                        r = cfg_zone_adopt(L, utc);
                        if (r < 0)
                                return r;
                        c->tz = utc;
                }
        }
        return 0;
}

int cfg_load_jobs(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        cfg_map *names = &L->section_names;
        int tmpl_lines[CFG_K__MAX] = {0};
        size_t built = 0;
        cw_job tmpl;
        int r = 0;

        r = job_init_defaults(L, &tmpl);
        for (size_t i = 0; i < L->n_sections && r == 0; i++)
                if (L->sections[i].kind == CFG_SEC_DEFAULTS)
                        r = apply_section(L, &L->sections[i], &tmpl, tmpl_lines);
        if (r < 0)
                return r;
        c->defaults = tmpl;
        if (!c->defaults.tz)
                c->defaults.tz = c->tz;

        c->jobs = calloc(L->n_job_sections ? L->n_job_sections : 1, sizeof(cw_job));
        L->after_line = calloc(L->n_job_sections ? L->n_job_sections : 1, sizeof(int));
        c->entries = calloc(L->n_schedule_keys ? L->n_schedule_keys : 1, sizeof(cw_schedule_entry));
        if (!c->jobs || !L->after_line || !c->entries)
                return -ENOMEM;
        L->cap_entries = L->n_schedule_keys ? L->n_schedule_keys : 1;
        /* Every job is known before any is built: `after` and `run` may
         * name jobs further down. The table of section names becomes the
         * table of jobs, in place. */
        for (size_t i = 0; i < L->n_sections; i++)
                if (L->sections[i].kind == CFG_SEC_JOB)
                        c->jobs[L->sections[i].job].name = L->sections[i].name;
        for (size_t k = 0; k < names->cap; k++)
                if (names->slots[k].idx1)
                        names->slots[k].idx1 = L->sections[names->slots[k].idx1 - 1].job + 1;
        L->cfg->jobs = *names;
        *names = (cfg_map){0};
        c->n_jobs = L->n_job_sections;

        for (size_t i = 0; i < L->n_sections; i++) {
                if (L->sections[i].kind != CFG_SEC_JOB)
                        continue;
                r = build_job(L, &L->sections[i], &tmpl, tmpl_lines, L->sections[i].job);
                if (r < 0)
                        return r;
                /* Keeps the peak low with many jobs: raw values and the
                 * built job are never both held for every job. */
                cfg_section_release_values(&L->sections[i]);
#ifdef __GLIBC__
                /* glibc keeps freed memory in the middle of its heap
                 * resident; the section blocks freed so far are dead
                 * weight, as the built jobs live elsewhere (the jobs
                 * array, the arena's large blocks). Give their pages
                 * back now and then. */
                if (++built % 4096 == 0)
                        malloc_trim(0);
#else
                built++;
#endif
        }
        r = check_after(L);
        if (r < 0)
                return r;
        for (size_t i = 0; i < L->n_sections; i++) {
                const cfg_section *sec = &L->sections[i];

                if (sec->kind != CFG_SEC_SCHEDULE)
                        continue;
                for (size_t k = 0; k < sec->n_kvs; k++) {
                        if (sec->kvs[k].broken)
                                continue;
                        r = cfg_add_run(L, &sec->kvs[k]);
                        if (r == -ENOMEM)
                                return r;
                }
        }
        return 0;
}
