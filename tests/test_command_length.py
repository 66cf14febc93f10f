"""A command function reads in one screen: no Typer command (or group callback) in plugins/ or
examples/ is longer than 60 lines, measured with ``ast``. Core owns the plumbing (the generator,
train and eval kits), so what is left in a command is the task's own.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 60


def _is_command(node) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr in ("command", "callback"):
            return True
    return False


def command_lengths() -> dict[tuple[str, str], int]:
    files = [*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")]
    lengths = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_command(node):
                lengths[(path.relative_to(ROOT).as_posix(), node.name)] = node.end_lineno - node.lineno + 1
    return lengths


def test_the_measure_sees_the_commands():
    lengths = command_lengths()
    assert len(lengths) >= 10  # the plugins' own command functions (kit commands are core's), not an empty walk
    assert ("plugins/abc/src/seqkit_abc/commands.py", "to_midi") in lengths


def test_no_command_function_is_longer_than_a_screen():
    too_long = sorted(f"{path}:{name} ({n} lines)" for (path, name), n in command_lengths().items() if n > LIMIT)
    assert not too_long, f"command functions over {LIMIT} lines: {too_long}"
