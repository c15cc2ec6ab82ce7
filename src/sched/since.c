/* since.c - the instant each schedule entry came into force (see since.h).
 *
 * The stored value is one line per entry, "SINCE<TAB>KEY", where KEY is
 * "SPEC<TAB>TIMESPEC<TAB>ZONE". It is kept sorted by KEY, so a pass looks
 * an entry up by binary search, and the keys of one job spec are
 * contiguous (which is how an edit is told from a new job). */
#include "since.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/buf.h"
#include "base/macro.h"

typedef struct item {
        char *key;
        cw_time since;
        bool present;
} item;

struct cw_sched_since {
        item *old; /* sorted by key */
        size_t n_old, cap_old, n_present;
        item *added;
        size_t n_added, cap_added;
        bool had_set;
        cw_time last, now;
};

static int item_cmp(const void *a, const void *b)
{
        return strcmp(((const item *)a)->key, ((const item *)b)->key);
}

static int parse(cw_sched_since *s, const char *text)
{
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
                char *tab;
                long long t = strtoll(p, &tab, 10);

                if (tab < end && *tab == '\t' && t > 0) {
                        if (cw_array_reserve((void **)&s->old, &s->cap_old, s->n_old + 1,
                                             sizeof(item), 16) < 0)
                                return -ENOMEM;
                        s->old[s->n_old].key = strndup(tab + 1, (size_t)(end - tab - 1));
                        if (!s->old[s->n_old].key)
                                return -ENOMEM;
                        s->old[s->n_old].since = t;
                        s->old[s->n_old++].present = false;
                }
                p = nl ? nl + 1 : end;
        }
        if (s->n_old)
                qsort(s->old, s->n_old, sizeof(item), item_cmp);
        return 0;
}

int cw_sched_since_load(cw_store *store, cw_time last, cw_time now, cw_sched_since **ret)
{
        cw_sched_since *s = calloc(1, sizeof(*s));
        _cleanup_free_ char *text = NULL;
        int r;

        if (!s)
                return -ENOMEM;
        s->last = last;
        s->now = now;
        r = cw_store_state_get(store, CW_SCHED_SINCE_KEY, &text);
        if (r == 0) {
                s->had_set = true;
                r = parse(s, text);
        } else if (r == -ENOENT) {
                r = 0;
        }
        if (r < 0) {
                cw_sched_since_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* The first index whose key is >= k. */
static size_t lower_bound(const cw_sched_since *s, const char *k)
{
        size_t lo = 0, hi = s->n_old;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(s->old[mid].key, k) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

cw_time cw_sched_since_get(cw_sched_since *s, const cw_schedule_entry *e, const cw_tz *tz,
                           cw_time changed_at, bool *ret_changed)
{
        const char *zone = tz ? cw_tz_name(tz) : "";
        const char *when = cw_timespec_text(e->when);
        size_t spec_len = strlen(e->spec_text);
        _cleanup_free_ char *key = NULL;
        size_t i;
        item *it;

        if (ret_changed)
                *ret_changed = false;
        if (asprintf(&key, "%s\t%s\t%s", e->spec_text, when ? when : "", zone ? zone : "") < 0) {
                key = NULL;
                return 0;
        }
        i = lower_bound(s, key);
        if (i < s->n_old && strcmp(s->old[i].key, key) == 0) {
                if (!s->old[i].present)
                        s->n_present++;
                s->old[i].present = true;
                return s->old[i].since;
        }
        /* Not seen before. The job spec's other keys sort just before or
         * after this one: any of them means the time spec was edited. */
        if (ret_changed) {
                size_t j = lower_bound(s, e->spec_text);
                *ret_changed = j < s->n_old &&
                               strncmp(s->old[j].key, e->spec_text, spec_len) == 0 &&
                               s->old[j].key[spec_len] == '\t';
        }
        if (cw_array_reserve((void **)&s->added, &s->cap_added, s->n_added + 1, sizeof(item), 16) <
            0)
                return 0;
        it = &s->added[s->n_added++];
        it->key = CW_TAKE_PTR(key);
        /* Without a set (a store from before it existed), every entry
         * counts as in force since the last pass. */
        if (!s->had_set)
                it->since = s->last;
        else if (changed_at >= s->last && changed_at <= s->now)
                it->since = changed_at;
        else
                it->since = s->now;
        it->present = true;
        return it->since;
}

static int append(cw_buf *b, const item *it)
{
        return cw_buf_printf(b, "%" PRId64 "\t%s\n", (int64_t)it->since, it->key);
}

int cw_sched_since_save(cw_sched_since *s, cw_store *store)
{
        cw_buf b = CW_BUF_INIT(64 * 1024 * 1024);
        int r = 0;

        if (s->had_set && s->n_added == 0 && s->n_present == s->n_old)
                return 0;
        if (s->n_added)
                qsort(s->added, s->n_added, sizeof(item), item_cmp);
        for (size_t i = 0; i < s->n_old && r == 0; i++)
                if (s->old[i].present)
                        r = append(&b, &s->old[i]);
        for (size_t i = 0; i < s->n_added && r == 0; i++)
                if (i == 0 || strcmp(s->added[i].key, s->added[i - 1].key) != 0)
                        r = append(&b, &s->added[i]);
        if (r == 0)
                r = cw_store_state_set(store, CW_SCHED_SINCE_KEY, b.len ? b.p : "");
        cw_buf_release(&b);
        return r < 0 ? r : 0;
}

void cw_sched_since_free(cw_sched_since *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_old; i++)
                free(s->old[i].key);
        for (size_t i = 0; i < s->n_added; i++)
                free(s->added[i].key);
        free(s->old);
        free(s->added);
        free(s);
}
