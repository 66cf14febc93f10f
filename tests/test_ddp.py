"""Multi-process training goes through torchrun + DistributedDataParallel (gloo on CPU here)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, {tests!r})
    torch.set_num_threads(1)
    from helpers import pattern_data
    from seqkit import Trainer, get_model_type
    from seqkit.models import RNNConfig
    from seqkit.train import TrainConfig
    tok, items = pattern_data()
    cfg = RNNConfig(vocab_size=tok.vocab_size, hidden=16)
    torch.manual_seed(0)
    model = get_model_type("rnn-lm").build(cfg)
    t = Trainer(model, TrainConfig(steps=12, batch_size=8, lr=1e-2, progress=False, eval_every=6),
                items[:64], items[64:], out=sys.argv[1], checkpoint=dict(model_type="rnn-lm", config=cfg))
    r = t.fit()
    # fit() frees the DDP wrapper and ends the process group it started (a DDP module alive at
    # exit made torch abort in about one run in ten)
    assert not torch.distributed.is_initialized()
    w = torch.cat([p.detach().flatten() for p in t.raw_model.parameters()])
    torch.save(w, f"{{sys.argv[1]}}/weights{{t.rank}}.pt")
    open(f"{{sys.argv[1]}}/rank{{t.rank}}.txt", "w").write(str(r["steps"]))
""")


def test_torchrun_two_processes(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    out = tmp_path / "run"
    import socket

    with socket.socket() as sock:  # a free port, not a fixed one another run may still hold
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
         str(script), str(out)], capture_output=True, text=True, timeout=180,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},  # two CPU processes (gloo), even on a GPU box
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [(out / f"rank{r}.txt").read_text() for r in (0, 1)] == ["12", "12"]
    import torch

    # every rank holds the same weights after each synchronised step
    w0, w1 = (torch.load(out / f"weights{r}.pt") for r in (0, 1))
    assert w0.numel() > 0 and torch.equal(w0, w1), "ranks diverged"
    meta = json.loads((out / "last.json").read_text())
    assert meta["trainer"]["world_size"] == 2 and meta["trainer"]["step"] == 12
    # 64 items over 2 ranks of batch 8: 4 batches per epoch, so 12 steps = 3 epochs
    assert meta["trainer"]["epoch"] == 3
