"""CUDA only: graph-replayed one-token steps equal recomputation; a bf16 training step."""

import pytest
import torch
from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def model(**kw):
    c = dict(vocab_size=50, n_layer=3, n_head=2, n_embd=64, seg_len=8, mem_len=16, cmem_len=8, cmem_ratio=2,
             memory_layers=(2, 3))
    c.update(kw)
    torch.manual_seed(0)
    return CompressiveTransformer(CompressiveConfig(**c)).cuda().eval()


@pytest.mark.parametrize("graphs", [True, False])
def test_cuda_steps_equal_recomputation(graphs):
    torch.backends.cuda.matmul.allow_tf32 = False
    m = model()
    m.cuda_graphs = graphs
    idx = torch.randint(0, 50, (2, 61), device="cuda")
    with torch.no_grad():
        full, _ = m(idx)
        logits, cache = m(idx[:, :3], cache=m.new_cache())
        out = [logits]
        for j in range(3, 61):
            logits, cache = m(idx[:, j:j + 1], cache=cache)
            out.append(logits)
    assert (cache.static.graph is not None) == graphs
    torch.testing.assert_close(torch.cat(out, 1), full, atol=2e-4, rtol=1e-3)


def test_bf16_generation_runs_and_is_seeded():
    from seqkit import generate

    m = model().to(torch.bfloat16)
    p = torch.zeros(1, 1, dtype=torch.long, device="cuda")
    a = generate(m, p, 50, generator=torch.Generator(device="cuda").manual_seed(0))
    b = generate(m, p, 50, generator=torch.Generator(device="cuda").manual_seed(0))
    assert torch.equal(a, b)


def test_bf16_autocast_training_step():
    from seqkit import lm_loss

    m = model().train()
    idx = torch.randint(0, 50, (2, 49), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss, _, _ = lm_loss(m, {"input": idx[:, :-1], "target": idx[:, 1:]})
    loss.backward()
    assert torch.isfinite(loss) and m.aux_loss is not None and m.aux_loss.detach().item() > 0
    assert m.blocks[1].compress.conv.weight.grad.abs().sum() > 0
