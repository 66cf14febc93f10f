"""register_lazy_commands: a plugin's commands are built only when they run or show their help."""

import subprocess
import sys
import textwrap
import types

import pytest
from helpers import bundled_plugins_installed

from seqkit import LazyCommand, hookimpl
from seqkit.testing import run_cli

COMMANDS = '''
import typer

app = typer.Typer(help="The real help of the lazy group.", no_args_is_help=True)


@app.command()
def hello(name: str = typer.Option("world", "--name")):
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def other():
    """Another command, so that lazygrp is a group."""


def shout(number: str = typer.Argument(...)):
    """Print the number loudly."""
    typer.echo(f"{number}!")
'''


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A commands module on sys.path that nothing has imported yet."""
    name = f"lazy_cmds_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(COMMANDS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _plugin(name, hook):
    mod = types.ModuleType(name)
    mod.register_lazy_commands = hookimpl(hook)
    return mod


def _lazy_plugin(module):
    def register_lazy_commands(register):
        register(LazyCommand("lazygrp", f"{module}:app", "One line for seqkit --help"))
        register(LazyCommand("shout", f"{module}:shout", "Print a number loudly",
                             context_settings={"ignore_unknown_options": True}))

    return _plugin("lazyplug", register_lazy_commands)


def test_help_lists_lazy_commands_without_importing_them(lazy_module):
    plugin = _lazy_plugin(lazy_module)
    r = run_cli(["--help"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    assert "lazygrp" in r.stdout and "One line for seqkit --help" in r.stdout
    assert "shout" in r.stdout and "Print a number loudly" in r.stdout
    assert lazy_module not in sys.modules  # nothing was imported to list them

    r = run_cli(["lazygrp", "hello", "--name", "lazy"], plugins=[plugin])
    assert r.exit_code == 0 and r.stdout == "hello lazy\n", r.output
    assert lazy_module in sys.modules


def test_a_lazy_group_shows_its_own_help_and_usage_errors(lazy_module):
    plugin = _lazy_plugin(lazy_module)
    r = run_cli(["lazygrp", "--help"], plugins=[plugin])
    assert r.exit_code == 0 and "The real help of the lazy group." in r.stdout
    assert "hello" in r.stdout and "Usage: seqkit lazygrp" in r.stdout
    r = run_cli(["lazygrp", "-h"], plugins=[plugin])  # seqkit's -h reaches the plugin's group
    assert r.exit_code == 0 and "Say hello." in r.stdout
    r = run_cli(["lazygrp"], plugins=[plugin])  # no_args_is_help still works
    assert "Usage: seqkit lazygrp" in r.output
    r = run_cli(["lazygrp", "hello", "--nope"], plugins=[plugin])
    assert r.exit_code == 2 and r.stderr.startswith("Error: No such option: --nope") and r.stderr.count("\n") == 1


def test_a_lazy_function_command_gets_its_context_settings(lazy_module):
    r = run_cli(["shout", "-5"], plugins=[_lazy_plugin(lazy_module)])  # -5 is not an option here
    assert r.exit_code == 0 and r.stdout == "-5!\n", r.output


def test_a_lazy_command_that_cannot_be_imported_is_one_error_line(fresh_plugins):
    def hook(register):
        register(LazyCommand("ghost", "no_such_module_for_seqkit:app", "Will not load"))

    plugin = _plugin("ghostplug", hook)
    r = run_cli(["--help"], plugins=[plugin])
    assert r.exit_code == 0 and "ghost" in r.stdout  # listing it costs nothing, so it shows
    r = run_cli(["ghost", "x"], plugins=[plugin])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.output
    assert r.stderr.startswith("Error: command 'ghost' cannot be loaded") and "'ghostplug'" in r.stderr


def test_a_target_of_the_wrong_kind_is_a_clear_error(fresh_plugins):
    def hook(register):
        register(LazyCommand("weird", "seqkit:__version__", "Not a command"))

    r = run_cli(["weird"], plugins=[_plugin("weirdplug", hook)])
    assert r.exit_code == 2 and "is not a Typer app, a function or a Click command" in r.stderr


def test_lazy_names_follow_the_rules_of_every_command(fresh_plugins, lazy_module):
    """A core name stays core's; a wrong type or a raising hook is contained, with a warning."""

    def taken(register):
        register(LazyCommand("models", f"{lazy_module}:app", "Hijack"))
        register(LazyCommand("mine", f"{lazy_module}:app", "Kept"))

    def wrong(register):
        register("not a LazyCommand")

    plugins = [_plugin("taker", taken), _plugin("wrongtype", wrong)]
    r = run_cli(["--help"], plugins=plugins)
    assert r.exit_code == 0
    assert "command 'models' is registered by both plugin 'seqkit' and plugin 'taker'" in r.stderr
    assert "plugin 'wrongtype' failed in register_lazy_commands (TypeError" in r.stderr
    assert "mine" in r.stdout and "Hijack" not in r.stdout
    from seqkit.testing import cli_app, registered

    with registered(*plugins):
        cli_app()
        infos = {i.name: i for i in fresh_plugins.plugin_infos()}
        assert infos["taker"].registered["commands"] == ["mine"]  # what `seqkit plugins` shows


def test_old_register_commands_plugins_keep_working(fresh_plugins):
    def register_commands(app):
        @app.command(name="oldstyle")
        def oldstyle():
            """An eager command, as plugins wrote them before hookspec 1.2."""
            print("old and well")

    mod = types.ModuleType("oldplug")
    mod.register_commands = hookimpl(register_commands)
    r = run_cli(["oldstyle"], plugins=[mod])
    assert r.exit_code == 0 and r.stdout == "old and well\n"


def test_hookspec_version_is_1_3():
    import seqkit.host
    from seqkit.host import hookspecs

    # 1.1 plus register_lazy_commands (1.2), plus register_architectures (1.3): minor bumps
    assert seqkit.host.HOOKSPEC_VERSION == "1.3"
    assert callable(hookspecs.register_lazy_commands) and callable(hookspecs.register_commands)
    assert callable(hookspecs.register_architectures)


def test_seqkit_help_imports_no_plugin_commands_and_no_importlib_metadata():
    code = textwrap.dedent("""
        import sys
        sys.argv = ["seqkit", "--help"]
        from seqkit.cli.root import main
        try:
            main()
        except SystemExit:
            pass
        heavy = [m for m in sys.modules if m.endswith(".commands") or m in ("torch", "rich",
                 "importlib.metadata")]
        print("LOADED", sorted(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "LOADED []", out.stdout[-500:]
    if bundled_plugins_installed():
        for name in ("abc", "music", "names", "num2words", "numerals"):  # the bundled plugins, listed
            assert f"\n  {name} " in out.stdout


def test_bundled_plugins_declare_lazy_commands():
    """Every bundled plugin's commands are declared (lazy), none is built at start."""
    from seqkit.host import plugins as host

    pm = host.get_plugin_manager()
    eager = [impl.plugin_name for impl in pm.hook.register_commands.get_hookimpls()]
    lazy = {impl.plugin_name for impl in pm.hook.register_lazy_commands.get_hookimpls()}
    bundled = {"abc", "compressive", "midi-transformer", "names", "numerals"} & {i.name for i in host.plugin_infos()}
    assert not (bundled & set(eager)), eager
    assert bundled <= lazy
