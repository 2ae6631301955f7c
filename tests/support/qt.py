"""The kiosk's event loop in tests: one qasync loop per session, run until work is done.

The fixtures (``qt_prepared``, ``_session_loop``, ``loop``) are imported by the conftest of
each test folder that needs them (after ``prepare_qt``, which must run before pytest-qt makes
the QApplication).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import qasync


def settle(loop: asyncio.AbstractEventLoop, timeout: float = 10.0) -> None:
    """Run the loop until every pending task (slots, cascades) has finished."""

    async def wait_all() -> None:
        deadline = loop.time() + timeout
        while True:
            await asyncio.sleep(0)
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not pending:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{len(pending)} tasks still running")
            await asyncio.wait(pending, timeout=left)

    loop.run_until_complete(wait_all())


def run_until(
    loop: asyncio.AbstractEventLoop, predicate: Callable[[], object], timeout: float = 10.0
) -> None:
    """Run the loop until ``predicate()`` holds (bounded)."""

    async def wait() -> None:
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


@pytest.fixture(scope="session")
def qt_prepared() -> None:
    """Software Qt Quick and the kiosk's style, set before any QApplication exists."""
    from viewmodels.kiosk import prepare_qt

    prepare_qt(virtual_keyboard=False, software=True)


@pytest.fixture(scope="session")
def _session_loop(qt_prepared: None, qapp) -> Iterator[asyncio.AbstractEventLoop]:  # type: ignore[no-untyped-def]
    """One qasync loop for the whole run (its worker threads live as long as the app)."""
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    settle(event_loop)
    event_loop.close()  # stops its worker threads before the interpreter exits


@pytest.fixture
def loop(_session_loop: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop; every task a test started has finished when it ends."""
    asyncio.set_event_loop(_session_loop)
    yield _session_loop
    settle(_session_loop)
