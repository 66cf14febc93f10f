"""What the page's new parts read from the server: menus and examples in the schema, an example's
file, a running job's rate and time left, and the Runs page's API (read only)."""

from __future__ import annotations

import json
import os
import time

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install -e './plugins/serve[test]'")

from fastapi.testclient import TestClient  # noqa: E402
from seqkit_serve.app import create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402

import seqkit  # noqa: E402
import seqkit.generation  # noqa: E402
import seqkit.host  # noqa: E402

URL = "http://127.0.0.1:8000"


@pytest.fixture
def client(tone, tmp_path):
    with TestClient(create_app(Settings(), runs=tmp_path / "runs"), base_url=URL) as c:
        yield c


def test_menus_and_examples_are_in_the_schema(client):
    by_name = {g["name"]: g for g in client.get("/api/generators").json()["generators"]}
    for g in by_name.values():
        assert g["examples"], f"{g['name']} offers no example on the start page"
        for p in g["params"]:
            assert "--" not in p["page_help"] and "@FILE" not in p["page_help"] and "stdin" not in p["page_help"], p
    if "names" in by_name:
        country = next(p for p in by_name["names"]["params"] if p["name"] == "country")
        assert len(country["choices"]) == 18 and "Greek" in country["choices"] and country["open_choices"]
        model = next(p for p in by_name["names"]["params"] if p["name"] == "model")
        assert model["choices"] == seqkit.generation.installed_models("names", ("names-rnn", "rnn-lm", "transformer-lm"))
        assert "transformer" in model["choices"] and "classifier" not in model["choices"]
    if "music" in by_name:
        model = next(p for p in by_name["music"]["params"] if p["name"] == "model")
        assert {"music-transformer", "compressive"} <= set(model["choices"])
    device = next(p for p in by_name["test-tone"]["params"] if p["name"] == "label")
    assert "choices" not in device


def test_an_example_file_is_sent_to_the_page(client):
    tone = client.get("/api/generators").json()["generators"]
    tone = next(g for g in tone if g["name"] == "test-tone")
    assert tone["examples"][0]["files"] == ["primer"]
    r = client.get("/api/examples/test-tone/0/primer")
    assert r.status_code == 200 and r.content.startswith(b"MThd")
    assert 'filename="four-notes.mid"' in r.headers["content-disposition"]
    for bad in ("/api/examples/test-tone/1/primer", "/api/examples/test-tone/0/label", "/api/examples/nope/0/x"):
        r = client.get(bad)
        assert r.status_code == 404 and "no example file" in r.json()["error"]
    if "music" in seqkit.host.generators():
        r = client.get("/api/examples/music/0/primer")
        assert r.status_code == 200 and r.content.startswith(b"MThd")


def test_a_running_job_says_its_rate_and_time_left(client):
    job = client.post("/api/run/test-tone?wait=false", json={"length": 60, "step_seconds": 0.05}).json()
    deadline = time.time() + 30
    while time.time() < deadline:
        answer = client.get(f"/api/jobs/{job['id']}").json()
        if answer["status"] == "running" and answer["progress"]["done"] >= 10:
            break
        time.sleep(0.05)
    timing = answer["timing"]
    assert 5 < timing["per_second"] < 25  # 20 steps a second, on a busy machine fewer
    left = (60 - answer["progress"]["done"]) / timing["per_second"]
    assert timing["eta"] == pytest.approx(left, rel=0.2) and timing["elapsed"] > 0
    client.post(f"/api/jobs/{job['id']}/cancel")


def write_run(folder, rows, task="names", arch="gru"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "last.json").write_text(json.dumps({"task": task, "extra": {"arch": arch}}))
    with open(folder / "metrics.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def snapshot(folder):
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.rglob("*"))}


def test_runs_api_reads_runs_and_writes_nothing(client, tmp_path):
    runs = tmp_path / "runs"
    write_run(runs / "first", [{"event": "eval", "step": s, "train_loss": 3 - s / 10, "val_loss": 3.1 - s / 10 + (s == 30)}
                               for s in (10, 20, 30)])
    write_run(runs / "group" / "second", [{"step": 5, "train_loss": 2.0}], task="abc", arch="lstm")
    (runs / "first" / "metrics.jsonl").open("a").write('{"step": 40, "train_lo')  # a row being written
    os.utime(runs / "group" / "second" / "metrics.jsonl", (time.time() - 3600, time.time() - 3600))
    os.utime(runs / "group" / "second" / "last.json", (time.time() - 3600, time.time() - 3600))
    before = snapshot(runs)
    answer = client.get("/api/runs").json()
    by_name = {r["name"]: r for r in answer["runs"]}
    assert set(by_name) == {"first", "group/second"} and answer["refresh_seconds"] == 2  # one trains
    first = by_name["first"]
    assert (first["last_step"], first["best_step"], first["evaluations"], first["best_on"]) == (30, 20, 3, "val")
    assert first["going"] is True and by_name["group/second"]["going"] is False
    assert first["resume"] == f"seqkit names train --arch gru --out {runs}/first --resume"
    assert by_name["group/second"]["resume"].startswith("seqkit abc train --arch lstm --out ")
    rows = client.get("/api/runs/first").json()["rows"]
    assert [r["step"] for r in rows] == [10, 20, 30] and rows[0]["val_loss"] == pytest.approx(2.1)
    for bad in ("..%2Ffirst", "nope", "first%2F..%2F..%2Fetc", "%2Fetc"):  # only a listed run is read
        r = client.get(f"/api/runs/{bad}")
        assert r.status_code == 404 and "no run" in r.json()["error"], bad
    assert client.get("/runs").status_code == 200
    assert snapshot(runs) == before  # read only: nothing written, nothing touched


def test_no_runs_page_without_runs(tone):
    with TestClient(create_app(Settings()), base_url=URL) as c:
        assert c.get("/api/generators").json()["runs"] is False
        assert c.get("/api/runs").status_code == 404
