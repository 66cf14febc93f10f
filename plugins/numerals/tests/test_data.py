import pytest
from seqkit_numerals.data import (
    Collate,
    DataSpec,
    LengthBatches,
    PairDataset,
    build_pairs,
    cache_path,
    sample_numbers,
    source_text,
    source_tokenizer,
    split_pairs,
    target_tokenizer,
)

from seqkit import SeqkitError


def test_sampling_is_deterministic_distinct_and_in_range():
    spec = DataSpec(max=10**15, size=3000, seed=3)
    a, b = sample_numbers(spec), sample_numbers(spec)
    assert a == b and len(set(a)) == 3000
    assert all(spec.in_range(n) for n in a)
    assert sample_numbers(DataSpec(max=10**15, size=3000, seed=4)) != a
    digits = {len(str(abs(n))) for n in a}
    assert digits == set(range(1, 16))  # every magnitude is there
    assert 0.02 < sum(n < 0 for n in a) / len(a) < 0.09


def test_small_range_is_exhausted_exactly():
    assert sorted(sample_numbers(DataSpec(max=1000, size=1000, negatives=0))) == list(range(1000))
    with pytest.raises(SeqkitError, match="distinct integers"):
        DataSpec(max=100, size=101, negatives=0)


def test_uniform_sampling_is_mostly_long_numbers():
    nums = sample_numbers(DataSpec(max=10**9, size=2000, sampling="uniform", negatives=0))
    assert sum(len(str(n)) == 9 for n in nums) > 1600


def test_build_is_cached_and_splits_are_disjoint(monkeypatch):
    spec = DataSpec(max=10**6, size=400, seed=1)
    pairs = build_pairs(spec, progress=False)
    assert cache_path(spec).exists()
    import num2words

    monkeypatch.setattr(num2words, "num2words", lambda *a, **k: pytest.fail("cache not used"))
    assert build_pairs(spec, progress=False) == pairs
    assert dict(pairs)[pairs[0][0]]
    parts = split_pairs(pairs, spec)
    sets = {k: {n for n, _ in v} for k, v in parts.items()}
    assert sum(len(s) for s in sets.values()) == 400
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["val"]) and not (sets["val"] & sets["test"])
    assert len(sets["test"]) == 20 and len(sets["val"]) == 20
    assert split_pairs(pairs, spec) == parts


def test_corrupt_cache_is_rebuilt():
    spec = DataSpec(max=1000, size=50, seed=2)
    pairs = build_pairs(spec, progress=False)
    cache_path(spec).write_text("garbage\n")
    assert build_pairs(spec, progress=False) == pairs


def test_tokens_round_trip():
    spec = DataSpec(max=10**15, size=500, seed=5)
    pairs = build_pairs(spec, progress=False)
    src, tgt = source_tokenizer(), target_tokenizer(w for _, w in pairs)
    assert source_text(-123) == "321-"
    for n, words in pairs:
        assert src.decode(src.encode(source_text(n))) == source_text(n)
        assert tgt.decode(tgt.encode(words, add_bos=True, add_eos=True)) == words
    ids = tgt.encode("twenty-one thousand, five")
    assert [tgt.itos[i] for i in ids][:3] == ["twenty", "-", "one"]  # the hyphen is a token
    assert "thousand," in tgt.stoi  # the comma stays on its word
    assert tgt.unknown("seventy gazillion") == ["gazillion"]


def test_length_batches_cover_every_pair_once():
    spec = DataSpec(max=10**12, size=300, seed=6)
    pairs = build_pairs(spec, progress=False)
    src, tgt = source_tokenizer(), target_tokenizer(w for _, w in pairs)
    ds = PairDataset(pairs, src, tgt)
    lb = LengthBatches(ds, seed=0)
    epoch0 = lb.batches(epoch=0, batch_size=32, seed=0)  # what the Trainer asks for (its own-order protocol)
    assert sorted(i for b in epoch0 for i in b) == list(range(300)) and len(epoch0) == 10
    epoch1 = lb.batches(epoch=1, batch_size=32, seed=0)
    assert epoch1 != epoch0 and sorted(map(sorted, epoch1)) == sorted(map(sorted, epoch0))  # reshuffled, same make-up
    halves = [lb.batches(epoch=0, batch_size=32, seed=0, rank=r, world=2) for r in (0, 1)]
    assert len(halves[0]) == len(halves[1]) == 5 and sorted(halves[0] + halves[1]) == sorted(epoch0)
    items = [lb[i] for i in epoch0[0]]
    batch = Collate(src.pad_id, tgt.pad_id)(items)
    assert batch["src"].shape[0] == 32 and batch["tgt_in"].shape == batch["tgt_out"].shape
    for row_src, row_in, row_out, (s, t) in zip(batch["src"], batch["tgt_in"], batch["tgt_out"], items):
        assert row_src[: len(s)].tolist() == s  # targets shifted by one; padding ignored by the loss
        assert row_in[: len(t) - 1].tolist() == t[:-1] and row_out[: len(t) - 1].tolist() == t[1:]
        assert (row_out[len(t) - 1:] == -100).all() and (row_in[len(t) - 1:] == tgt.pad_id).all()


def test_balance_repeats_rare_magnitudes_only():
    from collections import Counter

    from seqkit_numerals.data import balance_magnitudes

    pairs = [(n, str(n)) for n in range(10)] + [(n, str(n)) for n in range(1000, 1500)]
    out = balance_magnitudes(pairs, max_repeat=20)
    counts = Counter(len(str(n)) for n, _ in out)
    assert counts == {1: 200, 4: 500}  # 10 one-digit numbers x 20 (capped), four-digit ones once
    assert set(out) == set(pairs)


def test_bound_beyond_num2words_is_an_error_and_long_bounds_keep_short_cache_names():
    with pytest.raises(SeqkitError, match="beyond what num2words writes"):
        DataSpec(max=10**400)
    key = DataSpec(max=10**306, size=30).key()
    assert len(key) < 120 and key.startswith("en-max307digits")
    assert DataSpec(max=10**9).key().startswith("en-max1000000000-")


def test_eval_sets_stay_within_what_num2words_writes():
    """A model trained up to 10^305: the out-of-range set stops at num2words' limit (10^306 in
    English) instead of failing the whole eval on a number num2words refuses."""
    from seqkit_numerals.evaluation import eval_sets
    from seqkit_numerals.numbers import num2words_limit

    limit = num2words_limit("en")
    spec = DataSpec(max=10**305, size=30, seed=7)
    sets = dict(eval_sets(spec, split_pairs(build_pairs(spec, progress=False), spec), count=20))
    out = sets["out of range: [10^305, 10^306)"]
    assert len(out) == 20 and all(10**305 <= n < limit for n, _ in out)
    spec = DataSpec(max=limit, size=30, seed=7)  # nothing beyond the range can be written: no such set
    names = [name for name, _ in eval_sets(spec, split_pairs(build_pairs(spec, progress=False), spec), count=5)]
    assert not any(name.startswith("out of range") for name in names)
