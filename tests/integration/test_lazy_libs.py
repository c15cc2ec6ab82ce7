"""Modules loaded on demand (docs/hacking.md, "Modules"): the cronwarden
program links neither libpq nor libcurl. An idle daemon on SQLite whose
jobs have no notification channels maps neither (nor the TLS, Kerberos and
LDAP libraries they bring: issue 16, idle RSS), nor libsystemd outside
systemd; the same binary still opens
a PostgreSQL store (cronwarden-pg.so) and sends notifications
(cronwarden-curl.so), loading only the module it needs; and a missing
module is a clear error naming the file. What a process maps is read from
/proc/PID/maps. Every wait is bounded."""

import os
from pathlib import Path

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)
from worker_helpers import WorkerEnv, job
from test_daemon import start_daemon, stop_daemon, wait_asleep
from test_notify import Recorder

import pytest

PG = ("libpq.so", "cronwarden-pg.so")
CURL = ("libcurl.so", "cronwarden-curl.so")
# What libpq and libcurl bring and nothing else of the program needs
# (libmicrohttpd brings gnutls, nettle and p11-kit itself).
TLS_STACK = ("libcrypto.so", "libssl.so", "libkrb5.so", "libgssapi_krb5.so", "libldap",
             "liblber", "libssh2.so", "libnghttp2.so", "librtmp.so", "libsasl2.so")
FAR = "0 0 1 1 *"  # nothing due during the test, whatever the date


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.stop()


def mapped(pid):
    """The file names (no directory) of the files process pid maps."""
    names = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                names.add(Path(parts[5].strip()).name)
    return names


def having(names, prefixes):
    return sorted(n for n in names if n.startswith(prefixes))


def sqlite_only(wk, jobs):
    # CW_TEST_STORE=postgresql gives wk a database: these tests are about
    # a daemon on SQLite.
    wk.configure(jobs, globals="store = sqlite")


def test_idle_sqlite_daemon_maps_neither_libpq_nor_libcurl(wk):
    sqlite_only(wk, job("Later", "/bin/true", schedule=FAR))
    d = start_daemon(wk)
    try:
        wait_asleep(d)
        names = mapped(d.pid)
    finally:
        stop_daemon(wk, d)
    assert having(names, ("libsqlite3.so",)), names  # the maps were read
    assert having(names, PG + CURL + TLS_STACK) == []
    # Nor libsystemd: loaded only when systemd gives a NOTIFY_SOCKET.
    assert having(names, ("libsystemd.so",)) == []


def test_a_daemon_sending_pings_loads_the_transport_but_not_libpq(wk, rec):
    sqlite_only(wk, job("Tick", "/bin/true", schedule="* * * * * *",
                        ping=rec.url("/ping/lazy")))
    d = start_daemon(wk)
    try:
        reqs = rec.wait(2, timeout=20)
        names = mapped(d.pid)
    finally:
        stop_daemon(wk, d, within=12.0)
    assert reqs[0]["path"].startswith("/ping/lazy")
    assert "cronwarden-curl.so" in names and having(names, ("libcurl.so",))
    assert having(names, PG) == []


def test_the_same_binary_runs_on_postgresql_and_notifies(cw, build_dir, tmp_path, pg_database,
                                                         rec):
    env = WorkerEnv(cw, build_dir, tmp_path)
    env.pg_url = pg_database
    try:
        env.configure(job("Ok", "/bin/echo hello", ping=rec.url("/ping/pg"))
                      + job("Later", "/bin/true", schedule=FAR))
        r = env("run", "Ok")
        assert r.returncode == 0, r.stderr
        paths = [q["path"].split("?")[0] for q in rec.wait(2)]
        assert paths == ["/ping/pg/start", "/ping/pg"]
        r = env("history", "--json")
        assert r.returncode == 0 and '"Ok"' in r.stdout, r.stderr
        # A daemon on PostgreSQL loads the backend; its jobs send nothing
        # until one runs, so libcurl stays out.
        d = start_daemon(env)
        try:
            wait_asleep(d)
            names = mapped(d.pid)
        finally:
            stop_daemon(env, d, within=12.0)
        assert "cronwarden-pg.so" in names and having(names, ("libpq.so",))
        assert having(names, CURL) == []
    finally:
        env.cleanup()


def test_a_missing_postgresql_module_is_a_clear_error(wk, tmp_path):
    empty = tmp_path / "no-modules"
    empty.mkdir()
    wk.configure(job("A", "/bin/true", schedule=FAR),
                 globals="store = postgresql://127.0.0.1:1/none")
    r = wk("history", env={"CRONWARDEN_MODULE_DIR": str(empty)})
    assert r.returncode == 2
    assert (f"PostgreSQL support not installed: {empty}/cronwarden-pg.so: "
            "cannot open shared object file") in r.stderr, r.stderr
    # Found, the module tries the server (nothing listens on port 1).
    r = wk("history")
    assert r.returncode == 2 and "not installed" not in r.stderr
    assert "cannot connect to store" in r.stderr, r.stderr


def test_a_missing_transport_module_fails_the_notification_clearly(wk, tmp_path, rec):
    empty = tmp_path / "no-modules"
    empty.mkdir()
    sqlite_only(wk, job("A", "/bin/true", schedule=FAR, ping=rec.url("/ping/a")))
    r = wk("notify-test", "A", env={"CRONWARDEN_MODULE_DIR": str(empty)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"FAILED, HTTP and SMTP notification support not installed: "
            f"{empty}/cronwarden-curl.so: cannot open shared object file") in r.stdout, r.stdout
    assert rec.requests == []
    r = wk("notify-test", "A")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(rec.wait(1)) == 1


def test_a_module_of_another_build_is_refused(wk, tmp_path, build_dir):
    # The PostgreSQL module in place of the transport: a module, but not
    # the one whose table the loader expects.
    odd = tmp_path / "odd-modules"
    odd.mkdir()
    os.symlink(Path(build_dir) / "cronwarden-pg.so", odd / "cronwarden-curl.so")
    sqlite_only(wk, job("A", "/bin/true", schedule=FAR, ping="http://127.0.0.1:1/p"))
    r = wk("notify-test", "A", env={"CRONWARDEN_MODULE_DIR": str(odd)})
    assert r.returncode == 1
    assert f"{odd}/cronwarden-curl.so: is the module cronwarden-pg.so" in r.stdout, r.stdout
