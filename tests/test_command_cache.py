"""The cache of declared commands: an unchanged set of plugins is listed without importing any."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

PROBE = textwrap.dedent("""
    import contextlib, io, sys
    sys.argv = ["seqkit"] + sys.argv[1:]
    from seqkit.cli.root import main
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            main()
    except SystemExit:
        pass
    print(out.getvalue())
    print("IMPORTED", sorted(m for m in sys.modules if m.startswith("seqkit_cachetest")))
""")


def _plugin(site, name, help_line, eager=False):
    pkg = f"seqkit_cachetest_{name}"
    (site / pkg).mkdir(parents=True)
    (site / pkg / "__init__.py").write_text("")
    (site / pkg / "commands.py").write_text(
        "import typer\n\napp = typer.Typer()\n\n\n@app.command()\ndef hi():\n    typer.echo('hi from "
        f"{name}')\n\n\n@app.command()\ndef bye():\n    pass\n")
    hook = (f"@hookimpl\ndef register_commands(app):\n    from .commands import app as sub\n\n"
            f"    app.add_typer(sub, name='{name}')\n" if eager else
            f"@hookimpl\ndef register_lazy_commands(register):\n"
            f"    register(LazyCommand('{name}', '{pkg}.commands:app', '{help_line}'))\n")
    (site / pkg / "plugin.py").write_text(f"from seqkit import LazyCommand, hookimpl\n\n\n{hook}")
    info = site / f"{pkg}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {pkg}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[seqkit]\n{name} = {pkg}.plugin\n")
    return site / pkg / "plugin.py"


@pytest.fixture
def env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    e = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), "SEQKIT_CACHE_DIR": str(tmp_path / "cache"),
         "SEQKIT_PROGRESS": "0"}
    e.pop("SEQKIT_NO_COMMAND_CACHE", None)
    return site, e


def _run(env, *args):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr


def test_unchanged_plugins_are_listed_from_the_cache_without_importing_them(env, tmp_path):
    site, e = env
    plugin_py = _plugin(site, "cachea", "Declared command A")
    first, _ = _run(e, "--help")
    assert "Declared command A" in first and "'seqkit_cachetest_cachea.plugin'" in first
    assert len(list((tmp_path / "cache").glob("commands-*.marshal"))) == 1
    second, _ = _run(e, "--help")
    assert "Declared command A" in second and second.splitlines()[-1] == "IMPORTED []"
    ran, _ = _run(e, "cachea", "hi")  # the command itself still works from the cached listing
    assert "hi from cachea" in ran
    listing = subprocess.run([sys.executable, "-m", "seqkit", "plugins", "--json"], capture_output=True,
                             text=True, env=e, timeout=120)
    infos = {i["name"]: i for i in json.loads(listing.stdout)}
    assert infos["cachea"]["registered"]["commands"] == ["cachea"]

    time.sleep(0.01)  # an edited plugin is read again
    plugin_py.write_text(plugin_py.read_text().replace("Declared command A", "Renamed command A"))
    third, _ = _run(e, "--help")
    assert "Renamed command A" in third and "'seqkit_cachetest_cachea.plugin'" in third
    _plugin(site, "cacheb", "Declared command B")  # and so is a newly installed one
    fourth, _ = _run(e, "--help")
    assert "Declared command B" in fourth and "'seqkit_cachetest_cacheb.plugin'" in fourth


def test_no_cache_with_an_eager_plugin_or_when_turned_off(env, tmp_path):
    site, e = env
    _plugin(site, "eager", "", eager=True)
    out, _ = _run(e, "--help")
    assert "eager" in out and not list((tmp_path / "cache").glob("commands-*"))

    site2 = tmp_path / "site2"
    _plugin(site2, "lazyoff", "Not cached")
    off = {**e, "PYTHONPATH": os.pathsep.join([str(site2), os.environ.get("PYTHONPATH", "")]), "SEQKIT_NO_COMMAND_CACHE": "1"}
    _run(off, "--help")
    out, _ = _run(off, "--help")
    assert "Not cached" in out and "'seqkit_cachetest_lazyoff.plugin'" in out


def test_a_broken_plugin_is_never_cached_so_its_warning_shows_every_time(env, tmp_path):
    site, e = env
    plugin_py = _plugin(site, "broken", "Broken")
    plugin_py.write_text("raise RuntimeError('broken plugin')\n")
    for _ in range(2):
        _, err = _run(e, "--help")
        assert "Warning: plugin 'broken' failed to load (RuntimeError: broken plugin)" in err
    assert not list((tmp_path / "cache").glob("commands-*"))
