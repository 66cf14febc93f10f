"""The shipped music models on ONNX Runtime against torch fp32 eager, side by side in one run.

    python benchmarks/music_onnx.py --data ../shared/data/maestro-v2.0.0 [--model music-transformer|compressive]

Rows (all on this machine, one intra-op thread, batch 1, the same run):

* ``decode``: tokens/s sampling after a primer (``--primer`` tokens of a validation piece, then
  ``--new`` tokens, temperature 1) for torch fp32 (``seqkit.generate``, as ``music generate``
  calls it), ONNX Runtime fp32 and ONNX Runtime int8 (``seqkit.generation.generate_numpy``), median of
  ``--repeats``.
* ``step``: ms of CPU per one-token step after the primer (the primer excluded; the same token
  fed ``--new`` times), per variant, median of ``--repeats``: decoding alone, without sampling.
* ``nll``: mean NLL (nats/token) of the first ``--nll-tokens`` tokens of MAESTRO's validation
  pieces (csv order), read in windows of ``--window`` tokens that each start from ``<bos>``, for
  each variant: the price of int8.
* ``generate``: ``seqkit music generate --seconds S --seed N`` as a user runs it (with the graph
  that ships: int8 for both models), per backend: wall seconds
  (imports included), CPU seconds, the seconds of music made, music seconds per wall and per CPU
  second. The backends draw different random numbers, so a seed gives each another piece with
  another number of tokens: compare tokens per second too.
* ``cache``: ms per one-token step (wall and CPU) at contexts ``--contexts``, int8 weights: the
  former step graph that takes the whole key/value cache in and gives it out grown ("cache in/out")
  against the shipped runner over buffers written in place ("buffers").
* graph sizes.

Where the graph in git is still the former design (the whole cache in and out of the graph each
step, core's ``OnnxLM``), it is measured too, as "onnx int8, cache in/out (in git)".

The graphs are exported into a temporary copy of the checkpoint (fp32 and int8), so the shipped
files are not touched.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def checkpoint_copy(name: str, tmp: Path, quantize: str | None) -> Path:
    """The shipped checkpoint copied to ``tmp/<variant>/`` with its graph exported there."""
    from seqkit import find_checkpoint
    from seqkit.onnx.export import export_onnx

    src = find_checkpoint(name, "music")
    meta = json.loads(src.read_text())
    out = tmp / (quantize or "fp32")
    out.mkdir()
    shutil.copy(src, out / src.name)
    shutil.copy(src.parent / meta["weights"], out / meta["weights"])
    set_quantize(meta["model_type"], quantize)
    # int8=False: float32 even though the shipped JSON records int8 graphs (which export would keep)
    export_onnx(out / src.name, int8=False if quantize is None else None)
    return out / src.name


def set_quantize(model_type: str, quantize: str | None) -> None:
    if model_type == "compressive":
        from seqkit_compressive import onnx_graphs as mod
    else:
        from seqkit_midi_transformer import onnx_step as mod
    mod.QUANTIZE = quantize


def validation_tokens(data: Path, tok, n: int) -> list[list[int]]:
    """Pieces of MAESTRO's validation split (csv order), tokenized, until ``n`` tokens."""
    rows = [r for r in csv.DictReader(open(data / "maestro-v2.0.0.csv")) if r["split"] == "validation"]
    pieces, total = [], 0
    for r in rows:
        ids = tok.encode(data / r["midi_filename"])
        pieces.append(ids[: n - total])
        total += len(pieces[-1])
        if total >= n:
            break
    return pieces


def windows(pieces, bos: int, window: int):
    for ids in pieces:
        for lo in range(0, len(ids), window - 1):
            yield [bos] + ids[lo: lo + window - 1]


def nll_torch(model, pieces, bos, window) -> tuple[float, int]:
    total, count = 0.0, 0
    with torch.no_grad():
        for w in windows(pieces, bos, window):
            x = torch.tensor([w])
            logits, _ = model(x[:, :-1], cache=model.new_cache())
            lp = logits.float().log_softmax(-1)[0].gather(-1, x[0, 1:, None])
            total -= float(lp.sum())
            count += len(w) - 1
    return total / count, count


def nll_onnx(model, pieces, bos, window) -> tuple[float, int]:
    total, count = 0.0, 0
    for w in windows(pieces, bos, window):
        x = np.array([w], dtype=np.int64)
        logits, _ = model(x[:, :-1])
        z = logits[0].astype(np.float64)
        lse = np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)) + z.max(-1)
        total += float((lse - z[np.arange(len(w) - 1), x[0, 1:]]).sum())
        count += len(w) - 1
    return total / count, count


def decode_rates(runs: dict, repeats: int) -> tuple[dict, dict]:
    """Median tokens per wall second and per CPU second (this process's: both backends run on
    one thread) of each run, the runs taking turns (a load change hits them all alike). On a
    loaded machine the CPU-second rate is the steadier one."""
    wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
    for _ in range(repeats):
        for k, run in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            n = run()
            wall[k].append(n / (time.perf_counter() - t0))
            cpu[k].append(n / (time.process_time() - c0))
    return ({k: statistics.median(v) for k, v in wall.items()}, {k: statistics.median(v) for k, v in cpu.items()})


def torch_run(model, prompt, new, tok):
    from seqkit import generate

    def run():
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            out = generate(model, torch.tensor([prompt]), new, generator=g, suppress_ids=(tok.pad_id, tok.bos_id))
        return out.shape[1]
    return run


def onnx_run(model, prompt, new, tok):
    from seqkit.generation import generate_numpy

    def run():
        out = generate_numpy(model, np.array([prompt]), new, rng=np.random.default_rng(0),
                             suppress_ids=(tok.pad_id, tok.bos_id))
        return out.shape[1]
    return run


def cache_costs(model, tmp: Path, contexts: list[int], runner=None, repeats: int = 5, steps: int = 20) -> dict:
    """ms per one-token step (int8 weights) at each context: the former step graph, which takes
    the whole float32 cache in and gives the grown cache out (``MusicStep``, "cache in/out"), and
    ``runner`` (the shipped design: ``OnnxMusic`` over buffers it writes in place, "buffers"),
    each step of the latter reading ``n .. n + steps - 1`` earlier tokens."""
    from seqkit_midi_transformer.onnx_step import MusicStep

    from seqkit.generation.inference import make_session
    from seqkit.onnx.export import OPSET, _float32_weights, _quantize, _simplify

    c = model.config
    L, H, D = c.n_layer, c.n_head, c.n_embd // c.n_head
    state = torch.zeros(L, 1, H, 0, D)
    f = tmp / "cache_in_out.onnx"
    axes = {"idx": {1: "T"}, "state_0": {3: "past"}, "state_1": {3: "past"}, "out_0": {3: "total"},
            "out_1": {3: "total"}}
    torch.onnx.export(MusicStep(model).eval(), (torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, dtype=torch.long),
                                                state, state), f, input_names=["idx", "cond", "state_0", "state_1"],
                      output_names=["logits", "out_0", "out_1"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    sess = make_session(_quantize(_float32_weights(_simplify(f.read_bytes())), ["MatMul"]))
    out = {}
    rng = np.random.default_rng(0)

    def timed(step):
        times, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            times.append((time.perf_counter() - t0) / steps * 1000)
            cpu.append((time.process_time() - c0) / steps * 1000)
        return round(statistics.median(times), 2), round(statistics.median(cpu), 2)

    for n in contexts:
        row = {}
        st = rng.standard_normal((L, 1, H, n, D)).astype(np.float32)
        feeds = {"idx": np.array([[5]]), "state_0": st, "state_1": st}
        feeds = {i.name: feeds[i.name] for i in sess.get_inputs()}

        def old(feeds=feeds):
            for _ in range(steps):
                sess.run(None, feeds)
        row["cache in/out"], row["cache in/out, CPU"] = timed(old)
        if runner is not None:
            _, buf = runner(rng.integers(3, 388, (1, n)))

            def new(buf=buf, n=n):
                buf.n = n
                buf.mask[:] = -np.inf
                buf.mask[:n] = 0.0
                for _ in range(steps):
                    runner(np.array([[5]]), cache=buf)
            row["buffers"], row["buffers, CPU"] = timed(new)
        out[n] = row
    return out


def step_costs(model, onnx: dict, prompt: list[int], new: int, repeats: int) -> dict:
    """ms of CPU per one-token step after ``prompt`` (torch fp32 and each ONNX variant, in turns)."""
    def torch_steps():
        with torch.no_grad():
            _, c = model(torch.tensor([prompt]), cache=model.new_cache())
            c0 = time.process_time()
            for _ in range(new):
                _, c = model(torch.tensor([[5]]), cache=c)
            return time.process_time() - c0

    def onnx_steps(m):
        def run():
            _, c = m(np.array([prompt]))
            c0 = time.process_time()
            for _ in range(new):
                _, c = m(np.array([[5]]), cache=c)
            return time.process_time() - c0
        return run

    runs = {"torch fp32": torch_steps, **{k: onnx_steps(m) for k, m in onnx.items()}}
    ms = {k: [] for k in runs}
    for _ in range(repeats):
        for k, run in runs.items():
            ms[k].append(run() / new * 1000)
    return {k: round(statistics.median(v), 3) for k, v in ms.items()}


def cli_generate(ckpt: Path, seconds: float, backend: str, seed: int, tmp: Path) -> dict:
    env = {**os.environ, "SEQKIT_BACKEND": backend, "SEQKIT_PROGRESS": "0"}
    env.pop("OMP_NUM_THREADS", None)  # as a user runs it: the command picks its threads
    out = tmp / f"gen-{backend}.mid"
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "seqkit", "music", "generate", "--model", str(ckpt), "--seconds",
                        str(seconds), "--seed", str(seed), "-o", str(out), "--json"],
                       capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if r.returncode:
        raise SystemExit(r.stderr)
    res = json.loads(r.stdout)
    piece = res["results"][0]
    music = float(piece.get("time_reached", piece["seconds"]))
    return {"backend": res["backend"], "wall_s": round(wall, 2), "music_s": music, "tokens": piece["tokens"],
            "music_s_per_wall_s": round(music / wall, 2), "cpu_s": round(cpu, 2),
            "music_s_per_cpu_s": round(music / cpu, 2), "sampling_s": res["seconds_taken"],
            "music_s_per_sampling_s": round(music / res["seconds_taken"], 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="music-transformer")
    ap.add_argument("--primer", type=int, default=256)
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nll-tokens", type=int, default=20_470)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--skip", nargs="*", default=[], choices=["decode", "step", "nll", "generate", "cache"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--contexts", nargs="+", type=int, default=[256, 1024, 1900])
    args = ap.parse_args()
    from seqkit import find_checkpoint, load_checkpoint, load_for_inference

    results = {"model": args.model, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        paths = {"onnx fp32": checkpoint_copy(args.model, tmp, None),
                 "onnx int8": checkpoint_copy(args.model, tmp, "int8")}
        ck = load_checkpoint(paths["onnx fp32"])
        model, tok = ck.model.float().eval(), ck.tokenizer
        onnx = {k: load_for_inference(p).model for k, p in paths.items()}
        shipped = load_for_inference(find_checkpoint(args.model, "music")).model
        if type(shipped).__name__ == "OnnxLM":  # the graph in git is the former design: measure it too
            onnx["onnx int8, cache in/out (in git)"] = shipped
        results["graph_bytes"] = {k: sum(f.stat().st_size for f in p.parent.glob("*.onnx")) for k, p in paths.items()}
        results["weights_bytes"] = paths["onnx fp32"].parent.joinpath(ck.meta["weights"]).stat().st_size
        pieces = validation_tokens(args.data, tok, max(args.nll_tokens, args.primer))
        if "decode" not in args.skip:
            prompt = [tok.bos_id] + pieces[0][: args.primer - 1]
            runs = {"torch fp32": torch_run(model, prompt, args.new, tok)}
            runs.update({k: onnx_run(m, prompt, args.new, tok) for k, m in onnx.items()})
            rows, cpu = decode_rates(runs, args.repeats)
            results["decode_tokens_per_s"] = {k: round(v, 1) for k, v in rows.items()}
            results["decode_speedup"] = {k: round(v / rows["torch fp32"], 2) for k, v in rows.items()}
            results["decode_tokens_per_cpu_s"] = {k: round(v, 1) for k, v in cpu.items()}
            results["decode_speedup_cpu"] = {k: round(v / cpu["torch fp32"], 2) for k, v in cpu.items()}
            print(json.dumps(results["decode_tokens_per_s"]), json.dumps(results["decode_tokens_per_cpu_s"]), flush=True)
        if "step" not in args.skip:
            prompt = [tok.bos_id] + pieces[0][: args.primer - 1]
            results["step_cpu_ms"] = step_costs(model, prompt=prompt, onnx=onnx, new=args.new, repeats=args.repeats)
            print(json.dumps(results["step_cpu_ms"]), flush=True)
        if "nll" not in args.skip:
            nll = {"torch fp32": nll_torch(model, pieces, tok.bos_id, args.window)}
            nll.update({k: nll_onnx(m, pieces, tok.bos_id, args.window) for k, m in onnx.items()})
            results["nll_tokens"] = nll["torch fp32"][1]
            results["nll"] = {k: round(v[0], 5) for k, v in nll.items()}
            print(json.dumps(results["nll"]), flush=True)
        if "cache" not in args.skip and ck.meta["model_type"] == "music-transformer":
            results["cache_ms_per_step"] = cache_costs(model, tmp, args.contexts, onnx["onnx int8"])
            print(json.dumps(results["cache_ms_per_step"]), flush=True)
        if "generate" not in args.skip:
            ships = json.loads(find_checkpoint(args.model, "music").read_text()).get("onnx_precision")
            shipped = "onnx int8" if ships == "int8" else "onnx fp32"
            results["generate_graph"] = shipped
            results["generate"] = [cli_generate(paths[shipped], args.seconds, b, seed, tmp)
                                   for seed in args.seeds for b in ("torch", "auto")]
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
