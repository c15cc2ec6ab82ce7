"""Free command entries of the admin UI (issue 5: "a free command line
only when allow_ui_commands = yes"), end to end against a real daemon:
each runs as a job of its own, `ui-ID`, made from [defaults], fired by the
daemon and by `tick` exactly once per instant, requested through the API,
run and killed by hand, skipped while disabled, and stopped (and reported)
when allow_ui_commands is turned off. See src/catalog/catalog.h."""

import json
import os
import pwd
import signal
import subprocess
import time
from datetime import datetime

from test_api import ApiDaemon
from worker_helpers import wait_for


def make(build_dir, tmp_path, allow=True, extra_jobs=""):
    wd = tmp_path / "wd"
    wd.mkdir(exist_ok=True)
    jobs = ("[defaults]\n"
            "env = DEFAULTS_VAR=d\n"
            f"workdir = {wd}\n"
            "timeout = 1h\n"
            "kill_grace = 2s\n\n"
            "[job Hello]\n"
            "command = /bin/true\n" + extra_jobs)
    return ApiDaemon(build_dir, tmp_path, jobs, admin_extra=f"allow_ui_commands = {'yes' if allow else 'no'}")


def create(d, schedule, command, **kw):
    r = d.post("/api/v1/entries", {"schedule": schedule, "command": command, **kw})
    assert r.status == 201, r
    e = r.json()
    assert e["valid"] is True and e["error"] is None, e
    assert e["job"] == f"ui-{e['id']}", e
    return e


def history(d, job):
    return json.loads(d.cli("history", job, "--json", "--limit", "1000").stdout)


def ts(iso):
    return datetime.fromisoformat(iso).timestamp()


def assert_once_per_instant(runs):
    """One row per fire instant (started, skipped or missed), none left out
    between the first and the last."""
    keys = sorted(ts(x["scheduled_at"]) for x in runs)
    assert len(keys) == len(set(keys)), f"a fire acted on twice: {keys}"
    assert keys == [keys[0] + i for i in range(len(keys))], f"a fire left out: {keys}"


def settled(d, job):
    """The job's history once no run of it is queued or running."""
    def look():
        runs = history(d, job)
        return runs if runs and all(x["status"] not in ("queued", "running") for x in runs) else None
    return wait_for(look, timeout=30, interval=0.1, what=f"the runs of {job} to end")


def test_fires_through_the_daemon_with_the_documented_environment(build_dir, tmp_path):
    d = make(build_dir, tmp_path)
    d.start()
    try:
        e = create(d, "* * * * * *", "/bin/sh -c 'cat /proc/$$/environ; echo; echo cwd=$(pwd)' sh",
                   description="env dump")
        job = e["job"]
        d.wait_run(lambda x: x["job"] == job and x["status"] == "succeeded" and x["trigger"] == "schedule",
                   "a scheduled run of the command entry")
        # Listed as a job, marked as created in the UI.
        jobs = {j["name"]: j for j in d.get("/api/v1/jobs").json()["jobs"]}
        assert jobs[job]["source"] == "ui" and jobs[job]["entry_id"] == e["id"], jobs[job]
        assert jobs[job]["runnable_error"] is None and jobs[job]["description"] == "env dump"
        assert jobs["Hello"]["source"] == "config" and jobs["Hello"]["entry_id"] is None
        detail = d.get(f"/api/v1/jobs/{job}").json()
        assert detail["lock"] == "class" and detail["lock_name"] == job and detail["concurrency"] == "forbid"
        assert detail["timeout"] == 3600 and detail["kill_grace"] == 2 and detail["shell"] is False
        page = d.get(f"/jobs/{job}")  # the HTML page needs a session: the API is what counts here
        assert page.status in (200, 302, 303, 401), page
        # Three more instants, then stop and look at every row.
        first = d.wait_run(lambda x: x["job"] == job and x["trigger"] == "schedule", "a fire")
        wait_for(lambda: len([x for x in history(d, job) if x["trigger"] == "schedule"]) >= 4, timeout=20,
                 interval=0.2, what="four fires of the entry")
    finally:
        d.stop()
    runs = [x for x in settled(d, job) if x["trigger"] == "schedule"]
    assert_once_per_instant(runs)
    ok = [x for x in runs if x["status"] == "succeeded"]
    assert ok, runs
    assert all(x["spec"] == job and x["job"] == job for x in runs)
    out = d.cli("logs", str(ok[0]["id"])).stdout
    environ, _, rest = out.rpartition("\n")[0].rpartition("\ncwd=")
    assert rest == str(tmp_path / "wd"), out
    env = dict(item.split("=", 1) for item in environ.split("\0") if item)
    pw = pwd.getpwuid(os.getuid())
    assert set(env) == {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "DEFAULTS_VAR", "CRONWARDEN_RUN_ID",
                        "CRONWARDEN_JOB", "CRONWARDEN_PROGRESS_FD", "CRONWARDEN_SCHEDULED_AT"}, env
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin" and env["HOME"] == pw.pw_dir
    assert env["LANG"] == "C.UTF-8" and env["DEFAULTS_VAR"] == "d"
    assert env["CRONWARDEN_JOB"] == job and env["CRONWARDEN_RUN_ID"] == str(ok[0]["id"])
    assert first


def test_fires_through_tick_once_per_instant(build_dir, tmp_path):
    d = make(build_dir, tmp_path)
    d.start()
    try:
        e = create(d, "* * * * * *", "/bin/echo from tick")
    finally:
        d.stop()
    job = e["job"]
    start = time.time()

    def fired_by_tick():
        procs = [subprocess.Popen([str(d.binary), "--config", str(d.config), "tick", "--silent"],
                                  env=d.env(), stdin=subprocess.DEVNULL) for _ in range(3)]
        for p in procs:
            assert p.wait(timeout=60) == 0
        return len([x for x in history(d, job) if x["trigger"] == "schedule" and ts(x["scheduled_at"]) > start
                    and x["status"] == "succeeded"]) >= 2

    wait_for(fired_by_tick, timeout=30, interval=0.3, what="tick-started runs of the command entry")
    runs = [x for x in settled(d, job) if x["trigger"] == "schedule" and ts(x["scheduled_at"]) > start]
    keys = [x["scheduled_at"] for x in runs]
    assert len(keys) == len(set(keys)), f"a fire acted on twice: {keys}"
    ok = [x for x in runs if x["status"] == "succeeded"]
    assert d.cli("logs", str(ok[0]["id"])).stdout == "from tick\n"


def test_run_now_by_hand_disable_and_kill(build_dir, tmp_path):
    d = make(build_dir, tmp_path)
    d.start()
    try:
        echo = create(d, "0 0 1 1 *", "/bin/echo now")["job"]
        sleeper = create(d, "0 0 1 1 *", "/bin/sleep 60")["job"]
        # Run now through the API, both body forms.
        assert d.post("/api/v1/requests", {"job": echo}).status == 202
        run = d.wait_run(lambda x: x["job"] == echo and x["trigger"] == "request" and x["status"] == "succeeded",
                         "the requested run")
        assert d.get(f"/api/v1/runs/{run['id']}/output").body == b"now\n"
        assert d.post("/api/v1/requests", {"spec": echo}).status == 202
        d.wait_run(lambda x: x["job"] == echo and x["trigger"] == "request" and x["id"] > run["id"] and
                   x["status"] == "succeeded", "the second requested run")
        r = d.post("/api/v1/requests", {"spec": f"{echo}:x"})
        assert r.status == 422 and "takes no params" in r.error(), r
        assert d.post("/api/v1/requests", {"job": "ui-999"}).status == 422
        # By hand, in the foreground: recorded under the job's name.
        p = d.cli("run", echo)
        assert p.stdout == "now\n" and "succeeded" in p.stderr, p
        assert history(d, echo)[0]["trigger"] == "manual"
        # Disabled (its store flag): a request is recorded as skipped; `run`
        # refuses without --force.
        assert d.post(f"/api/v1/jobs/{echo}/disable").json()["enabled"] is False
        assert d.post("/api/v1/requests", {"job": echo}).status == 202
        skipped = d.wait_run(lambda x: x["job"] == echo and x["status"] == "skipped", "the skipped request")
        assert skipped["reason"] == f"job {echo} is disabled", skipped
        assert d.cli("run", echo, check=False).returncode == 2
        assert d.cli("run", "--force", echo).returncode == 0
        d.cli("enable", echo)
        # A long one: running, its lock held (by hand: 75), status, kill.
        assert d.post("/api/v1/requests", {"job": sleeper}).status == 202
        run = d.wait_run(lambda x: x["job"] == sleeper and x["status"] == "running" and x.get("pid"),
                         "the sleeper running")
        p = d.cli("run", sleeper, check=False)
        assert p.returncode == 75 and "already running" in p.stderr, p
        st = json.loads(d.cli("status", sleeper, "--json").stdout)
        assert [x["id"] for x in st] == [run["id"]] and st[0]["state"] == "ALIVE", st
        # The entry deleted under the running run: the run goes on.
        assert d.request("DELETE", f"/api/v1/entries/{sleeper.split('-')[1]}").status == 204
        p = d.cli("kill", sleeper)
        assert f"killed run {run['id']}" in p.stdout, p
        assert d.get(f"/api/v1/runs/{run['id']}").json()["status"] == "killed"
        # Its history stays readable; the job itself is gone.
        assert [x["id"] for x in history(d, sleeper)] == [run["id"]]
        assert d.get(f"/api/v1/jobs/{sleeper}").status == 404
        p = d.cli("run", sleeper, check=False)
        assert p.returncode == 2 and "was deleted" in p.stderr, p
    finally:
        d.stop()


def test_allow_ui_commands_off_stops_them(build_dir, tmp_path):
    d = make(build_dir, tmp_path)
    d.start()
    try:
        job = create(d, "* * * * * *", "/bin/echo tick")["job"]
        d.wait_run(lambda x: x["job"] == job and x["status"] == "succeeded", "a fire while allowed")
        d.config.write_text(d.config.read_text().replace("allow_ui_commands = yes", "allow_ui_commands = no"))
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "event=reload" in d.log(), timeout=20, what="the reload")
        e = d.get("/api/v1/entries").json()["entries"][0]
        assert e["valid"] is False and "allow_ui_commands" in e["error"], e
        j = {x["name"]: x for x in d.get("/api/v1/jobs").json()["jobs"]}[job]
        assert j["source"] == "ui" and "allow_ui_commands" in j["runnable_error"], j
        r = d.post("/api/v1/requests", {"job": job})
        assert r.status == 403 and "allow_ui_commands" in r.error(), r
    finally:
        d.stop()
    settled(d, job)
    p = d.cli("run", job, check=False)
    assert p.returncode == 2 and "allow_ui_commands" in p.stderr, p
    # Passes covering at least one full second of per-second fires start
    # nothing for it.
    seen = {"span": 0.0}

    def covered():
        t = json.loads(d.cli("tick", "--json").stdout)
        assert not [a for a in t["actions"] if a["job"] == job], t
        seen["span"] += ts(t["window_to"]) - ts(t["window_from"])
        return seen["span"] >= 2
    wait_for(covered, timeout=20, interval=0.3, what="passes over two seconds")
