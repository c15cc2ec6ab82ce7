"""The suite's own parallel run (scripts/test.sh: `pytest -n N --dist
loadgroup -m "not serial"`, then `-m serial`): conftest.py keeps the tests
of a module that share a module-scoped fixture on one xdist worker, in
file order, with the fixture made once; tests marked `serial` are left to
the second pass (checked on a small suite of its own run with this
conftest.py). pg_server is the worker's own: a test may restart it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, REPO

HERE = Path(__file__).resolve().parent

SHARED = '''
import os
from pathlib import Path

import pytest

LOG = Path(os.environ["CW_PARALLEL_LOG"])


def note(what):
    with open(LOG, "a") as f:
        f.write(f"{what} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")


@pytest.fixture(scope="module")
def daemon():
    note("fixture")
    return object()

'''

SHARED_TEST = '''
def test_shared_{i}(daemon):
    note("shared_{i}")
'''

FREE = '''
import time


def test_free_{i}():
    time.sleep(0.2)
'''

SERIAL = '''
import pytest


@pytest.mark.serial
def test_timing():
    pass
'''


def run_suite(tmp_path, *args):
    d = tmp_path / "suite"
    d.mkdir(exist_ok=True)
    shutil.copy2(HERE / "conftest.py", d / "conftest.py")
    (d / "test_shared.py").write_text(SHARED + "".join(SHARED_TEST.format(i=i) for i in range(8)))
    (d / "test_free.py").write_text("".join(FREE.format(i=i) for i in range(8)))
    (d / "test_serial.py").write_text(SERIAL)
    env = dict(os.environ, CW_PARALLEL_LOG=str(tmp_path / "log"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir",
                           str(d), *args, str(d)], cwd=str(d), env=env, capture_output=True,
                          text=True, timeout=120)


def test_module_with_a_shared_fixture_runs_on_one_worker_in_order(tmp_path):
    r = run_suite(tmp_path, "-n", "2", "--dist", "loadgroup", "-m", "not serial")
    assert r.returncode == 0, r.stdout + r.stderr
    # (xdist's summary does not count the deselected test.)
    assert "16 passed in" in r.stdout, r.stdout
    lines = [line.split() for line in (tmp_path / "log").read_text().splitlines()]
    assert [w for w, _ in lines] == ["fixture"] + [f"shared_{i}" for i in range(8)], lines
    workers = {worker for _, worker in lines}
    assert len(workers) == 1 and workers != {"main"}, lines


def test_tests_marked_serial_are_left_to_a_pass_of_their_own(tmp_path):
    r = run_suite(tmp_path, "-m", "serial")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 16 deselected" in r.stdout, r.stdout
    assert "PytestUnknownMarkWarning" not in r.stdout + r.stderr


def test_pg_server_of_this_worker_restarts_through_its_directory(pg_server):
    if os.environ.get("CW_TEST_POSTGRESQL_URL"):
        pytest.skip("a server named by CW_TEST_POSTGRESQL_URL is not ours to restart")
    d = os.environ.get("CW_TEST_POSTGRESQL_DIR")
    assert d and Path(d).is_dir(), d
    r = subprocess.run([str(REPO / "tests/pg/pgserver.sh"), "restart", d], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["psql", "-X", "-At", "-d", pg_server, "-c", "SELECT 1"],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr
