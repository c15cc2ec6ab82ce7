"""A real Django project scheduled by cronwarden (examples/django/,
docs/django.md): Debian's python3-django, the example shop's management
commands run as jobs, with params, progress, a failing command, a long one
that is killed between two steps and resumed where it stopped, and the
scheduled instant seen through the examples/django/cronwarden_job.py
helper. Skipped without python3-django."""

import json
import re
import shutil
import subprocess
import time

import pytest

from worker_helpers import wait_for

PYTHON = "/usr/bin/python3"


@pytest.fixture
def shop(repo, build_dir, tmp_path):
    if subprocess.run([PYTHON, "-c", "import django"], capture_output=True).returncode != 0:
        pytest.skip("python3-django is not installed")
    d = tmp_path / "shop"
    shutil.copytree(repo / "examples/django", d,
                    ignore=shutil.ignore_patterns("*.sqlite3", ".cronwarden", "__pycache__"))
    r = subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return Shop(build_dir / "cronwarden", d)


class Shop:
    def __init__(self, binary, d):
        self.binary, self.dir = binary, d

    def __call__(self, *args):
        return subprocess.run([str(self.binary), "--config", str(self.dir / "cronwarden.ini"), *args],
                              capture_output=True, text=True, timeout=60)

    def ok(self, *args):
        r = self(*args)
        assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def runs(self):
        return {r["id"]: r for r in json.loads(self.ok("history", "--json").stdout)}

    def orders(self, where="1"):
        import sqlite3
        with sqlite3.connect(self.dir / "shop.sqlite3") as db:
            return db.execute(f"select count(*) from shop_order where {where}").fetchone()[0]


def run_id(out):
    return int(re.search(r"\d+", out).group(0))


def test_params_and_progress(shop):
    r = shop.ok("run", "ImportOrders:12,source=test")
    assert "imported 12 orders from test" in r.stdout, r.stdout
    run = max(shop.runs().values(), key=lambda x: x["id"])
    assert run["status"] == "succeeded"
    assert run["progress"]["done"] == 12 and run["progress"]["total"] == 12
    assert f"(run {run['id']})" in r.stdout
    assert shop.orders("source = 'test'") == 12


def test_failing_command_fails_the_run_with_its_reason(shop):
    r = shop("run", "CheckStock:minimum=1")
    assert r.returncode == 1
    assert "CommandError: only 0 orders waiting, expected at least 1" in r.stdout + r.stderr
    run = max(shop.runs().values(), key=lambda x: x["id"])
    assert run["status"] == "failed" and run["exit_code"] == 1
    assert "only 0 orders waiting" in shop.ok("logs", str(run["id"])).stdout


def test_long_job_killed_between_steps_then_resumed(shop):
    shop.ok("run", "ImportOrders:40,source=bulk")
    first = run_id(shop.ok("run", "ProcessOrders:delay=0.1", "--detach").stdout)

    def some_done():
        p = shop.runs()[first].get("progress")
        return p and p["done"] >= 3

    wait_for(some_done, timeout=30, what="ProcessOrders to process a few orders")
    shop.ok("kill", "--run", str(first))
    wait_for(lambda: shop.runs()[first]["status"] != "running", timeout=30, what="the kill")
    killed = shop.runs()[first]
    assert killed["status"] == "killed", killed
    assert "stop requested:" in shop.ok("logs", str(first)).stdout
    done = shop.orders("processed_at is not null")
    assert 3 <= done < 40
    # Each order was processed whole (the kill came between two).
    assert shop.orders(f"processed_by_run = {first}") == done

    r = shop.ok("resume")
    second = int(re.search(r"as run (\d+)", r.stdout).group(1))
    wait_for(lambda: shop.runs()[second]["status"] != "running", timeout=60, what="the resumed run")
    resumed = shop.runs()[second]
    assert resumed["status"] == "succeeded", resumed
    assert resumed["trigger"] == "resume" and resumed["resumed_from"] == first
    assert f"{done} done before" in shop.ok("logs", str(second)).stdout
    assert shop.orders("processed_at is null") == 0
    assert shop.orders(f"processed_by_run = {second}") == 40 - done


def test_scheduled_run_sees_its_fire_instant(shop):
    ini = shop.dir / "cronwarden.ini"
    ini.write_text(ini.read_text() + "run = * * * * * *  CheckStock:minimum=0\n")
    shop.ok("tick")  # the first pass starts nothing old
    time.sleep(1.2)
    shop.ok("tick")

    def scheduled():
        return [r for r in shop.runs().values() if r["trigger"] == "schedule" and r["status"] == "succeeded"]

    runs = wait_for(scheduled, timeout=30, what="a scheduled CheckStock run")
    out = shop.ok("logs", str(runs[0]["id"])).stdout
    assert f"waiting at {runs[0]['scheduled_at']}" in out, (out, runs[0])
