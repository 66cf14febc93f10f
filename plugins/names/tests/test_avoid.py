"""``seqkit names --avoid LETTERS``: a core logit processor forbids the letters (either case), on
ONNX Runtime and on torch, from the command line, ``--json``, ``seqkit.generation.run_generator`` and the
generator's schema (the serve form)."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqkit.generation import run_generator
from seqkit.testing import cli_app

runner = CliRunner()
LETTERS = string.ascii_lowercase


def _names(backend: str, monkeypatch, **params) -> list[str]:
    if backend == "torch":
        monkeypatch.setenv("SEQKIT_BACKEND", "torch")
    else:
        monkeypatch.delenv("SEQKIT_BACKEND", raising=False)
    result = run_generator("names", **params)
    assert result.meta["backend"] == backend
    return [o.text for o in result.outputs]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1),
       avoid=st.lists(st.sampled_from(LETTERS + LETTERS.upper()), min_size=1, max_size=6).map("".join),
       country=st.sampled_from(["Greek", "Russian", "English", "Italian"]),
       temperature=st.sampled_from([0.5, 1.0, 1.5]))
def test_no_name_holds_an_avoided_letter(backend, monkeypatch, seed, avoid, country, temperature):
    names = _names(backend, monkeypatch, country=country, count=8, avoid=avoid, seed=seed,
                   temperature=temperature)
    assert names  # the model still finds names without those letters
    banned = set(avoid.lower())
    assert not [n for n in names if banned & set(n.lower())], (avoid, names)


def test_avoid_changes_only_what_it_must(monkeypatch):
    """Avoiding a letter the names never use leaves the names as they were (same seed)."""
    plain = _names("onnx", monkeypatch, country="Greek", count=10, seed=4)
    assert not any("q" in n.lower() for n in plain)
    assert _names("onnx", monkeypatch, country="Greek", count=10, seed=4, avoid="Q") == plain
    # a letter Greek surnames are full of: gone, and the names differ
    without_s = _names("onnx", monkeypatch, country="Greek", count=10, seed=4, avoid="s")
    assert sum("s" in n.lower() for n in plain) >= 5
    assert without_s != plain and not any("s" in n.lower() for n in without_s)


def test_json_and_schema():
    r = runner.invoke(cli_app(), ["names", "-c", "Greek", "--avoid", "K z", "-n", "5", "--seed", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["avoid"] == "Kz" and len(out["results"]) == 5
    assert not any(set(row["text"].lower()) & {"k", "z"} for row in out["results"])
    from seqkit_names.generator import NAMES

    field = {p["name"]: p for p in NAMES.schema()["params"]}["avoid"]
    assert field["type"] == "str" and field["default"] is None


@pytest.mark.parametrize("args, message", [
    (["--avoid", "k1"], "--avoid takes letters"),
    (["--avoid", "-"], "--avoid takes letters"),
    (["--avoid", " "], "--avoid takes letters"),
    (["--avoid", LETTERS], "leaves no letter to write a name with"),
    (["--avoid", LETTERS.upper()], "leaves no letter to write a name with"),
    (["--start", "PK", "--avoid", "k"], "--start K begins with a letter that --avoid k forbids"),
])
def test_bad_values_are_one_error_line(args, message):
    r = runner.invoke(cli_app(), ["names", "-c", "Greek", *args])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], r.output
