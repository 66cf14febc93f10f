"""Third-party plugins: in-process registration, containment of broken plugins, the public API."""

import json
import re
import textwrap
from pathlib import Path

import pytest

import seqkit
import seqkit.host
from seqkit import DatasetType, ModelType, SeqkitError, Task, TokenizerType, hookimpl
from seqkit.testing import registered, run_cli

ROOT = Path(__file__).resolve().parents[1]


class GoodPlugin:
    """Registers one of everything, like a real plugin module would."""

    __name__ = "good_plugin"

    @hookimpl
    def register_tasks(self, register):
        register(Task("tp-task", "third-party task"))

    @hookimpl
    def register_models(self, register):
        register(ModelType("tp-rnn", "seqkit.models.rnn:RNNLM", "the core RNN under another name"))

    @hookimpl
    def register_tokenizers(self, register):
        register(TokenizerType("tp-char", "seqkit.tokenizers:CharTokenizer", "char, renamed"))

    @hookimpl
    def register_datasets(self, register):
        register(DatasetType("tp-lines", lambda path: ["a", "b"], "two lines", task="tp-task"))

    @hookimpl
    def register_commands(self, app):
        @app.command("tp-hello")
        def hello(name: str = "world"):
            """Say hello (third-party test plugin)."""
            print(f"hello {name}")


class RaisingPlugin:
    """Every hook raises: seqkit must warn, skip it and keep every other command working."""

    __name__ = "raising_plugin"

    @hookimpl
    def register_tasks(self, register):
        raise RuntimeError("boom in tasks")

    @hookimpl
    def register_models(self, register):
        register("not a ModelType")  # a wrong type is also contained

    @hookimpl
    def register_commands(self, app):
        raise RuntimeError("boom in commands")


def _by_name(stdout):
    return {entry["name"]: entry for entry in json.loads(stdout)}


def test_in_process_registration_adds_everything_and_is_undone(fresh_plugins):
    result = run_cli(["plugins", "--json"], plugins=[GoodPlugin()])
    assert result.exit_code == 0, result.output
    entry = _by_name(result.stdout)["good_plugin"]
    assert entry["error"] is None
    assert entry["registered"] == {"tasks": ["tp-task"], "models": ["tp-rnn"],
                                   "tokenizers": ["tp-char"], "datasets": ["tp-lines"],
                                   "commands": ["tp-hello"]}

    hello = run_cli(["tp-hello", "--name", "plugin"], plugins=[GoodPlugin()])
    assert hello.exit_code == 0, hello.output
    assert hello.stdout == "hello plugin\n"

    with registered(GoodPlugin()):
        assert seqkit.host.get_task("tp-task").plugin == "good_plugin"
        assert seqkit.host.get_dataset("tp-lines")("x") == ["a", "b"]
        model = seqkit.get_model_type("tp-rnn").build({"vocab_size": 7, "hidden": 8})
        assert model.config.vocab_size == 7
    with pytest.raises(SeqkitError, match="unknown task 'tp-task'"):
        seqkit.host.get_task("tp-task")
    gone = run_cli(["tp-hello"])
    assert gone.exit_code != 0 and "No such command" in gone.output


def test_a_plugin_whose_hooks_raise_leaves_every_other_command_working(fresh_plugins):
    plugins = [RaisingPlugin(), GoodPlugin()]
    listing = run_cli(["plugins", "--json"], plugins=plugins)
    assert listing.exit_code == 0, listing.output
    infos = _by_name(listing.stdout)
    assert "boom" in infos["raising_plugin"]["error"] or "TypeError" in infos["raising_plugin"]["error"]
    assert infos["good_plugin"]["error"] is None and infos["good_plugin"]["registered"]["tasks"] == ["tp-task"]
    assert "Warning: plugin 'raising_plugin' failed in register_tasks (RuntimeError: boom in tasks)" in listing.stderr
    assert "failed in register_commands (RuntimeError: boom in commands)" in listing.stderr
    assert "Traceback" not in listing.output

    assert "register_tasks: RuntimeError: boom in tasks" in infos["raising_plugin"]["error"]
    assert "register_commands: RuntimeError: boom in commands" in infos["raising_plugin"]["error"]  # every failure

    for args in (["--help"], ["models", "--json"], ["tp-hello"], ["plugins"]):
        result = run_cli(args, plugins=plugins)
        assert result.exit_code == 0, (args, result.output)
        # each run shows the warning, as each `seqkit` process would (not only the first run)
        assert "Warning: plugin 'raising_plugin' failed in register_commands" in result.stderr, args
    # core's model types are still there, the bad registration is not
    with registered(*plugins):
        assert {"rnn-lm", "transformer-lm", "tp-rnn"} <= set(seqkit.host.model_types())
        assert "not a ModelType" not in seqkit.host.model_types()


def _fake_distribution(site: Path, dist: str, module: str, source: str) -> None:
    """An installed distribution as pip leaves it: a module plus a .dist-info with an entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[seqkit]\n{dist.removeprefix('seqkit-')} = {module}\n")


def test_a_name_conflict_keeps_the_first_and_names_both_plugins(fresh_plugins):
    class Twin(GoodPlugin):
        __name__ = "twin_plugin"

    plugins = [GoodPlugin(), Twin()]
    listing = run_cli(["plugins", "--json"], plugins=plugins)
    assert listing.exit_code == 0, listing.output
    infos = _by_name(listing.stdout)
    assert "'good_plugin'" in infos["twin_plugin"]["error"] and "'twin_plugin'" in infos["twin_plugin"]["error"]
    assert "registered by both" in listing.stderr
    with registered(*plugins):
        assert seqkit.host.get_task("tp-task").plugin == "good_plugin"
    assert run_cli(["models", "--json"], plugins=plugins).exit_code == 0


def test_entry_point_plugins_that_fail_to_load_are_skipped(tmp_path, monkeypatch, fresh_plugins):
    _fake_distribution(tmp_path, "seqkit-brokenimport", "tp_broken_import",
                       "raise ImportError('needs a library that is not installed')\n")
    # A hook whose signature does not match the hookspec (what a plugin written for another
    # HOOKSPEC_VERSION major would look like) is rejected when it is registered.
    _fake_distribution(tmp_path, "seqkit-oldhooks", "tp_old_hooks", """
        from seqkit import Task, hookimpl

        @hookimpl
        def register_tasks(register, settings):
            register(Task("old"))
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_plugins.reset()

    listing = run_cli(["plugins", "--json"])
    assert listing.exit_code == 0, listing.output
    infos = _by_name(listing.stdout)
    assert "ImportError: needs a library" in infos["brokenimport"]["error"]
    assert infos["brokenimport"]["version"] == "0.1"
    assert "PluginValidationError" in infos["oldhooks"]["error"]
    assert "Warning: plugin 'brokenimport' failed to load" in listing.stderr
    # one line each, however many lines the reason has
    assert all(line.startswith("Warning: ") for line in listing.stderr.splitlines()), listing.stderr
    assert any("'oldhooks'" in line and "PluginValidationError" in line for line in listing.stderr.splitlines())
    for args in (["--help"], ["models", "--json"], ["doctor", "--json"]):
        assert run_cli(args).exit_code == 0, args


def test_public_api_is_importable():
    """(tests/test_public_api.py checks the API's size, its docs and the names that moved.)"""
    for name in seqkit.__all__:
        assert getattr(seqkit, name) is not None, name
    assert re.fullmatch(r"\d+\.\d+", seqkit.host.HOOKSPEC_VERSION)


def test_testing_helpers_train_a_tiny_model(tmp_path):
    import math

    from seqkit import CharTokenizer
    from seqkit.models import RNNLM, RNNConfig
    from seqkit.testing import lm_collate, lm_items, tiny_corpus, train_steps

    lines = tiny_corpus(48).splitlines()
    tok = CharTokenizer.build(lines)
    items = lm_items(lines, tok)
    assert len(items) == 48 and items[0]["input"][0] == tok.bos_id
    batch = lm_collate(tok.pad_id)(items[:4])
    assert batch["input"].shape == batch["target"].shape
    assert (batch["target"] == -100).any() or len({len(i["input"]) for i in items[:4]}) == 1
    model = RNNLM(RNNConfig(tok.vocab_size, n_embd=16, hidden=32))
    result = train_steps(model, items, steps=20, out=tmp_path / "run", collate=lm_collate(tok.pad_id))
    assert result["steps"] == 20 and Path(result["best_path"]).exists()
    assert result["history"][-1]["train_loss"] < math.log(tok.vocab_size)



def test_the_tutorial_plugin_in_the_docs_works(tmp_path, monkeypatch):
    """docs/plugins.md builds seqkit-dna file by file: write those files out and run its tests."""
    import importlib.util
    import sys

    docs = (ROOT / "docs" / "plugins.md").read_text()
    files = re.findall(r"<!-- tutorial-file: (\S+) -->\n.*?```\w*\n(.*?)\n```", docs, flags=re.S)
    assert {path for path, _ in files} >= {"seqkit-dna/pyproject.toml", "seqkit-dna/tests/test_dna.py",
                                           "seqkit-dna/src/seqkit_dna/plugin.py"}
    for path, text in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text + "\n")
    (tmp_path / "seqkit-dna/src/seqkit_dna/__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "seqkit-dna" / "src"))
    try:
        spec = importlib.util.spec_from_file_location("tutorial_test_dna",
                                                      tmp_path / "seqkit-dna/tests/test_dna.py")
        tests = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tests)
        names = [n for n in dir(tests) if n.startswith("test_")]
        assert len(names) == 2
        for i, name in enumerate(names):
            (tmp_path / f"t{i}").mkdir()
            getattr(tests, name)(tmp_path / f"t{i}")
    finally:
        for module in [m for m in sys.modules if m == "seqkit_dna" or m.startswith("seqkit_dna.")]:
            del sys.modules[module]
