"""The FastAPI app: the page, and the JSON API it is built on.

    GET  /api/generators             every registered generator, its parameter schema, the limits
    POST /api/run/{name}             run one (JSON object, or multipart/form-data with uploads);
                                     waits for the result, or with ?wait=false answers 202 + a job
    GET  /api/jobs/{id}              a job: queued (position), running (progress), done, error ...
    POST /api/jobs/{id}/cancel       stop a queued or running job
    GET  /api/jobs/{id}/files/{i}/{suffix}   output i's file (mid, wav, png ...)
    GET  /api/examples/{name}/{i}/{param}   the file an example of a generator uploads (a primer)
    GET  /runs, /api/runs ...        with --runs DIR: the Runs page (see runs.py)
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

import seqkit
from seqkit import SeqkitError

from .guard import BodyTooLarge, Guard
from .jobs import Job, JobQueue, QueueFull
from .params import cap_tokens, from_form, from_json, refuse_paths
from .settings import Settings

STATIC = resources.files("seqkit_serve") / "static"
MEDIA_TYPES = {"mid": "audio/midi", "midi": "audio/midi", "wav": "audio/wav", "png": "image/png",
               "abc": "text/vnd.abc; charset=utf-8", "txt": "text/plain; charset=utf-8",
               "json": "application/json", "svg": "image/svg+xml", "mp3": "audio/mpeg", "ogg": "audio/ogg"}


def create_app(settings: Settings | None = None, runs: str | Path | None = None) -> FastAPI:
    """``runs``: a folder of training runs for the Runs page (``seqkit serve --runs DIR``)."""
    settings = settings or Settings()
    jobs = JobQueue(settings.max_waiting, settings.keep_jobs)
    app = FastAPI(title="seqkit serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.jobs = settings, jobs
    app.add_exception_handler(BodyTooLarge, lambda request, exc: JSONResponse({"error": str(exc)}, status_code=413))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", response_class=HTMLResponse)
    def page():
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/generators")
    def list_generators():
        return {"generators": [g.schema() for g in seqkit.generators().values()],
                "limits": settings.limits(), "runs": runs is not None}

    @app.get("/api/examples/{name}/{index}/{param}")
    def example_file(name: str, index: int, param: str):
        gen = seqkit.generators().get(name)
        examples = gen.examples if gen is not None else []
        if not 0 <= index < len(examples) or param not in examples[index].files:
            return JSONResponse({"error": f"no example file {name}/{index}/{param}"}, status_code=404)
        try:
            filename, data = examples[index].files[param]()
        except SeqkitError as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
        safe = "".join(c for c in Path(str(filename)).name if c.isalnum() or c in "._-") or "example"
        return Response(data, media_type=MEDIA_TYPES.get(safe.rsplit(".", 1)[-1], "application/octet-stream"),
                        headers={"content-disposition": f'attachment; filename="{safe}"'})

    if runs is not None:
        from .runs import runs_router

        app.include_router(runs_router(runs, STATIC))

    @app.post("/api/run/{name}")
    async def run(name: str, request: Request, wait: bool = True):
        try:
            gen = seqkit.get_generator(name)
        except SeqkitError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        try:
            job = await _submit(gen, request, settings, jobs)
        except SeqkitError as exc:
            return JSONResponse({"error": str(exc)}, status_code=429 if isinstance(exc, QueueFull) else 422)
        if not wait:
            return JSONResponse(describe(job, jobs), status_code=202)
        await _until_finished(job, request, jobs)
        return JSONResponse(describe(job, jobs), status_code=422 if job.status == "error" else 200)

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str):
        job = jobs.get(job_id)
        return describe(job, jobs) if job else _no_job(job_id)

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return _no_job(job_id)
        jobs.cancel(job)
        return describe(job, jobs)

    @app.get("/api/jobs/{job_id}/files/{index}/{suffix}")
    def output_file(job_id: str, index: int, suffix: str):
        job = jobs.get(job_id)
        outputs = job.result.outputs if job and job.result else []
        if not 0 <= index < len(outputs) or suffix not in outputs[index].files:
            return JSONResponse({"error": f"no file {index}/{suffix} in job {job_id}"}, status_code=404)
        name = f"{job.generator}-{index + 1}.{suffix}"
        return Response(outputs[index].files[suffix], media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"),
                        headers={"content-disposition": f'inline; filename="{name}"'})

    return Guard(app, settings)


async def _until_finished(job: Job, request: Request, jobs: JobQueue) -> None:
    """Wait for ``job``; cancel it if the client goes away first."""
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    job.when_finished(lambda: loop.call_soon_threadsafe(finished.set))
    while not finished.is_set():
        try:
            await asyncio.wait_for(finished.wait(), timeout=0.5)
        except asyncio.TimeoutError:
            if await request.is_disconnected():
                jobs.cancel(job)
                return


async def _submit(gen, request: Request, settings: Settings, jobs: JobQueue) -> Job:
    """The request's values checked (paths refused, uploads saved, the CLI's checks, the token cap)
    and queued as a job; the upload folder goes when the job ends."""
    folder = Path(tempfile.mkdtemp(prefix="seqkit-serve-"))
    try:
        values = await _read_values(gen, request, settings, folder)
        refuse_paths(gen, values)
        checked = gen.check(values)
        cap_tokens(gen, checked, settings.max_tokens)
        key = (gen.name, str(checked.get("model") or ""))
        job = Job(gen.name, key, lambda ctx: gen(ctx=ctx, **checked),
                  cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
                  uploads={str(v): v.name for v in checked.values() if isinstance(v, Path) and v.parent == folder})
        return jobs.submit(job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


async def _read_values(gen, request: Request, settings: Settings, folder: Path) -> dict:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=16, max_fields=256)
        read = {}
        for _, item in form.multi_items():
            if not isinstance(item, str):
                read[id(item)] = await item.read(settings.max_upload_bytes + 1)
        return from_form(gen, form, settings.max_upload_bytes, folder, read)
    body = await request.body()
    if not body.strip():
        return {}
    if kind != "application/json":
        raise SeqkitError(f"send the parameters as application/json or multipart/form-data, not {kind or 'no type'!r}")
    import json

    try:
        return from_json(gen, json.loads(body))
    except ValueError as exc:
        raise SeqkitError(f"the request body is not JSON ({exc})") from None


def describe(job: Job, jobs: JobQueue) -> dict:
    out = {"id": job.id, "generator": job.generator, "status": job.status,
           "position": jobs.position(job), "progress": {"done": job.done, "total": job.total, "label": job.label},
           "timing": job.timing()}
    if job.error is not None:
        out["error"] = job.error
    if job.result is not None:
        out["result"] = _unpath(job.result.to_dict(), job.uploads)
        for i, (row, output) in enumerate(zip(out["result"]["results"], job.result.outputs)):
            row.update(_unpath(row, job.uploads))
            if output.files:
                row["files"] = {s: f"/api/jobs/{job.id}/files/{i}/{s}" for s in sorted(output.files)}
    return jsonable_encoder(out)


def _unpath(meta: dict, uploads: dict) -> dict:
    """An upload's temporary path, where a generator echoes it, shown as the upload's name."""
    return {k: uploads.get(v, v) if isinstance(v, str) else v for k, v in meta.items()}


def _no_job(job_id: str) -> JSONResponse:
    return JSONResponse({"error": f"no job {job_id!r} (finished jobs are kept for a while only)"},
                        status_code=404)
