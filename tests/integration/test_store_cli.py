"""The run history as the CLI shows it and as the store holds it
(docs/store.md, docs/running.md): concurrent writers lose nothing,
kill -9 of writers never corrupts the file, `history` filters, `logs`,
`prune`, `status` and `tick`. The tests taking the `backend` fixture run
twice: on SQLite (the default store) and on PostgreSQL (a database of
their own on the session's throwaway server; skipped when PostgreSQL is
not installed); what they read of SQLite's file directly is checked on
SQLite only."""

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter

import pytest

from worker_helpers import *  # noqa: F401,F403


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """The config's global lines naming the store: "" for SQLite's default,
    "store = postgresql://..." for a new PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    return f"store = {request.getfixturevalue('pg_database')}\n"


def run_id_of(stderr):
    m = SUMMARY_RE.search(stderr)
    assert m, stderr
    return int(m.group(1))


def test_50_parallel_runs_lose_no_record(wk, backend):
    wk.configure(job("Par", "/bin/sh -c 'echo \"out $CRONWARDEN_RUN_ID\"'", lock="none"),
                 globals=backend)
    # No store yet: the 50 also race to create it.
    procs = [wk.spawn("run", "Par") for _ in range(50)]
    ids = []
    for p in procs:
        rc, out, err = p.finish(timeout=120)
        assert rc == 0, f"exit {rc}\n{out}\n{err}"
        run_id = run_id_of(err)
        assert out == f"out {run_id}\n"
        ids.append(run_id)
    assert len(set(ids)) == 50
    hist = wk.history("--limit", "100")
    assert sorted(r["id"] for r in hist) == sorted(ids)
    assert {r["status"] for r in hist} == {"succeeded"}
    assert [r["id"] for r in hist] == sorted(ids, reverse=True)  # newest first
    for run_id in ids[:5]:
        assert wk.ok("logs", str(run_id)).stdout == f"out {run_id}\n"
    assert len(wk.history()) == 20  # the default limit
    if backend:
        return
    rows = wk.db_runs("Par")
    assert len(rows) == 50
    assert {r["status"] for r in rows} == {"succeeded"}
    for run_id in ids:
        assert wk.db_output(run_id) == f"out {run_id}\n".encode()
    assert wk.db_scalar("PRAGMA integrity_check") == "ok"
    assert wk.db_scalar("PRAGMA journal_mode") == "wal"


def test_kill9_loop_on_writers_keeps_store_intact(wk):
    cmd = wk.script("short", "echo short\nsleep 0.02\n")
    wk.configure(job("Short", cmd, lock="none"))
    wk.ok("run", "Short")
    for i in range(30):
        p = wk.spawn("run", "Short")
        time.sleep((i * 7 % 60) / 1000)  # 0..59 ms into the run, varied
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.finish()
    wk.ok("clean")
    assert wk.db_scalar("PRAGMA integrity_check") == "ok"
    rows = wk.db_runs("Short")
    assert rows, "no run recorded at all"
    # Every recorded run has a final status: finished, or lost via clean.
    assert {r["status"] for r in rows} <= {"succeeded", "lost"}, {r["status"] for r in rows}
    assert all(r["status"] != "succeeded" or wk.db_output(r["id"]) == b"short\n" for r in rows)
    assert wk.status() == []
    r = wk.ok("run", "Short")
    assert wk.run_record(run_id_of(r.stderr))["status"] == "succeeded"


def test_history_filters_and_json(wk, backend):
    wk.configure(job("Good", "/bin/true") + job("Bad", "/bin/sh -c 'exit 3'") + job("Other", "/bin/echo hi"),
                 globals=backend)
    ids = {}
    for name in ("Good", "Bad", "Good", "Other", "Bad"):
        r = wk("run", name)
        ids.setdefault(name, []).append(run_id_of(r.stderr))
    g1, g2 = ids["Good"]
    b1, b2 = ids["Bad"]
    (o1,) = ids["Other"]
    everything = [b2, o1, g2, b1, g1]
    assert [r["id"] for r in wk.history()] == everything
    assert [r["id"] for r in wk.history("--limit", "2")] == [b2, o1]
    assert [r["id"] for r in wk.history("--status", "failed")] == [b2, b1]
    assert [r["id"] for r in wk.history("--status", "succeeded", "--limit", "1")] == [o1]
    assert [r["id"] for r in wk.history("Good")] == [g2, g1]
    assert wk.history("Good", "--status", "failed") == []
    assert wk.history("--status", "lost") == []
    rec = wk.history("Bad", "--limit", "1")[0]
    for key in ("id", "job", "spec", "status", "trigger", "exit_code", "signal", "output_size"):
        assert key in rec, f"history --json lacks {key}: {sorted(rec)}"
    assert (rec["job"], rec["spec"], rec["status"], rec["trigger"], rec["exit_code"]) == (
        "Bad", "Bad", "failed", "manual", 3)

    for bad in (["--status", "nope"], ["--status", "SUCCEEDED!"], ["--limit", "0"], ["--limit", "100001"],
                ["--limit", "x"], ["--frobnicate"]):
        r = wk("history", *bad)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert r.stderr.strip()

    # The table.
    r = wk.ok("history")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["RUN", "JOB", "SPEC", "STATUS", "TRIGGER", "STARTED", "DURATION", "EXIT"]
    rows = lines[1:]
    assert [int(l.split()[0]) for l in rows] == everything
    assert "failed" in rows[0] and "Bad" in rows[0] and "manual" in rows[0]
    assert re.search(r"\b3\b", rows[0].split("manual", 1)[1])


def test_logs(wk, backend):
    wk.configure(job("Hi", "/bin/echo hello there"), globals=backend)
    run_id = run_id_of(wk.ok("run", "Hi").stderr)
    assert wk.ok("logs", str(run_id)).stdout == "hello there\n"
    j = wk.json("logs", str(run_id))
    assert j == {"run": run_id, "status": "succeeded", "output": "hello there\n", "truncated": False, "size": 12}
    for bad in (["999999"], ["0"], ["abc"], []):
        r = wk("logs", *bad)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert r.stderr.strip()
        assert r.stdout == ""


def pruned(stdout):
    m = re.search(r"pruned (\d+) runs?", stdout)
    assert m, stdout
    return int(m.group(1))


def test_prune_removes_old_finished_runs_only(wk, backend):
    cmd = wk.script("hold", "wait_gate go\n")
    wk.configure(job("Quick", "/bin/echo quick") + job("Hold", cmd, lock="none"), globals=backend)
    # A run started before everything else and still running at prune time.
    hold = wk.spawn("run", "Hold")
    held = wk.wait_running("Hold")[0]["id"]
    old = [run_id_of(wk.ok("run", "Quick").stderr) for _ in range(2)]
    t_old = time.monotonic()
    # Nothing is old enough yet.
    assert pruned(wk.ok("prune", "--older-than", "1h").stdout) == 0
    assert pruned(wk.ok("prune").stdout) == 0  # default keep_history (90d)
    # Age the first two by a little over 2 s.
    time.sleep(max(0.0, 2.3 - (time.monotonic() - t_old)))
    new = run_id_of(wk.ok("run", "Quick").stderr)
    assert pruned(wk.ok("prune", "--older-than", "2s").stdout) == 2
    left = {r["id"] for r in wk.history("--limit", "100")}
    assert left == {held, new}
    for run_id in old:
        assert wk("logs", str(run_id)).returncode == 2
    if not backend:
        for run_id in old:
            assert wk.db_output(run_id) == b""
        assert {r["id"] for r in wk.db_runs()} == {held, new}
        assert wk.db_scalar("SELECT count(*) FROM run_output WHERE run_id IN (?, ?)", *old) == 0
    # 0s: every finished run, never the running one.
    assert pruned(wk.ok("prune", "--older-than", "0s").stdout) == 1
    assert [(r["id"], r["state"]) for r in wk.status()] == [(held, "ALIVE")]
    assert [r["id"] for r in wk.history()] == [held]
    wk.open_gate("go")
    rc, _, err = hold.finish()
    assert rc == 0, err
    assert wk.run_record(held)["status"] == "succeeded"
    assert wk("prune", "--older-than", "soon").returncode == 2
    if not backend:
        assert wk.db_scalar("PRAGMA integrity_check") == "ok"


def _tick_loops(wk, n, seconds):
    """n shell loops running `tick --silent` for `seconds` seconds."""
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.update(wk.env)
    until = int(time.time()) + seconds
    loops = [subprocess.Popen(
        ["/bin/sh", "-c", f'while [ $(date +%s) -lt {until} ]; do "$0" --config "$1" tick --silent; done',
         str(wk.binary), str(wk.config)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(n)]
    for p in loops:
        _, err = p.communicate(timeout=seconds + 60)
        assert p.returncode == 0, err


def test_tick_and_status_start_each_fire_once(wk, backend):
    """Tick loops racing over per-second fires claim each fire once, in
    whichever store; status sees the running job and then nothing."""
    log = wk.tmp / "fires.log"
    cmd = wk.script("once", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')
    hold = wk.script("hold", "wait_gate go\n")
    wk.configure(job("Once", cmd, schedule="* * * * * *", concurrency="allow") + job("Hold", hold),
                 globals=backend)
    first = json.loads(wk.ok("tick", "--json").stdout)
    assert first["first_pass"] is True and first["actions"] == []
    _tick_loops(wk, 4, 4)
    runs = [r for r in wk.history("Once", "--limit", "100") if r["trigger"] == "schedule"]
    per_fire = Counter(r["scheduled_at"] for r in runs)
    assert len(per_fire) >= 3, per_fire
    assert all(v == 1 for v in per_fire.values()), per_fire
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == len(runs),
             what="every started job to write its line")
    assert len(set(log.read_text().splitlines())) == len(runs)

    p = wk.spawn("run", "Hold")
    held = wk.wait_running("Hold")[0]["id"]
    assert [(r["id"], r["state"]) for r in wk.status()] == [(held, "ALIVE")]
    wk.open_gate("go")
    rc, _, err = p.finish()
    assert rc == 0, err
    assert wk.status() == []
    assert wk.run_record(held)["status"] == "succeeded"


def test_postgresql_errors_hide_the_password(wk):
    """No server behind the URL: the command fails saying so, and the
    password in the URL appears nowhere."""
    wk.configure(job("J", "/bin/true"),
                 globals="store = postgresql://cw:hunter2@127.0.0.1:1/cron?connect_timeout=2\n")
    for args in (["run", "J"], ["history"], ["status"], ["tick"]):
        r = wk(*args)
        assert r.returncode != 0, (args, r.stdout, r.stderr)
        assert "hunter2" not in r.stdout + r.stderr, (args, r.stderr)
        assert "cw:***@127.0.0.1:1" in r.stderr, (args, r.stderr)
