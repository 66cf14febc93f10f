import json
import subprocess
import sys

from typer.testing import CliRunner

from seqkit import SeqkitError, __version__
from seqkit.cli.root import build_app

app = build_app()

runner = CliRunner()


def test_version_and_help():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "plugins" in r.output and "doctor" in r.output


def test_plugins_json_lists_core():
    r = runner.invoke(app, ["plugins", "--json"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    core = next(p for p in data if p["name"] == "seqkit")
    assert "rnn-lm" in core["registered"]["models"] and "char" in core["registered"]["tokenizers"]


def test_doctor_reports_torch_and_device():
    r = runner.invoke(app, ["doctor", "--json"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["torch"] and data["device (auto)"] in ("cpu", "cuda", "mps")
    assert "checkpoint folder" in data


def test_models_json_lists_user_checkpoints(tmp_path):
    import torch

    from seqkit import Task, hookimpl
    from seqkit.host import plugins
    from seqkit.io import save_checkpoint, user_checkpoint_dir
    from seqkit.models import RNNLM, RNNConfig

    class P:
        @hookimpl
        def register_tasks(self, register):
            register(Task("toy"))

    plugins.register_plugin(P(), name="toy")
    try:
        cfg = RNNConfig(vocab_size=5, hidden=4)
        torch.manual_seed(0)
        save_checkpoint(user_checkpoint_dir("toy") / "tiny.json", RNNLM(cfg), model_type="rnn-lm",
                        config=cfg, task="toy", metrics={"nll": 1.0})
        r = runner.invoke(app, ["models", "--json", "--task", "toy"])
        assert r.exit_code == 0, r.output
        rows = json.loads(r.stdout)
        assert rows[0]["name"] == "tiny" and rows[0]["metrics"] == {"nll": 1.0}
        assert rows[0]["parameters"] == sum(p.numel() for p in RNNLM(cfg).parameters())
        r = runner.invoke(app, ["models", "--task", "no-such-task"])
        assert r.exit_code == 2 and r.output.startswith("Error: unknown task")
    finally:
        plugins.unregister_plugin("toy")


def test_seqkit_error_is_one_line_exit_2():
    import typer

    from seqkit.cli.root import SeqkitGroup

    demo = typer.Typer(cls=SeqkitGroup)

    @demo.command()
    def fail():
        raise SeqkitError("the country 'Atlantis' is unknown")

    @demo.command()
    def missing():
        open("/definitely/not/here.txt")

    r = runner.invoke(demo, ["fail"])
    assert r.exit_code == 2 and r.output == "Error: the country 'Atlantis' is unknown\n"
    r = runner.invoke(demo, ["missing"])
    assert r.exit_code == 2 and r.output.startswith("Error: No such file or directory")


def test_any_os_error_is_one_line_exit_2(tmp_path):
    """A file where a folder goes (mkdir on it), a full disk: one Error line naming the path."""
    import errno

    import typer

    from seqkit.cli.root import SeqkitGroup

    demo = typer.Typer(cls=SeqkitGroup)
    (tmp_path / "a.txt").write_text("x")

    @demo.command()
    def exists():
        (tmp_path / "a.txt").mkdir()

    @demo.command()
    def full():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "big.bin"))

    r = runner.invoke(demo, ["exists"])
    assert r.exit_code == 2 and r.output == f"Error: File exists: {tmp_path / 'a.txt'}\n"
    r = runner.invoke(demo, ["full"])
    assert r.exit_code == 2 and r.output == f"Error: No space left on device: {tmp_path / 'big.bin'}\n"


def test_a_usage_error_is_one_error_line(tmp_path):
    import typer

    from seqkit.cli.root import SeqkitGroup
    from seqkit.options import TemperatureOption

    demo = typer.Typer(cls=SeqkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
    sub = typer.Typer(no_args_is_help=True)
    demo.add_typer(sub, name="toy")

    @sub.command()
    def gen(temperature: TemperatureOption = 1.0):
        """Generate."""

    @sub.command()
    def other():
        """Another one, so toy is a group."""

    r = runner.invoke(demo, ["toy", "gen", "-t", "-1"], prog_name="seqkit")
    assert r.exit_code == 2
    lines = r.output.splitlines()
    assert lines == ["Error: --temperature must be at least 0, not -1.0"]  # Param.check's words, as in the kits
    r = runner.invoke(demo, ["toy", "nope"], prog_name="seqkit")
    assert r.exit_code == 2 and r.output.splitlines() == ["Error: No such command 'nope'."]
    r = runner.invoke(demo, ["--no-such-option"], prog_name="seqkit")  # seqkit's own options too
    assert r.exit_code == 2 and len(r.output.splitlines()) == 1
    assert r.output.startswith("Error: No such option: --no-such-option")
    r = runner.invoke(demo, ["toy"], prog_name="seqkit")  # no_args_is_help still shows the help
    assert "Usage: seqkit toy" in r.output and "gen" in r.output and "Error" not in r.output


def test_help_does_not_import_torch_and_console_script_works():
    code = "import sys; import seqkit.cli.root; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    r = subprocess.run([sys.executable, "-m", "seqkit", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "Usage" in r.stdout
