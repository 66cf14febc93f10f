"""The Runs page (``seqkit serve --runs DIR``): every training run folder under DIR, its
``metrics.jsonl`` as loss curves, its best and last step, and the command that resumes it.

Read-only: run folders are only listed and read (no lock taken, nothing written), and a run's
rows are read again at each request, so the page follows a run that is still training (it asks every 2 s
while a run trains, every 10 s otherwise).

    GET /runs                  the page
    GET /api/runs              the runs: name, task, arch, steps, best, last, going, resume command
    GET /api/runs/{name}       one run's rows (step, losses, accuracies, learning rate)
"""

from __future__ import annotations

import json
import math
import shlex
import time
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

GOING_SECONDS = 300  # a run whose metrics changed this recently is shown as still going
MAX_DEPTH = 3  # run folders this deep under DIR (DIR/name, DIR/group/name ...)
MAX_ROWS = 20_000  # a run's rows sent to the page (the newest kept)
KEYS = ("step", "epoch", "train_loss", "val_loss", "train_acc", "val_acc", "lr", "time")


def find_runs(root: Path) -> dict[str, Path]:
    """Run folders under ``root`` (``root`` itself too): folders holding ``metrics.jsonl`` or a
    ``last.json``, by their path relative to ``root`` (``.`` for ``root``)."""
    found: dict[str, Path] = {}

    def visit(folder: Path, depth: int) -> None:
        if (folder / "metrics.jsonl").is_file() or (folder / "last.json").is_file():
            found[folder.relative_to(root).as_posix() or "."] = folder
        if depth >= MAX_DEPTH:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            visit(child, depth + 1)

    if root.is_dir():
        visit(root, 0)
    return found


def read_rows(folder: Path) -> list[dict]:
    """The evaluation rows of ``folder/metrics.jsonl``; a half-written last line (the run is
    writing it) or a damaged one is left out."""
    try:
        text = (folder / "metrics.jsonl").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append({k: _finite(row.get(k)) for k in KEYS if row.get(k) is not None})
    return rows[-MAX_ROWS:]


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary(name: str, folder: Path, shown_root: str) -> dict:
    rows = read_rows(folder)
    meta = {}
    try:
        meta = json.loads((folder / "last.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    meta = meta if isinstance(meta, dict) else {}
    task = str(meta.get("task") or "")
    arch = str((meta.get("extra") or {}).get("arch") or "") if isinstance(meta.get("extra"), dict) else ""
    scored = [(r.get("val_loss", r.get("train_loss")), r["step"]) for r in rows
              if r.get("val_loss", r.get("train_loss")) is not None]
    best = min(scored) if scored else None
    changed = max((_mtime(folder / n) for n in ("metrics.jsonl", "last.json")), default=0.0)
    age = time.time() - changed if changed else None
    out_dir = shown_root if name == "." else f"{shown_root.rstrip('/')}/{name}"
    command = ["seqkit", task or "TASK", "train"] + (["--arch", arch] if arch else []) + ["--out", out_dir, "--resume"]
    return {"name": name, "task": task, "arch": arch, "model_type": meta.get("model_type"),
            "evaluations": len(rows), "last_step": rows[-1]["step"] if rows else None,
            "best_step": best[1] if best else None, "best_loss": best[0] if best else None,
            "best_on": ("val" if rows and any("val_loss" in r for r in rows) else "train") if best else None,
            "last_loss": scored[-1][0] if scored else None,
            "updated_seconds_ago": round(age, 1) if age is not None else None,
            "going": age is not None and age < GOING_SECONDS,
            "resume": " ".join(shlex.quote(c) for c in command)}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def runs_router(root: str | Path, static) -> APIRouter:
    """The routes of the Runs page over the run folders under ``root`` (as the user typed it: it
    is what the resume commands show)."""
    shown_root = str(root)
    root = Path(root).expanduser()
    router = APIRouter()

    @router.get("/runs", response_class=HTMLResponse)
    def runs_page():
        return HTMLResponse((static / "runs.html").read_text(encoding="utf-8"))

    @router.get("/api/runs")
    def list_runs():
        found = [summary(name, folder, shown_root) for name, folder in find_runs(root).items()]
        # the page asks again soon while a run trains, now and then otherwise (a new run appears)
        return {"runs": found, "refresh_seconds": 2 if any(r["going"] for r in found) else 10}

    @router.get("/api/runs/{name:path}")
    def one_run(name: str):
        folder = find_runs(root).get(name)  # only a folder that was listed: never a path from the client
        if folder is None:
            return JSONResponse({"error": f"no run {name!r} under the runs folder"}, status_code=404)
        return {**summary(name, folder, shown_root), "rows": read_rows(folder)}

    return router
