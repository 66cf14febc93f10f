"""Settings that used to reach the allocator or the parser as a traceback are one Error line
(issue 29, item 18): huge sizes, a huge layer count, a model too large, --config /dev/zero and a
TOML nested 100k deep."""

import pytest

from seqkit import SeqkitError
from seqkit.models import RNNConfig
from seqkit.models.settings import MAX_LAYERS, MAX_SIZE
from seqkit.train.kit import CONFIG_BYTES, check_parameter_count, read_config_file


def test_sizes_have_an_upper_bound():
    with pytest.raises(ValueError, match="hidden must be at most"):
        RNNConfig(vocab_size=10, hidden=1_000_000_000_000)
    with pytest.raises(ValueError, match="n_layer must be at most"):
        RNNConfig(vocab_size=10, n_layer=100_000)
    RNNConfig(vocab_size=10, hidden=64, n_layer=MAX_LAYERS)  # the bounds themselves are allowed
    assert MAX_SIZE >= 1 << 20


def test_a_model_too_large_is_refused_before_allocating():
    from seqkit.models import RNNLM

    config = RNNConfig(vocab_size=10, hidden=1 << 20, n_layer=4)  # about 2.6e13 parameters
    with pytest.raises(SeqkitError, match="parameters"):
        check_parameter_count(RNNLM, config)
    small = RNNConfig(vocab_size=10, hidden=8)
    assert check_parameter_count(RNNLM, small) == sum(p.numel() for p in RNNLM(small).parameters())


def test_config_reads_are_bounded_and_deep_nesting_is_an_error(tmp_path):
    with pytest.raises(SeqkitError, match="larger than"):
        read_config_file("/dev/zero")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * CONFIG_BYTES + "\n")
    with pytest.raises(SeqkitError, match="larger than"):
        read_config_file(big)
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "\n")
    with pytest.raises(SeqkitError, match="not valid TOML"):
        read_config_file(deep)
    ok = tmp_path / "ok.toml"
    ok.write_text("[model]\nhidden = 8\n")
    assert read_config_file(ok) == {"model": {"hidden": 8}}
