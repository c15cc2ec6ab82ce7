/* daemon_notify.c - the daemon's notification sender thread (notify.h):
 * it delivers the outbox with its own store connection, so a slow
 * endpoint never holds up a pass. It takes no signal (the main loop reads
 * them all), runs at a lower priority than the fires' starts, and takes a
 * reloaded config's [smtp] and public_url through adopt_config(). It is
 * started only once some job has a channel (at start or on a reload). */
#include "daemon/daemon_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *notify_main(void *userdata)
{
        daemon_state *d = userdata;

        /* Deliveries yield the CPU to the fires' starts (Linux nices a
         * thread by its tid). */
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
        (void)cw_notify_sender_loop(d->notify, d->notify_store, d->notify_data_dir);
        return NULL;
}

/* Whether some job of cfg has a notification channel: without one the
 * thread (its store connection, libcurl) is not started at all. */
static bool any_channels(const cw_config *cfg)
{
        for (size_t i = 0; i < cfg->n_jobs; i++)
                if (cw_notify_job_has_channels(&cfg->jobs[i]))
                        return true;
        return false;
}

void daemon_notify_start(daemon_state *d)
{
        sigset_t all, old;

        if (d->notify || !any_channels(d->cfg))
                return;
        d->notify = cw_notify_sender_new(d->cfg);
        d->notify_store = strdup(d->cfg->store);
        d->notify_data_dir = strdup(d->cfg->data_dir);
        if (!d->notify || !d->notify_store || !d->notify_data_dir) {
                logline(d, "error", "event=error what=notify error=out_of_memory");
                return;
        }
        /* The thread takes no signal: the main loop reads them all. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        d->notify_running = pthread_create(&d->notify_thread, NULL, notify_main, d) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!d->notify_running)
                logline(d, "error", "event=error what=notify error=no_thread");
}

void daemon_notify_stop(daemon_state *d)
{
        if (d->notify_running) {
                cw_notify_sender_stop(d->notify);
                pthread_join(d->notify_thread, NULL);
                d->notify_running = false;
        }
        cw_notify_sender_free(d->notify);
        d->notify = NULL;
        free(d->notify_store);
        free(d->notify_data_dir);
        d->notify_store = d->notify_data_dir = NULL;
}
