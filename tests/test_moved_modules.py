"""The 0.5 module paths (seqkit.training ...) import for one release: the very same module as the
new home, with one DeprecationWarning naming it; the optional extras fail in one clear line."""

import subprocess
import sys

import pytest

from seqkit import _moved


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-W", "always::DeprecationWarning", "-c", code],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def test_an_old_path_is_the_new_module_and_warns_once():
    out = _run("import seqkit.training as old, seqkit.train.trainer as new\n"
               "import seqkit.training\n"
               "from seqkit.training import Trainer\n"
               "print(old is new, Trainer is new.Trainer, old.__name__)")
    assert "True True seqkit.train.trainer" in out
    assert out.count("DeprecationWarning") == 1
    assert "seqkit.training moved to seqkit.train.trainer" in out


def test_an_old_path_reached_as_an_attribute_and_from_the_package():
    out = _run("import seqkit\nfrom seqkit import plugins\nimport seqkit.host.plugins as new\n"
               "print(plugins is new, seqkit.registry is __import__('seqkit.host.registry').host.registry)")
    assert "True True" in out
    assert "seqkit.plugins moved to seqkit.host.plugins" in out


@pytest.mark.parametrize("old,new", sorted(_moved.MOVED.items()))
def test_every_old_path_names_a_module_that_exists(old, new):
    import importlib.util

    if not new.startswith("seqkit.") and importlib.util.find_spec(new.split(".")[0]) is None:
        pytest.skip(f"{new} lives in a bundled plugin that is not installed (core alone: nox -s core)")
    assert importlib.util.find_spec(new) is not None, new
    assert old.count(".") == 1  # the flat 0.5 layout


def test_the_paths_kept_in_place_import_without_a_warning():
    out = _run("import seqkit.options, seqkit.generation, seqkit.cli, seqkit.errors, seqkit.tokenizers\n"
               "from seqkit.generation import Generator, Param\nprint(Generator.__module__)")
    assert "seqkit.generation.generator" in out
    assert "DeprecationWarning" not in out


def test_core_itself_uses_no_old_path():
    out = _run("import warnings, pkgutil, importlib, seqkit\nwarnings.simplefilter('error', DeprecationWarning)\n"
               "for m in pkgutil.walk_packages(seqkit.__path__, 'seqkit.'):\n"
               "    if 'scaffold_template' not in m.name and m.name != 'seqkit.__main__':\n"
               "        importlib.import_module(m.name)\nprint('ok')")
    assert "ok" in out


def test_train_config_does_not_import_torch():
    out = _run("import sys, seqkit.train\nseqkit.train.TrainConfig(steps=3)\nprint('torch' in sys.modules)")
    assert out.strip().endswith("False")


def test_a_plot_without_matplotlib_is_one_error_naming_the_extra(monkeypatch, tmp_path):
    from seqkit import SeqkitError
    from seqkit.train.plotting import plot_loss_curve

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(SeqkitError, match=r"needs matplotlib: pip install 'seqkit\[plot\]'"):
        plot_loss_curve([{"step": 1, "train_loss": 1.0}], tmp_path / "loss.png")


def test_an_export_without_onnx_is_one_error_naming_the_extra(monkeypatch, tmp_path):
    from seqkit import SeqkitError
    from seqkit.onnx.export import export_onnx

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(SeqkitError, match=r"pip install 'seqkit\[onnx\]'"):
        export_onnx(tmp_path / "model.json")


def test_the_0_5_cli_app_is_built_on_request_with_a_warning():
    import seqkit.cli

    with pytest.warns(DeprecationWarning, match="seqkit.testing.cli_app"):
        app = seqkit.cli.app
    import typer

    assert isinstance(app, typer.Typer)
