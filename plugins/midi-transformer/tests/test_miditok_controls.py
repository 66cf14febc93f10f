"""The sampling controls with miditok's tokenizers (``MiditokTokenizer.token_meanings``): what the
ids mean, the clock against decoded note times, the masks on any token stream, density's
direction, and ``music generate`` with every control on a tiny REMI model trained here (ONNX
Runtime and torch)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from hypothesis import given, settings
from hypothesis import strategies as st
from music_helpers import SHARED, make_midi, scale_notes
from seqkit_midi_transformer import controls
from seqkit_midi_transformer.sources import tokenizer_class

from seqkit import SeqkitError
from seqkit.testing import run_cli

TYPES = ["remi", "tsd", "midilike", "structured", "mmm"]
TOKS = {name: tokenizer_class(name)() for name in TYPES}


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


@pytest.mark.parametrize("name", TYPES)
def test_token_meanings_agree_with_miditok_names(name):
    tok = TOKS[name]
    m = controls.meanings(tok, "test")
    assert len(m["kind"]) == len(m["value"]) == tok.vocab_size and m["velocity_after_note"]
    counts = {}
    for i in range(tok.vocab_size):
        kind, value, text = m["kind"][i], m["value"][i], tok.describe(i)
        counts[kind] = counts.get(kind, 0) + 1
        head, _, arg = text.partition("_")
        if kind == "note_on":
            assert head in ("Pitch", "NoteOn", "PitchDrum", "DrumOn") and int(arg) == value
        elif kind == "velocity":
            assert head == "Velocity" and int(arg) == value
        elif kind == "note_off":
            assert head in ("NoteOff", "DrumOff") and int(arg) == value
        elif kind == "time_shift":
            assert head in ("TimeShift", "Position", "Bar") and value >= 0
        else:
            assert head not in ("Pitch", "NoteOn", "NoteOff", "Velocity", "TimeShift", "Position", "Bar")
    # pitch_range 21-109, both ends in, and miditok's drum pitches 27-88 (pitched without drums)
    assert counts["note_on"] == 89 + 62 and counts["velocity"] == 32 and counts["time_shift"] > 10


def _files(tmp_path) -> list:
    """Scales, chords and a slow piece written here, and a MAESTRO piece and the fixtures where
    ../shared/data has them."""
    rng = np.random.default_rng(0)
    chords = [(t, t + d, p, int(rng.integers(20, 120))) for t, d in zip(np.cumsum(rng.exponential(0.3, 60)),
                                                                       rng.uniform(0.05, 2, 60))
              for p in rng.choice(np.arange(30, 100), 3, replace=False)]
    files = [make_midi(tmp_path / "scale.mid", scale_notes(40)), make_midi(tmp_path / "chords.mid", chords),
             make_midi(tmp_path / "slow.mid", [(3.0 * i + 1.7, 3.0 * i + 2.5, 60 + i, 64) for i in range(8)])]
    maestro = sorted((SHARED / "maestro-v2.0.0" / "2009").glob("*.midi"))[:1]
    fixtures = sorted((SHARED / "midi-fixtures" / "music21").glob("*.mid"))[:6]
    return files + maestro + fixtures


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("options", [{}, {"use_tempos": True}])
def test_the_clock_gives_each_note_its_decoded_start(name, options, tmp_path):
    tok = tokenizer_class(name)(**options)
    kind = controls.meanings(tok, "test")["kind"]
    checked = 0
    for path in _files(tmp_path):
        try:
            ids = tok.encode(path, add_bos=True)
        except SeqkitError:  # a fixture this tokenizer cannot read
            continue
        clock = tok.token_clock(np.array([ids, ids]))
        assert clock.shape == (2, len(ids)) and (clock[0] == clock[1]).all()
        got = np.sort(clock[0][kind[ids] == "note_on"])
        want = np.sort(tok.decode_notes(ids)[:, 0])
        assert len(got) == len(want) and np.allclose(got, want, atol=1e-6), path.name
        checked += 1
    assert checked >= 3


def test_rests_have_no_clock_and_density_says_so():
    tok = tokenizer_class("tsd")(use_rests=True)
    assert controls.meanings(tok, "test")["clock"] is None
    with pytest.raises(SeqkitError, match="--density cannot follow time"):
        controls.build(tok, density=4.0)
    controls.build(tok, key="C major", pitch_range="C3:C6", velocity="40:90")  # the others still work


def _stream(tok, procs, seed: int, steps: int, prompt: list[int]) -> list[int]:
    """``steps`` tokens sampled from random logits through ``procs`` (as core's samplers do)."""
    rng = np.random.default_rng(seed)
    tokens = list(prompt)
    special = [tok.pad_id, tok.bos_id, tok.eos_id]
    for _ in range(steps):
        logits = rng.normal(0, 3, (1, tok.vocab_size)).astype(np.float32)
        logits[:, special] = -np.inf
        for p in procs:
            logits = p(np.array([tokens]), logits)
        z = np.exp(logits[0] - logits[0].max())
        tokens.append(int(rng.choice(len(z), p=z / z.sum())))
    return tokens


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(TYPES), seed=st.integers(0, 10_000), lo=st.integers(21, 100), width=st.integers(0, 27),
       vlo=st.integers(1, 110), vwidth=st.integers(8, 60), tonic=st.integers(0, 11),
       mode=st.sampled_from(["major", "minor"]))
def test_masks_hold_on_any_token_stream(name, seed, lo, width, vlo, vwidth, tonic, mode):
    tok = TOKS[name]
    hi, vhi = min(lo + width, 108), min(vlo + vwidth, 127)
    procs, info = controls.build(tok, key=f"{controls.KEY_NAMES[tonic]} {mode}", key_strength=controls.KEY_MASK,
                                 pitch_range=f"{lo}:{hi}", velocity=f"{vlo}:{vhi}")
    m = controls.meanings(tok, "test")
    prompt = [tok.bos_id, *tok.encode(make_midi_bytes())]
    new = np.array(_stream(tok, procs, seed, 150, prompt)[len(prompt):])
    pitch = m["value"][new[m["kind"][new] == "note_on"]]
    vel = m["value"][new[m["kind"][new] == "velocity"]]
    scale = controls.MAJOR if mode == "major" else controls.MINOR
    assert ((pitch >= lo) & (pitch <= hi)).all() and np.isin((pitch.astype(int) - tonic) % 12, scale).all()
    assert ((vel >= vlo) & (vel <= vhi)).all()


_PRIMER: list = []


def make_midi_bytes() -> bytes:
    """A primer with notes outside every range the test asks for (pitch 40, velocity 127)."""
    if not _PRIMER:
        import io

        import pretty_midi

        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(0)
        inst.notes += [pretty_midi.Note(velocity=127, pitch=40 + i, start=0.25 * i, end=0.25 * i + 0.2)
                       for i in range(4)]
        pm.instruments.append(inst)
        buf = io.BytesIO()
        pm.write(buf)
        _PRIMER.append(buf.getvalue())
    return _PRIMER[0]


def _on_mass(d, kind, tokens) -> tuple[float, float]:
    out = d(np.array([tokens]), np.zeros((1, len(kind)), np.float32))[0]
    p = np.exp(out - out.max())
    p /= p.sum()
    return float(p[kind == "note_on"].sum()), float(p[kind == "time_shift"].sum())


@pytest.mark.parametrize("name", TYPES)
def test_density_reads_the_rate_and_pushes_toward_its_target(name, tmp_path):
    tok = TOKS[name]
    m = controls.meanings(tok, "test")
    sparse = [tok.bos_id, *tok.encode(make_midi(tmp_path / "s.mid", [(2.0 * i, 2.0 * i + 1, 60, 64)
                                                                      for i in range(4)]))]
    busy = [tok.bos_id, *tok.encode(make_midi(tmp_path / "b.mid", [(0.125 * i, 0.125 * i + 0.1, 60 + i % 12, 64)
                                                                    for i in range(64)]))]
    d = controls.Density(m, 4.0, start=1)
    recent, total = d.rates(np.array([busy]))
    assert total[0] == pytest.approx(64 / 7.875, rel=0.05)  # 64 notes, the last at 7.875 s
    (sparse_rate,), _ = d.rates(np.array([sparse]))
    assert sparse_rate < 1.0
    base_on, base_shift = _on_mass(lambda t, x: x, m["kind"], sparse)
    on_s, shift_s = _on_mass(d, m["kind"], sparse)
    on_b, shift_b = _on_mass(d, m["kind"], busy)
    assert on_s > base_on > on_b and shift_s < base_shift < shift_b


@pytest.fixture(scope="module")
def remi_model(tmp_path_factory):
    """A tiny REMI model trained here on a few scale pieces until it writes notes."""
    folder = tmp_path_factory.mktemp("remi-data")
    for i in range(6):
        make_midi(folder / f"p{i}.mid", scale_notes(60, seed=i))
    run = tmp_path_factory.mktemp("remi-run")
    r = cli("music", "train", "--data", folder, "--tokenizer", "remi", "--tokenizer-option", "num_velocities=16",
            "--preset", "tiny", "--set", "position=rope", "--seq-len", 64, "--batch-size", 8, "--steps", 150,
            "--lr", 3e-3,
            "--out", run, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    if importlib.util.find_spec("onnxruntime"):
        from seqkit import export_onnx

        export_onnx(run / "best.json")
    return run / "best.json"


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_generate_with_every_control_on_a_remi_model(backend, remi_model, tmp_path, monkeypatch):
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    primer = make_midi(tmp_path / "p.mid", scale_notes(12))  # velocities 30..110, pitches 60..83
    out = tmp_path / "o.mid"
    r = cli("music", "generate", "--primer", primer, "--model", remi_model, "--tokens", 200, "-n", 3,
            "--seed", 5, "--key", "D minor", "--key-strength", 50, "--pitch-range", "C4:C5",
            "--velocity", "40:80", "--continuation-only", "--out", out, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["backend"] == backend and res["key"] == "D minor"
    import pretty_midi

    total = 0
    for k in (1, 2, 3):
        pm = pretty_midi.PrettyMIDI(str(tmp_path / f"o_{k}.mid"))
        notes = np.array([(n.start, n.end, n.pitch, n.velocity) for i in pm.instruments for n in i.notes]).reshape(-1, 4)
        total += len(notes)
        assert ((notes[:, 2] >= 60) & (notes[:, 2] <= 72)).all()
        assert ((notes[:, 3] >= 40) & (notes[:, 3] <= 80)).all()
        assert np.isin((notes[:, 2].astype(int) - 2) % 12, controls.MINOR).all()
    assert total > 10


def test_drum_tokens_are_drum_hits_with_drums():
    tok = tokenizer_class("remi")(drums=True)
    m = controls.meanings(tok, "test")
    drum = [i for i in range(tok.vocab_size) if tok.describe(i).startswith("PitchDrum")]
    assert drum and set(m["kind"][drum]) == {"other"}
    assert (m["kind"] == "note_on").sum() == 89
