"""Audio rendering: FluidSynth when pyfluidsynth and libfluidsynth are present, sine otherwise."""

import os
import sys
import types
import wave

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import make_midi, scale_notes

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


def _fluidsynth_available() -> bool:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth raises ImportError without libfluidsynth)
    except (ImportError, OSError):
        if os.environ.get("SEQKIT_REQUIRE_FLUIDSYNTH"):  # CI installs it: a skip there is a failure
            raise RuntimeError("SEQKIT_REQUIRE_FLUIDSYNTH is set but FluidSynth cannot be loaded "
                               "(pip install pyfluidsynth; apt-get install fluidsynth)") from None
        return False
    return True


def _samples(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 44100 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


@pytest.fixture
def midi(tmp_path):
    path = tmp_path / "scale.mid"
    make_midi(path, scale_notes(24, seed=0))
    return path


@pytest.mark.skipif(not _fluidsynth_available(), reason="needs pyfluidsynth and the FluidSynth library "
                    "(pip install pyfluidsynth; apt install libfluidsynth3)")
def test_render_with_fluidsynth_and_the_bundled_soundfont(midi, tmp_path):
    r = cli("music", "render", midi, "--wav", tmp_path / "f.wav")
    assert r.exit_code == 0, r.output
    assert "FluidSynth (TimGM6mb.sf2)" in r.output
    audio = _samples(tmp_path / "f.wav")
    assert len(audio) > 44100 * 5 and np.sqrt((audio**2).mean()) > 100  # sound, not silence
    sine = tmp_path / "s.wav"
    import pretty_midi
    from seqkit_midi_transformer.render import wav_bytes

    sine.write_bytes(wav_bytes(pretty_midi.PrettyMIDI(str(midi)).synthesize(fs=44100)))
    n = min(len(audio), len(_samples(sine)))
    assert not np.allclose(audio[:n], _samples(sine)[:n], atol=1000)  # a piano, not sine waves


def test_render_without_fluidsynth_uses_sine_waves_and_says_so(midi, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fluidsynth -> ImportError
    r = cli("music", "render", midi, "--wav", tmp_path / "s.wav")
    assert r.exit_code == 0, r.output
    assert "FluidSynth" in r.stderr and "sine" in r.output
    assert np.abs(_samples(tmp_path / "s.wav")).max() > 10000


def test_a_file_that_is_not_a_soundfont_is_one_error_and_writes_nothing(midi, tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not a soundfont")
    r = cli("music", "render", midi, "--wav", tmp_path / "x.wav", "--soundfont", bad)
    assert r.exit_code == 2 and "is not a SoundFont" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.wav").exists()


def test_fluidsynth_rendering_only_silence_is_an_error(midi, tmp_path, monkeypatch):
    """FluidSynth prints to stderr and renders zeros when a SoundFont lacks the instruments."""
    import pretty_midi

    monkeypatch.setitem(sys.modules, "fluidsynth", types.ModuleType("fluidsynth"))
    monkeypatch.setattr(pretty_midi.PrettyMIDI, "fluidsynth", lambda self, fs=44100, **kw: np.zeros(fs))
    r = cli("music", "render", midi, "--wav", tmp_path / "z.wav")
    assert r.exit_code == 2 and "only silence" in r.output
    assert not (tmp_path / "z.wav").exists()


def test_generate_with_a_bad_soundfont_writes_neither_midi_nor_wav(midi, tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_text("not a soundfont")
    out, wav = tmp_path / "g.mid", tmp_path / "g.wav"
    r = cli("music", "generate", "--tokens", 8, "--out", out, "--wav", wav, "--soundfont", bad)
    assert r.exit_code == 2 and "is not a SoundFont" in r.output
    assert not out.exists() and not wav.exists()


def test_piano_roll_draws_each_key_once_and_stops_at_max_seconds(tmp_path, monkeypatch):
    from seqkit_midi_transformer.render import write_piano_roll

    import seqkit.train

    drawn = {}

    def keep(fig, path):
        ax = fig.axes[0]
        drawn["bars"] = sorted((round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3), round(p.get_y() + 0.4))
                               for p in ax.patches)
        drawn["xlim"] = ax.get_xlim()

    monkeypatch.setattr(seqkit, "save_figure", keep)  # the plugin imports it from seqkit
    # key 60 held by the pedal to 4 s but struck again at 1 s; key 64 sounds past max_seconds
    notes = [(0.0, 4.0, 60, 80), (1.0, 2.0, 60, 90), (0.5, 9.0, 64, 70), (6.0, 7.0, 67, 70)]
    write_piano_roll(np.array(notes), tmp_path / "r.png", max_seconds=3)
    assert drawn["bars"] == [(0.0, 1.0, 60), (0.5, 3.0, 64), (1.0, 2.0, 60)]  # was two overlapping bars on key 60
    assert drawn["xlim"] == (0.0, 3.0)  # was 9.0: "only the first N seconds"
