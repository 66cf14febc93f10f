"""Startup cost: `seqkit --help` against a bare `import typer, rich, pluggy`, and what 20 more
plugins with 5 commands each add to `seqkit --help` and to a front door.

    python benchmarks/startup.py [--runs 7] [--plugins 20] [--commands 5]

Every command runs in a fresh process; the rows of one table run interleaved (one of each, then
again), so a busy machine slows them alike. The extra plugins are written to a temporary folder
(a package and a ``.dist-info`` with its ``seqkit`` entry point each) that is put on PYTHONPATH
for the "+ plugins" rows only; nothing is installed. They declare their commands the documented
way (``register_lazy_commands``); a last table shows the same plugins using the old
``register_commands`` hook, which builds every command at every start.

Targets (issue #17): `seqkit --help` at most 1.6x the bare import; 20 extra plugins add at most
10% to `seqkit --help` and to the front door.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRONT_DOOR = ["num2words", "42"]

LAZY_HOOK = '''
@hookimpl
def register_lazy_commands(register):
    register(LazyCommand("{name}", "{pkg}.commands:app", "A fake plugin for the startup benchmark"))
'''
EAGER_HOOK = '''
@hookimpl
def register_commands(app):
    from .commands import app as sub

    app.add_typer(sub, name="{name}")
'''
COMMAND = '''

@app.command("cmd{i}")
def cmd{i}(count: int = typer.Option(1, "--count", "-n", help="How many."),
          seed: int = typer.Option(0, "--seed", help="Random seed."),
          out: str = typer.Option("out.txt", "--out", "-o", help="Where to write.")):
    """Command {i} of a fake plugin."""
    typer.echo(count)
'''


def write_plugins(root: Path, n_plugins: int, n_commands: int, lazy: bool) -> None:
    """``n_plugins`` importable fake plugins with a ``seqkit`` entry point each, in ``root``."""
    for k in range(n_plugins):
        name, pkg = f"fake{k:02d}", f"seqkit_fake{k:02d}"
        (root / pkg).mkdir()
        (root / pkg / "__init__.py").write_text("")
        hook = (LAZY_HOOK if lazy else EAGER_HOOK).format(name=name, pkg=pkg)
        (root / pkg / "plugin.py").write_text("from seqkit import LazyCommand, Task, hookimpl\n\n\n"
                                              "@hookimpl\ndef register_tasks(register):\n"
                                              f"    register(Task({name!r}, 'fake'))\n\n" + hook)
        (root / pkg / "commands.py").write_text(
            "import typer\n\napp = typer.Typer(help='A fake plugin.', no_args_is_help=True)\n"
            + "".join(COMMAND.format(i=i) for i in range(n_commands)))
        info = root / f"seqkit_fake{k:02d}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: seqkit-{name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[seqkit]\n{name} = {pkg}.plugin\n")
        (info / "top_level.txt").write_text(pkg + "\n")


def interleaved(rows: dict[str, tuple[list[str], dict]], runs: int) -> dict[str, float]:
    """Median wall time of each command, running one of each per round."""
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(runs):
        for key, (cmd, env) in rows.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def table(title: str, medians: dict[str, float], reference: str, goal: float, unit: str) -> bool:
    print(f"\n{title}")
    print(f"{'command':<52} {'median s':>9} {'vs ref':>8}")
    ref = medians[reference]
    for key, value in medians.items():
        print(f"{key:<52} {value:>9.3f} {value / ref:>7.2f}x")
    return all(v / ref <= goal for v in medians.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--plugins", type=int, default=20)
    ap.add_argument("--commands", type=int, default=5)
    args = ap.parse_args()
    seqkit = shutil.which("seqkit", path=os.path.dirname(sys.executable)) or shutil.which("seqkit")
    if not seqkit:
        sys.exit("seqkit is not installed in this environment")
    env = {**os.environ, "SEQKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    env.pop("SEQKIT_LOAD_PLUGINS", None)
    verdicts = []

    bare = "python -c 'import typer, rich, pluggy'"
    medians = interleaved({bare: ([sys.executable, "-c", "import typer, rich, pluggy"], env),
                           "seqkit --help": ([seqkit, "--help"], env)}, args.runs)
    verdicts.append(("seqkit --help <= 1.6x the bare import",
                     table("seqkit --help and the libraries it is built on", medians, bare, 1.6, "s")))

    with tempfile.TemporaryDirectory() as lazy_dir, tempfile.TemporaryDirectory() as eager_dir:
        write_plugins(Path(lazy_dir), args.plugins, args.commands, lazy=True)
        write_plugins(Path(eager_dir), args.plugins, args.commands, lazy=False)
        extra = f"+ {args.plugins} plugins x {args.commands} commands"

        def with_path(folder):
            return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [folder, env.get("PYTHONPATH")]))}

        front = "seqkit " + " ".join(FRONT_DOOR)
        check = subprocess.run([seqkit, "--help"], env=with_path(lazy_dir), capture_output=True, text=True)
        if f"fake{args.plugins - 1:02d}" not in check.stdout:
            sys.exit("the fake plugins did not load:\n" + check.stderr)
        for title, cmd in (("seqkit --help", [seqkit, "--help"]), (front, [seqkit, *FRONT_DOOR])):
            medians = interleaved({title: (cmd, env), f"{title} {extra}": (cmd, with_path(lazy_dir))},
                                  args.runs)
            verdicts.append((f"{extra} add <= 10% to {title}",
                             table(f"{title}, with and without {args.plugins} more plugins (lazy commands)",
                                   medians, title, 1.10, "s")))
        medians = interleaved({"seqkit --help": ([seqkit, "--help"], env),
                               f"seqkit --help {extra}, lazy": ([seqkit, "--help"], with_path(lazy_dir)),
                               f"seqkit --help {extra}, eager": ([seqkit, "--help"], with_path(eager_dir))},
                              args.runs)
        table("for comparison: the same plugins with register_commands (built at every start)",
              medians, "seqkit --help", float("inf"), "s")

    print()
    for what, ok in verdicts:
        print(f"{'met' if ok else 'NOT MET'}: {what}")


if __name__ == "__main__":
    main()
