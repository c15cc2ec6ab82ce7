/* stamp.c - the job of bench_lateness.sh: records when it started running.
 *
 *   stamp FILE [TAG]
 *
 * The first thing main does is read CLOCK_REALTIME; only then does it look
 * at its arguments. It appends one line "SEC.NSEC\n", or "SEC.NSEC TAG\n"
 * with a TAG, to FILE (created 0644 if missing) with O_APPEND and a single
 * write(2), so any number of concurrent stamps can share one file without
 * interleaving. No stdio, no allocation: what is measured is the time from
 * the instant a process was due to the first instruction of its main
 * (exec and dynamic loading included, identically for every driver).
 *
 * Exit status: 0 written, 1 open/write failed, 2 usage. */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes v in decimal into p, zero-padded to at least width digits;
 * returns the number of characters written. */
static size_t put_u(char *p, unsigned long long v, size_t width)
{
        char tmp[24];
        size_t n = 0, k;

        do {
                tmp[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v && n < sizeof(tmp));
        while (n < width && n < sizeof(tmp))
                tmp[n++] = '0';
        for (k = 0; k < n; k++)
                p[k] = tmp[n - 1 - k];
        return n;
}

int main(int argc, char **argv)
{
        struct timespec t;
        char line[256];
        size_t n, len;
        ssize_t w;
        int fd;

        clock_gettime(CLOCK_REALTIME, &t);
        if (argc < 2 || argc > 3)
                return 2;
        n = put_u(line, (unsigned long long)t.tv_sec, 1);
        line[n++] = '.';
        n += put_u(line + n, (unsigned long long)t.tv_nsec, 9);
        if (argc == 3) {
                len = strlen(argv[2]);
                if (len > sizeof(line) - n - 2)
                        len = sizeof(line) - n - 2;
                line[n++] = ' ';
                memcpy(line + n, argv[2], len);
                n += len;
        }
        line[n++] = '\n';
        fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return 1;
        w = write(fd, line, n);
        close(fd);
        return w == (ssize_t)n ? 0 : 1;
}
