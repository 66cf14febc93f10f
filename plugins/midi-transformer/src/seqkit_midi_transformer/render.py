"""Audio (FluidSynth or sine fallback) and piano-roll pictures of MIDI."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from seqkit import SeqkitError


def synthesize(pm, soundfont: str | Path | None = None, fs: int = 44100) -> tuple[np.ndarray, str]:
    """Audio samples (float, mono) and how they were made: FluidSynth with ``soundfont`` (default:
    the General MIDI SoundFont pretty_midi bundles), or pretty_midi's sine synthesis when the
    FluidSynth library (pyfluidsynth) is missing."""
    if soundfont is not None:
        check_soundfont(soundfont)
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)

        kwargs = {"fs": fs}
        if soundfont is not None:
            kwargs["sf2_path"] = str(soundfont)
        audio = pm.fluidsynth(**kwargs)
        sf_name = Path(soundfont).name if soundfont else "TimGM6mb.sf2"
        how = f"FluidSynth ({sf_name})"
        if audio.size and not np.any(audio) and any(i.notes for i in pm.instruments):
            raise SeqkitError(f"FluidSynth rendered only silence with {sf_name}: it has no "
                              f"instrument for these notes (try a General MIDI SoundFont)")
    except (ImportError, OSError, AttributeError):
        from seqkit import info

        info("FluidSynth (pyfluidsynth + libfluidsynth) is not available: rendering with sine waves "
             "(seqkit doctor says how to install it)")
        audio = pm.synthesize(fs=fs)
        how = "sine synthesis (no FluidSynth)"
    return audio, how


def check_soundfont(path) -> None:
    """A clear error unless ``path`` is a SoundFont (SF2/SF3) or DLS file: FluidSynth itself only
    prints to stderr and renders silence."""
    path = Path(path)
    if not path.is_file():
        raise SeqkitError(f"no such SoundFont: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise SeqkitError(f"cannot read SoundFont {path}: {exc.strerror or exc}") from None
    if head[:4] != b"RIFF" or head[8:12] not in (b"sfbk", b"DLS "):
        raise SeqkitError(f"{path} is not a SoundFont (.sf2/.sf3) or DLS file")


def wav_bytes(audio: np.ndarray, fs: int = 44100) -> bytes:
    audio = np.asarray(audio, dtype=np.float64)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio / peak * 0.9
    pcm = (audio * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(fs)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def write_wav(pm, path, soundfont=None, fs: int = 44100) -> dict:
    from seqkit import atomic_write_bytes

    audio, how = synthesize(pm, soundfont, fs)
    try:
        atomic_write_bytes(Path(path), wav_bytes(audio, fs))
    except OSError as exc:
        raise SeqkitError(f"cannot write {path}: {exc.strerror or exc}") from None
    return {"wav": str(path), "seconds": round(len(audio) / fs, 2), "synth": how}


def write_piano_roll(notes: np.ndarray, path, title: str = "", split_at: float | None = None,
                     max_seconds: float | None = None) -> None:
    """A PNG piano roll of float notes ``[N, 4]`` (start, end, pitch, velocity); a vertical line
    at ``split_at`` seconds (e.g. where the primer ends)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqkit import save_figure

    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4).copy()
    if len(notes):  # one key sounds once: a note ends where its key is struck again (as the tokenizer reads it)
        notes = notes[np.lexsort((notes[:, 0], notes[:, 2]))]
        again = notes[1:, 2] == notes[:-1, 2]
        notes[:-1, 1] = np.where(again, np.minimum(notes[:-1, 1], notes[1:, 0]), notes[:-1, 1])
    if max_seconds:
        notes = notes[notes[:, 0] < max_seconds]
        notes[:, 1] = np.minimum(notes[:, 1], max_seconds)
    end = float(notes[:, 1].max()) if len(notes) else 1.0
    lo, hi = (int(notes[:, 2].min()) - 2, int(notes[:, 2].max()) + 3) if len(notes) else (21, 109)
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=80)
    cmap = plt.get_cmap("viridis")
    for s, e, p, v in notes.tolist():
        ax.add_patch(plt.Rectangle((s, p - 0.4), max(e - s, 0.01), 0.8, color=cmap(v / 127), lw=0))
    if split_at is not None:
        ax.axvline(split_at, color="crimson", lw=1.2, ls="--")
    ax.set_xlim(0, end)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("seconds")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    try:
        save_figure(fig, path)
    except OSError as exc:
        raise SeqkitError(f"cannot write {path}: {exc.strerror or exc}") from None
