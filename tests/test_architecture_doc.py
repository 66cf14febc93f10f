"""docs/architecture.md's module table is the tree: every core module listed, nothing listed that
is not there."""

import re
from pathlib import Path

import seqkit

CORE = Path(seqkit.__file__).parent
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _tree() -> set[str]:
    names = set()
    for path in CORE.rglob("*.py"):
        parts = list(path.relative_to(CORE).with_suffix("").parts)
        if "scaffold_template" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join(["seqkit", *parts]))
    return names


def _listed() -> set[str]:
    text = DOC.read_text()
    section = text[text.index("## Modules"):text.index("## Calling conventions")]
    listed = set()
    for line in section.splitlines():
        if line.startswith("| `seqkit"):
            first_cell = line.split(" | ")[0]
            listed |= set(re.findall(r"`(seqkit[\w.]*)`", first_cell))
    return listed


def test_every_module_is_listed_and_every_listed_module_exists():
    # a package whose __init__ is a docstring has its heading; one with code of its own is listed too
    packages_with_code = {"seqkit", "seqkit.cli", "seqkit.testing"}
    packages = {f"seqkit.{p.name}" for p in CORE.iterdir() if (p / "__init__.py").exists()}
    tree = {m for m in _tree() if m not in packages or m in packages_with_code}
    listed = _listed()
    assert not tree - listed, f"modules missing from docs/architecture.md: {sorted(tree - listed)}"
    assert not listed - _tree(), f"listed but not in the tree: {sorted(listed - _tree())}"


def test_each_package_has_its_own_table():
    text = DOC.read_text()
    for package in sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").exists()):
        assert f"### `seqkit.{package}`" in text, package
