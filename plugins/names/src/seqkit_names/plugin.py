"""Hook implementations of the names plugin. No torch here: ``seqkit --help`` must stay fast."""

from __future__ import annotations

from pathlib import Path

from seqkit import LazyCommand, ModelType, Task, hookimpl


@hookimpl
def register_tasks(register):
    register(Task("names", "surnames of 18 languages, generated for a country",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_models(register):
    register(ModelType("names-rnn", "seqkit_names.tutorial_rnn:TutorialRNN",
                       "the PyTorch tutorial's name-generation RNN cell (i2h, i2o, o2o), conditional"))
    register(ModelType("names-classifier", "seqkit_names.classifier:NameClassifier",
                       "character-level country classifier (bidirectional GRU)"))


@hookimpl
def register_lazy_commands(register):
    register(LazyCommand("names", "seqkit_names.commands:names_app",
                         "Surnames for a country: names --country Greek"))


@hookimpl
def register_generators(register):
    from .generator import NAMES

    register(NAMES)
