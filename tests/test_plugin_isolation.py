"""A third-party plugin can neither take over a bundled one nor break other commands (issue 15)."""

import importlib.metadata as md
import json

import pytest
from typer.testing import CliRunner

BAD_PLUGIN = '''
import typer
from seqkit import Task, hookimpl

print("hello from a chatty plugin")


@hookimpl
def register_tasks(register):
    register(Task("names", "a takeover", checkpoints={folder!r}))
    register(Task(None))
    register(Task("../../escape"))
    register(Task("fine-task"))


@hookimpl(trylast=True)
def register_commands(app):
    group = typer.Typer()

    @group.callback(invoke_without_command=True)
    def names():
        typer.echo("taken over")

    app.add_typer(group, name="names")
'''


def _cli():
    from seqkit.cli.root import build_app

    return build_app()


def _with_entry_point(monkeypatch, fresh_plugins, module_name: str):
    """The installed plugins plus one more entry point, whose name sorts before every other."""
    import seqkit.host.entry_points as found

    real = list(found.entry_points("seqkit"))
    if not any(ep.name == "names" for ep in real):
        pytest.skip("the bundled names plugin is not installed")
    extra = md.EntryPoint(name="aaa", value=module_name, group="seqkit")
    monkeypatch.setattr(found, "entry_points", lambda group: [*real, extra])


def test_a_third_party_plugin_cannot_take_over_a_bundled_one(fresh_plugins, tmp_path, monkeypatch, capsys):
    takeover = tmp_path / "takeover"
    takeover.mkdir()
    (tmp_path / "seqkit_takeover.py").write_text(BAD_PLUGIN.format(folder=str(takeover)))
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_entry_point(monkeypatch, fresh_plugins, "seqkit_takeover")
    app = _cli()
    import seqkit.host

    assert seqkit.host.get_task("names").plugin == "names"
    # a hook that registers something invalid is rolled back whole (#13): its valid entries go too
    assert "fine-task" not in seqkit.host.tasks()
    captured = capsys.readouterr()
    assert captured.out == ""  # what a plugin prints at import goes to stderr
    err = captured.err
    assert "plugin 'aaa' failed in register_tasks" in err and "nothing it registered is kept" in err
    assert "command 'names' is registered by both plugin 'names' and plugin 'aaa'" in err
    assert "invalid Task name None" in err and "invalid Task name '../../escape'" in err
    result = CliRunner().invoke(app, ["names", "--help"])
    assert result.exit_code == 0 and "taken over" not in result.output
    for args in (["plugins", "--json"], ["models", "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        json.loads(result.stdout)  # stdout carries only JSON
    assert all(r.get("origin") != "shipped" or not r["path"].startswith(str(takeover))
               for r in json.loads(CliRunner().invoke(app, ["models", "--json"]).stdout))


@pytest.mark.parametrize("raise_", ["KeyboardInterrupt()", "SystemExit(1)"])
def test_a_plugin_that_interrupts_its_import_is_skipped(fresh_plugins, tmp_path, monkeypatch, capsys, raise_):
    (tmp_path / "seqkit_interrupts.py").write_text(f"raise {raise_}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_entry_point(monkeypatch, fresh_plugins, "seqkit_interrupts")
    result = CliRunner().invoke(_cli(), ["--help"])
    assert result.exit_code == 0 and "models" in result.output and "names" in result.output
    assert f"'aaa' failed to load ({raise_.split('(')[0]}" in capsys.readouterr().err


def test_tryfirst_does_not_let_a_later_plugin_win(fresh_plugins, capsys):
    import seqkit.host

    def plugin(name, description, **marks):
        class P:
            @seqkit.hookimpl(**marks)
            def register_tasks(self, register):
                register(seqkit.Task("shared", description))

        fresh_plugins.register_plugin(P(), name=name)

    plugin("early", "first")
    plugin("late", "second", tryfirst=True)
    assert seqkit.host.get_task("shared").description == "first"
    assert "registered by both plugin 'early' and plugin 'late'" in capsys.readouterr().err


def test_a_plugin_named_like_a_bundled_one_is_not_loaded(fresh_plugins, tmp_path, monkeypatch, capsys):
    (tmp_path / "seqkit_impostor.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import seqkit.host.entry_points as found

    real = list(found.entry_points("seqkit"))
    if not any(ep.name == "names" for ep in real):
        pytest.skip("the bundled names plugin is not installed")
    impostor = md.EntryPoint(name="names", value="seqkit_impostor", group="seqkit")
    monkeypatch.setattr(found, "entry_points", lambda group: [impostor, *real, real[0]])
    import seqkit.host

    assert seqkit.host.get_task("names").plugin == "names"
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one warning; the same entry point found twice is no conflict
    assert "plugin 'names' (seqkit_impostor) is not loaded: plugin 'names' (seqkit_names.plugin) has that name" in err


def test_a_failing_hook_warns_in_help(fresh_plugins, tmp_path, monkeypatch):
    """Regression (#13): a hook failure was invisible in `seqkit --help` until something read the
    registry. Run as a new process, as a user would."""
    import os
    import subprocess
    import sys

    (tmp_path / "seqkit_halfbroken.py").write_text(
        "from seqkit import Task, hookimpl\n\n"
        "@hookimpl\ndef register_tasks(register):\n    register(Task('half-ok'))\n    raise RuntimeError('boom')\n")
    site = tmp_path / "site"
    dist = site / "seqkit_halfbroken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: seqkit-halfbroken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[seqkit]\nhalfbroken = seqkit_halfbroken\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(site), *sys.path]),
           "SEQKIT_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # the second run too: a warning keeps the command cache from hiding it
        out = subprocess.run([sys.executable, "-m", "seqkit", "--help"], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "plugin 'halfbroken' failed in register_tasks (RuntimeError: boom)" in out.stderr
