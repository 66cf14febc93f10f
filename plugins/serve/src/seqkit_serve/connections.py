"""The server's connections: how uvicorn is started, and bounds on slow or idle clients.

uvicorn's own h11 protocol closes a connection that idles *between* requests (``timeout_keep_alive``),
but waits for ever on one that sends nothing, or half a request line, or half a body (slowloris),
and answers a malformed request (a bad ``Content-Length``) in plain text. :func:`protocol_class`
makes a subclass that:

* closes a connection whose request headers are not all there ``header_timeout`` seconds after
  it opened (or after its previous response), and one whose body is not all there
  ``body_timeout`` seconds after its headers;
* refuses a connection beyond ``max_connections`` open at once (a JSON 503, then closed);
* answers a request h11 cannot parse with ``{"error": ...}``, like every other refusal.
"""

from __future__ import annotations

import json

from .settings import Settings


def server_options(settings: Settings) -> dict:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (besides the app)."""
    return {"host": settings.host, "port": settings.port, "http": protocol_class(settings),
            "timeout_keep_alive": settings.keep_alive_seconds, "server_header": False}


def protocol_class(settings: Settings):
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class BoundedH11Protocol(H11Protocol):
        header_timeout = settings.header_timeout
        body_timeout = settings.body_timeout
        max_connections = settings.max_connections

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline, self._stage = None, None
            self._over_limit = len(self.connections) > self.max_connections  # refused once it speaks
            self._arm(self.header_timeout)

        def data_received(self, data: bytes) -> None:
            if self._over_limit:  # answered after its request is read, so that the client gets the answer
                self._disarm()
                self._refuse(503, f"this server has {self.max_connections} connections open, its most "
                                  f"(seqkit serve --max-connections); try again in a moment",
                             extra=[(b"retry-after", b"5")])
                return
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.SEND_BODY and self._stage != "body":
                self._arm(self.body_timeout, "body")
            elif state is h11.IDLE and self._deadline is None and not self.transport.is_closing():
                self._arm(self.header_timeout)  # a new request on a kept-alive connection has begun
            elif state not in (h11.IDLE, h11.SEND_BODY):
                self._disarm()  # the whole request is here: the app's time now

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            self._disarm()
            super().on_response_complete()

        def send_400_response(self, msg: str) -> None:
            self._disarm()
            self._refuse(400, "this is not a valid HTTP request (a malformed request line, header or "
                              "Content-Length)")

        def _arm(self, seconds: float, stage: str = "headers") -> None:
            self._disarm()
            self._stage = stage
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            deadline = getattr(self, "_deadline", None)
            if deadline is not None:
                deadline.cancel()
            self._deadline, self._stage = None, None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # the app's receive() says http.disconnect
                self.cycle.message_event.set()
            self.transport.close()

        def _refuse(self, status: int, message: str, extra=()) -> None:
            body = json.dumps({"error": message}).encode()
            reason = {400: b"Bad Request", 503: b"Service Unavailable"}[status]
            head = [b"HTTP/1.1 %d %s" % (status, reason), b"content-type: application/json",
                    b"content-length: %d" % len(body), b"connection: close", *(b"%s: %s" % h for h in extra)]
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
            self.transport.close()

    return BoundedH11Protocol
