"""Locks (docs/running.md, "Locks"): `class`,
`params`, shared `lock_name`, `none`; a held lock makes `run` exit 75 at
once naming the holder; a worker killed with SIGKILL never leaves a lock
that blocks the next run, nor a job running unsupervised, and its run ends
up `lost`, not `running` forever.

Jobs here wait on gate files (wk.open_gate) instead of sleeping, so "the
losers exited at once" is checked exactly: they all exited while the
winner's job was still blocked."""

import os
import signal

from worker_helpers import *  # noqa: F401,F403


def holder_of(err):
    m = LOCKED_RE.search(err)
    assert m, f"no 'is already running (run N, pid P, since T)' message:\n{err}"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_20_concurrent_runs_of_class_locked_job(wk):
    cmd = wk.script("hold", """
        echo "holder $CRONWARDEN_RUN_ID"
        wait_gate go
    """)
    wk.configure(job("Hold", cmd, lock="class"))
    # Create the store first so the 20 racers test the lock, not schema set-up.
    wk.ok("history")
    procs = [wk.spawn("run", "Hold") for _ in range(20)]
    # 19 exit 75 while the winner's job is still blocked on the gate.
    wait_for(lambda: sum(p.poll() is not None for p in procs) >= 19, timeout=30,
             what="19 of 20 concurrent runs to exit")
    running = [p for p in procs if p.poll() is None]
    assert len(running) == 1, f"{len(running)} runs still going"
    winner = running[0]
    st = wk.wait_running("Hold")
    assert len(st) == 1
    holder_run, holder_worker, holder_pid = st[0]["id"], st[0]["worker_pid"], st[0]["pid"]
    losers = [p for p in procs if p is not winner]
    for p in losers:
        rc, out, err = p.finish()
        assert rc == 75, f"exit {rc}\n{out}\n{err}"
        assert "holder" not in out
        run_id, pid, since = holder_of(err)
        assert run_id == holder_run
        assert pid in (holder_worker, holder_pid), (pid, st[0])
        assert "Hold" in err
        # "at once": no loser waited for the lock.
        assert p.elapsed() < 15, p.elapsed()
    wk.open_gate("go")
    rc, out, err = winner.finish()
    assert rc == 0, err
    assert out == f"holder {holder_run}\n"
    runs = wk.history("Hold")
    assert [r["status"] for r in runs if r["status"] != "skipped"] == ["succeeded"]
    assert [r["id"] for r in wk.db_runs("Hold") if r["status"] != "skipped"] == [holder_run]


def test_params_lock(wk):
    cmd = wk.script("p", """
        echo "start $1"
        wait_gate go
    """)
    wk.configure(job("P", cmd, args="what", lock="params"))
    a = wk.spawn("run", "P:a")
    b = wk.spawn("run", "P:b")
    # Different params run concurrently.
    st = wk.wait_running("P", n=2)
    assert sorted(x["spec"] for x in st) == ["P:a", "P:b"]
    # Equal params do not (written differently: same canonical spec).
    for spec in ("P:a", 'P:"a"'):
        r = wk("run", spec)
        assert r.returncode == 75, r.stdout + r.stderr
        run_id, _, _ = holder_of(r.stderr)
        assert run_id == [x["id"] for x in st if x["spec"] == "P:a"][0]
    assert a.poll() is None and b.poll() is None
    wk.open_gate("go")
    for p in (a, b):
        rc, _, err = p.finish()
        assert rc == 0, err
    assert sorted(r["status"] for r in wk.history("P") if r["status"] != "skipped") == ["succeeded"] * 2


def test_shared_lock_name(wk):
    cmd = wk.script("shared", "wait_gate go\n")
    wk.configure(
        job("A", cmd, lock_name="Shared")
        + job("B", cmd, lock_name="Shared")
        + job("C", cmd)
    )
    a = wk.spawn("run", "A")
    st = wk.wait_running("A")
    r = wk("run", "B")
    assert r.returncode == 75, r.stdout + r.stderr
    assert holder_of(r.stderr)[0] == st[0]["id"]
    # Regression: the message said "B is already running" for A's run.
    assert "B cannot run: its lock is held by A, which is already running" in r.stderr, r.stderr
    # A job with its own lock is not affected.
    c = wk.spawn("run", "C")
    wk.wait_running("C")
    wk.open_gate("go")
    assert a.finish()[0] == 0
    assert c.finish()[0] == 0
    # Once A is done, B gets the lock.
    r = wk("run", "B")
    assert r.returncode == 0, r.stderr
    assert not [x for x in wk.history("B") if x["status"] not in ("succeeded", "skipped")]


def test_lock_none_allows_concurrent_runs(wk):
    cmd = wk.script("free", "wait_gate go\n")
    wk.configure(job("Free", cmd, lock="none"))
    procs = [wk.spawn("run", "Free") for _ in range(3)]
    st = wk.wait_running("Free", n=3)
    assert len({x["id"] for x in st}) == 3
    wk.open_gate("go")
    for p in procs:
        rc, _, err = p.finish()
        assert rc == 0, err


def _start_held_job(wk):
    """A class-locked job whose script leaves a child and a grandchild in
    its process group; returns (Proc, status entry, grandchild pid)."""
    gc_file = wk.tmp / "grandchild.pid"
    cmd = wk.script("victim", f"""
        /bin/sh -c 'echo $$ > {gc_file}.tmp && mv {gc_file}.tmp {gc_file}; while :; do sleep 0.1; done' &
        wait_gate go
    """)
    wk.configure(job("Victim", cmd, lock="class"))
    p = wk.spawn("run", "Victim")
    st = wk.wait_running("Victim")[0]
    wait_for(gc_file.exists, what="the grandchild to start")
    gc = int(gc_file.read_text())
    assert proc_stat(gc)[1] == st["pid"], "the grandchild is in the job's process group"
    assert st["state"] == "ALIVE"
    return p, st, gc


def _kill9_worker(wk, p, st):
    wk.check_exe(st["worker_pid"])
    os.kill(st["worker_pid"], signal.SIGKILL)
    p.finish()  # reap it if it was our child (the foreground run is its own worker)
    # PR_SET_PDEATHSIG: the job's own process dies with its worker.
    wait_for(lambda: not proc_alive(st["pid"]), timeout=10, what="the job leader to die with its worker")


def test_kill9_worker_status_shows_dead_then_lost(wk):
    p, st, gc = _start_held_job(wk)
    _kill9_worker(wk, p, st)
    # status: DEAD first, and the same call records the run lost after
    # killing what is left of its process group.
    now = [x for x in wk.status() if x["id"] == st["id"]]
    assert [x["state"] for x in now] == ["DEAD"]
    assert wait_for(lambda: not pgid_members(st["pid"]), timeout=5,
                    what="the job's process group to be gone after `status`") is True
    assert not proc_alive(gc)
    rec = wk.run_record(st["id"])
    assert rec["status"] == "lost", rec
    assert wk.db_run(st["id"])["status"] == "lost"
    assert not [x for x in wk.status() if x["id"] == st["id"]]
    # The next run takes the lock.
    wk.open_gate("go")
    r = wk("run", "Victim")
    assert r.returncode == 0, r.stderr


def test_kill9_worker_next_run_takes_lock_then_clean(wk):
    p, st, gc = _start_held_job(wk)
    _kill9_worker(wk, p, st)
    # Straight away, no status/clean in between: the next run gets the lock
    # and first kills what is left of the old run's process group.
    nxt = wk.spawn("run", "Victim")

    def new_run_active():
        return [r for r in wk.db_runs("Victim") if r["id"] != st["id"] and r["status"] == "running"
                and r.get("pid")]

    wait_for(new_run_active, what="the next run to start (lock taken)")
    assert nxt.poll() is None, nxt.finish()
    wait_for(lambda: not proc_alive(gc), timeout=5, what="the old grandchild to be killed by the next run")
    assert not pgid_members(st["pid"])
    # The old run: `clean` records it lost.
    r = wk.ok("clean")
    rec = wk.run_record(st["id"])
    assert rec["status"] == "lost", (rec, r.stdout)
    wk.open_gate("go")
    rc, _, err = nxt.finish()
    assert rc == 0, err
    assert wk.run_record(st["id"])["status"] == "lost"


def test_kill9_lock_none_job_is_dead_in_status(wk):
    """Without a lock, a dead worker is still noticed (its pid is gone)."""
    cmd = wk.script("nolock", "wait_gate go\n")
    wk.configure(job("Loose", cmd, lock="none"))
    p = wk.spawn("run", "Loose")
    st = wk.wait_running("Loose")[0]
    wk.check_exe(st["worker_pid"])
    os.kill(st["worker_pid"], signal.SIGKILL)
    p.finish()
    now = [x for x in wk.status() if x["id"] == st["id"]]
    assert [x["state"] for x in now] == ["DEAD"]
    assert wk.run_record(st["id"])["status"] == "lost"
    wait_for(lambda: not pgid_members(st["pid"]), timeout=5, what="the job's process group to be gone")
