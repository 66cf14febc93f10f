"""Helpers of the serve tests (a module of its own: every plugin's tests have a conftest)."""

import io
import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def midi_file(notes=(60, 64, 67)) -> bytes:
    import mido

    track = mido.MidiTrack()
    for n in notes:
        track += [mido.Message("note_on", note=n, velocity=90, time=0),
                  mido.Message("note_off", note=n, velocity=0, time=240)]
    buffer = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=buffer)
    return buffer.getvalue()


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1:``port`` in a thread, as ``seqkit serve`` does."""

    def __init__(self, app, port):
        import uvicorn
        from seqkit_serve.connections import server_options

        self.url = f"http://127.0.0.1:{port}"
        options = {**server_options(app.settings), "host": "127.0.0.1", "port": port}
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def raw_midi(track: bytes, division: int = 480) -> bytes:
    """A one-track format-0 MIDI file around ``track``'s event bytes."""
    import struct

    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, division) + b"MTrk" + struct.pack(">I", len(track)) + track


# issue 29: one note held for 2^28 ticks; 46 bytes, 279,620 s of music
LONG_NOTE_TRACK = bytes.fromhex("00903C40FFFFFF7F803C0000904040836080400000FF2F00")


def long_note_midi() -> bytes:
    return raw_midi(LONG_NOTE_TRACK)


def dense_midi(pairs: int = 330_000) -> bytes:
    """``pairs`` note on/off pairs at one tick each, with running status: about 6 bytes a pair
    (330,000: 1.98 MB), seconds for mido to read."""
    return raw_midi(b"\x00\x90\x3c\x40" + b"\x00\x3c\x00" + b"\x01\x3c\x40\x00\x3c\x00" * (pairs - 1) + b"\x00\xff\x2f\x00")


def get_seconds(url: str, timeout: float = 30) -> float:
    """Seconds one GET takes (its body read)."""
    import urllib.request

    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        answer.read()
    return time.perf_counter() - start


def wait_for(client, job_id, statuses=("done", "error", "cancelled"), timeout=60):
    """Poll a job through a test client until it reaches one of ``statuses``; its last answer."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        answer = client.get(f"/api/jobs/{job_id}").json()
        if answer["status"] in statuses:
            return answer
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still {answer['status']}")
