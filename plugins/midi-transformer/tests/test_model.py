import math

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


def tiny(position="relative", **kw):
    torch.manual_seed(0)
    return MusicTransformer(MusicTransformerConfig(position=position, **{**PRESETS["tiny"], **kw}))


def test_skewing_equals_naive_relative_logits():
    torch.manual_seed(0)
    for T in (1, 2, 7, 16):
        q, er = torch.randn(2, 3, T, 8), torch.randn(3, T, 8)
        fast = skew(q @ er.transpose(-1, -2))
        ref = relative_logits_naive(q, er)
        assert torch.allclose(fast.tril(), ref, atol=1e-5)


def test_attention_layer_matches_naive_softmax():
    m = tiny().eval()
    attn = m.blocks[0].attn
    x = torch.randn(2, 10, 32)
    y, _ = attn(x)
    q, k, v = attn._split(x)
    er = attn.er[:, attn.max_len - 10:]
    logits = (q @ k.transpose(-1, -2) + relative_logits_naive(q, er)) / math.sqrt(attn.head_dim)
    logits = logits.masked_fill(~torch.ones(10, 10, dtype=torch.bool).tril(), float("-inf"))
    ref = (logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 10, 32)
    assert torch.allclose(y, attn.proj(ref), atol=1e-5)


@pytest.mark.parametrize("position", ["relative", "rope"])
def test_cached_forward_equals_full_forward(position):
    m = tiny(position).eval()
    x = torch.randint(0, 388, (2, 30))
    full, _ = m(x)
    logits, cache = m(x[:, :20], cache=m.new_cache())
    steps = [logits]
    for t in range(20, 30):
        out, cache = m(x[:, t:t + 1], cache=cache)
        steps.append(out)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    # the cache a full forward returns continues the sequence too
    _, cache = m(x[:, :25])
    out, _ = m(x[:, 25:], cache=cache)
    assert torch.allclose(out, full[:, 25:], atol=1e-5)


@pytest.mark.parametrize("position", ["relative", "rope"])
def test_cached_and_uncached_greedy_generation_agree(position):
    m = tiny(position).eval()
    prompt = torch.randint(0, 388, (3, 5))
    a = generate(m, prompt, 40, temperature=0)
    b = generate(m, prompt, 40, temperature=0, use_cache=False)
    assert torch.equal(a, b)


def test_generation_runs_past_the_context():
    m = tiny(max_len=16).eval()
    out = generate(m, torch.randint(0, 388, (2, 10)), 50, temperature=1.0,
                   generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 50)


def test_batched_sampling_is_seeded():
    m = tiny().eval()
    p = torch.randint(0, 388, (4, 3))
    a = generate(m, p, 20, generator=torch.Generator().manual_seed(1), top_k=20, top_p=0.9)
    b = generate(m, p, 20, generator=torch.Generator().manual_seed(1), top_k=20, top_p=0.9)
    assert torch.equal(a, b)


def test_bad_position_is_a_clear_error():
    from seqkit import SeqkitError

    with pytest.raises(SeqkitError, match="position"):
        MusicTransformerConfig(position="absolute")


def test_registered_and_paper_preset_size():
    import seqkit

    mt = seqkit.get_model_type("music-transformer")
    model = mt.build({"vocab_size": 391, **PRESETS["paper"], "position": "rope"})
    n = model.num_params()
    assert 12e6 < n < 14e6  # 6 x (4 d^2 + 2 d d_ff) + embeddings


def test_a_window_longer_than_the_context_is_a_clear_error(tmp_path):
    # `music eval --seq-len 128` on a max_len-64 model, or `train --set max_len=32 --seq-len 64`,
    # was a ValueError traceback from inside the attention layer
    from seqkit import SeqkitError

    model = MusicTransformer(MusicTransformerConfig(**PRESETS["tiny"])).eval()
    with pytest.raises(SeqkitError, match="longer than the model's context .max_len 64.: use --seq-len 64 or less"):
        model(torch.zeros(1, 65, dtype=torch.long))
    assert model(torch.zeros(1, 64, dtype=torch.long))[0].shape == (1, 64, 391)


def _banded_forward(m, idx):
    """The whole sequence recomputed at once, each token attending to the last max_len tokens
    (itself included) at every layer: what the sliding cache computes step by step."""
    c = m.config
    B, T = idx.shape
    M, H, D = c.max_len, c.n_head, c.n_embd // c.n_head
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    band = (j <= i) & (i - j < M)
    rope = m._rope(torch.arange(T), torch.float32)
    x = m._embed(idx, None)
    for block in m.blocks:
        a = block.attn
        q, k, v = a._split(block.ln1(x))
        if rope is not None:
            from seqkit import apply_rope

            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        scores = q @ k.transpose(-1, -2)
        if a.relative:  # q_i . Er[distance j - i], distance index M - 1 + j - i
            rel = (M - 1 + j - i).clamp(0, M - 1)
            scores = scores + torch.einsum("bhid,hijd->bhij", q, a.er[:, rel])
        att = (scores / math.sqrt(D)).masked_fill(~band, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + block.drop(a.proj(y))
        x = x + block.mlp(block.ln2(x))
    return m.head(m.ln_f(x))


@pytest.mark.parametrize("position", ["relative", "rope"])
def test_sliding_cache_past_max_len_equals_recomputing_each_window(position):
    m = tiny(position, max_len=16).eval()
    x = torch.randint(0, 388, (2, 50))
    with torch.no_grad():
        want = _banded_forward(m, x)
        assert torch.allclose(want[:, :16], m(x[:, :16])[0], atol=1e-5)
        logits, cache = m(x[:, :16], cache=m.new_cache())
        steps = [logits]
        for t in range(16, 50):
            out, cache = m(x[:, t:t + 1], cache=cache)
            steps.append(out)
    assert torch.allclose(torch.cat(steps, 1), want, atol=1e-4)
    seen = []
    m.wte.register_forward_hook(lambda mod, args, out: seen.append(args[0].size(1)))
    generate(m, x[:, :5], 40, generator=torch.Generator().manual_seed(0))
    assert seen[0] == 5 and set(seen[1:]) == {1}  # one token's work per step, past max_len too
