"""What a server allows: where it listens, which Host names it answers, its size and token caps."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


@dataclass
class Settings:
    """``allow_hosts`` are extra names the Host header may carry (besides the loopback names and a
    specific ``host``); ``max_upload_bytes`` caps a request's body; ``max_tokens`` caps what one
    request may ask for (see :func:`seqkit_serve.params.requested_tokens`); ``max_waiting`` caps
    each model's queue, ``per_client`` how many of its places (the running job included) one client
    may hold; ``keep_jobs`` is how many finished jobs (and their files) stay readable, and
    ``keep_bytes`` how many bytes of files they may hold in all. ``max_seconds`` caps a
    generator's ``max_seconds`` parameter (seconds of music per piece: primer, output, WAV) and
    ``max_audio_seconds`` the seconds of audio one request may render (count x max_seconds);
    ``max_primer_notes`` caps an uploaded MIDI's notes. The connection bounds: ``header_timeout``
    (seconds for a request's headers), ``body_timeout`` (for its body), ``keep_alive_seconds``
    (an idle kept-alive connection), ``max_connections`` (open at once)."""

    host: str = "127.0.0.1"
    port: int = 8000
    allow_hosts: tuple[str, ...] = ()
    max_upload_bytes: int = 2 * 1024 * 1024
    max_tokens: int = 50_000
    max_waiting: int = 8
    keep_jobs: int = 32
    per_client: int = 2
    keep_bytes: int = 512 * 1024 * 1024
    max_seconds: float = 600.0
    max_audio_seconds: float = 1200.0
    max_primer_notes: int = 20_000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_seconds: float = 5.0
    max_connections: int = 64
    allowed: frozenset[str] = field(init=False)

    def __post_init__(self):
        names = {*LOOPBACK_NAMES, *(h.strip("[]").lower() for h in self.allow_hosts)}
        if self.host not in WILDCARDS:
            names.add(self.host.strip("[]").lower())
        self.allowed = frozenset(names)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def limits(self) -> dict:
        return {"max_upload_bytes": self.max_upload_bytes, "max_tokens": self.max_tokens,
                "max_waiting": self.max_waiting, "per_client": self.per_client, "max_seconds": self.max_seconds,
                "max_audio_seconds": self.max_audio_seconds, "max_primer_notes": self.max_primer_notes}


def host_name(header: str) -> str:
    """``example.com`` from a Host header ``example.com:8000`` (``::1`` from ``[::1]:8000``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
