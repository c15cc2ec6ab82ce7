/* cli_runs.c - run records for the CLI (see cli_runs.h). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_runs.h"
#include "base/path.h"
#include "daemon/daemon.h"
#include "daemon/spawner.h"
#include "jobspec/jobspec.h"
#include "report/json.h"
#include "worker/lock.h"

const cw_tz *cli_run_zone(const cw_config *cfg, const cw_run *r)
{
        const cw_job *j = r->job ? cw_config_job(cfg, r->job) : NULL;

        return j ? j->tz : cfg->tz;
}

json_t *cli_run_json(const cw_run *r, int64_t now_us)
{
        return cw_json_run(r, now_us);
}

void cli_format_progress(const cw_run *r, char *buf, size_t size)
{
        if (r->progress_done < 0)
                snprintf(buf, size, "-");
        else if (r->progress_total == 100)
                snprintf(buf, size, "%lld%%", (long long)r->progress_done);
        else if (r->progress_total > 0)
                snprintf(buf, size, "%lld/%lld (%lld%%)", (long long)r->progress_done,
                         (long long)r->progress_total,
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

void cli_who(const cw_config *cfg, char *buf, size_t size)
{
        uid_t uid = getuid();
        const struct passwd *pw = getpwuid(uid);

        if (pw && pw->pw_name && pw->pw_name[0])
                snprintf(buf, size, "%s@%s", pw->pw_name, cfg->node);
        else
                snprintf(buf, size, "%lu@%s", (unsigned long)uid, cfg->node);
}

static bool daemon_running(const cw_config *cfg)
{
        char path[4096];

        if (cw_path_join(path, sizeof(path), cfg->data_dir, CW_DAEMON_PID_FILE) < 0)
                return false; /* no daemon can run there */
        return cw_lock_file_owner(path) > 0;
}

int cli_starters_hold(const cw_config *cfg)
{
        char path[4096];
        int fd;

        if (daemon_running(cfg))
                return -1;
        if (cw_path_join(path, sizeof(path), cfg->data_dir, CW_SPAWNER_LOCK) < 0)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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
