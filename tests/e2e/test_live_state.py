"""The Settings tab follows the kiosk's node in the real window: images a peer sends (DCMTK
storescu) show up in the storage line without a Refresh, and the node panel says where the node
listens. At 1024x600 and 1920x1080."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import KioskScreen
from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk_env, have_dcmtk

pytestmark = pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")


def images_in(text: str) -> int:
    """The image count the storage line starts with ("1,234 images in ...")."""
    return int(text.split(" images", 1)[0].replace(",", ""))


def test_the_storage_line_counts_images_a_peer_sends(kiosk: KioskScreen, tmp_path: Path) -> None:
    kiosk.tap("tab_3")
    shown = kiosk.wait_item("storageText", lambda i: i.visible and " images in " in str(i.text))
    before = images_in(str(shown.text))
    kiosk.wait_item("nodeTitle_1", lambda i: i.text == "Listening on")  # the node started
    address = str(kiosk.wait_item("nodeValue_1").text)
    assert address.startswith("127.0.0.1:") and "not listening" not in address
    port = address.rsplit(":", 1)[1]
    ae_title = str(kiosk.prop("settings.nodeAeTitle"))

    files = [
        write(make_dataset(patient_id=f"LIVE-{i}", instance_number=i), tmp_path / f"{i}.dcm")
        for i in range(3)
    ]
    subprocess.run(
        ["/usr/bin/storescu", "-aec", ae_title, "127.0.0.1", port] + [str(f) for f in files],
        env=dcmtk_env(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # No Refresh: the line on the screen follows the index.
    kiosk.wait_item("storageText", lambda i: images_in(str(i.text)) == before + 3)
    kiosk.tap("tab_0")  # back where the next test expects the kiosk
