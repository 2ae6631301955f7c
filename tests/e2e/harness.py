"""The real kiosk window under test: Xvfb, no window manager, input through the X server.

How to use it (the fixtures in ``tests/e2e/conftest.py`` do the starting and stopping)::

    def test_something(kiosk: KioskScreen) -> None:      # one kiosk per screen size and module
        kiosk.tap("filtersButton")                        # a control, by its QML objectName
        kiosk.wait_item("filterName", lambda i: i.visible)
        kiosk.tap("filterName")                           # focus: the on-screen keyboard opens
        kiosk.osk_type("joh*")                            # tap its keys one by one
        kiosk.type_keys("son")                            # or hardware keys through the X server
        kiosk.tap("filterApply")
        kiosk.wait_idle()                                 # view-model work has finished
        assert kiosk.prop("database.filters.summary") == "Filtered: name joh*son"
        rows = kiosk.rows("patient")                      # the cells of the patient table
        kiosk.screenshot("after-apply")                   # a PNG of the whole X screen

What a test starts:
- ``XServer``: ``Xvfb -screen 0 WxHx24`` on a display it picks itself (``-displayfd``); there is
  no window manager, as on many kiosks.
- ``KioskProcess``: ``.venv/bin/dicom-kiosk --data-dir D --fullscreen`` on that display, with
  ``QT_QPA_PLATFORM=xcb``, its DICOM node on a free loopback port, and
  ``DICOM_KIOSK_TEST_PROBE`` naming a local socket: the kiosk then answers questions about its
  window (``viewmodels/probe.py``: where an item is on the screen, whether it is visible, what
  it shows, what a view-model property holds, whether work is under way). The probe only
  reads; every action goes through the X server (``xdotool``: pointer moves, clicks, keys).
- ``populate``: a data directory filled as a user would (``dicom-kiosk demo`` and
  ``dicom-kiosk import`` of a few extra patients), once per test session, copied per kiosk.

Every process is stopped by its PID (SIGTERM, then SIGKILL), every wait has a deadline
(``wait_until``: poll a condition), nothing sleeps and hopes.

Artifacts (screenshots, the kiosk's and Xvfb's logs) go to ``build/e2e-artifacts/`` in the
work tree, one folder per test module and screen size (``$DICOM_KIOSK_E2E_ARTIFACTS`` moves
the root); a failing test's screen is saved there as ``FAILED-<test>.png``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.support.data import make_dataset, write
from tests.support.ports import free_port, log_tail
from tests.support.process import stop_process

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DICOM_KIOSK_E2E_ARTIFACTS", ROOT / "build" / "e2e-artifacts"))
SIZES = ((1024, 600), (1920, 1080))
START_TIMEOUT = 40.0  # the kiosk window up and its first load done (two busy cores)
WAIT_TIMEOUT = 10.0  # one UI reaction

T = TypeVar("T")

# Extra patients beside the demo ones: names the filter tests look for.
EXTRA_PATIENTS: list[tuple[str, str, str]] = [
    ("Johansson^François", "JF-1001", "20240312"),
    ("Yılmaz^Sofia", "YS-2001", "20240404"),
    ("Yilmaz^Mehmet", "YM-2002", "20231109"),
    ("Mazur^Piotr", "MP-3003", "20220101"),
    ("Johnson^Mary", "JM-4004", "20210707"),
]


def tools_missing() -> list[str]:
    """The programs the real-window tests need that are not installed."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


def kiosk_command() -> list[str]:
    script = Path(sys.executable).parent / "dicom-kiosk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


def wait_until(check: Callable[[], T | None | bool], what: str, timeout: float = WAIT_TIMEOUT) -> T:
    """Poll ``check`` until it returns something true; return it. ``TimeoutError`` naming
    ``what`` (and the last value seen) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})"
            )
        time.sleep(0.03)


# -- the X server ----------------------------------------------------------------------------------
class XServer:
    """Xvfb with one screen of ``width`` x ``height``; no window manager."""

    def __init__(self, width: int, height: int, log_path: Path) -> None:
        self.width, self.height = width, height
        self.log_path = log_path
        self.display = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> XServer:
        read_fd, write_fd = os.pipe()
        try:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    ["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                     f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    pass_fds=(write_fd,), start_new_session=True,
                )  # fmt: skip
            os.close(write_fd)
            write_fd = -1
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):  # Xvfb writes its display number once ready
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read_fd], [], [], max(left, 0))
                chunk = os.read(read_fd, 16) if ready else b""
                if not chunk:
                    raise RuntimeError("Xvfb did not start\n" + log_tail(self.log_path))
                number += chunk
            self.display = ":" + number.decode().strip()
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, group=True)

    def xdotool(self, *args: str) -> str:
        """Run xdotool on this display (bounded); its output."""
        done = subprocess.run(
            ["xdotool", *args], env={**os.environ, "DISPLAY": self.display},
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def screenshot(self, path: Path) -> Path:
        """The whole X screen as a PNG (what a user would see)."""
        from PIL import ImageGrab

        path.parent.mkdir(parents=True, exist_ok=True)
        ImageGrab.grab(xdisplay=self.display).save(path)
        return path


# -- test data -------------------------------------------------------------------------------------
def populate(data_dir: Path, work: Path) -> Path:
    """Fill ``data_dir`` as a user would: demo patients, then an import of a few more."""
    env = kiosk_env(data_dir)
    run = [*kiosk_command(), "--data-dir", str(data_dir)]
    subprocess.run([*run, "demo", "--patients", "12", "--seed", "1"], env=env,
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    folder = work / "extra"
    for number, (name, pid, study_date) in enumerate(EXTRA_PATIENTS):
        for modality, image in (("CT", 1), ("CT", 2)):
            ds = make_dataset(patient_name=name, patient_id=pid, study_date=study_date,
                              modality=modality, instance_number=image)  # fmt: skip
            write(ds, folder / f"p{number}" / f"{image}.dcm")
    subprocess.run([*run, "import", str(folder)], env=env, check=True, capture_output=True,
                   timeout=120)  # fmt: skip
    return data_dir


def kiosk_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOM_KIOSK_")}
    env.update(
        DICOM_KIOSK_DATA=str(data_dir),
        DICOM_KIOSK_THUMBNAILS_ON_ARRIVAL="false",
        DICOM_KIOSK_FSYNC="false",
        XDG_DATA_HOME=str(data_dir.parent / "xdg"),
        **extra,
    )
    return env


def cli(data_dir: Path, *args: str) -> str:
    """``dicom-kiosk --data-dir D ARGS`` (what a user would run beside the kiosk); stdout."""
    done = subprocess.run(
        [*kiosk_command(), "--data-dir", str(data_dir), *args], env=kiosk_env(data_dir),
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


# -- the kiosk -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """What the probe says of one item: its place on the screen and what it shows."""

    name: str
    x: float
    y: float
    w: float
    h: float
    visible: bool
    enabled: bool
    text: Any
    checked: Any

    @property
    def center(self) -> tuple[int, int]:
        return round(self.x + self.w / 2), round(self.y + self.h / 2)

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def inside(self, width: int, height: int) -> bool:
        """Wholly on a screen of ``width`` x ``height``."""
        return (
            self.x >= 0
            and self.y >= 0
            and self.x + self.w <= width + 0.5
            and (self.y + self.h <= height + 0.5)
        )


def _item(info: dict[str, Any]) -> Item:
    return Item(
        info["name"], info["x"], info["y"], info["w"], info["h"], info["visible"],
        info["enabled"], info["text"], info["checked"],
    )  # fmt: skip


class KioskProcess:
    """``dicom-kiosk --fullscreen`` on ``display`` with the test probe; stopped by PID."""

    def __init__(self, data_dir: Path, xserver: XServer, artifacts: Path) -> None:
        self.data_dir = data_dir
        self.xserver = xserver
        self.artifacts = artifacts
        self.log_path = artifacts / "kiosk.log"
        self.probe_path = str(data_dir.parent / "probe.sock")
        self.process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._buffer = b""

    def start(self, args: Sequence[str] = ("--fullscreen",)) -> KioskProcess:
        env = kiosk_env(
            self.data_dir,
            DISPLAY=self.xserver.display,
            QT_QPA_PLATFORM="xcb",
            DICOM_KIOSK_TEST_PROBE=self.probe_path,
            DICOM_KIOSK_PORT=str(free_port()),
            DICOM_KIOSK_BIND="127.0.0.1",
        )
        env.pop("WAYLAND_DISPLAY", None)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*kiosk_command(), "--data-dir", str(self.data_dir), *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.data_dir.parent, start_new_session=True,
            )  # fmt: skip
        try:
            wait_until(self._connect, "the kiosk's test probe", START_TIMEOUT)
            wait_until(lambda: self.ask("window")["w"] > 0, "the kiosk window", START_TIMEOUT)
            wait_until(lambda: self.ask("idle")["idle"], "the first load", START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def _connect(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"the kiosk exited with {self.process.returncode}\n" + log_tail(self.log_path)
            )
        if not os.path.exists(self.probe_path):
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(WAIT_TIMEOUT)
        try:
            sock.connect(self.probe_path)
        except OSError:
            sock.close()
            return False
        self._socket = sock
        return True

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        """One question to the probe, its answer (``RuntimeError`` on an error answer)."""
        if self._socket is None:
            raise RuntimeError("the kiosk is not running")
        self._socket.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
        while b"\n" not in self._buffer:
            chunk = self._socket.recv(65536)
            if not chunk:
                raise RuntimeError("the kiosk closed the probe\n" + log_tail(self.log_path))
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"probe {op}: {answer['error']}")
        return answer

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, group=True)

    def log(self) -> str:
        return log_tail(self.log_path, 20000)


class KioskScreen:
    """What a test does with the kiosk: find, tap, type, read, wait, take pictures."""

    def __init__(self, kiosk: KioskProcess, xserver: XServer) -> None:
        self.kiosk = kiosk
        self.xserver = xserver
        self.width, self.height = xserver.width, xserver.height
        self.size = f"{self.width}x{self.height}"
        self.artifacts = kiosk.artifacts
        self.data_dir = kiosk.data_dir

    # -- reading ----------------------------------------------------------------------------------
    def item(self, name: str) -> Item | None:
        info = self.kiosk.ask("item", name=name)
        return _item(info) if info["found"] else None

    def items(self, prefix: str) -> list[Item]:
        return [_item(i) for i in self.kiosk.ask("items", prefix=prefix)["items"]]

    def prop(self, path: str) -> Any:
        """A property of the application model: ``database.filters.summary``."""
        return self.kiosk.ask("prop", path=path)["value"]

    def rows(self, level: str) -> list[list[str]]:
        """The cells of every row the level's model holds (the page loaded)."""
        rows: list[list[str]] = self.kiosk.ask("rows", level=level)["rows"]
        return rows

    def window(self) -> dict[str, Any]:
        return self.kiosk.ask("window")

    def keys(self) -> list[dict[str, Any]]:
        """The on-screen keyboard's visible keys."""
        keys: list[dict[str, Any]] = self.kiosk.ask("keys")["keys"]
        return keys

    # -- waiting ----------------------------------------------------------------------------------
    def wait_until(
        self, check: Callable[[], T | None | bool], what: str, timeout: float = WAIT_TIMEOUT
    ) -> T:
        return wait_until(check, what, timeout)

    def wait_idle(self, timeout: float = WAIT_TIMEOUT) -> None:
        """Until no view-model work runs (a filter applied, a level loaded)."""
        wait_until(lambda: self.kiosk.ask("idle")["idle"], "the kiosk to be idle", timeout)

    def wait_item(
        self, name: str, check: Callable[[Item], bool] = lambda i: i.visible,
        timeout: float = WAIT_TIMEOUT,
    ) -> Item:  # fmt: skip
        """Until the item named ``name`` exists and ``check`` holds for it; the item."""

        def ready() -> Item | None:
            item = self.item(name)
            return item if item is not None and check(item) else None

        return wait_until(ready, f"item {name!r}", timeout)

    def wait_prop(
        self, path: str, check: Callable[[Any], bool], timeout: float = WAIT_TIMEOUT
    ) -> Any:
        seen: list[Any] = []

        def ready() -> Any:
            value = self.prop(path)
            seen[:] = [value]
            return (value,) if check(value) else None

        try:
            return wait_until(ready, f"property {path!r}", timeout)[0]
        except TimeoutError as error:
            raise TimeoutError(f"{error}; it holds {seen[0]!r}") from None

    # -- acting (through the X server) ----------------------------------------------------------
    def tap_at(self, x: float, y: float) -> None:
        """A press and release at screen pixel (x, y), which must be on the screen."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise AssertionError(f"({x:.0f}, {y:.0f}) is off the {self.size} screen")
        before = self.releases()
        self.xserver.xdotool("mousemove", str(round(x)), str(round(y)), "click", "1")
        self.await_release(before)

    def releases(self) -> int:
        """How many mouse releases the window has received so far."""
        return int(self.kiosk.ask("input")["releases"])

    def await_release(self, before: int) -> None:
        """Until the window has received a release after the ``before`` counted: what a tap or
        a drag did has then been done (the X server delivers its events to the kiosk on its own
        time, so a question asked at once could be answered before the kiosk saw the tap)."""
        wait_until(lambda: self.releases() > before, "the window to receive the mouse release")

    def tap(self, name: str) -> Item:
        """Tap the centre of the visible, enabled item named ``name`` (waits for it)."""
        item = self.wait_item(name, lambda i: i.visible and i.enabled)
        self.tap_at(*item.center)
        return item

    def type_keys(self, text: str, delay_ms: int = 12) -> None:
        """Type ``text`` on the (hardware) keyboard through the X server; returns once the
        kiosk has received every key (one release of a non-modifier key per character)."""
        before = self.key_releases()
        self.xserver.xdotool("type", "--delay", str(delay_ms), "--", text)
        self.await_keys(before + len(text))

    def key_releases(self) -> int:
        """How many releases of keys other than modifiers the window has received so far."""
        return int(self.kiosk.ask("input")["keys"])

    def await_keys(self, count: int) -> None:
        """Until the window has received ``count`` key releases in all."""
        wait_until(lambda: self.key_releases() >= count, "the window to receive the keys")

    def key(self, *names: str) -> None:
        """Press keys by X keysym name: ``Return``, ``BackSpace``, ``ctrl+a``; returns once
        the kiosk has received them."""
        before = self.key_releases()
        self.xserver.xdotool("key", *names)
        self.await_keys(before + len(names))

    def osk_key(self, label: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
        """The on-screen keyboard's key showing ``label`` (letters in either case)."""

        def find() -> dict[str, Any] | None:
            for key in self.keys():
                shown = str(key.get("displayText") or key.get("text") or "")
                if shown == label or (len(label) == 1 and shown.lower() == label.lower()):
                    return key
            return None

        return wait_until(find, f"on-screen key {label!r}", timeout)

    def osk_tap(self, label: str) -> None:
        """Tap one key of the on-screen keyboard (``J``, ``&123``, ``*``, ``ABC``, ``Enter``)."""
        key = self.osk_key(label)
        self.tap_at(key["x"] + key["w"] / 2, key["y"] + key["h"] / 2)

    def osk_type(self, text: str) -> None:
        """Tap ``text`` key by key, switching to the symbol layout (``&123``) and back (``ABC``)
        for characters the letter layout lacks."""
        for char in text:
            labels = {str(k.get("displayText") or k.get("text") or "").lower() for k in self.keys()}
            if char.lower() not in labels:
                switch = "ABC" if "abc" in labels else "&123"
                self.osk_tap(switch)
                self.osk_key(char)
            self.osk_tap(char)

    def keyboard_visible(self) -> bool:
        return bool(self.keys())

    # -- artifacts --------------------------------------------------------------------------------
    def screenshot(self, name: str) -> Path:
        """The whole screen as ``<artifacts>/<name>.png``."""
        return self.xserver.screenshot(self.artifacts / f"{name}.png")

    def cli(self, *args: str) -> str:
        return cli(self.data_dir, *args)
