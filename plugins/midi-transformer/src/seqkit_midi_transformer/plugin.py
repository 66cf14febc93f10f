"""Hook implementations of the midi-transformer plugin (no torch, no MIDI libraries imported here)."""

from pathlib import Path

from seqkit import DatasetType, LazyCommand, ModelType, Task, TokenizerType, hookimpl

PKG = "seqkit_midi_transformer"


@hookimpl
def register_tasks(register):
    register(Task("music", "piano performance MIDI continuation (Music Transformer, MAESTRO)",
                  checkpoints=Path(__file__).parent / "checkpoints"))


@hookimpl
def register_models(register):
    register(ModelType("music-transformer", f"{PKG}.model:MusicTransformer",
                       "decoder-only Transformer with relative attention (Huang et al. 2018) or RoPE"))


@hookimpl
def register_tokenizers(register):
    register(TokenizerType("performance", f"{PKG}.tokenizer:PerformanceTokenizer",
                           "MIDI performance events (Oore et al. 2018): note-on/off, 10 ms shifts, velocity"))
    for name, cls, what in MIDITOK:
        register(TokenizerType(name, f"{PKG}.miditok_tokenizers:{cls}", f"miditok {what}"))


MIDITOK = (  # (type, class, description) of the miditok tokenizers (miditok_tokenizers.py)
    ("remi", "RemiTokenizer", "REMI: bar, position, pitch, velocity, duration"),
    ("tsd", "TSDTokenizer", "TSD: time shift, pitch, velocity, duration"),
    ("midilike", "MIDILikeTokenizer", "MIDI-Like: note-on/off, velocity, time shift in beats"),
    ("structured", "StructuredTokenizer", "Structured: pitch, velocity, duration, time shift, fixed order"),
    ("mmm", "MMMTokenizer", "MMM: multi-track, one REMI sequence per track between track tokens"),
)


@hookimpl
def register_datasets(register):
    register(DatasetType("maestro", f"{PKG}.loaders:load_maestro",
                         "MAESTRO v2/v3 folder (csv or json split) as cached performance tokens",
                         task="music"))
    register(DatasetType("midi-folder", f"{PKG}.loaders:load_midi_folder",
                         "any folder of .mid/.midi (info.csv split column, else seeded split)",
                         task="music"))


@hookimpl
def register_lazy_commands(register):
    register(LazyCommand("music", f"{PKG}.commands:music_app",
                         "Piano MIDI: continue a primer, train, render audio"))


@hookimpl
def register_generators(register):
    from .generator import MUSIC
    from .infill import MUSIC_INFILL

    register(MUSIC)
    register(MUSIC_INFILL)
