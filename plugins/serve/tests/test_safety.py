"""The safety rules, each refusal with its message: Host header, cross-origin requests, upload size
and content, paths in parameters, the token cap; and the headers every answer carries."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install -e './plugins/serve[test]'")

from fastapi.testclient import TestClient  # noqa: E402
from seqkit_serve.app import create_app  # noqa: E402
from seqkit_serve.settings import Settings  # noqa: E402
from serve_helpers import midi_file  # noqa: E402

import seqkit  # noqa: E402
import seqkit.host  # noqa: E402
from seqkit.testing import run_cli  # noqa: E402

URL = "http://127.0.0.1:8000"


def make_client(**settings):
    return TestClient(create_app(Settings(**settings)), base_url=URL)


@pytest.fixture
def client(tone):
    with make_client() as c:
        yield c


# ------------------------------------------------------------------ Host header (DNS rebinding)

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io:8000", "192.168.1.5"])
def test_foreign_host_header_is_refused(client, host):
    for method, path in (("GET", "/"), ("GET", "/api/generators"), ("POST", "/api/run/names")):
        r = client.request(method, path, headers={"host": host})
        assert r.status_code == 400
        assert f"not Host {host!r}" in r.json()["error"] and "--allow-host" in r.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"])
def test_loopback_host_names_are_answered(client, host):
    assert client.get("/api/generators", headers={"host": host}).status_code == 200


def test_allow_host_adds_a_name(tone):
    with make_client(allow_hosts=("studio.lan",)) as c:
        assert c.get("/api/generators", headers={"host": "studio.lan:8000"}).status_code == 200
        assert c.get("/api/generators", headers={"host": "other.lan:8000"}).status_code == 400


# ------------------------------------------------------------------ cross-origin

@pytest.mark.parametrize("headers, why", [
    ({"origin": "http://evil.example"}, "Origin 'http://evil.example'"),
    ({"origin": "http://127.0.0.1:9999"}, "Origin 'http://127.0.0.1:9999'"),
    ({"origin": "null"}, "Origin 'null'"),
    ({"sec-fetch-site": "cross-site"}, "Sec-Fetch-Site: cross-site"),
])
def test_cross_origin_requests_are_refused(client, headers, why):
    r = client.post("/api/run/names", json={"country": "Greek", "count": 1}, headers=headers)
    assert r.status_code == 403
    assert r.json()["error"] == f"cross-origin requests are refused ({why} is not this server)" or \
        why in r.json()["error"]
    assert "access-control-allow-origin" not in r.headers


def test_no_cors_preflight_and_no_cors_headers(client):
    r = client.options("/api/run/names", headers={"origin": "http://evil.example",
                                                  "access-control-request-method": "POST"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = client.get("/api/generators")
    assert not any(h.startswith("access-control-") for h in r.headers)


def test_same_origin_requests_work(client):
    r = client.post("/api/run/names", json={"country": "Greek", "count": 1, "seed": 1},
                    headers={"origin": URL, "sec-fetch-site": "same-origin"})
    assert r.status_code == 200 and r.json()["status"] == "done"


def test_every_answer_forbids_framing_and_sniffing(client):
    for r in (client.get("/"), client.get("/api/generators"), client.get("/", headers={"host": "x.example"})):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# ------------------------------------------------------------------ uploads

def post_primer(client, name, data, **fields):
    return client.post("/api/run/test-tone", data=fields, files={"primer": (name, data, "application/octet-stream")})


def test_oversized_request_is_refused_before_it_is_read(tone):
    with make_client(max_upload_bytes=1000) as c:
        r = post_primer(c, "big.mid", b"MThd" + b"\0" * 200_000)
        assert r.status_code == 413
        assert "this server takes uploads of at most 1,000 bytes (seqkit serve --max-upload-mb)" in r.json()["error"]


def test_oversized_upload_is_refused_by_name(tone):
    with make_client(max_upload_bytes=1000) as c:
        r = post_primer(c, "big.mid", midi_file(range(40, 100)) * 3)
        assert r.status_code == 422
        assert r.json()["error"].startswith("--primer: the upload is ") and "at most 1,000" in r.json()["error"]


def test_oversized_chunked_body_is_cut_off(tone):
    with make_client(max_upload_bytes=1000) as c:
        chunks = (b"x" * 10_000 for _ in range(20))  # no Content-Length: counted as it arrives
        r = c.post("/api/run/test-tone", content=chunks, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "at most 1,000 bytes" in r.json()["error"]


@pytest.mark.parametrize("name, data, message", [
    ("notes.mid", b"hello, not midi", "--primer: 'notes.mid' is not a MIDI file (it does not start with MThd)"),
    ("cut.mid", b"MThd\x00\x00\x00\x06\x00", "--primer: 'cut.mid' is not a readable MIDI file"),
    ("tune.txt", b"X:1\nK:D\nabc|", "--primer takes .mid, .midi files, not 'tune.txt'"),
    ("empty.mid", b"", "--primer: the upload 'empty.mid' is empty"),
])
def test_non_midi_upload_is_refused(client, name, data, message):
    r = post_primer(client, name, data)
    assert r.status_code == 422 and r.json()["error"].startswith(message)


def test_only_midi_and_abc_are_taken_even_where_a_generator_accepts_more(client, monkeypatch):
    primer = seqkit.host.get_generator("test-tone").param("primer")
    monkeypatch.setattr(primer, "accept", (".mid", ".abc", ".json"))
    r = post_primer(client, "x.json", b"{}")
    assert r.status_code == 422 and "takes MIDI (.mid, .midi) and ABC (.abc) uploads only" in r.json()["error"]
    r = post_primer(client, "x.abc", b"no tune here")
    assert r.status_code == 422 and "is not an ABC tune (no K: key line)" in r.json()["error"]
    r = post_primer(client, "x.abc", b"X:1\nT:t\nK:D\nabc|")
    assert r.status_code == 200 and r.json()["result"]["results"][0]["primer_notes"] == 3


# ------------------------------------------------------------------ paths named by the client

@pytest.mark.parametrize("gen, values, message", [
    ("test-tone", {"primer": "/etc/passwd"}, "--primer: this server never reads a path sent by the client"),
    ("names", {"country": "Greek", "model": "../../secret.json"}, "--model '../../secret.json' looks like a file path"),
    ("names", {"country": "Greek", "model": "/tmp/x"}, "--model '/tmp/x' looks like a file path"),
    ("names", {"country": "Greek", "model": "runs/names/best"}, "--model 'runs/names/best' looks like a file path"),
    ("num2words", {"numbers": ["1"], "model": "C:\\models\\gru.json"}, "looks like a file path"),
    ("test-tone", {"label": "~/.ssh/id_rsa"}, "--label '~/.ssh/id_rsa' looks like a file path"),
    ("test-tone", {"label": "@notes.txt"}, "--label '@notes.txt' looks like a file path"),
])
def test_a_path_in_a_parameter_is_refused(client, gen, values, message):
    r = client.post(f"/api/run/{gen}", json=values)
    assert r.status_code == 422 and message in r.json()["error"], r.json()


@pytest.mark.skipif("abc" not in seqkit.host.generators(), reason="no abc generator registered")
def test_abc_primer_at_file_is_refused(client):
    r = client.post("/api/run/abc", json={"primer": "@/etc/passwd"})
    assert r.status_code == 422 and r.json()["error"].startswith("--primer '@/etc/passwd' looks like a file path")


def test_a_path_in_a_form_field_is_refused(client):
    r = client.post("/api/run/test-tone", files={"primer": (None, "/etc/hostname")})  # a plain multipart field
    assert r.status_code == 422 and "never reads a path sent by the client" in r.json()["error"]


def test_a_real_checkpoint_path_is_refused_but_its_name_works(client):
    path = seqkit.find_checkpoint("gru", "numerals")
    r = client.post("/api/run/num2words", json={"numbers": ["7"], "model": str(path)})
    assert r.status_code == 422 and "looks like a file path" in r.json()["error"]
    r = client.post("/api/run/num2words", json={"numbers": ["7"], "model": "gru"})
    assert r.json()["result"]["results"][0]["text"] == "seven"


# ------------------------------------------------------------------ tokens per request

def test_too_many_tokens_are_refused(client):
    r = client.post("/api/run/test-tone", json={"count": 4, "length": 20_000})
    assert r.status_code == 422
    assert r.json()["error"] == ("this request asks for up to 80,000 tokens (4 item(s) x 20,000 (--length)); "
                                 "this server allows 50,000 per request (seqkit serve --max-tokens)")
    r = client.post("/api/run/names", json={"country": "Greek", "count": 1000, "max_length": 60})
    assert r.status_code == 422 and "asks for up to 60,0" in r.json()["error"]


@pytest.mark.skipif("music" not in seqkit.host.generators(), reason="no music generator registered")
def test_music_tokens_and_seconds_are_capped(client):
    r = client.post("/api/run/music", json={"tokens": 30_000, "count": 2})
    assert r.status_code == 422 and "asks for up to 60,000 tokens (2 item(s) x 30,000 (--tokens))" in r.json()["error"]
    r = client.post("/api/run/music", json={"seconds": 3600})
    assert r.status_code == 422 and "x 230,401 (--seconds x 64)" in r.json()["error"]


def test_the_token_cap_is_a_setting(tone):
    with make_client(max_tokens=100) as c:
        r = c.post("/api/run/num2words", json={"numbers": ["1"]})
        assert r.status_code == 422 and "this server allows 100 per request" in r.json()["error"]
        r = c.post("/api/run/test-tone", json={"length": 50})
        assert r.status_code == 200


# ------------------------------------------------------------------ the command

def test_serve_refuses_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = run_cli(["serve", "--port", str(busy.getsockname()[1])])
    assert r.exit_code == 2 and r.output.startswith("Error: cannot listen on 127.0.0.1:")


def test_serve_options_are_checked():
    r = run_cli(["serve", "--port", "0"])
    assert r.exit_code == 2 and "--port" in r.output
    r = run_cli(["serve", "--max-tokens", "0"])
    assert r.exit_code == 2 and "--max-tokens" in r.output


@pytest.fixture
def started(monkeypatch):
    """What ``seqkit serve`` hands to uvicorn, without starting it."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_serve_binds_loopback_by_default(started):
    from serve_helpers import free_port

    port = free_port()
    r = run_cli(["serve", "--port", str(port)])
    assert r.exit_code == 0 and r.stdout.strip() == f"seqkit serve: http://127.0.0.1:{port}/ (Ctrl-C stops)"
    (app, kw), = started
    assert kw["host"] == "127.0.0.1" and kw["port"] == port
    assert app.settings.allowed == {"127.0.0.1", "localhost", "::1"} and "Warning" not in r.output


def test_serve_elsewhere_warns_and_still_checks_hosts(started):
    from serve_helpers import free_port

    r = run_cli(["serve", "--host", "0.0.0.0", "--port", str(free_port()), "--allow-host", "studio.lan",
                 "--max-upload-mb", "0.5", "--max-tokens", "999", "--queue", "2"])
    assert r.exit_code == 0
    assert "Warning: listening on 0.0.0.0: anyone who can reach this machine can run your generators" in r.stderr
    settings = started[0][0].settings
    assert settings.allowed == {"127.0.0.1", "localhost", "::1", "studio.lan"}
    assert (settings.max_upload_bytes, settings.max_tokens, settings.max_waiting) == (524288, 999, 2)


@pytest.mark.parametrize("header, name", [("127.0.0.1:8000", "127.0.0.1"), ("[::1]:8000", "::1"), ("LocalHost", "localhost"),
                                          ("evil.example:80", "evil.example"), ("::1", "::1")])
def test_host_names(header, name):
    from seqkit_serve.settings import host_name

    assert host_name(header) == name
