/* started.c - start records of queued runs (see started.h).
 *
 * Each slot is 32 bytes at offset (run_id % CW_STARTED_SLOTS) * 32, so a
 * slot never straddles a page; a check word over its fields tells a whole
 * record from a torn or foreign one (a reader racing a writer: counted as
 * alive, never as gone). The file is sparse until slots are used: 2 MiB
 * at most. On the worker's path before exec: open (existing file), pread,
 * pwrite; nothing else. */
#include "worker/started.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/path.h"
#include "worker/worker.h"

#define SLOT_STARTED 1u
#define SLOT_DONE 2u
#define SLOT_MAGIC 0x63777374617274ULL /* "cwstart" */

typedef struct slot {
        int64_t run_id;
        int64_t boot_ns; /* CLOCK_BOOTTIME when written */
        int32_t pid;     /* the worker */
        uint32_t state;  /* SLOT_STARTED or SLOT_DONE */
        uint64_t check;
} slot;

_Static_assert(sizeof(slot) == 32, "a slot is 32 bytes");

static uint64_t slot_check(const slot *s)
{
        return (uint64_t)s->run_id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)s->boot_ns ^
               ((uint64_t)(uint32_t)s->pid << 32 | s->state) ^ SLOT_MAGIC;
}

static off_t slot_offset(int64_t run_id)
{
        return (off_t)(run_id % CW_STARTED_SLOTS) * (off_t)sizeof(slot);
}

/* CLOCK_BOOTTIME, not a cw_clock: it names this boot (a slot written
 * before a reboot is older than any reading now), which no test clock
 * fakes. */
static int64_t boot_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int open_file(const char *data_dir, int flags)
{
        char path[CW_PATH_MAX];
        int n = cw_path_join(path, sizeof(path), data_dir, CW_STARTED_FILE);

        if (n < 0)
                return n;
        n = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
        return n < 0 ? -errno : n;
}

/* Reads run_id's slot into *ret: 1 when it holds a whole record (of
 * run_id or of another run sharing the slot), 0 when it holds none (never
 * written), -ESTALE when it is torn, a negative errno on I/O errors. */
static int read_slot(int fd, int64_t run_id, slot *ret)
{
        slot s;
        ssize_t n = pread(fd, &s, sizeof(s), slot_offset(run_id));

        if (n < 0)
                return -errno;
        if (n == 0 || (n == (ssize_t)sizeof(s) && s.run_id == 0 && s.check == 0))
                return 0;
        if (n != (ssize_t)sizeof(s) || s.check != slot_check(&s))
                return -ESTALE;
        *ret = s;
        return 1;
}

/* Whether the record's worker lives: its pid exists (not a zombie) and
 * started no later than the record was written (not a reused pid). */
static bool worker_alive(const slot *s)
{
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t start;

        if (s->pid <= 0 || !cw_proc_alive(s->pid, 0))
                return false;
        start = cw_proc_start_time(s->pid);
        if (hz <= 0)
                return start != 0;
        return start != 0 && (int64_t)(start * (1000000000 / (uint64_t)hz)) <= s->boot_ns;
}

int cw_started_create(const char *data_dir, int64_t run_id, int *ret_fd)
{
        slot s = {0};
        int fd, r;

        if (run_id <= 0)
                return -EINVAL;
        fd = open_file(data_dir, O_RDWR | O_CREAT);
        if (fd < 0)
                return fd;
        /* The same run, its worker alive: another worker is starting it. A
         * record whose worker is gone is stale (a store made anew): taken. */
        r = read_slot(fd, run_id, &s);
        if (r == 1 && s.run_id == run_id && s.state == SLOT_STARTED && worker_alive(&s)) {
                close(fd);
                return -EEXIST;
        }
        /* A later run's record is never overwritten: that run would lose
         * its fact. This one (queued 65536 runs ago) does not start. */
        if (r == 1 && s.run_id > run_id) {
                close(fd);
                return -ESTALE;
        }
        s = (slot){.run_id = run_id,
                   .boot_ns = boot_ns(),
                   .pid = (int32_t)getpid(),
                   .state = SLOT_STARTED};
        s.check = slot_check(&s);
        if (pwrite(fd, &s, sizeof(s), slot_offset(run_id)) != (ssize_t)sizeof(s)) {
                r = errno ? -errno : -EIO;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

void cw_started_done(int fd, int64_t run_id)
{
        slot s;

        if (fd < 0)
                return;
        if (read_slot(fd, run_id, &s) == 1 && s.run_id == run_id && s.state == SLOT_STARTED) {
                s.state = SLOT_DONE;
                s.check = slot_check(&s);
                (void)!pwrite(fd, &s, sizeof(s), slot_offset(run_id));
        }
        close(fd);
}

cw_started_state cw_started_probe(const char *data_dir, int64_t run_id)
{
        slot s;
        int fd = open_file(data_dir, O_RDONLY), r;

        if (fd == -ENOENT)
                return CW_STARTED_NONE;
        /* Unreadable or torn: a live worker is assumed rather than a job
         * started twice. */
        if (fd < 0)
                return CW_STARTED_HELD;
        r = read_slot(fd, run_id, &s);
        close(fd);
        if (r == 0)
                return CW_STARTED_NONE;
        if (r < 0)
                return CW_STARTED_HELD;
        /* An earlier run's record: this run's worker never wrote one. A
         * later run's: this run's record is gone, its fate unknown. */
        if (s.run_id != run_id)
                return s.run_id < run_id ? CW_STARTED_NONE : CW_STARTED_OVERWRITTEN;
        if (s.state == SLOT_DONE)
                return CW_STARTED_NONE;
        return worker_alive(&s) ? CW_STARTED_HELD : CW_STARTED_LEFT;
}

int cw_started_worker(const char *data_dir, int64_t run_id, int *ret_pid)
{
        slot s;
        int fd = open_file(data_dir, O_RDONLY), r;

        if (fd < 0)
                return -ENOENT;
        r = read_slot(fd, run_id, &s);
        close(fd);
        if (r <= 0 || s.run_id != run_id || !worker_alive(&s))
                return -ENOENT;
        *ret_pid = s.pid;
        return 0;
}

bool cw_started_before_boot(int64_t queued_us)
{
        /* The system's real and boot clocks read together (not a cw_clock):
         * their difference is the instant this machine booted. */
        struct timespec real, boot;
        int64_t boot_us;

        if (clock_gettime(CLOCK_REALTIME, &real) < 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
                return false;
        boot_us = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000 +
                  (real.tv_nsec - boot.tv_nsec) / 1000;
        return queued_us > 0 && queued_us < boot_us;
}
