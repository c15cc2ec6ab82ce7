"""Fixtures shared by the integration tests.

They run the real binaries of a build directory: $CRONWARDEN_BUILD_DIR if
set (scripts/test.sh points it at build/ and at build-asan/), else
<repo>/build. Run them with Debian's interpreter:

    CRONWARDEN_BUILD_DIR=$PWD/build /usr/bin/python3 -m pytest tests/integration

Fixtures:
  repo          the repository root (pathlib.Path)
  build_dir     the build directory (pathlib.Path)
  python        "/usr/bin/python3": use it for any Python subprocess
  cw            runs build_dir/cronwarden: cw("next", "@daily", cwd=..., env=...,
                input=..., timeout=...) -> subprocess.CompletedProcess (text)
  tmp_config    tmp_config(text, name="cronwarden.ini") -> path of a new file
  build_tool    build_tool("next_batch") -> path of build_dir/tests/next_batch
  pg_server     (session) a throwaway PostgreSQL server (tests/pg/pgserver.sh),
                started the first time a test asks for it and removed at
                the end of the session: its URL; skips the test when
                PostgreSQL is not installed. $CW_TEST_POSTGRESQL_URL, when
                set, names a server to use instead. A server it started
                has its directory in $CW_TEST_POSTGRESQL_DIR (for
                `tests/pg/pgserver.sh restart $CW_TEST_POSTGRESQL_DIR`).
  pg_database   a new empty database on pg_server for one test: its URL

Parallel runs (scripts/test.sh runs `pytest -n N --dist loadgroup`, with
Debian's python3-pytest-xdist): every test gets its own tmp_path and free
ports, so tests of different modules run side by side in N worker
processes. What is not shared across tests stays with one worker:
  - a module with module-scoped fixtures (a daemon, a build, a browser
    that its tests share, often in file order) is one xdist group: all its
    tests run on one worker, in file order, and the fixture is made once;
  - pg_server is per worker (a "session" is a worker's session): a test
    that restarts or stops its server cannot break another worker's tests;
  - tests marked `serial` (timing-sensitive ones that flake when the CPU
    is shared) are left out by `-m "not serial"` and run afterwards on
    their own, without -n (scripts/test.sh's second pass).
"""

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"

# Any of these in a binary's stderr fails the test, whatever its exit
# status (so a sanitizer report can't hide behind an expected exit 2).
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "UndefinedBehaviorSanitizer",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes a minute or more (the Debian package build)")
    config.addinivalue_line("markers", "serial: timing-sensitive: scripts/test.sh runs it alone, "
                            "after the parallel pass")
    # The suite relies on Debian's python3 and its packages (croniter): a
    # pyenv or venv interpreter first on PATH is not the one to use.
    if os.path.realpath(sys.executable) != os.path.realpath(PYTHON):
        raise pytest.UsageError(
            f"run the tests with {PYTHON} -m pytest (this is {sys.executable})"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Puts each module that has module-scoped fixtures in an xdist group
    of its own (see the module docstring). tryfirst: xdist reads the marks
    in its own hook of this name."""
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        if defs is None:
            continue
        shared = any(d.scope == "module" for fds in defs.name2fixturedefs.values() for d in fds)
        if shared and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def _build_dir():
    d = os.environ.get("CRONWARDEN_BUILD_DIR")
    return Path(d).resolve() if d else REPO / "build"


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def build_dir():
    d = _build_dir()
    if not d.is_dir():
        pytest.fail(f"build directory {d} does not exist: run scripts/test.sh or meson setup")
    return d


@pytest.fixture(scope="session")
def python():
    return PYTHON


def _base_env():
    env = dict(os.environ)
    # Tests say which config they mean; the caller's must not leak in.
    env.pop("CRONWARDEN_CONFIG", None)
    return env


class Runner:
    """Runs one binary; see the module docstring."""

    def __init__(self, binary, default_cwd):
        self.binary = binary
        self.default_cwd = default_cwd

    def __call__(self, *args, cwd=None, env=None, input=None, timeout=60):
        """env: variables to set on top of the test environment; a value of
        None removes that variable."""
        full_env = _base_env()
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
        proc = subprocess.run(
            [str(self.binary), *[str(a) for a in args]],
            cwd=str(cwd or self.default_cwd),
            env=full_env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        for marker in SANITIZER_MARKERS:
            if marker in proc.stderr:
                pytest.fail(
                    f"sanitizer report from {self.binary.name} {' '.join(map(str, args))}:\n"
                    + proc.stderr
                )
        return proc


@pytest.fixture
def cw(build_dir, tmp_path):
    """Runs cronwarden. The default working directory is a fresh empty
    directory, so no ./cronwarden.ini is picked up by accident."""
    binary = build_dir / "cronwarden"
    if not binary.exists():
        pytest.fail(f"{binary} is not built")
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return Runner(binary, cwd)


@pytest.fixture
def build_tool(build_dir, tmp_path):
    """build_tool(name) -> Runner for build_dir/tests/name."""

    def get(name):
        binary = build_dir / "tests" / name
        if not binary.exists():
            pytest.fail(f"{binary} is not built")
        return Runner(binary, tmp_path)

    return get


@pytest.fixture
def tmp_config(tmp_path):
    """tmp_config(text, name="cronwarden.ini") writes text into a new file
    in a temporary directory and returns its path. The text is dedented
    (relative indentation, such as continuation lines, is kept) and a
    leading newline dropped, so configs can be written as indented
    triple-quoted strings."""

    def write(text, name="cronwarden.ini"):
        d = tmp_path / "config"
        d.mkdir(exist_ok=True)
        path = d / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture(scope="session")
def pg_server():
    url = os.environ.get("CW_TEST_POSTGRESQL_URL")
    if url:
        yield url
        return
    proc = subprocess.run([str(REPO / "tests/pg/pgserver.sh"), "start"], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode == 77:
        pytest.skip("PostgreSQL is not installed: " + proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    url, stop = proc.stdout.splitlines()[:2]
    # As tests/pg/with_pg.sh does: the directory, for `pgserver.sh restart`.
    # The server is this process's (this xdist worker's) alone.
    os.environ["CW_TEST_POSTGRESQL_DIR"] = stop.split()[-1]
    try:
        yield url
    finally:
        os.environ.pop("CW_TEST_POSTGRESQL_DIR", None)
        subprocess.run(stop.split(), capture_output=True, timeout=60)


_pg_db_seq = itertools.count(1)


@pytest.fixture
def pg_database(pg_server):
    """A database of the test's own (CREATE DATABASE through psql), so tests
    that count runs see only theirs."""
    name = f"cw_test_{os.getpid()}_{next(_pg_db_seq)}"
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg_server,
                           "-c", f"CREATE DATABASE {name}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    parts = urlsplit(pg_server)
    return urlunsplit(parts._replace(path="/" + name))
