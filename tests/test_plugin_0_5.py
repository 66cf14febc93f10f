"""A plugin written against seqkit 0.5 keeps working in 0.6 (#24): the names that left
``seqkit.__all__`` still import from ``seqkit`` for one release, the very same objects, each with
one DeprecationWarning that names its new home.

Two such plugins: ``tests/plugin_0_5/seqkit_plugin05.py``, written as 0.5's docs taught (a train
kit recipe with 0.5's ``deprecated=``/``Renamed``, a command that uses the moved names on the
checkpoint it trained), and the example plugin (``examples/seqkit-text``) with its imports turned
back into 0.5's ``from seqkit import ...``."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import seqkit
from seqkit.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "plugin_0_5" / "seqkit_plugin05.py"


def _imported_from_seqkit(path: Path, top: bool = False) -> list[str]:
    """The names ``path`` imports with ``from seqkit import`` (only at module level: ``top``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top else ast.walk(tree)
    return [a.name for node in nodes if isinstance(node, ast.ImportFrom) and node.module == "seqkit"
            for a in node.names]


def _load_fixture():
    """The fixture module, imported afresh, and the warnings its import gave."""
    spec = importlib.util.spec_from_file_location("seqkit_plugin05", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.loader.exec_module(module)
    return module, caught


def test_the_fixture_is_a_0_5_plugin():
    names = _imported_from_seqkit(FIXTURE)
    moved = [n for n in names if n in seqkit._MOVED]
    assert len(moved) >= 8 and "Renamed" in moved and "TransformerLM" in moved and "save_checkpoint" in moved
    assert len(names) > len(moved)  # and names that stayed


def test_it_loads_and_each_moved_name_warns_once_where_it_went():
    module, caught = _load_fixture()
    moved = [n for n in _imported_from_seqkit(FIXTURE) if n in seqkit._MOVED]
    mine = [w for w in caught if w.filename == str(FIXTURE)]
    assert all(w.category is DeprecationWarning for w in caught)
    messages = [str(w.message) for w in mine]
    for name in moved:
        expected = seqkit._moved_message(name)
        assert messages.count(expected) == 1, (name, messages)
        home = seqkit._MOVED[name]
        if home:
            assert f"moved to {home}.{name};" in expected
            assert getattr(module, name) is getattr(importlib.import_module(home), name)
    # 0.5's recipe options that 0.6 ignores say so too (Renamed(...), TrainRecipe(deprecated=...))
    assert any("deprecated= is ignored since seqkit 0.6" in m for m in messages)
    assert len(mine) == len(moved) + 2 and len(caught) == len(mine)


def test_its_commands_run(tmp_path):
    module, _ = _load_fixture()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        listing = run_cli(["plugins", "--json"], plugins=[module])
        trained = run_cli(["old05", "train", "--out", tmp_path / "run", "--json", "--device", "cpu"],
                          plugins=[module])
        assert trained.exit_code == 0, trained.output
        summary = json.loads(trained.stdout)
        assert summary["steps"] == 3 and summary["arch"] == "lstm"
        checked = run_cli(["old05", "check", summary["saved"]], plugins=[module])
        old_flag = run_cli(["old05", "train", "--layers", "2"], plugins=[module])
    entry = {e["name"]: e for e in json.loads(listing.stdout)}["seqkit_plugin05"]
    assert entry["error"] is None and entry["registered"]["tasks"] == ["old05"]
    assert checked.exit_code == 0, checked.output
    vocab = len(set("".join(module.LINES))) + 4  # the characters and <pad> <bos> <eos> <unk>
    assert json.loads(checked.stdout) == {"task": "old05", "vocab": vocab, "loss_finite": True, "rope": [4, 4],
                                          "cache": "KVCache", "steps": 5, "memory": False}
    # the 0.4 flag 0.5 hid is gone since 0.6, whatever the recipe's deprecated= says
    assert old_flag.exit_code == 2 and old_flag.stderr.startswith("Error: No such option: --layers")


def to_0_5_imports(text: str) -> str:
    """A module's ``from seqkit.<home> import <moved names>`` turned back into 0.5's
    ``from seqkit import ...`` (the names that did not move stay where they are)."""
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("seqkit."):
            old = [a.name for a in node.names if seqkit._MOVED.get(a.name) == node.module]
            if not old:
                continue
            rest = [a.name for a in node.names if a.name not in old]
            line = lines[node.lineno - 1]
            indent = line[: len(line) - len(line.lstrip())]
            new = [f"{indent}from seqkit import {', '.join(old)}\n"]
            if rest:
                new.append(f"{indent}from {node.module} import {', '.join(rest)}\n")
            edits.append((node.lineno - 1, node.end_lineno, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    return "".join(lines)


def test_the_example_plugin_with_0_5_imports_loads_and_trains(tmp_path):
    package = tmp_path / "src" / "seqkit_text"
    shutil.copytree(ROOT / "examples" / "seqkit-text" / "src" / "seqkit_text", package)
    changed = []
    for path in package.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        old = to_0_5_imports(text)
        if old != text:
            path.write_text(old, encoding="utf-8")
            changed.append(path.name)
    # since 0.6.1 the example imports everything from `seqkit`, as 0.5's plugins did: it is one as it is
    assert all(node.module in ("seqkit", "seqkit.testing") for path in package.glob("*.py")
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("seqkit"))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sees the moon\na dog finds a ball\n" * 20, encoding="utf-8")
    code = r"""
import json, sys, warnings
from seqkit.testing import run_cli
small = ["--context", "16", "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2", "--batch-size", "8",
         "--device", "cpu"]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import seqkit_text.plugin as plugin, seqkit_text.commands, seqkit_text.training, seqkit_text.evaluation
    import seqkit_text.generator
    assert plugin.__file__.startswith(sys.argv[1]), plugin.__file__
    train = run_cli(["text", "train", "--data", sys.argv[2], "--steps", "3", "--out", sys.argv[3], "--json", *small],
                    plugins=[plugin])
    gen = run_cli(["text", "generate", "--primer", "the", "--length", "5", "--seed", "0", "--device", "cpu"],
                  plugins=[plugin])
print(json.dumps({"warnings": sorted({str(w.message) for w in caught}), "train": train.exit_code,
                  "train_out": train.output[-500:], "generate": gen.exit_code, "text": gen.stdout}))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "src"), os.environ.get("PYTHONPATH", "")]),
           "SEQKIT_DATA_DIR": str(tmp_path / "data"), "SEQKIT_CACHE_DIR": str(tmp_path / "cache"),
           "SEQKIT_PROGRESS": "0"}
    out = subprocess.run([sys.executable, "-c", code, str(package), str(corpus), str(tmp_path / "run")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["train"] == 0, result["train_out"]
    assert result["generate"] == 0 and result["text"].startswith("the")
    # every name imported the 0.5 way said where it went (those imported at module level, and
    # those inside the functions that ran), and nothing else warned
    moved = {n for path in package.glob("*.py") for n in _imported_from_seqkit(path) if n in seqkit._MOVED}
    at_import = {n for path in package.glob("*.py") for n in _imported_from_seqkit(path, top=True)
                 if n in seqkit._MOVED}
    assert at_import <= moved
    said = {w for w in result["warnings"] if w.startswith("seqkit.")}
    assert {seqkit._moved_message(n) for n in at_import} <= said <= {seqkit._moved_message(n) for n in moved}
