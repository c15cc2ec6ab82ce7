"""Notifications on the PostgreSQL store (docs/notifications.md, docs/store.md):
`run` and a daemon on a database of the test's own (conftest's pg_database)
deliver pings and webhooks to a recorder on loopback, and two daemons on one
database (two hosts of a cluster: their own data_dir and node name) deliver
each notification exactly once, however their senders' claims interleave.
Every wait is bounded."""

import json
import pytest

from worker_helpers import WorkerEnv, job, wait_for
from test_daemon import start_daemon, stop_daemon
from test_notify import RID, Recorder


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.stop()


def pg_env(cw, build_dir, path, url):
    path.mkdir(parents=True, exist_ok=True)
    env = WorkerEnv(cw, build_dir, path)
    env.pg_url = url
    return env


@pytest.fixture
def pg_wk(cw, build_dir, tmp_path, pg_database):
    env = pg_env(cw, build_dir, tmp_path / "a", pg_database)
    yield env
    env.cleanup()


def outbox(env):
    r = env("notifications", "--json", "--count", "1000")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def keys_of(rec, pred=None):
    with rec.lock:
        return [r["headers"]["Idempotency-Key"] for r in rec.requests if pred is None or pred(r)]


def test_run_on_postgresql_sends_the_ping_pair_and_records_it(pg_wk, rec):
    pg_wk.configure(job("Ok", "/bin/echo hello") + job("Bad", "/bin/sh -c 'echo oops; exit 3'"),
                    defaults=f"ping = {rec.url('/ping/abc')}")
    assert pg_wk("run", "Ok").returncode == 0
    assert pg_wk("run", "Bad").returncode == 1
    reqs = rec.wait(4)
    paths = [(r["method"], r["path"].split("?")[0]) for r in reqs]
    assert paths == [("POST", "/ping/abc/start"), ("POST", "/ping/abc"),
                     ("POST", "/ping/abc/start"), ("POST", "/ping/abc/fail")]
    rids = [RID.search(r["path"]).group(1) for r in reqs]
    assert rids[0] == rids[1] and rids[2] == rids[3] and rids[0] != rids[2]
    assert reqs[1]["body"] == b"hello\n" and reqs[3]["body"] == b"oops\n"
    rows = wait_for(lambda: (lambda o: o if all(x["state"] == "sent" for x in o) else None)(
        outbox(pg_wk)), timeout=10, what="the outbox rows recorded as sent")
    assert len(rows) == 4
    assert {f"cronwarden-{x['id']}" for x in rows} == set(keys_of(rec))


def test_daemon_on_postgresql_delivers_webhooks(pg_wk, rec):
    pg_wk.configure(job("Tick", "/bin/true", schedule="* * * * * *", webhook=rec.url("/hook")))
    d = start_daemon(pg_wk)
    try:
        reqs = rec.wait(4, timeout=20)
    finally:
        stop_daemon(pg_wk, d, within=12.0)
    events = [json.loads(r["body"])["event"] for r in reqs]
    assert "started" in events and "succeeded" in events
    keys = keys_of(rec)
    assert len(keys) == len(set(keys))


def test_two_daemons_on_one_database_deliver_each_notification_once(cw, build_dir, tmp_path,
                                                                     pg_database, rec):
    jobs = "".join(job(f"T{i}", "/bin/true", schedule="* * * * * *", webhook=rec.url(f"/hook/{i}"))
                   for i in range(4))
    envs = [pg_env(cw, build_dir, tmp_path / node, pg_database) for node in ("a", "b")]
    try:
        check_two_daemons(envs, jobs, rec)
    finally:
        for env in envs:
            env.cleanup()


def check_two_daemons(envs, jobs, rec):
    procs = []
    try:
        for node, env in zip(("a", "b"), envs):
            # Each daemon links runs to its own public_url: the webhooks
            # it delivers say which sender sent them.
            env.configure(jobs, globals=f"node = {node}\n\n[admin]\npublic_url = https://{node}.example/")
            procs.append(start_daemon(env))
        # Four jobs a second, a start and an end each: both senders find
        # rows due at every pass and claim them at the same moments.
        rec.wait(60, timeout=40)
    finally:
        for env, p in zip(envs, procs):
            stop_daemon(env, p, within=12.0)
    keys = keys_of(rec)
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    assert not dupes, f"delivered more than once: {dupes}"
    rows = outbox(envs[0])
    ids = {f"cronwarden-{x['id']}" for x in rows}
    sent = {f"cronwarden-{x['id']}" for x in rows if x["state"] == "sent"}
    # Every request is a row of the outbox, and every row recorded as sent
    # reached the endpoint (once, above).
    assert set(keys) <= ids
    assert sent <= set(keys)
    # Both senders took part: the rows were drained by two claimers at once.
    with rec.lock:
        senders = [json.loads(r["body"])["url"].split("/")[2] for r in rec.requests]
    assert {"a.example", "b.example"} <= set(senders), senders
