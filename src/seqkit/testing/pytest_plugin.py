"""A pytest plugin that keeps every test run away from the user's real seqkit folders.

Installed with seqkit through a ``pytest11`` entry point, so it is active in every pytest run of
an environment where seqkit is installed: seqkit's own tests, the bundled plugins' and any
third-party plugin's. Load it by hand with ``pytest -p seqkit.testing.pytest_plugin`` where the
entry point is not registered (a source checkout on ``PYTHONPATH``).

At ``pytest_configure``, before any fixture of any scope runs and before any test module is
imported, it points every folder seqkit (or a library it uses) may write at one temporary folder
of the session: ``SEQKIT_DATA_DIR`` (user checkpoints, runs), ``SEQKIT_CACHE_DIR`` (downloads,
token caches, the command cache) and ``XDG_DATA_HOME``, ``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``,
``XDG_STATE_HOME`` (whatever reads platformdirs). Tests and fixtures may still point them
elsewhere (``seqkit.testing.isolate_dirs`` gives one test its own folders).

It also guards the real folders: it lists the user's seqkit data, cache, config and state
folders (names, sizes and modification times) at the start and again at the end of the session,
and fails the session, naming what changed, if anything did. ``SEQKIT_TEST_REAL_DIRS=keep``
turns the folders' redirection off (the guard still runs): for a deliberate test against a
real store.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

APP = "seqkit"
ENV = {  # variable -> sub-folder of the session's temporary folder
    "SEQKIT_DATA_DIR": "seqkit-data",
    "SEQKIT_CACHE_DIR": "seqkit-cache",
    "XDG_DATA_HOME": "xdg-data",
    "XDG_CACHE_HOME": "xdg-cache",
    "XDG_CONFIG_HOME": "xdg-config",
    "XDG_STATE_HOME": "xdg-state",
}
MAX_ENTRIES = 20000  # a guard, not an inventory: a huge cache folder is listed this far

_STATE = pytest.StashKey[dict]()  # per config, so that a pytester run inside a session nests


def real_dirs() -> list[str]:
    """The user's seqkit folders as the current environment names them."""
    import platformdirs

    dirs = [os.environ.get("SEQKIT_DATA_DIR") or platformdirs.user_data_dir(APP),
            os.environ.get("SEQKIT_CACHE_DIR") or platformdirs.user_cache_dir(APP),
            platformdirs.user_config_dir(APP), platformdirs.user_state_dir(APP)]
    return list(dict.fromkeys(os.path.abspath(d) for d in dirs))


def snapshot(folders) -> dict:
    """``{path: (kind, size, mtime_ns)}`` of every folder and what lies in it (missing: None)."""
    out: dict = {}
    for top in folders:
        try:
            st = os.lstat(top)
        except OSError:
            out[top] = None
            continue
        out[top] = ("d", 0, st.st_mtime_ns)
        for root, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                path = os.path.join(root, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                kind = "d" if name in dirnames else "f"
                out[path] = (kind, 0 if kind == "d" else st.st_size, st.st_mtime_ns)
                if len(out) >= MAX_ENTRIES:
                    return out
    return out


def changes(before: dict, after: dict) -> list[str]:
    """What differs between two snapshots, one line each."""
    lines = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            lines.append(f"created {path}")
        elif new is None:
            lines.append(f"removed {path}")
        elif old[0] == "f" or old[0] != new[0]:
            lines.append(f"changed {path}")
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if _STATE in config.stash:  # configured already
        return
    state = config.stash[_STATE] = {}
    folders = real_dirs()
    state["real"] = folders
    state["before"] = snapshot(folders)
    if os.environ.get("SEQKIT_TEST_REAL_DIRS", "").strip().lower() == "keep":
        return
    root = tempfile.mkdtemp(prefix="seqkit-tests-")
    state["root"] = root
    state["saved"] = {name: os.environ.get(name) for name in ENV}
    for name, sub in ENV.items():
        os.environ[name] = os.path.join(root, sub)
    os.environ.setdefault("SEQKIT_PROGRESS", "0")


def pytest_report_header(config):
    state = config.stash.get(_STATE, {})
    if "root" in state:
        return f"seqkit: user folders redirected to {state['root']} (seqkit.testing.pytest_plugin)"
    return None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_STATE, {})
    if "before" not in state or state.get("checked"):
        return
    state["checked"] = True
    lines = changes(state["before"], snapshot(state["real"]))
    if not lines:
        return
    shown = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
    message = ("seqkit: the test session changed the user's real seqkit folders "
               "(a test or fixture wrote outside its temporary folders):\n  " + "\n  ".join(shown))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(message, red=True, bold=True)
    else:
        print(message)
    state["changed"] = lines
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, {})
    root = state.get("root")
    for name, value in state.get("saved", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if root:
        shutil.rmtree(root, ignore_errors=True)
    state.clear()
