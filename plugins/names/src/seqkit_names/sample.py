"""Loading a names generator and sampling surnames for a country."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from seqkit import CheckpointError, SeqkitError

from .train import GENERATORS, MAX_NAME, TASK

DEFAULT_MODEL = "transformer"  # the best shipped model on agreement and novelty (docs/names.md)
MAX_ROUNDS = 20  # sampling rounds before giving up on finding enough distinct/new names


@dataclass
class Generator:
    model: object
    tokenizer: object
    countries: list[str]
    path: Path
    meta: dict
    backend: str = "torch"  # "onnx": model is a seqkit.OnnxLM
    _known: set | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def arch(self) -> str:
        return (self.meta.get("extra") or {}).get("arch", "?")

    @property
    def known(self) -> set[str]:
        """The data's names, lower-cased, as stored in the checkpoint."""
        if self._known is None:
            text = (self.meta.get("extra") or {}).get("known") or ""
            self._known = set(text.split("\n")) if text else set()
        return self._known

    @property
    def max_length(self) -> int:
        limit = getattr(self.model.config, "max_len", None)
        return min(MAX_NAME, limit - 2) if limit else MAX_NAME


def load_generator(spec: str | None = None, device: str = "cpu") -> Generator:
    """A generator checkpoint by name (``gru``: user's first, then shipped) or path; on ONNX
    Runtime when it can (``gen.backend``), else torch."""
    from seqkit import find_checkpoint, load_for_inference

    path = find_checkpoint(spec or DEFAULT_MODEL, TASK)
    ck = load_for_inference(path, cpu_or_device(device), expect_task=TASK)
    extra = ck.extra
    if extra.get("arch") == "classifier":
        raise SeqkitError(f"{path} is the country classifier, not a name generator; "
                          f"use --model {'|'.join(GENERATORS)}|PATH")
    countries = extra.get("countries")
    if not countries or ck.tokenizer is None:
        raise CheckpointError(f"{path} is not a names generator (no countries or tokenizer recorded)")
    return Generator(ck.model, ck.tokenizer, list(countries), Path(path), ck.meta, backend=ck.backend)


def cpu_or_device(device: str) -> str:
    """``cpu`` and ``auto`` as they are (no torch needed: ``load_for_inference`` resolves
    ``auto``), anything else through ``pick_device``."""
    if str(device).strip().lower() in ("cpu", "auto"):
        return str(device).strip().lower()
    from seqkit import pick_device

    return str(pick_device(device))


def make_rng(seed: int | None, backend: str = "torch"):
    """The sampler's random numbers: a numpy Generator for the ONNX backend, else torch's."""
    seed = seed if seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
    if backend == "onnx":
        import numpy as np

        return np.random.default_rng(seed)
    import torch

    g = torch.Generator()
    g.manual_seed(seed)
    return g


def sample(gen: Generator, country_ids: list[int], starts: list[str], temperature: float = 1.0,
           max_length: int = MAX_NAME, rng=None, batch_size: int = 2048, processors=None) -> list[str | None]:
    """One name per row (``country_ids[i]``, beginning with ``starts[i]``, "" for any); ``None``
    where the model did not end the name within ``max_length`` characters. ``processors``: core
    logit processors (e.g. the letters ``--avoid`` forbids)."""
    tok = gen.tokenizer
    out: list[str | None] = []
    never = [i for i in (tok.pad_id, tok.bos_id, tok.unk_id) if i is not None]  # input-only ids
    run = _onnx_rows if gen.backend == "onnx" else _torch_rows
    for lo in range(0, len(country_ids), batch_size):
        ids = country_ids[lo: lo + batch_size]
        pre = starts[lo: lo + batch_size]
        # rows with the same prefix length go together (a prompt is one rectangle)
        by_len: dict[int, list[int]] = {}
        for i, s in enumerate(pre):
            by_len.setdefault(len(s), []).append(i)
        part: list[str | None] = [None] * len(ids)
        for n_pre, rows in by_len.items():
            prompt = [[tok.bos_id] + tok.encode(pre[i]) for i in rows]
            new = max(1, max_length + 1 - n_pre)
            got = run(gen.model, prompt, [ids[i] for i in rows], new, temperature, tok.eos_id, never, rng,
                      processors)
            for r, row in zip(rows, got):
                if tok.eos_id in row:
                    part[r] = (pre[r] + tok.decode(row)).strip()
        out += part
    return out


def _torch_rows(model, prompt, cond, new, temperature, eos, never, rng, processors=None) -> list[list[int]]:
    import torch

    from seqkit import generate

    device = next(model.parameters()).device
    with torch.no_grad():
        got = generate(model, torch.tensor(prompt, device=device), new, temperature=temperature,
                       cond=torch.tensor(cond, device=device), stop_ids=(eos,), suppress_ids=never,
                       generator=rng, processors=processors)
    return got.tolist()


def _onnx_rows(model, prompt, cond, new, temperature, eos, never, rng, processors=None) -> list[list[int]]:
    import numpy as np

    from seqkit import generate_numpy

    got = generate_numpy(model, np.array(prompt, dtype=np.int64), new, temperature=temperature,
                         cond=np.array(cond, dtype=np.int64), stop_ids=(eos,), suppress_ids=never, rng=rng,
                         processors=processors)
    return got.tolist()


def pick_names(gen: Generator, country: str, count: int, starts: list[str] | None = None,
               temperature: float = 1.0, max_length: int = MAX_NAME, novel: bool = False,
               seed: int | None = None, processors=None) -> tuple[list[dict], int]:
    """``count`` distinct names per start letter (or ``count`` names when ``starts`` is empty):
    ``([{"name", "start", "new"}], missing)``, where ``missing`` is how many could not be found."""
    cid = gen.countries.index(country)
    rng = make_rng(seed, gen.backend)
    groups = starts or [""]
    found: dict[str, list[str]] = {s: [] for s in groups}
    seen: set[str] = set()
    for _ in range(MAX_ROUNDS):
        need = {s: count - len(found[s]) for s in groups if len(found[s]) < count}
        if not need:
            break
        rows = [s for s, k in need.items() for _ in range(2 * k + 2)]
        for s, name in zip(rows, sample(gen, [cid] * len(rows), rows, temperature, max_length, rng,
                                     processors=processors)):
            if not name or len(found[s]) >= count or name.lower() in seen:
                continue
            if novel and name.lower() in gen.known:
                continue
            seen.add(name.lower())
            found[s].append(name)
    result = [{"name": n, "start": s or None, "new": n.lower() not in gen.known}
              for s in groups for n in found[s]]
    return result, count * len(groups) - len(result)


def one_thread(gen: Generator) -> Generator:
    """Torch on one thread for a torch-backed generator (ONNX Runtime sessions use one already)."""
    if gen.backend == "torch":
        import torch

        torch.set_num_threads(1)
    return gen
