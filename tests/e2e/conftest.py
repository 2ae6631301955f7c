"""Fixtures of the real-window tests (see ``harness.py`` for how to use them).

- ``kiosk`` (module scope, one per screen size): a ``KioskScreen`` on a fresh copy of the
  populated data directory, under its own Xvfb of 1024x600 or 1920x1080. Tests of one module
  share it (one start per size per module): a test leaves the kiosk as it would like to find
  it, or puts it back first (``home``). A module that needs settings in the kiosk's config
  file before it starts has its own ``kiosk`` fixture on ``running_kiosk(..., config)``.
- ``e2e_data`` (session scope): the populated data directory all kiosks copy.
A failing test, or one whose fixture failed at setup, leaves ``FAILED-<test>.png`` and the
kiosk's log in the artifacts folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.harness import (
    ARTIFACTS,
    SIZES,
    KioskProcess,
    KioskScreen,
    XServer,
    populate,
    tools_missing,
)

# The running kiosk of a module (set by ``kiosk`` on its module's node while it runs).
SCREEN = pytest.StashKey[KioskScreen]()


@pytest.fixture(scope="session")
def e2e_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = tools_missing()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (make test installs them)")
    work = tmp_path_factory.mktemp("e2e-data")
    return populate(work / "data", work)


@contextmanager
def running_kiosk(
    request: pytest.FixtureRequest,
    e2e_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
    config: str = "",
) -> Iterator[KioskScreen]:
    """The ``kiosk`` fixture's kiosk for the size ``request.param``, with ``config`` appended to
    its data directory's ``config.toml`` before it starts (for a module's own ``kiosk``)."""
    width, height = request.param
    module = request.module.__name__.rsplit(".", 1)[-1]
    artifacts = ARTIFACTS / module / f"{width}x{height}"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    work = tmp_path_factory.mktemp(f"kiosk-{width}x{height}")
    data_dir = work / "data"
    shutil.copytree(e2e_data, data_dir)
    if config:
        with open(data_dir / "config.toml", "a", encoding="utf-8") as file:
            file.write(config)
    xserver = XServer(width, height, artifacts / "xvfb.log").start()
    try:
        process = KioskProcess(data_dir, xserver, artifacts).start()
        screen = KioskScreen(process, xserver)
        # For the report hook: a fixture built on this one may fail before a test sees it.
        request.node.stash[SCREEN] = screen
        try:
            yield screen
        finally:
            del request.node.stash[SCREEN]
            process.stop()
    finally:
        xserver.stop()


@pytest.fixture(scope="module", params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def kiosk(
    request: pytest.FixtureRequest, e2e_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KioskScreen]:
    with running_kiosk(request, e2e_data, tmp_path_factory) as screen:
        yield screen


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep the screen of a failing test, and of one whose fixture failed at setup (there the
    test's own arguments may not hold the kiosk yet: it is taken from its module's node)."""
    outcome = yield
    report = outcome.get_result()
    if report.when in ("setup", "call") and report.failed:
        screen = getattr(item, "funcargs", {}).get("kiosk")
        module = item.getparent(pytest.Module)
        if screen is None and module is not None and "kiosk" in getattr(item, "fixturenames", ()):
            screen = module.stash.get(SCREEN, None)
        if isinstance(screen, KioskScreen):
            name = item.name.replace("/", "_").replace("[", "-").replace("]", "")
            try:
                path = screen.screenshot(f"FAILED-{name}")
                report.sections.append(("e2e", f"screen: {path}"))
            except Exception as exc:  # the X server itself may be what failed
                report.sections.append(("e2e", f"no screenshot: {exc}"))
