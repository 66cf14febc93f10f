"""Generators: what a plugin can make on request (names, number words, tunes, music).

A generator is a name, its task, typed parameters (with help and limits) and a function that
returns :class:`Output` items. Plugins register them with the ``register_generators`` hook; core
builds the same things from them everywhere: the Python API (:func:`run_generator`), a command
line (:func:`generator_command`), and any front end that lists generators (``seqkit plugins``).

Plain Python: nothing here imports torch.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqkit.errors import SeqkitError

PARAM_TYPES = ("str", "int", "float", "bool", "choice", "file", "list")
SEED_MAX = 2**63 - 1  # what every random generator seqkit seeds accepts


@dataclass
class Param:
    """One typed parameter of a generator.

    ``type`` is one of ``str``, ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``),
    ``file`` (a path on the command line, an upload in a web front end; ``accept`` lists the file
    suffixes read) or ``list`` (several strings, e.g. numbers). ``above_min=True`` makes ``min``
    itself refused (``--top-p`` must be above 0). ``flags`` is how the command line
    spells it (default ``--name-with-dashes``); ``argument=True`` makes it positional there, and
    with ``stdin=True`` a ``-`` among a list's values reads more, one per line, from standard input
    (on the command line only); ``stdin="stream"`` runs the generator on each batch of lines as it
    is read and prints each result before reading on (for a generator whose outputs are one per
    value, such as num2words: a huge input is never held whole, and ``| head`` ends it at once). ``hint`` is added to the error for a missing file
    (``{value}`` in it stands for the path given).

    Front ends other than the command line (``seqkit serve``'s page) read three more things from
    :meth:`schema`: ``choices`` may also be given to a ``str`` parameter (then they are the values
    a form offers in a menu, and any other value the checks take is still accepted; for a
    ``choice`` they are the only values), and may be a function of no arguments that returns them
    (installed models, devices found), called each time the schema is built, never at import or
    on the command line; ``soft_max`` is the top of a slider for a number without a ``max``
    (larger values are still accepted); ``page_help`` is the help written for a form (no flags,
    ``@FILE`` or stdin), ``help`` when empty.
    """

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    required: bool = False
    flags: tuple[str, ...] = ()
    argument: bool = False
    accept: tuple[str, ...] = ()
    stdin: bool | str = False  # True, or "stream"
    above_min: bool = False
    hint: str = ""
    soft_max: float | None = None
    page_help: str = ""

    def __post_init__(self):
        if self.type not in PARAM_TYPES:
            raise TypeError(f"Param {self.name!r}: type must be one of {', '.join(PARAM_TYPES)}, "
                            f"not {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise TypeError(f"Param {self.name!r}: a choice needs choices")
        self.flags = tuple(self.flags) or (f"--{self.name.replace('_', '-')}",)

    @property
    def flag(self) -> str:
        """The spelling used in error messages (``--country``, or ``NUMBERS`` for an argument)."""
        if self.argument:
            return self.name.upper()
        return max(self.flags, key=len)

    def choice_list(self) -> list[str]:
        """``choices`` as a list (a function's answer, for choices found at run time); a function
        that fails gives no choices (a ``choice`` then takes nothing, with its error message)."""
        if self.choices is None:
            return []
        if callable(self.choices):
            try:
                found = self.choices()
            except Exception:  # a menu that cannot be built (no checkpoint folder ...): no menu
                return []
            return [str(c) for c in found or ()]
        return [str(c) for c in self.choices]

    def check(self, value):
        """``value`` converted to this parameter's type and checked against its limits, or a
        :class:`SeqkitError` naming the parameter as the command line spells it."""
        if value is None:
            if self.required:
                raise SeqkitError(f"{self.flag} is required")
            return None
        try:
            value = _convert(self.type, value)
        except (TypeError, ValueError, OverflowError):
            raise SeqkitError(f"{self.flag} takes {_kind(self)}, not {_show(value)}") from None
        if self.type in ("int", "float"):
            if self.type == "float" and not math.isfinite(value):
                raise SeqkitError(f"{self.flag} must be a finite number, not {value}")
            if self.min is not None and self.above_min and value <= self.min:
                raise SeqkitError(f"{self.flag} must be above {_num(self.min)}, not {value}")
            if self.min is not None and value < self.min:
                raise SeqkitError(f"{self.flag} must be at least {_num(self.min)}, not {value}")
            if self.max is not None and value > self.max:
                raise SeqkitError(f"{self.flag} must be at most {_num(self.max)}, not {value}")
        if self.type == "choice" and value not in (choices := self.choice_list()):
            import difflib

            close = difflib.get_close_matches(str(value), choices, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise SeqkitError(f"{self.flag} must be one of {', '.join(choices)}, "
                              f"not {_show(value)}{hint}")
        if self.type == "file" and not Path(value).is_file():
            what = "is a folder" if Path(value).is_dir() else "does not exist"
            hint = f" ({self.hint.format(value=value)})" if self.hint and what == "does not exist" else ""
            raise SeqkitError(f"{self.flag} {value} {what}{hint}")
        return value

    def range_help(self) -> str:
        """What is accepted, in the words the checks use, for a help text (``" [x>=0]"``,
        ``" [one of: a, b]"``); Click's own ranges are not used: the checks live here, the same
        for every front end."""
        if self.type == "choice":
            return f" [one of: {', '.join(self.choice_list())}]"
        if self.max is not None and self.max > 1e12:  # e.g. a seed's 2**63 - 1: say only the floor
            return f" [x>={_num(self.min)}]" if self.min is not None else ""
        low = "<" if self.above_min else "<="
        if self.min is not None and self.max is not None:
            return f" [{_num(self.min)}{low}x<={_num(self.max)}]"
        if self.min is not None:
            return f" [x>{'' if self.above_min else '='}{_num(self.min)}]"
        if self.max is not None:
            return f" [x<={_num(self.max)}]"
        return ""

    def schema(self) -> dict:
        """A JSON-able description, for front ends that build a form: ``choices`` evaluated now
        (with ``open_choices: true`` where other values are accepted too), ``page_help`` the help
        for a form, ``argument``/``stdin`` how the command line takes it."""
        out = {"name": self.name, "type": self.type, "default": _jsonable(self.default),
               "help": self.help, "page_help": self.page_help or self.help, "required": self.required,
               "flags": list(self.flags)}
        for key in ("min", "max", "soft_max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.above_min:
            out["above_min"] = True
        if self.argument:
            out["argument"] = True
        if self.choices is not None:
            out["choices"] = self.choice_list()
            if self.type != "choice":
                out["open_choices"] = True
        if self.accept:
            out["accept"] = list(self.accept)
        return out


@dataclass
class FileOutput:
    """How the command line saves one kind of file that a generator makes.

    ``suffix`` is the key in :attr:`Output.files` (``"mid"``); ``flags`` the option that names
    where it goes (``("--out", "-o")``), with ``default`` (e.g. ``"generated.mid"``) or ``None``
    (then the file is made only when asked for). A file option with several outputs numbers them
    (``NAME_1.mid``, ``NAME_2.mid`` ...); with ``folder=True`` the option names a folder that gets
    ``STEM_1.SUFFIX`` ...; with ``joined=True`` the outputs' texts go into that one file (all
    tunes in one ``.abc``) instead of standard output.
    """

    suffix: str
    flags: tuple[str, ...]
    help: str = ""
    default: str | None = None
    folder: bool = False
    stem: str = "out"
    joined: bool = False

    @property
    def name(self) -> str:
        return self.flags[0].lstrip("-").replace("-", "_") + "_file"

    @property
    def flag(self) -> str:
        return max(self.flags, key=len)


@dataclass
class Output:
    """One generated item: ``text`` (a name, number words, an ABC tune), ``files`` by suffix
    (``{"mid": bytes, "wav": bytes, "png": bytes}``) and ``meta`` (e.g. ``{"new": True}``).
    ``saved`` is filled in by the command line: where it wrote each file."""

    text: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able: the text, the metadata, the file suffixes (not their bytes) and where the
        files were saved."""
        out: dict[str, Any] = {}
        if self.text is not None:
            out["text"] = self.text
        out.update(self.meta)
        if self.files:
            out["files"] = sorted(self.files)
        if self.saved:
            out["saved"] = dict(self.saved)
        return out


@dataclass
class Result:
    """What one run of a generator made: the outputs, run-level ``meta`` (the model used, the
    seed ...) and ``notes`` (one-line remarks for the user, e.g. 'found only 3 names')."""

    outputs: list[Output]
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**self.meta, "results": [o.to_dict() for o in self.outputs], "notes": list(self.notes)}


class Cancelled(SeqkitError):
    """A run stopped by its caller (a web page's cancel button, Ctrl-C)."""


class RunContext:
    """Passed to a generator function that takes a ``ctx`` parameter: progress and cancelling.

    ``ctx.progress(done, total)`` reports progress (a bar on a terminal, an event on a web page;
    ``total=None`` when the end is not known); it raises :class:`Cancelled` when the caller asked
    to stop, so long loops end cleanly.
    """

    def __init__(self, on_progress: Callable[[int, int | None], None] | None = None,
                 cancelled: Callable[[], bool] | None = None):
        self._on_progress = on_progress
        self._cancelled = cancelled
        self.label = ""

    def progress(self, done: int, total: int | None, label: str = "") -> None:
        """``done`` of ``total`` steps; ``label`` says what is going on ("sampling 3 tunes")."""
        if label:
            self.label = label
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("cancelled")
        if self._on_progress is not None:
            self._on_progress(done, total)


@dataclass
class Example:
    """A ready-made request a front end offers in one click ("Greek names"): ``title``, a line
    saying what it makes, and the parameter ``values``. ``files`` gives a ``file`` parameter's
    content: a function of no arguments returning ``(file name, bytes)``, called when a front
    end fetches it (``seqkit serve`` sends it to the page, which uploads it like a user's file)."""

    title: str
    values: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    files: dict[str, Callable[[], tuple[str, bytes]]] = field(default_factory=dict)

    def schema(self) -> dict:
        return {"title": self.title, "description": self.description,
                "values": {k: _jsonable(v) for k, v in self.values.items()}, "files": sorted(self.files)}


@dataclass
class Generator:
    """A registered generator.

    ``run`` is a function (or ``"package.module:function"``, imported on first use) called with one
    keyword argument per parameter, already checked, plus ``ctx`` (a :class:`RunContext`) if it
    takes one, and ``want`` (the set of file suffixes the caller wants: skip making the others)
    if it takes that; it returns a :class:`Result` (or a list of :class:`Output`). ``files`` says
    how a command line saves the files it makes; ``command`` is the command line that runs it
    (``"names"``, ``"music generate"``), for help and docs.
    """

    name: str
    run: Any
    params: list[Param] = field(default_factory=list)
    task: str = ""
    description: str = ""
    command: str = ""
    files: list[FileOutput] = field(default_factory=list)
    plugin: str = ""
    examples: list[Example] = field(default_factory=list)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"a Generator needs a name, not {self.name!r}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise TypeError(f"generator {self.name!r} has a parameter twice: {names}")
        for example in self.examples:
            unknown = sorted((set(example.values) | set(example.files)) - set(names))
            if unknown:
                raise TypeError(f"generator {self.name!r}: example {example.title!r} sets unknown "
                                f"parameter(s) {', '.join(unknown)}")

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def check(self, values: dict) -> dict:
        """Every parameter, checked and with its default filled in; unknown names are an error."""
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SeqkitError(f"generator {self.name!r} has no parameter(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known)) or 'none'}")
        out = {}
        for p in self.params:
            value = values.get(p.name)
            out[p.name] = p.check(p.default if value is None else value)
        return out

    def __call__(self, ctx: RunContext | None = None, want: set[str] | None = None, **values) -> Result:
        from seqkit.host.registry import resolve

        checked = self.check(values)
        function = resolve(self.run, f"generator {self.name!r}", self.plugin)
        accepts = inspect.signature(function).parameters
        if "ctx" in accepts:
            checked["ctx"] = ctx or RunContext()
        if "want" in accepts:
            checked["want"] = {f.suffix for f in self.files} if want is None else set(want)
        result = function(**checked)
        if isinstance(result, list):
            result = Result(result)
        if not isinstance(result, Result):
            raise SeqkitError(f"generator {self.name!r} returned {type(result).__name__}, not a Result")
        result.meta = {"generator": self.name, **result.meta}
        return result

    def schema(self) -> dict:
        return {"name": self.name, "task": self.task, "description": self.description,
                "command": self.command, "plugin": self.plugin,
                "params": [p.schema() for p in self.params],
                "files": sorted({f.suffix for f in self.files}),
                "examples": [e.schema() for e in self.examples]}


def run_generator(name: str, ctx: RunContext | None = None, want: set[str] | None = None, **params) -> Result:
    """Run a registered generator by name: ``run_generator("names", country="Greek", count=3)``.
    ``want`` limits the files it makes (default: every kind it can)."""
    from seqkit.host.plugins import get_generator

    return get_generator(name)(ctx=ctx, want=want, **params)


# ---------------------------------------------------------------- the shared parameters
# One spelling, one help and one set of limits for what every command has in common: the generate,
# train and eval kits and ``seqkit.options`` (the Typer types of plugins' own commands) are built
# from these.

def _param(name: str, type: str, default, help: str, overrides: dict, **fixed) -> Param:
    return Param(**{"name": name, "type": type, "default": default, "help": help, **fixed, **overrides})


def seed_param(**overrides) -> Param:
    """``--seed``: 0 to ``SEED_MAX`` (default ``None``: a random run; the train and eval kits: 0)."""
    return _param("seed", "int", None, "Random seed, for reproducible results.", overrides,
                  min=0, max=SEED_MAX, flags=("--seed",))


def json_param(**overrides) -> Param:
    """``--json``: print the result (a generator's, a train summary, an eval report) as JSON."""
    return _param("as_json", "bool", False, "Print machine-readable JSON on stdout.", overrides, flags=("--json",))


def temperature_param(default: float = 1.0, **overrides) -> Param:
    overrides.setdefault("soft_max", 2.0)
    overrides.setdefault("page_help", "Lower: safer, more typical; higher: more surprising (0 always "
                         "takes the likeliest).")
    return Param("temperature", "float", default, "Sampling temperature (0 = greedy).", min=0.0,
                 flags=("--temperature", "-t"), **overrides)


def top_k_param(**overrides) -> Param:
    return Param("top_k", "int", None, "Sample from the k likeliest tokens only.", min=1,
                 flags=("--top-k",), **overrides)


def top_p_param(**overrides) -> Param:
    return Param("top_p", "float", None, "Nucleus sampling: the smallest set of tokens whose "
                 "probability reaches p (1 = off).", min=0.0, above_min=True, max=1.0, flags=("--top-p",),
                 **overrides)


def count_param(default: int = 1, max: int | None = None, help: str = "How many to make.", **overrides) -> Param:
    return Param("count", "int", default, help, min=1, max=max, flags=("--count", "-n"), **overrides)


def model_param(default: str | None = None, help: str = "Model name or checkpoint path.", task: str = "",
                model_types: Sequence[str] = (), **overrides) -> Param:
    """``task``: a form offers the checkpoints installed for it (see :func:`installed_models`;
    ``model_types`` keeps only those), shipped and trained."""
    if task:
        overrides.setdefault("choices", lambda: installed_models(task, model_types))
        overrides.setdefault("page_help", "Which trained model to sample from: those shipped with the plugins "
                             "and the ones you trained.")
    return _param("model", "str", default, help, overrides, flags=("--model", "-m"))


def device_param(default: str = "auto", **overrides) -> Param:
    overrides.setdefault("choices", found_devices)
    overrides.setdefault("page_help", "Where to compute: auto takes a GPU when there is one.")
    return _param("device", "str", default, "auto, cpu, cuda, cuda:N or mps.", overrides, flags=("--device",))


def installed_models(task: str, model_types: Sequence[str] = ()) -> list[str]:
    """The names of the checkpoints ``seqkit models`` lists for ``task`` (the user's first, then the
    shipped ones), those of ``model_types`` only when given; unreadable ones left out."""
    from seqkit.io.checkpoints import list_checkpoints

    names = [c["name"] for c in list_checkpoints(task) if "error" not in c and c.get("task") in (task, "")
             and (not model_types or c.get("model_type") in model_types)]
    return list(dict.fromkeys(names))


def found_devices() -> list[str]:
    """``auto``, ``cpu`` and the GPUs torch finds here (``cuda:0`` ..., ``mps``). Where torch is not
    imported yet (a form built before any model ran) it is not imported for this (seconds): an
    NVIDIA driver offers ``cuda``, an Apple-silicon Mac ``mps``."""
    import sys

    found = ["auto", "cpu"]
    if "torch" not in sys.modules:
        import os
        import platform

        if os.path.exists("/proc/driver/nvidia/version"):
            found.append("cuda")
        if sys.platform == "darwin" and platform.machine() == "arm64":
            found.append("mps")
        return found
    import torch

    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def threads_param(for_torch: bool = False, **overrides) -> Param:
    """``--threads N``: CPU threads for the work (0 = chosen for it: ``seqkit.generation.inference.pick_threads``,
    at most 64). ``for_torch=True`` is the train and eval kits' (and ``seqkit.options.ThreadsOption``'s)
    meaning: ``torch.set_num_threads`` (0 = torch's default), no upper bound."""
    if for_torch:
        return _param("threads", "int", 0, "CPU threads for torch (0 = torch's default; 1 is often faster on a "
                      "busy machine).", overrides, min=0, flags=("--threads",))
    return _param("threads", "int", 0, "CPU threads (0 = chosen for the work: 1 for small decoding, every core "
                  "for batched work; see `seqkit doctor`).", overrides, min=0, max=64, flags=("--threads",))


# ---------------------------------------------------------------- helpers

def _convert(kind: str, value):
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "bool":
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        return bool(value)
    if kind == "list":
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]
    if kind == "file":
        return Path(value).expanduser()
    return str(value)


def _kind(p: Param) -> str:
    return {"int": "a whole number", "float": "a number", "bool": "true or false",
            "list": "a list", "file": "a file path"}.get(p.type, "text")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _show(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_default(value):
    """For ``json.dumps(..., default=json_default)``: what ``json`` cannot write itself (numpy
    scalars and arrays, paths)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _jsonable(value):
    return str(value) if isinstance(value, Path) else value
