"""Plugins talk to core only through the public API: ``seqkit`` (its ``__all__``), ``seqkit.options``
and ``seqkit.testing``. Every bundled and example plugin is read with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seqkit

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")])
ALLOWED_MODULES = {"seqkit.options", "seqkit.testing"}


def _violations(path: Path, text: str | None = None) -> list[str]:
    tree = ast.parse(text if text is not None else path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [f"import {a.name}" for a in node.names
                    if a.name.startswith("seqkit.") and a.name not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            if node.module == "seqkit":
                bad += [f"from seqkit import {n} (not in seqkit.__all__)" for n in names
                        if n not in seqkit.__all__]
            elif node.module.startswith("seqkit."):
                if node.module not in ALLOWED_MODULES:
                    bad.append(f"from {node.module} import {', '.join(names)}")
                else:
                    bad += [f"from {node.module} import {n} (private)" for n in names if n.startswith("_")]
    return [f"{path}: {line}" for line in bad]


def test_there_are_plugin_sources_to_check():
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_public_api(path):
    """Regression (#13): plugins imported 65 names through internal modules (seqkit.io.checkpoints,
    seqkit.errors ...) and three private ones (MLP, rope_tables, registry.resolve)."""
    assert _violations(path) == []


def test_the_scaffold_imports_only_the_public_api():
    from seqkit.cli.scaffold import render, template_values

    files = render(template_values("demo"))
    checked = [rel for rel in files if rel.endswith(".py")]
    assert checked
    for rel in checked:
        assert _violations(Path(rel), files[rel]) == []
