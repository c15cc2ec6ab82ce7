"""Cluster mode on PostgreSQL (docs/cluster.md): several daemons (nodes) on
one database, one schedule, every fire exactly once.

Each test starts its nodes with cluster_util.Cluster (n0, n1, ... each in
a session of its own, dead_timeout = 3s) on a fresh database."""

import collections
import os
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cluster_util import Cluster, psql, wait_for

REPO = Path(__file__).resolve().parents[2]
DEAD = 3  # the nodes' dead_timeout, seconds


@pytest.fixture
def cluster(build_dir, tmp_path, pg_database):
    made = []

    def make(jobs, n=3, **kw):
        c = Cluster(build_dir, tmp_path, pg_database, jobs, n=n, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop_all()


def per_second(name, command="true", **keys):
    lines = [f"[job {name}]", f"command = {command}", "schedule = * * * * * *",
             "concurrency = allow"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def at_second(name, second, command, **keys):
    lines = [f"[job {name}]", f"command = {command}", f"schedule = {second} * * * * *"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def instants(runs):
    return collections.Counter(r["scheduled_at"] for r in runs)


def assert_each_once(runs, first, last):
    """Every instant in [first, last] has exactly one row; none twice."""
    seen = instants(runs)
    doubled = sorted(t for t, k in seen.items() if k > 1)
    assert not doubled, f"fires recorded twice: {doubled}"
    missing = [t for t in range(first, last + 1) if t not in seen]
    assert not missing, f"fires without a row: {missing}"


# ---- exactly once, spread, kill -9 -------------------------------------------

def test_three_nodes_per_second_fires_exactly_once_spread_and_kill9_loses_nothing(cluster):
    """Three nodes, a per-second job for more than 60 s: every instant has
    exactly one run, the runs are spread over the nodes; a node killed with
    kill -9 (its whole process group, as a power cut) while it runs a
    resumable job: none lost, none doubled, its run marked lost within the
    dead timeout, the job resumed on another node."""
    start = int(time.time())
    long_at = (start + 20) % 60
    jobs = per_second("Sec") + at_second("Long", long_at, "sleep 300", can_resume="yes",
                                         concurrency="allow")
    c = cluster(jobs).start_all()
    t0 = int(time.time()) + 2
    # The long job starts on some node: kill that node mid-run.
    long_run = wait_for(lambda: c.runs("job = 'Long' AND status = 'running'"), 40,
                        "the long job to run")[0]
    victim = next(n for n in c.nodes if n.name == long_run["node"])
    time.sleep(1)
    victim.kill9()
    killed_at = time.time()
    lost = wait_for(lambda: c.runs(f"id = {long_run['id']} AND status = 'lost'"), DEAD + 10,
                    "the killed node's run to be recorded lost")[0]
    took = time.time() - killed_at
    assert took <= DEAD + 3, f"lost after {took:.1f}s (dead_timeout {DEAD}s)"
    assert f"its node {victim.name} is dead" in lost["reason"], lost
    resumed = wait_for(lambda: c.runs(f"resumed_from = {long_run['id']}"), 10,
                       "the resumable job to be resumed")[0]
    assert resumed["node"] != victim.name and resumed["trigger"] == "resume", resumed
    # More than 60 s of per-second fires in all.
    while time.time() < t0 + 64:
        time.sleep(0.5)
    t1 = int(time.time()) - 4
    runs = [r for r in c.runs("job = 'Sec'") if t0 <= r["scheduled_at"] <= t1]
    assert t1 - t0 >= 60
    assert_each_once(runs, t0, t1)
    assert all(r["status"] == "succeeded" for r in runs), \
        [r for r in runs if r["status"] != "succeeded"][:5]
    by_node = collections.Counter(r["node"] for r in runs)
    assert len(by_node) == 3, by_node
    # Spread: no node took almost everything (a node racing for every fire
    # would win most of them).
    assert max(by_node.values()) < 0.7 * len(runs), by_node
    # Every live node saw the death and its table row says why.
    table = c.nodes_table()
    assert table[victim.name]["state"] == "dead", table
    assert "no heartbeat for" in table[victim.name]["reason"], table


# ---- the database restarting ----------------------------------------------------

@pytest.fixture
def own_pg_server():
    """A server of this test's own (it is restarted), removed afterwards."""
    p = subprocess.run([str(REPO / "tests/pg/pgserver.sh"), "start"], capture_output=True,
                       text=True, timeout=120)
    if p.returncode == 77:
        pytest.skip("PostgreSQL is not installed")
    assert p.returncode == 0, p.stderr
    url, stop = p.stdout.splitlines()[:2]
    try:
        yield url, stop.split()[-1]
    finally:
        subprocess.run(stop.split(), capture_output=True, timeout=60)


def test_postgresql_restart_kills_no_node_and_loses_no_fire(build_dir, tmp_path, own_pg_server):
    url, pgdir = own_pg_server
    psql(url, "CREATE DATABASE cl")
    url = url.rsplit("/", 1)[0] + "/cl"
    c = Cluster(build_dir, tmp_path, url, per_second("Sec"), n=2)
    try:
        c.start_all()
        t0 = int(time.time()) + 2
        time.sleep(4)
        p = subprocess.run([str(REPO / "tests/pg/pgserver.sh"), "restart", pgdir],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        time.sleep(DEAD + 5)
        t1 = int(time.time()) - 4
        runs = [r for r in c.runs("job = 'Sec'") if t0 <= r["scheduled_at"] <= t1]
        assert_each_once(runs, t0, t1)
        table = c.nodes_table()
        assert all(v["state"] == "alive" for v in table.values()), table
        for n in c.nodes:
            assert "event=node_dead" not in n.log_text(), n.log_text()
            assert n.alive()
    finally:
        c.stop_all()


# ---- a frozen node -----------------------------------------------------------------

def test_node_frozen_past_dead_timeout_writes_nothing_over_the_clusters_decision(cluster):
    start = int(time.time())
    jobs = at_second("Long", (start + 6) % 60, "sleep 300", can_resume="yes")
    c = cluster(jobs, n=2).start_all()
    run = wait_for(lambda: c.runs("job = 'Long' AND status = 'running'"), 20,
                   "the long job to run")[0]
    frozen = next(n for n in c.nodes if n.name == run["node"])
    frozen.signal_group(signal.SIGSTOP)
    try:
        wait_for(lambda: c.runs(f"id = {run['id']} AND status = 'lost'"), DEAD + 10,
                 "the frozen node's run to be recorded lost")
        wait_for(lambda: c.runs(f"resumed_from = {run['id']}"), 10, "the resume elsewhere")
    finally:
        frozen.signal_group(signal.SIGCONT)
    wait_for(lambda: "event=cluster_declared_dead" in frozen.log_text(), 10,
             "the frozen node to learn it was declared dead")
    time.sleep(2)
    # Its job was stopped, and its run stays as the cluster decided.
    assert c.runs(f"id = {run['id']}")[0]["status"] == "lost"
    assert "event=cluster_stop_run" in frozen.log_text()
    assert c.nodes_table()[frozen.name]["state"] == "alive"  # back, beating again


# ---- clock offset ------------------------------------------------------------------

def test_node_whose_clock_is_off_stops_claiming_and_says_why(cluster, cw):
    c = cluster(per_second("Sec"), n=2)
    c.nodes[1].env = {"CRONWARDEN_TEST_CLOCK_OFFSET": "5"}
    c.start_all()
    t0 = time.time()
    wait_for(lambda: not c.nodes_table().get("n1", {"claiming": True})["claiming"], 10,
             "n1 to stop claiming")
    row = c.nodes_table()["n1"]
    assert "off the database's" in row["reason"] and "max_clock_offset 2 s" in row["reason"], row
    assert "event=cluster_claiming node=n1 claiming=no" in c.nodes[1].log_text()
    time.sleep(6)
    runs = [r for r in c.runs("job = 'Sec'") if r["scheduled_at"] > t0 + 1]
    assert runs and all(r["node"] == "n0" for r in runs), collections.Counter(
        r["node"] for r in runs)
    # `nodes` says the same.
    p = cw("--config", c.nodes[0].config, "nodes", "--json")
    assert p.returncode == 0, p.stderr
    nodes = {n["name"]: n for n in json.loads(p.stdout)}
    assert nodes["n1"]["claiming"] is False and nodes["n1"]["clock_offset"] > 4, nodes
    assert nodes["n0"]["claiming"] is True and abs(nodes["n0"]["clock_offset"]) < 1, nodes


# ---- nodes, config agreement ---------------------------------------------------------

def test_nodes_lists_every_node_and_a_differing_job_definition_does_not_claim(cluster, cw):
    c = cluster(per_second("Sec") + per_second("Other"), n=3)
    # n2 runs a different Sec.
    c.nodes[2].write_config(per_second("Sec", command="echo different") + per_second("Other"))
    c.start_all()
    t0 = time.time()

    def settled():
        return [r for r in c.runs() if r["scheduled_at"] > t0 + 2]

    # n2 claims Other's fires it is preferred for (a third of them, by the
    # hash of job and instant): wait until it has, and until a fire of Sec
    # is recorded (one n2 is preferred for comes 2 s late, from the
    # fallback), 20 s at most.
    def both(rs):
        other = {r["node"] for r in rs if r["job"] == "Other"}
        return rs if "n2" in other and any(r["job"] == "Sec" for r in rs) else None

    runs = wait_for(lambda: both(settled()), 20, "n2 to claim a fire of Other, and Sec to fire")
    sec_nodes = {r["node"] for r in runs if r["job"] == "Sec"}
    assert "n2" not in sec_nodes and sec_nodes, sec_nodes
    p = cw("--config", c.nodes[0].config, "nodes", "--json")
    assert p.returncode == 0, p.stderr
    nodes = {n["name"]: n for n in json.loads(p.stdout)}
    assert set(nodes) == {"n0", "n1", "n2"}
    assert nodes["n2"]["config_differs"] == ["Sec"] and not nodes["n2"]["config_agrees"]
    assert nodes["n0"]["config_agrees"] and nodes["n0"]["status"] == "alive"
    assert nodes["n0"]["heartbeat_age"] < DEAD
    p = cw("--config", c.nodes[0].config, "nodes")
    assert p.returncode == 0, p.stderr
    assert "n2" in p.stdout and "config differs: Sec" in p.stdout, p.stdout
    # A clean stop: the node has left, not died.
    c.nodes[1].stop()
    p = cw("--config", c.nodes[0].config, "nodes", "--json")
    assert {n["name"]: n["status"] for n in json.loads(p.stdout)}["n1"] == "left"


def test_nodes_on_sqlite_is_one_node(cw, tmp_path):
    cfg = tmp_path / "c.ini"
    cfg.write_text(f"[cronwarden]\ndata_dir = {tmp_path / 'd'}\nnode = solo\n")
    p = cw("--config", cfg, "nodes")
    assert p.returncode == 0, p.stderr
    assert "one node: solo" in p.stdout
    p = cw("--config", cfg, "nodes", "--json")
    assert p.returncode == 0 and json.loads(p.stdout) == []


# ---- hosts pinning -------------------------------------------------------------------

def test_pinned_job_runs_on_its_hosts_only_and_is_missed_with_reason_when_they_are_down(cluster):
    c = cluster(per_second("Pinned", hosts="n1") + per_second("Free"), n=3).start_all()
    t0 = time.time()
    time.sleep(5)
    runs = [r for r in c.runs("job = 'Pinned'") if r["scheduled_at"] > t0]
    assert runs and {r["node"] for r in runs} == {"n1"}, runs
    c.nodes[1].kill9()
    killed = time.time()
    time.sleep(DEAD + 6)
    late = [r for r in c.runs("job = 'Pinned'") if r["scheduled_at"] > killed + DEAD + 2]
    assert late, "no row for the pinned job's fires while its node is down"
    assert all(r["status"] == "missed" for r in late), late
    assert all("no node of its hosts is alive (hosts = n1)" in r["reason"] for r in late), late
    assert_each_once(late, min(r["scheduled_at"] for r in late),
                     max(r["scheduled_at"] for r in late))


def test_run_on_a_node_outside_hosts_refuses_unless_forced(cw, tmp_path):
    cfg = tmp_path / "c.ini"
    cfg.write_text(f"[cronwarden]\ndata_dir = {tmp_path / 'd'}\nnode = web-3\n\n"
                   "[job Pinned]\ncommand = echo ran\nhosts = web-1, web-2\n")
    p = cw("--config", cfg, "run", "Pinned")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "runs only on its hosts (web-1, ...), not on node 'web-3'" in p.stderr, p.stderr
    assert "ran" not in p.stdout
    p = cw("--config", cfg, "run", "Pinned", "--force")
    assert p.returncode == 0, p.stderr
    assert "ran" in p.stdout


# ---- the admin UI, API and metrics -------------------------------------------------

def _request(port, method, path, body=None, headers=None):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookie(headers, name):
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {headers}")


def test_nodes_in_the_api_the_admin_page_and_metrics(cluster, cw, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pw = cw("passwd", input="correct horse\n")
    tok = cw("passwd", "--token", "ci")
    assert pw.returncode == 0 and tok.returncode == 0
    token, token_line = tok.stdout.splitlines()[:2]
    c = cluster(per_second("Sec"), n=2)
    c.nodes[0].write_config(per_second("Sec"), extra=(
        f"\n[admin]\nlisten = 127.0.0.1:{port}\nuser = admin\n"
        f"password_hash = {pw.stdout.strip()}\n{token_line}\n"))
    c.nodes[1].env = {"CRONWARDEN_TEST_CLOCK_OFFSET": "-7"}
    c.start_all()
    wait_for(lambda: "event=admin_listen" in c.nodes[0].log_text(), 10, "the admin server")
    wait_for(lambda: not c.nodes_table()["n1"]["claiming"], 10, "n1 to stop claiming")
    auth = {"Authorization": f"Bearer {token}"}
    st, _, body = _request(port, "GET", "/api/v1/nodes", headers=auth)
    assert st == 200, body
    nodes = {n["name"]: n for n in json.loads(body)["nodes"]}
    assert set(nodes) == {"n0", "n1"}
    assert nodes["n0"]["status"] == "alive" and nodes["n0"]["claiming"] is True
    assert nodes["n1"]["claiming"] is False and nodes["n1"]["clock_offset"] < -6
    assert nodes["n0"]["heartbeat_at_ts"] > 0 and nodes["n0"]["config_agrees"] is True
    st, _, text = _request(port, "GET", "/metrics", headers=auth)
    assert st == 200, text
    assert 'cronwarden_node_up{node="n0"} 1' in text, text
    assert 'cronwarden_node_claiming{node="n1"} 0' in text
    assert 'cronwarden_node_config_agrees{node="n0"} 1' in text
    # -7 s injected, measured against the database's clock: -7.0x or -6.9x.
    off = re.search(r'^cronwarden_node_clock_offset_seconds\{node="n1"\} (\S+)$', text, re.M)
    assert off and abs(float(off.group(1)) + 7) < 0.5, text
    # The HTML page, after logging in.
    st, h, _ = _request(port, "GET", "/login")
    login = _cookie(h, "cw_login")
    st, h, _ = _request(port, "POST", "/login",
                        body=f"user=admin&password=correct+horse&csrf={login}",
                        headers={"Content-Type": "application/x-www-form-urlencoded",
                                 "Cookie": f"cw_login={login}"})
    assert st == 303, st
    session = _cookie(h, "cw_session")
    st, _, page = _request(port, "GET", "/nodes", headers={"Cookie": f"cw_session={session}"})
    assert st == 200, page
    assert 'id="nodes-table"' in page and 'data-node="n1"' in page
    assert "off the database&#39;s" in page or "off the database's" in page, page
    st, _, page = _request(port, "GET", "/scheduler", headers={"Cookie": f"cw_session={session}"})
    assert 'href="/nodes"' in page


def test_every_entry_on_three_nodes_fires_once_per_interval_without_gaps(cluster):
    """`every` fires follow a previous fire the nodes share: claimed at once
    (not put off by the preference), each interval once."""
    jobs = "[job Ev]\ncommand = true\nschedule = every 2s\nconcurrency = allow\n"
    c = cluster(jobs).start_all()
    time.sleep(14)
    ats = sorted(r["scheduled_at"] for r in c.runs("job = 'Ev'"))
    assert len(ats) >= 5, ats
    assert len(set(ats)) == len(ats), f"doubled: {ats}"
    steps = {b - a for a, b in zip(ats, ats[1:])}
    assert steps == {2}, ats


def test_a_burst_on_three_nodes_records_each_run_once_and_every_commit_succeeds(cluster):
    """90 jobs due in the same second on three nodes: each runs once and
    every node's claim batches commit. The lateness histogram's rows are
    shared by the nodes; two batches that took its buckets and its sum in
    different orders deadlocked, and PostgreSQL aborted one only after
    deadlock_timeout (event=error what=commit, its fires claimed again a
    pass later, 1-2 s late)."""
    n = 90
    at = int(time.time()) + 6
    jobs = "".join(at_second(f"B{i:03d}", at % 60, "true") for i in range(n))
    c = cluster(jobs).start_all()
    runs = wait_for(lambda: (lambda rs: rs if len(rs) == n and
                             all(r["status"] == "succeeded" for r in rs) else None)(
        c.runs(f"job LIKE 'B%' AND scheduled_at = {at}")), at - time.time() + 30,
        "every run of the burst to succeed")
    assert sorted(r["job"] for r in runs) == [f"B{i:03d}" for i in range(n)]
    assert len({r["node"] for r in runs}) >= 2, collections.Counter(r["node"] for r in runs)
    # Each claim is the node's whose run it is: no claim without its run.
    claims = c.sql(f"SELECT spec, node FROM claims WHERE scheduled_at = {at} ORDER BY spec")
    assert sorted(s for s, _ in claims) == [f"B{i:03d}" for i in range(n)], claims
    by_run = {r["job"]: r["node"] for r in runs}
    assert all(by_run[s] == node for s, node in claims), (claims, by_run)
    for node in c.nodes:
        failed = [line for line in node.log_text().splitlines() if "what=commit" in line]
        assert not failed, (node.name, failed)
    pgdir = os.environ.get("CW_TEST_POSTGRESQL_DIR")
    log = Path(pgdir, "server.log") if pgdir else None
    if log and log.exists():
        assert "deadlock detected" not in log.read_text(errors="replace")


# ---- the database gone for nearly dead_timeout ----------------------------------------

def _pg_ctl(pgdir, *args):
    import shlex
    cmd = ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", f"{pgdir}/data", *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    _ = shlex


@pytest.mark.parametrize("lock", ["class", "none"])
def test_node_stops_its_jobs_when_it_cannot_heartbeat_near_dead_timeout(build_dir, tmp_path,
                                                                        own_pg_server, lock):
    """The database gone: the node stops claiming at once, and stops its
    running job before dead_timeout (another node could take over); once
    the database is back the run is recorded lost with the reason and the
    resumable job resumed. With a lock, the worker whose lease cannot be
    renewed may be first to stop it; without one, only the daemon does."""
    import shlex
    url, pgdir = own_pg_server
    psql(url, "CREATE DATABASE cl")
    url = url.rsplit("/", 1)[0] + "/cl"
    start = int(time.time())
    c = Cluster(build_dir, tmp_path, url,
                at_second("Long", (start + 6) % 60, "sleep 300", can_resume="yes", lock=lock), n=1)
    try:
        c.start_all()
        node = c.nodes[0]
        run = wait_for(lambda: c.runs("job = 'Long' AND status = 'running'"), 20,
                       "the long job to run")[0]
        pid = int(c.sql(f"SELECT pid FROM runs WHERE id = {run['id']}")[0][0])
        assert pid > 0 and os.path.exists(f"/proc/{pid}")
        opts = shlex.split(Path(f"{pgdir}/data/postmaster.opts").read_text())[1:]
        _pg_ctl(pgdir, "-m", "fast", "-w", "stop")
        gone = time.time()
        wait_for(lambda: "claiming=no" in node.log_text(), 5, "the node to stop claiming")
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), DEAD + 3, "the job to be stopped")
        took = time.time() - gone
        assert took < DEAD, f"job stopped {took:.1f}s after the database went (dead_timeout {DEAD}s)"
        _pg_ctl(pgdir, "-l", f"{pgdir}/server.log", "-w", "-o", " ".join(opts), "start")
        lost = wait_for(lambda: c.runs(f"id = {run['id']} AND status = 'lost'"), 20,
                        "the stopped run to be recorded lost")[0]
        # Whichever came first stopped it: the daemon near dead_timeout, or
        # the worker when the lease of the job's lock could not be renewed.
        if lock == "none" or "could not reach the database" in lost["reason"]:
            assert "could not reach the database" in lost["reason"], lost
            assert f"event=cluster_stop_run run={run['id']}" in node.log_text()
        else:
            assert "could not be renewed" in lost["reason"], lost
        wait_for(lambda: c.runs(f"resumed_from = {run['id']}"), 10, "the resume")
        wait_for(lambda: "claiming=yes" in node.log_text(), 10, "the node to claim again")
    finally:
        c.stop_all()


def test_a_worker_killed_before_its_job_fails_its_run_and_frees_its_lock_row(cluster):
    """On a shared store a node's daemon takes a run's lock row with the
    claim (docs/cluster.md, "Starting a run"). A worker killed before it
    starts the job (here the spawner's test hook; a crash, the OOM killer)
    leaves the run queued and the row held for its lease; the daemon, told
    by its spawner, records the run failed at once and frees the row, so
    the job's next fire is not skipped for a lock nobody holds."""
    c = cluster("[job K]\ncommand = true\nschedule = * * * * * *\n", n=1,
                globals="dead_timeout = 9s")  # a 3 s lease: two fires' worth
    c.nodes[0].start(env={"CRONWARDEN_TEST_WORKER_DIES": "before_start"})
    failed = wait_for(lambda: c.runs("job = 'K' AND status = 'failed'"), 15,
                      "a run of a worker killed before its job to be recorded failed")
    assert "its worker was killed by signal 9" in failed[0]["reason"], failed[0]
    assert "before it started the job" in failed[0]["reason"], failed[0]
    time.sleep(2.5)
    runs = c.runs("job = 'K'")
    assert not [r for r in runs if r["status"] == "skipped"], runs
    assert len([r for r in runs if r["status"] == "failed"]) >= 3, runs
    assert c.sql("SELECT count(*) FROM cluster_locks WHERE run_id IN (%s)" %
                 ", ".join(str(r["id"]) for r in runs if r["status"] == "failed")) == [["0"]]
