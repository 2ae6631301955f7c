"""Starting the kiosk where there is no display says what to do instead."""

from __future__ import annotations

import pytest

from core.cli.main import build_parser
from viewmodels import kiosk


def test_no_display_explains_offscreen_and_xvfb(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kiosk.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["--fullscreen", "--theme", "light"])
    assert args.fullscreen and args.theme == "light"
    assert kiosk.run(args) == 1
    err = capsys.readouterr().err
    assert "no display" in err
    assert "xvfb-run -a dicom-kiosk" in err
    assert "QT_QPA_PLATFORM=offscreen" in err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, True),
        ({"QT_QPA_PLATFORM": "xcb"}, False),
        ({}, False),
    ],
)
def test_display_detection(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.setattr(kiosk.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert kiosk.display_available() is expected
