"""Uploads for ``file`` parameters: size-capped, read as MIDI or ABC only, saved to a temp folder.

The generator gets the path of the saved copy, named as the client named it (made safe); nothing
else the client sends is used as a path. A MIDI upload is parsed in a worker process
(:class:`MidiChecker`), off the event loop: a dense 2 MB MIDI takes seconds to read, and the
server answers other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from seqkit import SeqkitError

MIDI_SUFFIXES = (".mid", ".midi")
ABC_SUFFIXES = (".abc",)
ABC_KEY_LINE = re.compile(r"^K:", re.MULTILINE)


def save_upload(param, filename: str, data: bytes, max_bytes: int, folder: Path) -> Path:
    """``data`` checked for ``param`` (its ``accept`` suffixes, the size cap, MIDI or ABC content)
    and written to ``folder``; the error names the parameter as the command line does."""
    suffix = Path(filename or "").suffix.lower()
    accept = tuple(a.lower() for a in param.accept)
    if accept and suffix not in accept:
        raise SeqkitError(f"{param.flag} takes {', '.join(accept)} files, not {filename!r}")
    if len(data) > max_bytes:
        raise SeqkitError(f"{param.flag}: the upload is {len(data):,} bytes; this server takes at most "
                          f"{max_bytes:,} (seqkit serve --max-upload-mb)")
    if not data:
        raise SeqkitError(f"{param.flag}: the upload {filename!r} is empty")
    if suffix in MIDI_SUFFIXES:  # the rest of the check (parsing it) is MidiChecker's, off the event loop
        if not data.startswith(b"MThd"):
            raise SeqkitError(f"{param.flag}: {filename!r} is not a MIDI file (it does not start with MThd)")
    elif suffix in ABC_SUFFIXES:
        _check_abc(param, filename, data)
    else:
        raise SeqkitError(f"{param.flag}: this server takes MIDI (.mid, .midi) and ABC (.abc) uploads "
                          f"only, not {filename!r}")
    (folder / param.name).mkdir()
    path = folder / param.name / safe_name(filename, suffix)
    path.write_bytes(data)
    return path


def safe_name(filename: str, suffix: str) -> str:
    """The client's file name, kept where it is plain (letters, digits, ``.``, ``-``, ``_``, spaces;
    at most 80 characters), so that what a generator says about the file names it as the user
    knows it; never a path."""
    stem = re.sub(r"[^\w. -]+", "_", Path(str(filename).replace("\\", "/")).name[: -len(suffix) or None])
    stem = stem.strip(" .")[:80] or "upload"
    return f"{stem}{suffix}"


def inspect_midi(data: bytes) -> dict:
    """``{"notes": N, "seconds": S}`` of a MIDI file (``seconds``: where its last event ends), or
    ``{"error": why}``. Run in a worker process (see :class:`MidiChecker`): symusic (C++, 0.07 s
    for 330,000 notes) where it is installed, as the music plugin reads MIDI; mido otherwise."""
    try:
        import symusic
    except ImportError:
        return _inspect_with_mido(data)
    try:
        score = symusic.Score.from_midi(data, ttype="second")
    except Exception as exc:  # RuntimeError: "MiniMidi: ..." on a bad file
        return {"error": f"is not a readable MIDI file ({exc})"}
    if not score.tracks:  # symusic keeps tracks with notes only: mido says whether it has any events
        return _inspect_with_mido(data)
    return {"notes": sum(len(track.notes) for track in score.tracks), "seconds": float(score.end())}


def _inspect_with_mido(data: bytes) -> dict:
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError ... on bad files
        return {"error": f"is not a readable MIDI file ({exc})"}
    if not any(len(track) for track in midi.tracks):
        return {"error": "has no MIDI events"}
    notes = sum(1 for track in midi.tracks for m in track if m.type == "note_on" and m.velocity)
    tempos, ends = [], []  # (tick, microseconds a beat); each track's last tick
    for track in midi.tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.type == "set_tempo":
                tempos.append((tick, m.tempo))
        ends.append(tick)
    seconds, last_tick, tempo = 0.0, 0, 500_000
    end = max(ends)
    for tick, new_tempo in sorted(tempos) + [(end, 0)]:  # tempo changes apply to all tracks (format 0/1)
        tick = min(tick, end)
        seconds += (tick - last_tick) * tempo / 1e6 / max(midi.ticks_per_beat, 1)
        last_tick, tempo = tick, new_tempo or tempo
    return {"notes": notes, "seconds": seconds}


def exit_with_parent(parent: int) -> None:
    """In the checker's worker: end it once the server that started it is gone (killed with no
    chance to close its pool), instead of waiting forever as an orphan."""
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


class MidiChecker:
    """One worker process that parses MIDI uploads (started on the first one, with ``spawn``: the
    server's threads and torch are not forked). A check that takes longer than ``timeout`` seconds
    (queueing included) is refused and, if it was running, its worker is stopped."""

    def __init__(self, timeout: float = 20.0):
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                import multiprocessing

                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=exit_with_parent, initargs=(os.getpid(),))
            return self._pool

    def start(self) -> None:
        """Start the worker now (in the background: it imports symusic or mido), so that the first
        upload does not wait for it."""
        self._executor().submit(inspect_midi, WARM_UP)

    async def check(self, param, filename: str, data: bytes, max_notes: int, max_seconds: float) -> dict:
        pool = self._executor()
        future = pool.submit(inspect_midi, data)
        try:
            facts = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            self._stop(pool)
            raise UploadBusy(f"{param.flag}: {filename!r} could not be checked in {self.timeout:g} s (the "
                             f"server is busy checking other uploads); try again in a moment") from None
        except BrokenProcessPool:
            self._stop(pool)
            raise SeqkitError(f"{param.flag}: {filename!r} could not be read (the MIDI check failed)") from None
        if "error" in facts:
            raise SeqkitError(f"{param.flag}: {filename!r} {facts['error']}")
        if facts["notes"] > max_notes:
            raise SeqkitError(f"{param.flag}: {filename!r} has {facts['notes']:,} notes; this server takes "
                              f"primers of at most {max_notes:,} notes (seqkit serve --max-primer-notes)")
        if facts["seconds"] > max_seconds:
            raise SeqkitError(f"{param.flag}: {filename!r} lasts {facts['seconds']:,.0f} s; this server takes "
                              f"primers of at most {max_seconds:,g} s (seqkit serve --max-seconds)")
        return facts

    def _stop(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


WARM_UP = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


class UploadBusy(SeqkitError):
    """The upload checker did not get to an upload in time: 503, try again."""


def _check_abc(param, filename: str, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SeqkitError(f"{param.flag}: {filename!r} is not an ABC tune (not UTF-8 text)") from None
    if "\x00" in text or not ABC_KEY_LINE.search(text):
        raise SeqkitError(f"{param.flag}: {filename!r} is not an ABC tune (no K: key line)")
