"""GET /metrics of a daemon on the PostgreSQL store (docs/api.md, docs/store.md):
the default scrape reads the store's summary (migration 2 of the PostgreSQL
schema), so the per-job alerting gauges (last status, last failure, last
duration, failure streak) and the all-jobs duration histogram are there as on
SQLite. Every wait is bounded."""

import time

import pytest

from test_api import ApiDaemon
from test_metrics import check_histogram, samples, scrape, value
from worker_helpers import wait_for


@pytest.fixture
def mon_pg(build_dir, tmp_path, pg_database):
    d = ApiDaemon(build_dir, tmp_path,
                  "[job Ok]\ncommand = /bin/true\nlock = none\n\n"
                  "[job Bad]\ncommand = /bin/false\nlock = none\n")
    text = d.config.read_text()
    d.config.write_text(text.replace("timezone = UTC\n", f"timezone = UTC\nstore = {pg_database}\n", 1))
    d.start()
    yield d
    d.stop()


def test_metrics_alerting_gauges_on_postgresql(mon_pg):
    for spec in ("Ok", "Ok", "Bad", "Bad"):
        assert mon_pg.post("/api/v1/requests", {"spec": spec}).status == 202

    def done():
        f = scrape(mon_pg)
        ok = samples(f, "cronwarden_runs_total", job="Ok", status="succeeded")
        bad = samples(f, "cronwarden_runs_total", job="Bad", status="failed")
        return f if ok and ok[0][2] == 2 and bad and bad[0][2] == 2 else None

    f = wait_for(done, timeout=20, interval=0.2, what="the requested runs in /metrics")
    assert check_histogram(f, "cronwarden_run_duration_seconds") == 4
    assert "cronwarden_job_run_duration_seconds" not in f
    assert value(f, "cronwarden_last_run_status", job="Ok", status="succeeded") == 1
    assert value(f, "cronwarden_last_run_status", job="Bad", status="failed") == 1
    assert value(f, "cronwarden_consecutive_failures", job="Bad") == 2
    assert value(f, "cronwarden_consecutive_failures", job="Ok") == 0
    assert abs(value(f, "cronwarden_last_failure_timestamp_seconds", job="Bad") - time.time()) < 120
    assert not samples(f, "cronwarden_last_failure_timestamp_seconds", job="Ok")
    assert 0 <= value(f, "cronwarden_last_run_duration_seconds", job="Ok") < 10
    # Per-job histograms when asked for, from the same store.
    f = scrape(mon_pg, "?job_histograms=1")
    assert check_histogram(f, "cronwarden_job_run_duration_seconds", job="Bad") == 2
