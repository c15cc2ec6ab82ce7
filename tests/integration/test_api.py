"""The JSON API under /api/v1/ (issue 5; docs/api.md) against a real
`cronwarden daemon` with an [admin] section and an api_token, on a free
loopback port: every endpoint with its success and error cases, SQL
metacharacters in every filter and path parameter, and UI-created entries
firing through `tick`.

`ApiDaemon` (also used by test_metrics.py) writes the config, starts the
daemon, and talks to it with urllib and `Authorization: Bearer TOKEN`.
Every wait is bounded; daemons get SIGTERM at the end."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from worker_helpers import wait_for

SQL = ("'", '"', ";", "--", "%", "_", "\\", "' OR '1'='1", "1; DROP TABLE runs; --", "%' OR 1=1 --",
       "x_%", "a'--")
IO_TIMEOUT = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_token(binary, cwd):
    """(token, `api_token = ...` line) from `cronwarden passwd --token`."""
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    p = subprocess.run([str(binary), "passwd", "--token", "ci"], capture_output=True, text=True, env=env,
                       cwd=str(cwd), timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    line = re.search(r"^\s*(api_token\s*=\s*\S+\s+sha256:[0-9a-f]{64})\s*$", p.stdout, re.M)
    assert line, p.stdout
    return p.stdout.splitlines()[0].strip(), line.group(1)


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {self.body[:300]!r}")

    def error(self):
        j = self.json()
        assert set(j) == {"error"}, j
        assert j["error"]["status"] == self.status, j
        return j["error"]["message"]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class ApiDaemon:
    def __init__(self, build_dir, tmp, jobs, admin_extra=""):
        self.binary = Path(build_dir) / "cronwarden"
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.tmp / "data"
        self.config = self.tmp / "cronwarden.ini"
        self.db = self.data_dir / "cronwarden.db"
        self.port = free_port()
        self.token, token_line = make_token(self.binary, self.tmp)
        self.config.write_text(
            "[cronwarden]\n"
            f"data_dir = {self.data_dir}\n"
            "timezone = UTC\n\n"
            "[admin]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            f"{token_line}\n"
            f"{admin_extra}\n\n"
            f"{jobs}\n")
        self.proc = None
        self.err_path = self.tmp / "daemon.err"

    def env(self):
        env = dict(os.environ)
        env.pop("CRONWARDEN_CONFIG", None)
        env.pop("JOURNAL_STREAM", None)
        return env

    def cli(self, *args, check=True):
        p = subprocess.run([str(self.binary), "--config", str(self.config), *map(str, args)],
                           capture_output=True, text=True, env=self.env(), stdin=subprocess.DEVNULL, timeout=60)
        if check:
            assert p.returncode == 0, f"cronwarden {args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def request(self, method, path, body=None, token=True, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=IO_TIMEOUT) as r:
                return Resp(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Resp(e.code, dict(e.headers), e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def start(self):
        with open(self.err_path, "wb") as fe:
            self.proc = subprocess.Popen([str(self.binary), "--config", str(self.config), "daemon"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fe,
                                         env=self.env(), cwd=str(self.tmp))

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return "up" if self.get("/healthz", token=False).status == 200 else None
            except OSError:
                return None

        state = wait_for(up, timeout=20, interval=0.05, what="the daemon's /healthz")
        assert state == "up", f"daemon exited {self.proc.returncode}:\n{self.log()}"
        return self

    def log(self):
        return self.err_path.read_bytes().decode("utf-8", "replace")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            assert self.proc.wait(timeout=15) == 0, self.log()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("daemon did not stop on SIGTERM:\n" + self.log())

    def wait_run(self, pred, what, timeout=20.0):
        """The first run (GET /api/v1/runs, newest first) for which pred is true."""
        last = {}

        def look():
            resp = self.get("/api/v1/runs?limit=500")
            last["resp"] = resp
            for r in resp.json()["runs"]:
                if pred(r):
                    return r
            return None
        try:
            return wait_for(look, timeout=timeout, interval=0.05, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; last answer: {last.get('resp')!r}") from None


def q(s):
    return urllib.parse.quote(s, safe="")


def jobs_ini(tmp):
    hello = Path(tmp) / "hello.sh"
    hello.write_text("#!/bin/sh\nprintf 'hi %s\\n' \"$@\"\nprintf '\\000\\001\\377'\n")
    hello.chmod(0o755)
    return (
        "[job Hello]\n"
        "description = says hi\n"
        f"command = {hello}\n"
        "args = what\n"
        "options = sleep\n"
        "lock = none\n\n"
        "[job Sleeper]\n"
        "command = /bin/sleep 60\n"
        "kill_grace = 2s\n\n"
        "[job Nightly]\n"
        "command = /bin/true\n"
        "schedule = 0 3 * * *\n"
        "after = Hello\n"
        "lock = params\n"
        "timeout = 10m\n"
        "retries = 2\n"
    )


@pytest.fixture(scope="module")
def api(build_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    d = ApiDaemon(build_dir, tmp, jobs_ini(tmp))
    d.start()
    yield d
    d.stop()


# ---- jobs ------------------------------------------------------------------------

def test_jobs_list(api):
    r = api.get("/api/v1/jobs")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json")
    j = r.json()
    assert [x["name"] for x in j["jobs"]] == ["Hello", "Sleeper", "Nightly"]
    assert j["total"] == 3 and j["scheduler_enabled"] in (True, False)
    nightly = j["jobs"][2]
    assert set(nightly) >= {"name", "description", "enabled", "enabled_config", "schedules", "next", "next_ts",
                            "last_run", "running", "n_running"}
    s = nightly["schedules"][0]
    assert s["source"] == "config" and s["when"] == "0 3 * * *" and s["zone"] == "UTC"
    assert s["next"].endswith("T03:00:00+00:00") and nightly["next_ts"] == s["next_ts"]
    # Paging and the name filter.
    j = api.get("/api/v1/jobs?offset=1&limit=1").json()
    assert [x["name"] for x in j["jobs"]] == ["Sleeper"] and j["total"] == 3
    j = api.get("/api/v1/jobs?q=ELL").json()
    assert [x["name"] for x in j["jobs"]] == ["Hello"]
    for bad in ("-1", "x", "1e3", ""):
        r = api.get(f"/api/v1/jobs?limit={q(bad)}")
        if bad == "":
            continue
        assert r.status == 400 and "limit" in r.error(), (bad, r)
    for s in SQL:
        r = api.get(f"/api/v1/jobs?q={q(s)}")
        assert r.status == 200 and r.json()["jobs"] == [], (s, r)


def test_job_detail(api):
    r = api.get("/api/v1/jobs/Nightly")
    assert r.status == 200, r
    j = r.json()
    assert j["after"] == ["Hello"] and j["before"] == []
    assert j["lock"] == "params" and j["timeout"] == 600 and j["retries"] == 2
    assert len(j["schedules"][0]["next_fires"]) == 10
    assert j["schedules"][0]["next_fires_ts"] == sorted(j["schedules"][0]["next_fires_ts"])
    assert set(j["stats"]) >= {"p50", "p95", "failure_rate", "counts", "last_success"}
    h = api.get("/api/v1/jobs/Hello").json()
    assert h["args"] == ["what"] and h["options"] == ["sleep"] and h["before"] == ["Nightly"]
    r = api.get("/api/v1/jobs/Nope")
    assert r.status == 404 and "Nope" in r.error()
    for s in SQL:
        r = api.get(f"/api/v1/jobs/{q(s)}")
        assert r.status in (404, 400), (s, r)
        r.error()


def test_job_enable_disable(api):
    r = api.post("/api/v1/jobs/Sleeper/disable")
    assert r.status == 200 and r.json() == {"name": "Sleeper", "enabled": False, "enabled_config": True}, r
    jobs = {x["name"]: x for x in api.get("/api/v1/jobs").json()["jobs"]}
    assert jobs["Sleeper"]["enabled"] is False and jobs["Sleeper"]["enabled_config"] is True
    db = sqlite3.connect(api.db)  # the same flag `cronwarden disable Sleeper` sets
    try:
        assert db.execute("SELECT enabled FROM job_state WHERE job = 'Sleeper'").fetchall() == [(0,)]
    finally:
        db.close()
    r = api.post("/api/v1/jobs/Sleeper/enable")
    assert r.status == 200 and r.json()["enabled"] is True
    assert api.post("/api/v1/jobs/Nope/enable").status == 404
    for s in SQL:
        assert api.post(f"/api/v1/jobs/{q(s)}/disable").status in (400, 404), s
    assert api.get("/api/v1/jobs/Sleeper/disable").status == 405


# ---- requests and runs --------------------------------------------------------------

def test_request_and_run_output(api):
    r = api.post("/api/v1/requests", {"job": "Hello", "params": ["big world", "sleep=0"]})
    assert r.status == 202, r
    rid = r.json()["id"]
    assert isinstance(rid, int) and rid > 0
    run = api.wait_run(lambda x: x["job"] == "Hello" and x["status"] == "succeeded"
                       and x["spec"] == 'Hello:"big world",sleep=0', "the requested run")
    assert run["trigger"] == "request" and run["exit_code"] == 0 and run["ended"] is not None
    one = api.get(f"/api/v1/runs/{run['id']}").json()
    assert one["id"] == run["id"] and one["job_configured"] is True and one["alive"] is None
    out = api.get(f"/api/v1/runs/{run['id']}/output")
    assert out.status == 200 and out.headers["Content-Type"].startswith("text/plain")
    assert out.body == b"hi big world\nhi --sleep=0\n\x00\x01\xff", out.body
    # The command line shows the run in the same shape (docs/api.md).
    cli = [x for x in json.loads(api.cli("history", "Hello", "--json", "--limit", "1000").stdout)
           if x["id"] == run["id"]][0]
    assert set(cli) == set(run), set(cli) ^ set(run)
    for k in ("started", "started_ts", "ended", "ended_ts", "duration", "status", "spec", "progress"):
        assert cli[k] == run[k], (k, cli[k], run[k])
    assert run["started"].endswith("+00:00") and isinstance(run["duration"], float)
    cli_job = [x for x in json.loads(api.cli("jobs", "--json").stdout) if x["name"] == "Nightly"][0]
    api_job = [x for x in api.get("/api/v1/jobs").json()["jobs"] if x["name"] == "Nightly"][0]
    assert set(api_job) - set(cli_job) == {"last_run", "running", "n_running"}, set(api_job) ^ set(cli_job)
    assert set(cli_job["schedules"][0]) == set(api_job["schedules"][0])
    assert cli_job["schedules"][0]["when_canonical"] == api_job["schedules"][0]["when_canonical"] == "0 3 * * *"
    # The same through a spec.
    r = api.post("/api/v1/requests", {"spec": "Hello:x"})
    assert r.status == 202 and r.json()["id"] > rid
    assert api.get("/api/v1/requests").status == 200
    assert isinstance(api.get("/api/v1/requests").json()["requests"], list)


@pytest.mark.parametrize("body,status,needle", [
    ({"spec": "Hello"}, 422, "positional"),
    ({"spec": "Hello:x,color=red"}, 422, "color"),
    ({"spec": "Nope"}, 422, "no job named 'Nope'"),
    ({"spec": "Hello:x,"}, 422, ""),
    ({"job": "Nope"}, 422, "Nope"),
    ({"job": "Hello", "params": ["sleep=1", "x"]}, 422, "params[1]"),
    ({"job": "Hello", "params": [1]}, 400, "params[0]"),
    ({"job": "Hello", "params": "x"}, 400, "params"),
    ({"job": "Hello", "spec": "Hello:x"}, 400, "either"),
    ({}, 400, "either"),
    ({"spec": "Hello:x", "extra": 1}, 400, "extra"),
    ({"spec": 5}, 400, "spec"),
    ([1, 2], 400, "object"),
])
def test_request_errors(api, body, status, needle):
    r = api.post("/api/v1/requests", body)
    assert r.status == status, r
    assert needle in r.error(), r


def test_request_bad_bodies(api):
    for raw in (b"", b"{", b"not json", b'{"spec": "a", "spec": "b"}', b"\xff\xfe"):
        r = api.request("POST", "/api/v1/requests", raw=raw)
        assert r.status == 400, (raw, r)
        assert r.error().startswith("body:"), r
    for s in SQL:
        r = api.post("/api/v1/requests", {"spec": s})
        assert r.status == 422, (s, r)
        r = api.post("/api/v1/requests", {"job": "Hello", "params": [s]})
        assert r.status == 202, (s, r)  # any value is data


def test_runs_listing_filters(api):
    for i in range(3):
        assert api.post("/api/v1/requests", {"job": "Hello", "params": [f"n{i}"]}).status == 202
    api.wait_run(lambda x: x["spec"] == "Hello:n2" and x["status"] == "succeeded", "three runs")
    runs = api.get("/api/v1/runs?job=Hello&status=succeeded").json()["runs"]
    assert len(runs) >= 3 and all(x["job"] == "Hello" and x["status"] == "succeeded" for x in runs)
    ids = [x["id"] for x in runs]
    assert ids == sorted(ids, reverse=True)
    page = api.get("/api/v1/runs?job=Hello&limit=2").json()
    assert len(page["runs"]) == 2 and page["next_before"] == page["runs"][1]["id"]
    older = api.get(f"/api/v1/runs?job=Hello&limit=2&before={page['next_before']}").json()
    assert all(x["id"] < page["next_before"] for x in older["runs"])
    assert api.get("/api/v1/runs?status=active").status == 200
    for name, bad in (("status", "bogus"), ("status", "Succeeded"), ("limit", "0"), ("limit", "501"),
                      ("limit", "-5"), ("limit", "ten"), ("before", "0"), ("before", "x1"),
                      ("before", "99999999999999999999")):
        r = api.get(f"/api/v1/runs?{name}={q(bad)}")
        assert r.status == 400, (name, bad, r)
        assert r.error().startswith(f"{name}:"), r
    for s in SQL:
        r = api.get(f"/api/v1/runs?job={q(s)}")
        assert r.status == 200 and r.json()["runs"] == [], (s, r)
        for name in ("status", "before", "limit"):
            r = api.get(f"/api/v1/runs?{name}={q(s)}")
            assert r.status == 400 and r.error().startswith(f"{name}:"), (name, s, r)
        r = api.get(f"/api/v1/runs/{q(s)}")
        assert r.status in (400, 404), (s, r)
        r = api.get(f"/api/v1/runs/{q(s)}/output")
        assert r.status in (400, 404), (s, r)
    assert api.get("/api/v1/runs/999999999").status == 404
    assert api.get("/api/v1/runs/999999999/output").status == 404


def test_kill(api):
    assert api.post("/api/v1/requests", {"spec": "Sleeper"}).status == 202
    run = api.wait_run(lambda x: x["job"] == "Sleeper" and x["status"] == "running" and x["pid"], "Sleeper running")
    running = api.get("/api/v1/running").json()["runs"]
    assert any(x["id"] == run["id"] and x["alive"] is True for x in running), running
    j = api.get("/api/v1/jobs?q=Sleeper").json()["jobs"][0]
    assert j["running"]["id"] == run["id"] and j["n_running"] == 1
    r = api.post(f"/api/v1/runs/{run['id']}/kill")
    assert r.status == 200 and r.json() == {"id": run["id"], "status": "killed"}, r
    r = api.post(f"/api/v1/runs/{run['id']}/kill")
    assert r.status == 409 and "not running" in r.error(), r
    assert api.post("/api/v1/runs/999999999/kill").status == 404
    assert api.post("/api/v1/runs/abc/kill").status == 400
    for s in SQL:
        assert api.post(f"/api/v1/runs/{q(s)}/kill").status in (400, 404), s
    assert api.get(f"/api/v1/runs/{run['id']}").json()["status"] == "killed"


def test_scheduler(api):
    r = api.get("/api/v1/scheduler")
    assert r.status == 200 and set(r.json()) >= {"enabled", "last_pass", "node", "running", "pending_requests"}
    r = api.post("/api/v1/scheduler", {"enabled": False})
    assert r.status == 200 and r.json()["enabled"] is False
    assert api.get("/api/v1/jobs").json()["scheduler_enabled"] is False
    for bad in ({"enabled": "no"}, {"enabled": 0}, {}, {"enabled": True, "x": 1}):
        assert api.post("/api/v1/scheduler", bad).status == 400, bad
    r = api.post("/api/v1/scheduler", {"enabled": True})
    assert r.status == 200 and r.json()["enabled"] is True


def test_auth_and_methods(api):
    assert api.get("/api/v1/jobs", token=False).status == 401
    r = api.get("/api/v1/jobs", token=False, headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    assert api.request("DELETE", "/api/v1/jobs").status == 405
    assert api.request("PUT", "/api/v1/runs").status == 405


# ---- UI entries -----------------------------------------------------------------------

def test_entries_crud(api):
    desc = "it's 100% _fine_; -- \"quoted\""
    r = api.post("/api/v1/entries", {"schedule": "*/15 * * * *", "spec": 'Hello:"a b",sleep=1', "description": desc})
    assert r.status == 201, r
    e = r.json()
    assert e["valid"] is True and e["error"] is None and e["spec"] == 'Hello:"a b",sleep=1'
    assert e["description"] == desc and e["enabled"] is True and e["created_by"] == "token:ci"
    assert e["next"] is not None and e["zone"] == "UTC"
    eid = e["id"]
    assert api.get(f"/api/v1/entries/{eid}").json() == e
    lst = api.get("/api/v1/entries").json()
    assert lst["allow_commands"] is False and any(x["id"] == eid for x in lst["entries"])
    # Shown among the job's schedules.
    hello = api.get("/api/v1/jobs/Hello").json()
    assert any(s["source"] == "ui" and s["entry_id"] == eid for s in hello["schedules"]), hello["schedules"]
    # Update: validated like a [schedule] run line; errors name the field.
    r = api.request("PUT", f"/api/v1/entries/{eid}", {"schedule": "*/15 * * *", "spec": "Hello:x"})
    assert r.status == 422 and r.error().startswith("schedule:"), r
    r = api.request("PUT", f"/api/v1/entries/{eid}", {"schedule": "@hourly", "spec": "Hello"})
    assert r.status == 422 and r.error().startswith("spec:"), r
    r = api.request("PUT", f"/api/v1/entries/{eid}", {"schedule": "@hourly", "spec": "Hello:y", "enabled": False})
    assert r.status == 200 and r.json()["schedule"] == "@hourly" and r.json()["enabled"] is False
    assert r.json()["created"] == e["created"]
    r = api.post("/api/v1/entries", {"schedule": "@daily", "command": "/bin/echo hi"})
    assert r.status == 403 and "allow_ui_commands" in r.error(), r
    for body, status in (({"schedule": "@daily"}, 422), ({"spec": "Hello:x"}, 422),
                         ({"schedule": "@daily", "spec": "Nope"}, 422), ({"schedule": 5, "spec": "Hello:x"}, 400),
                         ({"schedule": "@daily", "spec": "Hello:x", "enabled": "yes"}, 400),
                         ({"schedule": "0 0 30 2 *", "spec": "Hello:x"}, 422)):
        r = api.post("/api/v1/entries", body)
        assert r.status == status, (body, r)
    for s in SQL:
        r = api.post("/api/v1/entries", {"schedule": s, "spec": "Hello:x"})
        assert r.status == 422, (s, r)
        r = api.post("/api/v1/entries", {"schedule": "@daily", "spec": s})
        assert r.status == 422, (s, r)
        assert api.get(f"/api/v1/entries/{q(s)}").status in (400, 404), s
        assert api.request("DELETE", f"/api/v1/entries/{q(s)}").status in (400, 404), s
    r = api.request("DELETE", f"/api/v1/entries/{eid}")
    assert r.status == 204 and r.body == b""
    assert api.get(f"/api/v1/entries/{eid}").status == 404
    assert api.request("DELETE", f"/api/v1/entries/{eid}").status == 404
    assert api.request("PUT", f"/api/v1/entries/{eid}", {"schedule": "@daily", "spec": "Hello:x"}).status == 404


def test_ui_entry_fires_through_tick(build_dir, tmp_path):
    """An entry saved through the API fires from `tick` (a 6-field
    per-second spec), each (spec, instant) once, even with ticks racing."""
    d = ApiDaemon(build_dir, tmp_path, "[job Echo]\ncommand = /bin/echo ui\nargs = what\nlock = none\n"
                                      "concurrency = allow\n")
    d.start()
    try:
        r = d.post("/api/v1/entries", {"schedule": "* * * * * *", "spec": "Echo:ui"})
        assert r.status == 201, r
        # The daemon fires it too: stop it, so `tick` alone does from here.
        d.stop()
        start = time.time()
        seen = {}

        def fired_by_tick():
            procs = [subprocess.Popen([str(d.binary), "--config", str(d.config), "tick", "--silent"],
                                      env=d.env(), stdin=subprocess.DEVNULL) for _ in range(3)]
            for p in procs:
                assert p.wait(timeout=60) == 0
            runs = json.loads(d.cli("history", "Echo", "--json", "--limit", "1000").stdout)
            mine = [x for x in runs if x["spec"] == "Echo:ui" and x["trigger"] == "schedule"]
            seen["runs"] = mine
            since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start))
            return [x for x in mine if x["scheduled_at"] >= since]  # UTC ISO text sorts as time

        wait_for(fired_by_tick, timeout=20, interval=0.3, what="a tick-started run of the UI entry")
        keys = [x.get("scheduled_at") for x in seen["runs"]]
        assert len(keys) == len(set(keys)), f"a fire started twice: {keys}"
    finally:
        d.stop()


def test_external_reader_does_not_stale_the_server(api):
    """Regression: opening a second store connection in the daemon used to
    open and close the database file, which drops every fcntl lock the
    process holds on it; a sqlite3 shell closing afterwards then believed it
    was the last user and deleted the WAL, and the server's connections
    never saw another run."""
    for i in range(3):
        db = sqlite3.connect(api.db)
        db.execute("SELECT count(*) FROM runs").fetchall()
        db.close()
        assert api.post("/api/v1/requests", {"job": "Hello", "params": [f"fresh{i}"]}).status == 202
        api.wait_run(lambda x: x["spec"] == f"Hello:fresh{i}" and x["status"] == "succeeded",
                     f"run {i} seen by the server after a reader closed")


def test_notifications_as_the_command_shows_them(build_dir, tmp_path):
    """GET /api/v1/notifications: the outbox's newest rows, the objects of
    `cronwarden notifications --json` (the endpoint without the URL's
    token), `pending=true` and `limit` as the command's --pending and
    --count, and the counts of pending and given-up rows."""
    dead = free_port()  # nothing listens there: each delivery fails, a retry is planned
    d = ApiDaemon(build_dir, tmp_path,
                  f"[job Hooked]\ncommand = /bin/true\nwebhook = http://127.0.0.1:{dead}/hook?token=SECRET\n\n"
)
    d.start()
    try:
        assert d.cli("run", "Hooked").returncode == 0
        cli = json.loads(d.cli("notifications", "--json").stdout)
        assert [x["event"] for x in cli] == ["succeeded", "started"], cli
        r = d.get("/api/v1/notifications")
        assert r.status == 200, r
        j = r.json()
        assert j["notifications"] == cli
        assert "SECRET" not in r.body.decode()
        first = j["notifications"][0]
        assert set(first) == {"id", "created_at", "created_at_ts", "job", "run", "event", "channel",
                              "endpoint", "state", "attempts", "result"}, first
        assert first["job"] == "Hooked" and first["channel"] == "webhook" and first["state"] == "pending"
        assert first["endpoint"] == f"http://127.0.0.1:{dead}/..." and first["created_at"].endswith("+00:00")
        assert first["attempts"] >= 1 and first["result"]
        assert j["pending"] == 2 and j["failed"] == 0
        assert d.get("/api/v1/notifications?limit=1").json()["notifications"] == cli[:1]
        assert d.get("/api/v1/notifications?pending=true").json()["notifications"] == \
            json.loads(d.cli("notifications", "--json", "--pending").stdout)
        assert d.get("/api/v1/notifications?pending=false&limit=100000").status == 200
        for bad in ("pending=yes", "limit=0", "limit=-1", "limit=100001", "limit=x"):
            r = d.get(f"/api/v1/notifications?{bad}")
            assert r.status == 400 and bad.split("=")[0] in r.error(), (bad, r)
        assert d.get("/api/v1/notifications", token=False).status == 401
        assert d.post("/api/v1/notifications").status == 405
    finally:
        d.stop()
