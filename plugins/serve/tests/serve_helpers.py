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
