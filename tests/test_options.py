"""One way to declare an option: ``--seed``, ``--device``, ``--threads``, ``--json`` and ``--model``
are core's :class:`~seqkit.Param` declarations (``seqkit.generation``), from which the generate kit,
the train and eval kits and ``seqkit.options`` are built; and no module imports another module's
private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import needs_bundled_plugins

from seqkit.options import JsonOption, SeedOption, TemperatureOption, ThreadsOption

ROOT = Path(__file__).resolve().parents[1]


def _private_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``from M import _name`` where M is seqkit's, a plugin's or a relative module (dunders aside)."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("seqkit")):
            module = "." * node.level + (node.module or "")
            if path.name == "__init__.py" and module in (".", ".".join(path.relative_to(root).parts[-2:-1])):
                continue  # a package importing its own private submodule (seqkit: `from seqkit import _moved`)
            bad += [f"{path.relative_to(root)}:{node.lineno}: from {module} import {a.name}"
                    for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return bad


def test_no_module_imports_another_modules_private_names():
    """Core and every bundled or example plugin, with no exception: what one module uses of
    another has a public name (a module's own tests may still reach its privates: tests/ and
    plugins/*/tests are not read)."""
    sources = [*ROOT.glob("src/seqkit/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")]
    assert len(sources) > 80
    assert [line for path in sorted(sources) for line in _private_imports(path)] == []


def test_the_check_finds_a_private_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from .generation import _num, Param\nfrom seqkit.progress import __doc__\n"
                     "from seqkit_x.y import _z\nfrom os import _exit\n")
    assert _private_imports(probe, tmp_path) == ["probe.py:1: from .generation import _num",
                                                 "probe.py:3: from seqkit_x.y import _z"]


def _options(app, path: list[str]) -> dict:
    """The Click options of the command at ``path``, by their longest flag."""
    import typer

    command = typer.main.get_command(app)
    ctx = command.make_context("seqkit", [], resilient_parsing=True)
    for name in path:
        command = command.get_command(ctx, name)
        assert command is not None, f"no command {' '.join(path)}"
        command = command.load() if hasattr(command, "load") else command  # a plugin's lazy stand-in
    return {max(p.opts, key=len): p for p in command.params if p.opts}


# a generator, the train and eval kits, and plugins' own commands that use seqkit.options
SEED_COMMANDS = [["names"], ["names", "train"], ["names", "eval"], ["abc", "generate"], ["abc", "train"],
                 ["abc", "eval"], ["abc", "heatmap"], ["numerals", "data"], ["music", "generate"]]


@pytest.fixture(scope="module")
def app():
    from seqkit.testing import cli_app

    return cli_app()


def _installed(app, path):
    try:
        return _options(app, path)
    except AssertionError:
        pytest.skip(f"the plugin of {path[0]} is not installed")


@pytest.mark.parametrize("flag", ["--seed", "--device", "--json"])
def test_shared_options_have_one_help_everywhere(app, flag):
    helps = {" ".join(path): _installed(app, path)[flag].help for path in SEED_COMMANDS
             if flag in _installed(app, path)}
    assert len(helps) >= 5 and len(set(helps.values())) == 1, helps


def test_threads_says_what_0_means_in_two_ways_only(app):
    """Generators pick the threads for the work (0 = chosen); the kits and ThreadsOption give
    torch's count (0 = torch's default): two declarations, each the same wherever it is used."""
    helps = {" ".join(p): _installed(app, p)["--threads"].help
             for p in (["abc", "generate"], ["names", "train"], ["names", "eval"], ["abc", "train"], ["abc", "sweep"])}
    assert len(set(helps.values())) == 2, helps
    assert helps["names train"] == helps["names eval"] == helps["abc train"] == helps["abc sweep"]


@pytest.mark.parametrize("value, message", [
    ("-1", "Error: --seed must be at least 0, not -1\n"),
    (str(2**64), f"Error: --seed must be at most {2**63 - 1}, not {2**64}\n"),
    ("x", "Error: Invalid value for '--seed': "),  # Click's (Typer's) own words for a non-number
])
@needs_bundled_plugins
def test_a_bad_seed_is_the_same_error_line_everywhere(value, message):
    from seqkit.testing import run_cli

    seen = set()
    for path in SEED_COMMANDS:
        r = run_cli([*path, "--seed", value])
        if "No such command" in r.output:
            continue  # that plugin is not installed
        assert r.exit_code == 2 and r.stderr.startswith(message) and r.stderr.count("\n") == 1, (path, r.output)
        seen.add(r.stderr)
    assert len(seen) == 1, seen


def test_seqkit_options_check_as_the_kits_do():
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()

    @app.command()
    def demo(seed: SeedOption = None, temperature: TemperatureOption = 1.0, threads: ThreadsOption = 0,
             as_json: JsonOption = False):
        typer.echo(f"{seed} {temperature} {threads} {as_json}")

    run = CliRunner().invoke
    assert run(app, ["--seed", "3", "-t", "0.5", "--json"]).stdout == "3 0.5 0 True\n"
    r = run(app, ["--temperature", "inf"])
    assert r.exit_code == 2 and "--temperature must be a finite number, not inf" in r.output
    r = run(app, ["--threads", "-2"])
    assert r.exit_code == 2 and "--threads must be at least 0, not -2" in r.output
