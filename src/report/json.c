/* json.c - runs, jobs and schedule entries as JSON objects (see json.h).
 *
 * Field order is the order of docs/api.md so that `--json` output reads
 * like the reference. A field that does not apply is present and null
 * rather than absent, so scripts can index every object the same way. */
#include <stdio.h>

#include "base/iso8601.h"
#include "report/json.h"

json_t *cw_json_str(const char *s)
{
        return s ? json_string(s) : json_null();
}

json_t *cw_json_strv(const cw_strv *sv)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < sv->n; i++)
                json_array_append_new(a, json_string(sv->v[i]));
        return a;
}

void cw_json_set_instant(json_t *o, const char *name, int64_t us)
{
        char iso[CW_ISO8601_MAX], key[64];

        snprintf(key, sizeof(key), "%s_ts", name);
        if (us <= 0 || cw_iso8601_format(cw_floordiv(us, 1000000), 0, iso, sizeof(iso)) < 0) {
                json_object_set_new(o, name, json_null());
                json_object_set_new(o, key, json_null());
                return;
        }
        json_object_set_new(o, name, json_string(iso));
        json_object_set_new(o, key, json_real((double)us / 1e6));
}

json_t *cw_json_fire(cw_time t, const cw_tz *tz)
{
        char iso[CW_ISO8601_MAX];

        if (t <= 0 || cw_iso8601_format(t, tz ? cw_tz_utoff(tz, t) : 0, iso, sizeof(iso)) < 0)
                return json_null();
        return json_string(iso);
}

void cw_json_set_fire(json_t *o, const char *name, cw_time t, const cw_tz *tz)
{
        char key[64];

        snprintf(key, sizeof(key), "%s_ts", name);
        json_object_set_new(o, name, cw_json_fire(t, tz));
        json_object_set_new(o, key, t > 0 ? json_integer(t) : json_null());
}

double cw_json_run_duration(const cw_run *r, int64_t now_us)
{
        int64_t end;

        if (!r || r->started_us <= 0 || r->status == CW_RUN_SKIPPED || r->status == CW_RUN_MISSED)
                return 0;
        end = r->ended_us > 0                     ? r->ended_us
              : cw_run_status_is_final(r->status) ? r->started_us
                                                  : now_us;
        return end > r->started_us ? (double)(end - r->started_us) / 1e6 : 0;
}

double cw_json_run_percent(const cw_run *r)
{
        double p;

        if (!r || r->progress_done < 0 || r->progress_total <= 0)
                return -1;
        p = 100.0 * (double)r->progress_done / (double)r->progress_total;
        return p < 0 ? 0 : p > 100 ? 100 : p;
}

static json_t *int_or_null(bool present, int64_t v)
{
        return present ? json_integer(v) : json_null();
}

static json_t *progress_json(const cw_run *r)
{
        double pct = cw_json_run_percent(r);
        json_t *p;

        if (r->progress_done < 0)
                return json_null();
        p = json_object();
        if (!p)
                return NULL;
        json_object_set_new(p, "done", json_integer(r->progress_done));
        json_object_set_new(p, "total", int_or_null(r->progress_total > 0, r->progress_total));
        json_object_set_new(p, "percent", pct >= 0 ? json_real(pct) : json_null());
        return p;
}

json_t *cw_json_run(const cw_run *r, int64_t now_us)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "job", cw_json_str(r->job));
        json_object_set_new(o, "spec", cw_json_str(r->spec));
        json_object_set_new(o, "node", cw_json_str(r->node));
        json_object_set_new(o, "status", json_string(cw_run_status_to_string(r->status)));
        json_object_set_new(o, "trigger", json_string(cw_trigger_to_string(r->trigger)));
        json_object_set_new(o, "attempt", json_integer(r->attempt));
        /* The fire of a schedule entry this run is for. The store also
         * keeps an instant for other triggers (a request or a dependency
         * records when it was taken), which is not a schedule's: null. */
        cw_json_set_fire(o, "scheduled_at", r->trigger == CW_TRIGGER_SCHEDULE ? r->scheduled_at : 0,
                         NULL);
        cw_json_set_instant(o, "started", r->started_us);
        cw_json_set_instant(o, "ended", r->ended_us);
        json_object_set_new(o, "duration", json_real(cw_json_run_duration(r, now_us)));
        json_object_set_new(o, "exit_code", int_or_null(r->exit_code >= 0, r->exit_code));
        json_object_set_new(o, "signal", int_or_null(r->signal > 0, r->signal));
        json_object_set_new(o, "pid", int_or_null(r->pid > 0, r->pid));
        json_object_set_new(o, "worker_pid", int_or_null(r->worker_pid > 0, r->worker_pid));
        json_object_set_new(o, "progress", progress_json(r));
        json_object_set_new(o, "reason", cw_json_str(r->reason));
        json_object_set_new(o, "output_size", json_integer((json_int_t)r->output_size));
        json_object_set_new(o, "output_truncated", json_boolean(r->output_truncated));
        json_object_set_new(o, "lock_key", cw_json_str(r->lock_key));
        json_object_set_new(o, "resume", json_string(cw_resume_state_to_string(r->resume)));
        json_object_set_new(o, "resumed_from", int_or_null(r->resumed_from > 0, r->resumed_from));
        return o;
}

static json_t *fires_json(const cw_json_entry *e, bool ts)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < e->n_fires; i++)
                json_array_append_new(a, ts ? json_integer(e->fires[i])
                                            : cw_json_fire(e->fires[i], e->tz));
        return a;
}

/* The normal form of a spec (timespec.h): equal for two entries exactly
 * when they are one schedule, whatever their texts. */
static json_t *canonical_json(const cw_timespec *ts)
{
        char buf[CW_TIMESPEC_CANONICAL_MAX];

        if (!ts || cw_timespec_format(ts, buf, sizeof(buf)) < 0)
                return json_null();
        return json_string(buf);
}

json_t *cw_json_entry_new(const cw_json_entry *e)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "source", json_string(e->source));
        json_object_set_new(o, "when", json_string(e->when));
        json_object_set_new(o, "when_canonical", canonical_json(e->ts));
        json_object_set_new(o, "spec", json_string(e->spec));
        json_object_set_new(o, "zone", cw_json_str(e->tz ? cw_tz_name(e->tz) : NULL));
        json_object_set_new(o, "line", int_or_null(e->line > 0, e->line));
        json_object_set_new(o, "entry_id", int_or_null(e->entry_id > 0, e->entry_id));
        json_object_set_new(o, "reboot", json_boolean(e->reboot));
        json_object_set_new(o, "fixed_time", json_boolean(e->fixed_time));
        json_object_set_new(o, "at_startup", json_boolean(e->at_startup));
        cw_json_set_fire(o, "next", e->next, e->tz);
        if (e->fires) {
                json_object_set_new(o, "next_fires", fires_json(e, false));
                json_object_set_new(o, "next_fires_ts", fires_json(e, true));
        }
        return o;
}

json_t *cw_json_job_new(const cw_json_job *j)
{
        const cw_job *job = j->job;
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "name", json_string(job->name));
        json_object_set_new(o, "description",
                            json_string(job->description ? job->description : ""));
        json_object_set_new(o, "enabled", json_boolean(j->enabled));
        json_object_set_new(o, "enabled_config", json_boolean(j->enabled_config));
        /* Where the job comes from: the config, or a command entry of the UI. */
        json_object_set_new(o, "source", json_string(j->entry_id > 0 ? "ui" : "config"));
        json_object_set_new(o, "entry_id", int_or_null(j->entry_id > 0, j->entry_id));
        json_object_set_new(o, "runnable_error", cw_json_str(j->runnable_error));
        json_object_set_new(o, "zone", cw_json_str(cw_tz_name(job->tz)));
        json_object_set_new(o, "schedules", json_array());
        json_object_set_new(o, "after", cw_json_strv(&job->after));
        cw_json_set_fire(o, "next", j->next, j->next_tz ? j->next_tz : job->tz);
        json_object_set_new(o, "next_at_startup", json_boolean(j->next_at_startup));
        return o;
}

const char *cw_json_ionice_text(const cw_job *job, char *buf, size_t size)
{
        if (job->ionice == CW_IONICE_UNSET)
                return NULL;
        if (job->ionice == CW_IONICE_IDLE)
                snprintf(buf, size, "%s", cw_ionice_class_to_string(job->ionice));
        else
                snprintf(buf, size, "%s:%d", cw_ionice_class_to_string(job->ionice),
                         job->ionice_level);
        return buf;
}

void cw_json_job_settings(json_t *o, const cw_job *job, bool ui)
{
        char io[32];

        json_object_set_new(o, "command", cw_json_str(job->command));
        json_object_set_new(o, "shell", json_boolean(job->shell));
        json_object_set_new(o, "args", cw_json_strv(&job->args));
        json_object_set_new(o, "options", cw_json_strv(&job->options));
        json_object_set_new(o, "lock", json_string(cw_lock_mode_to_string(job->lock)));
        json_object_set_new(o, "lock_name",
                            json_string(job->lock_name ? job->lock_name : job->name));
        json_object_set_new(o, "concurrency",
                            json_string(cw_concurrency_to_string(job->concurrency)));
        json_object_set_new(o, "catch_up", json_string(cw_catch_up_to_string(job->catch_up)));
        json_object_set_new(o, "timeout", json_integer(job->timeout));
        json_object_set_new(o, "kill_grace", json_integer(job->kill_grace));
        json_object_set_new(o, "retries", json_integer(job->retries));
        json_object_set_new(o, "retry_delay", json_integer(job->retry_delay));
        json_object_set_new(o, "can_resume", json_boolean(job->can_resume));
        json_object_set_new(o, "hosts", cw_json_strv(&job->hosts));
        json_object_set_new(o, "workdir", cw_json_str(job->workdir));
        json_object_set_new(o, "run_as", cw_json_str(job->run_as));
        json_object_set_new(o, "nice", int_or_null(job->nice_set, job->nice));
        json_object_set_new(o, "ionice", cw_json_str(cw_json_ionice_text(job, io, sizeof(io))));
        json_object_set_new(o, "line", int_or_null(!ui && job->line > 0, job->line));
}

json_t *cw_json_notice(const cw_notice *n, const char *endpoint)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "id", json_integer(n->id));
        cw_json_set_instant(o, "created_at", n->created_us);
        json_object_set_new(o, "job", cw_json_str(n->job));
        json_object_set_new(o, "run", int_or_null(n->run_id > 0, n->run_id));
        json_object_set_new(o, "event", cw_json_str(n->event));
        json_object_set_new(o, "channel", cw_json_str(n->channel));
        json_object_set_new(o, "endpoint", cw_json_str(endpoint));
        json_object_set_new(o, "state", json_string(cw_notice_state_to_string(n->state)));
        json_object_set_new(o, "attempts", json_integer(n->attempts));
        json_object_set_new(o, "result", cw_json_str(n->result));
        return o;
}
