"""CUDA paths (bf16 autocast, fused attention, cached generation). Skipped without a GPU."""

import pytest
import torch
from helpers import pattern_data

from seqkit import Trainer, generate, get_model_type, load_checkpoint
from seqkit.models import TransformerConfig, TransformerLM
from seqkit.train import TrainConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_bf16_training_on_cuda_learns_and_checkpoints_load_on_cpu(tmp_path):
    tok, items = pattern_data()
    cfg = TransformerConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=64, max_len=32)
    torch.manual_seed(0)
    model = get_model_type("transformer-lm").build(cfg)
    t = Trainer(model, TrainConfig(steps=60, batch_size=16, lr=3e-3, device="cuda", progress=False, eval_every=20),
                items[:80], items[80:], out=tmp_path, checkpoint=dict(model_type="transformer-lm", config=cfg, tokenizer=tok))
    assert t.use_bf16 and t.device.type == "cuda"
    r = t.fit()
    assert r["best_val_acc"] > 0.7
    ckpt = load_checkpoint(tmp_path / "best.json", device="cpu")
    assert next(ckpt.model.parameters()).device.type == "cpu"


def test_cached_generation_matches_uncached_on_cuda():
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(vocab_size=50, n_layer=2, n_head=4, n_embd=64, max_len=128)).cuda()
    prompt = torch.randint(0, 50, (4, 8), device="cuda")
    a = generate(model, prompt, 64, temperature=0)
    b = generate(model, prompt, 64, temperature=0, use_cache=False)
    assert torch.equal(a, b)
