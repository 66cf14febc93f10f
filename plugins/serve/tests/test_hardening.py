"""The page under hostile use (issue 29): work bounded by a primer's length and the audio it makes,
uploads checked off the event loop, a bounded share of each queue per client with Retry-After,
one queue per checkpoint, no server path in any answer, every error as JSON, slow connections
closed."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install -e './plugins/serve[test]'")

from fastapi.testclient import TestClient  # noqa: E402
from seqkit_serve.app import cap_seconds, create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402
from serve_helpers import (  # noqa: E402
    ServerThread,
    dense_midi,
    free_port,
    get_seconds,
    long_note_midi,
    midi_file,
    raw_midi,
    wait_for,
)

import seqkit  # noqa: E402
import seqkit.host  # noqa: E402
from seqkit import Result, SeqkitError  # noqa: E402

URL = "http://127.0.0.1:8000"
needs_music = pytest.mark.skipif("music" not in seqkit.host.generators(), reason="no music generator registered")


@pytest.fixture
def client(tone):
    with TestClient(create_app(Settings()), base_url=URL) as c:
        yield c


# ------------------------------------------------------------------ 2. work bounded by seconds, notes, audio

@needs_music
def test_a_long_note_primer_is_refused_before_any_work(client):
    """46 bytes, one note held 2^28 ticks: 3 x 180 MB of WAV and 3.7 GB of server memory before."""
    r = client.post("/api/run/music", data={"tokens": "4", "count": "3"},
                    files={"primer": ("longnote.mid", long_note_midi(), "audio/midi")})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"] == ("--primer: 'longnote.mid' lasts 279,621 s; this server takes primers of at most "
                                 "600 s (seqkit serve --max-seconds)")


def test_a_primer_with_too_many_notes_is_refused(tone):
    with TestClient(create_app(Settings(max_primer_notes=100)), base_url=URL) as c:
        r = c.post("/api/run/test-tone", files={"primer": ("dense.mid", dense_midi(101), "audio/midi")})
        assert r.status_code == 422
        assert r.json()["error"] == ("--primer: 'dense.mid' has 101 notes; this server takes primers of at most "
                                     "100 notes (seqkit serve --max-primer-notes)")
        r = c.post("/api/run/test-tone", files={"primer": ("ok.mid", dense_midi(100), "audio/midi")})
        assert r.status_code == 200 and r.json()["result"]["results"][0]["primer_notes"] == 100


@needs_music
def test_the_audio_of_a_request_is_bounded():
    gen = seqkit.host.get_generator("music")
    settings = Settings()  # 600 s a piece, 1,200 s a request
    checked = gen.check({"count": 256})
    cap_seconds(gen, {"count": 256}, checked, settings)  # not set by the client: lowered to fit
    assert checked["max_seconds"] == pytest.approx(1200 / 256)
    checked = gen.check({"count": 1})
    cap_seconds(gen, {}, checked, settings)
    assert checked["max_seconds"] == 600
    with pytest.raises(SeqkitError, match=r"--max-seconds 1e\+06 is more than this server allows \(600 s per piece"):
        cap_seconds(gen, {"max_seconds": 1e6}, gen.check({"max_seconds": 1e6}), settings)
    values = {"count": 4, "max_seconds": 600}
    with pytest.raises(SeqkitError, match=r"up to 2,400 s of audio \(4 piece\(s\) x 600 s \(--max-seconds\)\); this "
                                          r"server renders at most 1,200 s per request"):
        cap_seconds(gen, values, gen.check(values), settings)


# ------------------------------------------------------------------ 3. uploads checked off the event loop

def test_the_server_answers_while_a_dense_upload_is_checked(tone):
    """A 1.98 MB MIDI of 330,000 notes took mido 5 to 20 s to read inside the request handler, and
    every other request waited for it. Now it is read in a worker process: a GET during the check
    takes a small part of the upload's time (a relative bound, for a loaded machine). The request
    ends once the file is checked (its count=0 is refused next, if the notes are not)."""
    port = free_port()
    data = dense_midi()
    with ServerThread(create_app(Settings()), port) as server:
        get_seconds(server.url + "/api/generators")  # warm
        boundary = "seqkit-test-boundary"
        body = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"count\"\r\n\r\n0\r\n"  # refused after
                f"--{boundary}\r\ncontent-disposition: form-data; name=\"primer\"; filename=\"dense.mid\"\r\n"
                f"content-type: audio/midi\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        upload = urllib.request.Request(server.url + "/api/run/test-tone", data=body, method="POST",
                                        headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        answer, times = {}, []

        def post():
            start = time.perf_counter()
            try:
                urllib.request.urlopen(upload, timeout=120)
            except urllib.error.HTTPError as exc:
                answer["status"], answer["body"] = exc.code, json.loads(exc.read())
            answer["seconds"] = time.perf_counter() - start

        thread = threading.Thread(target=post)
        thread.start()
        while thread.is_alive():
            times.append(get_seconds(server.url + "/api/generators"))
        thread.join()
    print(f"\ndense upload checked in {answer['seconds']:.2f} s; {len(times)} GETs meanwhile, the slowest "
          f"{max(times) * 1000:.0f} ms, median {sorted(times)[len(times) // 2] * 1000:.0f} ms")
    assert times, "no GET ran during the upload"
    assert max(times) < 0.1 + 0.5 * answer["seconds"], (max(times), answer["seconds"], len(times))
    assert answer["status"] == 422 and "has 330,000 notes" in answer["body"]["error"]


# ------------------------------------------------------------------ 4. each client a bounded share, Retry-After

def test_one_client_cannot_lock_out_another(tone):
    app = create_app(Settings())
    with TestClient(app, base_url=URL) as flooder:
        second = TestClient(app, base_url=URL)
        assert second.get("/").cookies.get("seqkit_client")  # the page gives each browser its own id
        slow = {"length": 400, "step_seconds": 0.02}
        answers = [flooder.post("/api/run/test-tone?wait=false", json=slow) for _ in range(9)]
        assert [a.status_code for a in answers] == [202, 202] + [429] * 7
        refused = answers[-1]
        assert "you already have 2 request(s) waiting or running for test-tone" in refused.json()["error"]
        assert "--per-client" in refused.json()["error"]
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        mine = second.post("/api/run/test-tone?wait=false", json={"length": 1})
        assert mine.status_code == 202 and mine.json()["status"] == "queued"
        for a in answers[:2] + [mine]:
            flooder.post(f"/api/jobs/{a.json()['id']}/cancel")


def test_every_429_says_when_to_retry(tone):
    with TestClient(create_app(Settings(max_waiting=1, per_client=9)), base_url=URL) as c:
        first = c.post("/api/run/test-tone?wait=false", json={"length": 400, "step_seconds": 0.02}).json()["id"]
        wait_for(c, first, statuses=("running",))
        c.post("/api/run/test-tone?wait=false", json={"length": 1})
        full = c.post("/api/run/test-tone?wait=false", json={"length": 1})
        assert full.status_code == 429 and "already waiting for test-tone" in full.json()["error"]
        assert 1 <= int(full.headers["retry-after"]) <= 600
        c.post(f"/api/jobs/{first}/cancel")


# ------------------------------------------------------------------ 5. one queue per checkpoint

@pytest.mark.parametrize("name, values, spelling", [
    ("music", {}, "music-transformer"),
    ("names", {"country": "Greek"}, "transformer"),
    ("names", {"country": "Greek"}, "shipped:transformer"),
])
def test_the_default_model_and_its_spellings_share_one_queue(client, monkeypatch, name, values, spelling):
    """An empty model field, the default's name and ``shipped:NAME`` are one checkpoint: one queue
    (not a second worker on one model)."""
    if name not in seqkit.host.generators():
        pytest.skip(f"no {name} generator registered")
    gen = seqkit.host.get_generator(name)
    release = threading.Event()

    def blocked(ctx=None, **values):
        release.wait(30)
        return Result([])

    monkeypatch.setattr(gen, "run", blocked)
    try:
        first = client.post(f"/api/run/{name}?wait=false", json={**values, "model": ""}).json()
        wait_for(client, first["id"], statuses=("running",))
        second = client.post(f"/api/run/{name}?wait=false", json={**values, "model": spelling}).json()
        assert second["status"] == "queued" and second["position"] == 1, second
    finally:
        release.set()
    assert wait_for(client, second["id"])["status"] == "done"


# ------------------------------------------------------------------ 6. no server path in any answer

@needs_music
def test_music_results_name_the_checkpoint_not_its_path(client):
    r = client.post("/api/run/music", data={"tokens": "4", "seed": "1"},
                    files={"primer": ("my tune.mid", midi_file(), "audio/midi")})
    assert r.status_code == 200, r.text[:300]
    result = r.json()["result"]
    assert result["model"] == "music-transformer" and result["primer"] == "my tune.mid"
    assert "/" not in json.dumps({k: v for k, v in result.items() if k != "results"})
    assert not any("/" in str(v) for row in result["results"] for k, v in row.items() if k != "files")


@needs_music
def test_run_errors_name_the_upload_as_the_client_named_it(client):
    only_a_pedal = raw_midi(b"\x00\xb0\x40\x7f\x60\xb0\x40\x00\x00\xff\x2f\x00")
    r = client.post("/api/run/music", data={"tokens": "4"}, files={"primer": ("pedal only.mid", only_a_pedal, "audio/midi")})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error.startswith("pedal only.mid has no notes to continue"), error
    assert "/tmp" not in error and "seqkit-serve-" not in error


def test_scrub_keeps_names_and_drops_folders():
    from seqkit_serve.app import scrub

    assert scrub("cannot read /home/me/.local/share/seqkit/checkpoints/music/x.json: bad") == "cannot read x.json: bad"
    assert scrub("/tmp/seqkit-serve-ab12/primer/a b.mid has no notes", {"/tmp/seqkit-serve-ab12/primer/a b.mid": "a b.mid"}) \
        == "a b.mid has no notes"
    assert scrub("no checkpoint named 'gru' (available: gru, transformer)") == \
        "no checkpoint named 'gru' (available: gru, transformer)"


# ------------------------------------------------------------------ 7. every error is {"error": ...}

@pytest.mark.parametrize("method, path, kwargs, status, message", [
    ("GET", "/no/such/page", {}, 404, "no such page or API endpoint: /no/such/page"),
    ("GET", "/api/run/names", {}, 405, "GET is not allowed on /api/run/names (use POST)"),
    ("DELETE", "/api/generators", {}, 405, "DELETE is not allowed on /api/generators (use GET)"),
    ("POST", "/api/run/names?wait=maybe", {"json": {"country": "Greek"}}, 422, "wait must be true or false, not 'maybe'"),
    ("GET", "/api/jobs/x/files/abc/wav", {}, 404, "no such page or API endpoint: /api/jobs/x/files/abc/wav"),
    ("POST", "/api/run/test-tone", {"files": {"primer": ("x" * 5000 + ".mid", midi_file(), "audio/midi")}}, 400,
     "the form could not be read"),
    ("POST", "/api/run/test-tone", {"files": [("primer", (f"{i}.mid", midi_file(), "audio/midi")) for i in range(17)]},
     400, "the form could not be read: Too many files. Maximum number of files is 16."),
])
def test_every_error_is_json_with_its_status(client, method, path, kwargs, status, message):
    r = client.request(method, path, **kwargs)
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"error"} and r.json()["error"].startswith(message), r.json()


def test_a_long_file_name_that_parses_is_kept_short(client):
    r = client.post("/api/run/test-tone", files={"primer": ("y" * 300 + ".mid", midi_file(), "audio/midi")})
    assert r.status_code == 200 and r.json()["result"]["primer"] == "y" * 80 + ".mid"


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def server(tone):
    with ServerThread(create_app(Settings(header_timeout=1.0, body_timeout=1.0, max_connections=8)),
                      free_port()) as s:
        s.port = int(s.url.rsplit(":", 1)[1])
        yield s


@pytest.mark.parametrize("request_bytes", [
    b"POST /api/run/names HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 12abc\r\n\r\n{}",
    b"GET /api/generators HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
])
def test_a_malformed_request_gets_json(server, request_bytes):
    answer = raw_exchange(server.port, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"].startswith("this is not a valid HTTP request")


# ------------------------------------------------------------------ 8. slow and idle connections closed

def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock`` (None if it is still open after ``seconds``)."""
    sock.settimeout(seconds)
    start = time.perf_counter()
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.perf_counter() - start


def test_idle_and_slow_clients_are_closed(server):
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    half_headers = socket.create_connection(("127.0.0.1", server.port))
    half_headers.sendall(b"GET /api/generators HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    half_body = socket.create_connection(("127.0.0.1", server.port))
    half_body.sendall(b"POST /api/run/names HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{\"cou")
    try:
        for sock in [*silent, half_headers, half_body]:
            assert closed_within(sock, 8) is not None, "a slow connection was left open"
        assert get_seconds(server.url + "/api/generators") < 10  # and the server still answers
    finally:
        for sock in [*silent, half_headers, half_body]:
            sock.close()


def test_connections_beyond_the_limit_are_refused_with_json(server):
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
    try:
        time.sleep(0.2)
        answer = raw_exchange(server.port, b"GET /api/generators HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"retry-after: 5" in head.lower()
        assert "--max-connections" in json.loads(body)["error"]
    finally:
        for sock in held:
            sock.close()


def test_finished_jobs_hold_a_bounded_number_of_bytes():
    from seqkit_serve.jobs import Job, JobQueue

    from seqkit import Output

    queue = JobQueue(max_waiting=8, keep=32, keep_bytes=100)
    jobs = []
    for _ in range(3):
        job = queue.submit(Job("g", ("g", ""), lambda ctx: Result([Output("x", files={"wav": b"\0" * 60})])))
        assert job.finished.wait(10) and job.nbytes == 60
        jobs.append(job)
    queue.submit(Job("g", ("g", ""), lambda ctx: Result([]))).finished.wait(10)
    assert queue.get(jobs[0].id) is None and queue.get(jobs[1].id) is None  # the oldest went first
    assert queue.get(jobs[2].id) is jobs[2]


@pytest.mark.skipif("abc" not in seqkit.host.generators(), reason="no abc generator registered")
def test_abc_results_name_the_checkpoint_not_its_path(client):
    r = client.post("/api/run/abc", json={"count": 1, "max_chars": 20, "seed": 1})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["result"]["model"] == "lstm"
    assert not any(str(v).startswith("/") for v in r.json()["result"].values())


def test_the_upload_checker_ends_with_a_server_killed_without_closing_it():
    """A server that dies without closing its pool (SIGKILL, or a test that never shuts it down)
    leaves no checker process behind: the worker watches its parent and ends within seconds."""
    import os
    import subprocess
    import sys

    code = ("import os, sys, time\n"
            "from seqkit_serve.uploads import MidiChecker, inspect_midi, WARM_UP\n"
            "c = MidiChecker(); c._executor().submit(inspect_midi, WARM_UP).result(timeout=120)\n"
            "print(*c._pool._processes, flush=True)\n"
            "os._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    workers = [int(p) for p in out.stdout.split()]
    assert workers
    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/status") as f:
                return "zombie" not in f.read().lower()
        except OSError:
            return False

    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if running(p)]
    for p in alive:  # (before the fix: an orphan for good; do not leave it behind)
        os.kill(p, 9)
    assert not alive, f"checker worker {alive} outlived its server"
