"""The FastAPI app: the page, and the JSON API it is built on.

    GET  /api/generators             every registered generator, its parameter schema, the limits
    POST /api/run/{name}             run one (JSON object, or multipart/form-data with uploads);
                                     waits for the result, or with ?wait=false answers 202 + a job
    GET  /api/jobs/{id}              a job: queued (position), running (progress), done, error ...
    POST /api/jobs/{id}/cancel       stop a queued or running job
    GET  /api/jobs/{id}/files/{i}/{suffix}   output i's file (mid, wav, png ...)
    GET  /api/examples/{name}/{i}/{param}   the file an example of a generator uploads (a primer)
    GET  /runs, /api/runs ...        with --runs DIR: the Runs page (see runs.py)

Every error is ``{"error": "..."}`` (unknown routes, wrong methods and malformed query values too);
no answer names a path on the server (see :func:`scrub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
import secrets
import shutil
import sys
import tempfile
import traceback
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

import seqkit
from seqkit import SeqkitError

from .guard import BodyTooLarge, Guard
from .jobs import Job, JobQueue, QueueFull
from .params import cap_tokens, from_form, from_json, refuse_paths
from .settings import Settings
from .uploads import MIDI_SUFFIXES, MidiChecker, UploadBusy

CLIENT_COOKIE = "seqkit_client"

STATIC = resources.files("seqkit_serve") / "static"
MEDIA_TYPES = {"mid": "audio/midi", "midi": "audio/midi", "wav": "audio/wav", "png": "image/png",
               "abc": "text/vnd.abc; charset=utf-8", "txt": "text/plain; charset=utf-8",
               "json": "application/json", "svg": "image/svg+xml", "mp3": "audio/mpeg", "ogg": "audio/ogg"}


def create_app(settings: Settings | None = None, runs: str | Path | None = None) -> FastAPI:
    """``runs``: a folder of training runs for the Runs page (``seqkit serve --runs DIR``)."""
    settings = settings or Settings()
    jobs = JobQueue(settings.max_waiting, settings.keep_jobs, settings.per_client, settings.keep_bytes)
    checker = MidiChecker()
    clients = ClientIds()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        checker.close()

    app = FastAPI(title="seqkit serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings, app.state.jobs, app.state.checker = settings, jobs, checker
    app.add_exception_handler(BodyTooLarge, lambda request, exc: JSONResponse({"error": str(exc)}, status_code=413))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request):
        answer = HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))
        if not clients.known(request.cookies.get(CLIENT_COOKIE)):
            answer.set_cookie(CLIENT_COOKIE, clients.new(), httponly=True, samesite="strict", path="/")
        return answer

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
            job = await _submit(gen, request, settings, jobs, checker, clients.of(request))
        except QueueFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=429,
                                headers={"retry-after": str(exc.retry_after)})
        except UploadBusy as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"retry-after": "5"})
        except SeqkitError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
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


async def _submit(gen, request: Request, settings: Settings, jobs: JobQueue, checker: MidiChecker,
                  client: str) -> Job:
    """The request's values checked (paths refused, uploads saved and, for MIDI, parsed in the
    checker's process, the CLI's checks, the token and audio caps) and queued as a job, in the
    queue of the checkpoint it will run; the upload folder goes when the job ends."""
    folder = Path(tempfile.mkdtemp(prefix="seqkit-serve-"))
    try:
        values = await _read_values(gen, request, settings, folder)
        uploads = {str(v): v.name for v in values.values() if isinstance(v, Path) and folder in v.parents}
        uploads[str(folder)] = "(upload)"
        try:
            for name, value in values.items():
                if isinstance(value, Path) and value.suffix.lower() in MIDI_SUFFIXES:
                    await checker.check(gen.param(name), value.name, value.read_bytes(),
                                        settings.max_primer_notes, settings.max_seconds)
            refuse_paths(gen, values)
            checked = gen.check(values)
            cap_tokens(gen, checked, settings.max_tokens)
            cap_seconds(gen, values, checked, settings)
        except SeqkitError as exc:  # about the client's own values (shown as sent), or an upload
            exc.args = (unupload(str(exc), uploads),)
            raise
        model = str(checked.get("model") or "")
        job = Job(gen.name, (gen.name, _model_key(gen, model)), lambda ctx: gen(ctx=ctx, **checked),
                  cleanup=lambda: shutil.rmtree(folder, ignore_errors=True), uploads=uploads, client=client,
                  model=model)
        return jobs.submit(job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _model_key(gen, model: str) -> str:
    """The checkpoint a run will load, as its real path: ``music-transformer`` and the default
    (which the generator fills in) are one queue; a name that does not resolve is its own key."""
    if not model:
        return ""
    try:
        return str(seqkit.find_checkpoint(model, gen.task).resolve())
    except Exception:  # the generator says what is wrong with it, in its run
        return model


def cap_seconds(gen, values: dict, checked: dict, settings: Settings) -> None:
    """A generator's ``max_seconds`` parameter (seconds of music per piece: primer, output, WAV) is
    at most the server's ``max_seconds``, and ``count`` x it at most ``max_audio_seconds`` (the
    audio one request may render): when the client did not set it, it is lowered to fit."""
    if "max_seconds" not in checked or checked["max_seconds"] is None:
        return
    count = int(checked.get("count") or 1)
    flag = gen.param("max_seconds").flag
    if checked["max_seconds"] > settings.max_seconds:
        raise SeqkitError(f"{flag} {checked['max_seconds']:g} is more than this server allows "
                          f"({settings.max_seconds:g} s per piece; seqkit serve --max-seconds)")
    if values.get("max_seconds") is None:
        checked["max_seconds"] = min(checked["max_seconds"], settings.max_audio_seconds / count)
    if count * checked["max_seconds"] > settings.max_audio_seconds * (1 + 1e-9):
        raise SeqkitError(f"this request may render up to {count * checked['max_seconds']:,.0f} s of audio "
                          f"({count} piece(s) x {checked['max_seconds']:g} s ({flag})); this server renders at "
                          f"most {settings.max_audio_seconds:,g} s per request (seqkit serve --max-audio-seconds)")


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
        out["error"] = scrub(job.error, job.uploads)
    if job.result is not None:
        out["result"] = _unpath(job.result.to_dict(), job.uploads)
        for i, (row, output) in enumerate(zip(out["result"]["results"], job.result.outputs)):
            row.update(_unpath(row, job.uploads))
            if output.files:
                row["files"] = {s: f"/api/jobs/{job.id}/files/{i}/{s}" for s in sorted(output.files)}
    return jsonable_encoder(out)


# an absolute path inside a text: its folders go, its name stays
_PATH = re.compile(r"(?<![\w.:/-])(?:/[^\s/'\"`:;,()<>|]+)+/([^\s/'\"`:;,()<>|]+)")


def scrub(text: str, uploads: dict | None = None) -> str:
    """``text`` (what a run said: an error, a note) with no path of this server in it: an upload's
    temporary path becomes the name the client gave the file, any other absolute path its last part
    (``/home/me/.local/.../gru.json``: ``gru.json``)."""
    return _PATH.sub(r"\1", unupload(text, uploads))


def unupload(text: str, uploads: dict | None) -> str:
    """``text`` with each upload's temporary path replaced by the name the client gave the file."""
    for path, name in sorted((uploads or {}).items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    return text


def _unpath(meta: dict, uploads: dict) -> dict:
    """Meta values without server paths: an upload's path is the upload's name, a checkpoint's path
    (a value that is one whole path to a ``.json``) the checkpoint's name, any other path its last
    part; notes and lists alike."""
    def clean(value):
        if isinstance(value, str):
            if value in uploads:
                return uploads[value]
            if value.startswith("/") and value.endswith(".json") and not any(c.isspace() for c in value):
                return Path(value).stem
            return scrub(value, uploads)
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {k: clean(v) for k, v in meta.items()}


class ClientIds:
    """Who a request comes from, so that each client gets a bounded share of every queue: the page
    gets a cookie (signed by this server, so a client cannot pick another's), and a request without
    one is its address (every cookie-less script on this machine is one client: 127.0.0.1)."""

    def __init__(self):
        self._key = secrets.token_bytes(32)

    def new(self) -> str:
        token = secrets.token_hex(12)
        return f"{token}.{self._sign(token)}"

    def known(self, cookie: str | None) -> bool:
        token, _, signature = (cookie or "").partition(".")
        return bool(token) and hmac.compare_digest(signature, self._sign(token))

    def of(self, request: Request) -> str:
        cookie = request.cookies.get(CLIENT_COOKIE)
        if self.known(cookie):
            return "cookie:" + cookie.partition(".")[0]
        return "address:" + (request.client.host if request.client else "?")

    def _sign(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:24]


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    path = request.url.path[:200]
    if exc.status_code == 404:
        message = f"no such page or API endpoint: {path}"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow") or ""
        message = f"{request.method} is not allowed on {path}" + (f" (use {allowed})" if allowed else "")
    elif exc.status_code == 400 and "invalid multipart" in str(exc.detail).lower():
        message = ("the form could not be read: it is not valid multipart/form-data (or a file name or "
                   "header in it is too long)")
    elif exc.status_code == 400:  # the multipart parser's limits: too many files, fields ...
        message = f"the form could not be read: {scrub(str(exc.detail))}"
    else:
        message = scrub(str(exc.detail))
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A malformed path or query value: ``/api/jobs/x/files/abc/wav`` is a 404 (there is no such
    file), ``?wait=maybe`` a 422 that says what ``wait`` takes."""
    errors = exc.errors()
    if any(e.get("loc", ("",))[0] == "path" for e in errors):
        return JSONResponse({"error": f"no such page or API endpoint: {request.url.path[:200]}"}, status_code=404)
    parts = []
    for e in errors:
        where, got = (e["loc"][-1] if e.get("loc") else "value"), str(e.get("input"))[:60]
        if e.get("type") == "bool_parsing":
            parts.append(f"{where} must be true or false, not {got!r}")
        else:
            parts.append(f"{where}: {e.get('msg', 'not a valid value').lower()} (got {got!r})")
    return JSONResponse({"error": "; ".join(parts) or "the request is malformed"}, status_code=422)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    traceback.print_exception(exc, file=sys.stderr)  # for the console; the client gets one line
    return JSONResponse({"error": f"the server failed on this request ({type(exc).__name__}); "
                                  f"the details are on its console"}, status_code=500)


def _no_job(job_id: str) -> JSONResponse:
    return JSONResponse({"error": f"no job {job_id!r} (finished jobs are kept for a while only)"},
                        status_code=404)
