/* cluster.c - the daemon as one node of a cluster (see cluster.h and
 * docs/cluster.md).
 *
 * A periodic timer (CLOCK_MONOTONIC, dead_timeout / 6, between 200 ms
 * and 5 s) drives everything: read the database's clock between two
 * readings of ours (the offset is our midpoint minus its time), renew our
 * row (one attempt, no retries: a node that cannot renew must know at
 * once), mark dead the nodes whose heartbeat expired and record their
 * runs lost, then read the nodes again for the claim preference. Every
 * age is judged by the database (store.h), so a node whose clock is off
 * never declares another dead early; its own claiming stops once its
 * offset passes max_clock_offset, and starts again when it is back.
 *
 * The claim preference: among the live nodes that claim and may run the
 * job (its `hosts`), sorted by name, the one at index hash(spec, instant)
 * mod n claims a fire at once; every other node waits
 * CW_CLUSTER_FALLBACK_S and then claims it too if still unclaimed (the
 * claim's primary key keeps the fire once). The view of the nodes is at
 * most one timer period old; a view that is wrong only makes a fire late
 * by the fallback, never doubled or lost.
 *
 * Config agreement: each node publishes, per job, a hash of the job's
 * section and of [defaults] as written (comments, blank lines and the
 * spacing around lines aside). A node whose hash for a job differs from
 * the one most live nodes publish does not claim that job's fires. */
#include "daemon/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/array.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/macro.h"
#include "base/strv.h"
#include "daemon/daemon_internal.h"
#include "notify/notify.h"
#include "worker/started.h"
#include "worker/worker.h"

#define BEAT_MIN_US 200000
#define BEAT_MAX_US 5000000

struct daemon_cluster {
        int timer_fd;
        int64_t interval_us;
        bool beat_once;     /* a heartbeat was ever written by this daemon */
        bool claiming;      /* as decided by the last tick */
        char reason[320];   /* why not claiming (a "why" of at most 300) */
        double fake_offset; /* seconds, CW_CLUSTER_FAKE_OFFSET_ENV */
        int64_t offset_us;  /* as last measured */
        cw_strv live;       /* live claiming nodes, sorted by name */
        cw_strv disagree;   /* this node's jobs whose definition differs */
        char pass_key[300]; /* "last_pass:NODE" */
        char missed[512];   /* the reason of the last missed fire */
        bool publish;       /* the job hashes are to be published */
        int64_t ok_mono;    /* the last heartbeat that reached the database (monotonic µs) */
        cw_run *mine;       /* this node's running runs, as the last view read them */
        size_t n_mine;
        int64_t *stopped;    /* runs stopped while the database was out of reach */
        bool outage_stopped; /* outage_stop ran (until outage_end) */
        size_t n_stopped;
};

static int64_t dead_after_us(const daemon_state *d)
{
        return d->cfg->dead_timeout * CW_US_PER_SEC;
}

/* Whether this node may run job (its `hosts`). */
static bool job_here(const daemon_state *d, const cw_job *job)
{
        return job->hosts.n == 0 || cw_strv_find(&job->hosts, d->cfg->node) >= 0;
}

/* ---- job hashes ------------------------------------------------------------- */

/* The text of line [p, end) without spaces around it. */
static void trim(const char **p, const char **end)
{
        while (*p < *end && (**p == ' ' || **p == '\t' || **p == '\r'))
                (*p)++;
        while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
                (*end)--;
}

/* One section of the config text: its name (between the brackets,
 * trimmed) and its lines, up to the next section. */
typedef struct sect_span {
        const char *name, *from, *to;
        size_t nlen;
} sect_span;

static int span_cmp(const void *pa, const void *pb);

/* The sections of text, by name (those of one name in text order):
 * one pass over the text, so that hashing 10 000 jobs does not read it
 * 10 000 times. */
static int spans_read(const char *text, size_t len, sect_span **ret, size_t *ret_n)
{
        const char *p = text, *stop = text + len;
        sect_span *v = NULL;
        size_t n = 0, cap = 0;

        while (p < stop) {
                const char *eol = memchr(p, '\n', (size_t)(stop - p));
                const char *a = p, *b = eol ? eol : stop;
                const char *next = eol ? eol + 1 : stop;

                trim(&a, &b);
                if (a < b && *a == '[') {
                        const char *x = a + 1, *y = b[-1] == ']' ? b - 1 : b;

                        trim(&x, &y);
                        if (n)
                                v[n - 1].to = p;
                        if (cw_array_reserve((void **)&v, &cap, n + 1, sizeof(*v), 64) < 0) {
                                free(v);
                                return -ENOMEM;
                        }
                        v[n++] = (sect_span){.name = x, .nlen = (size_t)(y - x), .from = next};
                }
                p = next;
        }
        if (n)
                v[n - 1].to = stop;
        if (n > 1)
                qsort(v, n, sizeof(*v), span_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* By name, then by place in the text. */
static int span_cmp(const void *pa, const void *pb)
{
        const sect_span *a = pa, *b = pb;
        int c = memcmp(a->name, b->name, a->nlen < b->nlen ? a->nlen : b->nlen);

        if (c == 0 && a->nlen != b->nlen)
                c = a->nlen < b->nlen ? -1 : 1;
        if (c == 0)
                c = (a->from > b->from) - (a->from < b->from);
        return c;
}

/* FNV-1a of section `name`'s lines in spans (spans_read), comments and
 * blank lines left out; 0 when it has none. */
static uint64_t section_hash(const sect_span *v, size_t n, const char *name)
{
        sect_span key = {.name = name, .nlen = strlen(name), .from = NULL};
        size_t lo = 0, hi = n;
        uint64_t h = 0;

        while (lo < hi) { /* the first span not before key */
                size_t mid = lo + (hi - lo) / 2;

                if (span_cmp(&v[mid], &key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (; lo < n && v[lo].nlen == key.nlen && memcmp(v[lo].name, name, key.nlen) == 0; lo++) {
                for (const char *p = v[lo].from; p < v[lo].to;) {
                        const char *eol = memchr(p, '\n', (size_t)(v[lo].to - p));
                        const char *a = p, *b = eol ? eol : v[lo].to;

                        p = eol ? eol + 1 : v[lo].to;
                        trim(&a, &b);
                        if (a == b || *a == ';' || *a == '#')
                                continue;
                        h = cw_hash_mix(h ^ cw_hash_fnv1a(a, (size_t)(b - a)));
                }
        }
        return h;
}

/* Publishes a hash per configured job (a failure is retried next tick). */
static void publish_jobs(daemon_state *d)
{
        daemon_cluster *c = d->cluster;
        size_t n = d->cfg->n_jobs, n_spans = 0;
        const char **names = calloc(n + 1, sizeof(char *));
        char(*hex)[17] = calloc(n + 1, sizeof(*hex));
        const char **hashes = calloc(n + 1, sizeof(char *));
        sect_span *spans = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        uint64_t defaults = 0;
        int r = names && hex && hashes ? 0 : -ENOMEM;

        if (r == 0)
                r = daemon_config_text(d, &text, &len);
        if (r == 0)
                r = spans_read(text, len, &spans, &n_spans);
        if (r == 0)
                defaults = section_hash(spans, n_spans, "defaults");
        for (size_t i = 0; r == 0 && i < n; i++) {
                char sect[CW_JOBSPEC_NAME_MAX + 8];
                const cw_job *job = &d->cfg->jobs[i];

                snprintf(sect, sizeof(sect), "job %s", job->name);
                snprintf(hex[i], sizeof(hex[i]), "%016" PRIx64,
                         cw_hash_mix(defaults ^ section_hash(spans, n_spans, sect)));
                names[i] = job->name;
                hashes[i] = hex[i];
        }
        if (r == 0)
                r = cw_store_node_jobs_set(d->store, d->cfg->node, names, hashes, n);
        if (r < 0)
                logline(d, "warning", "event=error what=cluster_publish error=%s",
                        cw_store_strerror(r));
        else
                c->publish = false;
        free(spans);
        free(names);
        free(hex);
        free(hashes);
}

/* ---- heartbeat -------------------------------------------------------------- */

/* Measures the offset of our clock from the database's (µs). */
static int measure_offset(daemon_state *d, int64_t *ret)
{
        int64_t t0 = cw_clock_real_us(), db = 0, t1;
        int r = cw_store_db_now(d->store, &db);

        t1 = cw_clock_real_us();
        if (r < 0)
                return r;
        *ret = (t0 + t1) / 2 - db + (int64_t)(d->cluster->fake_offset * 1e6);
        return 0;
}

static void set_claiming(daemon_state *d, bool on, const char *why)
{
        daemon_cluster *c = d->cluster;
        char q[400];

        if (on == c->claiming && (on || strcmp(why, c->reason) == 0))
                return;
        c->claiming = on;
        snprintf(c->reason, sizeof(c->reason), "%s", on ? "" : why);
        logline(d, on ? "info" : "warning", "event=cluster_claiming node=%s claiming=%s%s%s",
                d->cfg->node, on ? "yes" : "no",
                on ? "" : " reason=", on ? "" : quoted(why, q, sizeof(q)));
}

/* Kills run r's worker (first: it then writes nothing more) and its job. */
static void kill_run(const cw_run *r)
{
        if (r->worker_pid > 0)
                (void)kill(r->worker_pid, SIGKILL);
        if (r->pid > 0)
                (void)cw_proc_kill_group(r->pid, r->pid_start, SIGKILL);
}

/* The cluster declared us dead while we could not beat (frozen, cut
 * off): our runs were recorded lost and may run elsewhere. Kill what we
 * still run of them, workers first, so they write nothing more. */
static void stop_lost_runs(daemon_state *d)
{
        for (size_t i = 0; i < d->n_live; i++) {
                cw_run r = {0};

                if (cw_store_run_get(d->store, d->live[i], &r) == 0 && r.status == CW_RUN_LOST) {
                        kill_run(&r);
                        logline(d, "warning",
                                "event=cluster_stop_run run=%" PRId64 " job=%s worker=%d "
                                "reason=the_cluster_declared_this_node_dead",
                                r.id, r.job ? r.job : "-", r.worker_pid);
                }
                cw_run_release(&r);
        }
}

/* Whether worker pid still runs a job: a child of its own. A worker
 * whose job has ended is only recording the outcome (into data_dir's
 * journal while the database is away), which is never to be cut short. */
static bool worker_has_job(int pid)
{
        char path[64], c = 0;
        int fd;

        if (pid <= 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (read(fd, &c, 1) != 1)
                c = 0;
        close(fd);
        return c >= '0' && c <= '9';
}

/* Adds run id to the stopped runs; false when it was there already. */
static bool stopped_add(daemon_cluster *c, int64_t id)
{
        for (size_t i = 0; i < c->n_stopped; i++)
                if (c->stopped[i] == id)
                        return false;
        c->stopped[c->n_stopped++] = id;
        return true;
}

static void log_stop(daemon_state *d, int64_t id, const char *job, int worker, int64_t silent_us)
{
        logline(d, "warning",
                "event=cluster_stop_run run=%" PRId64 " job=%s worker=%d silent=%.1fs "
                "reason=no_heartbeat_near_dead_timeout",
                id, job ? job : "-", worker, (double)silent_us / 1e6);
}

/* No heartbeat has reached the database for nearly dead_timeout: other
 * nodes may soon declare this one dead and run its work again. Its jobs
 * are stopped first: those of the runs the last view saw running here,
 * and those of every run this daemon started since (their workers are
 * found through data_dir's start records). A worker whose job has ended
 * already is left to record its outcome. The stopped runs' rows are
 * recorded once the database answers again (outage_end). */
static void outage_stop(daemon_state *d, int64_t silent_us)
{
        daemon_cluster *c = d->cluster;

        if (c->outage_stopped)
                return;
        c->outage_stopped = true;
        c->stopped = calloc(c->n_mine + d->n_live + 1, sizeof(int64_t));
        if (!c->stopped)
                return;
        for (size_t i = 0; i < c->n_mine; i++) {
                const cw_run *r = &c->mine[i];

                if (r->worker_pid > 0 && !worker_has_job(r->worker_pid))
                        continue;
                stopped_add(c, r->id);
                log_stop(d, r->id, r->job, r->worker_pid, silent_us);
                kill_run(r);
        }
        for (size_t i = 0; i < d->n_live; i++) {
                int pid = 0;

                if (cw_started_worker(d->cfg->data_dir, d->live[i], &pid) < 0 ||
                    !worker_has_job(pid) || !stopped_add(c, d->live[i]))
                        continue;
                log_stop(d, d->live[i], NULL, pid, silent_us);
                (void)kill(pid, SIGKILL); /* its job dies with it */
        }
        cw_runs_free(c->mine, c->n_mine);
        c->mine = NULL;
        c->n_mine = 0;
}

/* The database answers again: the runs stopped meanwhile are recorded
 * lost (unless the cluster did so first) and resumed when they can be. */
static void outage_end(daemon_state *d)
{
        daemon_cluster *c = d->cluster;
        int64_t now = cw_clock_now(d->clock);

        for (size_t i = 0; i < c->n_stopped; i++) {
                cw_run r = {0};
                const cw_job *job;

                if (cw_store_run_get(d->store, c->stopped[i], &r) < 0)
                        continue;
                job = r.job ? cw_config_job(d->cfg, r.job) : NULL;
                if (cw_store_run_transition(d->store, r.id, CW_RUN_RUNNING, CW_RUN_LOST,
                                            "its node could not reach the database for nearly "
                                            "dead_timeout and stopped it",
                                            now) == 0 &&
                    job && job->can_resume && job_here(d, job) &&
                    cw_store_run_set_resume(d->store, r.id, CW_RESUME_NONE, CW_RESUME_PENDING) == 0)
                        resume_lost(d, &r, job);
                cw_run_release(&r);
        }
        free(c->stopped);
        c->stopped = NULL;
        c->n_stopped = 0;
        c->outage_stopped = false;
}

/* A heartbeat did not reach the database: stop claiming at once; near
 * dead_timeout, stop the jobs too. */
static void beat_failed(daemon_state *d, int r)
{
        daemon_cluster *c = d->cluster;
        int64_t silent = cw_clock_mono_us() - c->ok_mono;
        char why[300];

        snprintf(why, sizeof(why), "cannot renew its heartbeat: %s", cw_store_strerror(r));
        set_claiming(d, false, why);
        if (c->beat_once && silent >= dead_after_us(d) - 2 * c->interval_us)
                outage_stop(d, silent);
}

static void beat(daemon_state *d)
{
        daemon_cluster *c = d->cluster;
        char why[300];
        bool was_dead = false, ok;
        int64_t limit = d->cfg->max_clock_offset * CW_US_PER_SEC;
        int r = measure_offset(d, &c->offset_us);
        cw_node_beat b = {.node = d->cfg->node, .pid = (int)getpid(), .version = CW_VERSION};

        if (r < 0) {
                beat_failed(d, r);
                return;
        }
        ok = c->offset_us <= limit && c->offset_us >= -limit;
        if (!ok)
                snprintf(why, sizeof(why),
                         "its clock is %.3f s off the database's (max_clock_offset %" PRId64 " s)",
                         (double)c->offset_us / 1e6, (int64_t)d->cfg->max_clock_offset);
        b.first = !c->beat_once;
        b.clock_offset_us = c->offset_us;
        b.claiming = ok;
        b.reason = ok ? NULL : why;
        r = cw_store_node_beat(d->store, &b, &was_dead);
        if (r < 0) {
                beat_failed(d, r);
                return;
        }
        c->beat_once = true;
        c->ok_mono = cw_clock_mono_us();
        if (c->outage_stopped)
                outage_end(d);
        if (was_dead) {
                logline(d, "error",
                        "event=cluster_declared_dead node=%s action=stop_its_runs "
                        "why=\"no heartbeat reached the database for dead_timeout\"",
                        d->cfg->node);
                stop_lost_runs(d);
        }
        set_claiming(d, ok, ok ? "" : why);
        if (c->publish)
                publish_jobs(d);
}

/* ---- dead nodes ------------------------------------------------------------- */

/* Whether name is a node of ns recorded dead; its row when so. */
static const cw_node *dead_node(const cw_node *ns, size_t n, const char *name)
{
        for (size_t i = 0; name && i < n; i++)
                if (ns[i].state == CW_NODE_DEAD && strcmp(ns[i].name, name) == 0)
                        return &ns[i];
        return NULL;
}

/* One run of a dead node: lost, with the reason; resumed here when its
 * job can resume and may run here. Another node sweeping at once loses
 * the compare-and-set and does nothing. */
static void run_lost(daemon_state *d, cw_run *run, const cw_node *n)
{
        const cw_job *job = run->job ? cw_config_job(d->cfg, run->job) : NULL;
        int64_t now = cw_clock_now(d->clock);
        char why[400], q[450];

        snprintf(why, sizeof(why), "its node %s is dead: %s", n->name,
                 n->reason ? n->reason : "no heartbeat");
        if (cw_store_run_transition(d->store, run->id, run->status, CW_RUN_LOST, why, now) < 0)
                return;
        logline(d, "warning", "event=lost run=%" PRId64 " job=%s node=%s reason=%s", run->id,
                run->job ? run->job : "-", n->name, quoted(why, q, sizeof(q)));
        d->notify_due = true;
        if (job)
                (void)cw_notify_run_event(d->store, d->cfg, job, run->id, CW_RUN_LOST, why, now);
        if (!job || !job->can_resume || run->status != CW_RUN_RUNNING || !job_here(d, job))
                return;
        if (cw_store_run_set_resume(d->store, run->id, CW_RESUME_NONE, CW_RESUME_PENDING) == 0)
                resume_lost(d, run, job);
}

/* Runs of dead nodes are recorded lost; this node's running ones are
 * kept (outage_stop needs them when the database is gone). */
static void recover_runs(daemon_state *d, const cw_node *ns, size_t n)
{
        daemon_cluster *c = d->cluster;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t m = 0, keep = 0;
        bool any = false;

        for (size_t i = 0; i < n; i++)
                any |= ns[i].running > 0 &&
                       (ns[i].state == CW_NODE_DEAD || strcmp(ns[i].name, d->cfg->node) == 0);
        cw_runs_free(c->mine, c->n_mine);
        c->mine = NULL;
        c->n_mine = 0;
        if (!any)
                return;
        f.active = true;
        if (cw_store_runs_list(d->store, &f, &runs, &m) < 0)
                return;
        for (size_t i = 0; i < m; i++) {
                const cw_node *dn = dead_node(ns, n, runs[i].node);
                if (dn)
                        run_lost(d, &runs[i], dn);
        }
        /* Ours, running, moved to the front and kept. */
        for (size_t i = 0; i < m; i++) {
                if (runs[i].status != CW_RUN_RUNNING || !runs[i].node ||
                    strcmp(runs[i].node, d->cfg->node) != 0) {
                        cw_run_release(&runs[i]);
                        continue;
                }
                runs[keep++] = runs[i];
        }
        c->mine = runs;
        c->n_mine = keep;
}

static void sweep(daemon_state *d)
{
        char **dead = NULL;
        size_t n = 0;

        if (cw_store_nodes_sweep(d->store, dead_after_us(d), &dead, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                logline(d, "warning", "event=node_dead node=%s dead_timeout=%" PRId64 "s", dead[i],
                        (int64_t)d->cfg->dead_timeout);
        cw_store_names_free(dead, n);
}

/* Reads the nodes: the live claiming ones for the preference, our own
 * disagreeing jobs, and the runs of dead ones to recover. */
static void view(daemon_state *d)
{
        daemon_cluster *c = d->cluster;
        cw_node *ns = NULL;
        size_t n = 0;

        if (cw_store_nodes_list(d->store, dead_after_us(d), &ns, &n) < 0)
                return;
        cw_strv_release(&c->live);
        cw_strv_release(&c->disagree);
        for (size_t i = 0; i < n; i++) {
                const cw_node *x = &ns[i];
                if (x->state == CW_NODE_ALIVE && !x->expired && x->claiming)
                        (void)cw_strv_push(&c->live, x->name);
                if (strcmp(x->name, d->cfg->node) != 0 || !x->disagree)
                        continue;
                for (const char *p = x->disagree; *p;) {
                        size_t k = strcspn(p, ",");
                        char *name = strndup(p, k);
                        if (name)
                                (void)cw_strv_consume(&c->disagree, name);
                        p += k;
                        while (*p == ',' || *p == ' ')
                                p++;
                }
        }
        recover_runs(d, ns, n);
        cw_nodes_free(ns, n);
}

/* ---- the interface ---------------------------------------------------------- */

int daemon_cluster_start(daemon_state *d)
{
        struct itimerspec its = {0};
        const char *fake = getenv(CW_CLUSTER_FAKE_OFFSET_ENV);
        daemon_cluster *c;
        int64_t db;
        int64_t iv;

        if (cw_store_db_now(d->store, &db) == -EOPNOTSUPP)
                return 0;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        d->cluster = c;
        c->publish = true;
        c->fake_offset = fake ? strtod(fake, NULL) : 0;
        snprintf(c->pass_key, sizeof(c->pass_key), "last_pass:%s", d->cfg->node);
        iv = dead_after_us(d) / 6;
        c->interval_us = iv < BEAT_MIN_US ? BEAT_MIN_US : iv > BEAT_MAX_US ? BEAT_MAX_US : iv;
        /* The loop that heartbeats also runs passes: a store operation
         * gives up on a database that is away after half a heartbeat
         * period, not CW_STORE_BUSY_MS, so the heartbeat (and stopping
         * the jobs near dead_timeout) is never held up for long. */
        cw_store_set_patience(d->store, c->interval_us / 2000);
        c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (c->timer_fd >= 0) {
                its.it_value.tv_sec = its.it_interval.tv_sec = c->interval_us / CW_US_PER_SEC;
                its.it_value.tv_nsec = its.it_interval.tv_nsec =
                        c->interval_us % CW_US_PER_SEC * 1000;
                (void)timerfd_settime(c->timer_fd, 0, &its, NULL);
        } else {
                logline(d, "error", "event=error what=cluster_timer error=%s", strerror(errno));
        }
        c->claiming = true; /* set_claiming logs the first change only */
        beat(d);
        sweep(d);
        view(d);
        logline(d, "info",
                "event=cluster_join node=%s heartbeat=%" PRId64 "ms dead_timeout=%" PRId64
                "s max_clock_offset=%" PRId64 "s clock_offset=%.3fs nodes_live=%zu",
                d->cfg->node, c->interval_us / 1000, (int64_t)d->cfg->dead_timeout,
                (int64_t)d->cfg->max_clock_offset, (double)c->offset_us / 1e6, c->live.n);
        return 0;
}

int daemon_cluster_fd(daemon_state *d)
{
        return d->cluster ? d->cluster->timer_fd : -1;
}

bool daemon_cluster_tick(daemon_state *d)
{
        daemon_cluster *c = d->cluster;
        uint64_t ticks;
        bool before;

        if (!c)
                return false;
        while (read(c->timer_fd, &ticks, sizeof(ticks)) > 0)
                ;
        before = c->claiming;
        beat(d);
        if (c->claiming) {
                sweep(d);
                view(d);
        }
        return c->claiming && !before;
}

bool daemon_cluster_may_claim(daemon_state *d)
{
        return !d->cluster || d->cluster->claiming;
}

void daemon_cluster_config(daemon_state *d)
{
        if (d->cluster) {
                d->cluster->publish = true;
                publish_jobs(d);
        }
}

const char *daemon_cluster_last_pass_key(daemon_state *d)
{
        return d->cluster ? d->cluster->pass_key : NULL;
}

int daemon_cluster_claim_delay(void *userdata, const cw_job *job, const char *spec, cw_time at,
                               const char **ret_missed)
{
        daemon_state *d = userdata;
        daemon_cluster *c = d->cluster;
        const char *pick[256];
        size_t n = 0;
        uint64_t h;

        *ret_missed = NULL;
        if (!c)
                return 0;
        if (cw_strv_find(&c->disagree, job->name) >= 0)
                return -1;
        for (size_t i = 0; i < c->live.n && n < CW_ARRAY_SIZE(pick); i++) {
                const char *x = cw_strv_get(&c->live, i);
                if (job->hosts.n == 0 || cw_strv_find(&job->hosts, x) >= 0)
                        pick[n++] = x;
        }
        if (n == 0 && job_here(d, job))
                return 0; /* our view is behind (we just joined): claim */
        if (n == 0) {
                size_t o = (size_t)snprintf(c->missed, sizeof(c->missed),
                                            "no node of its hosts is alive (hosts =");
                for (size_t i = 0; i < job->hosts.n && o < sizeof(c->missed); i++)
                        o += (size_t)snprintf(c->missed + o, sizeof(c->missed) - o, "%s %s",
                                              i ? "," : "", cw_strv_get(&job->hosts, i));
                if (o < sizeof(c->missed))
                        snprintf(c->missed + o, sizeof(c->missed) - o, ")");
                *ret_missed = c->missed;
                return CW_CLUSTER_FALLBACK_S;
        }
        if (!job_here(d, job))
                return -1;
        h = cw_hash_mix(cw_hash_fnv1a(spec, strlen(spec)) ^ (uint64_t)at);
        return strcmp(pick[h % n], d->cfg->node) == 0 ? 0 : CW_CLUSTER_FALLBACK_S;
}

void daemon_cluster_stop(daemon_state *d)
{
        daemon_cluster *c = d->cluster;

        if (!c)
                return;
        if (c->beat_once)
                (void)cw_store_node_leave(d->store, d->cfg->node);
        if (c->timer_fd >= 0)
                close(c->timer_fd);
        cw_strv_release(&c->live);
        cw_strv_release(&c->disagree);
        cw_runs_free(c->mine, c->n_mine);
        free(c->stopped);
        free(c);
        d->cluster = NULL;
}
