"""Config keys are spelled alike across architectures (``n_layer``); the old RNN/seq2seq key
``n_layers`` keeps working for one release."""

from __future__ import annotations

import pytest

from seqkit import RNNConfig, Seq2SeqConfig, get_model_type


@pytest.mark.parametrize("make", [lambda **kw: RNNConfig(vocab_size=5, **kw),
                                  lambda **kw: Seq2SeqConfig(src_vocab=5, tgt_vocab=6, **kw)])
def test_old_keyword_still_builds_with_one_warning(make, capsys, monkeypatch):
    import seqkit.models.settings

    monkeypatch.setattr(seqkit.models.settings, "_warned", set())
    assert make(n_layers=3).n_layer == 3
    assert make(n_layers=2).n_layer == 2
    err = capsys.readouterr().err
    assert err.count("deprecated") == 1 and "'n_layers'" in err and "'n_layer'" in err
    assert make(n_layer=4).n_layer == 4


def test_checkpoint_configs_with_the_old_key_load_silently(capsys):
    config = get_model_type("rnn-lm").make_config({"vocab_size": 7, "n_layers": 2})
    assert config.n_layer == 2
    assert "deprecated" not in capsys.readouterr().err
    import dataclasses

    assert "n_layers" not in dataclasses.asdict(config)


def test_merge_settings_renames_with_a_warning(capsys):
    from seqkit import Arch, TrainRecipe
    from seqkit.train.kit import merge_settings

    recipe = TrainRecipe("t", prepare=lambda run: None, archs={"rnn": Arch("rnn-lm", {"n_layer": 1})})
    model, _ = merge_settings(recipe, "rnn", None, ["n_layers=3"], {})
    assert model["n_layer"] == 3 and "n_layers" not in model
    assert "'n_layers' is deprecated; use 'n_layer'" in capsys.readouterr().err
