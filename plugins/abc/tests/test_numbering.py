"""Issue 17: generated tunes are numbered X:1, X:2 ...; to-midi fails (after converting the rest)
when any tune fails; generation reports progress."""

import json
import re

import pytest
import seqkit_abc.plugin as plugin
from seqkit_abc.generator import number_tune, sample_tunes

from seqkit.testing import run_cli


@pytest.mark.parametrize("abc, number, expected", [
    ("X:7\nT:Reel\nK:D\nABc|", 1, "X:1\nT:Reel\nK:D\nABc|"),
    ("X: 4\nT:Jig\nK:G\nGAB|", 2, "X:2\nT:Jig\nK:G\nGAB|"),
    ("X:\nT:No number\nK:C\nC|", 3, "X:3\nT:No number\nK:C\nC|"),
    ("T:No X line\nK:C\nC|", 4, "X:4\nT:No X line\nK:C\nC|"),
    ("X:1\nT:A\nK:C\nC|\nX:9 in the body is not touched", 5, "X:5\nT:A\nK:C\nC|\nX:9 in the body is not touched"),
    ("", 6, "X:6"),
])
def test_number_tune(abc, number, expected):
    assert number_tune(abc, number) == expected


def test_generated_tunes_are_numbered_in_order(h, tiny_run, tmp_path):
    args = ["abc", "generate", "-m", tiny_run["ckpt"], "-n", "4", "-t", "1", "--seed", "3", "--device", "cpu"]
    r = h.cli(args, tmp_path)
    assert r.exit_code == 0, r.output
    assert re.findall(r"^X:.*$", r.stdout, flags=re.M) == ["X:1", "X:2", "X:3", "X:4"]
    r = h.cli(args + ["--json", "--out", tmp_path / "t.abc"], tmp_path)
    assert [t["text"].splitlines()[0] for t in json.loads(r.stdout)["results"]] == ["X:1", "X:2", "X:3", "X:4"]
    assert re.findall(r"^X:.*$", (tmp_path / "t.abc").read_text(), flags=re.M) == ["X:1", "X:2", "X:3", "X:4"]


def test_sampling_reports_each_step(tiny_run):
    import torch

    from seqkit import load_checkpoint

    ckpt = load_checkpoint(tiny_run["ckpt"])
    steps = []
    samples = sample_tunes(ckpt.model, ckpt.tokenizer, "<start>\nX:", 2, 1.0, 30,
                           torch.Generator().manual_seed(0), "cpu", on_step=steps.append)
    assert len(samples) == 2 and 1 <= len(steps) <= 30 and set(steps) == {1}


def test_generate_shows_progress_only_when_asked_for(h, tiny_run, tmp_path):
    args = ["abc", "generate", "-m", tiny_run["ckpt"], "-n", "2", "--seed", "1", "--device", "cpu"]
    assert "sampling 2 tunes" not in h.cli(args, tmp_path).stderr  # not a terminal: silent
    forced = run_cli(args, plugins=[plugin], env={"SEQKIT_PROGRESS": "1",  # as on a terminal
                                                  "SEQKIT_DATA_DIR": str(tmp_path / "d")})
    assert forced.exit_code == 0 and "sampling 2 tunes" in forced.stderr
    assert "sampling" not in forced.stdout  # the tunes stay clean


def test_to_midi_converts_the_rest_and_exits_2_when_a_tune_fails(h, tmp_path):
    f = tmp_path / "three.abc"
    f.write_text(h.TUNES[0] + "\n\nX:2\nT:broken\nK:C\n|:abc|]]]][[[\n\n" + h.TUNES[2] + "\n")
    r = h.cli(["abc", "to-midi", f], tmp_path)
    assert r.exit_code == 2, r.output
    assert (tmp_path / "three_1.mid").exists() and (tmp_path / "three_3.mid").exists()
    assert not (tmp_path / "three_2.mid").exists()
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: 1 of the 3 tunes in") and "tune 2: " in last
    assert "the other 2 were written" in last and r.stderr.count("Error:") == 1
    ok = h.cli(["abc", "to-midi", f, "--json"], tmp_path)  # --json: the rows, then the same error
    assert ok.exit_code == 2 and [row["midi"] is not None for row in json.loads(ok.stdout)] == [True, False, True]
