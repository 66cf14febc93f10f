"""`names train` settings that used to be tracebacks are one Error line (issue 29, item 18)."""

import seqkit_names.plugin as plugin

from seqkit.testing import run_cli


def _fails(r, text):
    assert r.exit_code == 2, r.output
    assert r.stderr.count("Error:") == 1 and text in r.stderr, r.stderr
    assert "Traceback" not in r.output


def test_a_transformer_context_shorter_than_the_names(tmp_path, tiny_folder):
    r = run_cli(["names", "train", "--arch", "transformer", "--data", tiny_folder, "--set", "max_len=2",
                 "--steps", 1, "--device", "cpu", "--out", tmp_path / "r"], plugins=[plugin])
    _fails(r, "max_len 2 is shorter than the longest name")


def test_huge_sizes_and_hostile_configs(tmp_path, tiny_folder):
    base = ["names", "train", "--arch", "gru", "--data", tiny_folder, "--steps", 1, "--device", "cpu"]
    _fails(run_cli(base + ["--set", "hidden=1000000000000", "--out", tmp_path / "a"], plugins=[plugin]),
           "hidden must be at most")
    _fails(run_cli(base + ["--set", "n_layer=100000", "--out", tmp_path / "b"], plugins=[plugin]),
           "n_layer must be at most")
    _fails(run_cli(base + ["--config", "/dev/zero", "--out", tmp_path / "c"], plugins=[plugin]), "larger than")
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "\n")
    _fails(run_cli(base + ["--config", deep, "--out", tmp_path / "d"], plugins=[plugin]), "not valid TOML")
