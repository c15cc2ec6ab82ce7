/* sigfd.c - block, then signalfd (see sigfd.h). */
#include "sigfd.h"

#include <errno.h>
#include <sys/signalfd.h>

void cw_sigset_of(sigset_t *ret, const int *signals)
{
        sigemptyset(ret);
        for (; *signals; signals++)
                sigaddset(ret, *signals);
}

int cw_sigfd_open(const sigset_t *block, const sigset_t *watch, sigset_t *ret_old)
{
        sigset_t old;
        int fd;

        if (sigprocmask(SIG_BLOCK, block, &old) < 0)
                return -errno;
        fd = signalfd(-1, watch ? watch : block, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0) {
                int r = -errno;

                sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        if (ret_old)
                *ret_old = old;
        return fd;
}
