"""Lower per-message latency in pynetdicom's polling reactors.

pynetdicom's association thread sleeps 1 ms between polls of its DIMSE queue, and the DUL
thread sleeps between polls of its outgoing queue. For a stream of small C-STOREs those
sleeps dominate. ``install`` gives both modules a ``time`` whose ``sleep`` waits on the
queue the polling thread is about to read: it returns as soon as work arrives, and never
later than the original sleep. Behaviour is otherwise unchanged, so it is safe for every
pynetdicom user in the process (the node and the kiosk's SCUs).
"""

from __future__ import annotations

import queue
import threading
import time as _time
import types
from typing import Any

_state = {"installed": False}
_lock = threading.Lock()


def _wait_on(q: Any, seconds: float) -> None:
    if not isinstance(q, queue.Queue):
        _time.sleep(seconds)
        return
    with q.not_empty:
        if not q._qsize():
            q.not_empty.wait(seconds)


def _association_sleep(seconds: float) -> None:
    thread = threading.current_thread()
    dimse = getattr(thread, "dimse", None)
    if seconds > 0 and dimse is not None and hasattr(thread, "_run_reactor"):
        _wait_on(getattr(dimse, "msg_queue", None), seconds)
    else:
        _time.sleep(seconds)


def _dul_sleep(seconds: float) -> None:
    thread = threading.current_thread()
    outgoing = getattr(thread, "to_provider_queue", None)
    if seconds > 0 and outgoing is not None:
        _wait_on(outgoing, seconds)
    else:
        _time.sleep(seconds)


def _time_with(sleep: Any) -> types.SimpleNamespace:
    names = {name: getattr(_time, name) for name in dir(_time) if not name.startswith("__")}
    names["sleep"] = sleep
    return types.SimpleNamespace(**names)


def install() -> None:
    """Idempotent; call before starting associations."""
    with _lock:
        if _state["installed"]:
            return
        from pynetdicom import association, dul

        association.time = _time_with(_association_sleep)  # type: ignore[assignment]
        dul.time = _time_with(_dul_sleep)  # type: ignore[assignment]
        _state["installed"] = True
