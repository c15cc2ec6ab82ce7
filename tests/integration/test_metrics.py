"""GET /metrics (issue 5; cardinality, gzip: issue 16): Prometheus text
format 0.0.4, parsed strictly here and by Prometheus' own parser
(prometheus_client), against a real daemon: runs counted by job and
status, the per-job alerting gauges (last status, success, failure,
duration, failure streak, running), the all-jobs duration and lateness
histograms (per-job histograms only when asked for), the scheduler flag;
counts surviving prune and a daemon restart; label values escaped; a gzip
body for clients that accept it; the series count within the bound
docs/api.md states as jobs grow."""

import gzip
import math
import re
import sqlite3
import time

import pytest

from prometheus_client.parser import text_string_to_metric_families

from test_api import ApiDaemon
from worker_helpers import wait_for

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)(?: (-?\d+))?$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


def parse(text):
    """{family: {"type": T, "help": H, "samples": [(name, {labels}, value)]}}, checking
    the format: HELP/TYPE before samples, one TYPE per family, well-formed
    labels (escaped values, no duplicates), float values, a final newline."""
    assert text.endswith("\n"), "exposition must end with a newline"
    fams, cur = {}, None
    for line in text.splitlines():
        assert line.strip() == line and line, f"stray blank or padded line: {line!r}"
        if line.startswith("# HELP "):
            name, help_ = line[7:].split(" ", 1)
            fams.setdefault(name, {"samples": []})["help"] = help_
            continue
        if line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            f = fams.setdefault(name, {"samples": []})
            assert "type" not in f, f"second TYPE for {name}"
            assert not f["samples"], f"TYPE after samples for {name}"
            f["type"] = typ
            cur = name
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        name, labels_text, value = m.group(1), m.group(2), m.group(3)
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL.match(labels_text, pos)
                assert lm, f"bad labels in {line!r} at {labels_text[pos:]!r}"
                assert lm.group(1) not in labels, f"duplicate label in {line!r}"
                labels[lm.group(1)] = unescape(lm.group(2))
                pos = lm.end()
        v = float(value)  # accepts +Inf, NaN
        family = name
        for suffix in ("_bucket", "_sum", "_count", "_total"):
            if name.endswith(suffix) and name[: -len(suffix)] in fams and suffix != "_total":
                family = name[: -len(suffix)]
        assert family == cur, f"sample {name} outside its family's block (current {cur})"
        assert "type" in fams[family], f"sample {name} before its TYPE"
        fams[family]["samples"].append((name, labels, v))
    return fams


def samples(fams, family, name=None, **labels):
    return [(n, l, v) for n, l, v in fams[family]["samples"]
            if (name is None or n == name) and all(l.get(k) == w for k, w in labels.items())]


def value(fams, family, name=None, **labels):
    s = samples(fams, family, name, **labels)
    assert len(s) == 1, (family, name, labels, s)
    return s[0][2]


def check_histogram(fams, family, **labels):
    """Buckets cumulative with ascending le ending in +Inf, +Inf == _count."""
    b = samples(fams, family, family + "_bucket", **labels)
    assert b, (family, labels)
    les = [float(l["le"]) for _, l, _ in b]
    assert les == sorted(les) and math.isinf(les[-1]), les
    counts = [v for _, _, v in b]
    assert counts == sorted(counts), counts
    assert counts[-1] == value(fams, family, family + "_count", **labels)
    assert value(fams, family, family + "_sum", **labels) >= 0
    return counts[-1]


@pytest.fixture
def mon(build_dir, tmp_path):
    d = ApiDaemon(build_dir, tmp_path,
                  "[job Ok]\ncommand = /bin/true\nlock = none\n\n"
                  "[job Bad]\ncommand = /bin/false\nlock = none\n\n"
                  "[job Slow]\ncommand = /bin/sleep 60\nkill_grace = 2s\n\n"
                  "[job Tick]\ncommand = /bin/true\nschedule = * * * * * *\nlock = none\nconcurrency = allow\n")
    d.start()
    yield d
    d.stop()


# The bound docs/api.md (Metrics) documents: at most FIXED + PER_JOB * jobs
# series by default, PER_JOB_HIST more per job with per-job histograms.
FIXED, PER_JOB, PER_JOB_HIST = 33, 13, 17


def real_parse(text):
    """The exposition through Prometheus' own parser: {family: [samples]}."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def scrape_text(d, query=""):
    r = d.get("/metrics" + query)
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    assert "Content-Encoding" not in r.headers, r.headers
    text = r.body.decode("utf-8")
    real_parse(text)
    return text


def scrape(d, query=""):
    return parse(scrape_text(d, query))


def n_series(fams):
    return sum(len(f["samples"]) for f in fams.values())


def test_metrics_exposition(mon):
    for spec in ("Ok", "Ok", "Bad", "Slow"):
        assert mon.post("/api/v1/requests", {"spec": spec}).status == 202
    mon.wait_run(lambda x: x["job"] == "Slow" and x["status"] == "running", "Slow running")

    def done():
        f = scrape(mon)
        ok = samples(f, "cronwarden_runs_total", job="Ok", status="succeeded")
        bad = samples(f, "cronwarden_runs_total", job="Bad", status="failed")
        late = value(f, "cronwarden_lateness_seconds", "cronwarden_lateness_seconds_count")
        return f if ok and ok[0][2] == 2 and bad and bad[0][2] == 1 and late >= 1 else None

    f = wait_for(done, timeout=20, interval=0.1, what="the requested runs and a Tick fire in /metrics")
    assert f["cronwarden_runs_total"]["type"] == "counter"
    assert f["cronwarden_run_duration_seconds"]["type"] == "histogram"
    assert f["cronwarden_lateness_seconds"]["type"] == "histogram"
    assert f["cronwarden_running"]["type"] == "gauge"
    # One duration histogram for all jobs; none per job unless asked for.
    assert check_histogram(f, "cronwarden_run_duration_seconds") >= 3
    assert all("job" not in l for _, l, _ in f["cronwarden_run_duration_seconds"]["samples"])
    assert "cronwarden_job_run_duration_seconds" not in f
    check_histogram(f, "cronwarden_lateness_seconds")
    assert not samples(f, "cronwarden_lateness_seconds", job="Tick"), "lateness has no job label"
    assert value(f, "cronwarden_running", job="Slow") == 1
    assert value(f, "cronwarden_running", job="Ok") == 0
    assert abs(value(f, "cronwarden_last_success_timestamp_seconds", job="Ok") - time.time()) < 120
    assert not samples(f, "cronwarden_last_success_timestamp_seconds", job="Bad")
    assert abs(value(f, "cronwarden_last_failure_timestamp_seconds", job="Bad") - time.time()) < 120
    assert not samples(f, "cronwarden_last_failure_timestamp_seconds", job="Ok")
    assert value(f, "cronwarden_last_run_status", job="Ok", status="succeeded") == 1
    assert value(f, "cronwarden_last_run_status", job="Bad", status="failed") == 1
    assert len(samples(f, "cronwarden_last_run_status", job="Ok")) == 1
    assert value(f, "cronwarden_consecutive_failures", job="Bad") == 1
    assert value(f, "cronwarden_consecutive_failures", job="Ok") == 0
    assert 0 <= value(f, "cronwarden_last_run_duration_seconds", job="Ok") < 10
    assert not samples(f, "cronwarden_last_run_duration_seconds", job="Slow"), "Slow has not ended"
    assert value(f, "cronwarden_scheduler_enabled") == 1
    # A second failure extends the streak.
    assert mon.post("/api/v1/requests", {"spec": "Bad"}).status == 202
    wait_for(lambda: value(scrape(mon), "cronwarden_consecutive_failures", job="Bad") == 2,
             timeout=20, interval=0.1, what="Bad's second failure")
    # Per-job histograms when asked for.
    f = scrape(mon, "?job_histograms=1")
    assert check_histogram(f, "cronwarden_job_run_duration_seconds", job="Ok") == 2
    assert check_histogram(f, "cronwarden_job_run_duration_seconds", job="Bad") == 2
    assert mon.get("/metrics?job_histograms=maybe").status == 400
    # The scheduler flag, and a kill counted as killed.
    assert mon.post("/api/v1/scheduler", {"enabled": False}).status == 200
    slow = mon.get("/api/v1/runs?job=Slow&status=running").json()["runs"][0]
    assert mon.post(f"/api/v1/runs/{slow['id']}/kill").status == 200
    # Scrapes share one answer for up to a second (docs/api.md): wait for it.
    f = wait_for(lambda: (lambda f: f if value(f, "cronwarden_scheduler_enabled") == 0 and samples(
        f, "cronwarden_runs_total", job="Slow", status="killed") else None)(scrape(mon)),
                 timeout=10, interval=0.2, what="the disabled scheduler and the kill in /metrics")
    assert value(f, "cronwarden_runs_total", job="Slow", status="killed") == 1
    assert value(f, "cronwarden_running", job="Slow") == 0
    assert value(f, "cronwarden_last_run_status", job="Slow", status="killed") == 1
    assert value(f, "cronwarden_consecutive_failures", job="Slow") == 0
    assert mon.post("/api/v1/scheduler", {"enabled": True}).status == 200


def test_metrics_gzip(mon):
    """Prometheus sends Accept-Encoding: gzip; the body is the same text."""
    r = mon.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200, r
    assert r.headers.get("Content-Encoding") == "gzip", r.headers
    assert "Accept-Encoding" in r.headers.get("Vary", ""), r.headers
    text = gzip.decompress(r.body).decode("utf-8")
    fams = parse(text)
    real_parse(text)
    assert value(fams, "cronwarden_scheduler_enabled") == 1
    assert value(fams, "cronwarden_running", job="Ok") == 0
    for enc in ("gzip;q=0", "identity", "deflate, br"):
        r = mon.get("/metrics", headers={"Accept-Encoding": enc})
        assert r.status == 200 and "Content-Encoding" not in r.headers, (enc, r.headers)
        parse(r.body.decode("utf-8"))
    r = mon.get("/metrics", headers={"Accept-Encoding": "br;q=1.0, GZIP;q=0.5"})
    assert r.headers.get("Content-Encoding") == "gzip", r.headers


def test_job_histograms_from_config(build_dir, tmp_path):
    d = ApiDaemon(build_dir, tmp_path, "[job Ok]\ncommand = /bin/true\nlock = none\n",
                  admin_extra="metrics_job_histograms = yes")
    d.start()
    try:
        assert d.post("/api/v1/requests", {"spec": "Ok"}).status == 202
        f = wait_for(lambda: (lambda f: f if f["cronwarden_job_run_duration_seconds"]["samples"] else None)(scrape(d)),
                     timeout=20, interval=0.1, what="Ok's duration histogram")
        assert check_histogram(f, "cronwarden_job_run_duration_seconds", job="Ok") == 1
        assert "cronwarden_job_run_duration_seconds" not in scrape(d, "?job_histograms=0")
    finally:
        d.stop()


def fill_aggregates(db, jobs):
    """Aggregates for each job as if it had runs of every final status: the
    most series a job can have."""
    finals = ("succeeded", "failed", "timed_out", "killed", "lost", "skipped", "missed")
    with sqlite3.connect(db, timeout=30) as c:
        for j in jobs:
            c.execute("INSERT INTO job_stats (job, last_run_id, last_success_us, last_status, last_failure_us,"
                      " last_duration_us, consecutive_failures) VALUES (?, 1, 1500000, 'failed', 2500000, 300000, 2)",
                      (j,))
            c.executemany("INSERT INTO run_counts (job, status, n) VALUES (?, ?, 3)", [(j, s) for s in finals])
            c.executemany("INSERT INTO histograms (metric, job, bucket, n) VALUES ('duration', ?, ?, 1)",
                          [(j, b) for b in range(15)])
            c.execute("INSERT INTO histogram_sums (metric, job, n, sum) VALUES ('duration', ?, 15, 1.5)", (j,))


@pytest.mark.parametrize("n_jobs", [10, 200])
def test_series_bound(build_dir, tmp_path, n_jobs):
    """Series <= FIXED + PER_JOB * jobs (docs/api.md), whatever the job count."""
    names = [f"Job{i:04d}" for i in range(n_jobs)]
    d = ApiDaemon(build_dir, tmp_path, "".join(f"[job {n}]\ncommand = /bin/true\n\n" for n in names))
    d.start()
    try:
        fill_aggregates(d.db, names)
        f = scrape(d)
        n = n_series(f)
        assert n <= FIXED + PER_JOB * n_jobs, (n, n_jobs)
        # Every job shows its alerting series: the bound is reached, not loose.
        assert n == FIXED + PER_JOB * n_jobs, (n, n_jobs)
        fh = scrape(d, "?job_histograms=1")
        assert n_series(fh) == FIXED + (PER_JOB + PER_JOB_HIST) * n_jobs, (n_series(fh), n_jobs)
    finally:
        d.stop()


def test_metrics_need_auth(mon):
    assert mon.get("/metrics", token=False).status == 401


def test_counts_survive_prune_and_restart(mon):
    for _ in range(3):
        assert mon.post("/api/v1/requests", {"spec": "Ok"}).status == 202
    wait_for(lambda: (samples(scrape(mon), "cronwarden_runs_total", job="Ok", status="succeeded") or [(0, 0, 0)])[0][2] == 3,
             timeout=20, interval=0.1, what="three Ok runs counted")
    assert mon.post("/api/v1/scheduler", {"enabled": False}).status == 200  # Tick stops adding runs
    mon.cli("prune", "--older-than", "0s")
    assert mon.get("/api/v1/runs?job=Ok").json()["runs"] == []
    before = scrape(mon)
    assert value(before, "cronwarden_runs_total", job="Ok", status="succeeded") == 3
    mon.stop()
    mon.start()
    after = scrape(mon)
    per_job = ("cronwarden_runs_total", "cronwarden_last_success_timestamp_seconds",
               "cronwarden_last_run_status", "cronwarden_consecutive_failures",
               "cronwarden_last_run_duration_seconds")
    for fam in per_job:
        assert [s for s in after[fam]["samples"] if s[1].get("job") != "Tick"] == \
               [s for s in before[fam]["samples"] if s[1].get("job") != "Tick"], fam
    hist = scrape(mon, "?job_histograms=1")["cronwarden_job_run_duration_seconds"]["samples"]
    assert [s for s in hist if s[1].get("job") == "Ok" and s[0].endswith("_count")][0][2] == 3


def test_label_values_escaped(mon):
    # Job names from the config cannot hold quotes, but aggregates of runs
    # recorded under any name are exposed as stored: put one there.
    weird = 'we"ird\\na\nme'
    with sqlite3.connect(mon.db, timeout=30) as db:
        db.execute("INSERT INTO run_counts (job, status, n) VALUES (?, 'failed', 4)", (weird,))
        db.execute("INSERT INTO job_stats (job, last_run_id, last_success_us) VALUES (?, 0, 1500000)", (weird,))
    f = scrape(mon)
    assert value(f, "cronwarden_runs_total", job=weird, status="failed") == 4
    assert value(f, "cronwarden_last_success_timestamp_seconds", job=weird) == 1.5
