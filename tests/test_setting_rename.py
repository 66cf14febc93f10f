"""Config keys are spelled alike across architectures (``n_layer``). The old RNN/seq2seq key
``n_layers`` was kept for one release (0.5); since 0.6 typing it is an error, while a checkpoint
file written before 0.5 (which says ``n_layers``) still loads."""

from __future__ import annotations

import json

import pytest

from seqkit import SeqkitError, get_model_type
from seqkit.models import RNNConfig, Seq2SeqConfig


@pytest.mark.parametrize("make", [lambda **kw: RNNConfig(vocab_size=5, **kw),
                                  lambda **kw: Seq2SeqConfig(src_vocab=5, tgt_vocab=6, **kw)])
def test_the_old_keyword_is_refused(make):
    assert make(n_layer=4).n_layer == 4
    with pytest.raises(TypeError, match="n_layers"):
        make(n_layers=3)


def test_the_old_key_is_one_error_naming_it():
    with pytest.raises(SeqkitError, match="has no setting\\(s\\) n_layers; known: .*n_layer"):
        get_model_type("rnn-lm").make_config({"vocab_size": 7, "n_layers": 2})


def test_merge_settings_refuses_the_old_key(capsys):
    from seqkit import Arch, TrainRecipe
    from seqkit.train.kit import merge_settings

    recipe = TrainRecipe("t", prepare=lambda run: None, archs={"rnn": Arch("rnn-lm", {"n_layer": 1})})
    with pytest.raises(SeqkitError, match="'n_layers' is not a setting of rnn-lm"):
        merge_settings(recipe, "rnn", None, ["n_layers=3"], {})
    assert capsys.readouterr().err == ""


def test_a_checkpoint_written_before_0_5_still_loads(tmp_path, capsys):
    import torch

    from seqkit import CharTokenizer, load_checkpoint
    from seqkit.io import save_checkpoint
    from seqkit.models import RNNLM

    config = RNNConfig(vocab_size=9, n_layer=2, hidden=8, n_embd=4)
    torch.manual_seed(0)
    model = RNNLM(config)
    path = save_checkpoint(tmp_path / "old.json", model, model_type="rnn-lm", config=config,
                           tokenizer=CharTokenizer.build(["abcdef"]))
    meta = json.loads(path.read_text())
    meta["config"]["n_layers"] = meta["config"].pop("n_layer")  # as seqkit 0.4 wrote it
    meta["seqkit_version"] = "0.4.0"
    path.write_text(json.dumps(meta))
    loaded = load_checkpoint(path)
    assert loaded.config.n_layer == 2
    x = torch.tensor([[1, 2, 3]])
    assert torch.equal(loaded.model(x)[0], model.eval()(x)[0])
    assert capsys.readouterr().err == ""
