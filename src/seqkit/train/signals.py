"""Ctrl-C, SIGTERM and SIGHUP during training: a flag the loop reads at its next safe point,
instead of an exception in the middle of a write."""

from __future__ import annotations

import contextlib
from collections.abc import Callable


def signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextlib.contextmanager
def stop_on_signals(on_signal: Callable[[int], None]):
    """Within the ``with``, SIGINT, SIGTERM and SIGHUP call ``on_signal(signum)`` only (it should
    just set a flag: printing there could interrupt a print); the old handlers come back after.
    Signals that are ignored (``nohup``) stay ignored; off the main thread nothing changes."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        on_signal(signum)

    old = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:  # nohup stays
            old[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old_handler in old.items():
            signal.signal(sig, old_handler)
