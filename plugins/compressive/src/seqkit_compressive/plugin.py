"""Hook implementations of the compressive plugin (imports neither torch nor MIDI libraries)."""

from pathlib import Path

from seqkit import CheckpointFolder, DatasetType, LazyCommand, ModelType, TokenizerType, hookimpl

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
