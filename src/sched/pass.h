/* pass.h - what the parts of one scheduler pass share (sched.c, the
 * pass over the entries; followups.c, requests, retries and dependency
 * triggers; internal to src/sched/). */
#ifndef CW_SCHED_PASS_H
#define CW_SCHED_PASS_H

#include "catalog/catalog.h"
#include "sched.h"
#include "since.h"

/* Runs of one status looked at per pass for retries and triggers. */
#define SCAN_LIMIT 200

/* A job the pass looked up by name: jobs the admin UI made from command
 * entries (catalog/entries.h) are read from the store once per pass. */
typedef struct looked_up {
        char *name;
        cw_job_ref ref; /* job NULL: no such job now */
} looked_up;

typedef struct pass {
        const cw_sched_opts *o;
        cw_sched_result *res;
        bool enabled;  /* the scheduler as a whole */
        bool draining; /* CW_SCHED_STATE_DRAINING is set */
        cw_time last;
        cw_sched_since *since; /* when each entry came into force */
        cw_time now;           /* cw_instant_sec(o->now): the calendars' second */
        cw_time hold;          /* the earliest fire a cluster delay put off, 0: none */
        looked_up *jobs;
        size_t n_jobs, cap_jobs;
        /* The jobs disabled in the store (cw_store_jobs_disabled, sorted),
         * read once per pass at its first need: one query, not one per
         * fire (on PostgreSQL each is a round trip). */
        char **disabled;
        size_t n_disabled;
        int disabled_read; /* 0 not yet, 1 read, negative errno: failed */
} pass;

/* The job called name (the config's, or the admin UI's), NULL if none. */
const cw_job *sched_job_named(pass *p, const char *name);
/* Whether job may run on this node (its hosts). */
bool sched_on_node(const cw_config *cfg, const cw_job *job);
/* The pass wants to run again at t at the latest. */
void sched_wake_at(pass *p, cw_time t);
/* The gates of docs/scheduling.md, then the start of a's run. */
int sched_start(pass *p, cw_sched_action *a);
/* Claims key (at: the fire's instant, 0 for a follow-up), then starts a's
 * run, or records it missed (missed, saying why). Not won: nothing. */
int sched_claim_and(pass *p, cw_sched_action *a, const char *key, cw_time at, bool missed,
                    const char *why);

/* followups.c: the pass's requests, retries due, and dependency triggers. */
int sched_pass_requests(pass *p);
int sched_pass_retries(pass *p);
int sched_pass_dependencies(pass *p);

#endif
