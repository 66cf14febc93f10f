"""``seqkit plugins new``: write a new, installable plugin project from ``scaffold_template/``.

The template is a folder of files ending in ``.tmpl``, filled in with :class:`string.Template`
(``$name``, ``$package`` ...; a literal dollar is ``$$``). A path part ``__package__`` becomes the
plugin's Python package name; a file named in ``DOTFILES`` gets a leading dot (``gitignore`` is
written as ``.gitignore``: a dotfile would be easy to lose from the package data). Only the
standard library is used.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from seqkit.errors import SeqkitError

TEMPLATE_DIR = Path(__file__).parent / "scaffold_template"
NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
DOTFILES = {"gitignore"}  # template files written with a leading dot


def template_values(name: str, description: str = "", author: str = "") -> dict[str, str]:
    """The values the template is filled with, after checking ``name``."""
    if not NAME_RE.fullmatch(name or ""):
        raise SeqkitError(f"invalid plugin name {name!r}: use lowercase letters, digits and single "
                          "dashes, starting with a letter (e.g. dna, chess-moves)")
    if name.startswith("seqkit"):
        raise SeqkitError(f"name the plugin without the seqkit prefix: seqkit plugins new "
                          f"{name.removeprefix('seqkit').lstrip('-') or 'NAME'}")
    from seqkit import __version__
    from seqkit.host.hookspecs import HOOKSPEC_VERSION

    package = "seqkit_" + name.replace("-", "_")
    return {
        "name": name,
        "package": package,
        "dist": f"seqkit-{name}",
        "description": (description or f"seqkit plugin: {name}").replace('"', "'"),
        "authors": f'authors = [{{ name = "{author}" }}]\n' if author else "",
        "seqkit_version": __version__,
        "hookspec_version": HOOKSPEC_VERSION,
    }


def render(values: dict[str, str]) -> dict[str, str]:
    """``{relative path: text}`` for every file of the template."""
    files = {}
    for src in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        rel = src.relative_to(TEMPLATE_DIR).as_posix()[: -len(".tmpl")]
        rel = rel.replace("__package__", values["package"])
        rel = "." + rel if rel in DOTFILES else rel
        try:
            files[rel] = Template(src.read_text(encoding="utf-8")).substitute(values)
        except (KeyError, ValueError) as exc:  # a bug in the template, not the user's fault
            raise RuntimeError(f"scaffold template {src.name}: bad placeholder {exc}") from None
    if not files:
        raise SeqkitError(f"the plugin template is missing from {TEMPLATE_DIR}; reinstall seqkit")
    return files


def create_plugin(name: str, directory: str | Path = ".", description: str = "",
                  author: str = "") -> Path:
    """Write the project ``DIRECTORY/seqkit-NAME/`` and return its path.

    Refuses to write into an existing non-empty folder; files appear only once every one of
    them rendered.
    """
    values = template_values(name, description, author)
    root = Path(directory).expanduser() / values["dist"]
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise SeqkitError(f"{root} already exists and is not empty; choose another --dir")
    files = render(values)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
