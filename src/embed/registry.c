/* registry.c - the function jobs a program registers (cronwarden.h). A
 * registry is a small array in registration order, looked up by a linear
 * scan: programs register tens of functions, and a lookup happens once
 * per config load or run. Each entry owns copies of everything the
 * caller's cronwarden_function points to, so the caller's may be a
 * temporary. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "embed/embed_internal.h"
#include "jobspec/jobspec.h"

typedef struct fn_entry {
        cronwarden_function fn; /* its strings point into the copies below */
        cw_config_function decl;
        char *name, *description;
        cw_strv args, options;
} fn_entry;

struct cronwarden_registry {
        fn_entry **v;
        size_t n, cap;
};

/* The process's registry (cronwarden_default_registry): the one piece of
 * state the library keeps, because the command line's entry point is
 * cronwarden_main(argc, argv). Static storage, so it needs no set-up and
 * cannot fail. */
static cronwarden_registry process_registry;

cronwarden_registry *cronwarden_default_registry(void)
{
        return &process_registry;
}

/* reg, or the process's registry for NULL. */
static cronwarden_registry *reg_or_default(cronwarden_registry *reg)
{
        return reg ? reg : &process_registry;
}

static const cronwarden_registry *creg_or_default(const cronwarden_registry *reg)
{
        return reg ? reg : &process_registry;
}

cronwarden_registry *cronwarden_registry_new(void)
{
        return calloc(1, sizeof(cronwarden_registry));
}

static void entry_free(fn_entry *e)
{
        if (!e)
                return;
        free(e->name);
        free(e->description);
        cw_strv_release(&e->args);
        cw_strv_release(&e->options);
        free(e);
}

void cronwarden_registry_free(cronwarden_registry *reg)
{
        if (!reg || reg == &process_registry)
                return;
        for (size_t i = 0; i < reg->n; i++)
                entry_free(reg->v[i]);
        free(reg->v);
        free(reg);
}

/* A param name as args and options take them: letters, digits, '_' and
 * '-', starting with a letter or '_'. */
static bool param_name_valid(const char *s)
{
        if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
                return false;
        for (; *s; s++)
                if (!(*s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') ||
                      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

/* Copies a NULL-terminated list of param names into *ret (NULL: none). */
static int copy_names(const char *const *names, cw_strv *ret)
{
        for (size_t i = 0; names && names[i]; i++) {
                if (!param_name_valid(names[i]))
                        return -EINVAL;
                if (cw_strv_push(ret, names[i]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static ssize_t find(const cronwarden_registry *reg, const char *name)
{
        for (size_t i = 0; name && i < reg->n; i++)
                if (strcmp(reg->v[i]->name, name) == 0)
                        return (ssize_t)i;
        return -1;
}

static int entry_new(const cronwarden_function *fn, fn_entry **ret)
{
        fn_entry *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        e->name = strdup(fn->name);
        e->description = fn->description ? strdup(fn->description) : NULL;
        r = !e->name || (fn->description && !e->description) ? -ENOMEM : 0;
        if (r == 0)
                r = copy_names(fn->args, &e->args);
        if (r == 0)
                r = copy_names(fn->options, &e->options);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        e->fn = *fn;
        e->fn.name = e->name;
        e->fn.description = e->description;
        /* cw_strv keeps its vector NULL-terminated; an empty one is NULL. */
        e->fn.args = fn->args ? (const char *const *)e->args.v : NULL;
        e->fn.options = fn->options ? (const char *const *)e->options.v : NULL;
        e->decl = (cw_config_function){e->description, e->fn.args, e->fn.options};
        *ret = e;
        return 0;
}

int cronwarden_register(cronwarden_registry *reg, const cronwarden_function *fn)
{
        fn_entry *e;
        int r;

        reg = reg_or_default(reg);
        if (!fn || !fn->run || !fn->name || !cw_jobspec_name_valid(fn->name))
                return -EINVAL;
        if (find(reg, fn->name) >= 0)
                return -EEXIST;
        if (reg->n == reg->cap) {
                size_t cap = reg->cap ? reg->cap * 2 : 8;
                fn_entry **v = realloc(reg->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                reg->v = v;
                reg->cap = cap;
        }
        r = entry_new(fn, &e);
        if (r < 0)
                return r;
        reg->v[reg->n++] = e;
        return 0;
}

const cronwarden_function *cronwarden_lookup(const cronwarden_registry *reg, const char *name)
{
        ssize_t i;

        reg = creg_or_default(reg);
        i = find(reg, name);

        return i >= 0 ? &reg->v[i]->fn : NULL;
}

int cronwarden_unregister(cronwarden_registry *reg, const char *name)
{
        ssize_t i;

        reg = reg_or_default(reg);
        i = find(reg, name);

        if (i < 0)
                return -ENOENT;
        entry_free(reg->v[i]);
        memmove(reg->v + i, reg->v + i + 1, (reg->n - (size_t)i - 1) * sizeof(*reg->v));
        reg->n--;
        return 0;
}

size_t cronwarden_registry_size(const cronwarden_registry *reg)
{
        return creg_or_default(reg)->n;
}

const cronwarden_function *cronwarden_registry_at(const cronwarden_registry *reg, size_t i)
{
        reg = creg_or_default(reg);
        return i < reg->n ? &reg->v[i]->fn : NULL;
}

const cw_config_function *cw_embed_function_decl(const void *registry, const char *name)
{
        const cronwarden_registry *reg = registry;
        ssize_t i = reg ? find(reg, name) : -1;

        return i >= 0 ? &reg->v[i]->decl : NULL;
}
