/* cmd_jobs.c - `cronwarden jobs` (one line per job) and `cronwarden info
 * NAME` (one job in full), as text tables or --json (jansson).
 *
 * With 100 000 jobs (PRODUCT.md §12) nothing is built for all jobs at
 * once: the table is measured in one pass and printed in a second, and
 * `jobs --json` writes the array one job object at a time, so memory
 * stays that of the loaded config. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "cli.h"

#define INFO_FIRES 5
#define SCHEDULE_COLUMN_MAX 48

/* When a schedule entry fires next, as seen from `now`. */
typedef enum next_kind { NEXT_AT, NEXT_AT_STARTUP, NEXT_NONE } next_kind;

static next_kind entry_next(const cw_config *cfg, const cw_schedule_entry *e, cw_time now, cw_time *ret)
{
        switch (cw_timespec_get_kind(e->when)) {
        case CW_TIMESPEC_REBOOT:
        case CW_TIMESPEC_EVERY:
                /* Until the run history knows the previous fire, an `every`
                 * entry fires first when the scheduler starts. */
                return NEXT_AT_STARTUP;
        default:
                return cw_timespec_next(e->when, cfg->jobs[e->job].tz, now, ret) == 0 ? NEXT_AT : NEXT_NONE;
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

#define FOREACH_ENTRY(cfg, ix, job, e)                                                              \
        for (size_t _k = (ix)->start[job]; _k < (ix)->start[(job) + 1] && ((e) = &(cfg)->entries[(ix)->idx[_k]]); _k++)

/* The earliest next fire over the job's entries. */
static next_kind job_next(const cw_config *cfg, const entry_index *ix, size_t job, cw_time now, cw_time *ret)
{
        const cw_schedule_entry *e;
        next_kind best = NEXT_NONE;
        cw_time bt = 0, t;

        FOREACH_ENTRY(cfg, ix, job, e) {
                switch (entry_next(cfg, e, now, &t)) {
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
static void entry_text(const cw_config *cfg, const cw_schedule_entry *e, char *buf, size_t size)
{
        if (strcmp(e->spec_text, cfg->jobs[e->job].name) == 0)
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

static const char *job_schedules_text(const cw_config *cfg, const entry_index *ix, size_t job, sched_col *c)
{
        const cw_job *j = &cfg->jobs[job];
        const cw_schedule_entry *e;
        bool any = false;

        c->n = 0;
        c->cut = false;
        c->s[0] = '\0';
        FOREACH_ENTRY(cfg, ix, job, e) {
                char buf[CW_TIMESPEC_TEXT_MAX + CW_JOBSPEC_TEXT_MAX + 2];
                entry_text(cfg, e, buf, sizeof(buf));
                if (any)
                        col_add(c, "; ");
                col_add(c, buf);
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

static void next_text(const cw_config *cfg, const entry_index *ix, size_t job, cw_time now, char *buf, size_t size)
{
        char local[64], rel[48];
        cw_time t;

        if (!cfg->jobs[job].enabled) {
                snprintf(buf, size, "disabled");
                return;
        }
        switch (job_next(cfg, ix, job, now, &t)) {
        case NEXT_AT:
                cli_format_local(cfg->jobs[job].tz, t, local, sizeof(local));
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

static json_t *json_strv(const cw_strv *sv)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < sv->n; i++)
                json_array_append_new(a, json_string(sv->v[i]));
        return a;
}

static json_t *json_instant(const cw_tz *tz, cw_time t)
{
        char buf[64];

        cli_format_instant(tz, t, buf, sizeof(buf));
        return json_string(buf);
}

/* One schedule entry as JSON, with up to n_fires next instants. */
static json_t *json_entry(const cw_config *cfg, const cw_schedule_entry *e, cw_time now, int n_fires)
{
        const cw_tz *tz = cfg->jobs[e->job].tz;
        json_t *o = json_object(), *fires = json_array();
        cw_time t = now;

        json_object_set_new(o, "spec", json_string(cw_timespec_text(e->when)));
        json_object_set_new(o, "job_spec", json_string(e->spec_text));
        json_object_set_new(o, "timezone", json_string(cw_tz_name(tz)));
        json_object_set_new(o, "fixed_time", json_boolean(cw_timespec_is_fixed_time(e->when)));
        json_object_set_new(o, "line", json_integer(e->line));
        switch (entry_next(cfg, e, now, &t)) {
        case NEXT_AT:
                json_object_set_new(o, "next", json_instant(tz, t));
                for (int k = 0; k < n_fires; k++) {
                        json_array_append_new(fires, json_instant(tz, t));
                        if (cw_timespec_next(e->when, tz, t, &t) < 0)
                                break;
                }
                break;
        case NEXT_AT_STARTUP:
                json_object_set_new(o, "next", json_string("startup"));
                break;
        case NEXT_NONE:
                json_object_set_new(o, "next", json_null());
                break;
        }
        if (n_fires > 0)
                json_object_set_new(o, "next_fires", fires);
        else
                json_decref(fires);
        return o;
}

static json_t *json_job(const cw_config *cfg, const entry_index *ix, size_t job, cw_time now, bool full)
{
        const cw_job *j = &cfg->jobs[job];
        const cw_schedule_entry *e;
        json_t *o = json_object(), *entries = json_array();
        cw_time t;

        json_object_set_new(o, "name", json_string(j->name));
        json_object_set_new(o, "description", json_string(j->description));
        json_object_set_new(o, "enabled", json_boolean(j->enabled));
        json_object_set_new(o, "timezone", json_string(cw_tz_name(j->tz)));
        FOREACH_ENTRY(cfg, ix, job, e)
                json_array_append_new(entries, json_entry(cfg, e, now, full ? INFO_FIRES : 0));
        json_object_set_new(o, "schedules", entries);
        json_object_set_new(o, "after", json_strv(&j->after));
        switch (j->enabled ? job_next(cfg, ix, job, now, &t) : NEXT_NONE) {
        case NEXT_AT: json_object_set_new(o, "next", json_instant(j->tz, t)); break;
        case NEXT_AT_STARTUP: json_object_set_new(o, "next", json_string("startup")); break;
        case NEXT_NONE: json_object_set_new(o, "next", json_null()); break;
        }
        if (!full)
                return o;
        json_object_set_new(o, "command", json_string(j->command ? j->command : ""));
        json_object_set_new(o, "shell", json_boolean(j->shell));
        json_object_set_new(o, "args", json_strv(&j->args));
        json_object_set_new(o, "options", json_strv(&j->options));
        json_object_set_new(o, "lock", json_string(cw_lock_mode_to_string(j->lock)));
        json_object_set_new(o, "lock_name", json_string(j->lock_name ? j->lock_name : j->name));
        json_object_set_new(o, "concurrency", json_string(cw_concurrency_to_string(j->concurrency)));
        json_object_set_new(o, "catch_up", json_string(cw_catch_up_to_string(j->catch_up)));
        json_object_set_new(o, "timeout", json_integer(j->timeout));
        json_object_set_new(o, "kill_grace", json_integer(j->kill_grace));
        json_object_set_new(o, "retries", json_integer(j->retries));
        json_object_set_new(o, "retry_delay", json_integer(j->retry_delay));
        json_object_set_new(o, "can_resume", json_boolean(j->can_resume));
        json_object_set_new(o, "hosts", json_strv(&j->hosts));
        json_object_set_new(o, "workdir", j->workdir ? json_string(j->workdir) : json_null());
        json_object_set_new(o, "run_as", j->run_as ? json_string(j->run_as) : json_null());
        json_object_set_new(o, "line", json_integer(j->line));
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
static int parse_list_options(cw_cli *cli, const cw_command *cmd, int argc, char **argv, bool *json, bool *help)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {"json", no_argument, NULL, CLI_OPT_JSON}, {0}};
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, help))
                        continue;
                if (o != CLI_OPT_JSON)
                        return cli_usage_error(cli, cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
                *json = true;
        }
        return CW_EXIT_OK;
}

static const char jobs_usage[] =
        "Usage: cronwarden [--config FILE] jobs [--json]\n"
        "\n"
        "List the configured jobs: name, schedules, next fire (in the job's time\n"
        "zone) and description.\n"
        "\n"
        "Options:\n"
        "      --json        print a JSON array of job objects\n"
        "      --config FILE config file\n"
        "      --help        show this help\n";

static int print_jobs_table(cw_cli *cli, const cw_config *cfg, const entry_index *ix)
{
        size_t wn = 4, ws = 8;
        char next[160];
        sched_col col;

        /* Column widths first, then the rows: the schedule texts are
         * made twice rather than kept for every job. */
        for (size_t i = 0; i < cfg->n_jobs; i++) {
                size_t n = strlen(cfg->jobs[i].name);

                if (n > wn)
                        wn = n;
                n = strlen(job_schedules_text(cfg, ix, i, &col));
                if (n > ws)
                        ws = n;
        }
        fprintf(cli->out, "%-*s  %-*s  %-40s  %s\n", (int)wn, "NAME", (int)ws, "SCHEDULE", "NEXT", "DESCRIPTION");
        for (size_t i = 0; i < cfg->n_jobs; i++) {
                next_text(cfg, ix, i, cli->now, next, sizeof(next));
                fprintf(cli->out, "%-*s  %-*s  %-40s  %s\n", (int)wn, cfg->jobs[i].name, (int)ws,
                        job_schedules_text(cfg, ix, i, &col), next, cfg->jobs[i].description);
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
static int print_jobs_json(cw_cli *cli, const cw_config *cfg, const entry_index *ix)
{
        if (cfg->n_jobs == 0) {
                fputs("[]\n", cli->out);
                return ferror(cli->out) ? cli_fail(cli, "cannot write output") : CW_EXIT_OK;
        }
        fputs("[\n  ", cli->out);
        for (size_t i = 0; i < cfg->n_jobs; i++) {
                json_t *o = json_job(cfg, ix, i, cli->now, false);
                int r;

                if (!o)
                        return cli_fail(cli, "out of memory");
                if (i)
                        fputs(",\n  ", cli->out);
                r = json_dump_callback(o, json_indent_out, cli->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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
        if (entry_index_build(cfg, &ix) < 0)
                return cli_fail(cli, "out of memory");
        r = json ? print_jobs_json(cli, cfg, &ix) : print_jobs_table(cli, cfg, &ix);
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
        "      --help        show this help\n";

static void print_strv_line(FILE *f, const char *label, const cw_strv *sv)
{
        if (!sv->n)
                return;
        fprintf(f, "%-14s", label);
        for (size_t i = 0; i < sv->n; i++)
                fprintf(f, "%s%s", i ? ", " : "", sv->v[i]);
        fputc('\n', f);
}

static void print_info_settings(FILE *f, const cw_job *j)
{
        char d1[32], d2[32];

        fprintf(f, "%-14s%s\n", "Job:", j->name);
        if (j->description[0])
                fprintf(f, "%-14s%s\n", "Description:", j->description);
        fprintf(f, "%-14s%s%s\n", "Command:", j->command ? j->command : "", j->shell ? "  (via /bin/sh)" : "");
        if (j->args.n || j->options.n) {
                fprintf(f, "%-14s", "Params:");
                for (size_t i = 0; i < j->args.n; i++)
                        fprintf(f, "%s%s (positional %zu)", i ? ", " : "", j->args.v[i], i + 1);
                for (size_t i = 0; i < j->options.n; i++)
                        fprintf(f, "%s%s=VALUE (optional)", i || j->args.n ? ", " : "", j->options.v[i]);
                fputc('\n', f);
        }
        fprintf(f, "%-14s%s\n", "Enabled:", j->enabled ? "yes" : "no");
        fprintf(f, "%-14s%s\n", "Time zone:", cw_tz_name(j->tz));
        fprintf(f, "%-14s%s (name %s), concurrency %s, catch-up %s\n", "Lock:", cw_lock_mode_to_string(j->lock),
                j->lock_name ? j->lock_name : j->name, cw_concurrency_to_string(j->concurrency),
                cw_catch_up_to_string(j->catch_up));
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
        print_strv_line(f, "After:", &j->after);
        print_strv_line(f, "Hosts:", &j->hosts);
        if (j->workdir)
                fprintf(f, "%-14s%s\n", "Workdir:", j->workdir);
        if (j->run_as)
                fprintf(f, "%-14s%s\n", "Run as:", j->run_as);
}

static void print_info_schedules(cw_cli *cli, const cw_config *cfg, const entry_index *ix, size_t job)
{
        const cw_tz *tz = cfg->jobs[job].tz;
        const cw_schedule_entry *e;
        bool any = false;

        FOREACH_ENTRY(cfg, ix, job, e) {
                char buf[64], text[CW_TIMESPEC_TEXT_MAX + CW_JOBSPEC_TEXT_MAX + 2];
                cw_time t = cli->now;

                if (!any)
                        fprintf(cli->out, "Schedules:\n");
                any = true;
                entry_text(cfg, e, text, sizeof(text));
                fprintf(cli->out, "  %s  (%s, line %d)\n", text,
                        cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY ||
                                        cw_timespec_get_kind(e->when) == CW_TIMESPEC_REBOOT
                                ? "relative"
                                : (cw_timespec_is_fixed_time(e->when) ? "fixed-time" : "wildcard"),
                        e->line);
                switch (entry_next(cfg, e, cli->now, &t)) {
                case NEXT_AT_STARTUP:
                        fprintf(cli->out, "    at start-up%s\n",
                                cw_timespec_get_kind(e->when) == CW_TIMESPEC_EVERY ? ", then at that interval" : "");
                        continue;
                case NEXT_NONE:
                        fprintf(cli->out, "    (no further fires)\n");
                        continue;
                case NEXT_AT:
                        break;
                }
                for (int k = 0; k < INFO_FIRES; k++) {
                        cli_format_instant(tz, t, buf, sizeof(buf));
                        fprintf(cli->out, "    %s\n", buf);
                        if (cw_timespec_next(e->when, tz, t, &t) < 0)
                                break;
                }
        }
        if (!any)
                fprintf(cli->out, "Schedules:    none (runs only when requested%s)\n",
                        cfg->jobs[job].after.n ? " or after the jobs above" : "");
}

static int cmd_info(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        bool json = false, help = false;
        entry_index ix = {0};
        const cw_job *j;
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
                return cli_usage_error(cli, &cw_cmd_info, "unexpected argument '%s'", argv[optind + 1]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        j = cw_config_job(cfg, argv[optind]);
        if (!j)
                return cli_fail(cli, "no job named '%s' in %s (see 'cronwarden jobs')", argv[optind], cfg->path);
        if (entry_index_build(cfg, &ix) < 0)
                return cli_fail(cli, "out of memory");
        if (json) {
                r = print_json(cli, json_job(cfg, &ix, (size_t)(j - cfg->jobs), cli->now, true));
        } else {
                print_info_settings(cli->out, j);
                print_info_schedules(cli, cfg, &ix, (size_t)(j - cfg->jobs));
                r = CW_EXIT_OK;
        }
        entry_index_release(&ix);
        return r;
}

const cw_command cw_cmd_info = {
        .name = "info",
        .run = cmd_info,
        .summary = "show one job: settings, params, schedules and next fires",
        .usage = info_usage,
};
