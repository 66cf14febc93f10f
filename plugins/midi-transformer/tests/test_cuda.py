"""GPU checks (skipped without CUDA): fast paths agree with the plain ones."""

import pytest
import torch
from seqkit_midi_transformer.model import (
    PRESETS,
    MusicTransformer,
    MusicTransformerConfig,
    relative_logits_naive,
    skew,
)

from seqkit import generate

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def model(position, **kw):
    torch.manual_seed(0)
    cfg = MusicTransformerConfig(**{**PRESETS["tiny"], "n_embd": 64, "max_len": 128, "position": position, **kw})
    return MusicTransformer(cfg).cuda().eval()


def test_skew_on_cuda_matches_naive():
    q, er = torch.randn(2, 4, 33, 16, device="cuda"), torch.randn(4, 33, 16, device="cuda")
    assert torch.allclose(skew(q @ er.transpose(-1, -2)).tril(), relative_logits_naive(q, er), atol=1e-4)


@pytest.mark.parametrize("position", ["relative", "rope"])
def test_compiled_cuda_graph_generation_equals_eager(position):
    m = model(position)
    prompt = torch.randint(0, 388, (4, 20), device="cuda")
    eager = generate(m, prompt, 60, temperature=0)
    m.compile_decode = True
    graph = generate(m, prompt, 60, temperature=0)
    assert torch.equal(eager, graph)
    # past the context (ring buffer wraps): still the same tokens
    long_g = generate(m, prompt, 150, temperature=0)
    m.compile_decode = False
    long_e = generate(m, prompt, 150, temperature=0)
    assert torch.equal(long_e, long_g)


@pytest.mark.parametrize("position", ["relative", "rope"])
def test_bf16_training_step_on_cuda(position):
    m = model(position).train()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    x = torch.randint(0, 388, (8, 65), device="cuda")
    losses = []
    for _ in range(30):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits, _ = m(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 1.0
