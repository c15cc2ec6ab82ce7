"""Shared helpers for the worker / locks / store integration tests (issue 3;
the contract is docs/running.md).

Test modules do `from worker_helpers import *` to get the `wk` fixture:

    def test_x(wk):
        cmd = wk.script("hold", '''
            echo started
            wait_gate go
        ''')
        wk.configure(job("Hold", cmd))
        p = wk.spawn("run", "Hold")          # a foreground run in the background
        st = wk.wait_running("Hold")[0]      # its `status --json` entry
        wk.open_gate("go")
        rc, out, err = p.finish()

What `wk` gives:
  - a config with `data_dir` in the test's tmp dir (`wk.data_dir`), written
    by `wk.configure(JOB_SECTIONS, globals=..., defaults=...)`;
  - job scripts (`wk.script`) with a `wait_gate NAME` shell function: the
    job waits, polling with short sleeps, until the test calls
    `wk.open_gate(NAME)` (bounded: after ~60 s the job gives up with exit
    99), so tests never sleep for a fixed time to keep a job running;
  - `wk(...)` runs cronwarden with that config (the conftest `cw` runner,
    so sanitizer reports on stderr fail the test); `wk.spawn(...)` starts
    it without waiting;
  - `wk.status()`, `wk.history()`, `wk.wait_running()`;
  - direct reads of the SQLite store with Python's sqlite3 module
    (`wk.db_runs()`, `wk.db_output()`), column by column name, for
    cross-checks of what the CLI says.

CW_TEST_STORE=postgresql runs these tests on the PostgreSQL store instead:
each test's config names a new database on the session's throwaway server
(conftest's `pg_database`), and `wk.db_runs()` and `wk.db_output()` read it
through psql. Tests that read SQLite's file in other ways fail then.

Clean-up: every process the test started (cronwarden, detached workers,
jobs and their children) carries CW_TEST_TAG=<unique value> in its
environment: cronwarden gets it from the test, jobs from a `[defaults]`
env line. At teardown every gate is opened, then any process still carrying
the tag is SIGKILLed by pid. Sanitizer runtimes are told to log to files in
the tmp dir (detached workers have no stderr); any such report fails the
test at teardown.
"""

import base64
import json
import os
import re
import signal
import sqlite3
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

__all__ = [
    "wk",
    "job",
    "wait_for",
    "pgid_members",
    "proc_alive",
    "proc_stat",
    "SUMMARY_RE",
    "LOCKED_RE",
    "STATUSES",
]

# `run N: succeeded in 1.2s` (stderr of a foreground run).
SUMMARY_RE = re.compile(r"^run (\d+): (.*)$", re.M)
# `cronwarden: Job is already running (run 12, pid 3456, since 2026-...)`
LOCKED_RE = re.compile(r"is already running \(run (\d+), pid (\d+), since ([^)]+)\)")
STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "killed", "lost", "skipped", "missed")
_TRIGGERS = ("schedule", "manual", "request", "retry", "dependency", "resume")
_RESUME = ("none", "pending", "done", "cleaned")

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "UndefinedBehaviorSanitizer",
)

# Prepended to every job script: wait_gate NAME polls for the gate file.
_SCRIPT_PRELUDE = """\
wait_gate() {{
    _i=0
    while [ ! -e '{gates}'/"$1" ]; do
        sleep 0.05
        _i=$((_i + 1))
        if [ "$_i" -gt 1200 ]; then echo "gate $1 never opened" >&2; exit 99; fi
    done
}}
"""


def wait_for(pred, timeout=20.0, interval=0.03, what="a condition"):
    """Polls pred() until it returns something truthy (returned) or the
    deadline passes (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_stat(pid):
    """(state, pgrp, nice) of a process from /proc/PID/stat, or None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rfind(b")") + 2:].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return rest[0].decode(), int(rest[5 - 3]), int(rest[19 - 3])


def proc_alive(pid):
    """True when pid exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def pgid_members(pgid):
    """Pids of live (non-zombie) processes whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st and st[1] == pgid and st[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def job(name, command, **keys):
    """A `[job NAME]` section. Values that are lists give one line each
    (for env)."""
    lines = [f"[job {name}]", f"command = {command}"]
    for k, v in keys.items():
        for item in v if isinstance(v, (list, tuple)) else [v]:
            lines.append(f"{k} = {item}")
    return "\n".join(lines) + "\n"


def _norm(value, names):
    """Status/trigger/resume columns as names, whether the store keeps
    strings or enum numbers."""
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, bytes):
        return value.decode()
    return value


class Proc:
    """A cronwarden started by wk.spawn(); stdout/stderr go to files."""

    def __init__(self, popen, out_path, err_path, args):
        self.popen = popen
        self.pid = popen.pid
        self.out_path = out_path
        self.err_path = err_path
        self.args = args
        self.started = time.monotonic()
        self.ended = None

    def poll(self):
        rc = self.popen.poll()
        if rc is not None and self.ended is None:
            self.ended = time.monotonic()
        return rc

    def elapsed(self):
        return (self.ended or time.monotonic()) - self.started

    def finish(self, timeout=30.0):
        """Waits (bounded) for exit; returns (rc, stdout, stderr) as text."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"cronwarden {' '.join(self.args)} still running after {timeout}s")
        self.poll()
        out = self.out_path.read_bytes().decode("utf-8", "replace")
        err = self.err_path.read_bytes().decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            if marker in err:
                pytest.fail(f"sanitizer report from cronwarden {' '.join(self.args)}:\n{err}")
        return self.popen.returncode, out, err

    def stdout_bytes(self):
        return self.out_path.read_bytes()


def tagged_pids(tag):
    """Pids of live processes (other than this one) whose environment has
    CW_TEST_TAG=tag: everything a test started, however deep."""
    needle = f"CW_TEST_TAG={tag}".encode()
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            env = Path(f"/proc/{d}/environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and proc_alive(int(d)):
            out.append(int(d))
    return out


def kill_tagged(list_pids, rounds):
    """SIGKILLs what list_pids() lists, up to `rounds` times 0.1 s apart,
    until nothing is left (processes a test left behind)."""
    for _ in range(rounds):
        pids = list_pids()
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def sanitizer_reports(san_dir):
    """The sanitizer reports (ASan/UBSan log_path files) found in san_dir,
    each as "NAME:\nTEXT"."""
    reports = []
    for f in sorted(san_dir.iterdir()):
        text = f.read_text(errors="replace")
        if any(m in text for m in SANITIZER_MARKERS):
            reports.append(f"{f.name}:\n{text}")
    return reports


class WorkerEnv:
    def __init__(self, cw, build_dir, tmp_path):
        self.cw = cw
        self.binary = Path(build_dir) / "cronwarden"
        self.tmp = tmp_path
        self.data_dir = tmp_path / "data"
        self.gates = tmp_path / "gates"
        self.gates.mkdir()
        self.scripts = tmp_path / "scripts"
        self.scripts.mkdir()
        self.logs = tmp_path / "proc-logs"
        self.logs.mkdir()
        self.san_dir = tmp_path / "sanitizer"
        self.san_dir.mkdir()
        self.config = tmp_path / "cronwarden.ini"
        self.tag = uuid.uuid4().hex
        self.pg_url = None  # CW_TEST_STORE=postgresql: the test's database
        self.procs = []
        self._n = 0
        self.env = {"CW_TEST_TAG": self.tag}
        for var, prefix in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
            old = os.environ.get(var, "")
            self.env[var] = (old + ":" if old else "") + f"log_path={self.san_dir}/{prefix}"

    # ---- configuration and scripts ----

    def configure(self, jobs, globals="", defaults=""):
        """Writes the config: data_dir in tmp, the test tag on every job."""
        # The store line goes first: globals may open other sections.
        store = f"store = {self.pg_url}\n" if self.pg_url and "store" not in globals else ""
        text = (
            "[cronwarden]\n"
            f"data_dir = {self.data_dir}\n"
            f"{store}"
            f"{textwrap.dedent(globals).strip()}\n\n"
            "[defaults]\n"
            f"env = CW_TEST_TAG={self.tag}\n"
            f"{textwrap.dedent(defaults).strip()}\n\n"
            f"{textwrap.dedent(jobs).strip()}\n"
        )
        self.config.write_text(text)
        return self.config

    def script(self, name, body, interp="/bin/sh"):
        """Writes a job script (body dedented, after the wait_gate prelude)
        and returns the command line that runs it."""
        path = self.scripts / f"{name}.sh"
        path.write_text(_SCRIPT_PRELUDE.format(gates=self.gates) + textwrap.dedent(body).lstrip("\n"))
        return f"{interp} {path}"

    def open_gate(self, name):
        (self.gates / name).touch()

    # ---- running cronwarden ----

    def __call__(self, *args, env=None, timeout=60, **kw):
        full = dict(self.env)
        full.update(env or {})
        return self.cw("--config", self.config, *args, env=full, timeout=timeout, **kw)

    def spawn(self, *args, env=None, discard_stdout=False):
        """Starts cronwarden --config CONFIG ARGS without waiting; its
        stdout and stderr go to files (stdout to /dev/null with
        discard_stdout)."""
        self._n += 1
        out = self.logs / f"{self._n}.out"
        err = self.logs / f"{self._n}.err"
        full = dict(os.environ)
        full.pop("CRONWARDEN_CONFIG", None)
        full.update(self.env)
        for k, v in (env or {}).items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = str(v)
        argv = [str(self.binary), "--config", str(self.config), *[str(a) for a in args]]
        out.touch()
        with open(os.devnull if discard_stdout else out, "wb") as fo, open(err, "wb") as fe:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                 env=full, cwd=str(self.tmp))
        proc = Proc(p, out, err, [str(a) for a in args])
        self.procs.append(proc)
        return proc

    def ok(self, *args, **kw):
        """Runs a command that must succeed; returns the CompletedProcess."""
        r = self(*args, **kw)
        assert r.returncode == 0, f"cronwarden {' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def json(self, *args):
        r = self.ok(*args, "--json")
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            raise AssertionError(f"cronwarden {' '.join(args)} --json: not JSON ({e}):\n{r.stdout!r}")

    def status(self, *args):
        return self.json("status", *args)

    def history(self, *args):
        return self.json("history", *args)

    def run_record(self, run_id):
        """The history --json object of one run (searching the last 1000)."""
        for r in self.history("--limit", "1000"):
            if r["id"] == run_id:
                return r
        raise AssertionError(f"run {run_id} is not in `history`")

    def wait_running(self, job_name, n=1, timeout=20.0):
        """Polls `status --json` until n runs of job_name are active with a
        job pid; returns their entries (newest first)."""

        def check():
            runs = [r for r in self.status() if r["job"] == job_name and r.get("pid")]
            return runs if len(runs) >= n else None

        return wait_for(check, timeout=timeout, what=f"{n} running run(s) of {job_name} in `status`")

    def wait_final(self, run_id, timeout=20.0):
        """Polls history until run_id has a final status; returns its record."""

        def check():
            for r in self.history("--limit", "1000"):
                if r["id"] == run_id and r["status"] not in ("queued", "running"):
                    return r
            return None

        return wait_for(check, timeout=timeout, what=f"run {run_id} to finish")

    # ---- the store, read directly ----

    @property
    def db_path(self):
        return self.data_dir / "cronwarden.db"

    def _db(self):
        assert self.db_path.exists(), f"{self.db_path} does not exist"
        con = sqlite3.connect(str(self.db_path), timeout=10)
        con.execute("PRAGMA busy_timeout = 10000")
        return con

    def _psql(self, sql):
        """The one value `sql` gives on the PostgreSQL store, as text."""
        out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.pg_url,
                              "-c", sql], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def db_runs(self, job_name=None):
        """Rows of `runs` as dicts (SELECT *: no assumption on column order),
        oldest first; status/trigger/resume as names."""
        if self.pg_url:
            if not self._psql("SELECT to_regclass('runs') IS NOT NULL") == "t":
                return []  # no store yet
            rows = json.loads(self._psql(
                "SELECT coalesce(json_agg(r ORDER BY id), '[]') FROM runs r"))
            return [r for r in rows if job_name is None or r["job"] == job_name]
        if not self.db_path.exists():
            return []
        con = self._db()
        try:
            cur = con.execute("SELECT * FROM runs ORDER BY id")
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        finally:
            con.close()
        for r in rows:
            if "status" in r:
                r["status"] = _norm(r["status"], STATUSES)
            if "trigger" in r:
                r["trigger"] = _norm(r["trigger"], _TRIGGERS)
            if "resume" in r:
                r["resume"] = _norm(r["resume"], _RESUME)
        if job_name is not None:
            rows = [r for r in rows if r.get("job") == job_name]
        return rows

    def db_run(self, run_id):
        for r in self.db_runs():
            if r["id"] == run_id:
                return r
        raise AssertionError(f"run {run_id} not in the runs table")

    def db_output(self, run_id):
        """The stored output of a run as bytes (b'' when no row)."""
        if self.pg_url:
            return base64.b64decode(self._psql(
                f"SELECT encode(output, 'base64') FROM run_output WHERE run_id = {int(run_id)}"))
        con = self._db()
        try:
            row = con.execute("SELECT CAST(output AS BLOB) FROM run_output WHERE run_id = ?",
                              (run_id,)).fetchone()
        finally:
            con.close()
        return bytes(row[0]) if row and row[0] is not None else b""

    def db_scalar(self, sql, *params):
        """The one value of `sql` (an int when it reads as one); on the
        PostgreSQL store only without parameters."""
        if self.pg_url:
            assert not params, "db_scalar takes no parameters on PostgreSQL"
            v = self._psql(sql)
            return int(v) if v.lstrip("-").isdigit() else v
        con = self._db()
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.close()

    # ---- processes ----

    def tagged_pids(self):
        """Pids of live processes carrying this test's CW_TEST_TAG."""
        return tagged_pids(self.tag)

    def check_exe(self, pid):
        """Asserts pid runs our cronwarden binary, or the daemon's lean
        spawner program beside it (before signalling it)."""
        exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
        ours = os.path.realpath(self.binary)
        assert exe in (ours, os.path.join(os.path.dirname(ours), "cronwarden-spawner")), \
            f"pid {pid} runs {exe}"

    def cleanup(self):
        # Open every gate a script waits on, so gated jobs end by themselves.
        for sub in self.scripts.iterdir():
            for g in re.findall(r"wait_gate ([A-Za-z0-9_.-]+)", sub.read_text()):
                (self.gates / g).touch()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (
            any(p.popen.poll() is None for p in self.procs) or self.tagged_pids()
        ):
            time.sleep(0.05)
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.kill()
                p.popen.wait()
        kill_tagged(self.tagged_pids, rounds=3)
        reports = sanitizer_reports(self.san_dir)
        if reports:
            pytest.fail("sanitizer report(s) from cronwarden processes:\n" + "\n".join(reports))


@pytest.fixture
def wk(cw, build_dir, tmp_path, request):
    env = WorkerEnv(cw, build_dir, tmp_path)
    if os.environ.get("CW_TEST_STORE") == "postgresql":
        env.pg_url = request.getfixturevalue("pg_database")
    yield env
    env.cleanup()
