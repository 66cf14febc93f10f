"""A Typer command built from a :class:`~seqkit.generation.generator.Generator`'s parameters.

Core owns the command line of every generator: the options (one per parameter, spelled as the
parameter says), their checks (the same as the Python API's), ``--json``, progress on a terminal
and the ``Error:`` line. A plugin only says how to print a result, if plain lines will not do::

    app.command("num2words")(generator_command(NUM2WORDS, show=print_words))
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from seqkit.errors import SeqkitError
from seqkit.generation.generator import Generator, Param, Result, RunContext, json_default, json_param
from seqkit.io.paths import check_writable, numbered

_PY_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "choice": str, "file": Path,
             "list": list[str]}


def generator_command(gen: Generator, show: Callable[[Result], None] | None = None,
                      group: bool = False, **run_kwargs: Any) -> Callable:
    """A function for ``app.command()`` (or, with ``group=True``, a group's ``callback()``) that
    runs ``gen`` with the options the user gave.

    ``show(result)`` prints a result (default: each output's text on its own line); ``--json``
    prints ``result.to_dict()`` instead. Notes go to stderr. ``run_kwargs`` are fixed values for
    parameters the command line does not offer.
    """
    hidden = set(run_kwargs)
    params = [p for p in gen.params if p.name not in hidden]

    def command(**values):
        ctx = values.pop("_ctx", None)
        if ctx is not None and ctx.invoked_subcommand is not None:
            return None
        as_json = values.pop("as_json", False)
        targets = {f.suffix: (f, values.pop(f.name)) for f in gen.files}
        targets = {k: (f, Path(v)) for k, (f, v) in targets.items() if v is not None}
        for f, path in targets.values():  # before any work: nothing is half-written
            check_writable(path, f.flag, folder=f.folder)
        to_stdout = _check_stdout_targets(targets, as_json, values.get("count"))
        streamed = next((p for p in params if p.stdin == "stream" and "-" in (values.get(p.name) or [])), None)
        if streamed is not None and not as_json and not targets:  # print as the lines come
            return _run_streaming(gen, streamed.name, values, run_kwargs, show)
        for p in params:
            if p.stdin and values.get(p.name):
                values[p.name] = _read_stdin(values[p.name])
        want = {k for k, (f, _) in targets.items() if not f.joined}
        from seqkit.io.checkpoints import take_resolutions

        take_resolutions()  # what an earlier run resolved is not this run's model

        with terminal_progress(gen.name) as run_ctx:
            result = gen(ctx=run_ctx, want=want, **values, **run_kwargs)
        _say_which_model(result, take_resolutions())
        _save(result, targets)
        for note in result.notes:
            print(note, file=sys.stderr)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=json_default))
        elif any(f.joined for f, _ in targets.values()):
            pass  # the texts went to the file, "instead of stdout"; the notes said where
        elif show is not None:
            with contextlib.redirect_stdout(sys.stderr) if to_stdout else contextlib.nullcontext():
                show(result)  # with --out -, stdout carries the file: the summary goes to stderr
        elif not to_stdout:
            for out in result.outputs:
                if out.text is not None:
                    typer.echo(out.text)
        return result

    signature = []
    if group:
        signature.append(inspect.Parameter("_ctx", inspect.Parameter.KEYWORD_ONLY,
                                           annotation=typer.Context))
    for p in params:
        signature.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                           default=param_default(p), annotation=param_option(p)))
    for f in gen.files:
        signature.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
            annotation=Annotated[Path | None, typer.Option(*f.flags, help=f.help,
                                                           show_default=f.default is not None)]))
    as_json = json_param()
    signature.append(inspect.Parameter(as_json.name, inspect.Parameter.KEYWORD_ONLY, default=param_default(as_json),
                                       annotation=param_option(as_json)))
    return typer_signature(command, signature, gen.name.replace("-", "_"),
                           gen.description or f"Run the {gen.name} generator.")


def typer_signature(command: Callable, params: list[inspect.Parameter], name: str, doc: str) -> Callable:
    """``command(**values)`` with the signature Typer reads its options from."""
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = name
    command.__doc__ = doc
    return command


def keyword_params(common: list, params: list[Param]) -> list[inspect.Parameter]:
    """The kits' signatures: their common options (a :class:`~seqkit.Param`, or
    ``(name, default, annotation)`` for one of a kit's own), then one option per
    :class:`~seqkit.Param` of the recipe."""
    kw = inspect.Parameter.KEYWORD_ONLY
    rows = [(c.name, param_default(c), param_option(c)) if isinstance(c, Param) else c for c in [*common, *params]]
    return [inspect.Parameter(name, kw, default=default, annotation=ann) for name, default, ann in rows]


def _check_stdout_targets(targets: dict, as_json: bool, count=None) -> bool:
    """Whether a file option is ``-`` (standard output); one of them at most, and not with --json;
    ``-``, a device or a FIFO takes one output (``count``, where the generator has one)."""
    from seqkit.io.paths import output_kind

    flags = [f.flag for f, path in targets.values() if str(path) == "-"]
    if len(flags) > 1:
        raise SeqkitError(f"{' and '.join(flags)} cannot both write standard output (-)")
    if flags and as_json:
        raise SeqkitError(f"--json prints on standard output, which {flags[0]} - takes; give a file name or drop --json")
    if isinstance(count, int) and count > 1:
        for f, path in targets.values():
            if not f.joined and not f.folder and output_kind(path, f.flag) != "file":
                raise SeqkitError(f"{f.flag} {path} takes one output, not {count}: give a file name "
                                  f"(numbered NAME_1 ...) or -n 1")
    return bool(flags)


def _say_which_model(result: Result, resolved: list[dict]) -> None:
    """``model_origin`` (user, shipped or file) in the result, and one line on stderr when a model
    of the user's stands in for a shipped one of the same name."""
    if not resolved:
        return
    result.meta.setdefault("model_origin", resolved[0]["origin"])
    for row in {str(r["path"]): r for r in resolved}.values():
        if row["shadows"]:
            print(f"note: using your model {row['name']!r} ({row['path']}) in place of the shipped one; "
                  f"--model shipped:{row['name']} runs the shipped model", file=sys.stderr)


def _save(result: Result, targets: dict) -> None:
    """Write each output's files where the options say; record the paths in ``Output.saved``."""
    from seqkit.io.checkpoints import atomic_write_bytes

    outputs = result.outputs
    for suffix, (f, path) in targets.items():
        if f.joined:
            texts = [o.text for o in outputs if o.text is not None]
            atomic_write_bytes(path, ("\n\n".join(texts) + "\n").encode())
            for o in outputs:
                o.saved[suffix] = str(path)
            result.notes.append(f"wrote {path}")
            continue
        having = [o for o in outputs if suffix in o.files]
        if f.folder:
            paths = [path / f"{f.stem}_{i}.{suffix}" for i in range(1, len(outputs) + 1)]
            paths = [p for p, o in zip(paths, outputs) if suffix in o.files]
        else:
            paths = numbered(path, len(having), suffix)
        for o, target in zip(having, paths):
            atomic_write_bytes(target, o.files[suffix])
            o.saved[suffix] = str(target)


def _stdin():
    if sys.stdin is None:  # started with stdin closed (`<&-`)
        raise SeqkitError("- reads standard input, which is closed; give the values as arguments")
    return sys.stdin


def _read_stdin(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            out += [line.strip() for line in _stdin().read().splitlines() if line.strip()]
        else:
            out.append(item)
    return out


STDIN_BATCH = 1024  # lines per run of the generator when reading stdin
STDIN_LINE_BYTES = 1_000_000  # the longest line read from stdin


def stdin_batches(limit: int = STDIN_BATCH):
    """The non-blank lines of standard input, stripped, in lists of at most ``limit``, each as soon
    as it is there: whatever one read of the pipe or terminal returns (a typed line at once, a
    fast pipe in full batches), never the whole input in memory."""
    stream = _stdin()
    try:
        fd = stream.fileno()
        os.fstat(fd)
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO): fixed batches
        fd = None
    if fd is None:
        batch: list[str] = []
        for line in stream:
            if line.strip():
                batch.append(line.strip())
            if len(batch) >= limit:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    rest = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop() if chunk else b""
        if len(rest) > STDIN_LINE_BYTES:  # `< /dev/zero`: no line ever ends
            raise SeqkitError(f"a line of standard input is longer than {STDIN_LINE_BYTES // 1000} kB")
        texts = [t for t in (b.decode("utf-8", "replace").strip() for b in lines) if t]
        for i in range(0, len(texts), limit):
            yield texts[i: i + limit]
        if not chunk:
            return


def _run_streaming(gen: Generator, name: str, values: dict, run_kwargs: dict, show) -> None:
    """``gen`` over standard input, one batch of lines at a time, each result printed (and
    flushed) before the next batch is read: ``num2words - < huge`` starts at once, ``| head`` stops it."""
    items = list(values[name])
    cut = items.index("-")  # the values around the first -, in their order; a second - reads nothing more
    before, after = items[:cut], [v for v in items[cut + 1:] if v != "-"]
    from seqkit.io.checkpoints import take_resolutions
    from seqkit.progress import progress_steps

    take_resolutions()
    with progress_steps(None, name) as advance:  # a count with no known end, on a terminal only
        ran = _stream_batches(gen, name, values, run_kwargs, show, before, after, advance)
    if not ran:  # empty input: the generator says what it needs
        gen(**{**values, name: []}, **run_kwargs)


def _stream_batches(gen, name, values, run_kwargs, show, before, after, advance) -> bool:
    import itertools

    from seqkit.io.checkpoints import take_resolutions

    ran = False
    for batch in itertools.chain([before] if before else [], stdin_batches(), [after] if after else []):
        result = gen(**{**values, name: batch}, **run_kwargs)
        advance(len(batch))
        if not ran:
            _say_which_model(result, take_resolutions())
        ran = True
        for note in result.notes:
            print(note, file=sys.stderr)
        if show is not None:
            show(result)
        else:
            for out in result.outputs:
                if out.text is not None:
                    typer.echo(out.text)
        sys.stdout.flush()
    return ran


def param_default(p: Param):
    """The Typer default of ``p``'s option (``None`` for a list, and for a bool without one)."""
    if p.type == "list":
        return None
    if p.type == "bool":
        return None if p.default is None else bool(p.default)  # None: neither flag given
    return p.default


def param_option(p: Param, check: bool = False):
    """``Annotated[type, typer.Option(...)]`` (or an Argument) for ``p``: its flags, its help with
    what it accepts. The kits check the values in the command (``p.check``); ``check=True`` makes
    Click run ``p.check`` itself, for a plugin's own command that declares the option
    (``seqkit.options.SeedOption``): the same one ``Error:`` line either way."""
    kind = _PY_TYPES[p.type]
    help_text = p.help + p.range_help()
    callback = _checker(p) if check else None
    if p.argument:
        info = typer.Argument(help=help_text, show_default=p.default is not None,
                              metavar=p.name.upper(), callback=callback)
    else:
        shown = True if check else p.default is not None and p.type != "bool"  # check: the command's default
        info = typer.Option(*p.flags, help=help_text, show_default=shown, callback=callback)
    if p.type == "list" or p.default is None:
        kind = kind | None
    return Annotated[kind, info]


class _ParamError(typer.BadParameter):
    """``p.check``'s message as Click's usage error (exit 2), worded as the kits word it."""

    def format_message(self) -> str:
        return self.message


def _checker(p: Param):
    def check(value):
        try:
            return p.check(value)
        except SeqkitError as exc:
            raise _ParamError(str(exc)) from None

    return check


class terminal_progress:
    """``with terminal_progress(label) as ctx``: a :class:`~seqkit.generation.RunContext` whose progress is a
    bar on stderr, shown only where :func:`shows_progress` says so (a terminal, never a pipe or
    ``SEQKIT_PROGRESS=0``), and only once there is something to wait for (the generate and eval
    kits run under one)."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.task = None

    def __enter__(self):
        self.ctx = RunContext(on_progress=self._update)
        return self.ctx

    def _update(self, done: int, total: int | None) -> None:
        from seqkit.progress import progress_bar, shows_progress

        if not shows_progress():
            return
        if self.bar is None:
            forced = True if os.environ.get("SEQKIT_PROGRESS") == "1" else None
            self.bar = progress_bar(transient=True, force_terminal=forced)
            self.bar.start()
            self.task = self.bar.add_task(self.ctx.label or self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
