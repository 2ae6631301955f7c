"""The Settings tab's node editor with DICOM TLS: a node added with its CA file (and our client
certificate and key, and the certificate its AE title is bound to) is saved through the
registry's own checks, edited, listed as TLS, and tested over TLS against DCMTK's
``storescp +tls``; a missing file or a key without its certificate is refused with the
registry's message and nothing is saved. Certificates are made with the openssl command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.app import Core
from core.net.tls import fingerprint_of, show_fingerprint
from tests.support.dcmtk import StoreSCP, have_dcmtk
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import HOST
from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.settings import NodeRole, SettingsModel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command"),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_fields(ca: Path | str = "", cert: Path | str = "", key: Path | str = "",
               peer: Path | str = "", *, on: bool = True) -> dict[str, Any]:  # fmt: skip
    """The editor's TLS fields as the dialog passes them."""
    return {"tls": on, "tlsCa": str(ca), "tlsCert": str(cert), "tlsKey": str(key),
            "tlsPeerCert": str(peer)}  # fmt: skip


def save_node(settings: SettingsModel, loop: asyncio.AbstractEventLoop, *args: Any) -> str:
    """Run the editor's Save; return its error ('' when saved)."""
    saved: list[Any] = []
    errors: list[Any] = []
    settings.nodeSaved.connect(lambda: saved.append(1))
    settings.editorErrorChanged.connect(lambda: errors.append(1))
    settings.saveNode(*args)
    run_until(loop, lambda: saved or errors)
    settle(loop)
    return str(settings.editorError)


def row(settings: SettingsModel, name: str) -> dict[str, Any]:
    model = settings.nodes
    for i in range(model.rowCount()):
        index = model.index(i)
        if model.data(index, NodeRole.NAME) == name:
            return {
                "detail": model.data(index, NodeRole.DETAIL),
                "tls": model.data(index, NodeRole.TLS),
                "bound": model.data(index, NodeRole.CERT_BOUND),
                "state": model.data(index, NodeRole.TEST_STATE),
                "text": model.data(index, NodeRole.TEST_TEXT),
            }
    raise AssertionError(f"no row {name!r}")


def der_fingerprint(cert: Path) -> str:
    import ssl

    return fingerprint_of(ssl.PEM_cert_to_DER_cert(cert.read_text()))


class TestNodeEditorTls:
    def test_add_edit_list_a_tls_node(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, pki: Pki
    ) -> None:
        core, model = app
        settings = model.settings
        base = ("", "PACS", "PACS", "pacs.example", "2762", "move", ["store", "find"])
        assert save_node(settings, loop, *base, tls_fields(pki.ca)) == ""
        node = core.registry.get("PACS")
        assert (node.tls, node.tls_ca_file, node.tls_cert_file) == (True, str(pki.ca), "")
        shown = row(settings, "PACS")
        assert shown["detail"] == "PACS @ pacs.example:2762 · TLS · C-MOVE · may use: Store, Query"
        assert shown["tls"] and not shown["bound"]
        fields = settings.nodeFields("PACS")
        assert (fields["tls"], fields["tlsCa"], fields["tlsCert"]) == (True, str(pki.ca), "")

        # Edit: our client certificate and key, the AE title bound to its client certificate.
        edit = ("PACS", "PACS", "PACS", "pacs.example", "2762", "move", ["store", "find"])
        fields = tls_fields(pki.ca, pki.client_cert, pki.client_key, pki.second_client_cert)
        assert save_node(settings, loop, *edit, fields) == ""
        node = core.registry.get("PACS")
        assert (node.tls_cert_file, node.tls_key_file) == (
            str(pki.client_cert),
            str(pki.client_key),
        )
        assert node.tls_peer_fingerprint == der_fingerprint(pki.second_client_cert)
        shown = row(settings, "PACS")
        assert shown["detail"].endswith(" · certificate-bound") and shown["bound"]
        fields = settings.nodeFields("PACS")
        assert fields["tlsPeerCert"] == show_fingerprint(node.tls_peer_fingerprint)
        assert (fields["tlsCert"], fields["tlsKey"]) == (str(pki.client_cert), str(pki.client_key))

        # Saved again as shown (the binding as its fingerprint): nothing changes.
        assert save_node(settings, loop, *edit, fields) == ""
        assert core.registry.get("PACS") == node

        # TLS off: plain TCP, the files kept for when it is turned on again; binding removed.
        off = tls_fields(pki.ca, pki.client_cert, pki.client_key, on=False)
        assert save_node(settings, loop, *edit, off) == ""
        node = core.registry.get("PACS")
        assert not node.tls and node.tls_ca_file == str(pki.ca) and not node.tls_peer_fingerprint
        shown = row(settings, "PACS")
        assert " · TLS" not in shown["detail"] and not shown["tls"] and not shown["bound"]
        assert settings.nodeFields("PACS")["tlsCa"] == str(pki.ca)

    def test_errors_are_shown_and_nothing_is_saved(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, pki: Pki, tmp_path: Path
    ) -> None:
        core, model = app
        settings = model.settings
        base = ("", "PACS", "PACS", "pacs.example", "2762", "move", ["store"])
        missing = tmp_path / "nope" / "ca.pem"
        cases = {
            "A TLS node needs the CA file": tls_fields(),
            f"The TLS CA file '{missing}' does not exist": tls_fields(missing),
            "A TLS client key needs its certificate": tls_fields(pki.ca, key=pki.client_key),
            "The TLS key": tls_fields(pki.ca, pki.client_cert, tmp_path / "no.key"),
            "is neither a PEM certificate file nor a SHA-256 fingerprint": tls_fields(
                pki.ca, peer="not-a-certificate"
            ),
        }
        for expected, fields in cases.items():
            error = save_node(settings, loop, *base, fields)
            assert expected in error, error
            assert core.registry.list() == [] and settings.nodes.count == 0

        # An existing node: a bad edit leaves it as it was.
        assert save_node(settings, loop, *base, tls_fields(pki.ca)) == ""
        before = core.registry.get("PACS")
        edit = ("PACS", "Renamed", "OTHER", "other.example", "104", "get", ["find"])
        error = save_node(settings, loop, *edit, tls_fields(missing))
        assert "does not exist" in error
        assert core.registry.list() == [before]
        assert row(settings, "PACS")["detail"].startswith("PACS @ pacs.example:2762 · TLS")
        assert settings.nodeFields("PACS")["tlsCa"] == str(pki.ca)  # and the error is cleared
        assert settings.editorError == ""

    @pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")
    def test_the_test_button_echoes_over_tls(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, pki: Pki, tmp_path: Path
    ) -> None:
        _core, model = app
        settings = model.settings
        scp = StoreSCP(tmp_path / "scp", "+tls", str(pki.server_key), str(pki.server_cert), "-ic")
        with scp:
            port = str(scp.port)
            args = ("move", ["store"])
            assert save_node(settings, loop, "", "Secure", scp.ae_title, HOST, port, *args,
                             tls_fields(pki.ca)) == ""  # fmt: skip
            assert save_node(settings, loop, "", "Plain", scp.ae_title, HOST, port, *args) == ""
            settings.testNode("Secure")
            settings.testNode("Plain")
            run_until(loop, lambda: row(settings, "Secure")["state"] not in ("", "testing"))
            run_until(loop, lambda: row(settings, "Plain")["state"] not in ("", "testing"))
        secure, plain = row(settings, "Secure"), row(settings, "Plain")
        assert secure["state"] == "ok", secure["text"]
        assert secure["text"].startswith("Secure answered the C-ECHO in ")
        assert plain["state"] == "failed" and "speaks TLS on this port" in plain["text"]
