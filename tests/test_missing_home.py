"""A missing HOME is never created to hold the command cache (issue 29, item 20)."""

import os
import subprocess
import sys


def test_a_missing_home_is_not_created(tmp_path):
    home = tmp_path / "no-such-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SEQKIT_"))}
    env.update(HOME=str(home), SEQKIT_PROGRESS="0")
    for args in (["--help"], ["plugins"]):
        r = subprocess.run([sys.executable, "-m", "seqkit", *args], env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    assert not home.exists()
