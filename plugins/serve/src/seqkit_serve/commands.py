"""``seqkit serve``: the web page and JSON API over every registered generator."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from seqkit import SeqkitError

from .connections import server_options
from .settings import Settings

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on. Anything but 127.0.0.1, "
                                         "::1 or localhost lets other machines run your generators.")]
PortOption = Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")]
AllowHostOption = Annotated[list[str] | None, typer.Option(
    "--allow-host", metavar="NAME", help="A name the page may be reached by besides localhost/127.0.0.1 (repeatable); "
    "requests for any other Host are refused.")]
UploadOption = Annotated[float, typer.Option("--max-upload-mb", min=0.001, max=1024,
                                             help="Largest upload (a primer MIDI or ABC file).")]
TokensOption = Annotated[int, typer.Option("--max-tokens", min=1, help="Most tokens one request may ask "
                                           "for (items x length; see docs/serve.md).")]
RunsOption = Annotated[Path | None, typer.Option(
    "--runs", metavar="DIR", help="A folder of training runs (each with its metrics.jsonl): adds a Runs "
    "page with live loss curves. Read only.")]
QueueOption = Annotated[int, typer.Option("--queue", min=1, max=1000, help="Requests that may wait for "
                                          "each model (one generation at a time per model).")]
PerClientOption = Annotated[int, typer.Option("--per-client", min=1, max=1000, help="Requests one client may "
                                              "have waiting or running for each model.")]
SecondsOption = Annotated[float, typer.Option("--max-seconds", min=1, help="Most seconds of music per piece "
                                              "(an uploaded primer's length; a generator's --max-seconds).")]
AudioOption = Annotated[float, typer.Option("--max-audio-seconds", min=1, help="Most seconds of audio one "
                                            "request may render (pieces x --max-seconds).")]
PrimerNotesOption = Annotated[int, typer.Option("--max-primer-notes", min=1, help="Most notes in an uploaded "
                                                "MIDI primer.")]
ConnectionsOption = Annotated[int, typer.Option("--max-connections", min=1, max=100_000, help="Connections "
                                                "open at once; more are refused with 503.")]


def serve(host: HostOption = "127.0.0.1", port: PortOption = 8000, allow_host: AllowHostOption = None,
          max_upload_mb: UploadOption = 2.0, max_tokens: TokensOption = 50_000, queue: QueueOption = 8,
          per_client: PerClientOption = 2, max_seconds: SecondsOption = 600.0,
          max_audio_seconds: AudioOption = 1200.0, max_primer_notes: PrimerNotesOption = 20_000,
          max_connections: ConnectionsOption = 64, runs: RunsOption = None):
    """A local web page (and JSON API) for every registered generator: forms, results, audio, piano rolls."""
    settings = Settings(host, port, tuple(allow_host or ()), int(max_upload_mb * 1024 * 1024),
                        max_tokens, queue, per_client=per_client, max_seconds=max_seconds,
                        max_audio_seconds=max_audio_seconds, max_primer_notes=max_primer_notes,
                        max_connections=max_connections)
    if runs is not None and not runs.expanduser().is_dir():
        raise SeqkitError(f"--runs {runs}: no such folder")
    app, uvicorn = _load(settings, runs)
    _check_port_free(host, port)
    if not settings.is_loopback:
        typer.echo(f"Warning: listening on {host}: anyone who can reach this machine can run your "
                   f"generators; the page answers only to {', '.join(sorted(settings.allowed))}", err=True)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else shown}:{port}/"
    typer.echo(f"seqkit serve: {url} (Ctrl-C stops)" + (f"; training runs: {url}runs" if runs else ""))
    app.app.state.checker.start()  # the upload checker's process, before the first upload
    uvicorn.run(app, log_level="warning", **server_options(settings))


def _load(settings: Settings, runs: Path | None = None):
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise SeqkitError(f"seqkit serve needs {exc.name}: pip install -e ./plugins/serve "
                          f"(or pip install fastapi uvicorn python-multipart mido)") from None
    return create_app(settings, runs=runs), uvicorn


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise SeqkitError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port "
                              f"or --host") from None
