"""No import circle among core's modules (module-level and function-level imports both count; see
seqkit.testing.import_graph for the rules)."""

from pathlib import Path

import seqkit
from seqkit.testing.import_graph import import_cycles, import_graph

CORE = Path(seqkit.__file__).parent

# edges (importer, imported) that may close a circle, each with its reason: none today
ALLOWED: dict[tuple[str, str], str] = {}


def test_core_has_no_import_circle():
    cycles = import_cycles(CORE, "seqkit", allowed=ALLOWED)
    assert cycles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_host_and_the_cli_do_not_import_each_other():
    graph = import_graph(CORE, "seqkit")
    assert "seqkit.host.plugins" not in graph["seqkit.host.registry"]
    assert "seqkit.cli.root" not in graph["seqkit.cli.plugins"]
    assert not any(m.startswith("seqkit.cli") for m in graph["seqkit.host.plugins"])


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    pkg = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import thing\n",
        "b.py": "def thing():\n    from . import a\n    return a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        "sub/__init__.py": "",
        "sub/d.py": "from ..c import TYPE_CHECKING\n",
    })
    assert import_graph(pkg)["pkg.sub.d"] == {"pkg.c"}  # relative imports resolve
    assert import_graph(pkg)["pkg.c"] == set()  # TYPE_CHECKING imports never run
    assert import_cycles(pkg) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert import_cycles(pkg, allowed={("pkg.b", "pkg.a"): "a test"}) == []
