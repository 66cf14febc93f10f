"""The server's gate, in front of every route (plain ASGI, so it also caps streamed bodies).

* Host header: only the names in :attr:`Settings.allowed` (a page on another site that rebinds
  its own DNS name to 127.0.0.1 still sends its own name, and is refused).
* Cross-origin: a request whose ``Origin`` is not this server's own, or that the browser marks
  ``Sec-Fetch-Site: cross-site``/``same-site``, is refused; no CORS header is ever sent, so
  other sites can neither read answers nor send a form here.
* Body size: more than ``max_upload_bytes`` (plus room for the form's fields) is refused, by its
  ``Content-Length`` or, without one, once that much has arrived.
* Every answer says: no sniffing, no framing, scripts and media from this server only.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from .settings import Settings, host_name

FIELD_ROOM = 64 * 1024  # the form's other fields, on top of the upload cap
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     b"default-src 'self'; connect-src 'self' blob:; img-src 'self' blob: data:; media-src 'self' blob:; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
]


class BodyTooLarge(Exception):
    """Raised by the capped ``receive``; the app answers it with 413 (see ``create_app``)."""


class Guard:
    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings
        self.max_body = settings.max_upload_bytes + FIELD_ROOM

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            return await _answer(send, *refusal)
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        received = 0

        async def capped_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge(self.too_large(received))
            return message

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except BodyTooLarge as exc:
            if not started:
                await _answer(send, 413, str(exc))

    def refusal(self, scope, headers: dict) -> tuple[int, str] | None:
        host = headers.get("host")
        if not host or host_name(host) not in self.settings.allowed:
            return 400, (f"this server answers only to {', '.join(sorted(self.settings.allowed))}, "
                         f"not Host {host!r} (add a name with seqkit serve --allow-host NAME)")
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host, scope):
            return 403, f"cross-origin requests are refused (Origin {origin!r} is not this server)"
        site = headers.get("sec-fetch-site")
        if site in ("cross-site", "same-site"):
            return 403, f"cross-origin requests are refused (Sec-Fetch-Site: {site})"
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, f"Content-Length {length!r} is not a number"
            if int(length) > self.max_body:
                return 413, self.too_large(int(length))
        return None

    def too_large(self, size: int) -> str:
        cap = self.settings.max_upload_bytes
        return (f"the request is {size:,} bytes or more; this server takes uploads of at most "
                f"{cap:,} bytes (seqkit serve --max-upload-mb)")


def _same_origin(origin: str, host: str, scope) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == scope.get("scheme", "http") and parts.netloc.lower() == host.strip().lower()


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
