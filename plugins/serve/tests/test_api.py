"""The JSON API: the generator list, runs (waiting and as jobs), files, progress, cancel, queue."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install -e './plugins/serve[test]'")

from fastapi.testclient import TestClient  # noqa: E402
from seqkit_serve.app import create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402
from serve_helpers import midi_file, wait_for  # noqa: E402

import seqkit  # noqa: E402
import seqkit.generation  # noqa: E402
import seqkit.host  # noqa: E402
from seqkit.testing import run_cli  # noqa: E402

URL = "http://127.0.0.1:8000"


@pytest.fixture
def client(tone):
    with TestClient(create_app(Settings()), base_url=URL) as c:
        yield c


def test_lists_every_registered_generator_with_its_schema(client):
    answer = client.get("/api/generators").json()
    by_name = {g["name"]: g for g in answer["generators"]}
    assert {"names", "num2words", "test-tone"} <= set(by_name)
    assert set(by_name) == set(seqkit.host.generators())  # built from the registry, nothing else
    tone = by_name["test-tone"]
    assert tone == seqkit.host.get_generator("test-tone").schema()
    primer = next(p for p in tone["params"] if p["name"] == "primer")
    assert primer["type"] == "file" and primer["accept"] == [".mid", ".midi"]
    assert answer["limits"]["max_tokens"] == 50_000


def test_names_as_the_python_api_makes_them(client):
    answer = client.post("/api/run/names", json={"country": "Greek", "count": 4, "seed": 7}).json()
    assert answer["status"] == "done"
    rows = answer["result"]["results"]
    expected = seqkit.generation.run_generator("names", country="Greek", count=4, seed=7)
    assert [r["text"] for r in rows] == [o.text for o in expected.outputs]
    assert all(isinstance(r["new"], bool) for r in rows)
    assert answer["result"]["country"] == "Greek" and answer["result"]["generator"] == "names"


def test_num2words_with_flags(client):
    answer = client.post("/api/run/num2words", json={"numbers": ["42", "1,000"], "check": True}).json()
    rows = answer["result"]["results"]
    assert [r["text"] for r in rows] == ["forty-two", "one thousand"]
    assert all(r["in_range"] and r["match"] for r in rows)


@pytest.mark.parametrize("values, args", [
    ({"country": "Greek", "count": 0}, ["names", "--country", "Greek", "--count", "0"]),
    ({"country": "Greek", "max_length": -1}, ["names", "--country", "Greek", "--max-length", "-1"]),
    ({"country": "Greek", "temperature": -0.5}, ["names", "--country", "Greek", "-t", "-0.5"]),
    ({"numbers": ["12"], "model": "gur"}, ["num2words", "12", "--model", "gur"]),
])
def test_parameter_errors_are_the_command_lines(client, values, args):
    r = client.post(f"/api/run/{args[0]}", json=values)
    assert r.status_code == 422
    cli = run_cli(args)
    assert cli.exit_code == 2
    assert cli.output.splitlines()[0] == f"Error: {r.json()['error']}"


def test_type_errors_are_the_parameters_own(client):
    r = client.post("/api/run/names", json={"country": "Greek", "temperature": "hot"})
    assert r.status_code == 422 and r.json()["error"] == "--temperature takes a number, not 'hot'"


def test_generator_errors_while_running_are_one_line(client):
    r = client.post("/api/run/names", json={"count": 2})
    assert r.status_code == 422
    assert r.json()["status"] == "error" and r.json()["error"].startswith("which country?")


def test_unknown_generator_and_parameter(client):
    r = client.post("/api/run/nmaes", json={})
    assert r.status_code == 404 and "did you mean names" in r.json()["error"]
    r = client.post("/api/run/names", json={"colour": "red"})
    assert r.status_code == 422 and "has no parameter(s) colour" in r.json()["error"]
    assert client.get("/api/jobs/nope").status_code == 404


def test_job_progress_files_and_upload(client):
    files = {"primer": ("primer.mid", midi_file(), "audio/midi")}
    r = client.post("/api/run/test-tone?wait=false", data={"count": "2", "length": "5", "step_seconds": "0.02"},
                    files=files)
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running")
    answer = wait_for(client, r.json()["id"])
    assert answer["status"] == "done" and answer["progress"] == {"done": 5, "total": 5, "label": "making tones"}
    rows = answer["result"]["results"]
    assert [row["primer_notes"] for row in rows] == [3, 3]
    assert answer["result"]["primer"] == "primer.mid"  # the upload's name, not the server's temp path
    assert set(rows[0]["files"]) == {"wav", "png", "mid"}
    wav = client.get(rows[0]["files"]["wav"])
    assert wav.headers["content-type"] == "audio/wav" and wav.content.startswith(b"RIFF")
    assert client.get(rows[1]["files"]["png"]).content.startswith(b"\x89PNG")
    assert client.get(rows[1]["files"]["mid"]).content.startswith(b"MThd")
    assert client.get(f"/api/jobs/{answer['id']}/files/5/wav").status_code == 404


def test_upload_folder_is_removed_after_the_run(client, monkeypatch):
    seen = []
    gen = seqkit.host.get_generator("test-tone")
    original = gen.run
    monkeypatch.setattr(gen, "run", lambda primer, **kw: seen.append(Path(primer)) or original(primer=primer, **kw))
    r = client.post("/api/run/test-tone", files={"primer": ("a.midi", midi_file(), "audio/midi")})
    assert r.json()["status"] == "done"
    assert seen and seen[0].name == "a.midi" and not seen[0].exists()  # the name the client gave it


def test_cancel_a_running_job(client):
    r = client.post("/api/run/test-tone?wait=false", json={"length": 500, "step_seconds": 0.02})
    job_id = r.json()["id"]
    wait_for(client, job_id, statuses=("running",))
    start = time.time()
    client.post(f"/api/jobs/{job_id}/cancel")
    answer = wait_for(client, job_id)
    assert answer["status"] == "cancelled" and time.time() - start < 2
    assert answer["progress"]["done"] < 500


def test_one_generation_at_a_time_per_model_in_order(tone):
    with TestClient(create_app(Settings(max_waiting=1)), base_url=URL) as client:
        slow = {"length": 100, "step_seconds": 0.02}
        first = client.post("/api/run/test-tone?wait=false", json=slow).json()["id"]
        wait_for(client, first, statuses=("running",))
        second = client.post("/api/run/test-tone?wait=false", json={"length": 1}).json()
        assert second["status"] == "queued" and second["position"] == 1
        third = client.post("/api/run/test-tone?wait=false", json={"length": 1})
        assert third.status_code == 429 and "already waiting for test-tone" in third.json()["error"]
        assert client.get(f"/api/jobs/{first}").json()["status"] == "running"
        assert wait_for(client, second["id"])["status"] == "done"
        assert client.get(f"/api/jobs/{first}").json()["status"] == "done"  # finished before the second ran


def test_cancel_a_queued_job(tone):
    with TestClient(create_app(Settings()), base_url=URL) as client:
        first = client.post("/api/run/test-tone?wait=false", json={"length": 100, "step_seconds": 0.02}).json()["id"]
        second = client.post("/api/run/test-tone?wait=false", json={"length": 1}).json()["id"]
        assert client.post(f"/api/jobs/{second}/cancel").json()["status"] == "cancelled"
        assert wait_for(client, first)["status"] == "done"
        assert client.get(f"/api/jobs/{second}").json()["status"] == "cancelled"


def test_the_page_and_its_files(client):
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "api/generators" in client.get("/static/app.js").text
    assert client.get("/static/../app.py").status_code == 404
