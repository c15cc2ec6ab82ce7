"""Cluster-wide locks on PostgreSQL (docs/cluster.md, "Locks in a cluster"):
leased rows with fencing tokens.

Each test makes two or three nodes on one database (pg_database): their
own config file, data_dir and `node`, as if on separate hosts (so their
lock files never meet and only the database's lock rows can keep their
runs apart). Jobs wait for a gate file, bounded, instead of sleeping.
A node can be given the database through a TCP proxy the test controls,
to cut it off from the database (and only it) mid-run.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

LEASE = 3  # dead_timeout of these tests, seconds
GRACE = 1  # kill_grace

JOB_SCRIPT = r"""#!/bin/sh
# $1: the test's directory. Records its pid (= its process group) and
# token, waits for the gate (at most WAIT*0.05 s), then leaves a mark.
d=$1
echo $$ > "$d/pid.$CRONWARDEN_RUN_ID"
echo "${CRONWARDEN_FENCE_TOKEN:-none}" > "$d/token.$CRONWARDEN_RUN_ID"
echo "start $(date +%s.%N) $CRONWARDEN_RUN_ID" >> "$d/log"
trap 'echo "end $(date +%s.%N) $CRONWARDEN_RUN_ID" >> "$d/log"; exit 143' TERM
n=0
while [ ! -e "$d/go" ] && [ $n -lt "${WAIT:-${CRONWARDEN_OPT_WAIT:-1200}}" ]; do
    sleep 0.05
    n=$((n+1))
done
touch "$d/done.$CRONWARDEN_RUN_ID"
echo "end $(date +%s.%N) $CRONWARDEN_RUN_ID" >> "$d/log"
"""


def psql(db, sql):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-d", db,
                        "-c", sql], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [line.split("|") for line in p.stdout.splitlines() if line]


def wait_for(pred, timeout=20, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    pytest.fail(f"timed out waiting for {what}")


class Proxy:
    """A TCP forwarder to the database that the test can cut (stop) and
    mend (start again on the same port)."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.port = 0
        self.lsock = None
        self.conns = []
        self.lock = threading.Lock()
        # True: new connections are closed at once, those made stay.
        self.refuse_new = False
        self.start()

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.lsock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, ls):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            if self.refuse_new:
                c.close()
                continue
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        # shutdown() wakes the thread blocked in accept(); close() alone
        # would leave the socket listening under it.
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Node:
    def __init__(self, build_dir, root, name, url, jobs):
        self.name = name
        self.binary = str(build_dir / "cronwarden")
        self.dir = root / name
        self.dir.mkdir()
        self.config = self.dir / "cronwarden.ini"
        self.config.write_text(
            f"[cronwarden]\nstore = {url}\nnode = {name}\ndead_timeout = {LEASE}s\n\n" + jobs)
        self.procs = []

    def _argv(self, args):
        return [self.binary, "--config", str(self.config), *map(str, args)]

    def run(self, *args, timeout=60):
        return subprocess.run(self._argv(args), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def spawn(self, *args):
        p = subprocess.Popen(self._argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def daemon(self):
        """A daemon logging to a file (its stderr is not read meanwhile)."""
        self.log = open(self.dir / "daemon.log", "w")
        p = subprocess.Popen(self._argv(["daemon"]), stdout=self.log, stderr=self.log,
                             stdin=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: "event=start" in (self.dir / "daemon.log").read_text(), timeout=15,
                 what=f"node {self.name}'s daemon to start")
        return p

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0, (self.dir / "daemon.log").read_text()


@pytest.fixture
def cluster(pg_database, build_dir, tmp_path):
    """cluster(jobs, names=("a", "b"), proxied=()) -> (nodes by name, shared
    dir, proxies by name). A node in `proxied` reaches the database through
    a Proxy of its own."""
    made = []
    proxies = {}
    shared = tmp_path / "shared"
    shared.mkdir()
    script = tmp_path / "job.sh"
    script.write_text(JOB_SCRIPT)
    script.chmod(0o755)

    def make(jobs, names=("a", "b"), proxied=()):
        jobs = jobs.replace("JOB", str(script)).replace("DIR", str(shared))
        nodes = {}
        for n in names:
            url = pg_database
            if n in proxied:
                parts = urlsplit(pg_database)
                proxies[n] = Proxy(parts.hostname, parts.port)
                netloc = parts.netloc.replace(f":{parts.port}", f":{proxies[n].port}")
                url = urlunsplit(parts._replace(netloc=netloc))
            nodes[n] = Node(build_dir, tmp_path, n, url, jobs)
            made.append(nodes[n])
        # The schema, before the tests read the tables.
        p = nodes[names[0]].run("history")
        assert p.returncode == 0, p.stderr
        return nodes, shared, proxies

    yield make
    (shared / "go").touch()
    for p in proxies.values():
        try:
            p.start()
        except OSError:
            pass
    for node in made:
        for p in node.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.wait(timeout=30)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    p.kill()
                    p.wait()


def runs(db):
    rows = psql(db, "SELECT id, node, status, fence, coalesce(reason, ''), ended_us, "
                    "output_size FROM runs ORDER BY id")
    return [dict(id=int(r[0]), node=r[1], status=r[2], fence=int(r[3]), reason=r[4],
                 ended_us=int(r[5]), output_size=int(r[6])) for r in rows]


def started(shared, run_id):
    return (shared / f"pid.{run_id}").exists() and (shared / f"token.{run_id}").exists()


def first_run_id(db, node):
    rows = psql(db, f"SELECT id FROM runs WHERE node = '{node}' ORDER BY id")
    return int(rows[0][0]) if rows else 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_class_lock_is_cluster_wide(cluster, pg_database):
    nodes, shared, _ = cluster(f"""
        [job Hold]
        command = JOB DIR
        options = wait
        lock_name = Shared
        kill_grace = {GRACE}s

        [job Other]
        command = JOB DIR
        options = wait
        lock_name = Shared
        """.replace("\n        ", "\n"))
    a, b = nodes["a"], nodes["b"]
    pa = a.spawn("run", "Hold")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    # Another node, another job under the same lock_name: held, by a.
    for spec in ("Hold:wait=0", "Other:wait=0"):
        p = b.run("run", spec)
        assert p.returncode == 75, p.stderr
        assert f"run {rid}," in p.stderr and "on node a" in p.stderr, p.stderr
    held = psql(pg_database, "SELECT lock_key, node, run_id, fence FROM cluster_locks")
    assert held == [["class-Shared", "a", str(rid), (shared / f"token.{rid}").read_text().strip()]]
    (shared / "go").touch()
    out, err = pa.communicate(timeout=30)
    assert pa.returncode == 0, err
    # Free again: b runs, with a larger token, and the row is gone after.
    p = b.run("run", "Other:wait=0")
    assert p.returncode == 0, p.stderr
    rows = runs(pg_database)
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"]
    token_a = int((shared / f"token.{rows[0]['id']}").read_text())
    token_b = int((shared / f"token.{rows[1]['id']}").read_text())
    assert 0 < token_a < token_b
    assert [r["fence"] for r in rows] == [token_a, token_b]
    assert psql(pg_database, "SELECT count(*) FROM cluster_locks") == [["0"]]


def test_params_lock_is_cluster_wide(cluster, pg_database):
    nodes, shared, _ = cluster(f"""
        [job P]
        command = JOB DIR
        options = key, wait
        lock = params
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"))
    a, b = nodes["a"], nodes["b"]
    pa = a.spawn("run", "P:key=1")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    p = b.run("run", "P:key=1")
    assert p.returncode == 75, p.stderr
    assert "on node a" in p.stderr, p.stderr
    # Other params: another lock, so it runs meanwhile on b.
    p = b.run("run", "P:key=2,wait=0")
    assert p.returncode == 0, p.stderr
    assert pa.poll() is None
    (shared / "go").touch()
    pa.communicate(timeout=30)
    assert pa.returncode == 0
    assert sorted(r["status"] for r in runs(pg_database)) == ["succeeded", "succeeded"]


def test_runs_without_lock_get_a_token(cluster, pg_database):
    nodes, shared, _ = cluster("""
        [job Free]
        command = JOB DIR
        options = wait
        lock = none
        """.replace("\n        ", "\n"))
    (shared / "go").touch()
    for n in ("a", "b"):
        p = nodes[n].run("run", "Free")
        assert p.returncode == 0, p.stderr
    rows = runs(pg_database)
    tokens = [int((shared / f"token.{r['id']}").read_text()) for r in rows]
    assert tokens[0] > 0 and tokens[1] > tokens[0]
    assert [r["fence"] for r in rows] == tokens
    assert psql(pg_database, "SELECT count(*) FROM cluster_locks") == [["0"]]


def test_daemon_takes_token_and_lease_with_the_claim(cluster, pg_database):
    """The daemon takes a scheduled run's fencing token and its lock's
    lease in its claim's batch (docs/cluster.md, "Starting a run"), so the
    worker starts the job before it connects to the database: jobs start,
    with their token, while the server takes no new connection, and are
    recorded once it does again."""
    at = time.gmtime(time.time() + 6)
    nodes, shared, proxies = cluster(f"""
        [job Once]
        command = JOB DIR
        schedule = {at.tm_sec} {at.tm_min} {at.tm_hour} * * *
        options = wait

        [job Free]
        command = JOB DIR
        schedule = every 1s
        options = wait
        lock = none
        """.replace("\n        ", "\n"), names=("a",), proxied=("a",))
    a = nodes["a"]
    d = a.daemon()
    proxies["a"].refuse_new = True

    # One query per look, not one per token file: the lease of Once's lock
    # is a second (dead_timeout 3 s), and its worker, which cannot connect
    # to renew it, stops the job once it ends; a poll of a psql per file
    # under load took longer than that to let connections in again.
    def started_jobs():
        files = {int(f.name.split(".")[1]): f for f in shared.glob("token.*")}
        if not files:
            return {}
        got = {}
        for rid, job_ in psql(pg_database, "SELECT id, job FROM runs WHERE id IN (%s)"
                              % ", ".join(str(i) for i in files)):
            got.setdefault(job_, []).append((int(rid), int(files[int(rid)].read_text())))
        return got

    got = wait_for(lambda: (lambda g: len(g.get("Once", [])) == 1 and
                            len(g.get("Free", [])) >= 3 and g)(started_jobs()),
                   timeout=20, what="jobs started while no connection can be made")
    tokens = {rid: tok for runs_ in got.values() for rid, tok in runs_}
    assert all(t > 0 for t in tokens.values()), tokens
    ((once_id, once_token),) = got["Once"]
    assert psql(pg_database, "SELECT run_id, fence FROM cluster_locks") == \
        [[str(once_id), str(once_token)]]
    proxies["a"].refuse_new = False
    (shared / "go").touch()
    wait_for(lambda: all(r["status"] == "succeeded" for r in runs(pg_database)
                         if r["id"] in tokens), timeout=30, what="the runs to be recorded")
    rows = {r["id"]: r for r in runs(pg_database)}
    assert {i: rows[i]["fence"] for i in tokens} == tokens
    a.stop(d)
    assert psql(pg_database, "SELECT count(*) FROM cluster_locks") == [["0"]]


def test_running_job_holds_no_connection_while_its_worker_is_idle(cluster, pg_database):
    """A job running on a cluster node holds a server connection only while
    its worker writes: idle for 5 s, the worker closes it, and opens one
    again for the outcome (docs/cluster.md, "Connections")."""
    at = time.gmtime(time.time() + 4)
    nodes, shared, _ = cluster(f"""
        [job Long]
        command = JOB DIR
        schedule = {at.tm_sec} {at.tm_min} {at.tm_hour} * * *
        options = wait
        lock = none
        """.replace("\n        ", "\n"), names=("a",))
    a = nodes["a"]
    d = a.daemon()
    count = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND application_name = 'cronwarden'")
    base = int(psql(pg_database, count)[0][0])
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="the run")
    wait_for(lambda: runs(pg_database)[0]["status"] == "running", what="the run marked running")
    wait_for(lambda: int(psql(pg_database, count)[0][0]) == base + 1, timeout=4,
             what="the worker's connection")
    wait_for(lambda: int(psql(pg_database, count)[0][0]) == base, timeout=10,
             what="the idle worker to close its connection")
    (shared / "go").touch()
    wait_for(lambda: runs(pg_database)[0]["status"] == "succeeded", what="the outcome")
    token = int((shared / f"token.{rid}").read_text())
    assert runs(pg_database)[0]["fence"] == token > 0
    a.stop(d)


def test_frozen_node_writes_nothing_over_the_cluster(cluster, pg_database):
    """A node frozen (SIGSTOP) past its lease, its lock taken over meanwhile:
    once thawed, its job is stopped at once and nothing of its run is
    written over what the cluster recorded."""
    nodes, shared, _ = cluster(f"""
        [job Hold]
        command = JOB DIR
        options = wait
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"))
    a, b = nodes["a"], nodes["b"]
    pa = a.spawn("run", "Hold")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    job_pid = int((shared / f"pid.{rid}").read_text())
    # Freeze node a: its worker and its job's group.
    os.kill(pa.pid, signal.SIGSTOP)
    os.killpg(job_pid, signal.SIGSTOP)
    time.sleep(LEASE + 0.5)
    p = b.run("run", "Hold:wait=0")
    assert p.returncode == 0, p.stderr
    before = runs(pg_database)
    lost = before[0]
    assert lost["id"] == rid and lost["status"] == "lost", before
    assert "taken over by node b" in lost["reason"], lost
    assert before[1]["status"] == "succeeded" and before[1]["fence"] > lost["fence"]
    # Thaw it: the job is stopped at once, its worker writes nothing.
    os.killpg(job_pid, signal.SIGCONT)
    os.kill(pa.pid, signal.SIGCONT)
    out, err = pa.communicate(timeout=30)
    assert pa.returncode != 0
    assert "is stale" in err, err
    wait_for(lambda: not pid_alive(job_pid), timeout=10, what="a's job to end")
    time.sleep(0.3)
    assert not (shared / f"done.{rid}").exists()
    assert runs(pg_database) == before


def test_cut_off_worker_stops_its_job_before_the_lease_ends(cluster, pg_database):
    """Node a loses the database mid-run: its job is gone before the lease
    ends (when node b may take the lock), b gets it, and a's late outcome
    is refused once a reaches the database again."""
    nodes, shared, proxies = cluster(f"""
        [job Hold]
        command = JOB DIR
        options = wait
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"), proxied=("a",))
    a, b = nodes["a"], nodes["b"]
    pa = a.spawn("run", "Hold")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    job_pid = int((shared / f"pid.{rid}").read_text())
    cut = time.monotonic()
    proxies["a"].stop()
    wait_for(lambda: not pid_alive(job_pid), timeout=LEASE + 5, what="a's job to end")
    stopped = time.monotonic()
    assert stopped - cut < LEASE, f"job ended {stopped - cut:.2f}s after the cut"
    # b takes the lock once the lease has ended.
    wait_for(lambda: b.run("run", "Hold:wait=0").returncode == 0, timeout=LEASE + 10,
             step=0.2, what="b to take the lock")
    proxies["a"].start()
    out, err = pa.communicate(timeout=60)
    assert pa.returncode != 0 and "is stale" in err, err
    rows = runs(pg_database)
    assert rows[0]["status"] == "lost" and "taken over by node b" in rows[0]["reason"], rows
    assert rows[1]["status"] == "succeeded"
    assert not (shared / f"done.{rid}").exists()


def test_unrenewable_lease_records_why(cluster, pg_database):
    """Cut off without anyone taking over: the job is stopped all the same,
    and once back the run is recorded lost, saying why."""
    nodes, shared, proxies = cluster(f"""
        [job Hold]
        command = JOB DIR
        options = wait
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"), names=("a",), proxied=("a",))
    a = nodes["a"]
    pa = a.spawn("run", "Hold")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    job_pid = int((shared / f"pid.{rid}").read_text())
    proxies["a"].stop()
    wait_for(lambda: not pid_alive(job_pid), timeout=LEASE + 5, what="a's job to end")
    proxies["a"].start()
    out, err = pa.communicate(timeout=60)
    rows = runs(pg_database)
    assert rows[0]["status"] == "lost", (rows, err)
    assert "could not be renewed" in rows[0]["reason"], rows
    assert psql(pg_database, "SELECT count(*) FROM cluster_locks") == [["0"]]


def test_lock_row_taken_away_stops_the_job(cluster, pg_database):
    """A lease that cannot be renewed because the row has another token (or
    none): the job stops within a renewal period."""
    nodes, shared, _ = cluster(f"""
        [job Hold]
        command = JOB DIR
        options = wait
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"), names=("a",))
    pa = nodes["a"].spawn("run", "Hold")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    psql(pg_database, "DELETE FROM cluster_locks")
    out, err = pa.communicate(timeout=30)
    rows = runs(pg_database)
    assert rows[0]["status"] == "lost", (rows, err)
    assert "no longer its own" in rows[0]["reason"], rows
    assert not (shared / f"done.{rid}").exists()


def job_log(shared):
    """{run id: [start, end]} from the jobs' own log (end None: still running)."""
    spans = {}
    path = shared / "log"
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, t, rid = line.split()
        span = spans.setdefault(int(rid), [None, None])
        span[0 if kind == "start" else 1] = float(t)
    return spans


def test_forbid_skips_fires_while_another_node_holds_the_lock(cluster, pg_database):
    """Two daemons, one per-second job of ~1.5 s with concurrency = forbid:
    its runs never overlap, whichever node starts them, and the fires met
    while the lock is held are skipped, naming the holder."""
    nodes, shared, _ = cluster(f"""
        [job Tick]
        command = JOB DIR
        env = WAIT=30
        schedule = * * * * * *
        concurrency = forbid
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"))
    ds = [(n, n.daemon()) for n in nodes.values()]
    time.sleep(7)
    for n, d in ds:
        n.stop(d)
    wait_for(lambda: all(e for _, e in job_log(shared).values()), timeout=10,
             what="the last run to end")
    spans = sorted(v for v in job_log(shared).values())
    assert len(spans) >= 3, spans
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 >= e1, f"runs overlap: {spans}"
    rows = psql(pg_database, "SELECT node, status, coalesce(reason, '') FROM runs")
    assert {r[1] for r in rows} <= {"succeeded", "skipped"}, rows
    skipped = [r for r in rows if r[1] == "skipped"]
    assert skipped, rows
    assert all("still running" in r[2] or "lock is held" in r[2] for r in skipped), skipped
    # Fires of both nodes were met by a lock the other held.
    assert len({r[0] for r in rows if r[1] == "succeeded"} | {r[0] for r in skipped}) == 2, rows


def test_replace_stops_a_run_on_another_node(cluster, pg_database):
    """A run on node a holds the lock; node b's daemon fires the job with
    concurrency = replace: a's job is stopped (through the lock's row) and
    recorded killed, and b's run starts only after it ended."""
    nodes, shared, _ = cluster(f"""
        [job Rep]
        command = JOB DIR
        options = wait
        schedule = * * * * * *
        concurrency = replace
        kill_grace = {GRACE}s
        """.replace("\n        ", "\n"))
    a, b = nodes["a"], nodes["b"]
    # Node a has no daemon: only its manual run.
    pa = a.spawn("run", "Rep")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    d = b.daemon()
    out, err = pa.communicate(timeout=LEASE + GRACE + 15)
    wait_for(lambda: len(job_log(shared)) >= 2, timeout=10, what="b's run")
    b.stop(d)
    row = [r for r in runs(pg_database) if r["id"] == rid][0]
    assert row["status"] == "killed", (row["reason"], err)
    assert "replaced by a new run started on another node" in row["reason"], row
    spans = job_log(shared)
    a_end = spans[rid][1]
    assert a_end is not None
    later = [s for r, (s, e) in spans.items() if r != rid]
    assert later and min(later) >= a_end, spans
    assert not (shared / f"done.{rid}").exists()


def test_status_shows_the_cluster_locks(cluster, pg_database):
    """`status` lists the lock rows after the runs (holder, run, token,
    lease left); `status --json` gives each run its token and lock."""
    nodes, shared, _ = cluster("""
        [job Shown]
        command = JOB DIR
        options = wait
        """.replace("\n        ", "\n"))
    a = nodes["a"]
    pa = a.spawn("run", "Shown")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    token = (shared / f"token.{rid}").read_text().strip()
    p = a.run("status")
    assert p.returncode == 0, p.stderr
    table = p.stdout.split("cluster locks:\n", 1)
    assert len(table) == 2, p.stdout
    head, row = table[1].splitlines()[:2]
    assert head.split()[:5] == ["LOCK", "NODE", "RUN", "PID", "TOKEN"], head
    cols = row.split()
    assert cols[0] == "class-Shown" and cols[1] == "a" and cols[2] == str(rid), row
    assert cols[4] == token, row
    assert cols[5].endswith("s") and 0 < float(cols[5][:-1]) <= LEASE, row
    p = a.run("status", "--json")
    assert p.returncode == 0, p.stderr
    (run,) = json.loads(p.stdout)
    assert run["fence"] == int(token)
    assert run["cluster_lock"]["key"] == "class-Shown"
    assert run["cluster_lock"]["node"] == "a"
    assert run["cluster_lock"]["token"] == int(token)
    (shared / "go").touch()
    pa.communicate(timeout=30)
    assert pa.returncode == 0
    p = a.run("status")
    assert "cluster locks" not in p.stdout, p.stdout


def test_dead_worker_row_is_freed_by_its_own_node(cluster, pg_database):
    """A worker killed with SIGKILL leaves its lock row until the lease
    ends; its own node (whose lock file is free again) takes the lock at
    once, as without a cluster, while other nodes wait for the lease."""
    nodes, shared, _ = cluster("""
        [job Solo]
        command = JOB DIR
        options = wait
        """.replace("\n        ", "\n"))
    a, b = nodes["a"], nodes["b"]
    for n in (a, b):  # a lease no test waits out
        n.config.write_text(n.config.read_text().replace(f"dead_timeout = {LEASE}s",
                                                         "dead_timeout = 60s"))
    pa = a.spawn("run", "Solo")
    rid = wait_for(lambda: first_run_id(pg_database, "a"), what="a's run")
    wait_for(lambda: started(shared, rid), what="a's job")
    ((worker,),) = psql(pg_database, "SELECT worker_pid FROM cluster_locks")
    os.kill(int(worker), signal.SIGKILL)
    pa.wait(timeout=10)
    p = b.run("run", "Solo:wait=0")
    assert p.returncode == 75 and "on node a" in p.stderr, p.stderr
    p = a.run("run", "Solo:wait=0")
    assert p.returncode == 0, p.stderr
    rows = runs(pg_database)
    assert [r["status"] for r in rows] == ["lost", "succeeded"], rows
    assert rows[1]["fence"] > rows[0]["fence"]
    assert psql(pg_database, "SELECT count(*) FROM cluster_locks") == [["0"]]
