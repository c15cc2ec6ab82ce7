/* notify.h - telling people about runs (docs/notifications.md).
 *
 * Two halves joined by the store's outbox (store.h):
 *
 * - Enqueueing, by whoever changes a run's state (the worker, the
 *   scheduler's pass): cw_notify_finish() records a run's end and its
 *   notifications in one transaction; cw_notify_run_event() adds the
 *   notifications of a state change already recorded (started, skipped,
 *   missed, lost), inside the caller's batch when one is open. Rows are
 *   one per event and channel endpoint: ping, sentry, webhook, slack,
 *   email.
 * - Delivering, by a sender (cw_notify_sender, below) in the daemon's
 *   thread, at the end of a run started outside the daemon, and in each
 *   `tick`: it claims due rows, renders each from the run in the store
 *   and the config's [smtp] / [admin] settings, sends it with libcurl
 *   (bounded connect and total timeouts), and records the answer, a retry
 *   time (exponential, bounded) or the final failure. A breaker per
 *   endpoint stops hammering one that is down.
 *
 * Rules per job (docs/config.md): ping, sentry and webhook hear of every run;
 * email hears once when a job reaches notify_after_failures consecutive
 * failures and once when it recovers; disable_after_failures disables the
 * job (store flag) and says so; min_runtime flags a success that was
 * suspiciously fast, max_runtime one that goes on too long; missed fires
 * notify every channel. */
#ifndef CW_NOTIFY_NOTIFY_H
#define CW_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Whether job has any channel (ping, webhook, email, sentry_dsn): without one, the
 * hooks below cost nothing. */
bool cw_notify_job_has_channels(const cw_job *job);

/* Records the end of a run (cw_store_run_finish of run, output, len) and,
 * in the same transaction, the notifications it causes for job (which may
 * be NULL: then only the finish). Consecutive failures are counted from
 * the job's history; reaching disable_after_failures disables the job.
 * Returns what cw_store_run_finish returns; a failure to enqueue never
 * loses the finish (it is then recorded alone). */
int cw_notify_finish(cw_store *s, const cw_config *cfg, const cw_job *job, const cw_run *run,
                     const void *output, size_t len);

/* cw_store_run_started for a queued run, with its "started"
 * notifications in the same transaction. Returns what
 * cw_store_run_started returns. */
int cw_notify_run_started(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                          int worker_pid, int pid, uint64_t pid_start, int64_t now_us);

/* Adds the notifications of run run_id reaching `status` (RUNNING for
 * started, SKIPPED, MISSED, LOST, ...), with reason (may be NULL), for
 * job. Errors are the store's; nothing is added for a job without
 * channels. */
int cw_notify_run_event(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                        cw_run_status status, const char *reason, int64_t now_us);

/* max_runtime: run run_id of job has run longer than that and goes on
 * (not a kill: that is timeout). Adds a "running_long" notification for
 * the webhook and email channels. Errors are the store's. */
int cw_notify_max_runtime(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                          int64_t now_us);

/* Adds one "test" notification per channel of job, *ret_n rows; they
 * carry no run but the tag -now_us as their run id, which a sender pass
 * for that "run" delivers (and nothing else). -ENOENT when the job has
 * no channel. */
int cw_notify_test(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t now_us,
                   int64_t *ret_tag, size_t *ret_n);

/* Delivers the due notifications of run run_id (or of a test's tag) from this process, for at
 * most budget_us: a run started outside the daemon (`run`, `tick`) sends
 * its own; what it cannot send is left for the next `tick` or the daemon.
 * Does nothing for a job without channels. */
void cw_notify_deliver_run(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                           int64_t budget_us);

/* ---- the sender ---- */

/* Delivery bounds. */
#define CW_NOTIFY_CONNECT_TIMEOUT_MS 5000
#define CW_NOTIFY_TOTAL_TIMEOUT_MS 10000
/* A claimed row is another sender's again after this (a sender killed
 * mid-delivery): longer than any one delivery. */
#define CW_NOTIFY_LEASE_US (120 * 1000000LL)
/* Attempts per row, and the waits between them: 10 s, doubling, at most
 * one hour. */
#define CW_NOTIFY_MAX_ATTEMPTS 8
#define CW_NOTIFY_RETRY_BASE_US (10 * 1000000LL)
#define CW_NOTIFY_RETRY_MAX_US (3600 * 1000000LL)
/* The breaker: after this many failures in a row an endpoint is left
 * alone for 30 s, doubling while it keeps failing, at most 10 min. */
#define CW_NOTIFY_BREAKER_FAILURES 3
#define CW_NOTIFY_BREAKER_BASE_US (30 * 1000000LL)
#define CW_NOTIFY_BREAKER_MAX_US (600 * 1000000LL)
/* The most of a run's output a notification carries (its tail). */
#define CW_NOTIFY_BODY_MAX 10000

typedef struct cw_notify_sender cw_notify_sender;

/* A sender for cfg's settings ([smtp], [admin] public_url; copied, so cfg
 * may be freed after). NULL when out of memory. */
cw_notify_sender *cw_notify_sender_new(const cw_config *cfg);
void cw_notify_sender_free(cw_notify_sender *snd); /* accepts NULL */
/* Takes a new config's settings (a reload); safe while another thread
 * runs cw_notify_sender_loop on snd. -ENOMEM leaves the old ones. */
int cw_notify_sender_configure(cw_notify_sender *snd, const cw_config *cfg);

/* One delivery pass on store s at now_us: claims due rows (of run run_id
 * only, when not 0) and delivers them until none is due or budget_us has
 * passed. Counts the rows delivered in *ret_sent and those that failed
 * (retry planned or given up) in *ret_failed (either may be NULL).
 * Errors are the store's. */
int cw_notify_sender_pass(cw_notify_sender *snd, cw_store *s, int64_t run_id, int64_t budget_us,
                          size_t *ret_sent, size_t *ret_failed);

/* Delivers every row until cw_notify_sender_stop(): a pass, then a wait
 * of a second while runs are queued or running (their workers write rows
 * without a word to the daemon); with none, until the earliest pending
 * row is due, cw_notify_sender_wake() is called, or
 * CW_NOTIFY_IDLE_POLL_S passes (rows that other processes wrote and could
 * not deliver themselves: `cronwarden run`, `tick`, another node),
 * whichever comes first, so an idle daemon wakes for nothing else. Opens its own connection to cfg's store (the caller's may not be
 * shared between threads). For the daemon's sender thread. */
#define CW_NOTIFY_IDLE_POLL_S 600
int cw_notify_sender_loop(cw_notify_sender *snd, const char *store_url, const char *data_dir);
/* Asks the loop for a pass now: something may have been written to the
 * outbox (a pass of the scheduler, a worker that ended). */
void cw_notify_sender_wake(cw_notify_sender *snd);
/* Tells the loop that runs started: it looks again at how long to wait
 * (a second while runs go on) without a pass now. */
void cw_notify_sender_nudge(cw_notify_sender *snd);
/* Asks the loop to end soon: a transfer in flight is aborted. */
void cw_notify_sender_stop(cw_notify_sender *snd);

/* What may be shown of n's endpoint (CLI, logs, UI): a URL's scheme,
 * host and port only, with "/..." when it had more (tokens live in
 * paths and queries; credentials are dropped); addresses as they are. */
void cw_notify_shown_target(const cw_notice *n, char *buf, size_t size);

/* ---- the pure parts, for tests ---- */

/* The run's UUID for healthchecks.io's rid= (version 8, from run_id and
 * node): 36 characters and a NUL into buf. */
void cw_notify_run_uuid(int64_t run_id, const char *node, char buf[37]);
/* The wait before attempt `attempts + 1` after `attempts` failed ones. */
int64_t cw_notify_retry_delay_us(int attempts);

/* A breaker for one endpoint. */
typedef struct cw_notify_breaker {
        int failures; /* in a row */
        int64_t open_until_us;
        int64_t last_open_us; /* the length of the last opening, for doubling */
} cw_notify_breaker;
/* Whether a delivery may be tried now. */
bool cw_notify_breaker_allows(const cw_notify_breaker *b, int64_t now_us);
/* Records an attempt's outcome. */
void cw_notify_breaker_record(cw_notify_breaker *b, bool ok, int64_t now_us);

#endif
