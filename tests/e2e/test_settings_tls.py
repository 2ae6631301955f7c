"""A DICOM TLS remote node added in the Settings tab's node editor, in the real window: the
"Use TLS" switch shows the CA, client certificate and key fields; a CA file that does not exist
is refused in the dialog and nothing is saved; with the right CA file the node is saved as
``dicom-kiosk nodes list --json`` shows it, listed as TLS, and its Test button echoes DCMTK's
``storescp +tls`` (started by the test, stopped by its PID). Editing it shows its TLS values.
At 1024x600 and 1920x1080; the certificates are made with the openssl command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import KioskScreen
from tests.support.dcmtk import StoreSCP, have_dcmtk
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import HOST

pytestmark = [
    pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed"),
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command"),
]

NAME = "Secure"  # the on-screen keyboard starts a name with a capital
ECHO_TIMEOUT = 20.0  # a TLS handshake and a C-ECHO on two busy cores


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def listed(kiosk: KioskScreen) -> dict[str, dict[str, Any]]:
    """The registry as ``dicom-kiosk nodes list --json`` shows it beside the kiosk."""
    rows = json.loads(kiosk.cli("nodes", "list", "--json"))["rows"]
    return {row["name"]: row for row in rows}


def type_here(kiosk: KioskScreen, field: str, text: str) -> None:
    """Type ``text`` (hardware keys) into the focused ``field``, replacing what it holds."""
    kiosk.key("ctrl+a")
    kiosk.type_keys(text)
    kiosk.wait_item(field, lambda i: i.text == text)


def wait_no_dialog(kiosk: KioskScreen) -> None:
    kiosk.wait_until(
        lambda: not any(d.visible for d in kiosk.items("dialogDimmer")), "the dialog to close"
    )


def test_a_tls_node_is_added_refused_with_a_wrong_ca_and_echoed(
    kiosk: KioskScreen, pki: Pki, tmp_path: Path
) -> None:
    wrong_ca = str(tmp_path / "no-such" / "ca.pem")
    with StoreSCP(
        tmp_path / "scp", "+tls", str(pki.server_key), str(pki.server_cert), "-ic"
    ) as scp:
        kiosk.tap("tab_3")
        kiosk.tap("nodeAdd")
        kiosk.wait_item("nodeName")
        assert not kiosk.wait_item("nodeTls").checked
        assert not kiosk.item("nodeTlsCa").visible  # type: ignore[union-attr]
        kiosk.tap("nodeTls")
        kiosk.wait_item("nodeTls", lambda i: i.checked is True)
        for field in ("nodeTlsCa", "nodeTlsCert", "nodeTlsKey"):
            kiosk.wait_item(field)
        kiosk.screenshot("editor-tls-fields")

        # Name on the on-screen keyboard; Enter goes on to the next field each time.
        kiosk.tap("nodeName")
        kiosk.osk_type(NAME)
        kiosk.wait_item("nodeName", lambda i: i.text == NAME)
        kiosk.key("Return")
        type_here(kiosk, "nodeAe", scp.ae_title)
        kiosk.key("Return")
        type_here(kiosk, "nodeHost", HOST)
        kiosk.key("Return")
        type_here(kiosk, "nodePort", str(scp.port))
        kiosk.key("Return")  # TLS is on: on to the CA file
        type_here(kiosk, "nodeTlsCa", wrong_ca)
        kiosk.screenshot("editor-typing-ca")

        # A CA file that does not exist: the registry's message in the dialog, nothing saved.
        kiosk.tap("nodeSave")
        error = kiosk.wait_item("nodeEditorError", lambda i: bool(i.text))
        assert f"The TLS CA file '{wrong_ca}' does not exist" in str(error.text)
        assert error.inside(kiosk.width, kiosk.height)
        kiosk.screenshot("editor-wrong-ca")
        assert NAME not in listed(kiosk)
        assert kiosk.wait_item("nodeSave").visible  # the dialog stays open

        # The right one; Enter through the optional fields to the last, which saves.
        assert kiosk.wait_item("nodeTlsCa").bottom <= kiosk.wait_item("nodeSave").y  # in view
        kiosk.tap("nodeTlsCa")
        type_here(kiosk, "nodeTlsCa", str(pki.ca))
        for _ in range(3):  # client certificate, key, the certificate bound to its AE title
            kiosk.key("Return")
        # The last field, at the bottom, scrolled into view above the buttons.
        save = kiosk.wait_item("nodeSave")
        kiosk.wait_item("nodeTlsPeerCert", lambda i: i.visible and i.bottom <= save.y)
        kiosk.screenshot("editor-last-field")
        kiosk.key("Return")
        detail = kiosk.wait_item(f"nodeDetail_{NAME}")
        wait_no_dialog(kiosk)
        assert str(detail.text).startswith(f"{scp.ae_title} @ {HOST}:{scp.port} · TLS · ")
        node = listed(kiosk)[NAME]
        assert node["tls"] == {"ca_file": str(pki.ca.resolve()), "cert_file": "", "key_file": ""}
        assert "tls_peer_fingerprint" not in node

        # Test: a C-ECHO over TLS.
        kiosk.tap(f"nodeTestButton_{NAME}")
        answer = kiosk.wait_item(
            f"nodeTest_{NAME}",
            lambda i: i.visible and "Testing" not in str(i.text) and bool(i.text),
            timeout=ECHO_TIMEOUT,
        )
        assert str(answer.text).startswith(f"{NAME} answered the C-ECHO in "), answer.text
        kiosk.screenshot("settings-tls-node")

    # Edit shows its TLS values.
    kiosk.tap(f"nodeEdit_{NAME}")
    kiosk.wait_item("nodeTlsCa", lambda i: i.visible and i.text == str(pki.ca.resolve()))
    assert not kiosk.window()["keyboardHeight"]  # no field has the focus yet
    assert kiosk.wait_item("nodeTls").checked is True
    assert kiosk.wait_item("nodeName").text == NAME
    kiosk.screenshot("editor-edit-tls")
    kiosk.tap("nodeCancel")
    wait_no_dialog(kiosk)

    # Put the kiosk back as the next test expects it.
    kiosk.tap(f"nodeDelete_{NAME}")
    kiosk.tap("confirmOk")
    kiosk.wait_until(lambda: kiosk.item(f"nodeDetail_{NAME}") is None, "the node row to go")
    wait_no_dialog(kiosk)
    assert NAME not in listed(kiosk)
    kiosk.tap("tab_0")
