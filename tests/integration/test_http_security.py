"""Security of the admin HTTP server (issue 5; docs/api.md, docs/hacking.md, Quality targets:
"no access without login, CSRF enforced, output HTML-escaped, no SQL built
from strings"), against a real `cronwarden daemon` with an [admin] section
on a free loopback port. Sections, in file order: 1 authentication, 2
CSRF (and bearer tokens), 3 XSS, 4 SQL metacharacters, 5 path traversal
on /static/, 6 oversized and malformed requests, 7 login throttling,
cookies and sessions.

Everything goes over raw sockets with the stdlib (no HTTP library that
would normalise paths or refuse bad input): `Http.request()` writes the
exact bytes given, so paths with `..`, `%00` or a NUL byte reach the server
as written; `Http(port, source="127.0.0.N")` connects from another
loopback address, i.e. as another client.

Routes are not listed by hand: `discover_routes()` reads every
`cw_http_*_routes[]` table in src/http/*.c, so a route added later is
covered by the authentication, CSRF, GET-is-safe and token checks without
editing this file. test_routes_discovered makes sure the discovery itself
still works (it must find the routes the product promises).

One daemon serves most of the module (fixture `srv`, module-scoped); it
runs a per-second job (`Tick`) so the last test can show that after all
the abuse the scheduler still fires. Tests that lock a client out or need
a quiet store start a daemon of their own (fixture `fresh`). Every wait
is bounded; the daemons get SIGTERM at the end and must exit 0; leftover
processes carrying the daemon's CW_TEST_TAG are SIGKILLed.

State checks read the store both through cronwarden (`jobs --json`,
`status --json`, `history --json`, GET /api/v1/jobs) and from the SQLite
file itself (`Daemon.snapshot()`: every table, less what the per-second
job keeps changing)."""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from worker_helpers import wait_for

PASSWORD = "correct horse battery staple"
USER = "admin"
TOKEN_NAME = "ci"

XSS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "javascript:alert(3)",
    "'><svg onload=alert(4)>",
)
# What must never appear verbatim in HTML (the active parts of XSS).
XSS_RAW = ("<script>alert", "<img src=x onerror", "<svg onload")
SQL = ("'", '"', ";", "--", "%", "_", "\\", "\0", "' OR '1'='1", "1; DROP TABLE runs; --",
       "%' OR 1=1 --", "1 UNION SELECT * FROM runs", "x\\' OR 1=1")

IO_TIMEOUT = 20.0  # seconds, for any single request


# ---- raw HTTP ------------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name lower-cased, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {self.body[:300]!r}")

    def is_json(self):
        return (self.header("content-type") or "").startswith("application/json")

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:300]!r}>"


def read_response(sock, head=False):
    """Parses one response from sock (http.client's parser)."""
    r = http.client.HTTPResponse(sock, method="HEAD" if head else "GET")
    r.begin()
    body = r.read()
    return Resp(r.status, r.reason, [(k.lower(), v) for k, v in r.getheaders()], body)


def as_bytes(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


class Http:
    """A client of one server. source: a loopback address to connect from
    (e.g. "127.0.0.2"), so a throttled client does not lock out others."""

    def __init__(self, port, source=None):
        self.port = port
        self.source = source

    def connect(self, timeout=IO_TIMEOUT):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if self.source:
            s.bind((self.source, 0))
        s.connect(("127.0.0.1", self.port))
        return s

    def raw(self, data, timeout=IO_TIMEOUT, head=False, half_close=False):
        """Sends bytes, returns the Resp (None when the server closed the
        connection without answering). half_close: shut our side down
        after sending, so a server waiting for more sees the end."""
        with self.connect(timeout) as s:
            try:
                s.sendall(data)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server answered (or gave up) and closed first: read what it said
            try:
                return read_response(s, head=head)
            except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine,
                    http.client.IncompleteRead):
                return None

    def request(self, method, path, body=b"", headers=(), cookie=None, token=None, csrf=None,
                form=None, js=None, timeout=IO_TIMEOUT):
        """One request on a fresh connection. path: str or bytes, sent as
        is (percent-encode it yourself). form: dict or list of pairs
        (urlencoded); js: an object sent as JSON."""
        hdrs = [("Host", f"127.0.0.1:{self.port}"), ("Connection", "close")]
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
        elif js is not None:
            body = json.dumps(js).encode()
            hdrs.append(("Content-Type", "application/json"))
        if cookie:
            hdrs.append(("Cookie", cookie))
        if token:
            hdrs.append(("Authorization", f"Bearer {token}"))
        if csrf is not None:
            hdrs.append(("X-CSRF-Token", csrf))
        hdrs.extend(headers)
        body = as_bytes(body)
        if body or method in ("POST", "PUT", "DELETE"):
            hdrs.append(("Content-Length", str(len(body))))
        data = as_bytes(method) + b" " + as_bytes(path) + b" HTTP/1.1\r\n"
        data += b"".join(as_bytes(k) + b": " + as_bytes(v) + b"\r\n" for k, v in hdrs)
        data += b"\r\n" + body
        r = self.raw(data, timeout=timeout, head=(method == "HEAD"))
        assert r is not None, f"{method} {path!r}: the server closed the connection without answering"
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def q(s):
    """Percent-encodes everything but unreserved characters."""
    return urllib.parse.quote(s, safe="")


# ---- route discovery -------------------------------------------------------------

class Route:
    def __init__(self, table, methods, pattern, flags):
        self.table = table
        self.methods = methods      # {"GET", "POST", ...}
        self.pattern = pattern
        self.public = "PUBLIC" in flags
        self.api = "API" in flags

    def __repr__(self):
        return f"{'|'.join(sorted(self.methods))} {self.pattern} ({self.table}{' public' if self.public else ''}{' api' if self.api else ''})"


_TABLE_RE = re.compile(r"const\s+cw_http_route\s+(cw_http_\w+_routes)\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;", re.S)
_DEFINE_RE = re.compile(r'^\s*#\s*define\s+(\w+)\s+((?:"(?:[^"\\]|\\.)*"\s*)+)\s*$', re.M)
_STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _entries(body):
    """The top-level {...} initialisers of a table body."""
    out, depth, start = [], 0, None
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"//[^\n]*", "", body)
    for i, ch in enumerate(body):
        if ch == "{":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(body[start:i])
    return out


def discover_routes(repo):
    """Every route of every cw_http_*_routes[] table in src/http/*.c."""
    routes = []
    srcs = sorted((repo / "src" / "http").glob("*.c"))
    macros = {}
    for f in [repo / "src" / "http" / "http.h", *srcs]:
        for name, lits in _DEFINE_RE.findall(f.read_text()):
            macros[name] = "".join(_STR_RE.findall(lits))
    for f in srcs:
        text = f.read_text()
        for table, body in _TABLE_RE.findall(text):
            for e in _entries(body):
                if not e.strip() or e.strip() == "0":
                    continue
                methods = set(re.findall(r"CW_HTTP_(GET|POST|PUT|DELETE)\b", e))
                flags = set(re.findall(r"CW_ROUTE_(PUBLIC|API)\b", e))
                # The pattern: string literals and string macros, in order.
                pieces = re.findall(r'"((?:[^"\\]|\\.)*)"|\b([A-Z_][A-Z0-9_]*)\b', e)
                pattern = ""
                for lit, name in pieces:
                    if lit:
                        pattern += lit
                    elif name in macros:
                        pattern += macros[name]
                if not pattern.startswith("/"):
                    continue
                routes.append(Route(table, methods, pattern, flags))
    return routes


# ---- the daemon ------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A `cronwarden daemon` with [admin] on a free loopback port."""

    def __init__(self, build_dir, tmp, password_hash, token_line, jobs="", admin_extra=""):
        self.binary = Path(build_dir) / "cronwarden"
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.tmp / "data"
        self.config = self.tmp / "cronwarden.ini"
        self.port = free_port()
        self.tag = secrets.token_hex(8)
        self.config.write_text(
            "[cronwarden]\n"
            f"data_dir = {self.data_dir}\n"
            "timezone = UTC\n\n"
            "[admin]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            f"user = {USER}\n"
            f"password_hash = {password_hash}\n"
            f"{token_line}\n"
            f"{admin_extra}\n\n"
            "[defaults]\n"
            f"env = CW_TEST_TAG={self.tag}\n\n"
            f"{jobs}\n"
        )
        self.http = Http(self.port)
        self.proc = None
        self.err_path = self.tmp / "daemon.err"

    def env(self):
        env = dict(os.environ)
        env.pop("CRONWARDEN_CONFIG", None)
        env.pop("JOURNAL_STREAM", None)
        env["CW_TEST_TAG"] = self.tag
        return env

    def cli(self, *args, input=None, check=True, timeout=60):
        p = subprocess.run([str(self.binary), "--config", str(self.config), *map(str, args)],
                           capture_output=True, text=True, env=self.env(), input=input,
                           stdin=None if input is not None else subprocess.DEVNULL, timeout=timeout)
        if check:
            assert p.returncode == 0, f"cronwarden {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def start(self):
        with open(self.err_path, "wb") as fe:
            self.proc = subprocess.Popen([str(self.binary), "--config", str(self.config), "daemon"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fe,
                                         env=self.env(), cwd=str(self.tmp))

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                r = self.http.get("/healthz", timeout=2)
            except OSError:
                return None
            return "up" if r.status == 200 else None

        state = wait_for(up, timeout=20, interval=0.05, what="the daemon's /healthz")
        assert state == "up", f"daemon exited {self.proc.returncode}:\n{self.log()}"
        return self

    def log(self):
        return self.err_path.read_bytes().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        assert self.proc.poll() is None, f"daemon died (exit {self.proc.returncode}):\n{self.log()}"
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"daemon still running 15 s after SIGTERM:\n{self.log()}")
        assert rc == 0, f"daemon exited {rc} on SIGTERM:\n{self.log()}"
        assert "runtime error:" not in self.log() and "AddressSanitizer" not in self.log(), self.log()

    def kill_leftovers(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        needle = f"CW_TEST_TAG={self.tag}".encode()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                if needle in Path(f"/proc/{d}/environ").read_bytes().split(b"\0"):
                    os.kill(int(d), signal.SIGKILL)
            except OSError:
                pass

    # ---- the store, read directly ----

    @property
    def db_path(self):
        return self.data_dir / "cronwarden.db"

    def db(self):
        con = sqlite3.connect(str(self.db_path), timeout=10)
        con.execute("PRAGMA busy_timeout = 10000")
        return con

    def snapshot(self):
        """Every table's rows, except the per-second job's runs/claims and
        the scheduler's last-pass stamp: what no rejected request may
        change."""
        con = self.db()
        try:
            out = {}
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for t in tables:
                if t in ("sqlite_sequence", "claims", "run_output"):
                    continue
                cols = [c[1] for c in con.execute(f'PRAGMA table_info("{t}")')]
                if t == "runs":
                    rows = con.execute("SELECT id, job, status, trigger FROM runs WHERE job != 'Tick' "
                                       "ORDER BY id").fetchall()
                elif t == "scheduler_state":
                    rows = con.execute("SELECT key, value FROM scheduler_state WHERE key NOT LIKE 'last%' "
                                       "ORDER BY key").fetchall()
                elif "job" in cols:
                    # Aggregates: the per-second job's, and the global
                    # lateness histogram ('' job) that its runs feed, move.
                    rows = sorted(con.execute(f'SELECT * FROM "{t}" WHERE job NOT IN (\'Tick\', \'\')').fetchall(),
                                  key=repr)
                else:
                    rows = sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                out[t] = rows
            out["outputs"] = con.execute(
                "SELECT count(*) FROM run_output o JOIN runs r ON r.id = o.run_id WHERE r.job != 'Tick'").fetchone()
            return out
        finally:
            con.close()

    def integrity(self):
        con = self.db()
        try:
            return con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()

    def tick_runs(self):
        con = self.db()
        try:
            return con.execute("SELECT count(*) FROM runs WHERE job = 'Tick'").fetchone()[0]
        finally:
            con.close()

    # ---- sessions ----

    def login_token(self, http=None):
        """GET /login: (cookie 'cw_login=X', the form's csrf field)."""
        r = (http or self.http).get("/login")
        assert r.status == 200, f"GET /login: {r}"
        cookie = None
        for v in r.all("set-cookie"):
            nv = v.split(";", 1)[0].strip()
            if nv.startswith("cw_login="):
                cookie = nv
        assert cookie, f"GET /login set no cw_login cookie: {r}"
        m = re.search(r'<input[^>]*name="csrf"[^>]*value="([^"]+)"', r.text) or \
            re.search(r'<input[^>]*value="([^"]+)"[^>]*name="csrf"', r.text)
        assert m, f"no csrf field in the login form:\n{r.text[:2000]}"
        return cookie, m.group(1)

    def login(self, http=None, password=PASSWORD, next_=None, user=USER):
        """GET /login, then POST the login form as a browser would;
        returns the Resp of the POST."""
        http = http or self.http
        cookie, csrf = self.login_token(http)
        form = {"user": user, "password": password, "csrf": csrf}
        if next_ is not None:
            form["next"] = next_
        return http.post("/login", form=form, cookie=cookie)

    def session(self, http=None):
        """Logs in; returns a Session (cookie and CSRF token)."""
        r = self.login(http)
        assert r.status == 303, f"login refused: {r}"
        cookie = session_cookie(r)
        assert cookie, f"login set no cookie: {r}"
        s = Session(self, cookie, http or self.http)
        s.csrf = find_csrf(s.get("/jobs"))
        return s


SESSION_COOKIE = "cw_session"


def session_cookie(r):
    """'cw_session=ID' from a response's Set-Cookie, or None."""
    for v in r.all("set-cookie"):
        nv = v.split(";", 1)[0].strip()
        if nv.startswith(SESSION_COOKIE + "=") and nv.split("=", 1)[1]:
            return nv
    return None


def set_cookie_header(r, name=SESSION_COOKIE):
    for v in r.all("set-cookie"):
        if v.strip().startswith(name + "="):
            return v
    return None


_CSRF_RES = (
    re.compile(r'<input[^>]*name="csrf"[^>]*value="([^"]+)"'),
    re.compile(r'<input[^>]*value="([^"]+)"[^>]*name="csrf"'),
    re.compile(r'<meta[^>]*name="csrf[-_]token"[^>]*content="([^"]+)"'),
    re.compile(r'data-csrf="([^"]+)"'),
)


def find_csrf(r):
    assert r.status == 200, f"GET /jobs with a session: {r}"
    for rx in _CSRF_RES:
        m = rx.search(r.text)
        if m:
            return m.group(1)
    raise AssertionError(f"no CSRF token in the jobs page:\n{r.text[:2000]}")


class Session:
    def __init__(self, d, cookie, http):
        self.d = d
        self.cookie = cookie
        self.http = http
        self.csrf = None

    def get(self, path, **kw):
        return self.http.get(path, cookie=self.cookie, **kw)

    def request(self, method, path, **kw):
        return self.http.request(method, path, cookie=self.cookie, **kw)


# ---- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="module")
def creds(build_dir, tmp_path_factory):
    """(password_hash, token, token config line) from `cronwarden passwd`."""
    binary = build_dir / "cronwarden"
    cwd = tmp_path_factory.mktemp("passwd")
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    p = subprocess.run([str(binary), "passwd"], input=PASSWORD + "\n" + PASSWORD + "\n",
                       capture_output=True, text=True, env=env, cwd=str(cwd), timeout=60)
    assert p.returncode == 0, f"cronwarden passwd: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    m = re.search(r"\$argon2id\$\S+", p.stdout)
    assert m, f"no argon2id hash in `cronwarden passwd` output:\n{p.stdout}"
    pw_hash = m.group(0)
    p = subprocess.run([str(binary), "passwd", "--token", TOKEN_NAME], capture_output=True, text=True,
                       env=env, cwd=str(cwd), timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"cronwarden passwd --token: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    line = re.search(r"^\s*(api_token\s*=\s*\S+\s+sha256:[0-9a-f]{64})\s*$", p.stdout, re.M)
    assert line, f"no `api_token = NAME sha256:HEX` line in:\n{p.stdout}"
    token = p.stdout.splitlines()[0].strip()
    assert re.fullmatch(r"[A-Za-z0-9_\-.~]{40,}", token), f"first line is not a token:\n{p.stdout}"
    return pw_hash, token, line.group(1)


def module_jobs(tmp):
    xss_desc = " ".join(XSS)
    out_script = tmp / "xss_out.sh"
    out_script.write_text("#!/bin/sh\n" + "".join(f"printf '%s\\n' '{x.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n" for x in XSS)
                          + 'printf "arg: %s\\n" "$@"\n')
    out_script.chmod(0o755)
    return (
        "[job Tick]\n"
        "command = /bin/true\n"
        "schedule = * * * * * *\n"
        "concurrency = allow\n"
        "lock = none\n\n"
        "[job Xss]\n"
        f"description = {xss_desc}\n"
        f"command = {out_script}\n"
        "args = what\n"
        "options = note\n"
        "lock = none\n\n"
        "[job Target]\n"
        "description = a job the CSRF tests try to act on\n"
        "command = /bin/sleep 600\n"
        "schedule = 0 0 1 1 *\n"
        "lock = none\n"
        "concurrency = allow\n"
    )


@pytest.fixture(scope="module")
def srv(build_dir, tmp_path_factory, creds):
    pw_hash, token, token_line = creds
    tmp = tmp_path_factory.mktemp("http")
    d = Daemon(build_dir, tmp, pw_hash, token_line, jobs=module_jobs(tmp))
    d.token = token
    # History before the daemon starts: runs whose output and params carry
    # the XSS payloads, and a few finished runs of Target.
    for x in XSS:
        d.cli("run", "--quiet", f'Xss:"{x}",note="{x}"', check=False)
    try:
        d.start()
        yield d
        d.stop()
    finally:
        d.kill_leftovers()


@pytest.fixture(scope="module")
def routes(repo):
    return discover_routes(repo)


@pytest.fixture(scope="module")
def sess(srv):
    return srv.session()


# ---- helpers on routes ---------------------------------------------------------------

def arg_values(srv):
    """Plausible values for % segments, by the segment before them."""
    runs = srv.cli_json("history", "--limit", "5")
    run_id = str(runs[0]["id"]) if runs else "1"
    return {"jobs": "Target", "job": "Target", "runs": run_id, "run": run_id, "entries": "1",
            "entry": "1", "static": "app.css", "nodes": "local", "tokens": TOKEN_NAME}


def fill(pattern, values):
    segs = pattern.split("/")
    for i, s in enumerate(segs):
        if s == "%":
            segs[i] = q(values.get(segs[i - 1] if i else "", "x"))
    return "/".join(segs)


def is_api(route):
    return route.api or route.pattern.startswith("/api/") or route.pattern == "/metrics"


# ---- discovery -------------------------------------------------------------------

def test_routes_discovered(routes):
    pats = {r.pattern for r in routes}
    for want in ("/healthz", "/login", "/logout", "/jobs", "/api/v1/jobs", "/metrics"):
        assert want in pats, f"route {want} not found in src/http/*.c route tables (found {sorted(pats)})"
    assert any(r.pattern.startswith("/static/") for r in routes), sorted(pats)
    assert any("POST" in r.methods and not r.public and not is_api(r) for r in routes), routes


# ---- 1. authentication -----------------------------------------------------------------

PUBLIC_OK = re.compile(r"^/(healthz|login|logout|static/.*)$")


def test_only_healthz_login_static_are_public(routes):
    public = [r for r in routes if r.public]
    bad = [r for r in public if not PUBLIC_OK.match(r.pattern)]
    assert not bad, f"routes readable without login beyond /healthz, /login, /static/*: {bad}"
    bad = [r for r in public if r.pattern == "/logout" and "GET" in r.methods]
    assert not bad, f"GET /logout is public: {bad}"


def test_every_route_refused_without_session(srv, routes):
    values = arg_values(srv)
    problems = []
    for r in routes:
        if r.public:
            continue
        path = fill(r.pattern, values)
        for m in sorted(r.methods):
            resp = srv.http.request(m, path, form={} if m in ("POST", "PUT") else None)
            where = f"{m} {path} ({r.table})"
            if is_api(r):
                if resp.status != 401:
                    problems.append(f"{where}: {resp.status}, expected 401")
            elif m == "GET":
                loc = resp.header("location") or ""
                if resp.status != 303 or not loc.split("?")[0].endswith("/login"):
                    problems.append(f"{where}: {resp.status} Location {loc!r}, expected 303 to /login")
            elif resp.status not in (401, 403):
                problems.append(f"{where}: {resp.status}, expected 401 or 403")
            if resp.status == 200:
                problems.append(f"{where}: 200 without a session: {resp.body[:200]!r}")
    assert not problems, "\n".join(problems)


def test_unauthenticated_api_and_metrics_answer_json(srv, routes):
    """401s of the API and /metrics are JSON error objects (issue 5), with
    WWW-Authenticate: Bearer."""
    values = arg_values(srv)
    problems = []
    for r in routes:
        if r.public or not is_api(r):
            continue
        path = fill(r.pattern, values)
        for m in sorted(r.methods):
            resp = srv.http.request(m, path, form={} if m in ("POST", "PUT") else None)
            where = f"{m} {path}"
            if not resp.is_json():
                problems.append(f"{where}: {resp.status} with Content-Type {resp.header('content-type')!r}, "
                                f"expected JSON")
                continue
            err = resp.json()
            if not isinstance(err, dict) or err.get("error", {}).get("status") != 401:
                problems.append(f"{where}: body {err!r} is not an error object with status 401")
            if "bearer" not in (resp.header("www-authenticate") or "").lower():
                problems.append(f"{where}: no WWW-Authenticate: Bearer")
    assert not problems, "\n".join(problems)


def test_head_and_unknown_paths_without_session(srv):
    for path in ("/jobs", "/", "/runs", "/no/such/page", "/api/v1/no-such", "/api/v1/jobs"):
        for m in ("GET", "HEAD"):
            r = srv.http.request(m, path)
            assert r.status in (303, 401, 404), f"{m} {path} without a session: {r}"
            if r.status == 404:
                assert b"Target" not in r.body and b"Tick" not in r.body, r


def test_public_routes_readable(srv):
    r = srv.http.get("/healthz")
    assert r.status == 200, r
    assert b"Target" not in r.body and b"Xss" not in r.body, f"/healthz shows job data: {r}"
    r = srv.http.get("/login")
    assert r.status == 200, r


def test_security_headers_on_every_kind_of_response(srv, sess):
    for r in (srv.http.get("/login"), sess.get("/jobs"), sess.get("/jobs/Xss"), srv.http.get("/jobs"),
              sess.get("/no/such/page")):
        csp = r.header("content-security-policy")
        assert csp, f"no Content-Security-Policy header: {r}"
        check_csp(csp)
        assert (r.header("x-content-type-options") or "").lower() == "nosniff", r
        assert r.header("x-frame-options") or "frame-ancestors" in csp, r
    # What a session sees is not kept by caches.
    for r in (sess.get("/jobs"), sess.get("/runs"), srv.http.get("/api/v1/jobs", token=srv.token),
              srv.http.get("/login")):
        assert "no-store" in (r.header("cache-control") or ""), f"no Cache-Control: no-store: {r}"


def check_csp(csp):
    """script-src (or default-src) present and without 'unsafe-inline'."""
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    src = directives.get("script-src", directives.get("default-src"))
    assert src is not None, f"CSP has neither script-src nor default-src: {csp}"
    assert "'unsafe-inline'" not in src or any(w.startswith("'nonce-") or w.startswith("'sha") for w in src), \
        f"CSP allows inline script: {csp}"
    assert "'unsafe-inline'" not in src, f"CSP allows inline script: {csp}"
    assert "*" not in src and "data:" not in src, f"CSP allows scripts from anywhere: {csp}"


# ---- 2. CSRF ---------------------------------------------------------------------------

def job_enabled(srv, name):
    """The effective enabled flag of a job, from the API (the CLI's `jobs
    --json` shows the config's flag only) and the store's job_state."""
    r = srv.http.get(f"/api/v1/jobs/{q(name)}", token=srv.token)
    assert r.status == 200, r
    con = srv.db()
    try:
        row = con.execute("SELECT enabled FROM job_state WHERE job = ?", (name,)).fetchone()
    finally:
        con.close()
    assert r.json()["enabled"] == (row is None or bool(row[0])), (r.json()["enabled"], row)
    return r.json()["enabled"]


def state(srv):
    """What no rejected request may change: the store's tables (see
    Daemon.snapshot) and what the CLI says about jobs and the scheduler."""
    jobs = {j["name"]: j.get("enabled") for j in srv.cli_json("jobs")}
    api = srv.http.get("/api/v1/jobs", token=srv.token).json()
    flags = {j["name"]: j["enabled"] for j in api["jobs"]}
    return srv.snapshot(), jobs, flags, api["scheduler_enabled"]


def state_changing(routes):
    """(route, method) of every non-public state-changing route but the
    login form itself."""
    out = []
    for r in routes:
        if r.public and r.pattern == "/login":
            continue
        for m in sorted(r.methods & {"POST", "PUT", "DELETE"}):
            out.append((r, m))
    return out


FORM_FIELDS = {"spec": "Target", "job": "Target", "schedule": "0 0 1 1 *", "description": "csrf test",
               "enabled": "1", "params": "", "confirm": "1"}


@pytest.fixture(scope="module")
def victims(srv):
    """A running run of Target (for kill routes) and a UI entry (for entry
    routes, created with the bearer token, which needs no CSRF token)."""
    r = srv.cli("run", "--detach", "Target")
    run_id = int(re.search(r"\d+", r.stdout).group(0))
    wait_for(lambda: any(x["id"] == run_id and x.get("pid") for x in srv.cli_json("status")),
             timeout=20, what=f"run {run_id} of Target to be running")
    entry = srv.http.post("/api/v1/entries", token=srv.token,
                          js={"schedule": "0 0 1 1 *", "spec": "Target", "description": "victim"})
    entry_id = str(entry.json().get("id")) if entry.status == 201 else "1"
    return {"runs": str(run_id), "run": str(run_id), "entries": entry_id, "entry": entry_id}


def test_csrf_enforced_on_every_state_changing_request(srv, routes, sess, victims):
    values = dict(arg_values(srv), **victims)
    before = state(srv)
    targets = state_changing(routes)
    assert targets, "no state-changing routes found"
    problems = []
    for r, m in targets:
        path = fill(r.pattern, values)
        # (Another session's token: test_csrf_token_bound_to_session.)
        for label, tok in (("no token", None), ("wrong token", secrets.token_hex(32)), ("empty token", ""),
                           ("a token one digit short", sess.csrf[:-1])):
            if is_api(r):
                resp = sess.request(m, path, js=FORM_FIELDS, csrf=tok)
            else:
                form = dict(FORM_FIELDS)
                if tok is not None:
                    form["csrf"] = tok
                resp = sess.request(m, path, form=form)
            if resp.status != 403:
                problems.append(f"{m} {path} with a session and {label}: {resp.status}, expected 403: {resp.body[:200]!r}")
    after = state(srv)
    assert not problems, "\n".join(problems)
    assert after == before, f"state changed by requests refused for CSRF:\nbefore {before}\nafter  {after}"
    # The victim run is still running.
    run_id = int(victims["runs"])
    assert any(x["id"] == run_id for x in srv.cli_json("status")), "the victim run was killed without a CSRF token"


def job_enabled_api(srv, name):
    r = srv.http.get(f"/api/v1/jobs/{q(name)}", token=srv.token)
    assert r.status == 200, r
    return r.json()["enabled"]


def test_csrf_right_token_on_a_page_form(srv, sess):
    """The positive control for forms: the jobs page's own disable/enable
    forms work with the session's token."""
    r = sess.request("POST", "/jobs/Target/disable", form={"csrf": sess.csrf})
    assert r.status == 303, f"POST /jobs/Target/disable with the right CSRF token: {r}"
    assert job_enabled(srv, "Target") is False
    r = sess.request("POST", "/jobs/Target/enable", form={"csrf": sess.csrf})
    assert r.status == 303, r
    assert job_enabled(srv, "Target") is True


def test_csrf_token_bound_to_session(srv, routes, sess):
    """Another session's valid token is not this session's."""
    other = srv.session()
    assert other.csrf != sess.csrf, "two sessions share one CSRF token"
    before = state(srv)
    for r, m in state_changing(routes):
        if r.pattern == "/logout":
            continue
        path = fill(r.pattern, arg_values(srv))
        if is_api(r):
            resp = sess.request(m, path, js=FORM_FIELDS, csrf=other.csrf)
        else:
            resp = sess.request(m, path, form=dict(FORM_FIELDS, csrf=other.csrf))
        assert resp.status == 403, f"{m} {path} with another session's CSRF token: {resp}"
    assert state(srv) == before


def test_csrf_right_token_is_accepted(srv, sess):
    """The positive control: the same kind of request with the session's
    token does change state (so the 403s above are CSRF, not a broken
    request). Disables then re-enables job Target through the API."""
    assert srv.cli_json("info", "Target") is not None
    for path in ("/api/v1/jobs/Target/disable", "/api/v1/jobs/Target/enable"):
        r = sess.request("POST", path, js={}, csrf=sess.csrf)
        assert r.status in (200, 204), f"POST {path} with the right CSRF token: {r}"
        want = not path.endswith("disable")
        assert job_enabled(srv, "Target") == want, path


def test_token_on_pages_is_no_session(srv, routes):
    """A bearer token authenticates the API and /metrics only: pages
    answer as to a stranger (no CSRF bypass through a token)."""
    before = state(srv)
    values = arg_values(srv)
    for r in routes:
        if r.public or is_api(r):
            continue
        path = fill(r.pattern, values)
        for m in sorted(r.methods):
            resp = srv.http.request(m, path, token=srv.token,
                                    form=dict(FORM_FIELDS) if m != "GET" else None)
            if m == "GET":
                assert resp.status == 303 and "/login" in (resp.header("location") or ""), \
                    f"GET {path} with a bearer token only: {resp}"
            else:
                assert resp.status in (401, 403), f"{m} {path} with a bearer token only: {resp}"
    assert state(srv) == before


def test_get_requests_change_nothing(srv, routes, sess):
    """No GET (nor HEAD) changes state, so no link or <img> can act for a
    logged-in user: every GET route with a session, store unchanged."""
    values = arg_values(srv)
    before = state(srv)
    for r in routes:
        if "GET" in r.methods:
            path = fill(r.pattern, values)
            for m in ("GET", "HEAD"):
                resp = sess.request(m, path)
                assert resp.status < 500, f"{m} {path}: {resp}"
                resp = srv.http.request(m, path, token=srv.token)
                assert resp.status < 500, f"{m} {path} (token): {resp}"
    assert state(srv) == before


def test_bearer_tokens(srv, routes):
    for path in ("/api/v1/jobs", "/metrics"):
        for bad in ("wrong", secrets.token_urlsafe(32), srv.token[:-1], srv.token + "x", ""):
            r = srv.http.get(path, token=bad)
            assert r.status == 401, f"GET {path} with token {bad!r}: {r}"
            assert "bearer" in (r.header("www-authenticate") or "").lower(), r
        r = srv.http.get(path, headers=[("Authorization", f"Basic {srv.token}")])
        assert r.status == 401, r
        r = srv.http.get(path, token=srv.token)
        assert r.status == 200, f"GET {path} with the right token: {r}"
    r = srv.http.get("/metrics", token=srv.token)
    assert r.header("content-type", ).startswith("text/plain"), r
    # A token anywhere but the Authorization header is no token (URLs end
    # up in logs and Referer headers).
    for p in (f"/api/v1/jobs?token={srv.token}", f"/api/v1/jobs?access_token={srv.token}",
              f"/metrics?token={srv.token}"):
        r = srv.http.get(p)
        assert r.status == 401, f"GET {p.split('?')[0]} with the token in the query: {r}"
    r = srv.http.get("/api/v1/jobs", cookie=f"token={srv.token}")
    assert r.status == 401, r
    # No CORS opening: another origin's page cannot read the API.
    for path, kw in (("/api/v1/jobs", {"token": srv.token}), ("/login", {})):
        r = srv.http.get(path, headers=[("Origin", "https://evil.example")], **kw)
        acao = r.header("access-control-allow-origin")
        assert acao is None, f"GET {path} from another origin: Access-Control-Allow-Origin {acao!r}"
    r = srv.http.request("OPTIONS", "/api/v1/jobs", headers=[("Origin", "https://evil.example"),
                                                             ("Access-Control-Request-Method", "POST")])
    assert r.header("access-control-allow-origin") is None and r.status < 500, f"OPTIONS preflight: {r}"
    # Every API GET route works with the token (no 401).
    values = arg_values(srv)
    for rt in routes:
        if is_api(rt) and "GET" in rt.methods and not rt.public:
            path = fill(rt.pattern, values)
            resp = srv.http.get(path, token=srv.token)
            assert resp.status != 401 and resp.status < 500, f"GET {path} with the right token: {resp}"


# ---- 3. XSS ------------------------------------------------------------------------------

def check_html(r, where):
    """No active payload in an HTML answer; inline <script> only with the
    CSP nonce; no inline event handlers; no javascript: URLs."""
    problems = []
    body = r.text
    low = body.lower()
    for raw in XSS_RAW + ('"><img', "'><svg"):
        if raw.lower() in low:
            i = low.index(raw.lower())
            problems.append(f"{where}: {raw!r} unescaped: ...{body[max(0, i - 80):i + 80]!r}...")
    if re.search(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", low):
        problems.append(f"{where}: a javascript: URL in an attribute")
    for tag in re.findall(r"<[a-z][^>]*>", low):
        bare = re.sub(r'"[^"]*"|\'[^\']*\'', '""', tag)  # attribute values out
        if re.search(r"\son[a-z]+\s*=", bare):
            problems.append(f"{where}: inline event handler in {tag[:120]!r}")
    csp = r.header("content-security-policy") or ""
    nonces = set(re.findall(r"'nonce-([^']+)'", csp))
    for tag in re.findall(r"<script\b[^>]*>", body, re.I):
        if re.search(r"\ssrc\s*=", tag, re.I):
            continue
        m = re.search(r'\snonce\s*=\s*"([^"]*)"', tag)
        if not m or m.group(1) not in nonces:
            problems.append(f"{where}: inline {tag!r} without the CSP nonce ({csp!r})")
    if r.status < 300 or r.header("content-type", ).startswith("text/html"):
        if not csp:
            problems.append(f"{where}: no Content-Security-Policy")
        else:
            try:
                check_csp(csp)
            except AssertionError as e:
                problems.append(f"{where}: {e}")
    return problems


def xss_paths(srv):
    runs = [x["id"] for x in srv.cli_json("history", "Xss", "--limit", "20")]
    paths = ["/jobs", "/jobs/Xss", "/runs", "/runs?job=Xss"] + [f"/runs/{i}" for i in runs]
    for x in XSS:
        e = q(x)
        paths += [f"/jobs?q={e}", f"/runs?job={e}", f"/runs?status={e}", f"/runs?before={e}",
                  f"/runs?limit={e}", f"/jobs/{e}", f"/runs/{e}", f"/entries/{e}", f"/jobs?msg={e}",
                  f"/jobs?err={e}", f"/runs?msg={e}", f"/runs?err={e}", f"/scheduler?err={e}", f"/no/such/{e}", f"/jobs/Xss?msg={e}",
                  f"/entries?msg={e}"]
    return paths, runs


def test_xss_escaped_everywhere(srv, sess):
    # A UI entry whose fields carry the payloads (bearer token: no CSRF).
    created = 0
    for x in XSS:
        for spec in (f"Xss:{x},note={x}", "Xss:plain"):
            r = srv.http.post("/api/v1/entries", token=srv.token,
                              js={"schedule": "0 0 1 1 *", "spec": spec, "description": x})
            created += r.status == 201
    assert created, "no UI entry could be created to carry the payloads"
    paths, runs = xss_paths(srv)
    assert runs, "no runs of Xss recorded"
    problems = []
    for p in paths + ["/entries", "/entries/new", "/scheduler", "/running", "/nodes"]:
        r = sess.get(p)
        assert r.status < 500, f"GET {p}: {r}"
        problems += check_html(r, f"GET {p} ({r.status})")
    # The raw output is served as text that browsers must not sniff as HTML.
    for i in runs:
        r = sess.get(f"/runs/{i}/output.txt")
        assert r.status == 200, r
        assert (r.header("content-type") or "").startswith("text/plain"), r
        assert (r.header("x-content-type-options") or "").lower() == "nosniff", r
    assert not problems, "\n".join(problems)
    # The payloads are shown, escaped (so the check above is not vacuous).
    page = sess.get("/jobs/Xss").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "the job's description is not on its page, escaped"
    out = "".join(sess.get(f"/runs/{i}").text for i in runs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out, "the run output is not shown escaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sess.get("/entries").text, \
        "the entries page does not show the entry's description, escaped"


def test_xss_in_submitted_forms(srv, sess):
    """Form fields echoed back (an entry form refused with its error, run
    parameters, `back=`): escaped in the answer and in the page a redirect
    leads to; redirects stay on this server."""
    problems = []

    def check(r, what):
        out = check_html(r, what) if r.status != 303 else []
        if r.status == 303:
            loc = r.header("location") or ""
            if not loc.startswith("/") or loc.startswith("//") or loc.startswith("/\\"):
                out.append(f"{what}: redirect to {loc!r}")
            else:
                follow = sess.get(loc)
                assert follow.status < 500, f"{what} -> GET {loc}: {follow}"
                out += check_html(follow, f"{what} -> GET {loc}")
        if r.status >= 500:
            out.append(f"{what}: {r.status}")
        return out

    for x in XSS:
        for kind in ("spec", "command"):
            form = {"csrf": sess.csrf, "kind": kind, "schedule": x, "spec": f"Xss:{x}", "command": x,
                    "description": x, "enabled": "1"}
            problems += check(sess.request("POST", "/entries", form=form), f"POST /entries kind={kind} {x!r}")
            form["schedule"] = "0 0 1 1 *"
            problems += check(sess.request("POST", "/entries", form=form),
                              f"POST /entries kind={kind} valid schedule {x!r}")
        form = {"csrf": sess.csrf, "arg_0": x, "opt_note": x, "back": x}
        problems += check(sess.request("POST", "/jobs/Xss/run", form=form), f"POST /jobs/Xss/run {x!r}")
        for back in ("javascript:alert(1)", "//evil.example/", "https://evil.example/", x):
            form = {"csrf": sess.csrf, "back": back}
            problems += check(sess.request("POST", "/jobs/Target/enable", form=form),
                              f"POST /jobs/Target/enable back={back!r}")
        problems += check(sess.request("POST", f"/jobs/{q(x)}/run", form={"csrf": sess.csrf}),
                          f"POST /jobs/{x}/run")
    assert not problems, "\n".join(problems)


def test_xss_login_page_and_redirects(srv):
    problems = []
    for x in XSS + ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        for p in (f"/login?next={q(x)}", f"/login?msg={q(x)}", f"/login?err={q(x)}"):
            r = srv.http.get(p)
            assert r.status < 500, f"GET {p}: {r}"
            problems += check_html(r, f"GET {p}")
        # After logging in, next= must stay on this server.
        r = srv.login(next_=x)
        loc = r.header("location") or ""
        if r.status == 303 and not (loc.startswith("/") and not loc.startswith("//") and not loc.startswith("/\\")):
            problems.append(f"login with next={x!r} redirects to {loc!r}")
        if "evil" in loc or "javascript" in loc.lower():
            problems.append(f"login with next={x!r} redirects to {loc!r}")
    # Pages without a session redirect to /login?next= with the path encoded.
    for x in XSS:
        r = srv.http.get(f"/jobs/{q(x)}")
        loc = r.header("location") or ""
        assert "<" not in loc and '"' not in loc and " " not in loc, f"Location {loc!r}"
    assert not problems, "\n".join(problems)


def test_api_answers_are_json_not_html(srv):
    for p in ("/api/v1/jobs/Xss", "/api/v1/runs?job=Xss", f"/api/v1/jobs/{q(XSS[0])}"):
        r = srv.http.get(p, token=srv.token)
        assert r.is_json(), f"GET {p}: Content-Type {r.header('content-type')!r}"
        assert (r.header("x-content-type-options") or "").lower() == "nosniff", r
        r.json()


# ---- 4. SQL metacharacters ----------------------------------------------------------------

def run_ids_non_tick(srv):
    con = srv.db()
    try:
        return con.execute("SELECT count(*), max(id) FROM runs WHERE job != 'Tick'").fetchone()
    finally:
        con.close()


def test_sql_metacharacters_in_filters_and_paths(srv, sess):
    before = run_ids_non_tick(srv)
    snap = srv.snapshot()
    problems = []
    for x in SQL:
        e = q(x)
        api_runs = [f"/api/v1/runs?job={e}", f"/api/v1/runs?status={e}", f"/api/v1/runs?before={e}",
                    f"/api/v1/runs?limit={e}", f"/api/v1/runs?job={e}&status={e}&before={e}&limit={e}"]
        api_jobs = [f"/api/v1/jobs?q={e}", f"/api/v1/jobs?offset={e}", f"/api/v1/jobs?limit={e}"]
        api_paths = [f"/api/v1/jobs/{e}", f"/api/v1/runs/{e}", f"/api/v1/entries/{e}",
                     f"/api/v1/runs/{e}/output", f"/api/v1/runs/{e}/output.txt", f"/api/v1/jobs/{e}/runs"]
        pages = [f"/runs?job={e}", f"/runs?status={e}", f"/runs?before={e}", f"/runs?limit={e}",
                 f"/jobs?q={e}", f"/jobs/{e}", f"/runs/{e}", f"/entries/{e}/edit", f"/runs/{e}/output.txt"]
        for p in api_runs + api_jobs + api_paths:
            r = srv.http.get(p, token=srv.token)
            if r.status >= 500:
                problems.append(f"GET {p}: {r.status} {r.body[:200]!r}")
            elif r.status == 200:
                body = r.json()
                rows = body.get("runs", body.get("jobs")) if isinstance(body, dict) else body
                if p.startswith("/api/v1/runs?") and "job=" in p and rows:
                    problems.append(f"GET {p}: {len(rows)} runs for job {x!r}")
                if p.startswith("/api/v1/jobs?q=") and rows:
                    problems.append(f"GET {p}: {len(rows)} jobs whose name contains {x!r}: "
                                    f"{[j.get('name') for j in rows][:5]}")
                if p.startswith("/api/v1/jobs/") or p.startswith("/api/v1/runs/") or p.startswith("/api/v1/entries/"):
                    problems.append(f"GET {p}: 200 for a path with {x!r}: {r.body[:200]!r}")
        for p in pages:
            r = sess.get(p)
            if r.status >= 500:
                problems.append(f"GET {p} (page): {r.status} {r.body[:200]!r}")
        # The raw byte, unencoded, in a query and a path (a NUL, a quote...).
        for p in (b"/api/v1/runs?job=" + x.encode(), b"/api/v1/jobs/" + x.encode()):
            if b" " in p:
                continue
            r = srv.http.raw(b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             b"Authorization: Bearer " + srv.token.encode() + b"\r\n\r\n")
            if r is not None and r.status >= 500:
                problems.append(f"GET {p!r} (raw): {r.status} {r.body[:200]!r}")
    assert not problems, "\n".join(problems)
    assert srv.alive(), f"daemon died:\n{srv.log()}"
    assert srv.integrity() == [("ok",)], srv.integrity()
    assert run_ids_non_tick(srv) == before
    assert srv.snapshot() == snap
    # And the filters still work on real data afterwards.
    r = srv.http.get("/api/v1/runs?job=Xss", token=srv.token)
    assert r.status == 200 and r.json()["runs"], r


def test_sql_metacharacters_in_actions(srv, sess):
    """Job specs, entry fields and job names with SQL metacharacters in
    state-changing API calls: refused (4xx) or stored verbatim, never a
    500, store intact."""
    before = run_ids_non_tick(srv)
    problems = []
    created = []
    for x in SQL:
        if x == "\0":
            continue
        for path, body in (("/api/v1/requests", {"spec": f"Target{x}"}),
                           (f"/api/v1/jobs/{q(x)}/run", {}),
                           (f"/api/v1/jobs/{q(x)}/disable", {}),
                           ("/api/v1/entries", {"schedule": "0 0 1 1 *", "spec": "Target", "description": x}),
                           ("/api/v1/entries", {"schedule": x, "spec": "Target"})):
            r = srv.http.post(path, token=srv.token, js=body)
            if r.status >= 500:
                problems.append(f"POST {path} {body!r}: {r.status} {r.body[:200]!r}")
            if r.status == 201 and "entries" in path:
                created.append((r.json()["id"], body))
    assert not problems, "\n".join(problems)
    for eid, body in created:
        r = srv.http.get(f"/api/v1/entries/{eid}", token=srv.token)
        assert r.status == 200, r
        assert r.json()["description"] == body.get("description", ""), r.json()
        assert srv.http.request("DELETE", f"/api/v1/entries/{eid}", token=srv.token).status in (200, 204)
    assert srv.integrity() == [("ok",)]
    n, _ = run_ids_non_tick(srv)
    assert n >= before[0]
    jobs = {j["name"] for j in srv.cli_json("jobs")}
    assert {"Tick", "Xss", "Target"} <= jobs


# ---- 5. path traversal on /static/ -------------------------------------------------------

def static_names(repo):
    d = repo / "src" / "http" / "static"
    return sorted(p.name for p in d.iterdir() if p.is_file()) if d.is_dir() else []


TRAVERSAL = [
    "/static/../cronwarden.ini", "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/static/%252e%252e/etc/passwd",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/etc/passwd", "/static/./app.css",
    "/static/%2e/app.css", "/static/..\\..\\etc\\passwd", "/static/..%5c..%5cetc%5cpasswd",
    "/static/%c0%ae%c0%ae/etc/passwd", "/static/app.css%00.png", "/static/app.css%00",
    "/static/.%2e/.%2e/etc/passwd", "/static/%2E%2E/%2E%2E/etc/passwd", "/static/", "/static",
    "/static/..", "/static/%2e%2e", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/...", "/static/....//....//etc/passwd", "/static/" + "../" * 30 + "etc/passwd",
    "/static/%u002e%u002e/etc/passwd", "/static/~root", "/static/.htaccess",
    "/static/app.css/..", "/static/app.css/../../cronwarden.ini",
]


def test_static_path_traversal(srv, sess, repo):
    names = static_names(repo)
    assert names, "no files in src/http/static/"
    ok = srv.http.get(f"/static/{names[0]}")
    assert ok.status == 200, f"GET /static/{names[0]}: {ok}"
    secrets_ = (b"root:x:0:0", b"[cronwarden]", b"password_hash", b"#include", b"api_token", b"\x7fELF")
    paths = [p.replace("app.css", names[0]) for p in TRAVERSAL]
    paths += [f"/static/{p}" for p in (str(srv.config), q(str(srv.config)), "/etc/passwd", q("/etc/passwd"))]
    problems = []
    for http_ in (srv.http, sess):
        for p in paths:
            r = http_.get(p)
            if any(s in r.body for s in secrets_):
                problems.append(f"GET {p}: file contents leaked: {r.body[:200]!r}")
            if r.status not in (400, 404):
                problems.append(f"GET {p}: {r.status}, expected 404 or 400")
        # A raw NUL and raw backslashes in the request line.
        for raw in (b"/static/app.css\0../../etc/passwd", b"/static/\0", b"/static/..\\..\\etc\\passwd",
                    b"/static/" + names[0].encode() + b"\0"):
            r = srv.http.raw(b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if r is not None:
                if any(s in r.body for s in secrets_) or r.status == 200 or r.status >= 500:
                    problems.append(f"GET {raw!r}: {r.status} {r.body[:200]!r}")
    assert not problems, "\n".join(problems)
    # Only the files of src/http/static/ are served, and they are not
    # source code of the server.
    for n in names:
        r = srv.http.get(f"/static/{n}")
        assert r.status == 200, f"/static/{n}: {r}"


# ---- 6. oversized and malformed requests -------------------------------------------------

def healthz_ok(srv):
    r = srv.http.get("/healthz", timeout=10)
    assert r.status == 200, f"/healthz after the abuse: {r}"


def test_ten_megabyte_body_gets_413(srv, sess):
    big = 10 * 1024 * 1024
    for path, auth in (("/login", b""), ("/api/v1/entries", b"Authorization: Bearer " + srv.token.encode() + b"\r\n"),
                       ("/jobs/Target/run", b"Cookie: " + sess.cookie.encode() + b"\r\n")):
        with srv.http.connect(timeout=30) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {big}\r\n".encode()
                      + auth + b"\r\n")
            chunk = b"a=" + b"x" * (64 * 1024 - 2)
            sent = 0
            try:
                while sent < big:
                    s.sendall(chunk[:min(len(chunk), big - sent)])
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed early: fine
            try:
                r = read_response(s)
            except (ConnectionResetError, http.client.RemoteDisconnected) as e:
                raise AssertionError(f"POST {path} with a 10 MB body: no answer ({e}), expected 413")
            assert r.status == 413, f"POST {path} with a 10 MB body: {r}"
        healthz_ok(srv)
    # Also announced but not sent: the Content-Length alone is enough.
    r = srv.http.raw(f"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {big}\r\n\r\n".encode(),
                     timeout=20)
    assert r is not None and r.status == 413, f"POST /login announcing 10 MB: {r}"
    # Chunked without a length, growing past the limit.
    with srv.http.connect(timeout=30) as s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        try:
            for _ in range(200):
                s.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            r = read_response(s)
            assert r.status == 413, f"chunked 12 MB body: {r}"
        except (ConnectionResetError, http.client.RemoteDisconnected):
            raise AssertionError("chunked 12 MB body: connection reset without 413")
    healthz_ok(srv)


def expect_4xx_or_close(srv, data, what):
    r = srv.http.raw(data, timeout=20)
    if r is not None:
        assert 400 <= r.status < 500, f"{what}: {r}"
    return r


def test_huge_header(srv):
    expect_4xx_or_close(srv, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n",
                            "a 100 KB header")
    expect_4xx_or_close(srv, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n", "5000 headers")
    expect_4xx_or_close(srv, b"GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: " + b"c=" + b"a" * (100 * 1024) + b"\r\n\r\n",
                            "a 100 KB cookie")
    healthz_ok(srv)


def test_ten_thousand_query_parameters(srv, sess):
    qs = "&".join(f"p{i}=1" for i in range(10000))
    for path, kw in ((f"/api/v1/jobs?{qs}", {"token": srv.token}), (f"/jobs?{qs}", {"cookie": sess.cookie}),
                     (f"/healthz?{qs}", {})):
        r = srv.http.get(path, **kw)
        assert r.status in (400, 414, 431) or (path.startswith("/healthz") and r.status == 200), \
            f"GET {path[:40]}... (10 000 params): {r}"
    # 10 000 form fields in a body (under the size limit: 88 KB > 64 KiB, so
    # 413 is right too).
    form = "&".join(f"f{i}=1" for i in range(10000))
    r = srv.http.post("/api/v1/entries", token=srv.token, body=form,
                      headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert 400 <= r.status < 500, r
    form = "&".join(f"f{i}=" for i in range(1000))  # 6 KB, 1000 fields
    r = srv.http.post("/jobs/Target/run", cookie=sess.cookie, body=f"csrf={sess.csrf}&" + form,
                      headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert 400 <= r.status < 500, r
    healthz_ok(srv)


def test_bad_percent_encoding(srv, sess):
    """Malformed escapes, encoded NULs and overlong UTF-8: 4xx (JSON on the
    API), never a 500."""
    problems = []
    for p in ("/jobs/%zz", "/jobs/%", "/jobs/%4", "/jobs/Ta%00rget", "/runs?job=%", "/runs?job=%g1",
              "/runs?job=%00", "/runs?%zz=1", "/jobs/%C0%80", "/jobs/%FF%FE", "/runs?job=%E0%A4"):
        r = sess.get(p)
        if not (400 <= r.status < 500 or r.status == 200 and "job=%E0" in p):
            problems.append(f"GET {p}: {r.status}")
        r = srv.http.get("/api/v1" + p, token=srv.token)
        if r.status == 200 and "job=%E0" in p:
            assert r.json()["runs"] == [], r  # a job name that is not UTF-8: no runs
        elif not 400 <= r.status < 500:
            problems.append(f"GET /api/v1{p}: {r.status}")
        elif not r.is_json():
            problems.append(f"GET /api/v1{p}: {r.status} as {r.header('content-type')!r}, expected a JSON error")
    healthz_ok(srv)
    assert not problems, "\n".join(problems)


# (Not here: bare CRLFs. RFC 9112 §2.2 lets a server skip empty lines
# before a request line, so it waits for one, like for any idle client,
# until its idle timeout.)
GARBAGE = [
    b"\r\n\r\nGET\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /healthz\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET  /healthz  HTTP/1.1\r\nHost: x\r\n\r\n",
    b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
    b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
    b"GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    bytes(range(256)) * 4,
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS ClientHello
    b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\nHost: x\n\n",
]


def test_invalid_http(srv):
    for data in GARBAGE:
        # Half-closed: a request the server may still be waiting on (empty
        # lines before a request line are allowed) meets the end of input.
        r = srv.http.raw(data, timeout=20, half_close=True)
        if r is not None:
            ok = 400 <= r.status < 500 or r.status in (501, 505) or (r.status == 200 and b"/healthz" in data[:20])
            assert ok, f"{data[:60]!r}: {r}"
        assert srv.alive(), f"daemon died after {data[:60]!r}:\n{srv.log()}"
    healthz_ok(srv)


def test_slowloris_does_not_block_others(srv):
    """20 sockets (from one address) that send their request a byte per
    second: other clients are served meanwhile."""
    stop = threading.Event()
    socks = []
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    slow = Http(srv.port, source="127.0.0.5")

    def drip(s):
        i = 0
        while not stop.is_set() and i < len(req):
            try:
                s.send(req[i:i + 1])
            except OSError:
                return
            i += 1
            stop.wait(1.0)

    threads = []
    for _ in range(20):
        s = slow.connect(timeout=60)
        socks.append(s)
        t = threading.Thread(target=drip, args=(s,), daemon=True)
        t.start()
        threads.append(t)
    try:
        time.sleep(1.5)  # every slow socket has started its request
        for _ in range(10):
            healthz_ok(srv)
        r = srv.http.get("/api/v1/jobs", token=srv.token)
        assert r.status == 200, r
        alive = sum(1 for t in threads if t.is_alive())
        assert alive, "the server closed every slow connection at once (the test measured nothing)"
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        for s in socks:
            s.close()


def test_two_hundred_concurrent_connections(srv):
    """200 connections at once, from 10 loopback addresses (20 each: under
    the server's per-address limit): with all of them open and idle a new
    client is served; then all send a request at once and each gets an
    answer."""
    socks = []
    try:
        for i in range(200):
            socks.append(Http(srv.port, source=f"127.0.1.{10 + i % 10}").connect(timeout=30))
        healthz_ok(srv)
        for i, s in enumerate(socks):
            path = "/healthz" if i % 2 else "/api/v1/jobs"
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      f"Authorization: Bearer {srv.token}\r\n\r\n".encode())
        statuses = []
        for s in socks:
            try:
                statuses.append(read_response(s).status)
            except (OSError, http.client.HTTPException) as e:
                statuses.append(repr(e))
        bad = [x for x in statuses if x not in (200, 503)]
        assert not bad, f"answers to 200 concurrent requests: {sorted(map(str, bad))[:10]} ..."
        assert statuses.count(200) >= 100, statuses
    finally:
        for s in socks:
            s.close()
    healthz_ok(srv)


def test_many_connections_from_one_address(srv):
    """One address opening 200 connections: those over the server's
    per-address limit are refused, the daemon survives, and once they are
    closed that address is served again; another address is served all
    along."""
    one = Http(srv.port, source="127.0.2.1")
    socks = []
    try:
        for _ in range(200):
            try:
                socks.append(one.connect(timeout=10))
            except OSError:
                break
        healthz_ok(srv)
    finally:
        for s in socks:
            s.close()
    def served():
        try:
            return one.get("/healthz", timeout=5).status == 200
        except (OSError, AssertionError):
            return False

    wait_for(served, timeout=20, what="the address to be served again once its connections closed")


def test_zz_daemon_survived_and_still_fires(srv):
    """Run last in the module (file order): after all of the above, the
    daemon still answers and its per-second job still fires."""
    assert srv.alive(), f"daemon died:\n{srv.log()}"
    healthz_ok(srv)
    n = srv.tick_runs()
    wait_for(lambda: srv.tick_runs() >= n + 2, timeout=15, what="two more fires of the per-second job Tick")
    assert srv.integrity() == [("ok",)]
    log = srv.log()
    for bad in ("AddressSanitizer", "runtime error:"):
        assert bad not in log, log
    # Secrets never reach the log.
    assert PASSWORD not in log and srv.token not in log, "the password or the token is in the daemon's log"


# ---- 7. login throttling, cookies, sessions -----------------------------------------------

@pytest.fixture
def fresh(build_dir, tmp_path, creds):
    """A daemon of its own (login lockouts would shut the module's client out)."""
    pw_hash, token, token_line = creds
    d = Daemon(build_dir, tmp_path / "fresh", pw_hash, token_line,
               jobs="[job Target]\ncommand = /bin/true\nschedule = 0 0 1 1 *\n")
    d.token = token
    try:
        d.start()
        yield d
        d.stop()
    finally:
        d.kill_leftovers()


def test_login_throttling(fresh):
    """Failed logins are throttled per (user name, address): after a few,
    that pair gets 429 with Retry-After, but other addresses and other
    names are not affected, and the right password still gets in once
    the pair's next check is due (at most one check per user every few
    seconds while blocked: not a lockout of the real admin)."""
    bad = Http(fresh.port, source="127.0.0.2")
    other = Http(fresh.port, source="127.0.0.3")
    statuses = []
    r = None
    for _ in range(30):
        r = fresh.login(http=bad, password="wrong")
        statuses.append(r.status)
        assert session_cookie(r) is None, f"a wrong password got a session: {r}"
        if r.status == 429:
            break
    assert r.status == 429, f"no 429 after {len(statuses)} wrong passwords: {statuses}"
    assert all(s in (200, 401, 403) for s in statuses[:-1]), statuses
    retry = r.header("retry-after")
    assert retry and retry.isdigit() and int(retry) > 0, f"429 without a Retry-After in seconds: {r}"
    # Another client is not locked out.
    r = fresh.login(http=other)
    assert r.status == 303 and session_cookie(r), f"another client during the lockout: {r}"
    # Another name from the blocked address is counted on its own.
    r = fresh.login(http=bad, user="nobody")
    assert r.status == 403 and session_cookie(r) is None, r
    # The right password from the blocked address: refused until the
    # Retry-After it is given (a few seconds, not the block's minutes),
    # then let in.
    deadline = time.monotonic() + 20
    seen = []
    while True:
        r = fresh.login(http=bad)
        seen.append((r.status, r.header("retry-after")))
        if r.status == 303:
            break
        assert r.status == 429 and session_cookie(r) is None, seen
        assert int(r.header("retry-after")) <= 10 and time.monotonic() < deadline, seen
        time.sleep(int(r.header("retry-after")))
    assert session_cookie(r), r
    # Wrong passwords are still throttled after a success from elsewhere.
    statuses = [fresh.login(http=bad, password="wrong").status for _ in range(8)]
    assert 429 in statuses, statuses


def test_session_cookie_flags_and_randomness(fresh):
    ids = set()
    for _ in range(3):
        r = fresh.login()
        assert r.status == 303, r
        hdr = set_cookie_header(r)
        assert hdr, r
        attrs = [a.strip().lower() for a in hdr.split(";")[1:]]
        assert "httponly" in attrs, f"session cookie without HttpOnly: {hdr}"
        assert "samesite=strict" in attrs, f"session cookie without SameSite=Strict: {hdr}"
        assert "path=/" in attrs, hdr
        sid = session_cookie(r).split("=", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{64}", sid), f"session id {sid!r} is not 256 bits as 64 hex digits"
        ids.add(sid)
        loc = r.header("location") or ""
        assert loc.startswith("/"), loc
    assert len(ids) == 3, "the same session id twice"
    # Session fixation: a session id the client brings is never adopted.
    planted = secrets.token_hex(32)
    cookie, csrf = fresh.login_token()
    r = fresh.http.post("/login", form={"user": USER, "password": PASSWORD, "csrf": csrf},
                        cookie=f"{cookie}; {SESSION_COOKIE}={planted}")
    assert r.status == 303, r
    assert session_cookie(r) and session_cookie(r) != f"{SESSION_COOKIE}={planted}", r
    assert fresh.http.get("/jobs", cookie=f"{SESSION_COOKIE}={planted}").status == 303
    # A wrong password sets no session cookie and the login token cookie
    # is HttpOnly/SameSite=Strict too.
    r = fresh.login(password="wrong")
    assert r.status in (401, 403) and session_cookie(r) is None, r
    g = fresh.http.get("/login")
    hdr = set_cookie_header(g, "cw_login")
    assert hdr and "httponly" in hdr.lower() and "samesite=strict" in hdr.lower(), g
    # A made-up session id is no session.
    for fake in ("0" * 64, secrets.token_hex(32), "", "x", "a" * 200):
        r = fresh.http.get("/jobs", cookie=f"{SESSION_COOKIE}={fake}")
        assert r.status == 303, f"made-up session {fake!r}: {r}"
        r = fresh.http.get("/api/v1/jobs", cookie=f"{SESSION_COOKIE}={fake}")
        assert r.status == 401, f"made-up session {fake!r} on the API: {r}"


def test_login_needs_login_token(fresh):
    """POST /login without the login token cookie/field pair is refused
    (login CSRF), even with the right password."""
    r = fresh.http.post("/login", form={"user": USER, "password": PASSWORD})
    assert r.status == 403 and session_cookie(r) is None, r
    cookie, csrf = fresh.login_token()
    r = fresh.http.post("/login", form={"user": USER, "password": PASSWORD, "csrf": secrets.token_hex(32)},
                        cookie=cookie)
    assert r.status == 403 and session_cookie(r) is None, r
    r = fresh.http.post("/login", form={"user": USER, "password": PASSWORD, "csrf": csrf})
    assert r.status == 403 and session_cookie(r) is None, r


def test_logout_ends_the_session_server_side(fresh):
    s = fresh.session()
    assert s.get("/jobs").status == 200
    # Logout without the CSRF token does nothing.
    r = s.request("POST", "/logout", form={})
    assert r.status == 403, r
    assert s.get("/jobs").status == 200
    r = s.request("POST", "/logout", form={"csrf": s.csrf})
    assert r.status == 303, r
    # The old cookie, replayed as is, no longer works.
    r = s.get("/jobs")
    assert r.status == 303 and "/login" in (r.header("location") or ""), f"old cookie after logout: {r}"
    r = fresh.http.get("/api/v1/jobs", cookie=s.cookie)
    assert r.status == 401, f"old cookie on the API after logout: {r}"
    r = s.request("POST", "/api/v1/jobs/Target/disable", js={}, csrf=s.csrf)
    assert r.status in (401, 403), r
    assert job_enabled(fresh, "Target") is True


def test_admin_writes_reach_the_store_file(fresh):
    """What the admin server writes is in the store for every process,
    and what others write is seen by the server, also after other
    processes opened and closed the store in between (the CSRF checks
    compare the store before and after, so they rely on this). A daemon
    with no job due, so no worker holds the store open meanwhile: only
    the daemon and this test's own short connections."""
    fresh.http.get("/api/v1/jobs", token=fresh.token)  # the server opens its store connection
    for action, want in (("disable", 0), ("enable", 1), ("disable", 0), ("enable", 1)):
        r = fresh.http.post(f"/api/v1/jobs/Target/{action}", token=fresh.token, js={})
        assert r.status == 200, r
        con = fresh.db()
        try:
            row = con.execute("SELECT enabled FROM job_state WHERE job = 'Target'").fetchone()
        finally:
            con.close()
        assert row == (want,), (f"after POST /api/v1/jobs/Target/{action} (200), job_state in the file says "
                                f"{row}; the server says {job_enabled_api(fresh, 'Target')}; "
                                f"files in data_dir: {sorted(os.listdir(fresh.data_dir))}")
    fresh.cli("disable", "Target")
    assert job_enabled_api(fresh, "Target") is False, "the server does not see `cronwarden disable Target`"
    fresh.cli("enable", "Target")
    assert job_enabled_api(fresh, "Target") is True
