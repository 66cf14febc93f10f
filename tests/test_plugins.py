import importlib.metadata as md
import sys
import types

import pytest
import typer
from typer.testing import CliRunner

from seqkit import ModelType, SeqkitError, Task, hookimpl


def _plugin(name, **hooks):
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(mod, hook, hookimpl(fn))
    return mod


def _cli():
    """A fresh root app with every plugin's commands, as a new process would build it."""
    from seqkit.cli.root import build_app

    return build_app()


def test_in_process_plugin_registers_everything(fresh_plugins):
    import seqkit.host
    import seqkit.models

    def register_tasks(register):
        register(Task("demo", "a demo task"))

    def register_models(register):
        register(ModelType("demo-rnn", "seqkit.models.rnn:RNNLM", "alias"))

    def register_commands(app):
        @app.command(name="demo-hello")
        def hello():
            typer.echo("hello from demo")

    fresh_plugins.register_plugin(_plugin("demo", register_tasks=register_tasks,
                                          register_models=register_models,
                                          register_commands=register_commands), name="demo")
    assert seqkit.host.get_task("demo").plugin == "demo"
    model = seqkit.get_model_type("demo-rnn").build({"vocab_size": 5, "hidden": 4})
    assert model.config.hidden == 4
    result = CliRunner().invoke(_cli(), ["demo-hello"])
    assert result.exit_code == 0 and "hello from demo" in result.output


def test_a_hook_that_raises_is_skipped_with_a_warning(fresh_plugins, capsys):
    import seqkit.host

    def register_models(register):
        register(ModelType("half-registered", "x:y"))
        raise RuntimeError("boom")

    def register_commands(app):
        raise RuntimeError("no commands today")

    fresh_plugins.register_plugin(_plugin("broken", register_models=register_models,
                                          register_commands=register_commands), name="broken")
    assert "rnn-lm" in seqkit.host.model_types()
    assert "half-registered" not in seqkit.host.model_types()  # nothing half-registered
    err = capsys.readouterr().err
    assert "broken" in err and "boom" in err and err.count("\n") == 1
    app = _cli()
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    assert "no commands today" in result.output or "boom" in result.output
    assert CliRunner().invoke(app, ["models", "--json"]).exit_code == 0


def test_a_plugin_that_fails_to_import_is_skipped(fresh_plugins, monkeypatch, capsys):
    ep = md.EntryPoint(name="ghost", value="seqkit_ghost_does_not_exist", group="seqkit")
    monkeypatch.setattr(fresh_plugins.default_host(), "entry_points", lambda: [ep])
    import seqkit.host

    assert "char" in seqkit.host.tokenizer_types()
    err = capsys.readouterr().err
    assert "ghost" in err and "ModuleNotFoundError" in err
    infos = {i.name: i for i in fresh_plugins.plugin_infos()}
    assert infos["ghost"].error


def test_two_plugins_registering_one_name_is_an_error_naming_both(fresh_plugins, capsys):
    import seqkit.host

    def tasks_of(name):
        def register_tasks(register):
            register(Task("dup"))
            register(Task(f"own-{name}"))

        return register_tasks

    for name in ("first", "second"):
        fresh_plugins.register_plugin(_plugin(name, register_tasks=tasks_of(name)), name=name)
    assert seqkit.host.get_task("dup").plugin == "first"  # the first stays, the CLI keeps working
    assert len([t for t in seqkit.host.tasks() if t.startswith("own-")]) == 2
    err = capsys.readouterr().err
    assert "'dup' is registered by both plugin 'first' and plugin 'second'" in err
    infos = {i.name: i for i in fresh_plugins.plugin_infos()}
    assert "first" in infos["second"].error and not infos["first"].error


def test_load_plugins_env_var_limits_plugins(fresh_plugins, monkeypatch):
    monkeypatch.setenv("SEQKIT_LOAD_PLUGINS", "")
    names = [i.name for i in fresh_plugins.plugin_infos()]
    assert names == ["seqkit"]


def _install_testplugin_metadata(tmp_path, monkeypatch):
    """Make tests/testplugin visible to importlib.metadata exactly as pip would (a dist-info
    folder with entry_points.txt on sys.path), without touching the environment."""
    from pathlib import Path

    src = Path(__file__).parent / "testplugin" / "src"
    site = tmp_path / "site"
    info = site / "seqkit_testplugin-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: seqkit-testplugin\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[seqkit]\ntestplugin = seqkit_testplugin\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(src))


def test_real_entry_point_plugin_is_found(fresh_plugins, tmp_path, monkeypatch):
    _install_testplugin_metadata(tmp_path, monkeypatch)
    eps = [ep.name for ep in md.entry_points(group="seqkit")]
    assert "testplugin" in eps
    import seqkit.host

    assert seqkit.host.get_task("echo").plugin == "testplugin"
    assert "test-char" in seqkit.host.tokenizer_types()
    result = CliRunner().invoke(_cli(), ["echo", "hi there"])
    assert result.exit_code == 0 and result.output.strip() == "hi there"
    info = {i.name: i for i in fresh_plugins.plugin_infos()}["testplugin"]
    assert info.version == "0.0.1" and info.registered["tasks"] == ["echo"]


def test_unknown_names_suggest_close_matches(fresh_plugins):
    import seqkit

    with pytest.raises(SeqkitError, match="did you mean rnn-lm"):
        seqkit.get_model_type("rnn-ln")


def test_registering_does_not_import_torch():
    import subprocess

    code = ("import sys, seqkit.host; seqkit.host.tasks(); seqkit.host.model_types(); import seqkit.cli.root; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'pretty_midi', 'music21', 'num2words') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("target,why", [("seqkit_no_such_module:Model", "ModuleNotFoundError"),
                                        ("seqkit.models.rnn:NoSuchClass", "AttributeError")])
def test_a_lazy_target_that_cannot_be_imported_is_one_clear_error(fresh_plugins, target, why):
    import seqkit

    def register_models(register):
        register(ModelType("lost-model", target))

    fresh_plugins.register_plugin(_plugin("lost", register_models=register_models), name="lost")
    with pytest.raises(SeqkitError) as err:
        seqkit.get_model_type("lost-model").build({"vocab_size": 5})
    msg = str(err.value)
    assert "model type 'lost-model'" in msg and target in msg and "'lost'" in msg and why in msg
    assert "\n" not in msg


def test_a_plugin_that_calls_sys_exit_at_import_is_skipped(fresh_plugins, tmp_path, monkeypatch, capsys):
    (tmp_path / "seqkit_exits_at_import.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = md.EntryPoint(name="quitter", value="seqkit_exits_at_import", group="seqkit")
    monkeypatch.setattr(fresh_plugins.default_host(), "entry_points", lambda: [ep])
    result = CliRunner().invoke(_cli(), ["--help"])
    assert result.exit_code == 0 and "models" in result.output
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'quitter' failed to load (SystemExit: 3)" in err


def test_two_plugins_adding_one_command_name_keep_the_first(fresh_plugins, capsys):
    def commands_of(name):
        def register_commands(app):
            sub = typer.Typer()

            @sub.command()
            def who():
                typer.echo(f"I am {name}")

            app.add_typer(sub, name="dupgroup")

            @app.command(name="models")  # a core command: core keeps it
            def models():
                typer.echo("hijacked")

            @app.command(name=f"own-{name}")
            def own():
                typer.echo(name)

        return register_commands

    for name in ("first", "second"):
        fresh_plugins.register_plugin(_plugin(name, register_commands=commands_of(name)), name=name)
    app = _cli()
    err = capsys.readouterr().err
    assert "command 'dupgroup' is registered by both plugin 'first' and plugin 'second'" in err
    assert "command 'models' is registered by both plugin 'seqkit' and plugin 'first'" in err
    runner = CliRunner()
    assert runner.invoke(app, ["dupgroup", "who"]).output.strip() == "I am first"
    assert runner.invoke(app, ["own-second"]).output.strip() == "second"
    assert "hijacked" not in runner.invoke(app, ["models", "--json"]).output
    infos = {i.name: i for i in fresh_plugins.plugin_infos()}
    assert infos["first"].registered["commands"] == ["dupgroup", "own-first"]
    assert infos["second"].registered["commands"] == ["own-second"]
    assert "'first'" in infos["second"].error


def test_load_plugins_env_var_with_an_unknown_name_warns_once(fresh_plugins, monkeypatch, capsys):
    ep = md.EntryPoint(name="ghost", value="seqkit_ghost_does_not_exist", group="seqkit")
    monkeypatch.setattr(fresh_plugins.default_host(), "entry_points", lambda: [ep])
    monkeypatch.setenv("SEQKIT_LOAD_PLUGINS", "nope, seqkit")
    assert [i.name for i in fresh_plugins.plugin_infos()] == ["seqkit"]
    fresh_plugins.get_registry()
    err = capsys.readouterr().err
    assert err == ("Warning: SEQKIT_LOAD_PLUGINS names plugin(s) that are not installed: nope "
                   "(installed: ghost)\n")


def test_a_plugin_ships_checkpoints_for_another_plugins_task(fresh_plugins, tmp_path, monkeypatch):
    """register_checkpoints: the owner's folder, then other plugins' folders; the user's first."""
    import json

    import seqkit.host
    import seqkit.io
    from seqkit import CheckpointFolder, find_checkpoint
    from seqkit.io import list_checkpoints

    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    own, extra = tmp_path / "own", tmp_path / "extra"
    for folder, names in ((own, ["base"]), (extra, ["addon", "base"])):
        folder.mkdir()
        for name in names:  # only the JSON is read to list or find a checkpoint
            (folder / f"{name}.json").write_text(json.dumps({"format": "seqkit-checkpoint", "name": name}))

    def owner_tasks(register):
        register(Task("demo", "a demo task", checkpoints=own))

    def addon_checkpoints(register):
        register(CheckpointFolder("demo", extra))
        register(CheckpointFolder("not-installed", extra))  # a task nobody registered: unused

    fresh_plugins.register_plugin(_plugin("owner", register_tasks=owner_tasks), name="owner")
    fresh_plugins.register_plugin(_plugin("addon", register_checkpoints=addon_checkpoints), name="addon")
    assert find_checkpoint("addon", "demo") == extra / "addon.json"
    assert find_checkpoint("base", "demo") == own / "base.json"  # the task's own folder first
    assert [f.plugin for f in seqkit.host.checkpoint_folders("demo")] == ["addon"]
    names = [(row["name"], row["origin"]) for row in list_checkpoints("demo")]
    assert names == [("base", "shipped"), ("addon", "shipped"), ("base", "shipped")]
    user = seqkit.io.user_checkpoint_path("demo", "addon")
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text((extra / "addon.json").read_text())
    assert find_checkpoint("addon", "demo") == user  # the user's own copy wins
    infos = {i.name: i for i in seqkit.host.plugins.plugin_infos()}
    assert infos["addon"].registered["checkpoints"] == ["demo", "not-installed"]


def test_a_checkpoint_folder_without_a_folder_is_skipped_with_one_warning(fresh_plugins, capsys):
    """Issue 29, item 18: CheckpointFolder("names", None) broke every command, --help included."""
    import seqkit.host
    from seqkit import CheckpointFolder
    from seqkit.io import list_checkpoints

    def broken(register):
        register(CheckpointFolder("names", None))

    fresh_plugins.register_plugin(_plugin("nofolder", register_checkpoints=broken), name="nofolder")
    assert not [f for f in seqkit.host.checkpoint_folders() if f.plugin == "nofolder"]
    list_checkpoints()  # every task's folders: no traceback
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "nofolder" in line]
    assert len(warnings) == 1 and "must be a path, not None" in warnings[0], err
    r = CliRunner().invoke(_cli(), ["models", "--json"])
    assert r.exit_code == 0, r.output
