"""DICOM TLS (PS3.15 Annex B, BCP 195) against DCMTK and pynetdicom peers on loopback.

The certificates are made for the module with the openssl command: a CA, a server
certificate for 127.0.0.1 and localhost, an expired one, one for another host name, one
signed by another CA, and two client certificates from our CA (the binding tests bind an AE
title to one; the other is valid but not the bound one). DCMTK's storescp (``+tls``) is the
peer for sending and C-ECHO; a pynetdicom SCP with our server context answers C-FIND and C-GET;
DCMTK's storescu, echoscu and findscu call our node's TLS port.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)
from sqlalchemy import func, select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance
from core.errors import ConfigError, NetworkError
from core.net import tls
from core.net.qr import QueryRetrieveClient, StudyQuery
from core.net.remote import RemoteAE
from core.net.storescu import StoreAssociation, StoreItem
from core.net.tls import TlsClientConfig
from core.node.server import DicomNode
from core.registry import NodeInfo, echo_timed
from core.transfers.log import FINAL_OUT, TransferRow
from core.transfers.sender import SendWorker
from tests.support.data import TEST_FILES, load_library
from tests.support.dcmtk import StoreSCP, run
from tests.support.node import KioskServer, cli
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import HOST, free_port, port_open, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command"),
]

CT_FILE = TEST_FILES / "CT_small.dcm"
TIMEOUT = 10.0


# -- certificates -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


# -- peers ---------------------------------------------------------------------------------------
def tls_scp(folder: Path, cert: Path, key: Path, *options: str) -> StoreSCP:
    """DCMTK storescp speaking TLS with ``cert``; ``options`` say how it treats clients
    (default: it does not ask for a client certificate)."""
    return StoreSCP(folder, "+tls", str(key), str(cert), *(options or ("-ic",)))


def remote_of(scp: StoreSCP, config: TlsClientConfig | None) -> RemoteAE:
    return RemoteAE(scp.ae_title, HOST, scp.port, "storescp", config)


def ct_item() -> StoreItem:
    ds = pydicom.dcmread(CT_FILE, stop_before_pixels=True)
    return StoreItem(
        str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID), CT_FILE
    )


def send_one(remote: RemoteAE) -> int:
    item = ct_item()
    with StoreAssociation.open(remote, "KIOSK", [item], timeout=TIMEOUT) as assoc:
        return assoc.store(item).status


def node_of(remote: RemoteAE) -> NodeInfo:
    config = remote.tls
    return NodeInfo(
        "storescp",
        remote.ae_title,
        remote.host,
        remote.port,
        "move",
        frozenset(),
        config is not None,
        config.ca_file if config else "",
        config.cert_file if config else "",
        config.key_file if config else "",
    )


def failure(remote: RemoteAE) -> tuple[str, str]:
    """(the send's error, the C-ECHO's message) for a peer that must refuse both."""
    with pytest.raises(NetworkError) as raised:
        send_one(remote)
    result = echo_timed(node_of(remote), "KIOSK", TIMEOUT)
    assert not result.ok
    return str(raised.value), result.message


# -- the context ---------------------------------------------------------------------------------
def test_the_client_context_is_bcp195(pki: Pki) -> None:
    context = tls.client_context(TlsClientConfig(str(pki.ca)))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 and all("GCM" in name or "CHACHA20" in name for name in tls12)
    assert all(name.startswith(("ECDHE-", "DHE-")) for name in tls12)
    server = tls.server_context(str(pki.server_cert), str(pki.server_key), str(pki.ca), True)
    assert server.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.verify_mode == ssl.CERT_REQUIRED


def test_missing_or_unusable_files_are_config_errors(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CA file"):
        tls.client_context(TlsClientConfig(""))
    with pytest.raises(ConfigError, match="does not exist"):
        tls.client_context(TlsClientConfig(str(tmp_path / "nope.pem")))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigError, match="no usable PEM"):
        tls.client_context(TlsClientConfig(str(garbage)))
    with pytest.raises(ConfigError, match="key"):
        tls.client_context(TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.server_key)))


# -- sending and C-ECHO to storescp +tls ---------------------------------------------------------
def test_send_and_echo_over_tls(pki: Pki, tmp_path: Path) -> None:
    with tls_scp(tmp_path / "scp", pki.server_cert, pki.server_key) as scp:
        remote = remote_of(scp, TlsClientConfig(str(pki.ca)))
        assert send_one(remote) == 0
        echoed = echo_timed(node_of(remote), "KIOSK", TIMEOUT)
        assert echoed.ok, echoed.message
        assert scp.count() == 1
        log = scp.log()
    assert "TLS" in log or "tls" in log.lower()


def test_client_certificate_accepted_and_required(pki: Pki, tmp_path: Path) -> None:
    required = ("-rc", "+cf", str(pki.ca))
    with tls_scp(tmp_path / "scp", pki.server_cert, pki.server_key, *required) as scp:
        ours = TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.client_key))
        assert send_one(remote_of(scp, ours)) == 0
        assert echo_timed(node_of(remote_of(scp, ours)), "KIOSK", TIMEOUT).ok
        sent, echoed = failure(remote_of(scp, TlsClientConfig(str(pki.ca))))
        assert "client certificate" in sent and "client certificate" in echoed
        foreign = TlsClientConfig(
            str(pki.ca), str(pki.foreign_client_cert), str(pki.foreign_client_key)
        )
        sent, echoed = failure(remote_of(scp, foreign))
        assert "client certificate" in sent and "client certificate" in echoed
        assert scp.count() == 1


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("expired", "has expired"),
        ("foreign", "unknown CA"),
        ("other_host", "is not for '127.0.0.1'"),
    ],
)
def test_a_bad_server_certificate_is_named(
    pki: Pki, tmp_path: Path, which: str, expected: str
) -> None:
    cert, key = getattr(pki, f"{which}_cert"), getattr(pki, f"{which}_key")
    with tls_scp(tmp_path / "scp", cert, key) as scp:
        sent, echoed = failure(remote_of(scp, TlsClientConfig(str(pki.ca))))
        assert scp.count() == 0
    assert expected in sent and expected in echoed, (sent, echoed)


def test_tls_to_a_plain_port_says_so(pki: Pki, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp") as scp:
        sent, echoed = failure(remote_of(scp, TlsClientConfig(str(pki.ca))))
    for message in (sent, echoed):
        assert "does not speak TLS on this port" in message, message


def test_plain_to_a_tls_port_says_so(pki: Pki, tmp_path: Path) -> None:
    with tls_scp(tmp_path / "scp", pki.server_cert, pki.server_key) as scp:
        sent, echoed = failure(remote_of(scp, None))
    for message in (sent, echoed):
        assert "speaks TLS on this port" in message, message


# -- the registry, the CLI and the send queue ------------------------------------------------------
def test_cli_nodes_tls_echo_and_send_queue(pki: Pki, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with tls_scp(tmp_path / "scp", pki.server_cert, pki.server_key) as scp:
        port = str(scp.port)
        base = ["nodes", "add", "pacs", "--ae", scp.ae_title, "--host", HOST, "--port", port]
        missing = cli(data, *base, "--tls", check=False)
        assert missing.returncode == 1 and "CA file" in missing.stderr
        cli(data, *base, "--tls", "--tls-ca", str(pki.ca))
        listed = cli(data, "nodes", "list", "--json").stdout
        assert '"ca_file"' in listed and str(pki.ca) in listed
        assert "C-ECHO succeeded" in cli(data, "nodes", "echo", "pacs").stdout
        cli(data, "nodes", "edit", "pacs", "--no-tls")
        plain = cli(data, "nodes", "echo", "pacs", check=False)
        assert plain.returncode == 1 and "speaks TLS on this port" in plain.stdout
        cli(data, "nodes", "edit", "pacs", "--tls")
        with Core(load_settings(data, {"fsync": False, "send_retries": 0})) as core:
            node = core.registry.get("pacs")
            assert node.tls and node.tls_ca_file == str(pki.ca)
            library = load_library(core)
            tid = core.send([("patient", "P1")], "pacs", "high")
            row = asyncio.run(send_queue(core, tid))
        assert (row["status"], row["failed"]) == ("sent", 0), row
        p1 = [
            sop for study in library.tree["P1"].values() for sops in study.values() for sop in sops
        ]
        assert sorted(scp.files()) == sorted(p1) and row["images"] == len(p1) > 0


async def send_queue(core: Core, transfer_id: int) -> TransferRow:
    """Run a SendWorker until the transfer ends (bounded); the transfer's row."""
    worker = SendWorker(core)
    await worker.start()
    try:
        deadline = time.monotonic() + 60
        while core.transfers.get(transfer_id)["status"] not in FINAL_OUT:
            assert time.monotonic() < deadline, "the transfer did not end within 60 s"
            await asyncio.sleep(0.05)
        return core.transfers.get(transfer_id)
    finally:
        await worker.stop()


# -- C-FIND and C-GET against a pynetdicom SCP over TLS ------------------------------------------
@pytest.fixture
def qr_peer(pki: Pki) -> Iterator[RemoteAE]:
    """A pynetdicom Q/R SCP on a TLS port: one CT study; C-GET sends CT_small back."""
    ds = pydicom.dcmread(CT_FILE)
    ae = AE(ae_title="TLSQR")
    ae.add_supported_context(Verification)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_supported_context(CTImageStorage, scu_role=False, scp_role=True)  # C-GET's stores

    def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        answer = Dataset()
        answer.QueryRetrieveLevel = event.identifier.QueryRetrieveLevel
        answer.StudyInstanceUID = ds.StudyInstanceUID
        answer.PatientName = ds.PatientName
        answer.PatientID = ds.PatientID
        yield 0xFF00, answer

    def on_get(event: Any) -> Iterator[Any]:
        yield 1
        yield 0xFF00, ds

    context = tls.server_context(str(pki.server_cert), str(pki.server_key))
    port = free_port()
    server = ae.start_server(
        (HOST, port),
        block=False,
        ssl_context=context,
        evt_handlers=[(evt.EVT_C_FIND, on_find), (evt.EVT_C_GET, on_get)],
    )
    assert server is not None
    try:
        yield RemoteAE("TLSQR", HOST, port, "tlsqr", TlsClientConfig(str(pki.ca)))
    finally:
        server.shutdown()


def test_query_and_retrieve_over_tls(qr_peer: RemoteAE, tmp_path: Path) -> None:
    client = QueryRetrieveClient("KIOSK", TIMEOUT)
    found = client.find_studies(qr_peer, StudyQuery())
    assert len(found.matches) == 1
    study_uid = found.matches[0].study_uid
    stored: list[bytes] = []
    lock = threading.Lock()

    def keep(encoded: bytes) -> int:
        with lock:
            stored.append(encoded)
        return 0

    result = client.retrieve_get(qr_peer, keep, study_uid)
    assert result.completed == 1 and result.received == 1 and len(stored) == 1
    plain = RemoteAE(qr_peer.ae_title, qr_peer.host, qr_peer.port, "tlsqr")
    with pytest.raises(NetworkError, match="speaks TLS on this port"):
        client.find_studies(plain, StudyQuery())


def test_dcmtk_tools_have_tls() -> None:
    assert "enable-tls" in run(["/usr/bin/storescu", "--help"], check=False).stdout


# -- our node's TLS port, with DCMTK's storescu and echoscu as the clients ------------------------
@pytest.fixture
def tls_node(pki: Pki, tmp_path: Path) -> Iterator[tuple[KioskServer, int]]:
    """``dicom-kiosk serve`` with a TLS port that requires client certificates from our CA."""
    tls_port = free_port()
    env = {
        "DICOM_KIOSK_TLS_PORT": str(tls_port),
        "DICOM_KIOSK_TLS_CERT_FILE": str(pki.server_cert),
        "DICOM_KIOSK_TLS_KEY_FILE": str(pki.server_key),
        "DICOM_KIOSK_TLS_CA_FILE": str(pki.ca),
        "DICOM_KIOSK_TLS_REQUIRE_CLIENT_CERT": "true",
        "DICOM_KIOSK_FSYNC": "false",
    }
    server = KioskServer(tmp_path / "node", env=env).start()
    try:
        wait_for(lambda: port_open(tls_port), 10, "the TLS port to open")
        yield server, tls_port
    finally:
        server.stop()


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


def _dcmtk_tls(
    tool: str, pki: Pki, port: int, *args: str, cert: str = "ours", aet: str = "DCMTK"
) -> Any:
    """Run storescu, echoscu or findscu over TLS to our node (bounded); the completed
    process. ``cert``: ours, second (another of our CA's), foreign (another CA's) or none."""
    if cert in ("ours", "second", "foreign"):
        prefix = {"ours": "", "second": "second_", "foreign": "foreign_"}[cert]
        identity = [
            "+tls",
            str(getattr(pki, f"{prefix}client_key")),
            str(getattr(pki, f"{prefix}client_cert")),
        ]
    else:
        identity = ["+tla"]
    command = [f"/usr/bin/{tool}", *identity, "+cf", str(pki.ca), "-aec", "KIOSK"]
    return run([*command, "-aet", aet, HOST, str(port), *args], timeout=60, check=False)


def test_the_node_accepts_tls_from_dcmtk(
    pki: Pki, tls_node: tuple[KioskServer, int], tmp_path: Path
) -> None:
    server, tls_port = tls_node
    echoed = _dcmtk_tls("echoscu", pki, tls_port)
    assert echoed.returncode == 0, echoed.stdout + echoed.stderr
    stored = _dcmtk_tls("storescu", pki, tls_port, str(CT_FILE))
    assert stored.returncode == 0, stored.stdout + stored.stderr
    # the plain port still works beside it
    plain = run(["/usr/bin/echoscu", "-aec", "KIOSK", HOST, str(server.port)], check=False)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    # our own SCUs over TLS: C-ECHO (lean acceptor) and C-FIND (pynetdicom) on the TLS port
    ours = TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.client_key))
    node = RemoteAE("KIOSK", HOST, tls_port, "kiosk", ours)
    assert echo_timed(node_of(node), "DCMTK", TIMEOUT).ok
    found = QueryRetrieveClient("DCMTK", TIMEOUT).find_studies(node, StudyQuery())
    ct = pydicom.dcmread(CT_FILE, stop_before_pixels=True)
    assert [m.study_uid for m in found.matches] == [ct.StudyInstanceUID]


def test_the_node_refuses_bad_tls_clients(
    pki: Pki, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls_port = free_port()
    overrides = {"fsync": False, **pki.node_settings(tls_port)}
    caplog.set_level(logging.WARNING, logger="core.node.doorman")
    with Core(load_settings(data_dir, overrides)) as core:
        node = DicomNode(core, ae_title="KIOSK", port=0, bind=HOST)
        asyncio.run(node.start())
        try:
            assert node.state.tls_port == tls_port
            for listening in (node._server, node._tls_server):
                assert listening is not None
                listening.doorman.peer_log.every = 0  # every refusal in the log
            for cert, expected in (
                ("foreign", "client certificate is missing or not signed by tls_ca_file"),
                ("none", "client certificate is missing or not signed by tls_ca_file"),
            ):
                refused = _dcmtk_tls("echoscu", pki, tls_port, cert=cert)
                assert refused.returncode != 0, (cert, refused.stdout, refused.stderr)
                wait_for(partial(_logged, caplog, expected), 10, f"{expected!r} in the log")
                caplog.clear()
            plain = run(["/usr/bin/echoscu", "-to", "5", "-aec", "KIOSK", HOST, str(tls_port)],
                        check=False)  # fmt: skip
            assert plain.returncode != 0
            wait_for(lambda: "plain DICOM client on the TLS port" in caplog.text, 10, "the log")
            # a TLS client on the plain port is told apart in the log, and told why
            ours = TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.client_key))
            wrong = RemoteAE("KIOSK", HOST, node.state.port, "kiosk", ours)
            echoed = echo_timed(node_of(wrong), "DCMTK", TIMEOUT)
            assert not echoed.ok and "does not speak TLS on this port" in echoed.message
            wait_for(lambda: "a TLS handshake on the plain DICOM port" in caplog.text, 10, "log")
        finally:
            asyncio.run(node.stop())


# -- an AE title bound to its client certificate ---------------------------------------------------
def _openssl_fingerprint(cert: Path) -> str:
    shown = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return shown.strip()  # "sha256 Fingerprint=AB:CD:..."


def test_a_certificate_binding_is_a_fingerprint(pki: Pki, tmp_path: Path) -> None:
    shown = _openssl_fingerprint(pki.client_cert)
    expected = shown.split("=", 1)[1].replace(":", "").lower()
    assert tls.parse_fingerprint(str(pki.client_cert)) == expected
    assert tls.parse_fingerprint(shown) == expected  # openssl's line, pasted as it is
    assert tls.parse_fingerprint(shown.split("=", 1)[1]) == expected
    assert tls.parse_fingerprint(f"sha256:{expected.upper()}") == expected
    assert tls.parse_fingerprint("") == ""
    assert tls.show_fingerprint(expected) == shown.split("=", 1)[1]
    with pytest.raises(ConfigError, match="SHA-256 fingerprint"):
        tls.parse_fingerprint("abcd")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigError, match="no PEM certificate"):
        tls.parse_fingerprint(str(garbage))
    # the CLI keeps it, shows it in openssl's form, and can remove it
    data = tmp_path / "data"
    base = ["nodes", "add", "modality", "--ae", "DCMTK", "--host", HOST, "--port", "104"]
    cli(data, *base, "--tls-peer-cert", str(pki.client_cert))
    listed = cli(data, "nodes", "list", "--json").stdout
    assert shown.split("=", 1)[1] in listed
    assert "cert-bound" in cli(data, "nodes", "list").stdout
    cli(data, "nodes", "edit", "modality", "--tls-peer-cert", "")
    assert "tls_peer_fingerprint" not in cli(data, "nodes", "list", "--json").stdout
    refused = cli(data, "nodes", "edit", "modality", "--tls-peer-cert", "abcd", check=False)
    assert refused.returncode == 1 and "SHA-256 fingerprint" in refused.stderr


def test_an_ae_title_bound_to_its_certificate(
    pki: Pki, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """DCMTK calling as DCMTK, whose registry entry is bound to ``client_cert``: accepted with
    that certificate; refused with another valid certificate from the same CA, on the lean
    acceptor (storescu, echoscu) and on pynetdicom (findscu) alike, and on the plain port;
    an AE title without a binding is accepted with either certificate."""
    tls_port = free_port()
    overrides = {"fsync": False, **pki.node_settings(tls_port)}
    caplog.set_level(logging.WARNING, logger="core.node.reception")
    bound_to = "is not the one bound to AE title DCMTK"
    with Core(load_settings(data_dir, overrides)) as core:
        core.registry.add("modality", "DCMTK", HOST, 104, tls_peer_cert=str(pki.client_cert))
        node = DicomNode(core, ae_title="KIOSK", port=0, bind=HOST)
        asyncio.run(node.start())
        try:
            find = ("-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
            # the bound certificate: store (lean acceptor) and find (pynetdicom) accepted
            stored = _dcmtk_tls("storescu", pki, tls_port, str(CT_FILE))
            assert stored.returncode == 0, stored.stdout + stored.stderr
            assert node.wait_indexed(30)
            found = _dcmtk_tls("findscu", pki, tls_port, *find)
            assert found.returncode == 0, found.stdout + found.stderr
            assert bound_to not in caplog.text
            # another certificate of the same CA, calling the bound AE title: refused on both
            for tool, args in (("storescu", (str(CT_FILE),)), ("echoscu", ()), ("findscu", find)):
                caplog.clear()
                refused = _dcmtk_tls(tool, pki, tls_port, *args, cert="second")
                assert refused.returncode != 0, (tool, refused.stdout, refused.stderr)
                assert "Association Rejected" in refused.stdout + refused.stderr, tool
                wait_for(lambda: bound_to in caplog.text, 10, f"the refusal of {tool} logged")
                assert "rejected association from DCMTK at 127.0.0.1:" in caplog.text
            # the bound AE title on the plain port: refused, it must come over TLS
            caplog.clear()
            plain = run(["/usr/bin/echoscu", "-aec", "KIOSK", "-aet", "DCMTK", HOST,
                         str(node.state.port)], check=False)  # fmt: skip
            assert plain.returncode != 0 and "Association Rejected" in plain.stdout + plain.stderr
            wait_for(lambda: "showed none" in caplog.text, 10, "the plain refusal logged")
            # an AE title without a binding: any certificate of our CA will do
            other = _dcmtk_tls("echoscu", pki, tls_port, cert="second", aet="OTHER")
            assert other.returncode == 0, other.stdout + other.stderr
            # rebinding to the second certificate takes effect for the next associations
            core.registry.edit("modality", tls_peer_cert=str(pki.second_client_cert))
            wait_for(  # the node re-reads the registry within 2 s
                lambda: _dcmtk_tls("echoscu", pki, tls_port, cert="second").returncode == 0,
                15,
                "the new binding to apply",
            )
            assert _dcmtk_tls("echoscu", pki, tls_port).returncode != 0
        finally:
            asyncio.run(node.stop())
        with core.sessions() as session:  # only the bound sender's image was kept
            assert session.scalar(select(func.count()).select_from(Instance)) == 1
