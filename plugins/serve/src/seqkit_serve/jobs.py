"""Generation jobs: one at a time per model, a first-come queue in front of each, progress, cancel.

A job's key is its generator and model: two requests for the same model wait for each other,
requests for different models run side by side (each in its own worker thread).
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from seqkit import Cancelled, Result, RunContext, SeqkitError


class QueueFull(SeqkitError):
    pass


@dataclass
class Job:
    generator: str
    key: tuple
    run: Callable[[RunContext], Result]
    cleanup: Callable[[], None] | None = None
    uploads: dict[str, str] = field(default_factory=dict)  # temporary path -> the name shown
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"  # queued, running, done, error, cancelled
    done: int = 0
    total: int | None = 0  # None: the generator does not know how many steps
    label: str = ""
    result: Result | None = None
    error: str | None = None
    cancel_requested: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    listeners: list[Callable[[], None]] = field(default_factory=list)
    started_at: float | None = None  # time.monotonic() when it began to run

    def timing(self) -> dict:
        """How long it has run, its steps (tokens) per second so far and, once some steps are
        done and their total is known, the seconds left at that rate (for the page's estimate)."""
        if self.started_at is None:
            return {}
        elapsed = max(time.monotonic() - self.started_at, 1e-6)
        out = {"elapsed": round(elapsed, 2)}
        if self.done > 0:
            out["per_second"] = round(self.done / elapsed, 2)
            if self.total:
                out["eta"] = round(max(self.total - self.done, 0) / (self.done / elapsed), 1)
        return out

    def _progress(self, done: int, total: int | None, label: str) -> None:
        self.done, self.total, self.label = done, total, label

    def when_finished(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the worker thread) when the job ends, or now if it has."""
        self.listeners.append(callback)
        if self.finished.is_set():
            callback()

    def _finish(self) -> None:
        if self.cleanup is not None:
            self.cleanup()
        self.finished.set()
        for callback in list(self.listeners):
            try:
                callback()
            except RuntimeError:  # the waiting request's event loop has closed: nobody to tell
                pass

    def execute(self) -> None:
        ctx = RunContext(on_progress=lambda done, total: self._progress(done, total, ctx.label),
                         cancelled=lambda: self.cancel_requested)
        try:
            if self.cancel_requested:
                raise Cancelled("cancelled")
            self.result = self.run(ctx)
            self.status = "done"
        except Cancelled:
            self.status = "cancelled"
        except SeqkitError as exc:
            self.status, self.error = "error", str(exc)
        except Exception as exc:  # a generator's bug: one line for the page, the traceback on the console
            traceback.print_exc(file=sys.stderr)
            self.status, self.error = "error", f"generator {self.generator!r} failed: {type(exc).__name__}: {exc}"
        finally:
            self._finish()


class JobQueue:
    def __init__(self, max_waiting: int = 8, keep: int = 32):
        self.max_waiting = max_waiting
        self.keep = keep
        self._lock = threading.Lock()
        self._waiting: dict[tuple, collections.deque[Job]] = {}
        self._running: dict[tuple, Job | None] = {}
        self._jobs: dict[str, Job] = {}

    def submit(self, job: Job) -> Job:
        with self._lock:
            waiting = self._waiting.setdefault(job.key, collections.deque())
            if len(waiting) >= self.max_waiting:
                raise QueueFull(f"{len(waiting)} requests are already waiting for {job.generator} "
                                f"({job.key[1] or 'its default model'}); try again in a moment")
            waiting.append(job)
            self._jobs[job.id] = job
            self._forget_finished()
            if job.key not in self._running:
                self._running[job.key] = None
                threading.Thread(target=self._work, args=(job.key,), daemon=True,
                                 name=f"seqkit-serve {job.generator}").start()
        return job

    def _work(self, key: tuple) -> None:
        while True:
            with self._lock:
                waiting = self._waiting[key]
                if not waiting:
                    del self._running[key]
                    return
                job = waiting.popleft()
                self._running[key] = job
                job.status = "running"
                job.started_at = time.monotonic()
            job.execute()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        """How many jobs are ahead of ``job`` (the running one included); 0 once it runs."""
        with self._lock:
            waiting = self._waiting.get(job.key, ())
            if job not in waiting:
                return 0
            return list(waiting).index(job) + (self._running.get(job.key) is not None)

    def cancel(self, job: Job) -> None:
        with self._lock:
            job.cancel_requested = True
            waiting = self._waiting.get(job.key)
            if waiting is not None and job in waiting:
                waiting.remove(job)
                job.status = "cancelled"
                job._finish()

    def _forget_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished.is_set()]
        for job in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[job.id]
