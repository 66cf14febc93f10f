"""What `seqkit serve` adds on top of running a generator: page weight, API and page-load times.

    python benchmarks/serve_latency.py [--runs 20]

Starts the server (uvicorn, 127.0.0.1, a free port) in this process and prints the bytes of the
page, the median time of GET /api/generators, and, for `names` (10 Greek names) and `num2words`
(3 numbers), the median time of POST /api/run/NAME next to the same generator run in-process by
seqkit.generation.run_generator: the reference, measured in the same run. With Playwright and Chromium
(/usr/bin/chromium), also the time from navigation until the page lists the generators.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import threading
import time
import urllib.request

import uvicorn
from seqkit_serve.app import create_app
from seqkit_serve.connections import server_options
from seqkit_serve.settings import Settings

import seqkit
import seqkit.generation

CASES = {"names": {"country": "Greek", "count": 10, "seed": 1},
         "num2words": {"numbers": ["42", "1,000", "101001001001"]}}


def median_ms(fn, runs: int) -> float:
    fn()  # warm: torch and the model load once
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def post(url: str, values: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(values).encode(), {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(request))


def page_ready_ms(url: str, runs: int) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.path.exists("/usr/bin/chromium"):
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page()

        def load():
            page.goto("about:blank")
            page.goto(url)
            page.wait_for_selector("nav button")

        result = median_ms(load, runs)
        browser.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", **server_options(settings)))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    weight = sum(len(urllib.request.urlopen(base + path).read()) for path in ("/", "/static/app.js", "/static/synth.js", "/static/style.css"))
    rows = [("page: index.html, app.js, synth.js, style.css", f"{weight / 1024:.1f} kB", ""),
            ("GET /api/generators", f"{median_ms(lambda: urllib.request.urlopen(base + '/api/generators').read(), args.runs):.1f} ms", "")]
    for name, values in CASES.items():
        served = median_ms(lambda n=name, v=values: post(f"{base}/api/run/{n}", v), args.runs)
        direct = median_ms(lambda n=name, v=values: seqkit.generation.run_generator(n, **v), args.runs)
        rows.append((f"POST /api/run/{name}", f"{served:.1f} ms", f"run_generator: {direct:.1f} ms (+{served - direct:.1f})"))
    ready = page_ready_ms(base + "/", max(3, args.runs // 4))
    if ready is not None:
        rows.append(("Chromium: navigation to generators listed", f"{ready:.0f} ms", ""))
    server.should_exit = True
    print(f"{'what':<44} {'median':>10}  reference")
    for what, value, ref in rows:
        print(f"{what:<44} {value:>10}  {ref}")


if __name__ == "__main__":
    main()
