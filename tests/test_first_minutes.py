"""A newcomer's first minutes (issue 17): help that fits 80 columns, one-line errors, progress on a
terminal only, the README's install block, FluidSynth hints, entry points without
importlib.metadata."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import bundled_plugins_installed, needs_bundled_plugins

from seqkit.testing import run_cli

REPO = Path(__file__).resolve().parents[1]


def _seqkit(*args, env=None):
    env = {**os.environ, "COLUMNS": "80", "SEQKIT_PROGRESS": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "seqkit", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_seqkit_help_fits_80_columns_with_whole_summaries():
    out = _seqkit("--help")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    commands = lines[lines.index("Commands:") + 1:]
    assert len(commands) >= (10 if bundled_plugins_installed() else 4)  # core's four, the bundled plugins' six
    for line in commands:
        assert "..." not in line and "…" not in line, line  # no summary cut mid-sentence
        assert re.match(r"  \S+ +\S", line), line  # one line: name and summary


@needs_bundled_plugins
def test_every_bundled_command_summary_is_short():
    from seqkit.host import plugins as host
    from seqkit.host.lazy_commands import LazyGroup
    from seqkit.testing import cli_app

    app = cli_app()
    stand_ins = [g.cls.spec for g in app.registered_groups if isinstance(g.cls, type)
                 and issubclass(g.cls, LazyGroup)]
    assert {s.name for s in stand_ins} >= {"abc", "music", "names", "num2words", "numerals", "compressive"}
    for spec in stand_ins:
        assert 0 < len(spec.help) <= 55 and "\n" not in spec.help, spec
    assert host  # imported for the plugins loaded by cli_app()


def test_models_listing_is_readable_at_80_columns():
    from seqkit.cli.root import _models_listing

    rows = [{"task": "music", "name": "music-transformer", "origin": "shipped",
             "model_type": "music-transformer", "parameters": 12_800_000, "size_bytes": 26_000_000,
             "metrics": {"validation_nll": 1.887, "validation_accuracy": 0.4418, "test_nll": 1.804,
                         "test_accuracy": 0.4574, "eval": "a long command line", "steps": 7536,
                         "previous_version": {"validation_nll": 1.9}}},
            {"name": "broken", "origin": "user", "error": "cannot read the file: it is truncated"}]
    lines = _models_listing(rows, 80)
    assert all(len(line) <= 80 for line in lines), lines
    text = "\n".join(lines)
    assert "…" not in text and "music-transformer" in text and "validation_nll=1.887" in text
    assert "test_accuracy=0.4574" in text and "steps=7536" in text  # every number, wrapped
    assert "a long command line" not in text  # text metrics stay in --json
    assert "unreadable" in text and "truncated" in text


@needs_bundled_plugins
def test_seqkit_models_at_80_columns_cuts_nothing():
    out = _seqkit("models")
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout and max(len(line) for line in out.stdout.splitlines()) <= 80
    assert "music-transformer" in out.stdout and "val_loss=" in out.stdout


@pytest.mark.parametrize("args, start", [
    (["--no-such-option"], "Error: No such option: --no-such-option"),
    (["no-such-command"], "Error: No such command 'no-such-command'."),
    (["models", "--task"], "Error: Option '--task' requires an argument."),
    (["plugins", "nope"], "Error: No such command 'nope'."),
])
def test_every_usage_error_is_one_line_on_stderr_exit_2(args, start):
    r = run_cli(args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(start) and r.stderr.count("\n") == 1, r.stderr


PROGRESS_SCRIPT = textwrap.dedent("""
    from seqkit.progress import progress_steps
    with progress_steps(5, "working on it") as advance:
        for _ in range(5):
            advance(1)
    print("result")
""")


def _run_on_a_terminal(env_progress):
    """Run PROGRESS_SCRIPT with stderr on a pseudo-terminal; (stdout, what the terminal got)."""
    pty = pytest.importorskip("pty")
    main, child = pty.openpty()
    env = {**os.environ}
    env.pop("SEQKIT_PROGRESS", None)
    if env_progress is not None:
        env["SEQKIT_PROGRESS"] = env_progress
    proc = subprocess.Popen([sys.executable, "-c", PROGRESS_SCRIPT], stdout=subprocess.PIPE,
                            stderr=child, env=env)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(main)
    return out.decode(), seen.decode(errors="replace")


def test_progress_shows_on_a_terminal_only():
    out, terminal = _run_on_a_terminal(None)
    assert out == "result\n" and "working on it" in terminal  # stdout stays clean
    out, terminal = _run_on_a_terminal("0")
    assert out == "result\n" and terminal == ""


def test_progress_is_silent_when_stderr_is_piped():
    env = {k: v for k, v in os.environ.items() if k != "SEQKIT_PROGRESS"}
    out = subprocess.run([sys.executable, "-c", PROGRESS_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.stdout == "result\n" and out.stderr == ""


def test_progress_can_be_forced_on(monkeypatch, capsys):
    from seqkit.progress import progress_steps, shows_progress

    monkeypatch.setenv("SEQKIT_PROGRESS", "1")
    assert shows_progress()
    with progress_steps(3, "forced") as advance:
        for _ in range(3):
            advance(1)
    assert "forced" in capsys.readouterr().err
    monkeypatch.setenv("SEQKIT_PROGRESS", "0")
    assert not shows_progress()


def test_the_readme_install_block_puts_torch_first_and_installs_the_test_runner():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Install and test", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["pip install torch==2.13.0", "pip install -r requirements.txt",
                        "pip install nox", "nox -s tests"]
    assert "# first, the PyTorch build you want" in block
    ci = (REPO / ".ci" / "run").read_text()
    for command in commands[:3]:  # CI runs the README's commands
        assert f"pip install -q {command.removeprefix('pip install ')}" in ci
    assert "fluidsynth" in ci and "SEQKIT_REQUIRE_FLUIDSYNTH=1" in ci


def test_the_readme_music_front_door_makes_its_primer_first():
    readme = (REPO / "README.md").read_text()
    lines = [line.removeprefix("$ ").split("#")[0].strip() for line in readme.splitlines()
             if line.startswith("$ seqkit music")]
    assert lines.index("seqkit music primer primer.mid") < lines.index(
        "seqkit music generate --primer primer.mid --out continued.mid")


def test_doctor_says_how_to_install_fluidsynth(monkeypatch):
    import ctypes.util
    import json

    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # as on a machine without it:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)  # neither package nor library
    r = run_cli(["doctor", "--json"])
    assert r.exit_code == 0, r.output
    hint = json.loads(r.stdout)["install fluidsynth"]
    for system in ("Debian/Ubuntu: sudo apt-get install fluidsynth", "macOS: brew install fluid-synth",
                   "Windows: "):
        assert system in hint


def test_entry_points_are_read_like_importlib_metadata(tmp_path, monkeypatch):
    from importlib import metadata

    from seqkit.host.entry_points import entry_points

    site = tmp_path / "site"
    for dist, version, eps in (("seqkit_zzz_one", "1.2.3", "[seqkit]\nzzz-one = zzz_one.plugin\n"),
                               ("seqkit-zzz-two", "0.1", "[console_scripts]\nx = y:z\n\n"
                                                         "[seqkit]\n# a comment\nzzz-two = zzz_two:plugin [extra]\n")):
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(eps)
    shadow = tmp_path / "later" / "seqkit_zzz_one-9.9.dist-info"  # later on sys.path: not used
    shadow.mkdir(parents=True)
    (shadow / "METADATA").write_text("Metadata-Version: 2.1\nName: seqkit_zzz_one\nVersion: 9.9\n")
    (shadow / "entry_points.txt").write_text("[seqkit]\nzzz-shadow = nope\n")
    monkeypatch.syspath_prepend(str(tmp_path / "later"))
    monkeypatch.syspath_prepend(str(site))

    def key(ep):
        return ep.name, ep.value, ep.dist.version

    ours = sorted(map(key, entry_points("seqkit")))
    theirs = sorted(map(key, metadata.entry_points(group="seqkit")))
    assert ours == theirs
    assert ("zzz-one", "zzz_one.plugin", "1.2.3") in ours and not any(n == "zzz-shadow" for n, *_ in ours)
    assert sorted(e.name for e in entry_points("console_scripts")) == sorted(
        e.name for e in metadata.entry_points(group="console_scripts"))


def test_an_entry_point_loads_its_target(tmp_path, monkeypatch):
    from seqkit.host.entry_points import EntryPoint

    (tmp_path / "zzz_target_mod.py").write_text("class Outer:\n    class Inner:\n        x = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert EntryPoint("t", "zzz_target_mod:Outer.Inner [extra]", "seqkit").load().x == 42
    assert EntryPoint("m", "zzz_target_mod", "seqkit").load().__name__ == "zzz_target_mod"
