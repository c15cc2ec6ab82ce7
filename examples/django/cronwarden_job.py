"""cronwarden_job - what a Python job (a Django management command, a
script) needs from cronwarden, in one small module with no dependency
(docs/django.md). It reads the job environment the worker sets
(docs/config.md, "The job's environment"):

    import cronwarden_job as cw

    cw.run_id()            # 42, or None outside cronwarden
    cw.scheduled_at()      # the fire's instant (aware datetime), or None
    cw.progress(13, 77)    # shown by `cronwarden status`, the API and the UI
    with cw.killable() as stop:
        for item in work:
            if stop.requested:   # `cronwarden kill`, a timeout, the UI
                break            # leave between two items, state consistent
            ...

Outside cronwarden every call is harmless: progress() does nothing and
nothing is ever requested to stop, so a command runs the same by hand."""

import datetime
import os
import signal

__all__ = ["run_id", "job", "scheduled_at", "progress", "killable", "inside"]


def inside():
    """Whether this process is a cronwarden job."""
    return "CRONWARDEN_RUN_ID" in os.environ


def run_id():
    """The run's id (as `cronwarden history` shows it), or None."""
    v = os.environ.get("CRONWARDEN_RUN_ID")
    return int(v) if v else None


def job():
    """The job's name, or None."""
    return os.environ.get("CRONWARDEN_JOB")


def scheduled_at():
    """The instant the run was scheduled for, as an aware datetime: the
    fire's for a scheduled run (use it as an idempotency key), the start
    for a manual one; None outside cronwarden."""
    v = os.environ.get("CRONWARDEN_SCHEDULED_AT")
    return datetime.datetime.fromisoformat(v) if v else None


def progress(done, total=None):
    """Reports progress: done of total, or a percentage when total is None
    (done 0 to 100). Returns False when it could not be reported."""
    fd = os.environ.get("CRONWARDEN_PROGRESS_FD")
    if not fd:
        return False
    line = f"{int(done)}/{int(total)}\n" if total is not None else f"{int(done)}%\n"
    try:
        os.write(int(fd), line.encode())
    except OSError:
        return False
    return True


class _Stop:
    def __init__(self):
        self.requested = False
        self.signal = None


class killable:
    """A context in which SIGTERM (how cronwarden asks a job to stop) sets
    .requested instead of ending the process, so the job stops between two
    steps. If it does not return within the job's kill_grace, cronwarden
    sends SIGKILL. The previous handler is restored on exit."""

    def __enter__(self):
        self._stop = _Stop()
        self._old = signal.signal(signal.SIGTERM, self._on_term)
        return self._stop

    def _on_term(self, signo, frame):
        self._stop.requested = True
        self._stop.signal = signo

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._old)
        return False
