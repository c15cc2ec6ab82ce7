"""`cronwarden daemon` under systemd's Type=notify (src/daemon/sdnotify.h,
docs/running.md): the daemon reports to the socket named by NOTIFY_SOCKET.
Each test binds a unix datagram socket, points NOTIFY_SOCKET at it and reads
what the daemon sends: READY=1 only once the admin server accepts
connections, a STATUS= line, RELOADING=1/READY=1 around a SIGHUP reload,
STOPPING=1 on SIGTERM, and WATCHDOG=1 at half of WATCHDOG_USEC (never
without it).

Skipped when the binary was built without libsystemd (then the daemon
sends nothing)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture, wait_for)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def with_libsystemd(build_dir):
    """Whether the build found libsystemd (the program loads it only when
    NOTIFY_SOCKET is set, so ldd does not show it)."""
    deps = json.loads((build_dir / "meson-info/intro-dependencies.json").read_text())
    return any(d["name"] == "libsystemd" for d in deps)


@pytest.fixture
def notify_sock(build_dir):
    if not with_libsystemd(build_dir):
        pytest.skip("cronwarden was built without libsystemd")
    # A short path: sockaddr_un holds 108 bytes, pytest's tmp_path may not fit.
    d = tempfile.mkdtemp(prefix="cw-notify-")
    path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    yield s, path
    s.close()
    shutil.rmtree(d)


def recv_until(sock, pred, timeout=10.0, got=None):
    """Reads messages (each a dict of KEY=VALUE lines) until pred(msg);
    returns every message read, in order."""
    got = [] if got is None else got
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s; got {got}")
        sock.settimeout(left)
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            continue
        msg = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
        got.append(msg)
        if pred(msg):
            return got


def admin_config(wk, port):
    r = wk("passwd", "--token", "ci")
    assert r.returncode == 0, r.stderr
    token_line = r.stdout.splitlines()[1]
    wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n",
                 globals=f"\n[admin]\nlisten = 127.0.0.1:{port}\n{token_line}\n")


def test_ready_after_admin_listens_status_reload_stopping(wk, notify_sock):
    sock, path = notify_sock
    port = free_port()
    admin_config(wk, port)
    p = wk.spawn("daemon", env={"NOTIFY_SOCKET": path, "JOURNAL_STREAM": None, "WATCHDOG_USEC": None})
    try:
        got = recv_until(sock, lambda m: m.get("READY") == "1")
        # Ready means the admin server accepts connections now.
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        log = p.err_path.read_text()
        assert "event=admin_listen" in log, log
        got = recv_until(sock, lambda m: "STATUS" in m, got=got)
        assert got[-1]["STATUS"].startswith("1 job, next fire at "), got
        assert not any("WATCHDOG" in m for m in got), got

        os.kill(p.pid, signal.SIGHUP)
        got = recv_until(sock, lambda m: m.get("RELOADING") == "1")
        assert int(got[-1]["MONOTONIC_USEC"]) > 0, got
        recv_until(sock, lambda m: m.get("READY") == "1")

        os.kill(p.pid, signal.SIGTERM)
        recv_until(sock, lambda m: m.get("STOPPING") == "1")
        rc, _, err = p.finish(timeout=10)
        assert rc == 0, err
    finally:
        if p.poll() is None:
            p.popen.kill()


def test_watchdog_pings_at_half_the_interval(wk, notify_sock):
    sock, path = notify_sock
    wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n")
    p = wk.spawn("daemon", env={"NOTIFY_SOCKET": path, "JOURNAL_STREAM": None,
                                "WATCHDOG_USEC": "400000", "WATCHDOG_PID": None})
    try:
        recv_until(sock, lambda m: m.get("READY") == "1")
        t0 = time.monotonic()
        pings = []
        while len(pings) < 4:
            recv_until(sock, lambda m: m.get("WATCHDOG") == "1", timeout=5)
            pings.append(time.monotonic())
        # Four pings at 0.2 s apart (the first may come at once).
        took = pings[-1] - t0
        assert 0.35 < took < 2.0, pings
        os.kill(p.pid, signal.SIGTERM)
        rc, _, err = p.finish(timeout=10)
        assert rc == 0, err
    finally:
        if p.poll() is None:
            p.popen.kill()


def test_no_watchdog_for_another_pid(wk, notify_sock):
    sock, path = notify_sock
    wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n")
    p = wk.spawn("daemon", env={"NOTIFY_SOCKET": path, "JOURNAL_STREAM": None,
                                "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
    try:
        recv_until(sock, lambda m: m.get("READY") == "1")
        sock.settimeout(0.6)
        msgs = []
        try:
            while True:
                msgs.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
        assert not any("WATCHDOG=1" in m for m in msgs), msgs
        os.kill(p.pid, signal.SIGTERM)
        rc, _, err = p.finish(timeout=10)
        assert rc == 0, err
    finally:
        if p.poll() is None:
            p.popen.kill()
