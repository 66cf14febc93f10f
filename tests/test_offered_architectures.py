"""Architectures offered by the plugin that owns them (``register_architectures``, hookspec 1.3):
the tasks list them without naming them."""

import re
from pathlib import Path

import pytest

from seqkit import Arch, Architecture, TrainRecipe, hookimpl
from seqkit.host.plugins import architectures
from seqkit.testing import registered
from seqkit.train.kit import with_offered

ROOT = Path(__file__).resolve().parents[1]
TASK_PLUGINS = ("names", "abc", "midi-transformer", "numerals")


@pytest.mark.parametrize("plugin", TASK_PLUGINS)
def test_no_task_plugin_names_compressive(plugin):
    sources = sorted((ROOT / "plugins" / plugin / "src").rglob("*.py"))
    assert sources, f"no sources under plugins/{plugin}/src"
    hits = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for path in sources for n, line in enumerate(path.read_text().splitlines(), 1)
            if re.search("compressive", line, re.IGNORECASE)]
    assert not hits, "\n".join(hits)


class OfferingPlugin:
    __name__ = "offering_plugin"

    @hookimpl
    def register_architectures(self, register):
        register(Architecture("tp-lm", "transformer-lm", {"n_layer": 1, "n_embd": 16, "n_head": 2},
                              {"lr": 1e-2}, tuned={"tp-task": Arch("transformer-lm", {"n_layer": 3})}))
        register(Architecture("tp-other", "rnn-lm", data="pairs"))


def _recipe(task="tp-task", offered="tokens"):
    return TrainRecipe(task=task, prepare="x:y", archs={"gru": Arch("rnn-lm")}, offered=offered)


def test_an_offered_architecture_joins_the_tasks_that_take_its_data():
    with registered(OfferingPlugin()):
        assert "tp-lm" in architectures("tokens") and "tp-other" not in architectures("tokens")
        plain = with_offered(_recipe("another-task")).archs
        assert list(plain)[0] == "gru"  # the task's own come first
        assert plain["tp-lm"] == Arch("transformer-lm", {"n_layer": 1, "n_embd": 16, "n_head": 2}, {"lr": 1e-2})
        assert "tp-other" not in plain
        # the owner's tuning for a task replaces the defaults there
        assert with_offered(_recipe()).archs["tp-lm"] == Arch("transformer-lm", {"n_layer": 3})
        # a task that does not ask for offered architectures gets none
        assert list(with_offered(_recipe(offered="")).archs) == ["gru"]
    assert "tp-lm" not in architectures()


def test_compressive_is_offered_with_the_settings_the_tasks_had():
    offered = architectures("tokens")
    if "compressive" not in offered:
        pytest.skip("the compressive plugin is not installed")
    c = offered["compressive"]
    assert c.model_type == "compressive" and c.memory
    from seqkit_abc.training import ABC_TRAINING
    from seqkit_midi_transformer.training import MUSIC_TRAINING
    from seqkit_names.training import NAMES_TRAINING

    names = with_offered(NAMES_TRAINING).archs["compressive"]
    assert names.config == dict(n_layer=2, n_head=4, n_embd=64, dropout=0.1, seg_len=16, mem_len=16,
                                cmem_len=4, cmem_ratio=4)
    assert names.train == dict(epochs=10, lr=2e-3, batch_size=64, warmup_steps=100)
    abc = with_offered(ABC_TRAINING).archs["compressive"]
    assert abc.config == {"n_layer": 2, "n_head": 4, "n_embd": 128, "seg_len": 32, "mem_len": 64,
                          "cmem_len": 32, "cmem_ratio": 4, "dropout": 0.1}
    assert abc.train == {"lr": 1e-3, "warmup_steps": 100}
    assert with_offered(MUSIC_TRAINING).archs["compressive"] == Arch("compressive")


def test_music_presets_live_on_the_model_type():
    if "compressive" not in architectures("tokens"):
        pytest.skip("the compressive plugin is not installed")
    from seqkit_midi_transformer.training import model_defaults

    from seqkit import SeqkitError

    # the compressive model's own presets (it has no max_len: none is made up for it)
    assert model_defaults("compressive", {"preset": "small", "seq_len": 1024}) == \
        dict(n_layer=4, n_embd=256, n_head=4, d_ff=1024, dropout=0.1)
    with pytest.raises(SeqkitError, match="compressive has only the presets small, tiny"):
        model_defaults("compressive", {"preset": "paper"})
    assert model_defaults("music-transformer", {"preset": "paper"})["n_embd"] == 512
