"""`seqkit music tokenize`: --limit, the progress bar (a terminal only), seconds in the archive."""

import json

import seqkit_midi_transformer.plugin as plugin
from seqkit_midi_transformer.corpus import load_token_archive

from seqkit.testing import run_cli


def cli(*args):
    return run_cli([str(a) for a in args], plugins=[plugin])


def test_tokenize_limit_and_no_bar_when_piped(maestro_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("SEQKIT_PROGRESS", raising=False)  # the bar is on: still silent off a terminal
    r = cli("music", "tokenize", "--data", maestro_folder, "--out", tmp_path / "t.npz", "--limit", 1, "--json")
    assert r.exit_code == 0, r.output
    splits = json.loads(r.stdout)["splits"]
    assert [splits[s]["pieces"] for s in ("train", "validation", "test")] == [1, 1, 1]  # 3 train files, limit 1
    assert "tokenizing" not in r.stderr and "━" not in r.stderr
    corpus = load_token_archive(tmp_path / "t.npz")
    assert len(corpus.pieces) == 3 and all(p.seconds > 10 for p in corpus.pieces)


def test_tokenize_shows_a_bar_on_a_terminal(maestro_folder, tmp_path, monkeypatch, capsys):
    import sys

    from seqkit_midi_transformer.loaders import load_maestro

    monkeypatch.delenv("SEQKIT_PROGRESS", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    shown = []
    import seqkit.progress

    real = seqkit.progress.progress_bar
    monkeypatch.setattr(seqkit, "progress_bar", lambda disable=False, **kw: shown.append(disable) or real(True))
    load_maestro(maestro_folder, limit=1)
    assert shown == [False]  # asked for a visible bar
    shown.clear()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    load_maestro(maestro_folder, limit=1)
    assert shown == [True]


def test_tokenize_with_a_miditok_tokenizer(maestro_folder, tmp_path):
    r = cli("music", "tokenize", "--data", maestro_folder, "--out", tmp_path / "r.npz", "--tokenizer", "tsd",
            "--tokenizer-option", "use_programs=true", "--json")
    assert r.exit_code == 0, r.output
    corpus = load_token_archive(tmp_path / "r.npz")
    assert corpus.tokenizer.type == "tsd" and corpus.tokenizer.tok.config.use_programs
    r = cli("music", "tokenize", "--data", maestro_folder, "--out", tmp_path / "x.npz", "--tokenizer", "remi",
            "--tokenizer-option", "beat_res=oops")
    assert r.exit_code == 2 and "beat_res" in r.output and "Traceback" not in r.output
