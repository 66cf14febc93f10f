"""seqkit.testing.pytest_plugin: every test session writes seqkit's folders in a temporary one, set
before any fixture of any scope runs, and a session that changes the real folders fails."""

import os
import subprocess
import sys
import textwrap

INNER = '''
import os
import pytest

from seqkit.io.data import cache_dir, data_dir

REAL = os.environ["FAKE_REAL"]


@pytest.fixture(scope="session")
def session_store():
    # a session-scoped fixture, like a module-scoped tiny model, runs after the redirection
    return str(data_dir("checkpoints", "music"))


def test_folders_are_temporary(session_store):
    assert not session_store.startswith(REAL), session_store
    assert not str(cache_dir()).startswith(REAL)
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        assert not os.environ[var].startswith(REAL), var
    import platformdirs
    assert not platformdirs.user_data_dir("seqkit").startswith(REAL)
    open(os.path.join(session_store, "music-transformer.json"), "w").write("{}")


def test_leak():
    if os.environ.get("LEAK"):
        os.makedirs(os.path.join(REAL, "data", "seqkit", "checkpoints"), exist_ok=True)
        open(os.path.join(REAL, "data", "seqkit", "checkpoints", "toy.json"), "w").write("{}")
'''


def _run(tmp_path, leak: bool):
    real = tmp_path / "real"
    (real / "data" / "seqkit").mkdir(parents=True)
    (real / "data" / "seqkit" / "mine.json").write_text("{}")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEQKIT_", "XDG_"))}
    env.update(FAKE_REAL=str(real), XDG_DATA_HOME=str(real / "data"), XDG_CACHE_HOME=str(real / "cache"),
               XDG_CONFIG_HOME=str(real / "config"), XDG_STATE_HOME=str(real / "state"))
    if leak:
        env["LEAK"] = "1"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "seqkit.testing.pytest_plugin", "test_inner.py"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return real, r


def test_the_plugin_redirects_every_folder_before_any_fixture(tmp_path):
    real, r = _run(tmp_path, leak=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout
    assert sorted(p.name for p in (real / "data" / "seqkit").iterdir()) == ["mine.json"]
    assert not (real / "cache").exists()


def test_a_session_that_changes_the_real_folders_fails(tmp_path):
    real, r = _run(tmp_path, leak=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 passed" in r.stdout  # every test passed: the guard is what fails the session
    assert "changed the user's real seqkit folders" in r.stdout
    assert "checkpoints" in r.stdout and "toy.json" in r.stdout


def test_this_session_runs_with_the_plugin():
    import platformdirs

    home = os.path.expanduser("~")
    for path in (os.environ["SEQKIT_DATA_DIR"], platformdirs.user_cache_dir("seqkit")):
        assert not path.startswith(os.path.join(home, ".")), path
