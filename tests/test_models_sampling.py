import pytest
import torch

from seqkit import generate
from seqkit.generation import filter_logits
from seqkit.models import (
    RNNLM,
    GRUSeq2Seq,
    RNNConfig,
    Seq2SeqConfig,
    TransformerConfig,
    TransformerLM,
    TransformerSeq2Seq,
)

LMS = [
    ("gru", lambda: RNNLM(RNNConfig(vocab_size=11, cell="gru", hidden=32, n_layer=2))),
    ("lstm", lambda: RNNLM(RNNConfig(vocab_size=11, cell="lstm", hidden=32, n_cond=3))),
    ("rnn", lambda: RNNLM(RNNConfig(vocab_size=11, cell="rnn", hidden=32, n_cond=3, cond_dim=4))),
    ("transformer", lambda: TransformerLM(TransformerConfig(vocab_size=11, n_layer=2, n_head=2, n_embd=32, max_len=64))),
    ("transformer-rope-cond", lambda: TransformerLM(TransformerConfig(vocab_size=11, n_layer=2, n_head=2, n_embd=32, max_len=64, position="rope", n_cond=3))),
]


def _cond(model, B):
    return torch.arange(B) % 3 if model.config.n_cond else None


@pytest.mark.parametrize("name,make", LMS)
def test_greedy_with_and_without_cache_agree(name, make):
    torch.manual_seed(0)
    model = make()
    prompt = torch.randint(0, 11, (3, 5))
    cond = _cond(model, 3)
    a = generate(model, prompt, 30, temperature=0, cond=cond, use_cache=True)
    b = generate(model, prompt, 30, temperature=0, cond=cond, use_cache=False)
    assert a.shape == (3, 30)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name,make", LMS)
def test_seeded_sampling_is_deterministic(name, make):
    torch.manual_seed(0)
    model = make()
    prompt = torch.zeros(4, 1, dtype=torch.long)
    cond = _cond(model, 4)
    runs = [generate(model, prompt, 20, temperature=1.0, top_k=5, cond=cond,
                     generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    other = generate(model, prompt, 20, temperature=1.0, top_k=5, cond=cond,
                     generator=torch.Generator().manual_seed(8))
    assert not torch.equal(runs[0], other)


def test_stop_tokens_end_rows_and_fill():
    torch.manual_seed(0)
    model = LMS[0][1]()
    out = generate(model, torch.zeros(8, 1, dtype=torch.long), 50, stop_ids=[3, 4],
                   generator=torch.Generator().manual_seed(1))
    for row in out.tolist():
        if 3 in row or 4 in row:
            first = min(i for i, t in enumerate(row) if t in (3, 4))
            assert all(t == row[first] for t in row[first:])


@pytest.mark.parametrize("temperature", [0.0, 1.0, 100.0])
def test_suppressed_ids_are_never_produced(temperature):
    torch.manual_seed(0)
    model = LMS[0][1]()
    greedy = generate(model, torch.zeros(4, 1, dtype=torch.long), 30, temperature=0)
    banned = sorted(set(greedy.flatten().tolist()))[:3]  # tokens it would otherwise produce
    out = generate(model, torch.zeros(16, 1, dtype=torch.long), 30, temperature=temperature,
                   suppress_ids=banned, generator=torch.Generator().manual_seed(2))
    assert out.shape == (16, 30)
    assert not torch.isin(out, torch.tensor(banned)).any()


def test_generation_slides_past_max_len():
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(vocab_size=11, n_layer=1, n_head=2, n_embd=16, max_len=16))
    out = generate(model, torch.zeros(2, 10, dtype=torch.long), 40, temperature=0)
    assert out.shape == (2, 40)  # learned positions restart their window (tests/test_decoding.py)
    # one rotary layer: the sliding window is exactly a recomputation of the last max_len tokens
    rope = TransformerLM(TransformerConfig(vocab_size=11, n_layer=1, n_head=2, n_embd=16, max_len=16,
                                           position="rope"))
    for p in rope.parameters():
        p.data.normal_(0, 0.5)
    prompt = torch.randint(0, 11, (2, 10))
    out = generate(rope, prompt, 40, temperature=0)
    assert torch.equal(out, generate(rope, prompt, 40, temperature=0, use_cache=False))


def test_filter_logits_top_k_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    k = filter_logits(logits, top_k=2)
    assert torch.isinf(k[0, 2:]).all() and torch.isfinite(k[0, :2]).all()
    p = filter_logits(logits, top_p=0.7)
    assert torch.isfinite(p[0, :2]).all() and torch.isinf(p[0, 2:]).all()
    p1 = filter_logits(logits, top_p=0.4)
    assert torch.isfinite(p1[0, 0]) and torch.isinf(p1[0, 1:]).all()


@pytest.mark.parametrize("top_p", [0.0, -1.0, 1e-9])
def test_filter_logits_top_p_zero_keeps_the_top_token(top_p):
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]))
    out = filter_logits(logits, top_p=top_p)
    assert torch.isfinite(out[0, 1]) and torch.isinf(out[0, [0, 2]]).all()
    assert torch.isfinite(out[1, 0]) and torch.isinf(out[1, 1:]).all()
    model = RNNLM(RNNConfig(vocab_size=11, hidden=8))
    g = torch.Generator().manual_seed(0)
    sampled = generate(model, torch.zeros(2, 3, dtype=torch.long), 5, top_p=top_p, generator=g)
    assert torch.equal(sampled, generate(model, torch.zeros(2, 3, dtype=torch.long), 5, temperature=0))


@pytest.mark.parametrize("cls", [GRUSeq2Seq, TransformerSeq2Seq])
def test_seq2seq_batched_decode_matches_single_and_teacher_forcing(cls):
    torch.manual_seed(0)
    c = Seq2SeqConfig(src_vocab=9, tgt_vocab=12, n_embd=16, hidden=16, n_head=2, max_len=32, src_pad_id=0, tgt_pad_id=0)
    model = cls(c).eval()
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    batch = model.greedy_decode(src, 10, bos_id=1, eos_id=2)
    single = model.greedy_decode(src[1:, :2], 10, bos_id=1, eos_id=2)
    assert torch.equal(batch[1, : single.size(1)], single[0])
    # the incremental decoder equals a teacher-forced pass over its own output
    tgt_in = torch.cat([torch.ones(2, 1, dtype=torch.long), batch[:, :-1]], dim=1)
    forced = model(src, tgt_in).argmax(-1)
    row = batch[0].tolist()
    n = row.index(2) + 1 if 2 in row else len(row)
    assert torch.equal(forced[0, :n], batch[0, :n])
