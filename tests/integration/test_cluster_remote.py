"""Controlling runs on other nodes (docs/cluster.md): two daemons with
different `node =` and data_dir on one PostgreSQL database (pg_database);
`status`, `kill`, `request`, `disable`/`enable`, `logs -f` and the API's
kill from one node act on runs of the other, through the commands table
its daemon takes (LISTEN/NOTIFY a wake-up hint, a poll fallback)."""
import getpass
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_api import free_port, make_token
from worker_helpers import wait_for

JOBS = """
[job Sleep]
command = sleep 60
schedule = 0 0 1 1 *
kill_grace = 2s

[job Backup]
command = sleep 60
schedule = 0 0 1 1 *
can_resume = yes

[job Talk]
command = sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo line$i; sleep 0.3; done'
schedule = 0 0 1 1 *
"""


class Node:
    """One node: its config, data_dir and (maybe) its daemon."""

    def __init__(self, build_dir, tmp, name, store, admin=""):
        self.binary = Path(build_dir) / "cronwarden"
        self.name = name
        self.dir = Path(tmp) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "cronwarden.ini"
        self.config.write_text(
            "[cronwarden]\n"
            f"node = {name}\n"
            f"data_dir = {self.dir / 'data'}\n"
            f"store = {store}\n"
            "timezone = UTC\n\n"
            f"{admin}\n{JOBS}")
        self.proc = None
        self.err = self.dir / "daemon.err"

    def env(self):
        env = dict(os.environ)
        env.pop("CRONWARDEN_CONFIG", None)
        env.pop("JOURNAL_STREAM", None)
        return env

    def cli(self, *args, timeout=60):
        return subprocess.run([str(self.binary), "--config", str(self.config), *map(str, args)],
                              capture_output=True, text=True, env=self.env(),
                              stdin=subprocess.DEVNULL, timeout=timeout)

    def start(self, ready=None):
        with open(self.err, "wb") as fe:
            self.proc = subprocess.Popen([str(self.binary), "--config", str(self.config), "daemon"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=fe, env=self.env())
        wait_for(lambda: "event=start" in self.log() or self.proc.poll() is not None,
                 what=f"{self.name}'s daemon to start")
        assert self.proc.poll() is None, self.log()
        if ready:
            wait_for(ready, what=f"{self.name}'s daemon to be ready")
        return self

    def log(self):
        return self.err.read_bytes().decode("utf-8", "replace") if self.err.exists() else ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def run(self, job):
        """Starts job detached on this node; returns its run id."""
        p = self.cli("run", job, "--detach")
        assert p.returncode == 0, p.stderr
        return int(re.search(r"run (\d+) started", p.stdout).group(1))

    def get(self, run_id):
        p = self.cli("history", "--json")
        assert p.returncode == 0, p.stderr
        return next(r for r in json.loads(p.stdout) if r["id"] == run_id)


def listening(node, other):
    """True once other's daemon is connected as its node (seen from node):
    `status --json` of a run is not needed, the store says it."""
    def check():
        p = subprocess.run(["psql", "-X", "-At", "-d", node.store_url, "-c",
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            f"'cronwarden daemon {other.name}'"],
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() == "1"
    return check


@pytest.fixture
def nodes(build_dir, tmp_path, pg_database):
    made = []

    def make(name, admin=""):
        n = Node(build_dir, tmp_path, name, pg_database, admin)
        n.store_url = pg_database
        made.append(n)
        return n

    yield make
    for n in made:
        n.stop()
        # Whatever a test left running (detached workers) goes too.
        subprocess.run([str(n.binary), "--config", str(n.config), "kill"],
                       capture_output=True, timeout=60, env=n.env())


def wait_final(node, run_id, timeout=20):
    return wait_for(lambda: (lambda r: r if r["status"] not in ("queued", "running") else None)(
        node.get(run_id)), timeout=timeout, what=f"run {run_id} to end")


def test_kill_and_status_of_a_run_on_another_node(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start(ready=None)
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")

    p = b.cli("status", "--json")
    assert p.returncode == 0, p.stderr
    [st] = json.loads(p.stdout)
    assert st["id"] == run_id and st["node"] == "alpha" and st["state"] == "ALIVE", st

    t0 = time.monotonic()
    p = b.cli("kill", "Sleep")
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"killed run {run_id} (Sleep) on node alpha" in p.stdout
    # Woken by its notification, not by the poll fallback (5 s).
    assert took < 4, took
    r = a.get(run_id)
    assert r["status"] == "killed", r
    assert r["reason"] == f"killed by {getpass.getuser()}@beta", r
    assert f"event=remote_kill run={run_id} by={getpass.getuser()}@beta" in a.log()

    # Named again, the run is over: a clear answer, exit 2 (nothing to stop).
    p = b.cli("kill", "--run", run_id)
    assert p.returncode == 2, p.stdout + p.stderr
    assert f"run {run_id} (Sleep, node alpha) has already ended: killed" in p.stderr


def test_kill_on_a_node_that_is_down(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")
    a.proc.kill()  # kill -9: its connection goes, its worker lives on
    a.proc.wait(timeout=10)
    wait_for(lambda: not listening(b, a)(), what="alpha's connection to go")

    p = b.cli("status", "--json")
    [st] = json.loads(p.stdout)
    assert st["id"] == run_id and st["state"] == "DEAD", st
    # Not this node's to record as lost.
    assert b.get(run_id)["status"] == "running"

    p = b.cli("kill", run_id)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "node alpha is down (no daemon of it is connected to the store)" in p.stderr
    assert b.get(run_id)["status"] == "running"
    # alpha itself still can.
    p = a.cli("kill", run_id)
    assert p.returncode == 0 and f"killed run {run_id} (Sleep)" in p.stdout, p.stderr


def test_kill_not_taken_in_time_is_withdrawn(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")
    a.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        p = b.cli("kill", "--run", run_id)
        took = time.monotonic() - t0
    finally:
        a.proc.send_signal(signal.SIGCONT)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "node alpha's daemon did not take the command within 10 s" in p.stderr
    assert 9 < took < 20, took
    # Back, alpha never acts on the withdrawn command.
    time.sleep(1.5)
    assert a.get(run_id)["status"] == "running"
    p = b.cli("kill", "--run", run_id)
    assert p.returncode == 0, p.stdout + p.stderr
    assert a.get(run_id)["status"] == "killed"


def test_request_disable_enable_from_a_node_without_daemon(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")

    assert b.cli("disable", "Sleep").returncode == 0
    p = b.cli("request", "Sleep")
    assert p.returncode == 0, p.stderr
    # alpha's next planned wake-up is next year: only the notification
    # makes it take the request now.
    skipped = wait_for(lambda: [r for r in json.loads(b.cli("history", "--json").stdout)
                                if r["status"] == "skipped"], timeout=4, what="a skipped run")
    assert skipped[0]["node"] == "alpha", skipped

    assert b.cli("enable", "Sleep").returncode == 0
    assert b.cli("request", "Sleep").returncode == 0
    running = wait_for(lambda: [r for r in json.loads(b.cli("status", "--json").stdout)
                                if r["status"] == "running"], timeout=4, what="a running run")
    assert running[0]["node"] == "alpha" and running[0]["state"] == "ALIVE", running
    p = b.cli("kill", "Sleep")
    assert p.returncode == 0 and "on node alpha" in p.stdout, p.stdout + p.stderr


def test_logs_follow_of_a_run_on_another_node(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Talk")
    p = b.cli("logs", "-f", run_id, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"line{i}" for i in range(1, 21)], p.stdout
    assert f"run {run_id} ended: succeeded" in p.stderr

    # alpha dies mid-run: beta stops following (its node is gone).
    run_id = a.run("Sleep")
    f = subprocess.Popen([str(b.binary), "--config", str(b.config), "logs", "-f", str(run_id)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=b.env())
    time.sleep(1.5)
    assert f.poll() is None
    a.proc.kill()
    a.proc.wait(timeout=10)
    out, err = f.communicate(timeout=15)
    assert f.returncode == 1, err
    assert f"run {run_id}'s worker is gone; stopped following" in err


def test_api_kill_of_a_run_on_another_node(nodes, build_dir, tmp_path):
    token, token_line = make_token(Path(build_dir) / "cronwarden", tmp_path)
    port = free_port()
    a = nodes("alpha")
    b = nodes("beta", admin=f"[admin]\nlisten = 127.0.0.1:{port}\n{token_line}\n")
    a.start()
    b.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")

    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/runs/{run_id}/kill",
                                 data=b"{}", method="POST",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        assert json.loads(r.read()) == {"id": run_id, "status": "killed"}
    r = a.get(run_id)
    assert r["status"] == "killed" and r["reason"] == "killed by token:ci@beta (API)", r


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_command_without_notification_is_taken_by_the_poll(nodes):
    """A notification is only a hint: a command added without one (as if
    it was lost) is still taken, within the daemon's 5 s look."""
    a = nodes("alpha")
    a.start()
    wait_for(listening(a, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")
    t0 = time.monotonic()
    cmd = psql(a.store_url, "INSERT INTO node_commands (node, kind, run_id, signal, requested_by) "
                            f"VALUES ('alpha', 'kill', {run_id}, 15, 'ops@psql') RETURNING id")
    state = wait_for(lambda: (lambda s: s if s in ("done", "failed") else None)(
        psql(a.store_url, f"SELECT state FROM node_commands WHERE id = {cmd.splitlines()[0]}")),
        timeout=12, what="the command to be done")
    assert state == "done" and time.monotonic() - t0 < 9
    r = a.get(run_id)
    assert r["status"] == "killed" and r["reason"] == "killed by ops@psql", r


def test_command_older_than_its_sender_waits_is_never_acted_on(nodes):
    a = nodes("alpha")
    a.start()
    wait_for(listening(a, a), what="alpha's daemon to listen")
    run_id = a.run("Sleep")
    cmd = psql(a.store_url, "INSERT INTO node_commands (node, kind, run_id, signal, created_at) "
                            f"VALUES ('alpha', 'kill', {run_id}, 15, "
                            "clock_timestamp() - interval '1 minute') RETURNING id")
    psql(a.store_url, "NOTIFY cronwarden, 'cmd:alpha'")
    state = wait_for(lambda: (lambda s: s if s not in ("pending", "taken") else None)(
        psql(a.store_url, f"SELECT state FROM node_commands WHERE id = {cmd.splitlines()[0]}")),
        timeout=12, what="the command to be expired")
    assert state == "expired"
    assert a.get(run_id)["status"] == "running"


def test_kill_of_a_run_whose_worker_is_gone(nodes):
    """The owning node kills what is left of the job itself; the run ends
    killed (resumable, for a job with can_resume), naming who asked."""
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Backup")
    r = wait_for(lambda: (lambda r: r if r["pid"] else None)(a.get(run_id)), what="the job's pid")
    os.kill(r["worker_pid"], signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{r['worker_pid']}/status") or
             "zombie" in open(f"/proc/{r['worker_pid']}/status").read(), what="the worker to die")
    assert os.path.exists(f"/proc/{r['pid']}")  # the job lives on

    p = b.cli("kill", "Backup")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"killed run {run_id} (Backup) on node alpha" in p.stdout
    after = a.get(run_id)
    assert after["status"] == "killed", after
    assert after["reason"] == f"killed by {getpass.getuser()}@beta (its worker was gone)", after
    assert after["resume"] == "pending", after
    wait_for(lambda: not os.path.exists(f"/proc/{r['pid']}") or
             "zombie" in open(f"/proc/{r['pid']}/status").read(), what="the job to be killed")


def test_remote_kill_of_a_resumable_job_makes_it_resumable(nodes):
    a, b = nodes("alpha"), nodes("beta")
    a.start()
    wait_for(listening(b, a), what="alpha's daemon to listen")
    run_id = a.run("Backup")
    p = b.cli("kill", "--run", run_id)
    assert p.returncode == 0, p.stdout + p.stderr
    after = a.get(run_id)
    assert after["status"] == "killed" and after["resume"] == "pending", after
