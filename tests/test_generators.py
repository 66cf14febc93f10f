"""Generators: typed parameters, the Python API, the registry and the command line core builds."""

from __future__ import annotations

import json

import pytest
import typer

import seqkit
import seqkit.generation
import seqkit.host
from seqkit import Example, Generator, Output, Param, Result, SeqkitError, hookimpl
from seqkit.testing import registered, run_cli


def echo_words(word, count, shout, seed, ctx=None):
    outputs = []
    for i in range(count):
        if ctx is not None:
            ctx.progress(i + 1, count)
        text = word.upper() if shout else word
        outputs.append(Output(f"{text}{i}", meta={"index": i}))
    return Result(outputs, {"word": word, "seed": seed}, notes=["made by a test"])


ECHO = Generator(
    "echo-words",
    echo_words,
    [Param("word", "str", None, "What to repeat.", required=True, argument=True),
     seqkit.count_param(2, max=5),
     Param("shout", "bool", False, "Upper case."),
     seqkit.seed_param()],
    task="echo",
    description="Repeat a word: seqkit echo-words hello",
)


class EchoPlugin:
    @hookimpl
    def register_generators(self, register):
        register(ECHO)

    @hookimpl
    def register_commands(self, app):
        app.command("echo-words")(seqkit.generator_command(ECHO))


def test_param_checks_name_the_flag():
    count = seqkit.count_param(1, max=10)
    assert count.check("3") == 3
    for bad, message in (("x", "--count takes a whole number"), (0, "--count must be at least 1"),
                         (11, "--count must be at most 10"), (2.5, "--count takes a whole number")):
        with pytest.raises(SeqkitError, match=message):
            count.check(bad)
    temperature = seqkit.temperature_param()
    for bad in (float("inf"), float("nan")):
        with pytest.raises(SeqkitError, match="--temperature must be a finite number"):
            temperature.check(bad)
    with pytest.raises(SeqkitError, match="--seed must be at most"):
        seqkit.seed_param().check(2**70)
    choice = Param("arch", "choice", "gru", choices=("gru", "lstm"))
    with pytest.raises(SeqkitError, match="did you mean gru"):
        choice.check("gur")
    with pytest.raises(TypeError):
        Param("x", "complex")


def test_file_param_refuses_missing_and_folders(tmp_path):
    p = Param("primer", "file", accept=(".mid",))
    with pytest.raises(SeqkitError, match="--primer .* does not exist"):
        p.check(tmp_path / "nope.mid")
    with pytest.raises(SeqkitError, match="is a folder"):
        p.check(tmp_path)
    (tmp_path / "a.mid").write_bytes(b"x")
    assert p.check(str(tmp_path / "a.mid")) == tmp_path / "a.mid"
    assert p.schema()["accept"] == [".mid"]


def test_generator_call_fills_defaults_and_rejects_unknown():
    result = ECHO(word="hi")
    assert [o.text for o in result.outputs] == ["hi0", "hi1"]
    assert result.meta["generator"] == "echo-words" and result.meta["word"] == "hi"
    assert result.to_dict()["results"][1] == {"text": "hi1", "index": 1}
    with pytest.raises(SeqkitError, match="has no parameter.*colour"):
        ECHO(word="hi", colour="red")
    with pytest.raises(SeqkitError, match="WORD is required"):
        ECHO()


def test_run_context_reports_progress_and_cancels():
    seen = []
    ECHO(ctx=seqkit.generation.RunContext(on_progress=lambda d, t: seen.append((d, t))), word="a", count=3)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(seqkit.generation.Cancelled):
        ECHO(ctx=seqkit.generation.RunContext(cancelled=lambda: True), word="a")


def test_registered_generator_runs_by_name_and_is_listed():
    with registered(EchoPlugin()):
        assert "echo-words" in seqkit.host.generators()
        assert seqkit.generation.run_generator("echo-words", word="x", count=1).outputs[0].text == "x0"
        with pytest.raises(SeqkitError, match="unknown generator 'echo-word'; did you mean echo-words"):
            seqkit.host.get_generator("echo-word")
        r = run_cli(["plugins", "--json"], plugins=[])
        infos = {i["name"]: i for i in json.loads(r.stdout)}
        assert infos["EchoPlugin"]["registered"]["generators"] == ["echo-words"]


def test_schema_is_json():
    schema = json.loads(json.dumps(ECHO.schema()))
    assert [p["name"] for p in schema["params"]] == ["word", "count", "shout", "seed"]
    assert schema["params"][1] == {"name": "count", "type": "int", "default": 2, "help": "How many to make.",
                                   "page_help": "How many to make.", "required": False,
                                   "flags": ["--count", "-n"], "min": 1, "max": 5}
    assert schema["examples"] == []


def test_choices_may_be_found_at_schema_time_and_open_or_closed():
    """A ``choices`` function is called each time the schema is built (never at import); a ``str``
    with choices is a menu that still takes other values, a ``choice`` only its own."""
    calls = []

    def found():
        calls.append(1)
        return ["small", "big"]

    def broken():
        raise OSError("no checkpoint folder")

    gen = Generator("menus", lambda **kw: [Output("x")], [
        Param("model", "str", None, "Model.", choices=found, page_help="Which model."),
        Param("size", "choice", "small", choices=found),
        Param("where", "str", None, choices=broken),
        Param("temperature", "float", 1.0, min=0.0, soft_max=2.0),
    ], examples=[Example("a big one", {"size": "big"}, "Makes a big one.")])
    assert calls == []
    schema = json.loads(json.dumps(gen.schema()))
    params = {p["name"]: p for p in schema["params"]}
    assert params["model"]["choices"] == ["small", "big"] and params["model"]["open_choices"] is True
    assert params["model"]["page_help"] == "Which model." and params["model"]["help"] == "Model."
    assert params["size"]["choices"] == ["small", "big"] and "open_choices" not in params["size"]
    assert params["where"]["choices"] == []  # a menu that cannot be built: none, no error
    assert params["temperature"]["soft_max"] == 2.0 and "max" not in params["temperature"]
    assert schema["examples"] == [{"title": "a big one", "description": "Makes a big one.",
                                   "values": {"size": "big"}, "files": []}]
    assert gen.check({"model": "other", "temperature": 7})["model"] == "other"  # open: taken
    with pytest.raises(SeqkitError, match="--size must be one of small, big, not 'huge'"):
        gen.check({"size": "huge"})
    with pytest.raises(TypeError, match="unknown parameter"):
        Generator("bad", lambda: [], [Param("a")], examples=[Example("x", {"b": 1})])


def test_command_built_from_generator():
    plugin = EchoPlugin()
    r = run_cli(["echo-words", "hey", "-n", "3", "--shout"], plugins=[plugin])
    assert r.exit_code == 0, r.output
    assert r.stdout.split() == ["HEY0", "HEY1", "HEY2"] and "made by a test" in r.stderr
    r = run_cli(["echo-words", "hey", "--json", "--seed", "7"], plugins=[plugin])
    out = json.loads(r.stdout)
    assert out["generator"] == "echo-words" and out["seed"] == 7 and len(out["results"]) == 2
    r = run_cli(["echo-words", "hey", "-n", "9"], plugins=[plugin])
    assert r.exit_code == 2 and r.stderr.strip() == "Error: --count must be at most 5, not 9"
    r = run_cli(["echo-words", "--help"], plugins=[plugin])
    assert "Repeat a word" in r.stdout and "[1<=x<=5]" in r.stdout and "--json" in r.stdout


def test_list_param_reads_stdin_on_the_command_line():
    def joined(items):
        return [Output(",".join(items))]

    gen = Generator("join", joined, [Param("items", "list", None, argument=True, stdin=True)])
    app = typer.Typer()
    app.command("join")(seqkit.generator_command(gen))
    app.command("other")(lambda: None)
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["join", "a", "-", "d"], input="b\n\nc\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "a,b,c,d"


def test_bundled_front_doors_are_generators():
    gens = seqkit.host.generators()
    if "names" not in gens or "num2words" not in gens:
        pytest.skip("the names and numerals plugins are not installed")
    names = seqkit.generation.run_generator("names", country="Greek", count=3, seed=1, device="cpu")
    cli = run_cli(["names", "--country", "Greek", "-n", "3", "--seed", "1", "--device", "cpu"])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.split() == [o.text for o in names.outputs]
    words = seqkit.generation.run_generator("num2words", numbers=["101001001001"], device="cpu")
    assert words.outputs[0].text == "one hundred and one billion, one million, one thousand and one"
    assert words.outputs[0].meta == {"number": 101001001001, "in_range": True}


def test_bad_model_settings_are_one_error_naming_the_field():
    """Regression (#13): --set n_head=3 or a missing vocab_size was a raw ValueError/TypeError."""
    lm = seqkit.get_model_type("transformer-lm")
    with pytest.raises(SeqkitError, match="transformer-lm.*divisible by n_head"):
        lm.make_config({"vocab_size": 10, "n_embd": 32, "n_head": 3})
    with pytest.raises(SeqkitError, match="needs the setting.*vocab_size"):
        lm.make_config({"n_embd": 32})
    with pytest.raises(SeqkitError, match="transformer-seq2seq.*divisible by n_head"):
        seqkit.get_model_type("transformer-seq2seq").build(
            {"src_vocab": 10, "tgt_vocab": 10, "n_embd": 32, "n_head": 3})


def test_json_output_takes_numpy_and_paths(tmp_path):
    import numpy as np

    def numbers():
        return Result([Output("x", meta={"n": np.int64(3), "v": np.float32(0.5), "a": np.arange(2),
                                         "p": tmp_path})])

    gen = Generator("numbers", numbers, [])
    app = typer.Typer()
    app.command("numbers")(seqkit.generator_command(gen))
    app.command("other")(lambda: None)
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["numbers", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0] == {"text": "x", "n": 3, "v": 0.5, "a": [0, 1], "p": str(tmp_path)}


def test_found_devices_does_not_import_torch_for_a_form():
    """A form's device menu costs no torch import (seconds) before a model ran; after, torch says."""
    import subprocess
    import sys

    code = ("import sys, seqkit.generation; d = seqkit.generation.found_devices(); print(d[:2], 'torch' in sys.modules); "
            "import torch; print(seqkit.generation.found_devices() == ['auto', 'cpu'] + (['cuda'] + [f'cuda:{i}' for i in "
            "range(torch.cuda.device_count())] if torch.cuda.is_available() else [])"
            " + (['mps'] if torch.backends.mps.is_available() else []))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['auto', 'cpu'] False" and out[1] == "True"


def test_a_streamed_stdin_list_runs_batch_by_batch_in_order(monkeypatch):
    """stdin="stream" (issue 29, item 18): the values around - keep their order, each batch is
    printed as it comes, and other stdin lists still read everything first."""
    import seqkit.cli.generate as gcli

    calls = []

    def upper(items):
        calls.append(list(items))
        return [Output(i.upper()) for i in items]

    gen = Generator("up", upper, [Param("items", "list", None, argument=True, stdin="stream")])
    app = typer.Typer()
    app.command("up")(seqkit.generator_command(gen))
    app.command("other")(lambda: None)
    from typer.testing import CliRunner

    monkeypatch.setattr(gcli, "STDIN_BATCH", 2)
    monkeypatch.setattr(gcli.stdin_batches, "__defaults__", (2,))
    r = CliRunner().invoke(app, ["up", "a", "-", "z"], input="b\n\nc\nd\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.split() == ["A", "B", "C", "D", "Z"]
    assert calls == [["a"], ["b", "c"], ["d"], ["z"]]
