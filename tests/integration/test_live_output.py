"""A running job's output, live (docs/running.md, docs/api.md; issue 5: the run
page's captured output): while a job runs its worker stores a snapshot of
the capture about once a second, so `logs RUN`, `logs --follow` and the
API (GET /api/v1/runs/ID/output, ?since=N) show it before the run ends;
the final record replaces it. Jobs hold still at gates (worker_helpers),
so "some lines now, more later" is checked without timing: every wait is
a bounded poll for a state the job is known to reach."""

import json
import os
import re
import signal
import subprocess

import pytest

from test_api import ApiDaemon
from worker_helpers import *  # noqa: F401,F403

MARKER_RE = re.compile(rb"\[\.\.\. cronwarden: (\d+) bytes omitted \.\.\.\]\n")


def lines(a, b):
    return "".join(f"line {k}\n" for k in range(a, b + 1))


# A line per 0.2 s for ~3 s, holding still after line 5 and after line 15.
LINES_JOB = """
    i=1
    while [ $i -le 5 ]; do echo "line $i"; i=$((i+1)); sleep 0.2; done
    wait_gate half
    while [ $i -le 15 ]; do echo "line $i"; i=$((i+1)); sleep 0.2; done
    wait_gate end
"""


def logs(wk, run_id, *extra):
    r = wk("logs", str(run_id), *extra)
    assert r.returncode == 0, f"logs {run_id}: exit {r.returncode}\n{r.stderr}"
    return r


def wait_logs(wk, run_id, want):
    """Polls `logs RUN` until its output is `want`; returns the last answer."""
    last = {}

    def check():
        r = logs(wk, run_id)
        last["r"] = r
        return r if r.stdout == want else None

    try:
        return wait_for(check, timeout=20, interval=0.1, what=f"`logs {run_id}` to show {len(want)} bytes")
    except AssertionError as e:
        raise AssertionError(f"{e}; last: {last.get('r').stdout!r}") from None


def check_follow_stream(shown, real):
    """shown is what a follower printed of the stream `real` (bytes): runs
    of its bytes in order, with marker lines standing for the bytes that
    were dropped between (a newline may come before a marker)."""
    parts = MARKER_RE.split(shown)
    pos = 0
    for i, part in enumerate(parts):
        if i % 2 == 1:
            pos += int(part)
            continue
        if i + 1 < len(parts) and part.endswith(b"\n") and real[pos + len(part) - 1:pos + len(part)] != b"\n":
            part = part[:-1]  # the newline put before a marker
        assert real[pos:pos + len(part)] == part, f"follower's bytes at {pos} are not the stream's"
        pos += len(part)
    assert pos == len(real), f"follower accounted for {pos} bytes of {len(real)}"
    return len(parts) // 2


def test_logs_while_running(wk):
    wk.configure(job("Lines", wk.script("lines", LINES_JOB)))
    p = wk.spawn("run", "Lines")
    rid = wk.wait_running("Lines")[0]["id"]

    # Some lines while it runs, with a note on stderr.
    r = wait_logs(wk, rid, lines(1, 5))
    assert re.search(rf"run {rid} is still running", r.stderr), r.stderr
    j = json.loads(logs(wk, rid, "--json").stdout)
    assert j["status"] == "running" and j["size"] == len(lines(1, 5)) and j["output"] == lines(1, 5)
    assert j["truncated"] is False
    assert wk.run_record(rid)["status"] == "running"

    # Later, more.
    wk.open_gate("half")
    wait_logs(wk, rid, lines(1, 15))

    # The final record is the complete output, and no note any more.
    wk.open_gate("end")
    rc, out, err = p.finish()
    assert rc == 0, err
    assert out == lines(1, 15)
    r = logs(wk, rid)
    assert r.stdout == lines(1, 15)
    assert "still" not in r.stderr
    rec = wk.run_record(rid)
    assert rec["status"] == "succeeded"
    assert wk.db_output(rid) == lines(1, 15).encode()


def test_logs_follow(wk):
    wk.configure(job("Lines", wk.script("lines", LINES_JOB)))
    p = wk.spawn("run", "Lines", discard_stdout=True)
    rid = wk.wait_running("Lines")[0]["id"]
    wait_logs(wk, rid, lines(1, 5))
    f = wk.spawn("logs", "--follow", str(rid))
    # The follower has printed the first lines before anything else happens.
    wait_for(lambda: f.stdout_bytes() == lines(1, 5).encode(), timeout=20,
             what="the follower to print the first lines")
    assert f.poll() is None
    wk.open_gate("half")
    wait_for(lambda: f.stdout_bytes() == lines(1, 15).encode(), timeout=20,
             what="the follower to print the next lines")
    assert f.poll() is None
    wk.open_gate("end")
    assert p.finish()[0] == 0
    rc, out, err = f.finish()
    assert rc == 0, err
    assert out == lines(1, 15)
    assert f"run {rid} is still running" in err
    assert f"run {rid} ended: succeeded" in err

    # Of a finished run, --follow prints the output and ends at once.
    r = wk("logs", "-f", str(rid))
    assert r.returncode == 0 and r.stdout == lines(1, 15), r.stderr
    # Usage errors.
    r = wk("logs", "--follow", "--json", str(rid))
    assert r.returncode == 2 and "cannot be used together" in r.stderr
    assert "--follow" in wk.ok("logs", "--help").stdout


def test_follow_stops_when_the_worker_is_gone(wk):
    wk.configure(job("Hold", wk.script("hold", """
        echo started
        wait_gate never
    """)))
    p = wk.spawn("run", "Hold", discard_stdout=True)
    st = wk.wait_running("Hold")[0]
    rid = st["id"]
    wait_logs(wk, rid, "started\n")
    f = wk.spawn("logs", "-f", str(rid))
    wait_for(lambda: f.stdout_bytes() == b"started\n", timeout=20, what="the follower's first print")
    # kill -9 of the worker: the run will never be finished by it.
    os.kill(p.popen.pid, signal.SIGKILL)
    rc, out, err = f.finish(timeout=30)
    assert rc == 1, err
    assert "worker is gone" in err
    assert out == "started\n"


def flood_stream(n_a, n_b):
    """The flood job's whole output: n_a bytes of 'A' lines, n_b of 'B' lines."""
    a = (b"A123456789abcdef\n" * (n_a // 17 + 1))[:n_a]
    b = (b"B123456789abcdef\n" * (n_b // 17 + 1))[:n_b]
    return a, b


def check_head_tail(stored, real, max_output):
    head, tail = max_output // 2, max_output - max_output // 2
    m = MARKER_RE.search(stored)
    assert m, stored[:200]
    omitted = int(m.group(1))
    assert omitted == len(real) - max_output
    h = stored[:m.start()]
    if h.endswith(b"\n") and len(h) == head + 1:
        h = h[:-1]
    assert h == real[:head]
    assert stored[m.end():] == real[-tail:]


def test_flood_live_then_final(wk):
    max_output = 64 * 1024
    n_a, n_b = 8 * 1024 * 1024 + 5, 8 * 1024 * 1024 + 11
    a, b = flood_stream(n_a, n_b)
    cmd = wk.script("flood", f"""
        yes A123456789abcdef | head -c {n_a}
        wait_gate mid
        yes B123456789abcdef | head -c {n_b}
        wait_gate end
    """)
    wk.configure(job("Flood", cmd), globals=f"max_output = {max_output}")
    p = wk.spawn("run", "Flood", discard_stdout=True)
    rid = wk.wait_running("Flood")[0]["id"]

    def snap_of(size):
        def check():
            j = json.loads(logs(wk, rid, "--json").stdout)
            return j if j["size"] == size else None
        return wait_for(check, timeout=30, interval=0.1, what=f"a snapshot of {size} bytes")

    # While it runs: head + marker + tail of what it wrote so far.
    j = snap_of(n_a)
    assert j["status"] == "running" and j["truncated"] is True
    check_head_tail(wk.db_output(rid), a, max_output)
    f = wk.spawn("logs", "--follow", str(rid))
    wait_for(lambda: len(f.stdout_bytes()) > max_output // 2, timeout=20, what="the follower's first print")

    wk.open_gate("mid")
    snap_of(n_a + n_b)
    wk.open_gate("end")
    assert p.finish(timeout=60)[0] == 0
    rec = wk.run_record(rid)
    assert rec["status"] == "succeeded"
    assert rec["output_size"] == n_a + n_b and rec["output_truncated"] is True
    check_head_tail(wk.db_output(rid), a + b, max_output)

    rc, _, err = f.finish(timeout=30)
    assert rc == 0, err
    markers = check_follow_stream(f.stdout_bytes(), a + b)
    assert markers >= 1


# ---- the API ---------------------------------------------------------------------


@pytest.fixture
def live_api(build_dir, tmp_path):
    gates = tmp_path / "gates"
    gates.mkdir()
    script = tmp_path / "lines.sh"
    script.write_text(
        "wait_gate() { n=0; while [ ! -e %s/$1 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; }\n"
        % gates + LINES_JOB.replace("\n    ", "\n"))
    flood = tmp_path / "flood.sh"
    flood.write_text(
        "wait_gate() { n=0; while [ ! -e %s/$1 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; }\n"
        "printf 'start\\n'\n"
        "yes 0123456789abcdef | head -c 100000\n"
        "printf 'x\\303'\n"  # a line cut inside a UTF-8 character
        "wait_gate more\n"
        "printf '\\251 done\\n'\n" % gates)
    d = ApiDaemon(build_dir, tmp_path / "d",
                  f"[job Lines]\ncommand = /bin/sh {script}\n\n[job Flood]\ncommand = /bin/sh {flood}\n")
    d.config.write_text(d.config.read_text().replace("timezone = UTC\n", "timezone = UTC\nmax_output = 4096\n"))
    d.gates = gates
    d.start()
    runs = []
    yield d, runs
    for name in ("half", "end", "more"):
        (gates / name).touch()
    for p in runs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    d.stop()


def start_run(d, runs, job_name):
    p = subprocess.Popen([str(d.binary), "--config", str(d.config), "run", job_name], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=d.env())
    runs.append(p)
    run = d.wait_run(lambda r: r["job"] == job_name and r["status"] == "running", f"a running {job_name}")
    return p, run["id"]


def wait_size(d, rid, size):
    def check():
        r = d.get(f"/api/v1/runs/{rid}").json()
        return r if r["output_size"] == size else None
    return wait_for(check, timeout=20, interval=0.05, what=f"run {rid}'s output_size to be {size}")


def since(d, rid, n):
    r = d.get(f"/api/v1/runs/{rid}/output?since={n}")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def test_api_output_while_running(live_api):
    d, runs = live_api
    p, rid = start_run(d, runs, "Lines")
    first = lines(1, 5)
    run = wait_size(d, rid, len(first))
    assert run["status"] == "running" and run["output_truncated"] is False
    r = d.get(f"/api/v1/runs/{rid}/output")
    assert r.status == 200 and r.body == first.encode()

    j = since(d, rid, 0)
    assert j == {"run": rid, "status": "running", "size": len(first), "truncated": False, "since": 0,
                 "reset": False, "output": first, "next": len(first)}
    assert since(d, rid, len(first))["output"] == ""
    assert since(d, rid, 3)["output"] == first[3:]
    # Past the end: the whole output again, flagged.
    j = since(d, rid, len(first) + 10)
    assert j["reset"] is True and j["output"] == first and j["next"] == len(first)
    for bad in ("abc", "-1", "", "1e3", "99999999999999999999999"):
        r = d.get(f"/api/v1/runs/{rid}/output?since={bad}")
        assert r.status == 400, (bad, r)
        assert "since" in r.error()

    (d.gates / "half").touch()
    wait_size(d, rid, len(lines(1, 15)))
    j = since(d, rid, len(first))
    assert j["output"] == lines(6, 15) and j["next"] == len(lines(1, 15)) and not j["reset"]

    (d.gates / "end").touch()
    assert p.wait(timeout=30) == 0
    d.wait_run(lambda r: r["id"] == rid and r["status"] == "succeeded", "the run to succeed")
    assert d.get(f"/api/v1/runs/{rid}/output").body == lines(1, 15).encode()
    j = since(d, rid, 0)
    assert j["status"] == "succeeded" and j["output"] == lines(1, 15)
    assert d.get("/api/v1/runs/999999/output?since=0").status == 404


def test_api_since_follows_a_truncated_run(live_api):
    d, runs = live_api
    p, rid = start_run(d, runs, "Flood")
    total = 6 + 100000 + 2
    wait_size(d, rid, total)
    j = since(d, rid, 0)
    assert j["truncated"] is True and j["reset"] is False
    # The whole rendering, but the cut character at the end is held back.
    assert j["next"] == total - 1
    assert j["output"].startswith("start\n01234") and j["output"].endswith("\n012345x")
    assert re.search(r"\n\[\.\.\. cronwarden: \d+ bytes omitted \.\.\.\]\n", j["output"])
    # A follower that had the first 10 bytes: a marker for what was
    # dropped since, then the tail.
    j = since(d, rid, 10)
    m = re.match(r"^(.*?)\[\.\.\. cronwarden: (\d+) bytes omitted \.\.\.\]\n(.*)$", j["output"], re.S)
    assert m, j["output"][:200]
    shown_head = m.group(1)
    assert 10 + len(shown_head.rstrip("\n")) + int(m.group(2)) + len(m.group(3).encode()) == total - 1
    (d.gates / "more").touch()
    assert p.wait(timeout=30) == 0
    d.wait_run(lambda r: r["id"] == rid and r["status"] == "succeeded", "the run to succeed")
    j = since(d, rid, total - 1)
    # The held byte completes a character now; the run has ended.
    assert j["output"] == "\u00e9 done\n" and j["next"] == total + 7 and j["status"] == "succeeded"


def test_api_output_of_a_run_started_by_the_daemon(live_api):
    """A run the daemon starts (queued first, its worker forked by the
    spawner) stores live output too, once it is marked running."""
    d, _ = live_api
    r = d.post("/api/v1/requests", {"job": "Lines"})
    assert r.status == 202, r
    run = d.wait_run(lambda x: x["job"] == "Lines" and x["trigger"] == "request" and x["status"] == "running",
                     "the requested run to run")
    rid = run["id"]
    wait_size(d, rid, len(lines(1, 5)))
    assert d.get(f"/api/v1/runs/{rid}/output").body == lines(1, 5).encode()
    (d.gates / "half").touch()
    (d.gates / "end").touch()
    d.wait_run(lambda x: x["id"] == rid and x["status"] == "succeeded", "the run to succeed", timeout=30)
    assert d.get(f"/api/v1/runs/{rid}/output").body == lines(1, 15).encode()
