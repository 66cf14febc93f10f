"""`seqkit compressive config`: the resolved settings, sizes and one-line errors."""

import json

import pytest

from seqkit import get_model_type
from seqkit.testing import run_cli


def _config(*args):
    return run_cli(["compressive", "config", *args])


def test_config_reports_what_the_model_has():
    r = _config("--json", "--set", "n_layer=2", "--set", "n_embd=64", "--set", "n_head=2", "--set", "seg_len=32",
                "--set", "mem_len=32", "--set", "cmem_len=16", "--set", "memory_layers=2")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["config"]["vocab_size"] == 391  # the performance tokenizer's (was 388: no music vocabulary)
    model = get_model_type("compressive").build(get_model_type("compressive").make_config(info["config"]))
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert info["memory_layers"] == [2]
    assert info["context"] == 32 + 32 + 16 * 4
    assert info["memory_slots_per_layer"] == 48
    assert info["memory_bytes_per_row_fp32"] == 4 * 64 * 1 * 48
    text = _config("--set", "n_layer=2", "--set", "n_embd=64", "--set", "n_head=2").stdout
    assert "memory layers: [1, 2]" in text and "slots per memory layer" in text


@pytest.mark.parametrize("setting, message", [
    ("n_layer=abc", "n_layer must be an integer, not 'abc'"),  # was "invalid literal for int() with base 10"
    ("seg_len=2.5", "seg_len must be an integer"),
    ("dropout=x", "dropout must be a number"),
    ("mem_len=1024", "cmem_len (128) is shorter than mem_len / cmem_ratio (1024 / 4 = 256)"),
    ("nope=1", "no setting(s) nope"),
])
def test_bad_settings_are_one_line_errors(setting, message):
    r = _config("--set", setting)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output
