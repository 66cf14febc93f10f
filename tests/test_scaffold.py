"""`seqkit plugins new` writes a plugin that pip installs, that seqkit then finds, and whose own
tests pass; `seqkit plugins install/uninstall` are thin wrappers over pip."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqkit.cli import plugins as cli_plugins
from seqkit.testing import run_cli

FILES = {"pyproject.toml", "README.md", ".gitignore", "src/seqkit_demo_seq/__init__.py",
         "src/seqkit_demo_seq/plugin.py", "src/seqkit_demo_seq/model.py",
         "src/seqkit_demo_seq/data.py", "src/seqkit_demo_seq/commands.py", "src/seqkit_demo_seq/training.py",
         "src/seqkit_demo_seq/generator.py", "src/seqkit_demo_seq/evaluation.py",
         "src/seqkit_demo_seq/sample.txt", "tests/test_plugin.py"}


def _files(root: Path) -> set:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_new_writes_the_project(tmp_path):
    result = run_cli(["plugins", "new", "demo-seq", "--dir", tmp_path, "--description", "Demo"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "seqkit-demo-seq"
    assert result.stdout.strip() == str(root)
    assert _files(root) == FILES
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "seqkit-demo-seq"' in pyproject
    assert '[project.entry-points.seqkit]\ndemo-seq = "seqkit_demo_seq.plugin"' in pyproject
    assert "import torch" not in (root / "src/seqkit_demo_seq/plugin.py").read_text()
    for path in root.rglob("*.py"):  # every template placeholder was filled in
        compile(path.read_text(), str(path), "exec")
        assert "$" not in path.read_text(), path


def test_the_project_ignores_what_building_testing_and_training_leave(tmp_path):
    """The .gitignore it writes, checked by git itself: caches, builds and run folders stay out
    of a commit; the sources and the sample data do not."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = Path(run_cli(["plugins", "new", "demo-seq", "--dir", tmp_path]).stdout.strip())
    left = ["src/seqkit_demo_seq/__pycache__/model.cpython-311.pyc", "src/seqkit_demo_seq.egg-info/PKG-INFO",
            "build/lib/x.py", "dist/seqkit_demo_seq-0.1.0.tar.gz", ".pytest_cache/v/x", "runs/ngram/last.json",
            ".venv/bin/python"]
    for rel in left:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                            capture_output=True, text=True, check=True).stdout
    listed = {line[3:] for line in status.splitlines()}
    assert listed == FILES, sorted(listed ^ FILES)


def test_every_generated_option_has_help(tmp_path, monkeypatch):
    import importlib

    import typer.main

    root = Path(run_cli(["plugins", "new", "demo-help", "--dir", tmp_path]).stdout.strip())
    monkeypatch.syspath_prepend(str(root / "src"))  # the package, for its relative imports
    module = importlib.import_module("seqkit_demo_help.commands")
    group = typer.main.get_command(module.app)
    for name in ("train", "generate"):
        options = [p for p in group.commands[name].params if p.param_type_name == "option"]
        assert {o.name for o in options} >= {"seed", "device"}
        missing = [o.opts[0] for o in options if not o.help]
        assert missing == [], f"{name}: {missing} without help"
    opts = {o.name: o for o in group.commands["train"].params}
    assert opts["seed"].default == 0 and opts["batch_size"].help and "arch" in opts  # the train kit


@pytest.mark.parametrize("name, message", [
    ("Bad_Name", "invalid plugin name"), ("2fast", "invalid plugin name"),
    ("seqkit-x", "without the seqkit prefix"),
])
def test_new_rejects_bad_names(tmp_path, name, message):
    result = run_cli(["plugins", "new", name, "--dir", tmp_path])
    assert result.exit_code == 2 and message in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["plugins", "models", "doctor"])
def test_new_refuses_core_command_names(tmp_path, name):
    result = run_cli(["plugins", "new", name, "--dir", tmp_path])
    assert result.exit_code == 2 and "is one of seqkit's own commands" in result.stderr
    assert not any(tmp_path.iterdir())


def test_new_warns_when_an_installed_plugin_has_the_command(tmp_path):
    import typer

    from seqkit import hookimpl

    class Owner:
        __name__ = "owner_plugin"

        @hookimpl
        def register_commands(self, app):
            app.add_typer(typer.Typer(), name="taken")

    result = run_cli(["plugins", "new", "taken", "--dir", tmp_path], plugins=[Owner()])
    assert result.exit_code == 0, result.output
    assert "already has a command 'taken' (owner_plugin)" in result.stderr
    assert (tmp_path / "seqkit-taken" / "pyproject.toml").exists()


def test_new_refuses_to_overwrite(tmp_path):
    (tmp_path / "seqkit-demo" / "keep.txt").parent.mkdir()
    (tmp_path / "seqkit-demo" / "keep.txt").write_text("mine")
    result = run_cli(["plugins", "new", "demo", "--dir", tmp_path])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert _files(tmp_path / "seqkit-demo") == {"keep.txt"}


def _seqkit(args, env, cwd=None, timeout=300):
    cmd = [sys.executable, "-c", "from seqkit.cli.root import main; main()", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_scaffold_installs_is_found_and_passes_its_own_tests(tmp_path):
    """The one real pip install of the suite: into a private --target folder, not the venv."""
    project = Path(run_cli(["plugins", "new", "demo-seq", "--dir", tmp_path]).stdout.strip())
    site = tmp_path / "site"
    result = run_cli(["plugins", "install", project, "--no-deps", "--no-build-isolation",
                      "--no-index", "--quiet", "--disable-pip-version-check", f"--target={site}"])
    assert result.exit_code == 0, result.output
    assert (site / "seqkit_demo_seq" / "sample.txt").exists()  # package data shipped

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "SEQKIT_DATA_DIR": str(tmp_path / "data"), "SEQKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    env["SEQKIT_LOAD_PLUGINS"] = "demo-seq"  # found through its entry point; other plugins kept out
    listing = _seqkit(["plugins", "--json"], env)
    assert listing.returncode == 0, listing.stderr
    entry = {e["name"]: e for e in json.loads(listing.stdout)}["demo-seq"]
    assert entry["version"] == "0.1.0" and entry["error"] is None
    assert entry["registered"]["tasks"] == ["demo-seq"]
    assert entry["registered"]["commands"] == ["demo-seq"]
    helped = _seqkit(["demo-seq", "--help"], env)
    assert helped.returncode == 0 and "train" in helped.stdout and "generate" in helped.stdout

    # the project's own tests, importing the installed copy (src/ is not on the path)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                           cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "3 passed" in tests.stdout


class _FakePip:
    def __init__(self, returncode=0, stderr=""):
        self.calls, self.returncode, self.stderr = [], returncode, stderr

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        return subprocess.CompletedProcess(cmd, self.returncode, stderr=self.stderr)


@pytest.mark.parametrize("args, pip_args", [
    (["install", "seqkit-text"], ["install", "seqkit-text"]),
    (["install", "-U", "seqkit-a", "seqkit-b"], ["install", "--upgrade", "seqkit-a", "seqkit-b"]),
    (["install", "-e", "./mine"], ["install", "--editable", "./mine"]),
    (["install", "./x", "--no-deps", "--index-url=https://example.org/simple"],
     ["install", "./x", "--no-deps", "--index-url=https://example.org/simple"]),
    (["uninstall", "seqkit-text"], ["uninstall", "-y", "seqkit-text"]),
    (["uninstall", "--ask", "seqkit-text"], ["uninstall", "seqkit-text"]),
])
def test_install_and_uninstall_run_pip_of_this_python(monkeypatch, tmp_path, args, pip_args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "x").mkdir()
    fake = _FakePip()
    monkeypatch.setattr(cli_plugins.subprocess, "run", fake)
    result = run_cli(["plugins", *args])
    assert result.exit_code == 0, result.output
    assert fake.calls == [[sys.executable, "-m", "pip", *pip_args]]


def test_pip_failure_is_one_error_line_and_core_is_protected(monkeypatch):
    pip_says = ("ERROR: Could not find a version that satisfies the requirement seqkit-nope\n"
                "ERROR: No matching distribution found for seqkit-nope\n\n")
    monkeypatch.setattr(cli_plugins.subprocess, "run", _FakePip(returncode=1, stderr=pip_says))
    result = run_cli(["plugins", "install", "seqkit-nope"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "Error: pip install failed (exit code 1): ERROR: No matching distribution found for seqkit-nope"]
    result = run_cli(["plugins", "uninstall", "seqkit"])
    assert result.exit_code == 2 and "refusing to uninstall seqkit itself" in result.stderr
    result = run_cli(["plugins", "install"])
    assert result.exit_code == 2 and "name a plugin to install" in result.stderr


@pytest.mark.parametrize("args", [["/nonexist/dir"], ["./missing-plugin"], ["-e", "../nope"],
                                  ["seqkit_x-0.1-py3-none-any.whl"]])
def test_install_of_a_missing_local_path_is_one_error_line(monkeypatch, tmp_path, args):
    monkeypatch.chdir(tmp_path)
    fake = _FakePip()
    monkeypatch.setattr(cli_plugins.subprocess, "run", fake)
    result = run_cli(["plugins", "install", *args])
    assert result.exit_code == 2 and fake.calls == []
    assert result.stderr == f"Error: no such plugin folder or file: {args[-1]}\n"


def test_pip_runs_for_real_and_its_failure_is_one_error_line(monkeypatch):
    script = "import sys; print('Collecting x', flush=True); sys.stderr.write('ERROR: boom\\n'); sys.exit(3)"
    monkeypatch.setattr(cli_plugins, "pip_command", lambda *a: [sys.executable, "-c", script])
    result = run_cli(["plugins", "install", "seqkit-whatever"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: pip install failed (exit code 3): ERROR: boom"


def test_listing_still_works():
    result = run_cli(["plugins", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["name"] == "seqkit"
    assert run_cli(["plugins"]).exit_code == 0
