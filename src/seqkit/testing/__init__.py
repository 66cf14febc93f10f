"""Helpers for testing seqkit plugins (and seqkit itself).

Run the CLI in-process with your plugin registered, without installing it::

    from seqkit.testing import run_cli
    import seqkit_myplugin.plugin as plugin

    def test_hello():
        result = run_cli(["myplugin", "hello"], plugins=[plugin])
        assert result.exit_code == 0, result.output
        assert "hello" in result.stdout

Make a tiny dataset and train a few steps::

    from seqkit import CharTokenizer
    from seqkit.models import RNNConfig, RNNLM
    from seqkit.testing import lm_collate, lm_items, tiny_corpus, train_steps

    lines = tiny_corpus().splitlines()
    tok = CharTokenizer.build(lines)
    items = lm_items(lines, tok)
    model = RNNLM(RNNConfig(tok.vocab_size, hidden=32))
    result = train_steps(model, items, steps=20, collate=lm_collate(tok.pad_id), out=tmp_path)
    assert result["history"][-1]["train_loss"] < math.log(tok.vocab_size)  # better than chance

Nothing here imports torch until a function that needs it is called.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["registered", "cli_app", "run_cli", "tiny_corpus", "write_corpus", "lm_items",
           "lm_collate", "train_steps", "isolate_dirs", "check_memory_model"]


def isolate_dirs(monkeypatch, root) -> dict[str, Path]:
    """Point seqkit's folders at ``root`` for one test: the user's data folder (where ``train``
    saves named models) and the cache; progress bars off. Use it from an
    autouse fixture in a plugin's ``conftest.py``::

        @pytest.fixture(autouse=True)
        def _isolated(tmp_path, monkeypatch):
            isolate_dirs(monkeypatch, tmp_path)
    """
    root = Path(root)
    dirs = {"SEQKIT_DATA_DIR": root / "seqkit-data", "SEQKIT_CACHE_DIR": root / "seqkit-cache"}
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("SEQKIT_PROGRESS", "0")
    return {"data": dirs["SEQKIT_DATA_DIR"], "cache": dirs["SEQKIT_CACHE_DIR"]}


def _plugin_name(plugin) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__name__


@contextmanager
def registered(*plugins):
    """Register plugin modules (or objects with hook functions) for the duration of a ``with``.

    A plugin that is already loaded (for instance installed through its entry point) is left as
    it is; the ones this registered are unregistered on exit, so tests do not leak plugins.
    """
    from seqkit.host import plugins as host

    pm = host.get_plugin_manager()
    added = []
    try:
        for plugin in plugins:
            if pm.is_registered(plugin):
                continue
            name = _plugin_name(plugin)
            host.register_plugin(plugin, name=name)
            added.append(name)
        yield
    finally:
        for name in reversed(added):
            host.unregister_plugin(name)


def cli_app():
    """A new ``seqkit`` Typer app with the commands of every plugin registered now (also those
    registered with :func:`registered`), added through the same error-containing path the real CLI
    uses."""
    from seqkit.cli.root import build_app
    from seqkit.host.plugins import default_host

    app = build_app(plugins=False)
    default_host().register_commands(app)
    return app


def run_cli(args: Sequence[str], plugins: Iterable = (), input: str | None = None,
            env: dict | None = None, catch_exceptions: bool = True):
    """Run ``seqkit ARGS`` in-process with ``plugins`` registered; returns Typer's ``Result``.

    ``result.exit_code``, ``result.stdout`` and ``result.stderr`` are what a user would see.
    Progress bars are off (``SEQKIT_PROGRESS=0``) unless ``env`` says otherwise. With
    ``catch_exceptions=False`` a traceback propagates, which is handy while debugging.
    """
    import contextlib
    import io

    from typer.testing import CliRunner

    from seqkit.host.plugins import default_host

    env = {"SEQKIT_PROGRESS": "0", **(env or {})}
    early = io.StringIO()  # warnings printed while plugins load belong to the result too
    with contextlib.ExitStack() as stack:
        # each run shows its warnings, as each `seqkit` process would
        stack.enter_context(default_host().fresh_warnings())
        with contextlib.redirect_stderr(early):
            stack.enter_context(registered(*plugins))
            app = cli_app()
        result = CliRunner().invoke(app, [str(a) for a in args], input=input, env=env,
                                    catch_exceptions=catch_exceptions, prog_name="seqkit")
    if early.getvalue():
        warnings = early.getvalue().encode()
        result.stderr_bytes = warnings + (result.stderr_bytes or b"")
        result.output_bytes = warnings + result.output_bytes
    return result


# ---------------------------------------------------------------------------- tiny data

_SUBJECTS = ["the cat", "a dog", "the bird", "my friend", "the old man", "a child"]
_VERBS = ["sees", "likes", "finds", "follows", "calls", "hears"]
_OBJECTS = ["the ball", "a red hat", "the river", "a small boat", "the moon", "some bread"]


def tiny_corpus(n_lines: int = 64, seed: int = 0) -> str:
    """Deterministic English-like lines ("the cat sees a red hat.") with real structure:
    a character model's loss falls quickly on it. About 20 characters per line."""
    rng = random.Random(seed)
    lines = [f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}."
             for _ in range(n_lines)]
    return "\n".join(lines) + "\n"


def write_corpus(path: str | Path, text: str | None = None, n_lines: int = 64, seed: int = 0) -> Path:
    """Write ``text`` (default: :func:`tiny_corpus`) to ``path`` as UTF-8; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else tiny_corpus(n_lines, seed), encoding="utf-8")
    return path


def lm_items(texts: Iterable, tokenizer, add_bos: bool = True, add_eos: bool = True) -> list[dict]:
    """One ``{"input", "target"}`` item per text (``target`` is ``input`` shifted by one), the
    format :func:`seqkit.lm_loss` trains on. Use :func:`lm_collate` to batch them."""
    import torch

    items = []
    for text in texts:
        ids = tokenizer.encode(text, add_bos=add_bos, add_eos=add_eos)
        if len(ids) < 2:
            continue
        ids = torch.tensor(ids, dtype=torch.long)
        items.append({"input": ids[:-1], "target": ids[1:]})
    return items


def lm_collate(pad_id: int):
    """A collate function that right-pads ``input`` with ``pad_id`` and ``target`` with -100
    (ignored by the loss), so items of different lengths batch together."""

    def collate(items: list[dict]) -> dict:
        from seqkit.io.data import pad_sequences

        batch = {"input": pad_sequences([it["input"].tolist() for it in items], pad_id),
                 "target": pad_sequences([it["target"].tolist() for it in items], -100)}
        if "cond" in items[0]:
            import torch

            batch["cond"] = torch.tensor([int(it["cond"]) for it in items], dtype=torch.long)
        return batch

    return collate


def train_steps(model, train_set, steps: int = 10, out: str | Path | None = None, val_set=None,
                collate=None, loss_fn=None, checkpoint: dict | None = None, **config) -> dict:
    """Train ``model`` for a few ``steps`` on the CPU (no progress bar) and return the
    :meth:`seqkit.Trainer.fit` result (``history``, ``best_path`` ...).

    ``out`` is the run folder (a fresh temporary folder when omitted; pass pytest's
    ``tmp_path`` to inspect the checkpoints). Extra keyword arguments go to
    :class:`seqkit.train.TrainConfig` (``batch_size=8``, ``lr=1e-2`` and ``eval_every=steps`` unless
    given).
    """
    import tempfile

    from seqkit.train.trainer import TrainConfig, Trainer, lm_loss

    settings = {"steps": steps, "batch_size": 8, "lr": 1e-2, "device": "cpu", "progress": False,
                "eval_every": steps, **config}
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="seqkit-test-")) / "run"
    trainer = Trainer(model, TrainConfig(**settings), train_set, val_set=val_set,
                      collate=collate, loss_fn=loss_fn or lm_loss, out=out,
                      checkpoint=checkpoint)
    return trainer.fit()


def check_memory_model(model, vocab_size: int, batch_size: int = 2, windows: int = 3, window: int | None = None,
                       equals_long_pass: bool = True, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Assert that ``model`` follows seqkit's memory protocol (docs/plugins.md, "Models that carry
    memory"): ``init_memory(batch_size, device)``; ``model(idx, memory=m) -> (logits, new memory)``
    with logits ``[B, T, vocab]``; the new memory a nest of tensors, detached, one row per batch
    row, storable in a checkpoint; the input memory left as it was. With ``equals_long_pass``
    (models whose memory loses nothing a long pass would see, such as recurrent state or memories
    within their length), ``windows`` windows read on one after another give the logits of one
    pass over them all (in eval mode, within ``atol``/``rtol``). ``window`` defaults to two
    ``memory_segment``s."""
    import torch

    from seqkit.io.checkpoints import flatten_state, unflatten_state
    from seqkit.train.streaming import carries_memory, map_tensors, memory_rows, memory_segment

    def _tensors(nest) -> list:
        found: list = []
        map_tensors(found.append, nest)
        return found

    assert carries_memory(model), f"{type(model).__name__} has no init_memory(batch_size, device)"
    window = window or 2 * memory_segment(model)
    device = next(model.parameters()).device
    was_training = model.training
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, vocab_size, (batch_size, windows * window), generator=g).to(device)
    model.train()
    memory = model.init_memory(batch_size, device)
    before = map_tensors(lambda t: t.clone(), memory)
    out = model(idx[:, :window], memory=memory)
    assert isinstance(out, tuple) and len(out) == 2, "model(idx, memory=m) must return (logits, memory)"
    logits, new = out
    assert tuple(logits.shape) == (batch_size, window, vocab_size), f"logits {tuple(logits.shape)}"
    assert not any(t.requires_grad for t in _tensors(new)), \
        "the new memory must be detached (truncated backprop through time)"
    assert memory_rows(new) in (None, batch_size), f"the memory holds {memory_rows(new)} rows, not {batch_size}"
    skeleton, tensors = flatten_state(new)  # storable in last.json's training state
    unflatten_state(skeleton, tensors)
    assert all(torch.equal(a, b) for a, b in zip(_tensors(memory), _tensors(before))), \
        "reading must not change the memory it was given"
    if equals_long_pass:
        model.eval()
        with torch.no_grad():
            whole, _ = model(idx)
            memory, parts = model.init_memory(batch_size, device), []
            for s in range(0, idx.size(1), window):
                part, memory = model(idx[:, s:s + window], memory=memory)
                parts.append(part)
        torch.testing.assert_close(torch.cat(parts, 1), whole, atol=atol, rtol=rtol)
    model.train(was_training)
