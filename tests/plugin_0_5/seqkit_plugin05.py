"""A plugin written against seqkit 0.5, as its docs taught then: every name from ``seqkit``.

seqkit's tests load it as it is (tests/test_plugin_0_5.py). Since 0.6 most of these names live in
packages (``seqkit.models.KVCache``, ``seqkit.io.read_meta`` ...) and ``Renamed`` and
``deprecated=`` do nothing; importing them from ``seqkit`` still works until 0.7, the very same
objects, with one DeprecationWarning each that names the new home. Do not update its imports: it
is the 0.5 plugin.
"""

from __future__ import annotations

import json

import typer

from seqkit import (  # 0.5 names that stay in core's packages since 0.6.1 (the others came back)
    RNNLM,
    Arch,
    CharTokenizer,
    KVCache,
    Prepared,
    Renamed,
    RNNConfig,
    Task,
    TrainConfig,
    TrainRecipe,
    TransformerConfig,
    TransformerLM,
    carries_memory,
    check_run_folder,
    filter_logits,
    get_tokenizer_type,
    hookimpl,
    lm_loss,
    pad_sequences,
    plot_loss_curve,
    read_meta,
    rope_tables,
    save_checkpoint,
    seeded_split,
    train_command,
    user_checkpoint_dir,
)

ALSO_FROM_0_5 = (TransformerConfig, TransformerLM, check_run_folder, filter_logits, plot_loss_curve,
                 save_checkpoint, user_checkpoint_dir)

LINES = ["the cat sees the moon", "a dog finds a ball", "the bird hears the river", "my friend calls a child"] * 4


def _items(lines, tok):
    import torch

    items = []
    for line in lines:
        ids = torch.tensor(tok.encode(line, add_bos=True, add_eos=True))
        items.append({"input": ids[:-1], "target": ids[1:]})
    return items


def _collate(pad_id):
    def batch(items):
        return {"input": pad_sequences([it["input"].tolist() for it in items], pad_id),
                "target": pad_sequences([it["target"].tolist() for it in items], -100)}

    return batch


def prepare(run) -> Prepared:
    tok = CharTokenizer.build(LINES)
    train, val = seeded_split(LINES, 0.25, run.seed)
    return Prepared(_items(train, tok), _items(val, tok), tokenizer=tok, collate=_collate(tok.pad_id),
                    config={"vocab_size": tok.vocab_size})


RECIPE = TrainRecipe(
    task="old05",
    prepare=prepare,
    archs={"lstm": Arch("rnn-lm", {"cell": "lstm", "n_embd": 8, "hidden": 16, "n_layer": 1})},
    train={"steps": 3, "batch_size": 4, "lr": 1e-2},
    deprecated={"--layers": Renamed("n_layer", "int")},  # 0.5's hidden old flag: ignored since 0.6
    save_as="old05",
)

old05 = typer.Typer(help="A plugin written against seqkit 0.5.", no_args_is_help=True)
old05.command("train")(train_command(RECIPE))


@old05.command("check")
def check(checkpoint: str):
    """Use the names that moved, on a checkpoint that `train` wrote; print what they say (JSON)."""
    import torch

    meta = read_meta(checkpoint)
    tok = get_tokenizer_type("char").resolve().from_dict(meta["tokenizer"])
    model = RNNLM(RNNConfig(**meta["config"]))
    batch = _collate(tok.pad_id)(_items(LINES[:2], tok))
    loss = lm_loss(model, batch)[0]
    cos, _ = rope_tables(8, 4)
    print(json.dumps({"task": meta.get("task"), "vocab": tok.vocab_size, "loss_finite": bool(torch.isfinite(loss)),
                      "rope": list(cos.shape), "cache": KVCache.__name__, "steps": TrainConfig(steps=5).steps,
                      "memory": carries_memory(model)}))


@hookimpl
def register_tasks(register):
    register(Task("old05", "a plugin written against seqkit 0.5"))


@hookimpl
def register_commands(app):
    app.add_typer(old05, name="old05")
