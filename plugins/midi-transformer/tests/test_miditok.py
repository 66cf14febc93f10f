"""miditok's tokenizers as music tokenizer types: encoding, options, checkpoints, and the commands
(train, eval with NLL per second of music, generate, inspect) with each."""

import json

import numpy as np
import pytest
import seqkit_midi_transformer.plugin as plugin
from music_helpers import make_midi, scale_notes
from seqkit_midi_transformer.sources import tokenizer_class, training_tokenizer

from seqkit import SeqkitError, tokenizer_from_dict
from seqkit.testing import run_cli

TYPES = ["remi", "tsd", "midilike", "structured", "mmm"]


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


@pytest.mark.parametrize("name", TYPES)
def test_encode_decode_and_checkpoint_round_trip(name, tmp_path):
    path = make_midi(tmp_path / "a.mid", scale_notes(24))  # on the 1/8-beat grid at 120 bpm
    tok = tokenizer_class(name)()
    ids = tok.encode(path, add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and max(ids) < tok.vocab_size
    notes = tok.decode_notes(ids)
    want = np.array(scale_notes(24), dtype=float)
    assert sorted(notes[:, 2].tolist()) == sorted(want[:, 2].tolist())
    assert np.allclose(np.sort(notes[:, 0]), np.sort(want[:, 0]), atol=0.07)
    pm = tok.decode_midi(ids)
    assert sum(len(i.notes) for i in pm.instruments) == 24
    again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))  # what a checkpoint stores
    assert type(again) is type(tok) and again.encode(path) == ids[1:-1]
    assert again.cache_key() == tok.cache_key()


@pytest.mark.parametrize("name", TYPES)
def test_decode_never_raises(name):
    tok = tokenizer_class(name)()
    rng = np.random.default_rng(0)
    for _ in range(10):
        ids = rng.integers(0, tok.vocab_size, 200).tolist()
        assert tok.decode_notes(ids).shape[1] == 4
        tok.decode_midi(ids)
    assert len(tok.decode_notes([tok.bos_id, tok.eos_id])) == 0


def test_options_and_their_errors():
    tok = training_tokenizer("remi", {"num_velocities": "16", "use_programs": "true", "beat_res": "0-4:4"})
    assert tok.tok.config.num_velocities == 16 and tok.tok.config.use_programs
    assert tok.tok.config.beat_res == {(0, 4): 4}
    small = training_tokenizer("remi", {"pitch_range": "48-72"})
    assert small.vocab_size < tokenizer_class("remi")().vocab_size
    assert tok.cache_key() != tokenizer_class("remi")().cache_key()
    for bad, match in [({"beat_res": "x"}, "beat_res"), ({"pitch_range": "1"}, "pitch_range"),
                       ({"velocities": "3"}, "no such option"), ({"num_velocities": "many"}, "expected int")]:
        with pytest.raises(SeqkitError, match=match):
            training_tokenizer("remi", bad)


def test_drums_and_multitrack(tmp_path):
    drums = make_midi(tmp_path / "d.mid", scale_notes(8), drums=True)
    assert tokenizer_class("remi")().encode(drums) == []
    assert len(tokenizer_class("remi")(drums=True).encode(drums)) > 8
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    for program, shift in ((0, 0), (33, -24)):
        inst = pretty_midi.Instrument(program=program)
        inst.notes += [pretty_midi.Note(80, p + shift, s, e) for s, e, p, _ in scale_notes(8)]
        pm.instruments.append(inst)
    pm.write(str(tmp_path / "two.mid"))
    mmm = tokenizer_class("mmm")()
    out = mmm.decode_midi(mmm.encode(tmp_path / "two.mid"))
    assert sorted(i.program for i in out.instruments) == [0, 33]
    merged = tokenizer_class("remi")().decode_midi(tokenizer_class("remi")().encode(tmp_path / "two.mid"))
    assert len(merged.instruments) == 1 and len(merged.instruments[0].notes) == 16


@pytest.mark.parametrize("name", TYPES)
def test_train_eval_generate_inspect(name, maestro_folder, tmp_path):
    run = tmp_path / "run"
    r = cli("music", "train", "--data", maestro_folder, "--tokenizer", name, "--tokenizer-option", "num_velocities=8",
            "--preset", "tiny", "--seq-len", 32, "--batch-size", 2, "--steps", 2, "--out", run, "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((run / "best.json").read_text())
    assert meta["tokenizer"]["type"] == name and meta["tokenizer"]["miditok"]["config"]["num_velocities"] == 8
    r = cli("music", "eval", "--model", run / "best.json", "--data", maestro_folder, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["nll"] > 0 and res["music_seconds"] == pytest.approx(10.45, abs=0.01)  # the validation piece
    assert res["nll_per_second"] == pytest.approx(res["nll"] * res["tokens_per_second"], rel=1e-3)
    out = tmp_path / "g.mid"
    r = cli("music", "generate", "--model", run / "best.json", "--tokens", 48, "--seed", 1, "--out", out,
            "--primer", maestro_folder / "2004" / "piece_0.midi", "--primer-seconds", 3, "--json")
    assert r.exit_code == 0, r.output
    r = cli("music", "inspect", out, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["notes"] > 0  # at least the primer's
