/* sigfd.h - signals read from a descriptor (signalfd) instead of handlers.
 *
 * A process that polls (the daemon, its spawner, a worker) blocks the
 * signals it wants to see, so none is delivered to a handler, and reads
 * them from a signalfd in its loop. cw_sigfd_open does both steps in the
 * one order that loses nothing (block first, then open). */
#ifndef CW_BASE_SIGFD_H
#define CW_BASE_SIGFD_H

#include <signal.h>

/* Fills *ret with the signals of the list, which ends with 0. */
void cw_sigset_of(sigset_t *ret, const int *signals);

/* Blocks `block` in the calling thread (the previous mask in *ret_old when
 * not NULL), then opens a non-blocking, close-on-exec signalfd that reads
 * `watch` (NULL: the same set as block). Returns the descriptor, or a
 * negative errno with the signal mask as it was. */
int cw_sigfd_open(const sigset_t *block, const sigset_t *watch, sigset_t *ret_old);

#endif
