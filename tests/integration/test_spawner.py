"""The daemon's spawner (src/daemon/spawner.h; docs/scheduling.md,
"Starting workers: the daemon's spawner"): the daemon records each run as queued and hands it to
a spawner process, which forks the worker without exec and without the
daemon waiting. These tests check what that must not change: every fire
started once with a complete row, a spawner that dies is replaced, a reload
reaches the workers, runs left queued by a dead daemon are not left
"alive" forever. Real daemons, real time; every wait bounded."""

import os
import signal
import time

from test_daemon import (assert_exactly_once_consecutive, err_text, events, fires_of, per_second_job,
                         start_daemon, stop_daemon)
from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def spawner_pid(d):
    """The spawner's pid from the daemon's event=start line."""
    pid = int(events(d, "start")[-1]["spawner"])
    assert pid > 0
    return pid


def test_burst_of_200_fires_each_started_once_with_a_complete_row(wk):
    """200 jobs due in the same second: each runs exactly once, and each
    row ends complete (worker pid, job pid, exit status, output)."""
    n = 200
    at = int(time.time()) + 3
    tm = time.gmtime(at)
    spec = f"{tm.tm_sec} {tm.tm_min} {tm.tm_hour} * * *"
    out = wk.tmp / "burst.log"
    cmd = wk.script("burst", f'echo "out $CRONWARDEN_JOB"\necho "$CRONWARDEN_JOB" >> {out}\n')
    wk.configure("\n".join(job(f"B{i:03d}", cmd, schedule=spec, concurrency="allow", lock="none")
                           for i in range(n)), globals="timezone = UTC")
    d = start_daemon(wk)
    names = {f"B{i:03d}" for i in range(n)}

    def done():
        rows = [r for r in wk.db_runs() if r["job"] in names]
        return rows if len(rows) >= n and all(r["status"] not in ("queued", "running") for r in rows) else None

    rows = wait_for(done, timeout=at - time.time() + 60, what="all 200 runs to finish")
    stop_daemon(wk, d)
    assert sorted(r["job"] for r in rows) == sorted(names), "a job ran twice or not at all"
    for r in rows:
        assert r["status"] == "succeeded" and r["exit_code"] == 0, r
        assert r["scheduled_at"] == at and r["trigger"] == "schedule", r
        assert r["worker_pid"] > 0 and r["pid"] > 0 and r["worker_pid"] != r["pid"], r
        assert r["ended_us"] >= r["started_us"] > 0, r
        assert wk.db_output(r["id"]) == f"out {r['job']}\n".encode(), r
    assert sorted(out.read_text().split()) == sorted(names)
    assert len(events(d, "started")) == n, err_text(d)


def mapped_libraries(pid):
    """The shared libraries pid maps (file names)."""
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(line.split()[-1]) for line in f if ".so" in line}


def test_the_spawner_is_the_lean_program_without_http_or_postgresql(wk):
    """For a SQLite store the daemon's spawner is cronwarden-spawner, which
    maps neither libcurl nor libpq (nor microhttpd): each worker it forks
    copies fewer mappings (docs/scheduling.md). Its workers run jobs."""
    d, pid = ticking_daemon(wk, 2)
    exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    assert os.path.basename(exe) == "cronwarden-spawner", exe
    libs = mapped_libraries(pid)
    heavy = [lib for lib in libs if lib.startswith(("libcurl", "libpq", "libmicrohttpd", "libssl"))]
    assert not heavy, heavy
    # The daemon maps its HTTP server; libcurl only once it sends a
    # notification (docs/hacking.md, "Modules"), and Tick sends none.
    daemon_libs = mapped_libraries(d.pid)
    assert any(lib.startswith("libmicrohttpd") for lib in daemon_libs), daemon_libs
    # What the daemon maps beyond the spawner: at least microhttpd, sodium
    # and zlib (a sanitizer build adds its runtimes to both).
    assert len(daemon_libs - libs) >= 3 and len(libs) < len(daemon_libs), (libs, daemon_libs)
    stop_daemon(wk, d)
    assert_exactly_once_consecutive(fires_of(wk, "Tick"), "Tick")


def ticking_daemon(wk, fires):
    """A daemon with the per-second job Tick (its fires logged to
    fires.log), once Tick has fired `fires` times: (daemon, spawner pid)."""
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Tick", wk.script("tick", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')))
    d = start_daemon(wk)
    old = spawner_pid(d)
    wait_for(lambda: len(fires_of(wk, "Tick")) >= fires, timeout=5, what="Tick to fire")
    wk.check_exe(old)
    return d, old


def test_spawner_killed_is_replaced_and_no_fire_is_lost(wk):
    d, old = ticking_daemon(wk, 2)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: [e for e in events(d, "error") if e.get("what") == "spawner"], timeout=5,
             what="the daemon to notice the spawner's death")
    n = len(fires_of(wk, "Tick"))
    wait_for(lambda: len([r for r in wk.db_runs("Tick") if r["status"] == "succeeded"]) >= n + 2, timeout=6,
             what="runs started by a new spawner")
    stop_daemon(wk, d)
    assert d.poll() is not None
    rows = wk.db_runs("Tick")
    # The fire handed over while the spawner was dying may have failed to
    # start (recorded as such); none is lost or doubled.
    assert_exactly_once_consecutive(fires_of(wk, "Tick"), "Tick")
    assert not [r for r in rows if r["status"] in ("queued", "lost")], [(r["id"], r["status"], r["reason"], r["worker_pid"]) for r in rows]


def test_reload_reaches_the_workers(wk):
    """Workers run the config the daemon accepted: after a SIGHUP the jobs
    see the new env; a config edited but not reloaded is not used."""
    log = wk.tmp / "mark.log"
    cmd = wk.script("mark", f'echo "$MARK" >> {log}\n')
    wk.configure(per_second_job("M", cmd, env="MARK=one"))
    d = start_daemon(wk)
    wait_for(lambda: log.exists() and "one" in log.read_text().split(), timeout=5, what="a run with MARK=one")
    # Edited, not reloaded: still "one".
    wk.configure(per_second_job("M", cmd, env="MARK=two"))
    n = len(fires_of(wk, "M"))
    wait_for(lambda: len(fires_of(wk, "M")) >= n + 2, timeout=5, what="two more runs")
    assert "two" not in log.read_text().split()
    os.kill(d.pid, signal.SIGHUP)
    wait_for(lambda: events(d, "reload"), timeout=5, what="event=reload")
    wait_for(lambda: "two" in log.read_text().split(), timeout=5, what="a run with MARK=two")
    stop_daemon(wk, d)
    marks = log.read_text().split()
    assert marks.index("two") > marks.index("one")
    assert "one" not in marks[marks.index("two"):], f"a run after the first MARK=two had MARK=one: {marks}"


def test_queued_runs_of_a_dead_daemon_are_started_by_the_next(wk):
    """Runs recorded as queued whose worker never came (the daemon was
    killed between committing them and handing them over) are started by
    the next daemon, once; one whose job left the config is recorded as
    lost (never left 'alive' forever)."""
    log = wk.tmp / "q.log"
    wk.configure(job("Q", wk.script("q", f'echo "$CRONWARDEN_RUN_ID" >> {log}\n')))
    wk.ok("run", "Q", "--quiet")  # creates the store
    cols = ("job, spec, node, status, trigger, attempt, scheduled_at, started_us, ended_us, worker_pid, pid, "
            "pid_start, exit_code, signal, progress_done, progress_total, output_size, output_truncated, reason, "
            "lock_key, resume, resumed_from")
    ids = {}
    con = wk._db()
    try:
        for name in ("Q", "Gone"):
            cur = con.execute(f"INSERT INTO runs ({cols}) SELECT ?, ?, node, 'queued', 'schedule', 1, 1000, "
                              "started_us, 0, 0, 0, 0, -1, 0, -1, -1, 0, 0, NULL, NULL, 'none', 0 FROM runs LIMIT 1",
                              (name, name))
            ids[name] = cur.lastrowid
        con.commit()
    finally:
        con.close()
    d = start_daemon(wk)
    q = wk.wait_final(ids["Q"], timeout=10)
    stop_daemon(wk, d)
    assert q["status"] == "succeeded" and q["worker_pid"] > 0 and q["pid"] > 0, q
    assert log.read_text().split().count(str(ids["Q"])) == 1
    gone = wk.db_run(ids["Gone"])
    assert gone["status"] == "lost" and "stopped before a worker started the run" in (gone["reason"] or ""), gone
    assert [e for e in events(d, "started") if e.get("run") == str(ids["Q"])], err_text(d)


def _pgrp_session(pid):
    """(process group, session) of pid from /proc/PID/stat (fields 5, 6)."""
    data = open(f"/proc/{pid}/stat", "rb").read()
    rest = data[data.rfind(b")") + 2:].split()
    return int(rest[5 - 3]), int(rest[6 - 3])


def test_workers_have_a_group_of_their_own_in_the_spawners_session(wk):
    """The spawner leaves the daemon's session (the terminal's ^C and
    hang-up reach neither it nor its workers); each worker is the leader of
    its own process group in the spawner's session, not of a session (a
    session per worker is a scheduler autogroup per worker), and each job
    leads its own group."""
    info = wk.tmp / "pids"
    cmd = wk.script("who", f'echo "$$ $PPID" > {info}.tmp && mv {info}.tmp {info}\nsleep 4\n')
    wk.configure(job("Who", cmd, schedule="* * * * * *", concurrency="forbid"))
    d = start_daemon(wk)
    try:
        spawner = spawner_pid(d)
        wait_for(info.exists, timeout=5, what="the job to write its pids")
        job_pid, worker_pid = map(int, info.read_text().split())
        daemon_group, daemon_session = _pgrp_session(d.pid)
        assert _pgrp_session(spawner) == (spawner, spawner), "the spawner leads a session of its own"
        assert daemon_session != spawner
        assert _pgrp_session(worker_pid) == (worker_pid, spawner), "worker: own group, the spawner's session"
        assert _pgrp_session(job_pid) == (job_pid, spawner), "job: own group, the spawner's session"
        assert worker_pid != spawner and worker_pid != d.pid
    finally:
        stop_daemon(wk, d)
    rows = [r for r in wk.db_runs("Who") if r["worker_pid"] == worker_pid]
    assert len(rows) == 1 and rows[0]["pid"] == job_pid, wk.db_runs("Who")


def test_jobs_get_no_ignored_signal_and_no_spawner_only_environment(wk):
    """A daemon started with signals ignored (nohup and the like) starts
    jobs that ignore none: SIG_IGN survives exec, so the spawner resets
    every disposition, glibc's internal signals 32 and 33 included (left
    ignored by posix_spawn in a multithreaded daemon). The spawner runs
    with LD_BIND_NOW=1, which the jobs (whose environment is built, never
    inherited: docs/config.md) do not see."""
    out = wk.tmp / "status"
    cmd = wk.script("sig", f'grep SigIgn /proc/self/status > {out}.tmp\n'
                           f'env | grep -c -e LD_BIND_NOW -e CRONWARDEN_SPAWNER_BIND_NOW >> {out}.tmp\n'
                           f'mv {out}.tmp {out}\n')
    wk.configure(job("Sig", cmd, schedule="* * * * * *", concurrency="forbid"))
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGUSR2, signal.SIGQUIT, signal.SIGTSTP)}
    try:
        d = start_daemon(wk)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    try:
        wait_for(out.exists, timeout=5, what="the job to write its signal dispositions")
    finally:
        stop_daemon(wk, d)
    sig_ign, count = out.read_text().split("\n")[:2]
    assert sig_ign.split() == ["SigIgn:", "0000000000000000"], sig_ign
    assert count.strip() == "0", "the spawner's LD_BIND_NOW reached the job"


def test_runs_unread_by_a_spawner_that_dies_are_started_by_the_next(wk):
    """A spawner that dies with runs in its socket it never read (here:
    stopped, handed a fire, then killed) must not leave them queued
    forever: the daemon replaces it and hands every run still queued to
    the new one, each started exactly once. The daemon sees the death as
    EOF on the socket and as SIGCHLD at once; either may come first."""
    d, old = ticking_daemon(wk, 1)
    os.kill(old, signal.SIGSTOP)
    n_started = len(events(d, "started"))
    wait_for(lambda: len(events(d, "started")) >= n_started + 2, timeout=5,
             what="two fires handed to the stopped spawner")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: [e for e in events(d, "error") if e.get("what") == "spawner"], timeout=5,
             what="the daemon to notice the spawner's death")

    def settled():
        rows = wk.db_runs("Tick")
        return rows if rows and all(r["status"] == "succeeded" for r in rows) and len(rows) >= 5 else None

    rows = wait_for(settled, timeout=15, what="every run, the ones the dead spawner never read included, "
                                                  "to succeed")
    stop_daemon(wk, d)
    assert_exactly_once_consecutive(fires_of(wk, "Tick"), "Tick")
    rows = wk.db_runs("Tick")
    assert not [r for r in rows if r["status"] in ("queued", "lost")], \
        [(r["id"], r["status"], r["reason"]) for r in rows]
    assert [e for e in events(d, "started") if e.get("reason") == "handed_over_after_restart"], err_text(d)



def test_on_postgresql_the_lean_spawner_loads_the_module_and_serves(wk, pg_database):
    """On a PostgreSQL store the spawner is still the lean program: it
    loads cronwarden-pg.so (libpq) before its first fork, so its workers
    inherit it, and fires run as usual (docs/scheduling.md)."""
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Tick", wk.script("tick", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')),
                 globals=f"store = {pg_database}")
    d = start_daemon(wk)
    pid = spawner_pid(d)
    wait_for(lambda: log.exists() and len(log.read_text().split()) >= 2, timeout=10,
             what="Tick to fire twice on PostgreSQL")
    exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    assert os.path.basename(exe) == "cronwarden-spawner", exe
    libs = mapped_libraries(pid)
    assert "cronwarden-pg.so" in libs and any(lib.startswith("libpq") for lib in libs), libs
    assert not [lib for lib in libs if lib.startswith(("libmicrohttpd", "libcurl"))], libs
    stop_daemon(wk, d)
    fires = log.read_text().split()
    assert len(fires) == len(set(fires)), fires


def test_lean_spawner_of_another_version_hands_over_to_the_daemon_binary(build_dir, tmp_path):
    """cronwarden-spawner started with a protocol other than its own (a
    daemon of another version: the package was upgraded under it), or
    without one (an older daemon), execs the daemon's binary as
    `daemon --spawner`, which reads that daemon's messages (docs/
    scheduling.md, "Starting workers: the daemon's spawner")."""
    import socket
    import subprocess

    lean = build_dir / "cronwarden-spawner"
    full = build_dir / "cronwarden"
    cfg = tmp_path / "c.ini"
    cfg.write_text(f"[cronwarden]\ndata_dir = {tmp_path / 'data'}\n\n"
                   "[job a]\ncommand = true\n")
    for extra in (["0-0"], []):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

        def on_fd3(fd=theirs.fileno()):
            os.dup2(fd, 3)

        p = subprocess.Popen([str(lean), str(full), str(cfg), str(cfg), *extra],
                             preexec_fn=on_fd3, pass_fds=(3,), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        theirs.close()
        def exe():
            try:
                return os.path.basename(os.readlink(f"/proc/{p.pid}/exe"))
            except OSError:
                return None

        try:
            wait_for(lambda: exe() == "cronwarden" or p.poll() is not None, timeout=10,
                     what="the hand-over to the daemon's binary")
            assert exe() == "cronwarden", (p.poll(), p.stderr.read() if p.poll() else "")
            assert "--spawner" in open(f"/proc/{p.pid}/cmdline").read().split("\0")
        finally:
            ours.close()  # the daemon's end: the spawner exits
            p.wait(timeout=10)
        assert p.returncode == 0, p.stderr.read()
