"""The admin HTTP server of `cronwarden daemon` (src/http/server.c,
auth.c, assets.c; docs/api.md) and `cronwarden passwd`.

Each test starts a real daemon with an [admin] section listening on a free
loopback port (picked by binding port 0, then passed in the config),
talks to it with http.client (no redirects followed, raw paths sent as
written) or raw sockets, and stops it with SIGTERM. Every wait is bounded.
The password hash and API token come from `cronwarden passwd`."""

import hashlib
import http.client
import os
import re
import signal
import socket
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture, wait_for)

PASSWORD = "correct horse"
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Admin:
    """A daemon with the admin server, and an HTTP client for it."""

    def __init__(self, wk, extra_admin="", password=PASSWORD):
        self.wk = wk
        self.port = free_port()
        r = wk("passwd", input=password + "\n")
        assert r.returncode == 0, r.stderr
        self.hash = r.stdout.strip()
        r = wk("passwd", "--token", "ci")
        assert r.returncode == 0, r.stderr
        self.token, self.token_line = r.stdout.splitlines()
        self.write_config(extra_admin)
        self.proc = wk.spawn("daemon", env={"JOURNAL_STREAM": None})
        wait_for(self._ready, timeout=15, interval=0.02, what="the daemon's event=admin_listen line")

    def write_config(self, extra_admin="", password_hash=None, listen=None):
        admin = (
            "\n[admin]\n"
            f"listen = {listen or f'127.0.0.1:{self.port}'}\n"
            "user = admin\n"
            f"password_hash = {password_hash or self.hash}\n"
            f"{self.token_line}\n"
            f"{extra_admin}\n"
        )
        self.wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n", globals=admin)

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited {self.proc.popen.returncode}:\n{self.log()}")
        return "event=admin_listen" in self.log()

    def log(self):
        return self.proc.err_path.read_bytes().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        rc, _, err = self.proc.finish(timeout=10)
        assert rc == 0, f"daemon exited {rc}:\n{err}"
        return err

    def request(self, method, path, body=None, headers=None, cookies=None):
        """-> (status, headers as a dict of lowercase name -> list, body bytes)."""
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if isinstance(body, dict):
            body = "&".join(f"{k}={v}" for k, v in body.items())
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            data = body.encode() if isinstance(body, str) else body
            if data is not None:
                conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
            resp = conn.getresponse()
            out = {}
            for k, v in resp.getheaders():
                out.setdefault(k.lower(), []).append(v)
            return resp.status, out, resp.read()
        finally:
            conn.close()

    def raw(self, data, timeout=10):
        """Sends raw bytes; returns everything read until the server closes
        or answers once (bounded)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                    if b"\r\n\r\n" in out and b"Content-Length" not in out.split(b"\r\n\r\n")[0]:
                        break
                    head, _, rest = out.partition(b"\r\n\r\n")
                    m = re.search(rb"Content-Length: (\d+)", head)
                    if m and len(rest) >= int(m.group(1)):
                        break
            except (ConnectionResetError, socket.timeout):
                pass
            return out

    def login_token(self):
        st, h, _ = self.request("GET", "/login")
        assert st == 200
        return cookie_of(h, "cw_login")

    def login(self, password=PASSWORD, user="admin", next_path=None):
        token = self.login_token()
        form = {"user": user, "password": password.replace(" ", "+"), "csrf": token}
        if next_path is not None:
            form["next"] = next_path
        return self.request("POST", "/login", form, cookies={"cw_login": token})

    def session(self):
        st, h, _ = self.login()
        assert st == 303, st
        return {"cw_session": cookie_of(h, "cw_session")}


def cookie_of(headers, name):
    for v in headers.get("set-cookie", []):
        if v.startswith(name + "="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return None


def set_cookie_attrs(headers, name):
    for v in headers.get("set-cookie", []):
        if v.startswith(name + "="):
            return [a.strip() for a in v.split(";")[1:]]
    return None


@pytest.fixture
def admin(wk):
    a = Admin(wk)
    yield a
    if a.proc.poll() is None:
        a.stop()


def csrf_of(admin, cookies):
    """The session's CSRF token as the pages embed it (any 64-hex string in
    the jobs page: the pages put it in forms and a meta tag)."""
    st, _, body = admin.request("GET", "/jobs", cookies=cookies)
    assert st == 200, st
    m = HEX64.search(body.decode("utf-8", "replace"))
    return m.group(0) if m else None


# ---- public and protected routes ---------------------------------------------

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def test_healthz_is_public_with_security_headers(admin):
    st, h, body = admin.request("GET", "/healthz")
    assert (st, body) == (200, b"ok\n")
    for k, v in SECURITY_HEADERS.items():
        assert h[k] == [v], (k, h)
    assert h["cache-control"] == ["no-store"]
    csp = h["content-security-policy"][0]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    nonce = re.search(r"'nonce-([0-9a-f]+)'", csp).group(1)
    _, h2, _ = admin.request("GET", "/healthz")
    assert nonce not in h2["content-security-policy"][0], "the CSP nonce must change per response"
    st, h, body = admin.request("HEAD", "/healthz")
    assert (st, body) == (200, b"")


@pytest.mark.parametrize("path", ["/", "/jobs", "/jobs?tab=all&x=%2F", "/runs", "/runs/1"])
def test_pages_redirect_to_login(admin, path):
    st, h, _ = admin.request("GET", path)
    assert st == 303, (path, st)
    loc = h["location"][0]
    assert loc.startswith("/login?next="), loc
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(loc).query)["next"] == [path]


def test_api_and_metrics_need_credentials(admin):
    for path in ("/api/v1/jobs", "/api/v1/nonexistent-but-protected", "/metrics"):
        st, h, body = admin.request("GET", path)
        if path.endswith("protected"):
            # Unknown routes are 404 (JSON under /api/) and show nothing.
            assert st == 404 and b'"error"' in body, (st, body)
            continue
        assert st == 401, (path, st, body)
        assert h["www-authenticate"][0].startswith("Bearer"), h
    st, h, body = admin.request("GET", "/api/v1/jobs")
    assert h["content-type"] == ["application/json"]
    assert b'"status": 401' in body
    # Writes without credentials: 401 for the API, 403 for pages.
    st, _, _ = admin.request("POST", "/api/v1/scheduler", "{}", {"Content-Type": "application/json"})
    assert st == 401
    st, _, _ = admin.request("POST", "/logout", {})
    assert st == 403


def test_static_assets_are_public_and_cached(admin):
    st, h, body = admin.request("GET", "/static/app.css")
    assert st == 200 and body
    assert h["content-type"] == ["text/css; charset=utf-8"]
    assert h["cache-control"] == ["public, max-age=86400"]
    etag = h["etag"][0]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    assert etag.strip('"') == hashlib.sha256(body).hexdigest()
    st, h, body = admin.request("GET", "/static/app.css", headers={"If-None-Match": etag})
    assert (st, body) == (304, b"")
    st, h, _ = admin.request("GET", "/static/app.js")
    assert st == 200 and h["content-type"] == ["text/javascript; charset=utf-8"]
    for path in ("/static/nope.css", "/static/..%2f..%2fetc%2fpasswd", "/static/app.css/x"):
        st, _, body = admin.request("GET", path)
        assert st == 404, (path, st)
        assert b"root:" not in body


# ---- login, sessions, CSRF ---------------------------------------------------

def test_login_wrong_password_fails(admin):
    st, h, _ = admin.login(password="Tr0ub4dor-3")
    assert st == 403
    assert cookie_of(h, "cw_session") is None
    st, h, _ = admin.login(user="root")
    assert st == 403
    assert cookie_of(h, "cw_session") is None
    assert PASSWORD not in admin.log() and "Tr0ub4dor" not in admin.log()


def test_login_sets_strict_httponly_cookie_and_redirects(admin):
    st, h, _ = admin.login(next_path="/runs?x=1")
    assert st == 303
    assert h["location"] == ["/runs?x=1"]
    attrs = set_cookie_attrs(h, "cw_session")
    assert attrs is not None, h
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs, attrs
    assert re.fullmatch(r"[0-9a-f]{64}", cookie_of(h, "cw_session"))
    cookies = {"cw_session": cookie_of(h, "cw_session")}
    st, _, _ = admin.request("GET", "/jobs", cookies=cookies)
    assert st == 200
    st, h, _ = admin.request("GET", "/", cookies=cookies)
    assert (st, h["location"]) == (303, ["/jobs"])
    # A session works on the API too (reads need no CSRF token).
    st, _, body = admin.request("GET", "/api/v1/jobs", cookies=cookies)
    assert st == 200, body
    # The audit line names the user and address, never the password.
    log = admin.log()
    assert re.search(r"event=admin user=admin client=127\.0\.0\.1 action=login\b", log), log
    assert PASSWORD not in log


@pytest.mark.parametrize("bad", ["//evil.example/x", "/\\evil.example", "http://evil.example/", "jobs"])
def test_login_next_must_be_local(admin, bad):
    st, h, _ = admin.login(next_path=bad.replace("/", "%2F").replace("\\", "%5C").replace(":", "%3A"))
    assert st == 303
    assert h["location"] == ["/jobs"]


def test_login_needs_the_login_token(admin):
    token = admin.login_token()
    form = {"user": "admin", "password": PASSWORD.replace(" ", "+")}
    # No token, a token without the cookie, a token that does not match it.
    for body, cookies in (
        (form, {"cw_login": token}),
        (dict(form, csrf=token), None),
        (dict(form, csrf="0" * 64), {"cw_login": token}),
    ):
        st, h, _ = admin.request("POST", "/login", body, cookies=cookies)
        assert st == 403, (body, cookies)
        assert cookie_of(h, "cw_session") is None


def test_csrf_required_for_session_writes_and_logout(admin):
    cookies = admin.session()
    token = csrf_of(admin, cookies)
    # Without / with a wrong CSRF token: 403, and the session survives.
    st, _, _ = admin.request("POST", "/logout", {}, cookies=cookies)
    assert st == 403
    st, _, _ = admin.request("POST", "/logout", {"csrf": "f" * 64}, cookies=cookies)
    assert st == 403
    st, _, _ = admin.request("POST", "/api/v1/scheduler", "{}", {"Content-Type": "application/json",
                                                                 "X-CSRF-Token": "nope"}, cookies=cookies)
    assert st == 403
    st, _, _ = admin.request("GET", "/jobs", cookies=cookies)
    assert st == 200
    assert "event=admin_csrf_refused" in admin.log()
    if token is None:
        pytest.skip("the jobs page does not show the CSRF token yet")
    # With the right token (form field, then header): logout ends the session.
    st, h, _ = admin.request("POST", "/logout", {"csrf": token}, cookies=cookies)
    assert st == 303 and h["location"] == ["/login"]
    attrs = set_cookie_attrs(h, "cw_session")
    assert cookie_of(h, "cw_session") == "" and "Max-Age=0" in attrs
    st, h, _ = admin.request("GET", "/jobs", cookies=cookies)
    assert st == 303 and h["location"][0].startswith("/login")
    cookies = admin.session()
    token = csrf_of(admin, cookies)
    st, _, _ = admin.request("POST", "/logout", "", {"X-CSRF-Token": token}, cookies=cookies)
    assert st == 303


def test_login_throttled_after_repeated_failures(admin):
    for i in range(5):
        st, _, _ = admin.login(password=f"wrong{i}")
        assert st == 403, i
    # Blocked: one more check may run at once (the user's first check
    # while blocked), then 429 with Retry-After.
    st, h, _ = admin.login(password="wrong again")
    if st == 403:
        st, h, _ = admin.login(password="wrong once more")
    assert st == 429
    assert int(h["retry-after"][0]) > 0
    # Blocked, not locked out: the right password is refused too, but
    # checked again after a few seconds (one check per user at most that
    # often), not after the whole block.
    st, h, _ = admin.login()
    assert st == 429
    assert cookie_of(h, "cw_session") is None
    wait = int(h["retry-after"][0])
    assert 0 < wait <= 5, wait
    time.sleep(wait)
    st, h, _ = admin.login()
    assert st == 303 and cookie_of(h, "cw_session"), st
    # Other routes keep working.
    assert admin.request("GET", "/healthz")[0] == 200


def test_session_ends_when_the_password_changes(admin, wk):
    cookies = admin.session()
    assert admin.request("GET", "/jobs", cookies=cookies)[0] == 200
    new_hash = wk("passwd", input="another one\n").stdout.strip()
    admin.write_config(password_hash=new_hash, listen="127.0.0.1:1")
    os.kill(admin.proc.pid, signal.SIGHUP)
    wait_for(lambda: "event=reload " in admin.log(), timeout=10, what="the reload")
    st, h, _ = admin.request("GET", "/jobs", cookies=cookies)
    assert st == 303 and h["location"][0].startswith("/login")
    assert admin.login(password="another one")[0] == 303
    # A new listen address is not applied while running: a warning says so.
    assert "event=admin_listen_unchanged" in admin.log()


# ---- bearer tokens -------------------------------------------------------------

def test_bearer_token_on_api_and_metrics_only(admin):
    auth = {"Authorization": f"Bearer {admin.token}"}
    st, _, body = admin.request("GET", "/api/v1/jobs", headers=auth)
    if st == 404:
        pytest.skip("the API is not there yet")
    assert st == 200, body
    assert b"Hello" in body
    st, _, body = admin.request("GET", "/metrics", headers=auth)
    assert st == 200, body
    # No CSRF for token requests: the API answers (not 403).
    st, _, body = admin.request("POST", "/api/v1/scheduler", '{"enabled": true}',
                                {**auth, "Content-Type": "application/json"})
    assert st not in (401, 403), (st, body)
    # A wrong token is refused, even with a good session; pages ignore tokens.
    bad = {"Authorization": "Bearer " + admin.token[:-1] + ("A" if admin.token[-1] != "A" else "B")}
    st, h, body = admin.request("GET", "/api/v1/jobs", headers=bad, cookies=admin.session())
    assert st == 401 and h["www-authenticate"][0].startswith("Bearer")
    st, h, _ = admin.request("GET", "/jobs", headers=auth)
    assert st == 303 and h["location"][0].startswith("/login")
    assert admin.token not in admin.log()


def test_api_request_wakes_the_scheduler(admin, wk):
    auth = {"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"}
    st, _, body = admin.request("POST", "/api/v1/requests", '{"job": "Hello"}', auth)
    if st == 404:
        pytest.skip("the API is not there yet")
    assert st in (200, 201, 202), body
    # cw_http_wake sent SIGUSR1 from a server thread: the daemon (whose
    # threads all block it) takes it from its signalfd and starts the run.
    rows = wait_for(lambda: [r for r in wk.db_runs("Hello") if r["trigger"] == "request"], timeout=15,
                    what="the requested run")
    assert rows and admin.proc.poll() is None
    assert re.search(r"event=admin user=token:ci client=127\.0\.0\.1 action=", admin.log()), admin.log()


# ---- malformed and hostile requests ----------------------------------------------

def test_oversized_body_is_413(admin):
    big = "a=" + "x" * (64 * 1024 + 10)
    st, _, _ = admin.request("POST", "/login", big, {"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 413
    # Chunked, so the size is only known while reading.
    out = admin.raw(b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                    + b"".join(b"%x\r\n%s\r\n" % (8192, b"y" * 8192) for _ in range(10)) + b"0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413"), out[:200]


def test_malformed_requests(admin):
    cases = [
        ("/jobs%zz", 400),
        ("/jobs%00", 400),
        ("/jobs?a=%zz", 400),
        ("/jobs?a=%00", 400),
        ("/jobs?" + "&".join(f"k{i}=1" for i in range(65)), 400),
        ("/static/../../etc/passwd", 400),
        ("/static/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/static/.%2E/app.css", 400),
        ("/./healthz", 400),
        ("/no/such/page", 404),
        ("/api/v1/no-such-thing", 404),
    ]
    for path, want in cases:
        st, h, body = admin.request("GET", path)
        assert st == want, (path, st, body[:200])
        assert b"root:" not in body
        assert h["x-frame-options"] == ["DENY"], path
    st, _, body = admin.request("GET", "/api/v1/no-such-thing")
    assert body.startswith(b'{"error": {"status": 404'), body
    st, h, _ = admin.request("DELETE", "/healthz")
    assert st == 405 and h["allow"] == ["GET, HEAD"]
    st, h, _ = admin.request("GET", "/logout")
    assert st == 405 and h["allow"] == ["POST"]
    st, h, _ = admin.request("PATCH", "/login")
    assert st == 405 and h["allow"] == ["GET, HEAD, POST"]
    # A request line that is not a path, and a header too large to keep.
    out = admin.raw(b"GET http://evil.example/jobs HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400"), out[:100]
    # A NUL byte in the request line (libmicrohttpd would cut the path there).
    out = admin.raw(b"GET /static/app.css\x00/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400"), out[:100]
    assert b"Connection: close" in out.split(b"\r\n\r\n")[0]
    out = admin.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    assert out == b"" or re.match(rb"HTTP/1\.1 4\d\d", out), out[:100]
    # Still serving.
    assert admin.request("GET", "/healthz")[0] == 200


def test_slow_clients_do_not_block_others(admin):
    idle = []
    try:
        for i in range(12):
            s = socket.create_connection(("127.0.0.1", admin.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            idle.append(s)
        for _ in range(3):
            t0 = time.monotonic()
            st, _, body = admin.request("GET", "/healthz")
            assert (st, body) == (200, b"ok\n")
            # Bounded by the client's 10 s timeout; the idle clients hold
            # connections for 30 s, so an answer at all shows they did not
            # block it.
            assert time.monotonic() - t0 < 10
    finally:
        for s in idle:
            s.close()


def test_bind_failure_stops_the_daemon(wk):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        h = wk("passwd", input="x\n").stdout.strip()
        wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n",
                     globals=f"\n[admin]\nlisten = 127.0.0.1:{port}\npassword_hash = {h}\n")
        r = wk("daemon", timeout=20)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert f"cannot listen on '127.0.0.1:{port}'" in r.stderr and "in use" in r.stderr, r.stderr
        assert "event=start " not in r.stderr
    finally:
        blocker.close()


def test_no_admin_credentials_no_server(wk):
    port = free_port()
    wk.configure("[job Hello]\ncommand = true\nschedule = @daily\n", globals=f"\n[admin]\nlisten = 127.0.0.1:{port}\n")
    p = wk.spawn("daemon", env={"JOURNAL_STREAM": None})
    try:
        wait_for(lambda: b"event=start" in p.err_path.read_bytes(), timeout=10, what="event=start")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        os.kill(p.pid, signal.SIGTERM)
        rc, _, err = p.finish(timeout=10)
        assert rc == 0, err
    assert "admin_listen" not in err


# ---- cronwarden passwd ---------------------------------------------------------

def test_passwd_hash(cw):
    r = cw("passwd", input="s3cret\n")
    assert r.returncode == 0, r.stderr
    h = r.stdout.strip()
    assert re.fullmatch(r"\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", h), h
    assert r.stdout.count("\n") == 1
    assert cw("passwd", input="s3cret\n").stdout.strip() != h, "salted: two hashes differ"
    for bad in ("\n", ""):
        r = cw("passwd", input=bad)
        assert r.returncode == 2 and r.stdout == "", r
        assert "cronwarden:" in r.stderr
    r = cw("passwd", "--help")
    assert r.returncode == 0 and "password_hash" in r.stdout and "--token" in r.stdout
    assert "passwd" in cw("--help").stdout


def test_passwd_token(cw, tmp_config):
    r = cw("passwd", "--token", "grafana.ro")
    assert r.returncode == 0, r.stderr
    token, line = r.stdout.splitlines()
    assert re.fullmatch(r"cwt_[A-Za-z0-9_-]{43}", token), token
    assert line == f"api_token = grafana.ro sha256:{hashlib.sha256(token.encode()).hexdigest()}"
    assert cw("passwd", "--token", "grafana.ro").stdout.splitlines()[0] != token
    # The line is a valid config line.
    path = tmp_config(f"[cronwarden]\ndata_dir = data\n[admin]\n{line}\n")
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    for bad in ("", "a b", "x/y", "n" * 65):
        r = cw("passwd", "--token", bad)
        assert r.returncode == 2 and r.stdout == "", (bad, r)


def test_api_token_config_errors(cw, tmp_config):
    path = tmp_config("[cronwarden]\ndata_dir = data\n[admin]\napi_token = ci sha256:1234\n")
    r = cw("--config", path, "check")
    assert r.returncode == 2
    assert "api_token" in r.stderr and "cronwarden.ini:4:" in r.stderr, r.stderr
