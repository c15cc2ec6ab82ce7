"""bench/bench_cluster.py - the measurements of bench/bench_cluster.sh (see
its header): run by it with the binaries and a PostgreSQL server ready.

    bench_cluster.py CRONWARDEN STAMP PG_URL TMPDIR ROUNDS SIZES CLAIM_JOBS

Prints three tables: claims recorded per second (3 nodes against raw
INSERTs from one client), lateness p50/p99/max for N fires due at once
(3 nodes on PostgreSQL against one daemon on SQLite), and the lateness of
fires whose preferred node is frozen (the fallback delay)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PSQL = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]


def psql(url, sql, stdin=None):
    p = subprocess.run(PSQL + ["-d", url] + (["-c", sql] if sql else []), input=stdin,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit(f"bench_cluster: psql failed: {p.stderr.strip()}")
    return [line.split("|") for line in p.stdout.splitlines() if line]


def new_db(base, name):
    psql(base, f"DROP DATABASE IF EXISTS {name}")
    psql(base, f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(-(-q * len(xs) // 1)) - 1))
    return xs[k]


class Daemon:
    def __init__(self, cw, d, store, node, jobs, extra=""):
        self.d = Path(d)
        self.d.mkdir(parents=True, exist_ok=True)
        self.cfg = self.d / "cw.ini"
        self.cfg.write_text(f"[cronwarden]\ndata_dir = {self.d / 'data'}\nstore = {store}\n"
                            f"node = {node}\ntimezone = UTC\n{extra}\n\n{jobs}")
        self.log = self.d / "daemon.log"
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.pop("CRONWARDEN_CONFIG", None)
        with open(self.log, "wb") as fe:
            self.p = subprocess.Popen([cw, "--config", str(self.cfg), "daemon"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=fe, env=env, start_new_session=True)
        end = time.monotonic() + 60
        while b"event=start" not in self.log.read_bytes():
            if self.p.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"bench_cluster: daemon {node} did not start:\n"
                                 + self.log.read_text(errors="replace"))
            time.sleep(0.02)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def settle(dirs, base, timeout=60):
    """Waits until no process of a round is left (its daemons' spawners
    and workers: their command lines name the round's config) and the
    server has no connection but ours, so the next round has the machine
    to itself; then a second more."""
    marks = [str(d).encode() for d in dirs]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if any(m in cmd for m in marks):
                left = True
                break
        if not left and int(psql(base, "SELECT count(*) FROM pg_stat_activity WHERE "
                                       "backend_type = 'client backend'")[0][0]) <= 1:
            break
        time.sleep(0.2)
    time.sleep(1)


def jobs_at(n, at, stamp, out, extra=""):
    t = time.gmtime(at)
    spec = f"{t.tm_sec} {t.tm_min} {t.tm_hour} * * *"
    return "".join(f"[job L{i:05d}]\ncommand = {stamp} {out} L{i:05d}\nschedule = {spec}\n"
                   f"concurrency = allow\nlock = none\n{extra}\n" for i in range(n))


def wait_lines(path, n, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and sum(1 for _ in open(path)) >= n:
            return True
        time.sleep(0.05)
    return False


def stamps(path, at):
    if not path.exists():
        return []
    return [(float(line.split()[0]) - at) * 1000 for line in open(path) if line.strip()]


# ---- claims per second -----------------------------------------------------------

def claims(cw, stamp, base, tmp, n_jobs, rounds):
    """N jobs due at one instant on 3 nodes: fires claimed and recorded per
    second (first to last run row inserted), against the same claim and run
    INSERTs from one psql client, one transaction per fire."""
    rates, raw_rates, spread = [], [], []
    for r in range(rounds):
        url = new_db(base, f"bench_claims_{r}")
        at = int(time.time()) + 13  # as in lateness(): the nodes see each other first
        out = Path(tmp) / f"claims-{r}.stamps"
        jobs = jobs_at(n_jobs, at, "/bin/true", "", "")
        ds = [Daemon(cw, Path(tmp) / f"claims-{r}-n{k}", url, f"n{k}", jobs,
                     "dead_timeout = 30s") for k in range(3)]
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if int(psql(url, "SELECT count(*) FROM runs")[0][0]) >= n_jobs:
                    break
                time.sleep(0.2)
        finally:
            for d in ds:
                d.stop()
        rows = psql(url, "SELECT count(*), min(started_us), max(started_us), "
                         "count(DISTINCT node), count(DISTINCT (spec, scheduled_at)) FROM runs")
        cnt, lo, hi, nodes, distinct = (int(x) for x in rows[0])
        if cnt != distinct:
            raise SystemExit(f"bench_cluster: {cnt} runs for {distinct} fires: a fire ran twice")
        rates.append(cnt / max((hi - lo) / 1e6, 1e-3))
        spread.append(nodes)
        # Raw: the same rows from one client.
        sql = ["BEGIN; CREATE TEMP TABLE t0 AS SELECT 1; COMMIT;"]
        for i in range(n_jobs):
            sql.append(f"BEGIN; INSERT INTO claims VALUES ('R{i:05d}', {at}, 'raw', 0); "
                       f"INSERT INTO runs (job, spec, node, status, trigger, scheduled_at, "
                       f"started_us) VALUES ('R{i:05d}', 'R{i:05d}', 'raw', 'queued', 'schedule', "
                       f"{at}, 0); COMMIT;")
        t0 = time.monotonic()
        psql(url, None, stdin="\n".join(sql))
        raw_rates.append(n_jobs / (time.monotonic() - t0))
        _ = out
    return rates, raw_rates, spread


# ---- lateness --------------------------------------------------------------------

def lateness(cw, stamp, base, tmp, n, rounds):
    """p50/p99/max lateness (ms) of n fires due at once: 3 nodes on
    PostgreSQL, and one daemon on SQLite, rounds alternating."""
    res = {"cluster": [], "sqlite": []}
    for r in range(rounds):
        for kind in ("sqlite", "cluster"):
            # The nodes start first: the fires come after every node has
            # seen the others at a heartbeat (every 5 s), as in a cluster
            # that runs; before that a node that joined first believes
            # itself alone and claims every fire at once.
            at = int(time.time()) + 13
            out = Path(tmp) / f"late-{kind}-{n}-{r}.stamps"
            jobs = jobs_at(n, at, stamp, out)
            if kind == "cluster":
                url = new_db(base, f"bench_late_{n}_{r}")
                ds = [Daemon(cw, Path(tmp) / f"late-{n}-{r}-n{k}", url, f"n{k}", jobs)
                      for k in range(3)]
            else:
                ds = [Daemon(cw, Path(tmp) / f"late-sqlite-{n}-{r}", "sqlite", "solo", jobs)]
            try:
                ok = wait_lines(out, n, max(30, at - time.time() + 60))
            finally:
                for d in ds:
                    d.stop()
                settle([d.d for d in ds], base)
            if not ok:
                raise SystemExit(f"bench_cluster: {kind} N={n}: not every stamp arrived")
            res[kind] += stamps(out, at)
    return res


# ---- the fallback delay ------------------------------------------------------------

def fallback(cw, base, tmp, seconds):
    """A per-second job on 3 nodes; one node frozen (SIGSTOP) for `seconds`,
    less than dead_timeout: the fires it was preferred for are claimed by
    the others after the fallback delay. Lateness (ms, row insert minus
    instant) of the fires during the freeze, by who claimed them."""
    url = new_db(base, "bench_fallback")
    jobs = "[job Sec]\ncommand = /bin/true\nschedule = * * * * * *\nconcurrency = allow\n"
    ds = [Daemon(cw, Path(tmp) / f"fb-n{k}", url, f"n{k}", jobs, "dead_timeout = 60s")
          for k in range(3)]
    try:
        time.sleep(4)
        t0 = int(time.time()) + 1
        os.killpg(ds[2].p.pid, signal.SIGSTOP)
        time.sleep(seconds)
        t1 = int(time.time()) - 1
        os.killpg(ds[2].p.pid, signal.SIGCONT)
        time.sleep(4)
    finally:
        for d in ds:
            d.stop()
    rows = psql(url, f"SELECT scheduled_at, (started_us - scheduled_at * 1000000) / 1000.0 FROM runs "
                     f"WHERE scheduled_at BETWEEN {t0} AND {t1}")
    late = sorted(float(x[1]) for x in rows)
    n_late = sum(1 for x in late if x >= 1500)
    return len(rows), t1 - t0 + 1, late, n_late


def proc_usage(pid):
    """(CPU seconds, context switches) of process pid, all its threads."""
    hz = os.sysconf("SC_CLK_TCK")
    cpu, switches = 0.0, 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / hz
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    switches += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return cpu, switches


def idle(cw, base, tmp, n_jobs, seconds):
    """One node with n_jobs jobs none of which is due: CPU seconds and
    wake-ups (context switches of the daemon's threads) per hour, on
    PostgreSQL (a node: heartbeats) against SQLite, each measured over
    `seconds` after a settling pause."""
    jobs = "".join(f"[job J{i}]\ncommand = /bin/true\nschedule = 0 0 1 1 *\n\n"
                   for i in range(n_jobs))
    out = {}
    for kind in ("postgresql", "sqlite"):
        store = new_db(base, "bench_idle") if kind == "postgresql" else \
            "sqlite:" + str(Path(tmp) / "idle-sqlite" / "cw.db")
        d = Daemon(cw, Path(tmp) / f"idle-{kind}", store, "idle", jobs)
        try:
            # A node's start (publishing its jobs' hashes) is not idling.
            end = time.monotonic() + 120
            while kind == "postgresql" and b"event=cluster_join" not in d.log.read_bytes():
                if time.monotonic() > end:
                    raise SystemExit("bench_cluster: the idle node did not join")
                time.sleep(0.1)
            time.sleep(5)
            c0, w0 = proc_usage(d.p.pid)
            time.sleep(seconds)
            c1, w1 = proc_usage(d.p.pid)
        finally:
            d.stop()
        out[kind] = ((c1 - c0) * 3600 / seconds, (w1 - w0) * 3600 / seconds)
    return out


def main():
    cw, stamp, base, tmp, rounds, sizes, claim_jobs = sys.argv[1:8]
    idle_jobs, idle_s = (int(x) for x in sys.argv[8:10])
    phases = sys.argv[10].split() if len(sys.argv) > 10 else ["claims", "lateness", "fallback",
                                                               "idle"]
    rounds = int(rounds)
    if "claims" in phases:
        print("claims: N jobs due at one instant, 3 nodes, one PostgreSQL server "
              "(all on this machine)")
        rates, raw, spread = claims(cw, stamp, base, tmp, int(claim_jobs), rounds)
        print(f"  {'':24} {'fires/s':>10}")
        print(f"  {'cluster (3 nodes)':24} {sum(rates) / len(rates):10.0f}   "
              f"(nodes that claimed: {spread})")
        print(f"  {'raw INSERTs, 1 client':24} {sum(raw) / len(raw):10.0f}")
        print(f"  ratio cluster/raw: {sum(rates) / sum(raw):.2f}")
        print()
    if "lateness" in phases:
        print("lateness (ms) from the due instant to the job's first instruction")
        print(f"  {'N':>5} {'':8} {'p50':>8} {'p99':>8} {'max':>8}   p99 ratio")
        for n in (int(x) for x in sizes.split()):
            res = lateness(cw, stamp, base, tmp, n, rounds)
            c, s = res["cluster"], res["sqlite"]
            for kind, xs in (("cluster", c), ("sqlite", s)):
                print(f"  {n:5} {kind:8} {pct(xs, .5):8.1f} {pct(xs, .99):8.1f} "
                      f"{max(xs):8.1f}", end="")
                print(f"   {pct(c, .99) / pct(s, .99):.2f}x" if kind == "sqlite" else "")
        print()
    if "fallback" in phases:
        rows, fires, late, n_late = fallback(cw, base, tmp, 8)
        print(f"fallback: one of 3 nodes frozen for {fires} s (not yet dead): {rows} of {fires} "
              f"fires recorded once each; {n_late} claimed by the fallback, "
              f"lateness p50 {pct(late, .5):.0f} ms, max {max(late) if late else 0:.0f} ms")
        if rows != fires:
            raise SystemExit("bench_cluster: a fire was lost or doubled during the freeze")
        print()
    if "idle" in phases:
        res = idle(cw, base, tmp, idle_jobs, idle_s)
        print(f"idle: one node, {idle_jobs} jobs none due, measured over {idle_s} s, per hour")
        print(f"  {'':12} {'CPU s/h':>10} {'wake-ups/h':>12}")
        for kind in ("postgresql", "sqlite"):
            cpu, wake = res[kind]
            print(f"  {kind:12} {cpu:10.2f} {wake:12.0f}")

if __name__ == "__main__":
    main()
