"""The music sampling controls (--key, --pitch-range, --velocity, --density): the processors on
synthetic logits and token streams, and ``music generate`` with them on a tiny model initialised
here, on torch and on ONNX Runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from hypothesis import given, settings
from hypothesis import strategies as st
from music_helpers import make_midi, scale_notes
from seqkit_midi_transformer import controls
from seqkit_midi_transformer.tokenizer import (
    EOS,
    NOTE_ON,
    TIME_SHIFT,
    VELOCITY,
    PerformanceTokenizer,
    describe,
)

from seqkit import SeqkitError
from seqkit.testing import run_cli

TOK = PerformanceTokenizer()
M = controls.meanings(TOK, "test")


def cli(*args, **kw):
    return run_cli([str(a) for a in args], plugins=[plugin], **kw)


def test_token_meanings_agree_with_describe():
    for i in range(TOK.vocab_size):
        kind, value = M["kind"][i], M["value"][i]
        name = describe(i)
        want = {"note_on": f"NOTE_ON({value:g})", "note_off": f"NOTE_OFF({value:g})",
                "time_shift": f"SHIFT({round(value * 1000)}ms)", "velocity": f"VELOCITY({value:g})"}
        assert name == want.get(kind, name) and (kind != "other" or name.startswith("<"))


@pytest.mark.parametrize("text,want", [("D minor", (2, "minor")), ("F# major", (6, "major")), ("Bb", (10, "major")),
                                       ("am", (9, "minor")), ("Eb min", (3, "minor"))])
def test_keys_parse(text, want):
    assert controls.parse_key(text) == want


@given(st.integers(0, 127))
def test_note_names_and_numbers_agree(n):
    name = controls.KEY_NAMES[n % 12].replace("Eb", "D#").replace("Ab", "G#").replace("Bb", "A#")
    assert controls.parse_pitch(f"{name}{n // 12 - 1}") == controls.parse_pitch(str(n)) == n


@pytest.mark.parametrize("args,words", [
    (("--key", "H major"), "--key 'H major' is not a key"),
    (("--pitch-range", "C6:C3"), "low end is above the high end"),
    (("--pitch-range", "C3"), "give LOW:HIGH"),
    (("--velocity", "0:200"), "velocities are whole numbers 1-127"),
    (("--velocity", "60:61"), "no velocity this model writes lies inside"),
    (("--density", "-1"), "--density"),
    (("--key-strength", "-1"), "--key-strength"),
    (("--key", "auto"), "--key auto keeps the primer's key"),
])
def test_bad_values_are_one_error_line(args, words, tmp_path):
    r = cli("music", "generate", *args, "--tokens", 4, "--out", tmp_path / "x.mid")
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and words in lines[0], r.stderr
    assert not (tmp_path / "x.mid").exists()


def test_a_tokenizer_that_cannot_describe_its_ids_is_one_error():
    class Plain:
        type = "remi"

    with pytest.raises(SeqkitError, match="--pitch-range needs a tokenizer that says what its ids mean"):
        controls.build(Plain(), pitch_range="C3:C6")
    assert controls.build(Plain()) == ([], {})  # no controls: nothing asked


def _stream(procs, seed: int, steps: int, prompt: list[int]) -> list[int]:
    """Sample ``steps`` tokens from random logits through ``procs`` (as core's samplers do)."""
    rng = np.random.default_rng(seed)
    tokens = list(prompt)
    for _ in range(steps):
        logits = rng.normal(0, 3, (1, TOK.vocab_size)).astype(np.float32)
        logits[:, [TOK.pad_id, TOK.bos_id, EOS]] = -np.inf
        for p in procs:
            logits = p(np.array([tokens]), logits)
        z = np.exp(logits[0] - logits[0].max())
        tokens.append(int(rng.choice(len(z), p=z / z.sum())))
    return tokens


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lo=st.integers(21, 100), width=st.integers(0, 27),
       vlo=st.integers(1, 120), vwidth=st.integers(4, 60), tonic=st.integers(0, 11),
       mode=st.sampled_from(["major", "minor"]), primer_vel=st.integers(0, 31))
def test_masks_hold_on_any_token_stream(seed, lo, width, vlo, vwidth, tonic, mode, primer_vel):
    hi, vhi = min(lo + width, 127), min(vlo + vwidth, 127)
    key = f"{controls.KEY_NAMES[tonic]} {mode}"
    procs, info = controls.build(TOK, key=key, key_strength=controls.KEY_MASK, pitch_range=f"{lo}:{hi}",
                                 velocity=f"{vlo}:{vhi}")
    assert info == {"key": key}
    prompt = [TOK.bos_id, VELOCITY + primer_vel, NOTE_ON + 5, TIME_SHIFT + 9]  # a primer note outside all
    tokens = _stream(procs, seed, 120, prompt)
    new = TOK.decode_notes(tokens)[1:]
    scale = controls.MAJOR if mode == "major" else controls.MINOR
    in_key = np.isin((new[:, 2].astype(int) - tonic) % 12, scale)
    inside = (new[:, 2] >= lo) & (new[:, 2] <= hi)
    if inside.size:
        assert in_key.all() and inside.all()
        assert ((new[:, 3] >= vlo) & (new[:, 3] <= vhi)).all()


def test_a_key_bias_only_lowers_out_of_key_note_ons():
    (p,), _ = controls.build(TOK, key="C major", key_strength=3.0)
    out = p(np.zeros((1, 1), np.int64), np.zeros((1, TOK.vocab_size), np.float32))
    lowered = set(np.nonzero(out[0] < 0)[0].tolist())
    assert lowered == {NOTE_ON + n for n in range(128) if n % 12 in (1, 3, 6, 8, 10)}
    assert out[0, NOTE_ON + 61] == -3.0


def _mass(d, tokens):
    logits = np.zeros((len(tokens), TOK.vocab_size), np.float32)
    out = d(np.array(tokens), logits)
    p = np.exp(out - out.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p[:, NOTE_ON:NOTE_ON + 128].sum(-1), p[:, TIME_SHIFT:VELOCITY].sum(-1)


@settings(max_examples=30, deadline=None)
@given(target=st.floats(1, 20), rate=st.floats(0, 40), seconds=st.integers(1, 8))
def test_density_pushes_toward_its_target(target, rate, seconds):
    """Few notes so far: more note-on mass and less time-shift mass than with no control; many
    notes: less. (Synthetic logits: uniform, so any change is the processor's.)"""
    n = int(round(rate * seconds))
    row = [TOK.bos_id] + [NOTE_ON + 60] * n + [TIME_SHIFT + 99] * seconds
    d = controls.Density(M, target, start=1)
    on, shift = _mass(d, [row])
    base_on, base_shift = _mass(lambda t, x: x, [row])
    recent, total = d.rates(np.array([row]))
    if recent[0] < 0.8 * target and total[0] < 0.8 * target:
        assert on[0] > base_on[0] and shift[0] < base_shift[0]
    if recent[0] > 1.2 * target and total[0] > 1.2 * target:
        assert on[0] < base_on[0] and shift[0] > base_shift[0]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A tiny random Music Transformer with its ONNX graph."""
    import torch
    from seqkit_midi_transformer.model import PRESETS, MusicTransformer, MusicTransformerConfig

    from seqkit import export_onnx
    from seqkit.io import save_checkpoint

    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    config = MusicTransformerConfig(vocab_size=TOK.vocab_size, **{**PRESETS["tiny"], "position": "rope", "max_len": 64})
    path = tmp_path_factory.mktemp("tiny") / "tiny.json"
    save_checkpoint(path, MusicTransformer(config), model_type="music-transformer", config=config,
                    tokenizer=TOK, task="music")
    export_onnx(path)
    return path


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_generate_keeps_every_new_note_inside(backend, tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_BACKEND", backend)
    primer = make_midi(tmp_path / "p.mid", scale_notes(12))  # velocities 30..110, pitches 60..83
    out = tmp_path / "o.mid"
    r = cli("music", "generate", "--primer", primer, "--model", tiny_ckpt, "--tokens", 300, "-n", 3,
            "--seed", 5, "--key", "D minor", "--key-strength", 50, "--pitch-range", "C4:C5",
            "--velocity", "40:80", "--continuation-only", "--out", out, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["backend"] == backend and res["key"] == "D minor"
    total = 0
    for k in (1, 2, 3):
        notes = TOK.notes(tmp_path / f"o_{k}.mid")
        total += len(notes)
        assert ((notes[:, 2] >= 60) & (notes[:, 2] <= 72)).all()
        assert ((notes[:, 3] >= 40) & (notes[:, 3] <= 80)).all()
        assert np.isin((notes[:, 2].astype(int) - 2) % 12, controls.MINOR).all()
    assert total > 10


def test_key_auto_takes_the_primers_key(tiny_ckpt, tmp_path):
    primer = make_midi(tmp_path / "p.mid", [(i * 0.3, i * 0.3 + 0.25, p, 80) for i, p in
                                            enumerate([62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62, 74] * 2)])
    r = cli("music", "generate", "--primer", primer, "--model", tiny_ckpt, "--tokens", 50, "--seed", 1,
            "--key", "auto", "--out", tmp_path / "o.mid", "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["key"] == "D major"


def test_density_direction_on_two_fixed_histories():
    d = controls.Density(M, 5.0, start=1)
    sparse = [TOK.bos_id, NOTE_ON + 60] + [TIME_SHIFT + 99] * 4  # 1 note in 4 s
    busy = [TOK.bos_id] + [NOTE_ON + 60, TIME_SHIFT + 9] * 20  # 20 notes in 2 s
    (on_s,), (shift_s,) = _mass(d, [sparse])
    (on_b,), (shift_b,) = _mass(d, [busy])
    (base_on,), (base_shift,) = _mass(lambda t, x: x, [sparse])
    assert on_s > base_on > on_b and shift_s < base_shift < shift_b
