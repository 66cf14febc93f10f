"""`seqkit text generate` as a registered generator: one declaration gives the command line, the
Python API (`seqkit.generation.run_generator("text", primer="Once")`), `--json` and `seqkit serve`'s form.
Cheap to import: torch is imported when it runs."""

from __future__ import annotations

from seqkit import (
    Generator,
    Output,
    Param,
    Result,
    count_param,
    device_param,
    model_param,
    seed_param,
    temperature_param,
    top_k_param,
    top_p_param,
)

TEXT = Generator(
    "text",
    "seqkit_text.generator:continue_text",
    [
        Param("primer", "str", "", "Text to continue (default: a new line).", flags=("--primer", "-p")),
        model_param("default", help="Model name or checkpoint path."),
        Param("length", "int", 200, "Tokens to generate.", min=1, max=100_000, flags=("--length", "-l")),
        count_param(1, max=256, help="How many samples."),
        temperature_param(0.8),
        top_k_param(),
        top_p_param(),
        seed_param(),
        device_param(),
    ],
    task="text",
    description="Continue PRIMER with a trained model; prints the primer and what follows.",
    command="text generate",
)


def continue_text(primer, model, length, count, temperature, top_k, top_p, seed, device, ctx=None) -> Result:
    import torch

    from seqkit import SeqkitError, find_checkpoint, generate, list_checkpoints, load_checkpoint, pick_device

    if model == "default" and not list_checkpoints("text"):
        raise SeqkitError("no text model yet: train one with `seqkit text train --data corpus.txt`")
    dev = pick_device(device)
    ckpt = load_checkpoint(find_checkpoint(model, "text"), device=dev, expect_task="text")
    tok, notes = ckpt.tokenizer, []
    start = primer or "\n"
    missing = tok.unknown(start) if hasattr(tok, "unknown") else []
    if missing:
        notes.append(f"not in the model's vocabulary, read as <unk>: {' '.join(map(repr, missing))}")
    prompt = torch.tensor([tok.encode(start)] * count, dtype=torch.long, device=dev)
    generator = torch.Generator(device=dev).manual_seed(seed) if seed is not None else None
    # training windows are plain text: <pad>, <bos>, <eos>, <unk> never follow a character there
    specials = [i for i in (getattr(tok, n, None) for n in ("pad_id", "bos_id", "eos_id", "unk_id")) if i is not None]
    out = generate(ckpt.model, prompt, length, temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0,
                   suppress_ids=specials, generator=generator)
    outputs = [Output(primer + tok.decode(row), meta={"primer": primer}) for row in out.tolist()]
    return Result(outputs, {"model": ckpt.path.stem, "temperature": temperature, "seed": seed}, notes)


def show(result: Result) -> None:
    """Samples separated by a line of ---, as they may span many lines."""
    for i, out in enumerate(result.outputs):
        print(("\n---\n" if i else "") + out.text)
