/* cli_runs.c - run records for the CLI (see cli_runs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_runs.h"
#include "daemon/daemon.h"
#include "daemon/spawner.h"
#include "jobspec/jobspec.h"
#include "worker/lock.h"

const cw_tz *cli_run_zone(const cw_config *cfg, const cw_run *r)
{
        const cw_job *j = r->job ? cw_config_job(cfg, r->job) : NULL;

        return j ? j->tz : cfg->tz;
}

static json_t *json_us(const cw_tz *tz, int64_t us)
{
        char buf[64];

        if (!us)
                return json_null();
        cli_format_instant(tz, us / 1000000, buf, sizeof(buf));
        return json_string(buf);
}

static json_t *json_str(const char *s)
{
        return s ? json_string(s) : json_null();
}

json_t *cli_run_json(const cw_run *r, const cw_tz *tz)
{
        json_t *o = json_object();

        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "job", json_str(r->job));
        json_object_set_new(o, "spec", json_str(r->spec));
        json_object_set_new(o, "node", json_str(r->node));
        json_object_set_new(o, "status", json_string(cw_run_status_to_string(r->status)));
        json_object_set_new(o, "trigger", json_string(cw_trigger_to_string(r->trigger)));
        json_object_set_new(o, "attempt", json_integer(r->attempt));
        json_object_set_new(o, "scheduled_at", r->scheduled_at ? json_us(tz, r->scheduled_at * 1000000) : json_null());
        json_object_set_new(o, "started", json_us(tz, r->started_us));
        json_object_set_new(o, "ended", json_us(tz, r->ended_us));
        json_object_set_new(o, "started_us", json_integer(r->started_us));
        json_object_set_new(o, "ended_us", r->ended_us ? json_integer(r->ended_us) : json_null());
        json_object_set_new(o, "duration_us", r->ended_us ? json_integer(r->ended_us - r->started_us) : json_null());
        json_object_set_new(o, "worker_pid", r->worker_pid ? json_integer(r->worker_pid) : json_null());
        json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) : json_null());
        json_object_set_new(o, "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
        json_object_set_new(o, "signal", r->signal ? json_integer(r->signal) : json_null());
        json_object_set_new(o, "progress_done", r->progress_done >= 0 ? json_integer(r->progress_done) : json_null());
        json_object_set_new(o, "progress_total", r->progress_total >= 0 ? json_integer(r->progress_total) : json_null());
        json_object_set_new(o, "output_size", json_integer((json_int_t)r->output_size));
        json_object_set_new(o, "output_truncated", json_boolean(r->output_truncated));
        json_object_set_new(o, "reason", json_str(r->reason));
        json_object_set_new(o, "lock_key", json_str(r->lock_key));
        json_object_set_new(o, "resume", json_string(cw_resume_state_to_string(r->resume)));
        json_object_set_new(o, "resumed_from", r->resumed_from ? json_integer(r->resumed_from) : json_null());
        return o;
}

void cli_format_progress(const cw_run *r, char *buf, size_t size)
{
        if (r->progress_done < 0)
                snprintf(buf, size, "-");
        else if (r->progress_total == 100)
                snprintf(buf, size, "%lld%%", (long long)r->progress_done);
        else if (r->progress_total > 0)
                snprintf(buf, size, "%lld/%lld (%lld%%)", (long long)r->progress_done, (long long)r->progress_total,
                         (long long)(r->progress_done * 100 / r->progress_total));
        else
                snprintf(buf, size, "%lld", (long long)r->progress_done);
}

int cli_parse_run_selector(cw_cli *cli, const char *arg, char **ret_job, char **ret_spec)
{
        cw_jobspec *js = NULL;
        cw_error e;

        if (cw_jobspec_parse(arg, &js, &e) < 0) {
                cli_fail_caret(cli, "bad job spec", arg, &e);
                return -EINVAL;
        }
        *ret_job = strdup(js->name);
        *ret_spec = js->n_params ? cw_jobspec_format(js) : NULL;
        cw_jobspec_free(js);
        return 0;
}

bool cli_run_matches(const cw_run *r, const char *job, const char *spec)
{
        if (job && (!r->job || strcmp(r->job, job) != 0))
                return false;
        return !spec || (r->spec && strcmp(r->spec, spec) == 0);
}

static bool daemon_running(const cw_config *cfg)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, CW_DAEMON_PID_FILE);
        return cw_lock_file_owner(path) > 0;
}

int cli_starters_hold(const cw_config *cfg)
{
        char path[4096];
        int fd;

        if (daemon_running(cfg))
                return -1;
        snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, CW_SPAWNER_LOCK);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        /* A daemon that starts now waits for this lock before it looks at
         * queued runs (and its spawner before it starts any). */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0 || daemon_running(cfg)) {
                close(fd);
                return -1;
        }
        return fd;
}

void cli_starters_release(int fd)
{
        if (fd >= 0)
                close(fd);
}

bool cli_queued_alive(const cw_config *cfg, const cw_run *r, bool starters_gone,
                      cw_queued_fate *ret_fate)
{
        cw_queued_fate f = cw_control_queued_fate(cfg, r, starters_gone);

        if (ret_fate)
                *ret_fate = f;
        return f == CW_QUEUED_ALIVE || f == CW_QUEUED_STARTING;
}
