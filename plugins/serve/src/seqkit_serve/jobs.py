"""Generation jobs: one at a time per model, a first-come queue in front of each, progress, cancel.

A job's key is its generator and the checkpoint it will run (see ``app._model_key``): two
requests for the same checkpoint wait for each other, whatever name they gave it; requests for
different models run side by side (each in its own worker thread). Each client (``Job.client``)
may hold at most ``per_client`` places of a queue, the running job included, so one client
cannot fill a model's queue; every refusal says when to try again (``QueueFull.retry_after``).
"""

from __future__ import annotations

import collections
import ctypes
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from seqkit import Cancelled, Result, RunContext, SeqkitError


class QueueFull(SeqkitError):
    """A queue (or a client's share of it) is full; ``retry_after``: seconds until a place is
    likely to free up (the running job's estimated rest, at least 1)."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Job:
    generator: str
    key: tuple
    run: Callable[[RunContext], Result]
    cleanup: Callable[[], None] | None = None
    uploads: dict[str, str] = field(default_factory=dict)  # temporary path -> the name shown
    client: str = ""  # who asked (see app.ClientIds): each client has a bounded share of a queue
    model: str = ""  # the model's name as shown in messages (the key holds the checkpoint's path)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"  # queued, running, done, error, cancelled
    done: int = 0
    total: int | None = 0  # None: the generator does not know how many steps
    label: str = ""
    result: Result | None = None
    error: str | None = None
    cancel_requested: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    started_at: float | None = None  # time.monotonic() when it began to run
    nbytes: int = 0  # bytes of the files of its result (the kept jobs' files are bounded in all)
    listeners: list[Callable[[], None]] = field(default_factory=list)

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
            self.nbytes = sum(len(b) for o in self.result.outputs for b in o.files.values()
                              if isinstance(b, (bytes, bytearray)))
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
    def __init__(self, max_waiting: int = 8, keep: int = 32, per_client: int | None = None,
                 keep_bytes: int | None = None):
        self.max_waiting = max_waiting
        self.keep = keep
        self.per_client = per_client or max_waiting + 1
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._waiting: dict[tuple, collections.deque[Job]] = {}
        self._running: dict[tuple, Job | None] = {}
        self._jobs: dict[str, Job] = {}

    def submit(self, job: Job) -> Job:
        with self._lock:
            waiting = self._waiting.setdefault(job.key, collections.deque())
            model = f"{job.generator} ({job.model or 'its default model'})"
            running = self._running.get(job.key)
            mine = sum(j.client == job.client for j in waiting) + (running is not None and running.client == job.client)
            if len(waiting) >= self.max_waiting:
                raise QueueFull(f"{len(waiting)} requests are already waiting for {model}; try again in a "
                                f"moment", self._retry_after(job.key))
            if mine >= self.per_client:
                raise QueueFull(f"you already have {mine} request(s) waiting or running for {model}; this "
                                f"server takes at most {self.per_client} per client in each queue (seqkit serve "
                                f"--per-client); try again when one ends", self._retry_after(job.key))
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
                job.status, job.started_at = "running", time.monotonic()
            job.execute()
            if job.nbytes > TRIM_AFTER_BYTES:
                trim_memory()

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

    def _retry_after(self, key: tuple) -> int:
        """Seconds until the running job of ``key`` likely ends (from its progress so far), 1 to 600;
        5 when it cannot tell."""
        job = self._running.get(key)
        if job is None or job.started_at is None or not job.done or not job.total:
            return 5
        elapsed = time.monotonic() - job.started_at
        rest = elapsed * max(0, job.total - job.done) / job.done
        return int(min(600, max(1, rest + 1)))

    def _forget_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished.is_set()]
        drop = finished[: max(0, len(finished) - self.keep)]
        kept = finished[len(drop):]
        if self.keep_bytes is not None:  # the oldest go first while the files kept are too many bytes
            held = sum(j.nbytes for j in kept)
            while kept and held > self.keep_bytes:
                held -= kept[0].nbytes
                drop.append(kept.pop(0))
        for job in drop:
            del self._jobs[job.id]
        if sum(j.nbytes for j in drop) > TRIM_AFTER_BYTES:
            trim_memory()


TRIM_AFTER_BYTES = 16 * 1024 * 1024


def trim_memory() -> None:
    """Hand freed memory back to the system (glibc's ``malloc_trim``): after a job that made large
    files, the allocator otherwise keeps hundreds of MB for later; elsewhere nothing happens."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
