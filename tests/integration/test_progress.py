"""Progress (docs/running.md, "Progress")
through CRONWARDEN_PROGRESS_FD and `cronwarden progress` from inside a
job, seen by `status` while the job runs and stored at the end; nice and
ionice as the kernel sees them on the running job (/proc, ioprio_get)."""

import ctypes
import os
import platform
import shutil
import subprocess

from worker_helpers import *  # noqa: F401,F403


def progress_of(wk, run_id):
    for x in wk.status():
        if x["id"] == run_id:
            p = x["progress"]
            return (p["done"], p["total"]) if p else None
    raise AssertionError(f"run {run_id} not in `status`")


def test_progress_from_fd_and_cli(wk):
    # bash: dash cannot redirect to a file descriptor above 9.
    cmd = wk.script("prog", """
        echo 13/77 >&$CRONWARDEN_PROGRESS_FD
        wait_gate g1
        "$CW" progress 42 100 || exit 9
        wait_gate g2
        "$CW" progress 50% || exit 10
        wait_gate g3
        echo 75% >&$CRONWARDEN_PROGRESS_FD
        "$CW" progress abc; echo "bad=$?"
        "$CW" progress; echo "none=$?"
        echo done
    """, interp="/bin/bash")
    wk.configure(job("Prog", cmd, env=f"CW={wk.binary}"))
    p = wk.spawn("run", "Prog")
    run_id = wk.wait_running("Prog")[0]["id"]
    wait_for(lambda: progress_of(wk, run_id) == (13, 77), what="progress 13/77 from the fd in `status`")
    row = wk.db_run(run_id)
    assert (row["progress_done"], row["progress_total"]) == (13, 77)
    wk.open_gate("g1")
    wait_for(lambda: progress_of(wk, run_id) == (42, 100), what="progress 42/100 from `cronwarden progress`")
    wk.open_gate("g2")
    wait_for(lambda: progress_of(wk, run_id) == (50, 100), what="progress 50% from `cronwarden progress`")
    wk.open_gate("g3")
    rc, out, err = p.finish()
    assert rc == 0, out + err
    assert "bad=2" in out and "none=2" in out, out
    assert out.endswith("done\n")
    rec = wk.run_record(run_id)
    assert rec["progress"] == {"done": 75, "total": 100, "percent": 75.0}, rec
    row = wk.db_run(run_id)
    assert (row["progress_done"], row["progress_total"]) == (75, 100)


def test_no_progress_is_unknown(wk):
    wk.configure(job("Quiet", "/bin/true"))
    wk.ok("run", "Quiet")
    rec = wk.history()[0]
    assert rec["progress"] is None, rec


def test_progress_outside_a_job_exits_2(wk, cw):
    unset = {"CRONWARDEN_PROGRESS_FD": None, "CRONWARDEN_RUN_ID": None, "CRONWARDEN_JOB": None}
    wk.configure(job("X", "/bin/true"))
    for args in (("progress", "1", "2"), ("progress", "50%")):
        r = wk(*args, env=unset)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.strip()
        r = cw(*args, env=unset)
        assert r.returncode == 2, r.stdout + r.stderr


IOPRIO_CLASS = {0: "none", 1: "realtime", 2: "best-effort", 3: "idle"}


def ioprio(pid):
    """(class name, level) of a process's I/O priority."""
    if shutil.which("ionice"):
        out = subprocess.run(["ionice", "-p", str(pid)], capture_output=True, text=True, check=True).stdout
        cls, _, rest = out.strip().partition(":")
        return cls, int(rest.split()[-1]) if "prio" in rest else None
    nr = {"x86_64": 252, "aarch64": 31, "i686": 290}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    v = libc.syscall(nr, 1, pid)  # IOPRIO_WHO_PROCESS
    assert v >= 0, os.strerror(ctypes.get_errno())
    cls = IOPRIO_CLASS[v >> 13]
    return cls, None if cls == "idle" else v & 0x1FFF


def test_nice_and_ionice_visible_on_running_job(wk):
    cmd = wk.script("niced", "wait_gate go\n")
    wk.configure(
        job("Nice", cmd, nice="10", ionice="best-effort:6")
        + job("Idle", cmd, nice="19", ionice="idle")
        + job("Plain", cmd)
    )
    procs = [wk.spawn("run", name) for name in ("Nice", "Idle", "Plain")]
    pid = {name: wk.wait_running(name)[0]["pid"] for name in ("Nice", "Idle", "Plain")}
    own_nice = proc_stat(os.getpid())[2]
    assert proc_stat(pid["Nice"])[2] == 10
    assert proc_stat(pid["Idle"])[2] == 19
    assert proc_stat(pid["Plain"])[2] == own_nice
    assert ioprio(pid["Nice"]) == ("best-effort", 6)
    assert ioprio(pid["Idle"])[0] == "idle"
    assert ioprio(pid["Plain"]) == ioprio(os.getpid())
    wk.open_gate("go")
    for p in procs:
        rc, _, err = p.finish()
        assert rc == 0, err
