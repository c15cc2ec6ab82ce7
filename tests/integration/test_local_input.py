"""Bad input and other local users (docs/running.md, docs/config.md): a
FIFO where a file is expected, the modes of data_dir and its files, a job's
descendants that try to outlive it. Real binaries; every wait bounded."""

import os
import subprocess
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def test_env_file_naming_a_fifo_is_refused_without_blocking(wk):
    fifo = wk.tmp / "env.fifo"
    os.mkfifo(fifo)
    wk.configure(job("Env", "/bin/true", env_file=str(fifo)))
    t0 = time.monotonic()
    try:
        r = wk("run", "Env", timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("run blocked opening the FIFO")
    assert time.monotonic() - t0 < 5
    assert r.returncode != 0
    assert "is not a regular file" in r.stderr + r.stdout, (r.stdout, r.stderr)
