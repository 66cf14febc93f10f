"""A load test: ``seqkit serve`` as a real process on 127.0.0.1 under bounded hostile traffic.

At most 200 requests, 20 at once: long-note MIDIs (one note held 2^28 ticks), dense 2 MB MIDIs
(330,000 notes), a client flooding one model with ``?wait=false`` runs, and junk (unknown routes,
bad values). Meanwhile a second client (the page: it has the server's cookie) asks ``names`` for
names, one request at a time, and queues a music run. The server's memory (its RSS and its
upload checker's), the second client's service and its latency are checked against the bounds
below; the figures are printed (``pytest -s``) and recorded in docs/serve.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("uvicorn", reason="seqkit serve needs uvicorn: pip install -e ./plugins/serve")

from serve_helpers import dense_midi, free_port, long_note_midi  # noqa: E402

import seqkit  # noqa: E402
import seqkit.host  # noqa: E402

RSS_BOUND_MB = 1500  # the server and its upload checker together (434 to 595 MB measured; 3.7 GB before #29)
NAMES_P95_BOUND_S = 8.0  # on 2 busy cores shared with the music runs and other jobs (0.8 to 3.2 s measured)
REQUESTS, AT_ONCE = 200, 20

pytestmark = pytest.mark.skipif("music" not in seqkit.host.generators(), reason="no music generator registered")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the upload checker), in MB."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        found = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found
    except OSError:
        return []


def call(url, method="GET", body=None, headers=None, timeout=120):
    """(status, JSON answer, headers, seconds)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, data, head = answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as exc:
        status, data, head = exc.code, exc.read(), exc.headers
    seconds = time.perf_counter() - start
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = data[:100]
    return status, parsed, head, seconds


def multipart(fields: dict, name: str, filename: str, data: bytes) -> tuple[bytes, dict]:
    boundary = "seqkit-load-boundary"
    parts = [f"--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
             for k, v in fields.items()]
    parts.append(f"--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                 f"content-type: audio/midi\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), {"content-type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "SEQKIT_DATA_DIR": str(tmp_path / "data"), "SEQKIT_CACHE_DIR": str(tmp_path / "cache"),
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        proc.stdout.readline()
        deadline = time.time() + 60
        while True:
            try:
                call(url + "/api/generators", timeout=5)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_the_page_stays_up_under_hostile_traffic(server):
    proc, url = server
    start = time.perf_counter()
    rss = [rss_mb(proc.pid)]
    stop = threading.Event()

    def watch():
        while not stop.wait(0.2):
            rss.append(rss_mb(proc.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # the second client: the page, with the server's cookie
    cookie = call(url + "/")[2]["set-cookie"].split(";")[0]
    page = {"cookie": cookie, "content-type": "application/json"}
    long_body, long_head = multipart({"tokens": "4", "count": "3"}, "primer", "longnote.mid", long_note_midi())
    dense_body, dense_head = multipart({"tokens": "4"}, "primer", "dense.mid", dense_midi())
    flood = json.dumps({"tokens": 400, "seed": 1}).encode()
    hostile = ([("long", url + "/api/run/music", long_body, long_head)] * 40
               + [("dense", url + "/api/run/music", dense_body, dense_head)] * 20
               + [("flood", url + "/api/run/music?wait=false", flood, {"content-type": "application/json"})] * 60
               + [("junk", url + "/no/such/page", None, {}), ("junk", url + "/api/run/names?wait=maybe", b"{}",
                                                         {"content-type": "application/json"})] * 20)
    hostile = hostile[::3] + hostile[1::3] + hostile[2::3]  # mixed
    names_latency, second_music = [], {}

    def second_client():
        for i in range(30):
            status, answer, _, seconds = call(url + "/api/run/names", "POST",
                                              json.dumps({"country": "Greek", "count": 3, "seed": i}).encode(), page)
            assert status == 200 and answer["status"] == "done", answer
            names_latency.append(seconds)
            if i == 10:  # the page queues a music run while the flooder holds its share
                second_music["answer"] = call(url + "/api/run/music?wait=false", "POST",
                                              json.dumps({"tokens": 8}).encode(), page)

    honest = threading.Thread(target=second_client)
    honest.start()
    with ThreadPoolExecutor(AT_ONCE - 1) as pool:  # the second client is the 20th
        results = list(pool.map(lambda r: (r[0], call(r[1], "POST" if r[2] is not None else "GET", r[2], r[3])),
                                hostile))
    honest.join()
    stop.set()
    watcher.join()
    elapsed = time.perf_counter() - start
    n_requests = len(hostile) + len(names_latency) + 2
    by_kind = {}
    for kind, (status, answer, head, _) in results:
        by_kind.setdefault(kind, []).append((status, answer, head))
    p95 = sorted(names_latency)[int(0.95 * (len(names_latency) - 1))]
    print(f"\nload: {n_requests} requests in {elapsed:.1f} s; server RSS {rss[0]:.0f} MB at start, {max(rss):.0f} MB "
          f"at most; names p50 {sorted(names_latency)[len(names_latency) // 2] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
          f"flood: {sum(s == 202 for s, _, _ in by_kind['flood'])} accepted, "
          f"{sum(s == 429 for s, _, _ in by_kind['flood'])} refused")
    assert n_requests <= REQUESTS
    assert all(s == 422 and "lasts 279,621 s" in a["error"] for s, a, _ in by_kind["long"])
    assert all(s == 422 and "has 330,000 notes" in a["error"] for s, a, _ in by_kind["dense"])
    assert all(s in (404, 422) and set(a) == {"error"} for s, a, _ in by_kind["junk"])
    flood_status = [s for s, _, _ in by_kind["flood"]]
    assert flood_status.count(202) <= 2 and flood_status.count(429) >= 58
    assert all(h["retry-after"] for s, _, h in by_kind["flood"] if s == 429)
    assert second_music["answer"][0] == 202, second_music  # the second client still gets served
    assert max(rss) < RSS_BOUND_MB, f"server RSS {max(rss):.0f} MB"
    assert p95 < NAMES_P95_BOUND_S, f"names p95 {p95:.2f} s"
