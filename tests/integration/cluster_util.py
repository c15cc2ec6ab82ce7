"""Several cronwarden daemons (nodes) on one PostgreSQL database, for the
cluster tests (docs/cluster.md).

    c = Cluster(build_dir, tmp_path, pg_database, jobs_text, n=3)
    c.start_all()           # each node: its own data_dir, config, log
    ... c.runs() ...        # every run row (psql), as dicts
    c.kill9(1)              # kill -9 of node 1's whole process group
    c.stop_all()            # SIGTERM; always call (a finally: or the fixture)

Each node runs in a session of its own (its spawner and workers are in
its process group), so kill9 and freeze (SIGSTOP) take the whole "host"
down as a power cut or a hung VM would. Nodes are named n0, n1, ...
"""

import os
import signal
import subprocess
import time
from pathlib import Path

PSQL = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]


def wait_for(pred, timeout, what, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def psql(url, sql):
    """Rows of sql as lists of strings ('|'-separated columns)."""
    p = subprocess.run(PSQL + ["-d", url, "-c", sql], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return [line.split("|") for line in p.stdout.splitlines() if line]


class Node:
    def __init__(self, cluster, i):
        self.cluster = cluster
        self.name = f"n{i}"
        self.dir = cluster.tmp / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "cronwarden.ini"
        self.log = self.dir / "daemon.log"
        self.proc = None
        self.env = {}

    def write_config(self, jobs, extra=""):
        self.config.write_text(
            "[cronwarden]\n"
            f"data_dir = {self.dir / 'data'}\n"
            f"store = {self.cluster.url}\n"
            f"node = {self.name}\n"
            f"{self.cluster.globals}\n{extra}\n\n"
            f"{jobs}\n")

    def start(self, env=None):
        full = dict(os.environ)
        full.pop("CRONWARDEN_CONFIG", None)
        full.pop("JOURNAL_STREAM", None)
        full.update(self.env)
        full.update(env or {})
        with open(self.log, "ab") as fe:
            self.proc = subprocess.Popen(
                [str(self.cluster.binary), "--config", str(self.config), "daemon"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fe, env=full,
                cwd=str(self.dir), start_new_session=True)
        wait_for(lambda: "event=cluster_join" in self.log_text() or self.proc.poll() is not None,
                 20, f"{self.name} to join")
        assert self.proc.poll() is None, self.log_text()
        return self

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig):
        os.killpg(self.proc.pid, sig)

    def kill9(self):
        self.signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)


class Cluster:
    def __init__(self, build_dir, tmp, url, jobs, n=3, globals="dead_timeout = 3s"):
        self.binary = Path(build_dir) / "cronwarden"
        self.tmp = Path(tmp)
        self.url = url
        self.globals = globals
        self.nodes = [Node(self, i) for i in range(n)]
        for node in self.nodes:
            node.write_config(jobs)

    def start_all(self):
        for node in self.nodes:
            node.start()
        return self

    def stop_all(self):
        for node in self.nodes:
            node.stop()
        # Whatever is left of the nodes' groups (workers of a frozen node).
        for node in self.nodes:
            if node.proc is not None:
                try:
                    os.killpg(node.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def sql(self, q):
        return psql(self.url, q)

    def runs(self, where="TRUE"):
        cols = ["id", "job", "node", "status", "trigger", "scheduled_at", "reason", "resumed_from"]
        rows = self.sql(f"SELECT {', '.join(cols)} FROM runs WHERE {where} ORDER BY id")
        out = []
        for r in rows:
            d = dict(zip(cols, r))
            d["id"] = int(d["id"])
            d["scheduled_at"] = int(d["scheduled_at"])
            d["resumed_from"] = int(d["resumed_from"])
            out.append(d)
        return out

    def nodes_table(self):
        rows = self.sql("SELECT name, state, claiming, coalesce(reason, '') FROM nodes "
                        "ORDER BY name")
        return {r[0]: {"state": r[1], "claiming": r[2] == "1", "reason": r[3]} for r in rows}
