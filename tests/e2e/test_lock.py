"""The kiosk lock in the real window, tapped through the X server at 1024x600 and 1920x1080.

A PIN is set on the Settings tab's PIN pad; Delete then asks for it (a wrong one deletes
nothing); left alone for the idle time (``lock_idle_seconds``, a few seconds here, written to
the kiosk's config file before it starts) the screen locks over an open dialog and shows no
patient; DCMTK storescu sends an image meanwhile and the node receives it; wrong PINs are
refused, then rate-limited (even the right one waits); the right one unlocks, and the audit
trail records it and every wrong PIN checked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import running_kiosk
from tests.e2e.harness import SIZES, Item, KioskScreen
from tests.e2e.test_selection import tap_row
from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk_env, have_dcmtk

pytestmark = pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")

PIN = "2468"
IDLE_SECONDS = 8  # short enough to wait for, long enough not to lock between two taps
FIRST_WAIT = 10  # core.lock.FIRST_DELAY


@pytest.fixture(scope="module", params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def kiosk(
    request: pytest.FixtureRequest, e2e_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KioskScreen]:
    """The conftest's kiosk, with a short idle time in its config file (no PIN yet)."""
    config = f"\nlock_idle_seconds = {IDLE_SECONDS}\n"
    with running_kiosk(request, e2e_data, tmp_path_factory, config) as screen:
        yield screen


def enter(kiosk: KioskScreen, pad: str, pin: str, *, answered: bool = True) -> None:
    """Tap ``pin`` on the PIN pad named ``pad``, key by key, then OK; until the kiosk has
    answered it (``answered``: a PIN checked; the set-up dialog's first entry is not)."""
    before = int(kiosk.prop("lock.checks"))
    for digit in pin:
        kiosk.tap(f"{pad}_{digit}")
    kiosk.wait_item(f"{pad}_entered", lambda i: i.text == "●" * len(pin))
    kiosk.tap(f"{pad}_ok")
    if answered:
        kiosk.wait_prop("lock.checks", lambda n: n > before)


def error_is(text: str) -> Callable[[Item], bool]:
    return lambda item: bool(item.visible and item.text == text)


def shown(kiosk: KioskScreen, name: str) -> bool:
    item = kiosk.item(name)
    return item is not None and item.visible


def top_is_blank(kiosk: KioskScreen) -> bool:
    """The screen's top rows are one colour (the tab bar, the header and the dialog are not
    there); the screenshot is kept as ``locked.png``."""
    with Image.open(kiosk.screenshot("locked")) as image:
        strip = image.convert("RGB").crop((0, 0, kiosk.width, 12)).getcolors(maxcolors=4)
    return strip is not None and len(strip) == 1


def images_of(kiosk: KioskScreen, patient_id: str) -> int:
    listing = json.loads(kiosk.cli("list", "--level", "image", "--patient-id", patient_id,
                                   "--json"))  # fmt: skip
    return len(listing["rows"])


def test_a_pin_is_set_on_the_settings_tab(kiosk: KioskScreen) -> None:
    assert not kiosk.prop("lock.pinSet") and not kiosk.prop("lock.locked")
    kiosk.tap("tab_3")
    kiosk.wait_item("lockStatus", lambda i: i.visible and str(i.text).startswith("No PIN"))
    assert not shown(kiosk, "settingsLocked")
    kiosk.tap("lockSetPin")
    kiosk.wait_item("pinSetupStep", lambda i: i.visible and "new PIN (4" in str(i.text))
    enter(kiosk, "pinSetup", PIN, answered=False)
    kiosk.wait_item("pinSetupStep", lambda i: "again" in str(i.text))
    kiosk.screenshot("pin-repeat")
    enter(kiosk, "pinSetup", PIN, answered=False)
    kiosk.wait_prop("lock.pinSet", bool)
    kiosk.wait_item("lockStatus", lambda i: str(i.text).startswith("PIN set"))
    assert not shown(kiosk, "pinSetupCancel")
    stored = (kiosk.data_dir / "lock.json").read_text()
    assert "scrypt$" in stored and PIN not in stored
    kiosk.screenshot("pin-set")
    # Leaving the tab closes it: back on it, it asks for the PIN.
    kiosk.tap("tab_0")
    kiosk.tap("tab_3")
    kiosk.wait_item("settingsLocked")
    kiosk.tap("settingsUnlock")
    enter(kiosk, "settingsPin", PIN)
    kiosk.wait_until(lambda: not shown(kiosk, "settingsLocked"), "the Settings tab to open")
    kiosk.tap("tab_0")


def test_delete_asks_for_the_pin(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    kiosk.wait_idle()
    tap_row(kiosk, "patient", 0)
    patient_id = str(kiosk.rows("patient")[0][1])
    before = images_of(kiosk, patient_id)
    assert before > 0
    kiosk.tap("delete_patient")
    kiosk.wait_item("pinDialogCancel")
    assert not shown(kiosk, "confirmOk")
    enter(kiosk, "pinDialog", "1357")
    kiosk.wait_item("pinDialog_error", lambda i: i.visible and "Wrong PIN" in str(i.text))
    kiosk.screenshot("delete-wrong-pin")
    assert "wrong PIN (Delete prompt)" in kiosk.cli("audit", "list", "--limit", "5")
    assert patient_id in [row[1] for row in kiosk.rows("patient")]  # nothing deleted
    enter(kiosk, "pinDialog", PIN)
    kiosk.wait_until(lambda: not shown(kiosk, "pinDialogCancel"), "the PIN dialog to close")
    kiosk.wait_until(lambda: images_of(kiosk, patient_id) == 0, "the patient to be deleted")
    kiosk.wait_idle()


def test_idle_locks_over_a_dialog_and_the_node_keeps_receiving(
    kiosk: KioskScreen, tmp_path: Path
) -> None:
    kiosk.tap("tab_0")
    kiosk.wait_idle()
    tap_row(kiosk, "patient", 0)
    names = [str(row[0]) for row in kiosk.rows("patient")]
    kiosk.tap("delete_patient")  # a dialog naming a patient, left open
    kiosk.wait_item("pinDialogCancel")
    # No input from now on: the screen locks after the idle time.
    kiosk.wait_item("lockScreen", timeout=IDLE_SECONDS + 10)
    assert kiosk.prop("lock.locked")
    assert not shown(kiosk, "databaseView") and not shown(kiosk, "tab_0")
    assert not any(shown(kiosk, f"row_patient_{i}") for i in range(len(names)))
    node = kiosk.wait_item("lockNodeStatus", lambda i: i.visible)
    assert node.text == "DICOM node: Running"
    # The lock screen is drawn over everything: where the tab bar was, only its own background
    # shows (its text and pad are in the middle). Until the X server has the frame drawn.
    kiosk.wait_until(lambda: top_is_blank(kiosk), "the lock screen on the screen")
    # While locked, the node receives: storescu sends an image, the index has it.
    address = str(kiosk.wait_item("lockNodeAddress").text).split(" · ", 1)[1]
    port = address.rsplit(":", 1)[1]
    ae_title = str(kiosk.prop("settings.nodeAeTitle"))
    today = int(kiosk.prop("settings.imagesToday"))
    dataset = write(make_dataset(patient_name="Locked^Sent", patient_id="LOCKED-1"),
                    tmp_path / "sent.dcm")  # fmt: skip
    subprocess.run(
        ["/usr/bin/storescu", "-aec", ae_title, "127.0.0.1", port, str(dataset)],
        env=dcmtk_env(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    kiosk.wait_until(lambda: images_of(kiosk, "LOCKED-1") == 1, "the image in the index")
    kiosk.wait_item("lockImagesToday", lambda i: f"today: {today + 1} " in str(i.text))
    assert kiosk.prop("lock.locked")


def test_wrong_pins_are_rate_limited_and_the_right_one_unlocks(kiosk: KioskScreen) -> None:
    if not kiosk.prop("lock.locked"):
        kiosk.wait_item("lockScreen", timeout=IDLE_SECONDS + 10)
    enter(kiosk, "lockPin", "1111")
    kiosk.wait_item("lockPin_error", lambda i: "Wrong PIN. 4 more before a wait." == i.text)
    for left in (3, 2, 1):
        enter(kiosk, "lockPin", "1111")
        kiosk.wait_item("lockPin_error", error_is(f"Wrong PIN. {left} more before a wait."))
    enter(kiosk, "lockPin", "1111")
    kiosk.wait_item("lockPin_error", lambda i: i.visible and "Try again in " in str(i.text))
    kiosk.screenshot("rate-limited")
    # The right PIN waits as well.
    enter(kiosk, "lockPin", PIN)
    refused = "Too many wrong PINs. Try again in"
    kiosk.wait_item("lockPin_error", lambda i: i.visible and refused in str(i.text))
    assert kiosk.prop("lock.locked")
    kiosk.screenshot("rate-limited-right-pin")
    kiosk.wait_prop("lock.retryIn", lambda s: s == 0, timeout=FIRST_WAIT + 5)
    enter(kiosk, "lockPin", PIN)
    kiosk.wait_prop("lock.locked", lambda locked: not locked)
    kiosk.wait_item("databaseView")
    assert not shown(kiosk, "lockScreen")
    # The dialog left open before the lock is there again, and goes with Cancel.
    kiosk.tap("pinDialogCancel")
    kiosk.wait_until(lambda: not shown(kiosk, "pinDialogCancel"), "the PIN dialog to close")
    kiosk.screenshot("unlocked")
    trail = kiosk.cli("audit", "list", "--limit", "50")
    assert "kiosk unlocked" in trail
    # The five wrong PINs checked are failed Logins; the right one refused during the wait
    # compared nothing and is not one.
    assert trail.count("wrong PIN (lock screen)") == 5
