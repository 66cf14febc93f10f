"""What the installed plugins declared as lazy commands, remembered between runs.

Listing a plugin's commands needs its declarations only, yet reading them means importing the
plugin's entry module and registering it with pluggy: a few milliseconds per plugin, at every
start of ``seqkit``. When every plugin declares its commands lazily and all of them loaded
cleanly, the declarations are written to ``CACHE/commands-KEY.marshal`` together with what they
were read from: the installed ``seqkit`` entry points (name, target, the distribution's folder and version),
``SEQKIT_LOAD_PLUGINS``, the Python environment, and the modification time of every plugin's entry
module. ``SEQKIT_NO_COMMAND_CACHE=1`` turns it off. A later start
whose entry points and files are unchanged builds the stand-in commands from the cache without
importing any plugin; anything else (a plugin installed, removed, upgraded or edited, a plugin
that uses ``register_commands``, a warning) reads the plugins as usual. Running a command
loads the plugins as before, so nothing but the listing comes from the cache.
"""

from __future__ import annotations

import marshal
import os
import sys

FORMAT = 1

_owners: dict[str, list[str]] = {}  # plugin -> command names, when the listing came from the cache


def _path(key: tuple) -> str:
    """One file per key, so that two environments (or plugin sets) do not overwrite each other."""
    import zlib

    base = os.environ.get("SEQKIT_CACHE_DIR")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("seqkit")
    return os.path.join(base, f"commands-{zlib.crc32(repr(key).encode()):08x}.marshal")


def _key(entry_points) -> tuple:
    from seqkit import __version__
    from seqkit.host.plugins import LOAD_ENV

    def where(ep):  # the installed distribution's folder: another environment, another key
        dist = getattr(ep, "dist", None)
        return str(getattr(dist, "_path", "")), getattr(dist, "version", None)

    eps = tuple(sorted((ep.name, ep.value, *where(ep)) for ep in entry_points))
    return (FORMAT, __version__, sys.prefix, os.environ.get(LOAD_ENV), eps)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def add_from_cache(app, host) -> bool:
    """Add the stand-ins of every plugin's declared commands from the cache, if it is still true
    for the plugins of ``host`` (a :class:`~seqkit.host.plugins.PluginHost`); whether it did."""
    from seqkit.host.lazy_commands import add_stand_in
    from seqkit.host.registry import LazyCommand

    if host.loaded or os.environ.get("SEQKIT_NO_COMMAND_CACHE"):
        return False  # plugins are loaded already (in-process ones too): the live path is right
    try:
        key = _key(host.entry_points())
        with open(_path(key), "rb") as f:
            data = marshal.load(f)
        if data["key"] != key:
            return False
        if any(_mtime(path) != mtime for path, mtime in data["files"]):
            return False
        specs = [LazyCommand(name, target, help_, context, plugin)
                 for name, target, help_, context, plugin in data["commands"]]
    except Exception:  # no cache, an old or damaged one: read the plugins
        return False
    _owners.clear()
    for spec in specs:
        add_stand_in(app, spec)
        _owners.setdefault(spec.plugin, []).append(spec.name)
    return True


def save(app, host) -> None:
    """Remember the declared commands that ``app`` got from a clean, all-lazy load of the plugins
    of ``host``."""
    from seqkit.host.lazy_commands import LazyGroup
    from seqkit.host.plugins import allowed_plugins

    try:
        entry_points = host.entry_points()
        allowed = allowed_plugins()
        names = {ep.name for ep in entry_points if allowed is None or ep.name in allowed}
        modules = host.plugin_modules()
        if host.warned or set(modules) != names or any(i.error for i in host.plugin_infos()) \
                or host.has_eager_commands():
            return  # in-process plugins, a warning, a failure or eager commands: no cache
        files = []
        for name in sorted(names):
            path = getattr(modules[name], "__file__", None)
            if not path:
                return
            files.append((path, _mtime(path)))
        commands = [(g.cls.spec.name, g.cls.spec.target, g.cls.spec.help, g.cls.spec.context_settings,
                     g.cls.spec.plugin)  # the stand-ins: core's own groups are none
                    for g in app.registered_groups
                    if isinstance(g.cls, type) and issubclass(g.cls, LazyGroup)]
        if any(not isinstance(c[1], str) for c in commands):
            return
        key = _key(entry_points)
        data = marshal.dumps({"key": key, "files": files, "commands": commands})
        path = _path(key)
        if _in_missing_home(path):
            return  # a cache is not worth creating a home folder for
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except Exception:  # a read-only cache folder ...: the next start reads the plugins again
        return


def _in_missing_home(path: str) -> bool:
    """Whether ``path`` lies in the user's home folder and that folder does not exist (``HOME``
    unset or pointing nowhere, a service account's home): the cache is skipped, not the home made."""
    home = os.path.abspath(os.path.expanduser("~"))
    path = os.path.abspath(path)
    try:
        inside = os.path.commonpath([home, path]) == home
    except ValueError:  # another drive
        return False
    return inside and not os.path.isdir(home)


def fill_infos(infos) -> list:
    """``plugin_infos()`` with the commands each plugin declared, also when this process took
    them from the cache (then its plugins were loaded without adding commands)."""
    for info in infos:
        names = _owners.get(info.name)
        if names and "commands" not in info.registered:
            info.registered = {"commands": sorted(names), **info.registered}
    return infos
