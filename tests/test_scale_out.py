"""Outgrowing one machine: several nodes under torchrun (two "nodes" on 127.0.0.1 here, gloo), and a
worker that dies under ``torchrun --max-restarts 1``: the elastic agent restarts the workers, they
resume from ``last.json`` (each rank its own stream memories) and end where an uninterrupted run
ends (docs/architecture.md, "Several processes, several machines")."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).parent
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="torchrun with gloo on POSIX")

RUN = """
import os, signal, sys, time, json
from pathlib import Path
import torch
sys.path.insert(0, {tests!r})
torch.set_num_threads(1)
from seqkit import Trainer, get_model_type
from seqkit.models import RNNConfig
from seqkit.train import TokenStreams, TrainConfig


def patterns(out, batch_size):
    from helpers import pattern_data

    tok, items = pattern_data()  # items of one length: a batch's mean loss is its items' mean
    cfg = RNNConfig(vocab_size=tok.vocab_size, hidden=16)
    torch.manual_seed(0)
    model = get_model_type("rnn-lm").build(cfg)
    settings = TrainConfig(steps=6, batch_size=batch_size, lr=1e-2, eval_every=3, device="cpu", progress=False)
    return Trainer(model, settings, items[:64], items[64:], out=out,
                   checkpoint=dict(model_type="rnn-lm", config=cfg)).fit()


def streams(out, kill_at):
    from test_streaming import GRUMemoryLM, _Plugin, config, pieces
    from seqkit import lm_loss
    from seqkit.testing import registered

    rank, restarts = int(os.environ["RANK"]), int(os.environ["TORCHELASTIC_RESTART_COUNT"])
    steps = []

    def loss_fn(model, batch):
        if model.training:
            if rank == 1 and restarts == 0 and len(steps) == kill_at:
                end = time.time() + 60  # rank 0 saves step kill_at first: then this worker dies
                while time.time() < end:
                    try:
                        if json.loads((Path(out) / "last.json").read_text())["trainer"]["step"] == kill_at:
                            break
                    except (OSError, ValueError):
                        pass
                    time.sleep(0.02)
                os.kill(os.getpid(), signal.SIGKILL)
            steps.append(1)
        return lm_loss(model, batch)

    with registered(_Plugin):
        model = GRUMemoryLM()
        settings = config(steps=8, eval_every=2)
        trainer = Trainer(model, settings, TokenStreams(pieces(4, 60), seq_len=5, groups=2), out=out,
                          loss_fn=loss_fn, checkpoint=dict(model_type="gru-memory-test", config=model.config))
        return trainer.fit()


if __name__ == "__main__":
    what, out = sys.argv[1], sys.argv[2]
    if what == "patterns":
        patterns(out, int(sys.argv[3]))
    else:
        streams(out, int(sys.argv[3]))
"""


def _port() -> str:
    with socket.socket() as sock:  # a free port, not a fixed one another run may still hold
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _env(tmp_path) -> dict:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "SEQKIT_PROGRESS": "0",
            "GLOO_SOCKET_IFNAME": "lo", "SEQKIT_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "run.py"
    path.write_text(RUN.format(tests=str(TESTS)))
    return path


def _torchrun(*args) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--local-addr", "127.0.0.1", *map(str, args)]


def _run(cmd: list[str], env: dict, timeout: float) -> tuple[int, str]:
    """Run torchrun in its own process group: on a timeout its workers go too."""
    import signal

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return -1, f"timed out after {timeout} s\n{err}"
    return proc.returncode, err


def _tensors(run: Path) -> dict:
    from safetensors.torch import load_file

    meta = json.loads((run / "last.json").read_text())
    return {**load_file(run / meta["weights"]), **{f"state.{k}": v for k, v in
                                                  load_file(run / meta["train_state"]).items()}}


def test_two_nodes_on_one_machine_train_as_one_process_with_the_same_global_batch(tmp_path, script):
    """Two torchrun launches of ``--nnodes 2 --nproc-per-node 1`` meet at a c10d rendezvous; each
    rank takes 8 items a step: the weights equal one process that takes 16."""
    out, endpoint = tmp_path / "nodes", f"127.0.0.1:{_port()}"
    from concurrent.futures import ThreadPoolExecutor

    node = _torchrun("--nnodes", 2, "--nproc-per-node", 1, "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint,
                     "--rdzv-id", "scale-out", script, "patterns", out, 8)
    with ThreadPoolExecutor(2) as pool:  # two launches, as on two machines
        results = list(pool.map(lambda _: _run(node, _env(tmp_path), 150), range(2)))
    for code, err in results:
        assert code == 0, err[-3000:]
    sys.path.insert(0, str(TESTS))
    namespace: dict = {}
    exec(compile(script.read_text().split('if __name__ == "__main__":')[0], str(script), "exec"), namespace)
    single = namespace["patterns"](tmp_path / "single", 16)
    assert single["steps"] == 6
    meta = json.loads((out / "last.json").read_text())
    assert meta["trainer"]["world_size"] == 2 and meta["trainer"]["step"] == 6
    two, one = _tensors(out), _tensors(tmp_path / "single")
    weights = [k for k in one if not k.startswith("state.")]
    assert weights and all(torch.allclose(two[k], one[k], atol=1e-6, rtol=1e-5) for k in weights)
    rows = [[json.loads(x)["val_loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]
            for run in (out, tmp_path / "single")]
    assert rows[0] == pytest.approx(rows[1], rel=1e-5)  # the validation loss over all of the held-out items


def test_a_worker_killed_under_max_restarts_resumes_with_its_stream_memories_and_finishes(tmp_path, script):
    """Rank 1 dies (SIGKILL) in step 5 of 8; torchrun's agent restarts both workers, which resume
    from last.json at step 4 (rank 1 from its own last.rank1.safetensors) and end with the very
    weights and optimizer state of an uninterrupted run."""
    runs = {}
    for name, kill_at in (("straight", -1), ("killed", 4)):
        out = tmp_path / name
        code, err = _run(_torchrun("--standalone", "--nproc-per-node", 2, "--max-restarts", 1,
                                   "--monitor-interval", 0.2, script, "streams", out, kill_at), _env(tmp_path), 150)
        assert code == 0, err[-3000:]
        runs[name] = (out, err)
    out, err = runs["killed"]
    assert "restarted by torchrun (restart 1): resuming the run in" in err, err[-3000:]
    assert "were not saved" not in err  # each rank's memories came back
    assert (out / "last.rank1.safetensors").exists()
    meta = json.loads((out / "last.json").read_text())
    assert meta["trainer"]["step"] == 8 and meta["trainer"]["world_size"] == 2
    a, b = _tensors(runs["straight"][0]), _tensors(out)
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_a_restart_by_torchrun_resumes_without_being_asked(tmp_path, monkeypatch, capsys):
    """What the elastic agent's restarted worker sees: TORCHELASTIC_RESTART_COUNT above 0 and the
    run's last.json: it resumes (a first attempt, count 0, is refused as before)."""
    from seqkit import SeqkitError

    sys.path.insert(0, str(TESTS))
    import reliability_run

    out = tmp_path / "run"
    reliability_run.train(out)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    with pytest.raises(SeqkitError, match="already holds a run"):
        reliability_run.train(out)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    capsys.readouterr()
    assert reliability_run.train(out)["steps"] == 8
    assert f"restarted by torchrun (restart 1): resuming the run in {out}" in capsys.readouterr().err
