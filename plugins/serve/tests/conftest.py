import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # serve_helpers, tone_plugin (pytest runs in importlib mode)

os.environ.setdefault("SEQKIT_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """User checkpoints and caches of each test stay in its own tmp_path."""
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def tone():
    """The third-party test generator ``test-tone``, registered for the whole session."""
    from tone_plugin import TonePlugin

    from seqkit.testing import registered

    with registered(TonePlugin()):
        yield
