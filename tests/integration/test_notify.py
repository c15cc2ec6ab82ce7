"""Notifications (docs/notifications.md): the ping, webhook and email
channels against real servers the tests start on loopback and stop (an
HTTP recorder in a thread, an aiosmtpd SMTP sink), the failure rules
(notify_after_failures, disable_after_failures, min_runtime), missed
fires, retries after an endpoint was down, and a hanging endpoint that
must not delay scheduling. Every wait is bounded."""

import http.server
import json
import os
import re
import signal
import socket
import threading
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)
from test_daemon import start_daemon, stop_daemon


class Recorder:
    """An HTTP server on 127.0.0.1 recording every request. `status` is
    what it answers; `headers` extra response headers; `hang` makes it
    accept and never answer."""

    def __init__(self, port=0):
        self.requests = []
        self.status = 200
        self.headers = {}
        self.hang = threading.Event()
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                if rec.hang.is_set():
                    time.sleep(30)
                    return
                with rec.lock:
                    rec.requests.append({"method": self.command, "path": self.path,
                                         "headers": dict(self.headers), "body": body})
                self.send_response(rec.status)
                for k, v in rec.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = _do
            do_POST = _do

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, n, timeout=20.0, pred=None):
        def enough():
            with self.lock:
                got = [r for r in self.requests if pred is None or pred(r)]
            return got if len(got) >= n else None
        return wait_for(enough, timeout=timeout, what=f"{n} requests")


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.stop()


class SmtpSink:
    def __init__(self):
        from aiosmtpd.controller import Controller
        self.mails = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                   "text": envelope.content.decode("utf-8", "replace")})
                return "250 OK"

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp():
    pytest.importorskip("aiosmtpd")
    s = SmtpSink()
    yield s
    s.stop()


def smtp_section(smtp):
    return f"""
        [smtp]
        url = smtp://127.0.0.1:{smtp.port}
        from = cron@example.com
        subject_prefix = [cron]
        """


def notices(wk):
    r = wk("notifications", "--json", "--count", "1000")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


RID = re.compile(r"[?&]rid=([0-9a-f-]{36})$")


def test_ping_start_success_fail_pair_by_rid(wk, rec):
    wk.configure(job("Ok", "/bin/echo hello") + job("Bad", "/bin/sh -c 'echo oops; exit 3'"),
                 defaults=f"ping = {rec.url('/ping/abc')}")
    assert wk("run", "Ok").returncode == 0
    assert wk("run", "Bad").returncode == 1
    reqs = rec.wait(4)
    paths = [(r["method"], r["path"].split("?")[0]) for r in reqs]
    assert paths == [("POST", "/ping/abc/start"), ("POST", "/ping/abc"),
                     ("POST", "/ping/abc/start"), ("POST", "/ping/abc/fail")]
    rids = [RID.search(r["path"]).group(1) for r in reqs]
    assert rids[0] == rids[1] and rids[2] == rids[3] and rids[0] != rids[2]
    assert reqs[1]["body"] == b"hello\n" and reqs[3]["body"] == b"oops\n"
    assert reqs[0]["body"] == b""
    # Each request names its outbox row, so a receiver can drop a repeat.
    keys = {r["headers"]["Idempotency-Key"] for r in reqs}
    assert len(keys) == 4


def test_ping_body_is_the_output_tail_bounded_by_ping_body_limit(wk, rec):
    wk.configure(job("Big", "/usr/bin/seq 1 20000"), defaults=f"ping = {rec.url('/p')}")
    assert wk("run", "Big").returncode == 0
    body = rec.wait(2)[1]["body"]
    full = "".join(f"{i}\n" for i in range(1, 20001)).encode()
    assert len(body) == 10000 and body == full[-10000:]
    # A server that says Ping-Body-Limit gets at most that.
    rec.headers["Ping-Body-Limit"] = "100"
    assert wk("run", "Big").returncode == 0
    body = rec.wait(4)[3]["body"]
    assert body == full[-100:]


def test_event_placeholder_sends_cronitor_words_as_get(wk, rec):
    wk.configure(job("Ok", "/bin/true") + job("Bad", "/bin/false"),
                 defaults=f"ping = {rec.url('/tel/{event}?x=1')}")
    wk("run", "Ok")
    wk("run", "Bad")
    reqs = rec.wait(4)
    assert [(r["method"], r["path"]) for r in reqs] == [
        ("GET", "/tel/run?x=1"), ("GET", "/tel/complete?x=1"), ("GET", "/tel/run?x=1"), ("GET", "/tel/fail?x=1")]


def test_webhook_json_payload_on_every_state_change_and_slack(wk, rec):
    wk.configure(job("Bad", "/bin/sh -c 'echo oops; exit 3'", webhook=rec.url("/hook"))
                 + job("Chat", "/bin/true", webhook=rec.url("/slack"), webhook_format="slack"),
                 globals="", defaults="")
    with open(wk.config, "a") as f:
        f.write("[admin]\npublic_url = https://cron.example.com/\n")
    assert wk("run", "Bad").returncode == 1
    reqs = rec.wait(2)
    started, failed = (json.loads(r["body"]) for r in reqs)
    assert reqs[0]["headers"]["Content-Type"] == "application/json"
    assert started["event"] == "started" and failed["event"] == "failed"
    assert failed["job"] == "Bad"
    run = failed["run"]
    assert run["status"] == "failed" and run["exit_code"] == 3 and run["trigger"] == "manual"
    assert run["id"] == started["run"]["id"]
    assert failed["output_tail"] == "oops\n"
    assert failed["url"] == f"https://cron.example.com/runs/{run['id']}"
    assert set(failed) >= {"id", "event", "job", "detail", "run", "output_tail", "url", "created_at"}
    assert wk("run", "Chat").returncode == 0
    reqs = rec.wait(4)
    msg = json.loads(reqs[3]["body"])
    assert set(msg) == {"text"} and "job Chat: succeeded" in msg["text"]


def test_email_once_when_failing_and_once_when_recovered(wk, smtp):
    flag = wk.tmp / "fail"
    flag.touch()
    wk.configure(job("Flaky", f"/bin/sh -c 'echo out; test ! -e {flag}'",
                     email="ops@example.com, dev@example.com", notify_after_failures=2),
                 globals="")
    with open(wk.config, "a") as f:
        f.write(smtp_section(smtp).replace("        ", ""))
    for _ in range(3):
        assert wk("run", "Flaky").returncode == 1
    flag.unlink()
    assert wk("run", "Flaky").returncode == 0
    assert wk("run", "Flaky").returncode == 0
    wait_for(lambda: len(smtp.mails) >= 2, timeout=10, what="two mails")
    time.sleep(0.3)
    assert len(smtp.mails) == 2
    failing, recovered = smtp.mails
    assert failing["to"] == ["ops@example.com", "dev@example.com"]
    assert "Subject: [cron] job Flaky: failing" in failing["text"]
    assert "2 consecutive failures" in failing["text"]
    assert "Run:      2" in failing["text"] and "Exit:     1" in failing["text"]
    assert "out" in failing["text"].split("The output's end:")[1]
    assert "recovered" in recovered["text"] and "Run:      4" in recovered["text"]


def test_disable_after_failures_disables_and_says_how_to_re_enable(wk, rec):
    wk.configure(job("Bad", "/bin/false", webhook=rec.url("/hook"), disable_after_failures=2))
    wk("run", "Bad")
    wk("run", "Bad")
    r = wk("run", "Bad")
    assert r.returncode == 2 and "disabled" in r.stderr
    reqs = rec.wait(5)
    events = [json.loads(x["body"])["event"] for x in reqs]
    assert events == ["started", "failed", "started", "failed", "disabled"]
    assert "cronwarden enable Bad" in json.loads(reqs[4]["body"])["detail"]
    assert wk("enable", "Bad").returncode == 0


def test_min_runtime_flags_a_suspiciously_fast_success(wk, rec):
    wk.configure(job("Quick", "/bin/true", webhook=rec.url("/hook"), min_runtime="5s"))
    wk("run", "Quick")
    reqs = rec.wait(3)
    last = json.loads(reqs[2]["body"])
    assert last["event"] == "too_fast" and "suspiciously fast" in last["detail"]


def test_retry_after_the_endpoint_was_down(wk):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: connection refused
    wk.configure(job("Ok", "/bin/true", webhook=f"http://127.0.0.1:{port}/hook"))
    assert wk("run", "Ok").returncode == 0
    rows = notices(wk)
    assert [r["state"] for r in rows] == ["pending", "pending"]
    assert all(r["attempts"] == 1 for r in rows)
    rec2 = Recorder(port)
    try:
        # The first retry is due 10 s after the failure; tick delivers it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(rec2.requests) < 2:
            wk("tick", "--silent")
            time.sleep(0.5)
        assert [json.loads(r["body"])["event"] for r in rec2.requests] == ["started", "succeeded"]
        assert [r["state"] for r in notices(wk)] == ["sent", "sent"]
    finally:
        rec2.stop()


def test_notify_test_and_notifications_hide_url_tokens(wk, rec, smtp):
    wk.configure(job("Ok", "/bin/true", ping=rec.url("/ping/SECRET-TOKEN"), webhook=rec.url("/hook?token=SECRET2"),
                     email="ops@example.com"))
    with open(wk.config, "a") as f:
        f.write(smtp_section(smtp).replace("        ", ""))
    r = wk("notify-test", "Ok")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SECRET" not in r.stdout
    assert r.stdout.count(": ok") == 3
    assert len(rec.requests) == 2 and len(smtp.mails) == 1
    out = wk("notifications").stdout + wk("notifications", "--json").stdout
    assert "SECRET" not in out and "test" in out
    # A job without channels has nothing to test.
    wk.configure(job("None", "/bin/true"))
    assert wk("notify-test", "None").returncode == 2


def test_check_refuses_bad_channel_values(wk, cw, tmp_config):
    bad = tmp_config("""
        [job A]
        command = /bin/true
        webhook = ftp://x
        webhook_format = xml
        email = not-an-address
        """)
    r = cw("--config", bad, "check")
    assert r.returncode == 2
    assert "webhook: expected an http:// or https:// URL" in r.stderr
    assert "webhook_format: expected json or slack" in r.stderr
    assert "email: " in r.stderr


def test_missed_fire_notifies(wk, rec):
    # One pass records the fire it could not start in time as missed.
    wk.configure(job("Nightly", "/bin/true", schedule="0 3 * * *", catch_up="none",
                     webhook=rec.url("/hook"), ping=rec.url("/p")))
    env1 = {"CRONWARDEN_FAKE_NOW": "2026-01-01T02:00:00Z"}
    env2 = {"CRONWARDEN_FAKE_NOW": "2026-01-01T04:00:00Z"}
    assert wk("tick", "--silent", env=env1).returncode == 0
    assert wk("tick", "--silent", env=env2).returncode == 0
    reqs = rec.wait(2)
    kinds = sorted((r["path"].split("?")[0], r["body"][:40]) for r in reqs)
    assert kinds[0][0] == "/hook" and json.loads(reqs[[r["path"] for r in reqs].index("/hook")]["body"])["event"] == "missed"
    assert any(r["path"].startswith("/p/fail") for r in reqs)


def test_hanging_endpoint_does_not_delay_scheduling(wk):
    # A server that accepts connections and never answers.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(100)
    port = srv.getsockname()[1]
    try:
        out = wk.tmp / "ticks"
        wk.configure(job("Tick", f"/bin/sh -c 'echo $CRONWARDEN_SCHEDULED_AT >> {out}'", schedule="* * * * * *")
                     + job("Hang", "/bin/true", schedule="* * * * * *", ping=f"http://127.0.0.1:{port}/p",
                           concurrency="allow"))
        d = start_daemon(wk)
        time.sleep(6)
        stop_daemon(wk, d, within=12.0)
        runs = [r for r in wk.db_runs("Tick") if r["trigger"] == "schedule" and r["status"] == "succeeded"]
        assert len(runs) >= 4
        late = sorted(r["started_us"] / 1e6 - r["scheduled_at"] for r in runs)
        assert late[-1] < 0.5, late
        # The hanging pings stay in the outbox, pending, for a later sender.
        con_rows = wk.db_scalar("SELECT count(*) FROM outbox WHERE job = 'Hang'")
        assert con_rows >= 4
    finally:
        srv.close()


def test_daemon_delivers_and_kill_9_mid_delivery_sends_no_duplicate(wk, rec):
    wk.configure(job("Tick", "/bin/true", schedule="* * * * * *", webhook=rec.url("/hook")))
    d = start_daemon(wk)
    rec.wait(6, timeout=20)
    os.kill(d.pid, signal.SIGKILL)
    d.finish(timeout=10)
    time.sleep(1.5)  # workers still running finish and record
    before = len(rec.requests)
    d2 = start_daemon(wk)
    time.sleep(3)
    stop_daemon(wk, d2, within=12.0)
    keys = [r["headers"]["Idempotency-Key"] for r in rec.requests]
    assert len(keys) > before
    # Each outbox row reached the endpoint once.
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]


def test_secret_env_values_are_masked_in_the_stored_output(wk, rec):
    wk.configure(job("Leak", "echo token=$TOKEN; echo done", shell="yes", env="TOKEN=s3cr3t-value",
                     secret_env="TOKEN", webhook=rec.url("/hook")))
    assert wk("run", "Leak").returncode == 0
    run_id = wk.db_runs("Leak")[0]["id"]
    out = wk.db_output(run_id)
    assert b"s3cr3t" not in out and b"token=************" in out
    logs = wk("logs", str(run_id))
    assert "s3cr3t" not in logs.stdout
    reqs = rec.wait(2)
    assert all(b"s3cr3t" not in r["body"] for r in reqs)
    assert "************" in json.loads(reqs[1]["body"])["output_tail"]


def test_max_runtime_warns_while_the_run_goes_on(wk, rec):
    wk.configure(job("Slow", "/bin/sleep 3", schedule="* * * * * *", max_runtime="1s", timeout="10s",
                     webhook=rec.url("/hook")))
    d = start_daemon(wk)
    try:
        reqs = rec.wait(1, pred=lambda r: json.loads(r["body"])["event"] == "running_long", timeout=15)
        warned = json.loads(reqs[0]["body"])
        # The warning is not a kill: the run is still running when it comes.
        assert wk.db_run(warned["run"]["id"])["status"] == "running"
        assert "max_runtime" in warned["detail"]
    finally:
        stop_daemon(wk, d, within=12.0)


def parse_envelope(body):
    """A Sentry envelope: a header line, then (item header, payload)
    pairs; each item header's length must be its payload's."""
    lines = body.split(b"\n")
    assert lines[-1] == b"", "an envelope ends with a newline"
    head = json.loads(lines[0])
    assert re.fullmatch(r"[0-9a-f]{32}", head["event_id"])
    items, i = [], 1
    while i < len(lines) - 1:
        ih = json.loads(lines[i])
        payload = lines[i + 1]
        assert ih["length"] == len(payload)
        items.append((ih["type"], json.loads(payload)))
        i += 2
    return head, items


def test_sentry_check_ins_and_error_event(wk, rec):
    dsn = f"http://publickey@127.0.0.1:{rec.port}/42"
    wk.configure(job("Nightly", "/bin/sh -c 'echo boom; exit 2'", schedule="30 2 * * *", timeout="10m",
                     start_deadline="5m", sentry_dsn=dsn)
                 + job("Ok", "/bin/true", sentry_dsn=dsn), globals="timezone = Europe/Warsaw")
    assert wk("run", "Nightly").returncode == 1
    assert wk("run", "Ok").returncode == 0
    reqs = rec.wait(4)
    for r in reqs:
        assert r["path"] == "/api/42/envelope/"
        assert r["headers"]["Content-Type"] == "application/x-sentry-envelope"
        assert "sentry_key=publickey" in r["headers"]["X-Sentry-Auth"]
    envs = [parse_envelope(r["body"]) for r in reqs]
    (_, start), (_, end), (_, ok_start), (_, ok_end) = envs
    assert [t for t, _ in start] == ["check_in"] and [t for t, _ in end] == ["check_in", "event"]
    s, e = start[0][1], end[0][1]
    assert s["status"] == "in_progress" and e["status"] == "error"
    assert s["check_in_id"] == e["check_in_id"] and re.fullmatch(r"[0-9a-f]{32}", s["check_in_id"])
    assert s["monitor_slug"] == "nightly"
    assert s["monitor_config"] == {"schedule": {"type": "crontab", "value": "30 2 * * *"},
                                   "timezone": "Europe/Warsaw", "checkin_margin": 5, "max_runtime": 10}
    assert e["duration"] >= 0
    event = end[1][1]
    assert event["level"] == "error" and event["extra"]["output_tail"] == "boom\n"
    assert event["tags"]["job"] == "Nightly"
    # A job without one schedule entry has no monitor_config.
    assert ok_end[0][1]["status"] == "ok" and "monitor_config" not in ok_end[0][1]
    assert len(ok_end) == 1
    # The DSN's key never shows.
    assert "publickey" not in wk("notifications").stdout


def test_admin_notifications_page_shows_the_outbox_without_url_tokens(wk):
    from test_http_server import Admin
    a = Admin(wk)
    try:
        row = ("INSERT INTO outbox (run_id, job, event, channel, target, state, attempts, created_us, result)"
               " VALUES (0, 'Hello', 'failed', 'webhook', 'https://hooks.example.com/T0/SECRET-TOKEN',"
               " 'failed', 8, 1700000000000000, 'HTTP 500')")
        if wk.pg_url:  # CW_TEST_STORE=postgresql
            wk._psql(row)
        else:
            con = wk._db()
            with con:
                con.execute(row)
            con.close()
        cookies = a.session()
        st, _, body = a.request("GET", "/notifications", cookies=cookies)
        text = body.decode()
        assert st == 200
        assert "https://hooks.example.com/..." in text and "SECRET" not in text
        assert 'id="notify-failed">1<' in text and "HTTP 500" in text
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        assert 'href="/notifications"' in body.decode()
    finally:
        a.stop()


def test_timed_out_killed_and_skipped_runs_reach_the_webhook_and_ping(wk, rec):
    wk.configure(job("Slow", "/bin/sleep 30", timeout="1s", kill_grace="1s", webhook=rec.url("/hook"),
                     ping=rec.url("/p")))
    assert wk("run", "Slow").returncode == 1
    reqs = rec.wait(4)
    hooks = [json.loads(r["body"]) for r in reqs if r["path"] == "/hook"]
    assert [h["event"] for h in hooks] == ["started", "timed_out"]
    assert any(r["path"].startswith("/p/fail?rid=") for r in reqs)
    # A held lock: the scheduled fire is recorded skipped, and said so.
    wk.configure(job("Held", "/bin/sleep 5", schedule="* * * * * *", webhook=rec.url("/held")))
    p = wk.spawn("run", "Held")
    wk.wait_running("Held")
    wk("tick", "--silent")
    time.sleep(1.1)
    wk("tick", "--silent")
    skipped = rec.wait(1, pred=lambda r: r["path"] == "/held" and json.loads(r["body"])["event"] == "skipped")
    assert "still running" in (json.loads(skipped[0]["body"])["detail"] or "")
    os.kill(p.pid, signal.SIGTERM)
    p.finish(timeout=20)
    killed = rec.wait(1, pred=lambda r: r["path"] == "/held" and json.loads(r["body"])["event"] == "killed")
    assert json.loads(killed[0]["body"])["run"]["status"] == "killed"


def test_run_swept_lost_by_the_next_lock_holder_notifies(wk, rec):
    """A worker killed with SIGKILL leaves its lock file naming its run; the
    next run of the job takes the lock and records the old run lost
    (worker.c's clean_dead_holder). That lost run enqueues its
    notification like a run swept by `status` or `clean`."""
    cmd = wk.script("victim", "wait_gate go\n")
    wk.configure(job("Victim", cmd, lock="class", webhook=rec.url("/hook")))
    p = wk.spawn("run", "Victim")
    st = wk.wait_running("Victim")[0]
    wk.check_exe(st["worker_pid"])
    os.kill(st["worker_pid"], signal.SIGKILL)
    p.finish()
    wait_for(lambda: not proc_alive(st["pid"]), timeout=10, what="the job to die with its worker")
    wk.open_gate("go")
    # No status/clean in between: the next run is what finds the dead holder.
    r = wk("run", "Victim")
    assert r.returncode == 0, r.stderr
    assert wk.db_run(st["id"])["status"] == "lost"
    rows = json.loads(wk("notifications", "--json", "--count", "100").stdout)
    lost = [n for n in rows if n["run"] == st["id"] and n["event"] == "lost"]
    assert [n["channel"] for n in lost] == ["webhook"], rows


def _switches(pid):
    """Context switches of every thread of pid (each wake-up is one)."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        for line in open(f"/proc/{pid}/task/{tid}/status"):
            if "ctxt_switches:" in line:
                n += int(line.split()[1])
    return n


def test_idle_daemon_sender_sleeps_and_is_not_started_without_channels(wk, rec):
    """Without a channel in the config the sender thread is not started;
    with one and an empty outbox it sleeps until woken (it used to look
    at the outbox every second). A run's notification still arrives."""
    far = "0 0 1 1 *"
    wk.configure(job("Quiet", "/bin/true", schedule=far))
    d = start_daemon(wk)
    time.sleep(1)
    assert os.listdir(f"/proc/{d.pid}/task") == [str(d.pid)]
    stop_daemon(wk, d)
    wk.configure(job("Loud", "sleep 8", schedule=far, webhook=rec.url("/hook")))
    d = start_daemon(wk)
    try:
        wait_for(lambda: len(os.listdir(f"/proc/{d.pid}/task")) == 2, timeout=5,
                 what="the sender thread")
        time.sleep(1)
        before = _switches(d.pid)
        time.sleep(4)
        assert _switches(d.pid) - before <= 1, "an idle daemon woke up"
        # A long run's start is delivered while it runs, not at its end.
        t0 = time.monotonic()
        assert wk("request", "Loud").returncode == 0
        got = rec.wait(1, timeout=20)
        assert json.loads(got[0]["body"])["event"] == "started"
        assert time.monotonic() - t0 < 6, "the start was delivered only at the run's end"
        got = rec.wait(2, timeout=30)
        assert json.loads(got[1]["body"])["event"] == "succeeded"
    finally:
        stop_daemon(wk, d)
