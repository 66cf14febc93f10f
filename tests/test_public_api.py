"""The public API (#24): ``seqkit.__all__`` holds every name a plugin needs and nothing else (each
is used by a bundled plugin, the example or the scaffold); the names live in the documented
packages, each with its own ``__all__``; a name that left the top level in 0.6 still imports from
``seqkit`` for one release, with one DeprecationWarning naming its new home; the docs' tables are
the code's; and plugins import from ``seqkit`` only (every bundled and example plugin is read
with ``ast``, and imported with DeprecationWarnings as errors)."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from helpers import needs_bundled_plugins

import seqkit

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")])

# the documented packages (and modules) besides `seqkit` itself: a plugin imports their `__all__`
PACKAGES = ["seqkit.host", "seqkit.generation", "seqkit.train", "seqkit.evaluate", "seqkit.models",
            "seqkit.onnx", "seqkit.io", "seqkit.tokenizers", "seqkit.progress", "seqkit.options",
            "seqkit.testing"]
MOVED = {name: home for name, home in seqkit._MOVED.items()}
MIDI = "seqkit_midi_transformer.midi"


def _public(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


# ---------------------------------------------------------------- the size and shape of the API

def _plugin_texts() -> list[str]:
    from seqkit.cli.scaffold import render, template_values

    files = render(template_values("demo"))
    return [p.read_text(encoding="utf-8") for p in SOURCES] + [t for rel, t in files.items() if rel.endswith(".py")]


def test_the_top_level_is_what_plugins_need_and_dir_is_all():
    """Export only what a plugin author needs: every name of ``seqkit.__all__`` is used by a bundled
    plugin, the example or the scaffold (98 names when this was written)."""
    used = set()
    for text in _plugin_texts():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "seqkit":
                used |= {a.name for a in node.names}
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "seqkit":
                used.add(node.attr)
    assert set(seqkit.__all__) - used - {"__version__"} == set(), "exported, but no plugin uses it"
    assert len(seqkit.__all__) == len(set(seqkit.__all__))
    assert dir(seqkit) == sorted(seqkit.__all__)
    assert not set(seqkit.__all__) & set(MOVED)


def test_every_top_level_name_imports_without_a_warning():
    code = ("import warnings, seqkit\nwarnings.simplefilter('error')\n"
            "for name in seqkit.__all__:\n    getattr(seqkit, name)\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_importing_seqkit_and_its_packages_imports_no_torch():
    code = ("import sys, seqkit\n" + "".join(f"import {m}\n" for m in PACKAGES if m != "seqkit.options") +
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_exports_what_it_names(package):
    module = importlib.import_module(package)
    assert module.__doc__ and len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
        assert name in dir(module)


def test_every_moved_name_is_public_at_its_new_home():
    for name, home in MOVED.items():
        if home is not None and home != MIDI:
            assert name in _public(home), f"{name} is not in {home}.__all__"


def test_each_top_level_name_is_also_public_in_its_package():
    """``from seqkit import Trainer`` and ``from seqkit.train import Trainer`` are the same object;
    every top-level name but the few single-module ones (errors, devices) is in a package's __all__."""
    homes = {}
    for package in PACKAGES:
        for name in _public(package):
            homes.setdefault(name, package)
    for name in seqkit.__all__:
        if name in ("__version__", "SeqkitError", "CheckpointError", "pick_device", "generator_command",
                    "train_command", "eval_command"):
            continue
        assert name in homes, f"seqkit.{name} is in no package's __all__"
        assert getattr(importlib.import_module(homes[name]), name) is getattr(seqkit, name)


# ---------------------------------------------------------------- the names that left, for one release

@pytest.mark.parametrize("name", sorted(n for n, home in MOVED.items() if home != MIDI))
def test_a_moved_name_is_the_same_object_and_warns_once_naming_its_home(name):
    home = MOVED[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(seqkit, name)
        namespace: dict = {}
        exec(compile(f"from seqkit import {name}", "<plugin>", "exec"), namespace)
    expected = getattr(importlib.import_module(home or seqkit._GONE[name]), name)
    assert value is expected and namespace[name] is expected
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]  # one each
    first, second = (str(w.message) for w in caught)
    assert first == second and "\n" not in first
    assert caught[0].filename == __file__ and caught[1].filename == "<plugin>"  # the caller's line
    if home is None:
        assert "does nothing since seqkit 0.6" in first and "remove it" in first
    else:
        assert f"moved to {home}.{name};" in first and "0.7" in first
    assert name not in seqkit.__all__


def test_a_moved_name_warns_where_it_is_used_each_time():
    """Not cached at the top level: a second plugin importing the old name is told too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            seqkit.TransformerLM  # noqa: B018
    assert len(caught) == 2
    assert "TransformerLM" not in vars(seqkit)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        seqkit.nonsense  # noqa: B018
    with pytest.raises(ImportError):
        exec("from seqkit import nonsense", {})
    for package in PACKAGES[:-3]:
        with pytest.raises(AttributeError, match="nonsense"):
            importlib.import_module(package).nonsense  # noqa: B018


# ---------------------------------------------------------------- the docs are the code's

def _section(text: str, marker: str) -> str:
    return text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]


def _names(text: str) -> list[str]:
    return re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", text)


def test_the_public_api_table_is_all():
    section = _section((ROOT / "docs" / "plugins.md").read_text(encoding="utf-8"), "public-api")
    documented = _names(section)
    assert sorted(documented) == sorted(seqkit.__all__), \
        "docs/plugins.md's public-API table and seqkit.__all__ differ"


def test_the_packages_table_is_each_packages_all():
    section = _section((ROOT / "docs" / "plugins.md").read_text(encoding="utf-8"), "public-packages")
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`seqkit"):
            rows[cells[0].strip("`")] = _names(cells[2])
    assert sorted(rows) == sorted(PACKAGES)
    for package, names in rows.items():
        assert sorted(names) == sorted(_public(package)), f"docs/plugins.md's row for {package}"


def moved_names_table() -> str:
    """docs/migration.md's table of the names that left ``seqkit.__all__``, rendered from
    ``seqkit._MOVED`` (by home, in the table's order)."""
    by_home: dict = {}
    for name, home in MOVED.items():
        by_home.setdefault(home, []).append(name)
    lines = ["| 0.5 (`from seqkit import ...`) | 0.6 |", "|---|---|"]
    for home, names in by_home.items():
        old = ", ".join(f"`{n}`" for n in names)
        new = f"`from {home} import ...`" if home else "nothing: it does nothing since 0.6; remove it"
        lines.append(f"| {old} | {new} |")
    return "\n".join(lines)


def test_the_migration_table_is_the_moved_table():
    section = _section((ROOT / "docs" / "migration.md").read_text(encoding="utf-8"), "moved-names")
    assert section.strip() == moved_names_table(), \
        "docs/migration.md's moved-names table differs; it should read:\n" + moved_names_table()


def test_the_migration_table_of_modules_is_the_moved_modules():
    from seqkit import _moved

    section = _section((ROOT / "docs" / "migration.md").read_text(encoding="utf-8"), "moved-modules")
    rows = re.findall(r"^\| `([\w.]+)` \| `([\w.]+)` \|$", section, re.M)
    assert dict(rows) == _moved.MOVED and len(rows) == len(_moved.MOVED)


# ---------------------------------------------------------------- plugins use only the public API

def _violations(path: Path, text: str | None = None) -> list[str]:
    tree = ast.parse(text if text is not None else path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [f"import {a.name}" for a in node.names if a.name.startswith("seqkit.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            if node.module == "seqkit":
                bad += [f"from seqkit import {n} (not in seqkit.__all__)" for n in names
                        if n not in seqkit.__all__]
            elif node.module.startswith("seqkit.") and node.module != "seqkit.testing":
                bad.append(f"from {node.module} import {', '.join(names)} (import it from seqkit)")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "seqkit" \
                and node.attr not in seqkit.__all__:
            bad.append(f"seqkit.{node.attr}")
    return [f"{path}: {line}" for line in bad]


def test_there_are_plugin_sources_to_check():
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_public_api(path):
    """Regression (#13): plugins imported 65 names through internal modules (seqkit.io.checkpoints,
    seqkit.errors ...) and three private ones (MLP, rope_tables, registry.resolve); in 0.6 still 54
    through the packages (seqkit.models, seqkit.io ...). A plugin imports from `seqkit` only
    (and its tests from `seqkit.testing`)."""
    assert _violations(path) == []


def test_the_scaffold_imports_only_the_public_api():
    from seqkit.cli.scaffold import render, template_values

    files = render(template_values("demo"))
    checked = [rel for rel in files if rel.endswith(".py")]
    assert checked
    for rel in checked:
        assert _violations(Path(rel), files[rel]) == []


def test_the_check_finds_old_and_private_imports():
    text = ("from seqkit import TransformerLM, Trainer\nfrom seqkit.models import KVCache\n"
            "from seqkit.models.cache import KVCache\nfrom seqkit.io import flatten_state\n"
            "import seqkit\nseqkit.save_checkpoint\nseqkit.Trainer\nimport seqkit.host\n")
    assert [v.split(": ", 1)[1] for v in _violations(Path("x.py"), text)] == [
        "from seqkit import TransformerLM (not in seqkit.__all__)",
        "from seqkit.models import KVCache (import it from seqkit)",
        "from seqkit.models.cache import KVCache (import it from seqkit)",
        "from seqkit.io import flatten_state (import it from seqkit)",
        "import seqkit.host",
        "seqkit.save_checkpoint"]


@needs_bundled_plugins
def test_no_plugin_module_imports_a_moved_name():
    """Every module of every bundled plugin and of the example, imported with seqkit's
    DeprecationWarnings as errors (a module whose optional library is missing is skipped)."""
    code = r"""
import importlib, pkgutil, sys, warnings
from pathlib import Path
warnings.filterwarnings("error", message=r"seqkit[.\w]* (moved|does nothing)", category=DeprecationWarning)
root = Path(sys.argv[1])
bad, done = [], 0
sources = sorted([*root.glob("plugins/*/src"), *root.glob("examples/*/src")])
sys.path[:0] = [str(src) for src in sources]
for src in sources:
    for package in sorted(p for p in src.iterdir() if (p / "__init__.py").exists() or p.name.startswith("seqkit_")):
        for info in pkgutil.walk_packages([str(package)], package.name + "."):
            try:
                importlib.import_module(info.name)
                done += 1
            except DeprecationWarning as e:
                bad.append(f"{info.name}: {e}")
            except ImportError as e:  # an optional library that is not installed here
                if (e.name or "").startswith("seqkit"):
                    bad.append(f"{info.name}: {e}")
print(done)
print("\n".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    done, *bad = out.stdout.splitlines()
    assert int(done) > 60
    assert [line for line in bad if line] == []
