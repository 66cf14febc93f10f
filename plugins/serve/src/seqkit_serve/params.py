"""A request's values for a generator: from JSON or a form, refused where they name a path, checked
by the generator's own :class:`seqkit.Param` checks (the CLI's messages), capped in tokens."""

from __future__ import annotations

import os
from pathlib import Path

from seqkit import SeqkitError

from .uploads import save_upload

# int parameters that say how long each item may grow; see requested_tokens()
LENGTH_PARAMS = ("length", "max_length", "max_len", "max_tokens", "max_new_tokens", "max_chars", "tokens",
                 "steps")
SECONDS_PARAMS = ("seconds", "duration")  # a length in seconds, counted at TOKENS_PER_SECOND
TOKENS_PER_SECOND = 64  # music's tokenizers make about 40 to 60 a second
TOKENS_PER_ITEM = 128  # for a generator without a length parameter


def from_json(gen, body) -> dict:
    if not isinstance(body, dict):
        raise SeqkitError("send the parameters as one JSON object, e.g. {\"count\": 3}")
    for p in gen.params:
        if p.type == "file" and body.get(p.name) not in (None, ""):
            raise SeqkitError(f"{p.flag}: this server never reads a path sent by the client; upload "
                              f"the file as multipart/form-data field {p.name!r}")
    return {k: v for k, v in body.items() if v not in (None, "")}


def from_form(gen, form, max_upload_bytes: int, folder: Path, read: dict) -> dict:
    """``read`` maps an upload field to its bytes (already read by the caller, which is async)."""
    values = {}
    params = {p.name: p for p in gen.params}
    for key in form.keys():
        p = params.get(key)
        items = form.getlist(key)
        if p is None:
            values[key] = items[0]  # the generator's check names the unknown parameter
        elif p.type == "file":
            values[key] = _upload(p, items[0], max_upload_bytes, folder, read)
        else:
            if any(not isinstance(item, str) for item in items):
                raise SeqkitError(f"{p.flag} takes text, not a file")
            texts = [t for t in items if t.strip()]
            if texts:
                values[key] = texts if p.type == "list" else texts[0]
    return {k: v for k, v in values.items() if v is not None}


def _upload(p, item, max_upload_bytes, folder, read):
    if isinstance(item, str):
        if item.strip():
            raise SeqkitError(f"{p.flag}: this server never reads a path sent by the client; upload the file")
        return None
    if not item.filename and not read.get(id(item)):
        return None  # an empty file input
    return save_upload(p, item.filename, read[id(item)], max_upload_bytes, folder)


def refuse_paths(gen, values: dict) -> None:
    """A value that names a file on this machine is refused: the server reads only what it was
    sent. For a ``model`` parameter (a name or a checkpoint path on the command line) only a plain
    checkpoint name is taken."""
    for p in gen.params:
        if p.type in ("file", "int", "float", "bool") or values.get(p.name) is None:
            continue
        value = values[p.name]
        for text in value if isinstance(value, list) else [value]:
            if _looks_like_path(str(text), strict=p.name == "model" or "--model" in p.flags):
                hint = " (a model name such as the ones `seqkit models` lists)" if p.name == "model" else ""
                raise SeqkitError(f"{p.flag} {str(text)[:60]!r} looks like a file path; this server never "
                                  f"reads a path sent by the client{hint}")


def _looks_like_path(text: str, strict: bool) -> bool:
    if "\x00" in text:
        return True
    if text.startswith(("/", "~", "\\", "./", "../", ".\\", "..\\")) or text[1:3] in (":\\", ":/"):
        return True
    if text.startswith("@") and len(text) > 1:  # seqkit's @FILE: "read the text from FILE"
        return True
    if strict and ("/" in text or "\\" in text or text.endswith(".json") or text.startswith(".")):
        return True
    single_line = "\n" not in text and len(text) < 1024
    return single_line and (strict or os.sep in text) and os.path.lexists(text)


def requested_tokens(gen, values: dict) -> tuple[int, str]:
    """An upper bound on the tokens a request asks for, and how it was counted: items (``count``
    times the number of ``list`` values) times the largest length parameter (``length``,
    ``max_length`` ...; ``seconds`` at TOKENS_PER_SECOND; TOKENS_PER_ITEM without one). Text the
    client sends (a primer) is bounded by the body cap instead."""
    count = values.get("count") or 1
    lists = [len(values[p.name]) for p in gen.params if p.type == "list" and values.get(p.name)]
    items = count * max(1, sum(lists))
    lengths = [(values[p.name], p.flag) for p in gen.params
               if p.type == "int" and p.name in LENGTH_PARAMS and values.get(p.name)]
    lengths += [(int(values[p.name] * TOKENS_PER_SECOND) + 1, f"{p.flag} x {TOKENS_PER_SECOND}")
                for p in gen.params if p.type in ("int", "float") and p.name in SECONDS_PARAMS and values.get(p.name)]
    per_item, per_what = max(lengths) if lengths else (TOKENS_PER_ITEM, "tokens each")
    how = f"{items:,} item(s) x {per_item:,} ({per_what})"
    return items * per_item, how


def cap_tokens(gen, values: dict, max_tokens: int) -> None:
    tokens, how = requested_tokens(gen, values)
    if tokens > max_tokens:
        raise SeqkitError(f"this request asks for up to {tokens:,} tokens ({how}); this server allows "
                          f"{max_tokens:,} per request (seqkit serve --max-tokens)")
