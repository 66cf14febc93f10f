"""What `seqkit names eval` measures (the measures themselves are in ``evaluate.py``): per
generator, the held-out NLL per character, the agreement of a country classifier with the country
asked for, and the share of new names; one table, or everything with ``--json``. Options, threads,
JSON and errors are seqkit's (the eval kit).
"""

from __future__ import annotations

from seqkit import EvalRecipe, Param, SeqkitError, temperature_param

from .train import GENERATORS, TASK

NAMES_EVAL = EvalRecipe(
    task=TASK,
    evaluate="seqkit_names.evaluation:evaluate",
    params=[
        Param("classifier", "str", "classifier", "Country classifier name or path."),
        Param("per_country", "int", 100, "Names generated per country.", min=1, max=10000),
        temperature_param(),
    ],
    default_models="seqkit_names.evaluation:default_models",
    multiple=True,
    render="seqkit_names.evaluation:render",
    description="Held-out NLL per character, classifier agreement and share of new names, as one table. "
                f"[default models: those of {' '.join(GENERATORS)} that exist]",
    # small models, batches of short names: one thread; torch's default threads spin-wait on a busy
    # CPU (eval of two shipped models: 31 s instead of 4 s here while others trained)
    threads=1,
)


def default_models() -> list[str]:
    """The generators (user's or shipped) that exist."""
    from seqkit import find_checkpoint

    found = []
    for name in GENERATORS:
        try:
            find_checkpoint(name, TASK)
        except SeqkitError:
            continue
        found.append(name)
    return found


def evaluate(run) -> dict:
    from .data import load_folder, resolve_data
    from .evaluate import classifier_report, evaluate_generator, load_classifier
    from .sample import cpu_or_device, load_generator

    dev = cpu_or_device(run.device_option)  # auto: ONNX Runtime on the CPU where the graphs exist
    names_data = load_folder(resolve_data(run.data))
    clf = load_classifier(run.options["classifier"], dev)
    if list(clf.extra.get("countries") or []) != names_data.countries:
        raise SeqkitError(f"{clf.path} was trained on other countries than those of {names_data.source}")
    report = {"classifier": {"model": clf.path.stem, **classifier_report(clf, names_data, run.limit)},
              "data": names_data.source, "models": []}
    for i, spec in enumerate(run.models):
        run.progress(i, len(run.models), spec)
        report["models"].append(evaluate_generator(
            load_generator(spec, dev), clf, names_data, run.options["per_country"], run.options["temperature"],
            run.seed, limit=run.limit, batch_size=run.batch_size or 512))
    run.progress(len(run.models), len(run.models))
    return report


def render(report: dict):
    from rich.table import Table

    c, models = report["classifier"], report["models"]
    per_country = models[0]["generated"] // len(c["per_country"])
    table = Table(title=f"held-out NLL; {per_country} names per country at T={models[0]['temperature']}",
                  caption=f"classifier {c['model']}: {c['accuracy']:.1%} of {c['names']} held-out names "
                          f"({c['macro_accuracy']:.1%} averaged over countries)")
    for col in ("model", "params", "MB", "NLL/char", "agree", "new", "train s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in models:
        secs = r.get("train_seconds")
        label = r["model"] if r["model"] == r["arch"] else f"{r['model']} ({r['arch']})"
        table.add_row(label, f"{r['parameters']:,}", f"{r['size_bytes'] / 1e6:.2f}",
                      f"{r['nll']:.3f}", f"{r['agreement']:.1%}", f"{r['new']:.1%}",
                      f"{secs:.0f}" if secs else "?")
    return table
