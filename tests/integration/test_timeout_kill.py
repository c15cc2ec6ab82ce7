"""Timeouts, `kill`, `resume`, `clean` and `suspend` (docs/running.md,
docs/cronwarden.1). Whether a process group is gone is
checked in /proc (every live process whose pgrp is the job's pid;
zombies do not count: they are dead, waiting for a reaper)."""

import re

import pytest

from worker_helpers import *  # noqa: F401,F403

STUBBORN = """
    trap '' TERM
    # A grandchild that ignores SIGTERM (inherited) and is not even our
    # child: the subshell exits at once, leaving it orphaned in our group.
    ( /bin/sh -c 'echo $$ > {gc}.tmp && mv {gc}.tmp {gc}
                  while :; do sleep 0.1; done' & )
    echo "job $$"
    wait_gate never
"""


def test_timeout_kills_whole_group_after_grace(wk):
    gc_file = wk.tmp / "gc.pid"
    cmd = wk.script("stubborn", STUBBORN.format(gc=gc_file))
    wk.configure(job("Stubborn", cmd, timeout="1s", kill_grace="2s"))
    p = wk.spawn("run", "Stubborn")
    st = wk.wait_running("Stubborn")[0]
    wait_for(gc_file.exists, what="the grandchild to start")
    gc = int(gc_file.read_text())
    assert proc_stat(gc)[1] == st["pid"]
    rc, out, err = p.finish(timeout=30)
    assert rc == 1, err
    # SIGTERM was ignored: nothing could end before timeout + kill_grace.
    assert p.elapsed() >= 2.9, p.elapsed()
    assert p.elapsed() < 13, p.elapsed()
    assert re.search(r"run \d+: timed out", err), err
    # Regression: the summary said "timed out after 1s in 1.0s: timed out after 1s".
    assert re.search(r"^run \d+: timed out after 1s$", err, re.M), err
    rec = wk.run_record(st["id"])
    assert rec["status"] == "timed_out"
    assert rec["signal"] == 9
    assert wk.db_run(st["id"])["status"] == "timed_out"
    wait_for(lambda: not pgid_members(st["pid"]), timeout=2,
             what=f"every process of group {st['pid']} to be gone")
    assert not proc_alive(gc)
    assert f"job {st['pid']}" in out


def test_timeout_term_is_enough_when_job_obeys(wk):
    cmd = wk.script("obedient", "wait_gate never\n")
    wk.configure(job("Obedient", cmd, timeout="1s", kill_grace="20s"))
    p = wk.spawn("run", "Obedient")
    st = wk.wait_running("Obedient")[0]
    rc, _, err = p.finish(timeout=30)
    assert rc == 1, err
    assert p.elapsed() < 10, "waited for kill_grace although the job ended on SIGTERM"
    rec = wk.run_record(st["id"])
    assert rec["status"] == "timed_out"
    assert rec["signal"] == 15
    assert not pgid_members(st["pid"])


@pytest.mark.parametrize("how", ["spec", "run-id", "job-pid", "worker-pid", "--run", "--pid"])
def test_kill(wk, how):
    cmd = wk.script("sleepy", """
        echo up
        sleep 300 &
        wait_gate never
    """)
    wk.configure(job("Sleepy", cmd, args="n"))
    p = wk.spawn("run", "Sleepy:7")
    st = wk.wait_running("Sleepy")[0]
    args = {
        "spec": ["Sleepy:7"],
        "run-id": [st["id"]],
        "job-pid": [st["pid"]],
        "worker-pid": [st["worker_pid"]],
        "--run": ["--run", st["id"]],
        "--pid": ["--pid", st["pid"]],
    }[how]
    r = wk("kill", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"killed run {st['id']} (Sleepy)" in r.stdout
    # kill waits until the run is recorded.
    assert wk.run_record(st["id"])["status"] == "killed"
    rc, _, err = p.finish()
    assert rc == 1, err
    wait_for(lambda: not pgid_members(st["pid"]), timeout=5, what="the job's group to be gone")
    assert wk.db_run(st["id"])["status"] == "killed"
    assert not wk.status()


def test_kill_nothing_matched_exits_2(wk):
    cmd = wk.script("idle", "wait_gate never\n")
    wk.configure(job("A", cmd) + job("B", cmd))
    assert wk("kill").returncode == 2
    assert wk("kill", "A").returncode == 2
    p = wk.spawn("run", "A")
    st = wk.wait_running("A")[0]
    for args in (["B"], ["999999"], ["--run", "999999"], ["--pid", "999999"], ["Nope"]):
        r = wk("kill", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip()
    assert [x["state"] for x in wk.status()] == ["ALIVE"]
    assert wk("kill", "A").returncode == 0
    p.finish()
    assert wk.run_record(st["id"])["status"] == "killed"


RESUMABLE = """
    echo "$CRONWARDEN_RUN_ID $CRONWARDEN_JOB $*" >> {log}
    wait_gate go
"""


def _detach(wk, spec):
    r = wk("run", spec, "--detach", timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    return int(re.search(r"run (\d+) started", r.stdout).group(1))


def _resumed(stdout):
    """{old id: new id} from `resumed run 42 as run 57` lines."""
    return {int(a): int(b) for a, b in re.findall(r"resumed run (\d+) as run (\d+)", stdout)}


def test_resume_restarts_killed_resumable_runs(wk):
    log = wk.tmp / "runs.log"
    cmd = wk.script("res", RESUMABLE.format(log=log))
    wk.configure(job("Res", cmd, args="who", can_resume="yes") + job("NoRes", cmd))
    old = _detach(wk, "Res:alpha")
    p = wk.spawn("run", "NoRes")
    wk.wait_running("Res")
    other = wk.wait_running("NoRes")[0]["id"]
    assert f"killed run {old} (Res)" in wk.ok("kill", "Res").stdout
    assert f"killed run {other} (NoRes)" in wk.ok("kill", "NoRes").stdout
    p.finish()

    r = wk.ok("resume")
    resumed = _resumed(r.stdout)
    assert list(resumed) == [old], r.stdout
    new = resumed[old]
    rec = wk.run_record(new)
    assert rec["trigger"] == "resume"
    assert rec["spec"] == "Res:alpha" and rec["job"] == "Res"
    assert rec["resumed_from"] == old
    row = wk.db_run(new)
    assert row["trigger"] == "resume" and row["spec"] == "Res:alpha"
    # It really runs, in the background, with the same params.
    st = wk.wait_running("Res")
    assert [x["id"] for x in st] == [new] and st[0]["state"] == "ALIVE"
    wait_for(lambda: log.exists() and f"{new} Res alpha" in log.read_text(), what="the resumed job to start")

    # The old run is no longer resumable; NoRes never was.
    n_runs = len(wk.db_runs())
    r = wk("resume")
    assert not _resumed(r.stdout), r.stdout
    assert len(wk.db_runs()) == n_runs
    wk.open_gate("go")
    assert wk.wait_final(new)["status"] == "succeeded"
    assert wk.run_record(old)["status"] == "killed"


def test_clean_forgets_resumable_runs(wk):
    log = wk.tmp / "runs.log"
    cmd = wk.script("res", RESUMABLE.format(log=log))
    wk.configure(job("Res", cmd, args="who", can_resume="yes", lock="params"))
    old = _detach(wk, "Res:a")
    alive = _detach(wk, "Res:b")
    wk.wait_running("Res", n=2)
    wk.ok("kill", "Res:a")
    wk.ok("clean")
    # clean leaves a healthy run alone.
    assert [(x["id"], x["state"]) for x in wk.status()] == [(alive, "ALIVE")]
    n_runs = len(wk.db_runs())
    r = wk("resume")
    assert not _resumed(r.stdout), r.stdout
    assert len(wk.db_runs()) == n_runs
    assert wk.run_record(old)["status"] == "killed"
    row = wk.db_run(old)
    if "resume" in row:
        assert row["resume"] != "pending", row


def test_suspend_kills_all_and_resume_restarts_them(wk):
    log = wk.tmp / "runs.log"
    cmd = wk.script("res", RESUMABLE.format(log=log))
    wk.configure(job("Res", cmd, args="who", can_resume="yes", lock="params") + job("NoRes", cmd))
    # A run killed before the suspend: suspend's clean forgets it.
    forgotten = _detach(wk, "Res:zero")
    wk.wait_running("Res")
    wk.ok("kill", forgotten)
    one = _detach(wk, "Res:one")
    two = _detach(wk, "Res:two")
    p = wk.spawn("run", "NoRes")
    wk.wait_running("Res", n=2)
    nores = wk.wait_running("NoRes")[0]["id"]

    r = wk.ok("suspend")
    for run_id, name in ((one, "Res"), (two, "Res"), (nores, "NoRes")):
        assert f"killed run {run_id} ({name})" in r.stdout, r.stdout
        assert wk.run_record(run_id)["status"] == "killed"
    assert wk.status() == []
    assert p.finish()[0] == 1

    r = wk.ok("resume")
    resumed = _resumed(r.stdout)
    assert sorted(resumed) == sorted([one, two]), r.stdout
    specs = {wk.run_record(new)["spec"] for new in resumed.values()}
    assert specs == {"Res:one", "Res:two"}
    for new in resumed.values():
        assert wk.run_record(new)["trigger"] == "resume"
    wk.wait_running("Res", n=2)
    wk.open_gate("go")
    for new in resumed.values():
        assert wk.wait_final(new)["status"] == "succeeded"


def test_resume_goes_on_past_a_held_lock_and_once_per_spec(wk):
    """Regression: `resume` stopped at the first run it could not restart,
    and restarted a job spec once per time it had been killed."""
    log = wk.tmp / "runs.log"
    cmd = wk.script("res2", RESUMABLE.format(log=log))
    wk.configure(job("R", cmd, args="who", can_resume="yes") + job("S", cmd, can_resume="yes"))
    # R:a killed twice (two resumable runs of one spec), S killed once.
    first = _detach(wk, "R:a")
    wk.wait_running("R")
    wk.ok("kill", "R")
    second = _detach(wk, "R:a")
    wk.wait_running("R")
    wk.ok("kill", "R")
    s_old = _detach(wk, "S")
    wk.wait_running("S")
    wk.ok("kill", "S")
    # Something else now holds S's lock, so S cannot be restarted.
    blocker = wk.spawn("run", "S")
    wk.wait_running("S")
    r = wk("resume")
    resumed = _resumed(r.stdout)
    assert list(resumed) == [second], r.stdout + r.stderr
    assert f"run {first} (R:a) is superseded" in r.stdout
    assert f"run {s_old} (S) was not restarted: its lock is held" in r.stderr
    assert r.returncode == 75
    assert "1 run resumed" in r.stdout
    # S stays resumable; R:a's older kill is forgotten.
    wk.open_gate("go")
    assert blocker.finish()[0] == 0
    wk.wait_final(resumed[second])
    r = wk("resume")
    assert list(_resumed(r.stdout)) == [s_old], r.stdout + r.stderr
