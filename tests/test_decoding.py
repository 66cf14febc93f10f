"""Core decoding: the cache protocol (cached = uncached; past max_len the cache slides as a
recomputation of each window does), one RoPE, one weight-init, and generate's options."""

import math

import pytest
import torch
import torch.nn.functional as F

from seqkit import generate
from seqkit.models import (
    RNNLM,
    KVCache,
    RNNConfig,
    TransformerConfig,
    TransformerLM,
    apply_rope,
    init_weights,
    restart_window,
    rope_tables,
)

ARCHS = {
    "gru": lambda: RNNLM(RNNConfig(vocab_size=13, cell="gru", hidden=24, n_layer=2, n_cond=3)),
    "lstm": lambda: RNNLM(RNNConfig(vocab_size=13, cell="lstm", hidden=24, n_cond=3, cond_dim=4)),
    "rnn": lambda: RNNLM(RNNConfig(vocab_size=13, cell="rnn", hidden=24)),
    "learned": lambda: TransformerLM(TransformerConfig(vocab_size=13, n_layer=2, n_head=2, n_embd=16, max_len=12,
                                                       n_cond=3)),
    "rope": lambda: TransformerLM(TransformerConfig(vocab_size=13, n_layer=2, n_head=2, n_embd=16, max_len=12,
                                                    position="rope", bias=True)),
}


def _model(name):
    torch.manual_seed(0)
    model = ARCHS[name]().eval()
    for p in model.parameters():  # sharper than the init: differences show
        p.data.normal_(0, 0.4)
    return model


def _cond(model, B):
    return torch.arange(B) % 3 if model.config.n_cond else None


def _steps(model, idx, cond, prompt: int):
    """Logits of every position: the first ``prompt`` tokens in one call, then one per call."""
    cache = model.new_cache() if hasattr(model, "new_cache") else None
    logits, cache = model(idx[:, :prompt], cond=cond, cache=cache)
    out = [logits]
    for t in range(prompt, idx.size(1)):
        logits, cache = model(idx[:, t:t + 1], cond=cond, cache=cache)
        out.append(logits)
    return torch.cat(out, 1)


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_cached_logits_equal_uncached(name):
    model = _model(name)
    idx = torch.randint(0, 13, (3, 12))
    cond = _cond(model, 3)
    with torch.no_grad():
        full, _ = model(idx, cond=cond)
        for prompt in (1, 5):
            torch.testing.assert_close(_steps(model, idx, cond, prompt), full, atol=1e-5, rtol=1e-4)
        # several new tokens in one call through the cache give the same
        cache = model.new_cache() if hasattr(model, "new_cache") else None
        a, cache = model(idx[:, :4], cond=cond, cache=cache)
        b, _ = model(idx[:, 4:], cond=cond, cache=cache)
        torch.testing.assert_close(torch.cat([a, b], 1), full, atol=1e-5, rtol=1e-4)


def _banded_forward(model, idx):
    """A rotary TransformerLM over a sequence longer than its context, recomputed as a whole: each
    token attends to itself and the ``max_len - 1`` tokens before it (at every layer)."""
    c = model.config
    T, M = idx.size(1), c.max_len
    x = model.tok(idx)
    rope = rope_tables(c.n_embd // c.n_head, T, idx.device)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    band = (j <= i) & (i - j < M)
    for block in model.blocks:
        a = block.attn
        h = block.ln1(x)
        q, k, v = a.qkv(h).split(c.n_embd, dim=2)
        q, k, v = (t.view(idx.size(0), T, c.n_head, -1).transpose(1, 2) for t in (q, k, v))
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=band)
        x = x + a.proj(y.transpose(1, 2).reshape(idx.size(0), T, c.n_embd))
        x = x + block.mlp(block.ln2(x))
    return model.head(model.ln_f(x))


def test_rope_cache_slides_as_a_banded_recomputation():
    model = _model("rope")
    idx = torch.randint(0, 13, (2, 40))  # 3+ windows of 12
    with torch.no_grad():
        want = _banded_forward(model, idx)
        torch.testing.assert_close(want[:, :12], model(idx[:, :12])[0], atol=1e-5, rtol=1e-4)
        for prompt in (1, 12):
            torch.testing.assert_close(_steps(model, idx, None, prompt), want, atol=1e-4, rtol=1e-4)
        # more new tokens than fit at once: read one at a time, the same numbers
        cache = model.new_cache()
        a, cache = model(idx[:, :10], cache=cache)
        b, _ = model(idx[:, 10:], cache=cache)
        torch.testing.assert_close(torch.cat([a, b], 1), want, atol=1e-4, rtol=1e-4)


def test_learned_cache_restarts_as_a_recomputation_of_each_window():
    model = _model("learned")
    M, R = model.config.max_len, restart_window(model.config.max_len)
    idx = torch.randint(0, 13, (2, 40))
    cond = _cond(model, 2)
    want, start = [], 0
    with torch.no_grad():
        for t in range(idx.size(1)):  # the window each token is read in, recomputed from scratch
            if t - start + 1 > M:
                start = t - R + 1
            want.append(model(idx[:, start:t + 1], cond=cond)[0][:, -1:])
        torch.testing.assert_close(_steps(model, idx, cond, 3), torch.cat(want, 1), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["learned", "rope"])
def test_generation_past_max_len_is_one_tokens_work_per_step(name):
    model = _model(name)
    seen = []
    model.tok.register_forward_hook(lambda m, args, out: seen.append(args[0].size(1)))
    out = generate(model, torch.randint(0, 13, (2, 5)), 60, cond=_cond(model, 2),
                   generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 60)
    assert seen[0] == 5 and len(seen) >= 60
    steps = seen[1:]
    if name == "rope":  # a sliding window: every step reads one token
        assert set(steps) == {1}
    else:  # learned positions: one token, and every R steps a restart on R tokens
        R = restart_window(model.config.max_len)
        assert set(steps) == {1, R} and steps.count(R) == (5 + 59 - 12 - 1) // (12 - R + 1) + 1


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_greedy_generation_equals_recomputing_each_window(name):
    """generate() through the cache equals feeding each step's window to the model uncached."""
    model = _model(name)
    prompt, cond = torch.randint(0, 13, (3, 4)), _cond(model, 3)
    got = generate(model, prompt, 30, temperature=0, cond=cond)
    seq, start = prompt, 0
    M = getattr(model.config, "max_len", None)
    with torch.no_grad():
        for _ in range(30):
            if name == "rope":
                logits = _banded_forward(model, seq)
            else:
                if M and seq.size(1) - start > M:
                    start = seq.size(1) - restart_window(M)
                logits = model(seq[:, start:], cond=cond)[0]
            seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(got, seq[:, 4:])


def test_full_and_half_rope_tables_rotate_alike_bit_for_bit():
    x = torch.randn(2, 3, 7, 8)
    half = rope_tables(8, 7, "cpu", offset=5)
    full = rope_tables(8, 7, "cpu", offset=5, full=True)
    assert torch.equal(apply_rope(x, *half), apply_rope(x, *full))
    by_pos = rope_tables(8, positions=torch.arange(5, 12))
    assert all(torch.equal(a, b) for a, b in zip(half, by_pos))
    # a rotation keeps the norm of each pair and q.k depends on the distance only
    q, k = torch.randn(8), torch.randn(8)

    def dot(i, j):
        ci, si = rope_tables(8, positions=torch.tensor([i]))
        cj, sj = rope_tables(8, positions=torch.tensor([j]))
        return float(apply_rope(q[None], ci, si) @ apply_rope(k[None], cj, sj).T)

    assert math.isclose(dot(3, 1), dot(103, 101), rel_tol=1e-4)


def test_init_weights_is_gpt2s():
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(vocab_size=50, n_layer=8, n_head=2, n_embd=64))
    assert abs(model.tok.weight.std().item() - 0.02) < 0.002
    proj = model.blocks[0].attn.proj.weight.std().item()
    assert abs(proj - 0.02 / math.sqrt(16)) < 0.001
    # the same draws in the same order as the three copies it replaces (GPT-2's, written out)
    import copy

    old = copy.deepcopy(model)
    torch.manual_seed(1)
    init_weights(model, 8)
    torch.manual_seed(1)
    for m in old.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if getattr(m, "bias", None) is not None:
                torch.nn.init.zeros_(m.bias)
    for name, p in old.named_parameters():
        if name.endswith("proj.weight"):
            torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(16))
    for (name, a), (_, b) in zip(model.state_dict().items(), old.state_dict().items()):
        assert torch.equal(a, b), name


def test_kv_cache_has_no_crop():
    assert not hasattr(KVCache, "crop")


def test_forced_prefixes_of_different_lengths():
    model = _model("gru")
    cond = _cond(model, 3)
    prefix = [[5], [], [7, 8, 9]]
    out = generate(model, torch.zeros(3, 1, dtype=torch.long), 10, cond=cond, prefix=prefix,
                   generator=torch.Generator().manual_seed(0))
    assert out[0, :1].tolist() == [5] and out[2, :3].tolist() == [7, 8, 9]
    # a row's samples after its prefix are what it samples with that prefix as its prompt
    greedy = generate(model, torch.zeros(3, 1, dtype=torch.long), 10, temperature=0, cond=cond, prefix=prefix)
    alone = generate(model, torch.tensor([[0, 7, 8, 9]]), 7, temperature=0, cond=cond[2:])
    assert greedy[2, 3:].tolist() == alone[0].tolist()
    # a forced token that is a stop id does not end the row
    stopped = generate(model, torch.zeros(3, 1, dtype=torch.long), 10, temperature=0, cond=cond, prefix=prefix,
                       stop_ids=(7,))
    assert stopped[2, :3].tolist() == [7, 8, 9]


def test_stop_callback_ends_rows_on_a_marker_of_several_tokens():
    model = _model("lstm")
    cond = _cond(model, 4)
    free = generate(model, torch.zeros(4, 1, dtype=torch.long), 40, cond=cond,
                    generator=torch.Generator().manual_seed(3))
    a, b = free[0, 6].item(), free[0, 7].item()  # row 0 produces the pair (a, b) at 6-7
    calls = []

    def pair(new):
        calls.append(new.size(1))
        if new.size(1) < 2:
            return torch.zeros(new.size(0), dtype=torch.bool)
        return (new[:, -2] == a) & (new[:, -1] == b)

    out = generate(model, torch.zeros(4, 1, dtype=torch.long), 40, cond=cond, stop_fn=pair,
                   generator=torch.Generator().manual_seed(3))
    row = out[0].tolist()
    first = next(i for i in range(1, 40) if free[0, i - 1].item() == a and free[0, i].item() == b)
    assert row[:first + 1] == free[0, :first + 1].tolist()
    assert all(t == b for t in row[first:])  # the row ended: filled with its last token
    assert calls == list(range(1, len(calls) + 1))


def test_on_step_and_generator_draws_do_not_depend_on_the_cache():
    model = _model("rope")
    steps = []
    a = generate(model, torch.randint(0, 13, (2, 3)), 30, generator=torch.Generator().manual_seed(1),
                 on_step=steps.append)
    assert steps == [1] * 30 and a.shape == (2, 30)
