"""The admin server under hostile clients (docs/api.md, "Security"), against
a real `cronwarden daemon`, over raw sockets from loopback addresses
(test_http_security.py's helpers). Sections: 1 slow clients and connection
limits, 2 reverse proxies ([admin] trusted_proxies), 3 login guessing
runs, 4 request framing (smuggling, huge queries), 5 the Secure cookie
and the new [admin] keys' checks.

Every wait is bounded; each test starts a daemon of its own, since they
fill connection tables or lock clients out. Each test here failed before
the server bounded request times, counted proxied clients, ran password
checks off its own threads, checked framing and set Secure."""

import http.client
import re
import threading
import time

import pytest

from test_http_security import (PASSWORD, USER, Daemon, Http, creds,  # noqa: F401 (a fixture)
                                session_cookie, set_cookie_header)

REQUEST_BOUND = 15.0  # seconds a request may take to arrive (CW_REQUEST_TIMEOUT_US)


@pytest.fixture
def daemon(build_dir, tmp_path, creds):  # noqa: F811
    """start(admin_extra="") -> a started Daemon; all are stopped at the end."""
    started = []
    pw_hash, token, token_line = creds

    def start(admin_extra=""):
        d = Daemon(build_dir, tmp_path / f"d{len(started)}", pw_hash, token_line,
                   jobs="[job Target]\ncommand = /bin/true\nschedule = 0 0 1 1 *\n", admin_extra=admin_extra)
        d.token = token
        started.append(d)
        return d.start()

    yield start
    try:
        for d in started:
            d.stop()
    finally:
        for d in started:
            d.kill_leftovers()


def timed_get(peer, path, timeout=10, **kw):
    t0 = time.monotonic()
    r = peer.get(path, timeout=timeout, **kw)
    return r, time.monotonic() - t0


class Trickle:
    """Sockets that each send a request one byte per `interval` seconds,
    driven by one thread; `closed_at[i]` is when the server closed
    socket i (None while open), `answers[i]` what it sent."""

    REQ = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000

    def __init__(self, port, sources, interval=1.0):
        self.socks = []
        for src in sources:
            try:
                self.socks.append(Http(port, source=src).connect(timeout=10))
            except OSError:
                self.socks.append(None)
        self.t0 = time.monotonic()
        self.closed_at = [None if s else 0.0 for s in self.socks]
        self.answers = [b"" for _ in self.socks]
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self.stop.is_set() and i < len(self.REQ):
            for k, s in enumerate(self.socks):
                if self.closed_at[k] is not None:
                    continue
                try:
                    s.setblocking(False)
                    try:
                        data = s.recv(4096)
                        if data:
                            self.answers[k] += data
                        else:
                            self.closed_at[k] = time.monotonic() - self.t0
                            continue
                    except BlockingIOError:
                        pass
                    s.send(self.REQ[i:i + 1])
                except OSError:
                    self.closed_at[k] = time.monotonic() - self.t0
            i += 1
            self.stop.wait(self.interval)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        for s in self.socks:
            if s:
                s.close()


# ---- 1. slow clients -----------------------------------------------------------------------

def test_trickled_request_is_cut_off(daemon):
    """A request sent a byte a second (never idle long enough for the idle
    timeout) is answered 408 or closed once it has taken the request
    bound, not kept for as long as the client likes."""
    d = daemon()
    t = Trickle(d.port, ["127.0.0.6"] * 3)
    try:
        deadline = time.monotonic() + REQUEST_BOUND + 8
        while time.monotonic() < deadline and any(c is None for c in t.closed_at):
            time.sleep(0.2)
        assert all(c is not None for c in t.closed_at), \
            f"trickling connections still open {REQUEST_BOUND + 8:.0f} s after they started"
        assert all(c >= REQUEST_BOUND - 1 for c in t.closed_at), f"closed too early: {t.closed_at}"
        for a in t.answers:
            assert a == b"" or a.startswith(b"HTTP/1.1 408"), a[:200]
    finally:
        t.close()
    r = d.http.get("/healthz")
    assert r.status == 200, r


def test_slow_connections_do_not_lock_out_others(daemon):
    """300 trickling connections from 10 addresses (30 each, under the
    per-address cap): other clients are still served promptly."""
    d = daemon()
    t = Trickle(d.port, [f"127.0.4.{1 + i % 10}" for i in range(300)])
    try:
        time.sleep(2.5)
        lat = []
        for i in range(6):
            r, dt = timed_get(Http(d.port, source=f"127.0.7.{i + 1}"), "/healthz", timeout=10)
            assert r.status == 200, r
            lat.append(dt)
            time.sleep(0.5)
        assert max(lat) < 3.0, f"/healthz latencies with 300 slow connections open: {lat}"
        assert d.http.get("/api/v1/jobs", token=d.token).status == 200
    finally:
        t.close()


def test_one_address_is_capped(daemon):
    """One address cannot take every connection: beyond its cap its new
    connections are refused while other addresses are served."""
    d = daemon()
    one = Http(d.port, source="127.0.8.1")
    socks = []
    try:
        for _ in range(100):
            try:
                socks.append(one.connect(timeout=5))
            except OSError:
                break
        # The connections over the cap are closed by the server.
        closed = set()
        deadline = time.monotonic() + 10
        while len(closed) < 50 and time.monotonic() < deadline:
            for i, s in enumerate(socks):
                s.setblocking(False)
                try:
                    if i not in closed and s.recv(1) == b"":
                        closed.add(i)
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(i)
            time.sleep(0.1)
        assert len(closed) >= 50, f"only {len(closed)} of {len(socks)} connections from one address were refused"
        r, dt = timed_get(Http(d.port, source="127.0.8.2"), "/healthz")
        assert r.status == 200 and dt < 3, (r, dt)
    finally:
        for s in socks:
            s.close()


# ---- 2. reverse proxies ----------------------------------------------------------------------

def login_via(d, proxy, xff, password=PASSWORD):
    """Logs in through a proxy (an Http) forwarding for xff."""
    h = [("X-Forwarded-For", xff)] if xff else []
    r = proxy.get("/login", headers=h)
    assert r.status == 200, r
    cookie = next(v.split(";", 1)[0] for v in r.all("set-cookie") if v.startswith("cw_login="))
    csrf = re.search(r'name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"', r.text)
    csrf = csrf.group(1) or csrf.group(2)
    return proxy.post("/login", form={"user": USER, "password": password, "csrf": csrf}, cookie=cookie, headers=h)


def test_trusted_proxy_is_not_one_client(daemon):
    """Behind a trusted proxy, connections and failed logins count per
    forwarded address: the proxy's own address is never capped or
    throttled as a whole. An untrusted peer's X-Forwarded-For is ignored."""
    d = daemon("trusted_proxies = 127.0.0.1, 10.0.0.0/8")
    proxy = Http(d.port)  # 127.0.0.1
    socks = []
    try:
        for _ in range(40):  # more than the per-address cap, all from the proxy
            socks.append(proxy.connect(timeout=5))
        time.sleep(0.3)
        r = proxy.get("/healthz", headers=[("X-Forwarded-For", "198.51.100.9")])
        assert r.status == 200, f"the proxy's 41st connection: {r}"
    finally:
        for s in socks:
            s.close()
    # One forwarded address is capped like a direct client: requests
    # waiting for their body, all from 203.0.113.5 through the proxy.
    socks = []
    try:
        for _ in range(36):
            s = proxy.connect(timeout=10)
            s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\n")
            socks.append(s)
        # The server takes the requests in any order: whichever come after
        # the 32nd are refused, at once, and no more.
        refused = set()
        deadline = time.monotonic() + 10
        while len(refused) < 4 and time.monotonic() < deadline:
            for i, s in enumerate(socks):
                s.setblocking(False)
                try:
                    if i not in refused and s.recv(4096).startswith(b"HTTP/1.1 503"):
                        refused.add(i)
                except BlockingIOError:
                    pass
            time.sleep(0.1)
        time.sleep(0.5)
        for i, s in enumerate(socks):
            try:
                if i not in refused and s.recv(4096):
                    refused.add(i)
            except BlockingIOError:
                pass
        assert len(refused) == 4, f"refused {sorted(refused)} of 36 requests from one forwarded address"
        r = proxy.get("/healthz", headers=[("X-Forwarded-For", "198.51.100.9")])
        assert r.status == 200, f"another forwarded address meanwhile: {r}"
    finally:
        for s in socks:
            s.close()
    # A guessing run from one forwarded address locks out that address only.
    statuses = [login_via(d, proxy, "203.0.113.7", password="wrong").status for _ in range(8)]
    assert statuses[-1] == 429, statuses
    r = login_via(d, proxy, "198.51.100.2")
    assert r.status == 303 and session_cookie(r), f"another user behind the proxy: {r}"
    # The client is the last untrusted hop: a forged first element is not it.
    r = login_via(d, proxy, "198.51.100.2, 203.0.113.7, 10.1.2.3", password="wrong")
    assert r.status == 429, f"forwarded for 203.0.113.7 through a second trusted proxy: {r}"
    # An untrusted peer cannot pick its address with the header.
    other = Http(d.port, source="127.0.0.9")
    statuses = [login_via(d, other, f"192.0.2.{i}", password="wrong").status for i in range(8)]
    assert statuses[-1] == 429, f"untrusted peer rotating X-Forwarded-For: {statuses}"


# ---- 3. login guessing ----------------------------------------------------------------------

def test_guessing_run_keeps_the_server_responsive(daemon):
    """24 parallel wrong logins from 8 addresses: /healthz and a
    logged-in page answer within a bound all along, and afterwards the
    right password gets in, also from an address that was guessing (at
    most one check per user every few seconds while it is throttled)."""
    d = daemon()
    sess = d.session(Http(d.port, source="127.0.9.1"))
    stop = threading.Event()
    counts = {}

    def guess(src):
        peer = Http(d.port, source=src)
        cookie, csrf = d.login_token(peer)
        n = 0
        while not stop.is_set():
            try:
                r = peer.post("/login", form={"user": USER, "password": f"wrong{n}", "csrf": csrf}, cookie=cookie,
                              timeout=30)
                counts[r.status] = counts.get(r.status, 0) + 1
            except (OSError, AssertionError, http.client.HTTPException):
                pass
            n += 1
            stop.wait(0.02)  # parallel, not a CPU flood of the shared test machine

    threads = [threading.Thread(target=guess, args=(f"127.0.10.{i % 8 + 1}",), daemon=True) for i in range(24)]
    for t in threads:
        t.start()
    lat = []
    try:
        end = time.monotonic() + 8
        while time.monotonic() < end:
            _, a = timed_get(Http(d.port, source="127.0.9.2"), "/healthz")
            r, b = timed_get(sess.http, "/jobs", cookie=sess.cookie)
            assert r.status == 200, r
            lat.append(max(a, b))
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=40)
    assert max(lat) < 1.5, f"latencies during the guessing run: max {max(lat):.2f} s ({sorted(lat)[-5:]}); " \
                           f"answers {counts}"
    assert counts.get(429, 0) + counts.get(503, 0) > 0, f"the guessing run was never slowed down: {counts}"
    # The right password, from an address that was guessing: refused for
    # a few seconds at most (Retry-After), then let in.
    guesser = Http(d.port, source="127.0.10.1")
    deadline = time.monotonic() + 20
    seen = []
    while True:
        r = d.login(http=guesser)
        seen.append((r.status, r.header("retry-after")))
        if r.status == 303:
            break
        assert r.status in (429, 503) and time.monotonic() < deadline, f"right password after the run: {seen}"
        time.sleep(min(float(r.header("retry-after") or 1), 6))
    assert session_cookie(r), r




def test_stop_during_a_guessing_run(daemon):
    """SIGTERM while logins are waiting for their password check: the
    daemon answers or drops them and exits 0 (no hang, no leak)."""
    d = daemon()
    cookie, csrf = d.login_token()
    stop = threading.Event()

    def guess(i):
        peer = Http(d.port, source=f"127.0.11.{i + 1}")
        while not stop.is_set():
            try:
                peer.post("/login", form={"user": USER, "password": "wrong", "csrf": csrf}, cookie=cookie,
                          timeout=20)
            except (OSError, AssertionError, http.client.HTTPException):
                pass

    threads = [threading.Thread(target=guess, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    try:
        d.stop()  # asserts exit 0 within 15 s and no sanitizer report
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    d.proc = None  # stopped already


# ---- 4. framing ------------------------------------------------------------------------------

def read_all(s, limit=10.0):
    s.settimeout(limit)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    return out


def test_request_smuggling_and_huge_queries_refused(daemon):
    d = daemon()
    cases = {
        "two Content-Length": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n"
                              b"Connection: close\r\n\r\nabcde",
        "Content-Length and Transfer-Encoding": b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                                                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "another coding": b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                          b"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 without Host": b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
    }
    for what, data in cases.items():
        with d.http.connect(timeout=10) as s:
            t0 = time.monotonic()
            s.sendall(data)
            out = read_all(s)
            dt = time.monotonic() - t0
        assert out.startswith(b"HTTP/1.1 400"), f"{what}: {out[:300]!r}"
        # (libmicrohttpd's own 400 for a missing Host repeats its status
        # line; what matters is that no second request is served.)
        assert b"\r\n\r\nok\n" not in out and b" 200 OK" not in out, \
            f"{what}: a smuggled request was served: {out!r}"
        assert dt < 5, f"{what}: the connection stayed open {dt:.1f} s"
    for n in (100, 1000, 5000):
        qs = "&".join(f"p{i}=1" for i in range(n))
        for path, kw in ((f"/healthz?{qs}", {}), (f"/api/v1/jobs?{qs}", {"token": d.token})):
            r, dt = timed_get(d.http, path, timeout=8, **kw)
            assert r.status in (400, 414), f"GET {path[:30]}... ({n} params): {r}"
            assert dt < 3, f"{n} params: answered after {dt:.1f} s"
    assert d.http.get("/healthz?a=1&b=2").status == 200


# ---- 5. the Secure cookie --------------------------------------------------------------------

@pytest.mark.parametrize("extra,secure", [
    ("", False),
    ("public_url = https://cron.example.com/", True),
    ("public_url = http://cron.example.com/", False),
    ("public_url = https://cron.example.com/\ncookie_secure = no", False),
    ("cookie_secure = yes", True),
])
def test_session_cookie_secure(daemon, extra, secure):
    d = daemon(extra)
    r = d.login()
    assert r.status == 303, r
    for name in ("cw_session",):
        hdr = set_cookie_header(r, name)
        attrs = [a.strip().lower() for a in hdr.split(";")[1:]]
        assert ("secure" in attrs) == secure, f"[admin] {extra!r}: {hdr}"
    hdr = set_cookie_header(d.http.get("/login"), "cw_login")
    assert ("secure" in [a.strip().lower() for a in hdr.split(";")[1:]]) == secure, hdr


@pytest.mark.parametrize("line,error", [
    ("trusted_proxies = 127.0.0.1, ::1/128 10.0.0.0/8", None),
    ("trusted_proxies = 10.0.0.0/33", "trusted_proxies: expected IP addresses or CIDR ranges"),
    ("trusted_proxies = proxy.example.com", "trusted_proxies: expected IP addresses or CIDR ranges"),
    ("trusted_proxies = 10.0.0.1/", "trusted_proxies: expected IP addresses or CIDR ranges"),
    ("public_url = https://cron.example.com/ui", None),
    ("public_url = cron.example.com", "public_url: expected an http:// or https:// URL"),
    ("public_url = https:///x", "public_url: the URL has no host name"),
    ("cookie_secure = no", None),
    ("cookie_secure = maybe", "cookie_secure: expected auto, yes or no"),
])
def test_admin_keys_checked(cw, tmp_config, line, error):
    path = tmp_config(f"[cronwarden]\ndata_dir = data\n\n[admin]\n{line}\n")
    p = cw("--config", path, "check")
    if error is None:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 2 and f":5: {error}" in p.stderr, p.stderr
