"""``seqkit serve`` as a user starts it: a real process, on 127.0.0.1, answering the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi", reason="seqkit serve needs fastapi: pip install -e ./plugins/serve")
pytest.importorskip("seqkit_serve", reason="the serve plugin is not installed: pip install -e ./plugins/serve")
pytest.importorskip("uvicorn", reason="seqkit serve needs uvicorn: pip install -e ./plugins/serve")

from serve_helpers import free_port  # noqa: E402


def test_seqkit_serve_answers_on_loopback_and_refuses_other_hosts(tmp_path):
    port = free_port()
    env = {**os.environ, "SEQKIT_DATA_DIR": str(tmp_path / "data"), "SEQKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "seqkit", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == f"seqkit serve: http://127.0.0.1:{port}/ (Ctrl-C stops)"
        url = f"http://127.0.0.1:{port}/api/generators"
        deadline = time.time() + 30
        while True:
            try:
                answer = json.load(urllib.request.urlopen(url, timeout=5))
                break
            except urllib.error.URLError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert {"names", "num2words"} <= {g["name"] for g in answer["generators"]}
        foreign = urllib.request.Request(url, headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(foreign, timeout=5)
        assert refused.value.code == 400 and "not Host 'evil.example'" in refused.value.read().decode()
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode is not None


def test_runs_folder_must_exist(tmp_path):
    from seqkit.testing import run_cli

    r = run_cli(["serve", "--runs", str(tmp_path / "nowhere"), "--port", str(free_port())])
    assert r.exit_code != 0 and r.output.strip().splitlines()[-1] == f"Error: --runs {tmp_path / 'nowhere'}: no such folder"
    assert "Traceback" not in r.output
