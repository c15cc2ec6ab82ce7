"""Captured output (docs/running.md,
"Output"): bounded by max_output keeping head and tail with a marker, a
flood of hundreds of MiB costs the worker no more memory than the bound,
and arbitrary bytes are stored exactly and shown safely by `logs`."""

import json
import os
import re
import select
import subprocess
import time

from worker_helpers import *  # noqa: F401,F403

MIB = 1024 * 1024
LINE = b"0123456789abcdef\n"
FLOOD = 210 * MIB  # bytes of LINE pattern between BEGIN and END
MARKER_RE = re.compile(rb"\[\.\.\. cronwarden: (\d+) bytes omitted \.\.\.\]")


def flood_slice(start, end):
    """Bytes [start, end) of the flood job's whole output:
    b"BEGIN\\n" + (LINE repeated)[:FLOOD] + b"END\\n"."""
    total = 6 + FLOOD + 4
    parts = []
    if start < 6:
        parts.append(b"BEGIN\n"[start:min(end, 6)])
    ms, me = max(start, 6) - 6, min(end, total - 4) - 6
    if ms < me:
        off = ms % len(LINE)
        parts.append((LINE * ((off + me - ms) // len(LINE) + 1))[off:off + me - ms])
    if end > total - 4:
        parts.append(b"END\n"[max(start, total - 4) - (total - 4):end - (total - 4)])
    return b"".join(parts)


def vm_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def split_stored(stored, total, real_slice):
    """Checks that stored is head + marker line + tail of the real output
    (total bytes; real_slice(a, b) gives its bytes [a, b)); returns
    (head_len, tail_len, omitted)."""
    marks = list(MARKER_RE.finditer(stored))
    assert len(marks) == 1, f"expected one marker, found {len(marks)}"
    m = marks[0]
    omitted = int(m.group(1))
    head, tail = stored[: m.start()], stored[m.end():]
    # The marker is a line of its own: a newline may be added before and
    # after it. Find the reading where head and tail are the real output's
    # first and last bytes and the omitted count adds up.
    for h in {head, head[:-1] if head.endswith(b"\n") else head}:
        for t in {tail, tail[1:] if tail.startswith(b"\n") else tail}:
            if (len(h) + len(t) + omitted == total
                    and h == real_slice(0, len(h)) and t == real_slice(total - len(t), total)):
                return len(h), len(t), omitted
    raise AssertionError(
        f"stored output is not head + marker + tail of the real output: head {len(head)} bytes, "
        f"tail {len(tail)} bytes, marker says {omitted} omitted, real total {total}")


def test_flood_is_bounded(wk):
    done = wk.tmp / "flood.done"
    cmd = wk.script("flood", f"""
        printf 'BEGIN\\n'
        yes 0123456789abcdef | head -c {FLOOD}
        printf 'END\\n'
        : > {done}
        wait_gate finish
    """)
    wk.configure(job("Flood", cmd))
    total = 6 + FLOOD + 4
    max_output = MIB  # the default
    # Foreground, output copied to cronwarden's stdout (/dev/null here):
    # neither the copy nor the capture may buffer the flood.
    p = wk.spawn("run", "Flood", discard_stdout=True)
    st = wk.wait_running("Flood", timeout=30)[0]
    wait_for(done.exists, timeout=90, what="the job to write its 210 MiB")
    # Let the worker drain the pipe, then read its peak RSS while the job
    # (and so the worker) is still alive.
    time.sleep(0.3)
    worker = st["worker_pid"]
    wk.check_exe(worker)
    hwm_kib = vm_kib(worker, "VmHWM")
    wk.open_gate("finish")
    rc, _, err = p.finish(timeout=60)
    assert rc == 0, err
    # 210 MiB went through it; the worker never held more than a few MiB
    # of it (the bound is 1 MiB; the rest is the program, SQLite, and
    # under ASan its shadow memory).
    assert hwm_kib * 1024 < 32 * MIB, f"worker peak RSS {hwm_kib} KiB for a {FLOOD >> 20} MiB flood"

    stored = wk.db_output(st["id"])
    assert len(stored) <= max_output + 80
    h, t, omitted = split_stored(stored, total, flood_slice)
    assert h + t == max_output, (h, t)
    assert abs(h - t) <= 1, (h, t)
    assert omitted == total - max_output
    rec = wk.run_record(st["id"])
    assert rec["output_size"] == total
    assert rec["output_truncated"] is True
    row = wk.db_run(st["id"])
    assert row["output_size"] == total and row["output_truncated"] in (1, True)
    lj = wk.json("logs", str(st["id"]))
    assert lj["run"] == st["id"] and lj["truncated"] is True and lj["size"] == total
    assert lj["output"].encode() == stored
    # The store file does not grow with the flood.
    size = sum(f.stat().st_size for f in wk.data_dir.glob("cronwarden.db*"))
    assert size < 16 * MIB, size


def test_small_bound_keeps_head_and_tail(wk):
    cmd = wk.script("lines", "for i in $(seq 1 2000); do echo \"line $i\"; done\n")
    wk.configure(job("Lines", cmd), globals="max_output = 1KiB")
    r = wk("run", "Lines", "--quiet")
    assert r.returncode == 0, r.stderr
    run_id = int(SUMMARY_RE.search(r.stderr).group(1))
    real = b"".join(b"line %d\n" % i for i in range(1, 2001))
    stored = wk.db_output(run_id)
    h, t, omitted = split_stored(stored, len(real), lambda a, b: real[a:b])
    assert h + t == 1024 and abs(h - t) <= 1, (h, t)
    assert omitted == len(real) - 1024
    rec = wk.run_record(run_id)
    assert rec["output_size"] == len(real) and rec["output_truncated"] is True
    # Exactly at the bound: nothing cut, no marker.
    wk.configure(job("Exact", f"/bin/cat {wk.tmp / 'exact'}"), globals="max_output = 1KiB")
    (wk.tmp / "exact").write_bytes(b"x" * 1024)
    r = wk("run", "Exact", "--quiet")
    run_id = int(SUMMARY_RE.search(r.stderr).group(1))
    assert wk.db_output(run_id) == b"x" * 1024
    assert wk.run_record(run_id)["output_truncated"] is False


BINARY = (
    b"head \xe2\x82\xac \xc3\xa9 \x1b[31mred\x1b[0m\r\n"
    + bytes(range(256))
    + b"\nbad: \xff\xfe \xc3( \x80 end\x00tail"
)


def test_binary_output_stored_exactly_and_shown_safely(wk):
    data = wk.tmp / "binary.dat"
    data.write_bytes(BINARY)
    wk.configure(job("Bin", f"/bin/cat {data}"))
    r = wk("run", "Bin", "--quiet")
    assert r.returncode == 0, r.stderr
    run_id = int(SUMMARY_RE.search(r.stderr).group(1))
    assert wk.db_output(run_id) == BINARY
    assert wk.run_record(run_id)["output_size"] == len(BINARY)

    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.update(wk.env)
    base = [str(wk.binary), "--config", str(wk.config), "logs", str(run_id)]
    # To a pipe: the raw bytes.
    p = subprocess.run(base, capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == BINARY

    # --json: valid JSON (strict: raw control characters would not parse),
    # invalid UTF-8 replaced by U+FFFD, valid UTF-8 kept.
    p = subprocess.run(base + ["--json"], capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout.decode("utf-8"))
    assert j["run"] == run_id and j["truncated"] is False and j["size"] == len(BINARY)
    assert j["output"] == BINARY.decode("utf-8", "replace")
    assert "\u20ac" in j["output"] and "\u00e9" in j["output"]

    # To a terminal: non-printable bytes as \xNN, no raw escape sequences.
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(base, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        slave = None
        shown = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=10)
        assert proc.returncode == 0, proc.stderr.read()
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert b"\x1b" not in shown and b"\x00" not in shown and b"\xff" not in shown
    assert b"\\x1b" in shown and b"\\x00" in shown and b"\\xff" in shown and b"\\xfe" in shown
    assert "head \u20ac \u00e9".encode() in shown
    assert b"bad: \\xff\\xfe \\xc3( \\x80 end\\x00tail" in shown
