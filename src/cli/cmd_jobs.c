/* cmd_jobs.c - `cronwarden jobs` (one line per job) and `cronwarden info
 * NAME` (one job in full), as text tables or --json (jansson).
 *
 * With 100 000 jobs (docs/hacking.md, Quality targets) nothing is built for all jobs at
 * once: the table is measured in one pass and printed in a second, and
 * `jobs --json` writes the array one job object at a time, so memory
 * stays that of the loaded config.
 *
 * The store, when there is one, adds what the config does not say: the
 * per-job flags set by `disable`/`enable` or the admin UI (one query for
 * every disabled job), so ENABLED is the effective state, and the jobs
 * created in the admin UI from command entries ("ui-ID",
 * catalog/catalog.h), listed after the configured ones. A config whose
 * store was never created is listed from the config alone: listing jobs
 * does not create a store file. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/units.h"
#include "cli.h"
#include "catalog/entries.h"
#include "report/json.h"
#include "sched/jitter.h"
#include "sched/maint.h"

#define INFO_FIRES 5
#define SCHEDULE_COLUMN_MAX 48

/* When a schedule entry fires next, as seen from `now`. */
typedef enum next_kind { NEXT_AT, NEXT_AT_STARTUP, NEXT_NONE } next_kind;

static next_kind entry_next(const cw_tz *tz, const cw_schedule_entry *e, cw_time now, cw_time *ret)
{
        switch (cw_timespec_get_kind(e->when)) {
        case CW_TIMESPEC_REBOOT:
        case CW_TIMESPEC_EVERY:
                /* Until the run history knows the previous fire, an `every`
                 * entry fires first when the scheduler starts. */
                return NEXT_AT_STARTUP;
        default:
                return cw_timespec_next(e->when, tz, now, ret) == 0 ? NEXT_AT : NEXT_NONE;
        }
}

/* Schedule entries grouped by job (a counting sort), so listing 100 000
 * jobs stays linear: entries of job j are idx[start[j] .. start[j+1]). */
typedef struct entry_index {
        size_t *idx;
        size_t *start;
} entry_index;

static void entry_index_release(entry_index *ix)
{
        free(ix->idx);
        free(ix->start);
}

static int entry_index_build(const cw_config *cfg, entry_index *ix)
{
        size_t *fill;

        ix->idx = calloc(cfg->n_entries + 1, sizeof(size_t));
        ix->start = calloc(cfg->n_jobs + 2, sizeof(size_t));
        fill = calloc(cfg->n_jobs + 1, sizeof(size_t));
        if (!ix->idx || !ix->start || !fill) {
                free(fill);
                entry_index_release(ix);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cfg->n_entries; i++)
                ix->start[cfg->entries[i].job + 1]++;
        for (size_t j = 0; j < cfg->n_jobs; j++)
                ix->start[j + 1] += ix->start[j];
        /* Entries keep their file order within a job. */
        for (size_t i = 0; i < cfg->n_entries; i++) {
                size_t j = cfg->entries[i].job;
                ix->idx[ix->start[j] + fill[j]++] = i;
        }
        free(fill);
        return 0;
}

/* A job as listed: a configured one (ui == NULL), or one created in the
 * admin UI, with its effective enabled flag. */
typedef struct ui_job {
        cw_ui_job *u;             /* owned */
        char *why_not;            /* why it does not run now (owned), NULL when it does */
        const cw_ui_entry *entry; /* borrowed from the store view */
        cw_schedule_entry when;   /* its compiled entry (when.when NULL: does not compile) */
} ui_job;

typedef struct job_view {
        const cw_job *job;
        size_t index;     /* configured jobs: index into cfg->jobs */
        const ui_job *ui; /* UI jobs: the view's, else NULL */
        bool enabled;     /* the config's flag (UI: the entry's) and the store's */
} job_view;

/* What the store adds; all empty when there is no store. */
typedef struct store_view {
        char **disabled; /* sorted */
        size_t n_disabled;
        cw_ui_entry *entries;
        size_t n_entries;
        ui_job *ui;
        size_t n_ui;
} store_view;

static void store_view_release(store_view *v)
{
        cw_store_names_free(v->disabled, v->n_disabled);
        for (size_t i = 0; i < v->n_ui; i++) {
                cw_ui_job_free(v->ui[i].u);
                free(v->ui[i].why_not);
                cw_schedule_entry_release(&v->ui[i].when);
        }
        free(v->ui);
        cw_ui_entries_free(v->entries, v->n_entries);
        *v = (store_view){0};
}

static int name_cmp(const void *key, const void *elem)
{
        return strcmp(key, *(char *const *)elem);
}

static bool store_disabled(const store_view *v, const char *name)
{
        /* bsearch wants a non-NULL base even for 0 elements. */
        return v->n_disabled && bsearch(name, v->disabled, v->n_disabled, sizeof(char *), name_cmp);
}

static job_view config_job_view(const cw_config *cfg, const store_view *v, size_t i)
{
        const cw_job *j = &cfg->jobs[i];

        return (job_view){
                .job = j, .index = i, .enabled = j->enabled && !store_disabled(v, j->name)};
}

static job_view ui_job_view(const store_view *v, size_t k)
{
        const cw_job *j = &v->ui[k].u->job;

        return (job_view){
                .job = j, .ui = &v->ui[k], .enabled = j->enabled && !store_disabled(v, j->name)};
}

/* Reads the store's flags and UI jobs into *v when the store exists.
 * A store that cannot be read is a warning: the config is still listed. */
static int store_view_load(cw_cli *cli, const cw_config *cfg, store_view *v)
{
        _cleanup_(cw_store_closep) cw_store *s = NULL;
        cw_error e;
        int r;

        *v = (store_view){0};
        if (!cw_store_exists(cfg->store, cfg->data_dir))
                return 0; /* never created: nothing disabled, no UI jobs */
        cw_error_clear(&e);
        r = cw_store_open(cfg->store, cfg->data_dir, &s, &e);
        if (r == 0)
                r = cw_store_jobs_disabled(s, &v->disabled, &v->n_disabled);
        if (r == 0)
                r = cw_store_ui_entries_list(s, &v->entries, &v->n_entries);
        if (r == 0 && v->n_entries && !(v->ui = calloc(v->n_entries, sizeof(*v->ui))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < v->n_entries; i++) {
                const cw_ui_entry *en = &v->entries[i];
                ui_job *uj = &v->ui[v->n_ui];
                cw_error why;

                if (!en->command)
                        continue;
                cw_error_clear(&why);
                r = cw_ui_job_build_for_display(cfg, en, &uj->u, &uj->why_not, &why);
                if (r == -ENOMEM)
                        break;
                if (r < 0) { /* a command that no longer splits: the entry's page says why */
                        r = 0;
                        continue;
                }
                if (cw_config_job(cfg, uj->u->job.name)) {
                        /* The config's job of that name wins (and is listed). */
                        cw_ui_job_free(uj->u);
                        free(uj->why_not);
                        *uj = (ui_job){0};
                        continue;
                }
                uj->entry = en;
                if (!uj->why_not && cw_ui_entry_compile_stored(cfg, en, cw_instant_sec(cli->now),
                                                               &uj->when, NULL, NULL, &why) < 0)
                        uj->when = (cw_schedule_entry){0};
                v->n_ui++;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                fprintf(cli->err,
                        "%s: warning: cannot read the store (%s): listing the config's jobs and "
                        "enabled flags only\n",
                        cli->prog, e.msg[0] ? e.msg : strerror(-r));
                store_view_release(v);
        }
        return 0;
}

#define FOREACH_ENTRY(cfg, ix, job, e)                                                             \
        for (size_t _k = (ix)->start[job];                                                         \
             _k < (ix)->start[(job) + 1] && ((e) = &(cfg)->entries[(ix)->idx[_k]]); _k++)

/* The schedule entries of a job as listed: a configured job's from the
 * config, a UI job's one compiled entry. */
static size_t view_n_entries(const entry_index *ix, const job_view *v)
{
        if (v->ui)
                return v->ui->when.when ? 1 : 0;
        return ix->start[v->index + 1] - ix->start[v->index];
}

static const cw_schedule_entry *view_entry(const cw_config *cfg, const entry_index *ix,
                                           const job_view *v, size_t k)
{
        return v->ui ? &v->ui->when : &cfg->entries[ix->idx[ix->start[v->index] + k]];
}

#define FOREACH_VIEW_ENTRY(cfg, ix, v, e)                                                          \
        for (size_t _k = 0; _k < view_n_entries(ix, v) && ((e) = view_entry(cfg, ix, v, _k)); _k++)

/* The earliest next fire over the job's entries. */
static next_kind job_next(const cw_config *cfg, const entry_index *ix, const job_view *v,
                          cw_time now, cw_time *ret)
{
        const cw_schedule_entry *e;
        next_kind best = NEXT_NONE;
        cw_time bt = 0, t;

        FOREACH_VIEW_ENTRY(cfg, ix, v, e)
        {
                switch (entry_next(v->job->tz, e, now, &t)) {
                case NEXT_AT_STARTUP:
                        best = NEXT_AT_STARTUP;
                        break;
                case NEXT_AT:
                        if (best != NEXT_AT_STARTUP && (best == NEXT_NONE || t < bt)) {
                                best = NEXT_AT;
                                bt = t;
                        }
                        break;
                case NEXT_NONE:
                        break;
                }
        }
        *ret = bt;
        return best;
}

/* "15 5 * * *", plus the job spec when it carries params. */
static void entry_text(const job_view *v, const cw_schedule_entry *e, char *buf, size_t size)
{
        if (strcmp(e->spec_text, v->job->name) == 0)
                snprintf(buf, size, "%s", cw_timespec_text(e->when));
        else
                snprintf(buf, size, "%s %s", cw_timespec_text(e->when), e->spec_text);
}

/* The SCHEDULE column of a job: its entries and `after`, cut to
 * SCHEDULE_COLUMN_MAX bytes with "..." (`info` and --json show it whole). */
typedef struct sched_col {
        char s[SCHEDULE_COLUMN_MAX + 1];
        size_t n;
        bool cut;
} sched_col;

static void col_add(sched_col *c, const char *t)
{
        size_t k = strlen(t);

        if (c->cut)
                return;
        if (c->n + k > SCHEDULE_COLUMN_MAX) {
                k = SCHEDULE_COLUMN_MAX - c->n;
                c->cut = true;
        }
        memcpy(c->s + c->n, t, k);
        c->n += k;
        c->s[c->n] = '\0';
}

static const char *job_schedules_text(const cw_config *cfg, const entry_index *ix,
                                      const job_view *v, sched_col *c)
{
        const cw_job *j = v->job;
        const cw_schedule_entry *e;
        bool any = false;

        c->n = 0;
        c->cut = false;
        c->s[0] = '\0';
        FOREACH_VIEW_ENTRY(cfg, ix, v, e)
        {
                char buf[CW_TIMESPEC_TEXT_MAX + CW_JOBSPEC_TEXT_MAX + 2];
                entry_text(v, e, buf, sizeof(buf));
                if (any)
                        col_add(c, "; ");
                col_add(c, buf);
                any = true;
        }
        /* A UI job whose entry does not compile: its text as stored. */
        if (!any && v->ui && v->ui->entry->schedule) {
                col_add(c, v->ui->entry->schedule);
                any = true;
        }
        if (j->after.n) {
                col_add(c, any ? "; after " : "after ");
                for (size_t i = 0; i < j->after.n; i++) {
                        if (i)
                                col_add(c, ", ");
                        col_add(c, j->after.v[i]);
                }
                any = true;
        }
        if (!any)
                col_add(c, "-");
        if (c->cut)
                memcpy(c->s + SCHEDULE_COLUMN_MAX - 3, "...", 4);
        return c->s;
}

static void next_text(const cw_config *cfg, const entry_index *ix, const job_view *v, cw_time now,
                      char *buf, size_t size)
{
        char local[64], rel[48];
        cw_time t;

        if (!v->enabled) {
                snprintf(buf, size, "disabled");
                return;
        }
        if (v->ui && v->ui->why_not) {
                snprintf(buf, size, "does not run");
                return;
        }
        switch (job_next(cfg, ix, v, now, &t)) {
        case NEXT_AT:
                cli_format_local(v->job->tz, t, local, sizeof(local));
                cli_format_relative(now, t, rel, sizeof(rel));
                snprintf(buf, size, "%s (%s)", local, rel);
                break;
        case NEXT_AT_STARTUP:
                snprintf(buf, size, "at start-up");
                break;
        case NEXT_NONE:
                snprintf(buf, size, "-");
                break;
        }
}

/* One schedule entry as JSON (report/json.h), with up to n_fires next
 * instants; `every` entries fire first when the scheduler starts (the
 * CLI does not read the scheduler's state). */
static json_t *json_entry(const job_view *v, const cw_schedule_entry *e, cw_time now, int n_fires)
{
        const cw_tz *tz = v->job->tz;
        cw_time fires[INFO_FIRES], t = now;
        cw_json_entry je = {
                .source = v->ui ? "ui" : "config",
                .when = cw_timespec_text(e->when),
                .ts = e->when,
                .spec = e->spec_text,
                .tz = tz,
                .line = v->ui ? 0 : e->line,
                .entry_id = v->ui ? v->ui->entry->id : 0,
                .reboot = cw_timespec_get_kind(e->when) == CW_TIMESPEC_REBOOT,
                .fixed_time = cw_timespec_is_fixed_time(e->when),
                .fires = n_fires > 0 ? fires : NULL,
        };

        switch (entry_next(tz, e, now, &t)) {
        case NEXT_AT:
                je.next = t;
                while ((int)je.n_fires < n_fires && je.n_fires < INFO_FIRES) {
                        fires[je.n_fires++] = t;
                        if (cw_timespec_next(e->when, tz, t, &t) < 0)
                                break;
                }
                break;
        case NEXT_AT_STARTUP:
                je.at_startup = true;
                break;
        case NEXT_NONE:
                break;
        }
        return cw_json_entry_new(&je);
}

static json_t *json_job(const cw_config *cfg, const entry_index *ix, const job_view *v, cw_time now,
                        bool full)
{
        const cw_job *j = v->job;
        const cw_schedule_entry *e;
        bool runs = v->enabled && !(v->ui && v->ui->why_not);
        cw_json_job jj = {
                .job = j,
                /* Effective: the config's flag and the store's (`disable`, the UI). */
                .enabled = v->enabled,
                .enabled_config = j->enabled,
                .entry_id = v->ui ? v->ui->entry->id : 0,
                .runnable_error = v->ui ? v->ui->why_not : NULL,
        };
        json_t *o, *entries;
        cw_time t;

        switch (runs ? job_next(cfg, ix, v, now, &t) : NEXT_NONE) {
        case NEXT_AT:
                jj.next = t;
                break;
        case NEXT_AT_STARTUP:
                jj.next_at_startup = true;
                break;
        case NEXT_NONE:
                break;
        }
        o = cw_json_job_new(&jj);
        entries = o ? json_object_get(o, "schedules") : NULL;
        if (!entries) {
                json_decref(o);
                return NULL;
        }
        FOREACH_VIEW_ENTRY(cfg, ix, v, e)
        json_array_append_new(entries, json_entry(v, e, now, full ? INFO_FIRES : 0));
        if (full)
                cw_json_job_settings(o, j, v->ui != NULL);
        return o;
}

static int print_json(cw_cli *cli, json_t *v)
{
        int r;

        if (!v)
                return cli_fail(cli, "out of memory");
        r = json_dumpf(v, cli->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(v);
        fputc('\n', cli->out);
        return r == 0 ? CW_EXIT_OK : cli_fail(cli, "cannot write output");
}

/* Parses the options shared by jobs and info: --config, --help, --json. */
static int parse_list_options(cw_cli *cli, const cw_command *cmd, int argc, char **argv, bool *json,
                              bool *help)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS, {"json", no_argument, NULL, CLI_OPT_JSON}, {0}};
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, help))
                        continue;
                if (o != CLI_OPT_JSON)
                        return cli_usage_error(cli, cmd, "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                *json = true;
        }
        return CW_EXIT_OK;
}

static const char jobs_usage[] =
        "Usage: cronwarden [--config FILE] jobs [--json]\n"
        "\n"
        "List the jobs: name, schedules, next fire (in the job's time zone) and\n"
        "description. A job disabled with 'cronwarden disable' or the admin UI\n"
        "shows \"disabled\"; jobs created in the admin UI (ui-ID) follow the\n"
        "configured ones, marked so. The store is only read, never created.\n"
        "\n"
        "Options:\n"
        "      --json        print a JSON array of job objects\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 bad arguments, config or store error.\n";

/* The DESCRIPTION column: a UI job says where it comes from. */
static void description_text(const job_view *v, char *buf, size_t size)
{
        if (!v->ui)
                snprintf(buf, size, "%s", v->job->description);
        else
                snprintf(buf, size, "[created in the UI, entry #%lld]%s%s",
                         (long long)v->ui->entry->id, v->job->description[0] ? " " : "",
                         v->job->description);
}

static size_t n_views(const cw_config *cfg, const store_view *sv)
{
        return cfg->n_jobs + sv->n_ui;
}

static job_view view_at(const cw_config *cfg, const store_view *sv, size_t i)
{
        return i < cfg->n_jobs ? config_job_view(cfg, sv, i) : ui_job_view(sv, i - cfg->n_jobs);
}

static int print_jobs_table(cw_cli *cli, const cw_config *cfg, const entry_index *ix,
                            const store_view *sv)
{
        size_t wn = 4, ws = 8;
        char next[160], desc[CW_UI_DESCRIPTION_MAX + 64];
        sched_col col;

        /* Column widths first, then the rows: the schedule texts are
         * made twice rather than kept for every job. */
        for (size_t i = 0; i < n_views(cfg, sv); i++) {
                job_view v = view_at(cfg, sv, i);
                size_t n = strlen(v.job->name);

                if (n > wn)
                        wn = n;
                n = strlen(job_schedules_text(cfg, ix, &v, &col));
                if (n > ws)
                        ws = n;
        }
        fprintf(cli->out, "%-*s  %-*s  %-40s  %s\n", (int)wn, "NAME", (int)ws, "SCHEDULE", "NEXT",
                "DESCRIPTION");
        for (size_t i = 0; i < n_views(cfg, sv); i++) {
                job_view v = view_at(cfg, sv, i);

                next_text(cfg, ix, &v, cw_instant_sec(cli->now), next, sizeof(next));
                description_text(&v, desc, sizeof(desc));
                fprintf(cli->out, "%-*s  %-*s  %-40s  %s\n", (int)wn, v.job->name, (int)ws,
                        job_schedules_text(cfg, ix, &v, &col), next, desc);
        }
        return ferror(cli->out) ? cli_fail(cli, "cannot write output") : CW_EXIT_OK;
}

/* Writes jansson's output with every line indented by two more spaces:
 * an element of the top-level array. JSON strings hold no raw newline. */
static int json_indent_out(const char *buf, size_t size, void *data)
{
        FILE *f = data;
        const char *p = buf, *end = buf + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

                if (fwrite(p, 1, n, f) != n || (nl && fputs("  ", f) == EOF))
                        return -1;
                p += n;
        }
        return 0;
}

/* The JSON array of every job, one object at a time; the same text as
 * dumping the whole array with JSON_INDENT(2). */
static int print_jobs_json(cw_cli *cli, const cw_config *cfg, const entry_index *ix,
                           const store_view *sv)
{
        if (n_views(cfg, sv) == 0) {
                fputs("[]\n", cli->out);
                return ferror(cli->out) ? cli_fail(cli, "cannot write output") : CW_EXIT_OK;
        }
        fputs("[\n  ", cli->out);
        for (size_t i = 0; i < n_views(cfg, sv); i++) {
                job_view v = view_at(cfg, sv, i);
                json_t *o = json_job(cfg, ix, &v, cw_instant_sec(cli->now), false);
                int r;

                if (!o)
                        return cli_fail(cli, "out of memory");
                if (i)
                        fputs(",\n  ", cli->out);
                r = json_dump_callback(o, json_indent_out, cli->out,
                                       JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                json_decref(o);
                if (r != 0)
                        return cli_fail(cli, "cannot write output");
        }
        fputs("\n]\n", cli->out);
        return ferror(cli->out) ? cli_fail(cli, "cannot write output") : CW_EXIT_OK;
}

static int cmd_jobs(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        bool json = false, help = false;
        entry_index ix = {0};
        store_view sv = {0};
        int r;

        r = parse_list_options(cli, &cw_cmd_jobs, argc, argv, &json, &help);
        if (r != CW_EXIT_OK)
                return r;
        if (help) {
                fputs(jobs_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_jobs, "unexpected argument '%s'", argv[optind]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        if (entry_index_build(cfg, &ix) < 0 || store_view_load(cli, cfg, &sv) < 0) {
                entry_index_release(&ix);
                return cli_fail(cli, "out of memory");
        }
        r = json ? print_jobs_json(cli, cfg, &ix, &sv) : print_jobs_table(cli, cfg, &ix, &sv);
        store_view_release(&sv);
        entry_index_release(&ix);
        return r;
}

const cw_command cw_cmd_jobs = {
        .name = "jobs",
        .run = cmd_jobs,
        .summary = "list jobs with their schedules and next fire",
        .usage = jobs_usage,
};

static const char info_usage[] =
        "Usage: cronwarden [--config FILE] info NAME [--json]\n"
        "\n"
        "Show one job: description, command, declared params, settings, and every\n"
        "schedule entry with its next 5 fires.\n"
        "\n"
        "Options:\n"
        "      --json        print a JSON object\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 no such job, bad arguments, config or store error.\n";

static void print_strv_line(FILE *f, const char *label, const cw_strv *sv)
{
        if (!sv->n)
                return;
        fprintf(f, "%-14s", label);
        for (size_t i = 0; i < sv->n; i++)
                fprintf(f, "%s%s", i ? ", " : "", sv->v[i]);
        fputc('\n', f);
}

static void print_info_settings(FILE *f, const job_view *v)
{
        const cw_job *j = v->job;
        char d1[32], d2[32];

        fprintf(f, "%-14s%s\n", "Job:", j->name);
        if (j->description[0])
                fprintf(f, "%-14s%s\n", "Description:", j->description);
        fprintf(f, "%-14s%s%s\n", "Command:", j->command ? j->command : "",
                j->shell ? "  (via /bin/sh)" : "");
        if (j->args.n || j->options.n) {
                fprintf(f, "%-14s", "Params:");
                for (size_t i = 0; i < j->args.n; i++)
                        fprintf(f, "%s%s (positional %zu)", i ? ", " : "", j->args.v[i], i + 1);
                for (size_t i = 0; i < j->options.n; i++)
                        fprintf(f, "%s%s=VALUE (optional)", i || j->args.n ? ", " : "",
                                j->options.v[i]);
                fputc('\n', f);
        }
        if (v->ui)
                fprintf(f,
                        "%-14sthe admin UI, entry #%lld (a command entry; settings from [defaults])\n",
                        "Created in:", (long long)v->ui->entry->id);
        if (v->enabled)
                fprintf(f, "%-14syes\n", "Enabled:");
        else if (!j->enabled)
                fprintf(f, "%-14sno (%s)\n",
                        "Enabled:", v->ui ? "the entry is disabled" : "enabled = no in the config");
        else
                fprintf(f,
                        "%-14sno (disabled with 'cronwarden disable' or the admin UI; 'cronwarden enable %s' "
                        "turns it back on)\n",
                        "Enabled:", j->name);
        if (v->ui && v->ui->why_not)
                fprintf(f, "%-14s%s\n", "Does not run:", v->ui->why_not);
        fprintf(f, "%-14s%s (%s)\n", "Time zone:", cw_tz_name(j->tz),
                cw_tz_origin(j->tz, d1, sizeof(d1)));
        fprintf(f, "%-14s%s (name %s), concurrency %s, catch-up %s\n",
                "Lock:", cw_lock_mode_to_string(j->lock), j->lock_name ? j->lock_name : j->name,
                cw_concurrency_to_string(j->concurrency), cw_catch_up_to_string(j->catch_up));
        cw_duration_format(j->kill_grace, d2, sizeof(d2));
        if (j->timeout) {
                cw_duration_format(j->timeout, d1, sizeof(d1));
                fprintf(f, "%-14s%s, then SIGKILL after %s\n", "Timeout:", d1, d2);
        } else {
                fprintf(f, "%-14snone\n", "Timeout:");
        }
        if (j->retries) {
                cw_duration_format(j->retry_delay, d1, sizeof(d1));
                fprintf(f, "%-14s%d, first after %s, doubling\n", "Retries:", j->retries, d1);
        }
        if (j->jitter) {
                cw_duration_format(j->jitter, d1, sizeof(d1));
                fprintf(f, "%-14sup to %s after each scheduled fire\n", "Jitter:", d1);
        }
        if (j->priority)
                fprintf(f, "%-14s%d\n", "Priority:", j->priority);
        print_strv_line(f, "After:", &j->after);
        print_strv_line(f, "Hosts:", &j->hosts);
        if (j->workdir)
                fprintf(f, "%-14s%s\n", "Workdir:", j->workdir);
        if (j->run_as)
                fprintf(f, "%-14s%s\n", "Run as:", j->run_as);
}

/* After a fire of a jittered job: when it comes due (sched/jitter.h). */
static void print_jitter(cw_cli *cli, const cw_job *job, const cw_schedule_entry *e, cw_time t)
{
        char buf[64], dur[32];
        cw_duration d;

        if (job->jitter <= 0)
                return;
        d = cw_jitter_delay(e->spec_text, t, job->jitter);
        cw_duration_format(d, dur, sizeof(dur));
        cli_format_instant(job->tz, t + d, buf, sizeof(buf));
        fprintf(cli->out, "  jitter +%s: due %s", dur, buf);
}

static void print_info_schedules(cw_cli *cli, const cw_config *cfg, const entry_index *ix,
                                 const job_view *v)
{
        const cw_tz *tz = v->job->tz;
        const cw_schedule_entry *e;
        bool any = false;

        FOREACH_VIEW_ENTRY(cfg, ix, v, e)
        {
                char buf[64], text[CW_TIMESPEC_TEXT_MAX + CW_JOBSPEC_TEXT_MAX + 2], where[48];
                cw_time t = cw_instant_sec(cli->now);

                if (!any)
                        fprintf(cli->out, "Schedules:\n");
                any = true;
                entry_text(v, e, text, sizeof(text));
                if (v->ui)
                        snprintf(where, sizeof(where), "UI entry #%lld",
                                 (long long)v->ui->entry->id);
                else
                        snprintf(where, sizeof(where), "line %d", e->line);
                fprintf(cli->out, "  %s  (%s, %s)\n", text,
                        cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY ||
                                        cw_timespec_get_kind(e->when) == CW_TIMESPEC_REBOOT
                                ? "relative"
                                : (cw_timespec_is_fixed_time(e->when) ? "fixed-time" : "wildcard"),
                        where);
                switch (entry_next(tz, e, cw_instant_sec(cli->now), &t)) {
                case NEXT_AT_STARTUP:
                        fprintf(cli->out, "    at start-up%s\n",
                                cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY
                                        ? ", then at that interval"
                                        : "");
                        continue;
                case NEXT_NONE:
                        fprintf(cli->out, "    (no further fires)\n");
                        continue;
                case NEXT_AT:
                        break;
                }
                for (int k = 0; k < INFO_FIRES; k++) {
                        cw_maint_effect fx = cw_maint_effect_of(cfg, v->job, t);
                        cli_format_instant(tz, t, buf, sizeof(buf));
                        fprintf(cli->out, "    %s", buf);
                        if (fx.window && fx.deferred) {
                                cli_format_instant(tz, fx.to, buf, sizeof(buf));
                                fprintf(cli->out, "  deferred to %s: maintenance window %s", buf,
                                        fx.window->name);
                        } else if (fx.window) {
                                fprintf(cli->out, "  skipped: maintenance window %s",
                                        fx.window->name);
                        }
                        print_jitter(cli, v->job, e, t);
                        fputc('\n', cli->out);
                        if (cw_timespec_next(e->when, tz, t, &t) < 0)
                                break;
                }
        }
        if (!any && v->ui)
                fprintf(cli->out, "Schedules:    %s (UI entry #%lld, does not fire now)\n",
                        v->ui->entry->schedule, (long long)v->ui->entry->id);
        else if (!any)
                fprintf(cli->out, "Schedules:    none (runs only when requested%s)\n",
                        v->job->after.n ? " or after the jobs above" : "");
}

/* The job called name: configured, or created in the UI; false when none. */
static bool find_view(const cw_config *cfg, const store_view *sv, const char *name, job_view *ret)
{
        const cw_job *j = cw_config_job(cfg, name);

        if (j) {
                *ret = config_job_view(cfg, sv, (size_t)(j - cfg->jobs));
                return true;
        }
        for (size_t k = 0; k < sv->n_ui; k++)
                if (strcmp(sv->ui[k].u->job.name, name) == 0) {
                        *ret = ui_job_view(sv, k);
                        return true;
                }
        return false;
}

static int cmd_info(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        bool json = false, help = false;
        entry_index ix = {0};
        store_view sv = {0};
        job_view v;
        int r;

        r = parse_list_options(cli, &cw_cmd_info, argc, argv, &json, &help);
        if (r != CW_EXIT_OK)
                return r;
        if (help) {
                fputs(info_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_info, "missing job NAME");
        if (optind + 1 < argc)
                return cli_usage_error(cli, &cw_cmd_info, "unexpected argument '%s'",
                                       argv[optind + 1]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        if (entry_index_build(cfg, &ix) < 0 || store_view_load(cli, cfg, &sv) < 0) {
                entry_index_release(&ix);
                return cli_fail(cli, "out of memory");
        }
        if (!find_view(cfg, &sv, argv[optind], &v)) {
                r = cli_fail(
                        cli,
                        "no job named '%s' in %s or created in the admin UI (see 'cronwarden jobs')",
                        argv[optind], cfg->path);
        } else if (json) {
                r = print_json(cli, json_job(cfg, &ix, &v, cw_instant_sec(cli->now), true));
        } else {
                print_info_settings(cli->out, &v);
                print_info_schedules(cli, cfg, &ix, &v);
                r = CW_EXIT_OK;
        }
        store_view_release(&sv);
        entry_index_release(&ix);
        return r;
}

const cw_command cw_cmd_info = {
        .name = "info",
        .run = cmd_info,
        .summary = "show one job: settings, params, schedules and next fires",
        .usage = info_usage,
};
