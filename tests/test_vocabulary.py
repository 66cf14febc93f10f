"""One vocabulary for every command (docs/architecture.md, "One vocabulary"): the test walks every
registered command of core, the bundled plugins and the example plugin.

``KNOWN`` lists the commands that do not follow it yet (issue #13's remaining work). It is a
ratchet: a new command that breaks a rule fails, and so does fixing a listed one without taking it
off the list, so the list can only shrink.
"""

from __future__ import annotations

import pytest

RULES = {
    "-n": "-n is --count",
    "-t": "-t is --temperature",
    "-m": "-m is --model",
    "-o": "-o is --out",
    "device": "--device defaults to auto",
    "arch": "train takes the architecture as --arch",
    "save": "train exports with --save (not --name, --export, --run-dir)",
    "resume": "--resume is a flag (no --no-resume)",
    "threads": "train has --threads",
    "set": "train takes model settings through --set/--config (no --hidden, --layers, --heads, --embd, --n-embd, --dropout)",
}
PAIRS = {"-n": "--count", "-t": "--temperature", "-m": "--model", "-o": "--out"}
SETTING_FLAGS = ("--hidden", "--layers", "--heads", "--embd", "--n-embd", "--dropout")

KNOWN: set[tuple[str, str]] = set()  # every bundled command is on the vocabulary now


def _commands():
    from typer._click.core import Context
    from typer.main import get_command

    from seqkit.host.lazy_commands import LazyGroup
    from seqkit.testing import cli_app

    def walk(cmd, path):
        if isinstance(cmd, LazyGroup):
            cmd = cmd.load()
        yield " ".join(path), cmd
        if hasattr(cmd, "list_commands"):
            ctx = Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    yield from walk(sub, [*path, name])

    return dict(walk(get_command(cli_app()), []))


def _violations(name: str, cmd) -> set[tuple[str, str]]:
    options = {}
    for p in cmd.params:  # hidden ones too: since 0.6 no old spelling is kept as a hidden option
        if p.param_type_name == "option":
            for spelling in [*p.opts, *p.secondary_opts]:
                options[spelling] = p
    bad = set()
    for short, long in PAIRS.items():
        if short in options and long not in options[short].opts:
            bad.add(short)
    if "--device" in options and options["--device"].default != "auto":
        bad.add("device")
    if "--resume" in options and options["--resume"].secondary_opts:
        bad.add("resume")
    if name.split()[-1:] == ["train"]:
        if "--arch" not in options:
            bad.add("arch")
        if {"--name", "--export", "--run-dir"} & set(options):
            bad.add("save")
        if "--threads" not in options:
            bad.add("threads")
        if set(SETTING_FLAGS) & set(options):
            bad.add("set")
    return {(name, rule) for rule in bad}


def test_every_command_speaks_one_vocabulary():
    commands = _commands()
    if not {"names", "num2words", "abc generate", "music generate"} <= set(commands):
        pytest.skip("the bundled plugins are not installed")
    found = set().union(*(_violations(name, cmd) for name, cmd in commands.items()))
    new = sorted(f"{name}: {RULES[rule]}" for name, rule in found - KNOWN)
    assert not new, "commands off the vocabulary: " + "; ".join(new)
    fixed = sorted(f"{name}: {RULES[rule]}" for name, rule in KNOWN - found if name in commands)
    assert not fixed, "fixed (take them off KNOWN): " + "; ".join(fixed)


def test_the_vocabulary_test_sees_a_bad_command():
    import typer

    app = typer.Typer()

    @app.command()
    def train(model: str = typer.Option("gru", "--model", "-m"), hidden: int = typer.Option(8, "--hidden"),
              device: str = typer.Option("cpu", "--device"), name: str = typer.Option("x", "--name"),
              resume: bool = typer.Option(False, "--resume/--no-resume")):
        """A train command that breaks every rule it can."""

    @app.command()
    def other():
        """So that `train` stays a subcommand."""

    from typer.main import get_command

    group = get_command(app)
    from typer._click.core import Context

    cmd = group.get_command(Context(group), "train")
    assert {rule for _, rule in _violations("demo train", cmd)} == {"device", "resume", "arch", "save",
                                                                     "threads", "set"}
