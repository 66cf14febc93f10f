"""The plugin stands alone: its model trains (windows and streams) and its tests run with seqkit and
this plugin only, the midi-transformer plugin (the music commands) made unimportable."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BLOCKER = '''import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "seqkit_midi_transformer":
            raise ImportError(name + " is blocked: testing without the midi-transformer plugin")
sys.meta_path.insert(0, _Block())
'''
MUSIC_GATED = {"test_music_commands.py", "test_music_lakh.py", "test_shipped.py", "test_stream_validation.py"}


def test_tests_outside_the_music_ones_import_no_music_plugin():
    for path in sorted(HERE.glob("test_*.py")):
        if path.name in MUSIC_GATED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith("seqkit_midi_transformer") for n in names), path.name


def test_model_and_kit_tests_pass_with_midi_transformer_unimportable(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    probe = subprocess.run([sys.executable, "-c", "import seqkit_midi_transformer"], env=env, capture_output=True)
    assert probe.returncode != 0  # the blocker works
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                        str(HERE / "test_model.py"), str(HERE / "test_any_task.py"),
                        "-k", "reading_on or registry or True or whole_segments"],
                       env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout
