"""Exactly once across a worker's death (docs/scheduling.md, exactly once;
src/worker/started.h): a daemon's worker starts its job before it marks the
run running, and a worker that dies in between leaves the run queued.
Recovery (the next daemon, `status`, `clean`, `tick`) must never start such
a fire again: a queued run whose job may have started is recorded lost (and
a job with can_resume = yes is resumed, as a resume); only a run that never
reached its job's exec is handed over again.

The job itself kills its worker with SIGKILL right after it logs its fire,
which is the moment that used to lose track of it. Real daemons, real time;
every wait bounded."""

import json
import os
import subprocess
import time
from collections import Counter

import pytest

from test_daemon import err_text, events, per_second_job, start_daemon, stop_daemon
from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)

JOBS = ("K1", "K2", "K3", "K4")


def killer_config(wk, names=JOBS, **keys):
    """Per-second jobs that log "FIRE RUN JOB" and, while the file
    `killmode` exists, SIGKILL their worker at once (the job dies with it:
    PR_SET_PDEATHSIG)."""
    log = wk.tmp / "fires.log"
    mode = wk.tmp / "killmode"
    mode.touch()
    cmd = wk.script("killer", f'echo "$CRONWARDEN_SCHEDULED_AT $CRONWARDEN_RUN_ID $CRONWARDEN_JOB" >> {log}\n'
                              f'if [ -e {mode} ]; then kill -9 $PPID; sleep 5; fi\n')
    wk.configure("\n".join(job(n, cmd, schedule="* * * * * *", concurrency="allow", lock="none", **keys)
                           for n in names), globals="timezone = UTC")
    return log, mode


def fire_lines(log):
    """[(fire, run id, job)] of every start the jobs logged."""
    if not log.exists():
        return []
    return [tuple(line.split()) for line in log.read_text().splitlines() if line.strip()]


def queued_left(wk):
    return [r for r in wk.db_runs() if r["status"] == "queued"]


def left_behind(wk):
    """Runs left queued, or recorded lost as such already."""
    return [r for r in wk.db_runs() if r["status"] == "queued" or
            (r["status"] == "lost" and "may have run" in (r["reason"] or ""))]


def kill_workers_for_a_while(wk, log, seconds=3.0):
    """A daemon whose workers are killed by their jobs: stopped once some
    runs are left queued. Returns the daemon (stopped)."""
    d = start_daemon(wk)
    wait_for(lambda: len(fire_lines(log)) >= 2 * len(JOBS) and len(queued_left(wk)) >= 2,
             timeout=seconds + 10, what="runs left queued by killed workers")
    time.sleep(seconds)
    stop_daemon(wk, d)
    time.sleep(0.5)  # the last jobs' kills, the last workers' records
    return d


def test_workers_killed_after_exec_then_restart_no_fire_runs_twice(wk):
    log, mode = killer_config(wk)
    kill_workers_for_a_while(wk, log)
    # Runs whose job ran (and killed its worker); a run still on its way
    # to a worker when the daemon stopped runs later, normally.
    ran = {int(rid) for _, rid, _ in fire_lines(log)}
    orphans = {r["id"] for r in queued_left(wk) if r["id"] in ran}
    assert orphans, "no run was left queued: the test did not reach the gap it is about"
    mode.unlink()
    d = start_daemon(wk)
    wait_for(lambda: not queued_left(wk) and
             all(r["status"] not in ("queued", "running") for r in wk.db_runs() if r["id"] in orphans),
             timeout=15, what="the next daemon to deal with the runs left queued")
    time.sleep(1.5)
    stop_daemon(wk, d)
    starts = Counter((fire, job_name) for fire, _, job_name in fire_lines(log))
    twice = {k: v for k, v in starts.items() if v > 1}
    assert not twice, f"fire instants started more than once: {twice}\n{err_text(d)}"
    for rid in orphans:
        r = wk.db_run(rid)
        assert r["status"] == "lost", r
        assert "may have run" in (r["reason"] or ""), r
    assert not [e for e in events(d, "started") if e.get("reason") == "handed_over_after_restart" and
                int(e["run"]) in orphans], err_text(d)


def test_lost_run_of_a_resumable_job_is_resumed_once_as_a_resume(wk):
    log, mode = killer_config(wk, names=("R",), can_resume="yes")
    d = start_daemon(wk)
    wait_for(lambda: len(queued_left(wk)) >= 2, timeout=10, what="runs left queued by killed workers")
    stop_daemon(wk, d)
    time.sleep(0.5)
    ran = {int(rid) for _, rid, _ in fire_lines(log)}
    orphans = {r["id"]: r for r in queued_left(wk) if r["id"] in ran}
    mode.unlink()
    d = start_daemon(wk)
    wait_for(lambda: all(wk.db_run(i)["status"] == "lost" for i in orphans) and
             len([r for r in wk.db_runs("R") if r["trigger"] == "resume" and r["status"] == "succeeded"]) >= len(orphans),
             timeout=15, what="the lost runs to be resumed")
    stop_daemon(wk, d)
    resumes = [r for r in wk.db_runs("R") if r["trigger"] == "resume"]
    by_origin = Counter(r["resumed_from"] for r in resumes)
    assert set(by_origin) == set(orphans) and set(by_origin.values()) == {1}, (by_origin, orphans)
    for r in resumes:
        old = orphans[r["resumed_from"]]
        assert r["scheduled_at"] == old["scheduled_at"], (r, old)
        assert wk.db_run(old["id"])["resume"] == "done", wk.db_run(old["id"])
    started = [e for e in events(d, "started") if e.get("trigger") == "resume"]
    assert {int(e["resumed_from"]) for e in started} == set(orphans), err_text(d)


def test_status_shows_runs_left_queued_by_dead_workers_as_dead_and_records_them_lost(wk):
    log, mode = killer_config(wk, names=("K1",))
    kill_workers_for_a_while(wk, log, seconds=1.0)
    ran = {int(rid) for _, rid, _ in fire_lines(log)}
    orphans = {r["id"] for r in queued_left(wk) if r["id"] in ran}
    assert orphans
    rows = json.loads(wk.ok("status", "--json").stdout)
    states = {r["id"]: r["state"] for r in rows}
    assert {states[i] for i in orphans} == {"DEAD"}, rows
    for i in orphans:
        r = wk.db_run(i)
        assert r["status"] == "lost" and "may have run" in r["reason"], r


def test_clean_and_tick_record_runs_left_queued_by_dead_workers_as_lost(wk):
    log, mode = killer_config(wk, names=("K1",))
    kill_workers_for_a_while(wk, log, seconds=1.0)
    ran = {int(rid) for _, rid, _ in fire_lines(log)}
    orphans = sorted(r["id"] for r in queued_left(wk) if r["id"] in ran)
    assert len(orphans) >= 2
    # One left for tick: clean takes them all, so take one away first.
    con = wk._db()
    try:
        con.execute("UPDATE runs SET status = 'succeeded' WHERE id = ?", (orphans[0],))
        con.commit()
    finally:
        con.close()
    mode.unlink()
    out = wk.ok("tick").stdout
    assert all(wk.db_run(i)["status"] == "lost" for i in orphans[1:]), out
    assert f"lost run {orphans[1]}" in out, out
    con = wk._db()
    try:
        con.execute("UPDATE runs SET status = 'queued' WHERE id = ?", (orphans[0],))
        con.commit()
    finally:
        con.close()
    out = wk.ok("clean").stdout
    assert "1 dead run recorded as lost" in out, out
    assert wk.db_run(orphans[0])["status"] == "lost"


def test_a_queued_run_never_handed_over_is_dead_without_a_daemon(wk):
    """No marker, no daemon, no spawner: the run never reached its job (a
    daemon killed between committing and handing over). `status` says DEAD
    and records it lost as never started."""
    wk.configure(job("Q", wk.script("q", "true\n")))
    wk.ok("run", "Q", "--quiet")
    con = wk._db()
    try:
        cur = con.execute("INSERT INTO runs (job, spec, node, status, trigger, attempt, scheduled_at, started_us, "
                          "ended_us, worker_pid, pid, pid_start, exit_code, signal, progress_done, progress_total, "
                          "output_size, output_truncated, reason, lock_key, resume, resumed_from) "
                          "SELECT 'Q', 'Q', node, 'queued', 'schedule', 1, 1000, started_us, 0, 0, 0, 0, -1, 0, -1, "
                          "-1, 0, 0, NULL, NULL, 'none', 0 FROM runs LIMIT 1")
        rid = cur.lastrowid
        con.commit()
    finally:
        con.close()
    rows = json.loads(wk.ok("status", "--json").stdout)
    assert [r["state"] for r in rows if r["id"] == rid] == ["DEAD"], rows
    r = wk.db_run(rid)
    assert r["status"] == "lost" and "never started" in r["reason"], r


def chattr(flag, path):
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_store_unwritable_for_workers_a_few_seconds_then_restart_no_fire_runs_twice(wk):
    """The store's file made immutable for a few seconds: the daemon, whose
    connection writes to the WAL, still records the fires as queued and
    hands them over; every worker starts its job, then can neither mark
    its run nor record its end. After the fault, the next daemon must not
    run those fires again."""
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Tick", wk.script("tick", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')),
                 globals="timezone = UTC")
    d = start_daemon(wk)
    db = wk.data_dir / "cronwarden.db"
    try:
        wait_for(lambda: len(fire_lines(log)) >= 2, timeout=10, what="two fires")
        if os.geteuid() != 0 or not chattr("+i", db):
            stop_daemon(wk, d)
            pytest.skip("needs root and a file system with the immutable attribute")
        wait_for(lambda: len(left_behind(wk)) >= 3, timeout=10, what="runs left queued while the store is unwritable")
    finally:
        chattr("-i", db)
    stop_daemon(wk, d)
    time.sleep(1.0)  # workers started after the fault record their runs
    # Left queued; the running daemon records the older ones as lost.
    orphans = {r["id"] for r in left_behind(wk)}
    assert orphans
    d = start_daemon(wk)
    wait_for(lambda: all(wk.db_run(i)["status"] not in ("queued", "running") for i in orphans), timeout=15,
             what="the next daemon to deal with the runs left queued")
    time.sleep(1.5)
    stop_daemon(wk, d)
    starts = Counter(fire for (fire,) in fire_lines(log))
    twice = {k: v for k, v in starts.items() if v > 1}
    assert not twice, f"fire instants started more than once: {twice}\n{err_text(d)}"
    # A worker that could not record its end kept it in the journal
    # (docs/store.md): its run gets its real outcome; the others are lost.
    assert {wk.db_run(i)["status"] for i in orphans} <= {"lost", "succeeded"}


def test_running_daemon_records_runs_of_workers_killed_after_exec_as_lost(wk):
    """Not only at the next start: once a worker has ended, the daemon
    looks at runs queued a few seconds ago, and one whose worker died
    after starting its job is recorded lost and logged."""
    log, mode = killer_config(wk, names=("K1",))
    d = start_daemon(wk)
    try:
        lost = wait_for(lambda: [r for r in wk.db_runs("K1") if r["status"] == "lost"], timeout=15,
                        what="the daemon to record a run of a killed worker as lost")
    finally:
        mode.unlink()
        stop_daemon(wk, d)
    assert "may have run" in lost[0]["reason"], lost[0]
    assert [e for e in events(d, "error") if e.get("what") == "queued_run" and e.get("action") == "lost" and
            e.get("may_have_run") == "yes"], err_text(d)


def test_a_worker_killed_before_its_job_started_leaves_a_failed_run_not_a_queued_one(wk):
    """A worker that dies before it starts its job (a crash, the OOM
    killer; here the test hook of the spawner) used to leave its run
    queued until the daemon's next start. Its spawner tells the daemon
    which run's worker died and how: with no start record the job never
    ran, so the run is recorded failed at once, saying so, and logged."""
    ran = wk.tmp / "ran.log"
    cmd = wk.script("ran", f'echo ran >> {ran}\n')
    wk.configure(job("D1", cmd, schedule="* * * * * *"), globals="timezone = UTC")
    d = start_daemon(wk, env={"CRONWARDEN_TEST_WORKER_DIES": "before_start"})
    try:
        failed = wait_for(lambda: [r for r in wk.db_runs("D1") if r["status"] == "failed"], timeout=10,
                          what="a run of a worker killed before its job to be recorded failed")
        time.sleep(1.5)  # a few more fires, each handled the same way
        runs = wk.db_runs("D1")
    finally:
        stop_daemon(wk, d)
    assert "its worker was killed by signal 9" in failed[0]["reason"], failed[0]
    assert "before it started the job" in failed[0]["reason"], failed[0]
    assert not ran.exists(), "the job ran although its worker was killed before starting it"
    # Only the newest fire may still be on its way.
    assert len([r for r in runs if r["status"] == "queued"]) <= 1, runs
    assert [e for e in events(d, "failed") if e.get("level") == "error" and e.get("run") == str(failed[0]["id"])], \
        err_text(d)
