/* loadavg.c - the 1-minute load average (see loadavg.h). One read of a
 * small file; no stdio, so it is cheap enough to do once per pass. */
#include "loadavg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int cw_loadavg_read(const char *path, double *ret)
{
        char buf[128], *end;
        ssize_t n;
        double v;
        int fd;

        fd = open(path ? path : CW_LOADAVG_PATH, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        close(fd);
        buf[n] = '\0';
        v = strtod(buf, &end);
        if (end == buf || v < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}
