"""Hook implementations of the compressive plugin (imports neither torch nor MIDI libraries)."""

from pathlib import Path

from seqkit import (
    Arch,
    Architecture,
    CheckpointFolder,
    DatasetType,
    LazyCommand,
    ModelType,
    TokenizerType,
    hookimpl,
)

PKG = "seqkit_compressive"


@hookimpl
def register_checkpoints(register):
    # the default `compressive` model for the music commands (the music task is the
    # midi-transformer plugin's): seqkit music generate|eval --model compressive
    register(CheckpointFolder("music", Path(__file__).parent / "checkpoints"))


@hookimpl
def register_models(register):
    register(ModelType("compressive", f"{PKG}.model:CompressiveTransformer",
                       "Compressive Transformer (Rae et al. 2019): memories + compressed memories, "
                       "segment-wise training, cached generation"))


@hookimpl
def register_architectures(register):
    # offered to every task that trains a token LM (names, abc, music ...): `--arch compressive`.
    # The defaults are CPU-sized for characters: 100-character training slices are 4 segments of 32,
    # so memories fill and get compressed within each slice.
    register(Architecture(
        "compressive", "compressive",
        config={"n_layer": 2, "n_head": 4, "n_embd": 128, "seg_len": 32, "mem_len": 64, "cmem_len": 32,
                "cmem_ratio": 4, "dropout": 0.1},
        train={"lr": 1e-3, "warmup_steps": 100},
        data="tokens", memory=True,
        tuned={
            # surnames (at most 32 tokens): a small one with short memories, the country as n_cond
            "names": Arch("compressive", {"n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.1, "seg_len": 16,
                                          "mem_len": 16, "cmem_len": 4, "cmem_ratio": 4},
                          {"epochs": 10, "lr": 2e-3, "batch_size": 64, "warmup_steps": 100}),
            # piano performances: sized by the model type's presets (music's --preset), trained on streams
            "music": Arch("compressive"),
        },
        description="Compressive Transformer: memories + compressed memories carried across windows"))


@hookimpl
def register_tokenizers(register):
    register(TokenizerType("notes-chords", f"{PKG}.tokenizer:NotesChordsTokenizer",
                           "one token per onset: a note (C4) or a chord (C4.E4.G4), music21-style"))


@hookimpl
def register_datasets(register):
    register(DatasetType("lakh-clean-midi", f"{PKG}.lakh:load_lakh",
                         "Lakh MIDI clean_midi/<Artist>/<Title>.mid with program, genre and "
                         "per-genre filters", task="music"))


@hookimpl
def register_lazy_commands(register):
    register(LazyCommand("compressive", f"{PKG}.commands:compressive_app",
                         "Compressive Transformer settings and the Lakh loader"))
