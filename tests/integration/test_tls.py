"""DICOM TLS (PS3.15 Annex B, BCP 195) against DCMTK and pynetdicom peers on loopback.

The certificates are made for the module with the openssl command: a CA, a server
certificate for 127.0.0.1 and localhost, an expired one, one for another host name, one
signed by another CA, and a client certificate. DCMTK's storescp (``+tls``) is the peer for
sending and C-ECHO; a pynetdicom SCP with our server context answers C-FIND and C-GET.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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

from core.app import Core
from core.config import load_settings
from core.errors import ConfigError, NetworkError
from core.net import tls
from core.net.association import RemoteAE
from core.net.qr import QueryRetrieveClient, StudyQuery
from core.net.storescu import StoreAssociation, StoreItem
from core.net.tls import TlsClientConfig
from core.node.server import DicomNode
from core.registry import NodeInfo, echo_timed
from core.transfers.log import FINAL_OUT, TransferRow
from core.transfers.sender import SendWorker
from tests.support.data import TEST_FILES, load_library
from tests.support.dcmtk import StoreSCP, run
from tests.support.node import KioskServer, cli
from tests.support.ports import HOST, free_port, port_open, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]

CT_FILE = TEST_FILES / "CT_small.dcm"
TIMEOUT = 10.0


# -- certificates -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA our nodes trust
    server_cert: Path  # for 127.0.0.1 and localhost
    server_key: Path
    expired_cert: Path
    expired_key: Path
    other_host_cert: Path  # for other.example only
    other_host_key: Path
    foreign_cert: Path  # for 127.0.0.1, signed by another CA
    foreign_key: Path
    client_cert: Path
    client_key: Path
    foreign_client_cert: Path  # a client certificate from the other CA
    foreign_client_key: Path


CA_CONFIG = """[ca]
default_ca = test
[test]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/new
serial = {dir}/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
"""


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def _make_ca(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """(certificate, key, openssl ca config) of a new CA in ``folder``/``name``."""
    home = folder / name
    (home / "new").mkdir(parents=True)
    (home / "index.txt").write_text("")
    (home / "serial").write_text("1000\n")
    config = home / "ca.cnf"
    config.write_text(CA_CONFIG.format(dir=home))
    cert, key = home / "ca.pem", home / "ca.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
        "-subj", f"/CN={name}", "-days", "3",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key, config


def _issue(
    ca: tuple[Path, Path, Path],
    folder: Path,
    name: str,
    names: str,
    *,
    start: str = "",
    end: str = "",
) -> tuple[Path, Path]:
    """(certificate, key) for ``names`` (subjectAltName), signed by ``ca``."""
    ca_cert, ca_key, config = ca
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    ext = folder / f"{name}.ext"
    ext.write_text(
        f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", f"/CN={name}")  # fmt: skip
    dates = ["-startdate", start, "-enddate", end] if start else ["-days", "2"]
    _openssl("ca", "-batch", "-notext", "-config", config, "-cert", ca_cert, "-keyfile", ca_key,
             "-in", csr, "-out", cert, "-extfile", ext, *dates)  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = _make_ca(folder, "Kiosk Test CA")
    other_ca = _make_ca(folder, "Other CA")
    local = "IP:127.0.0.1,DNS:localhost"
    server = _issue(ca, folder, "server", local)
    expired = _issue(ca, folder, "expired", local, start="20200101000000Z", end="20210101000000Z")
    other_host = _issue(ca, folder, "other-host", "DNS:other.example")
    foreign = _issue(other_ca, folder, "foreign", local)
    client = _issue(ca, folder, "client", "DNS:kiosk.client")
    foreign_client = _issue(other_ca, folder, "foreign-client", "DNS:kiosk.client")
    return Pki(ca[0], *server, *expired, *other_host, *foreign, *client, *foreign_client)


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
            row = asyncio.run(_send_queue(core, tid))
        assert (row["status"], row["failed"]) == ("sent", 0), row
        p1 = [
            sop for study in library.tree["P1"].values() for sops in study.values() for sop in sops
        ]
        assert sorted(scp.files()) == sorted(p1) and row["images"] == len(p1) > 0


async def _send_queue(core: Core, transfer_id: int) -> TransferRow:
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


def _dcmtk_tls(tool: str, pki: Pki, port: int, *args: str, cert: str = "ours") -> Any:
    """Run storescu or echoscu over TLS to our node (bounded); the completed process."""
    if cert == "ours":
        identity = ["+tls", str(pki.client_key), str(pki.client_cert)]
    elif cert == "foreign":
        identity = ["+tls", str(pki.foreign_client_key), str(pki.foreign_client_cert)]
    else:
        identity = ["+tla"]
    command = [f"/usr/bin/{tool}", *identity, "+cf", str(pki.ca), "-aec", "KIOSK"]
    return run([*command, "-aet", "DCMTK", HOST, str(port), *args], timeout=60, check=False)


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
    overrides = {
        "fsync": False,
        "tls_port": tls_port,
        "tls_cert_file": str(pki.server_cert),
        "tls_key_file": str(pki.server_key),
        "tls_ca_file": str(pki.ca),
        "tls_require_client_cert": True,
    }
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
