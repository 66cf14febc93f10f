"""Finding the ``seqkit`` entry points without importing ``importlib.metadata``.

``importlib.metadata`` imports the ``email`` package, ``zipfile``, ``csv`` ...: 0.06-0.18 s on
the busy development machine, next to 0.2-0.35 s for typer, rich and pluggy together. The entry points of installed distributions are
plain files, ``NAME-VERSION.dist-info/entry_points.txt`` (or ``*.egg-info``) in the folders of
``sys.path``; this reads them the way ``importlib.metadata.entry_points(group=...)`` does: folders
in ``sys.path`` order, the first distribution of a name wins.

Where distributions may come from elsewhere (a ``sys.path`` entry that is not a folder, such as a
zip file, or an import hook that finds distributions), it hands over to ``importlib.metadata``.
"""

from __future__ import annotations

import os
import re
import sys

_SUFFIXES = (".dist-info", ".egg-info")
_STANDARD_FINDERS = {"PathFinder", "BuiltinImporter", "FrozenImporter", "DistutilsMetaFinder"}


class Distribution:
    """What seqkit needs of a distribution: its name and version."""

    __slots__ = ("name", "version", "_path")

    def __init__(self, name: str, version: str | None, path: str):
        self.name, self.version, self._path = name, version, path

    def __repr__(self) -> str:
        return f"Distribution({self.name!r}, {self.version!r})"


class EntryPoint:
    """``name = module:attr`` in a group, with ``load()``, like ``importlib.metadata.EntryPoint``."""

    __slots__ = ("name", "value", "group", "dist")

    def __init__(self, name: str, value: str, group: str, dist: Distribution | None = None):
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self):
        import importlib

        target = self.value.split("[", 1)[0].strip()  # "module:attr [extra]"
        module_name, _, attrs = target.partition(":")
        obj = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _needs_importlib() -> bool:
    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and type(finder).__name__ not in _STANDARD_FINDERS \
                and getattr(finder, "__name__", "") not in _STANDARD_FINDERS:
            return True
    return any(entry and os.path.isfile(entry) for entry in sys.path)  # a zip or an egg


def _read_group(path: str, group: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    found, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _version_from_metadata(folder: str) -> str | None:
    for name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return None


def entry_points(group: str) -> list:
    """The entry points of ``group`` of every installed distribution (first of a name wins)."""
    if _needs_importlib():
        from importlib import metadata

        return list(metadata.entry_points(group=group))
    seen: set[str] = set()
    found = []
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except OSError:  # not a folder (a zip of the standard library ...), or gone
            continue
        for fname in names:
            if not fname.endswith(_SUFFIXES):
                continue
            stem = fname.rsplit(".", 1)[0]
            dist_name, _, version = stem.partition("-")
            key = _normalize(dist_name)
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(folder, fname)
            pairs = _read_group(os.path.join(path, "entry_points.txt"), group)
            if not pairs:
                continue
            version = version.split("-", 1)[0] or _version_from_metadata(path)
            dist = Distribution(dist_name, version, path)
            found += [EntryPoint(name, value, group, dist) for name, value in pairs]
    return found
