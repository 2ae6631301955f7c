"""DICOM TLS with Orthanc (Debian's package, ``DicomTlsEnabled``) in both directions.

One Orthanc speaks TLS only on its DICOM port, requires a client certificate and trusts our
test CA; our node (in this process) has a TLS port that requires client certificates from the
same CA, and registers Orthanc's AE title bound to Orthanc's certificate. Orthanc stores and
echoes to our node over TLS (its modality ``kiosk`` has ``UseDicomTls``); our send queue and
C-ECHO reach Orthanc over TLS; C-FIND, C-GET and C-MOVE (Orthanc's sub-association to our TLS
port) run over TLS too. The certificates are made for the module (tests.support.pki).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pydicom
import pytest
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance
from core.dicom.synth import ct_series
from core.net.qr import QueryRetrieveClient, StudyQuery
from core.net.remote import RemoteAE
from core.net.tls import TlsClientConfig
from core.node.server import DicomNode
from core.registry import echo_timed
from tests.integration.test_tls import send_queue
from tests.support.data import TEST_FILES, load_library
from tests.support.orthanc import Orthanc, OrthancTls
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import HOST, free_port, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command"),
]

TIMEOUT = 20.0
CT_FILE = TEST_FILES / "CT_small.dcm"


@dataclass
class Peers:
    pki: Pki
    core: Core
    node: DicomNode
    orthanc: Orthanc

    def instances(self) -> set[str]:
        with self.core.sessions() as session:
            return set(session.scalars(select(Instance.sop_uid)))

    def orthanc_remote(self) -> RemoteAE:
        return RemoteAE("ORTHANC", HOST, self.orthanc.dicom_port, "orthanc", self.our_identity())

    def our_identity(self) -> TlsClientConfig:
        pki = self.pki
        return TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.client_key))


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    tls_port = free_port()
    overrides = {"fsync": False, "send_retries": 0, **pki.node_settings(tls_port)}
    kiosk = {"AET": "KIOSK", "Host": HOST, "Port": tls_port, "UseDicomTls": True}
    orthanc = Orthanc(
        tmp_path_factory.mktemp("orthanc"),
        modalities={"kiosk": kiosk},
        tls=OrthancTls(pki.peer_cert, pki.peer_key, pki.ca, remote_certificate_required=True),
    )
    with Core(load_settings(tmp_path_factory.mktemp("kiosk"), overrides)) as core, orthanc:
        identity = TlsClientConfig(str(pki.ca), str(pki.client_cert), str(pki.client_key))
        core.registry.add(
            "orthanc", "ORTHANC", HOST, orthanc.dicom_port, "move",
            tls=identity, tls_peer_cert=str(pki.peer_cert),
        )  # fmt: skip
        node = DicomNode(core, ae_title="KIOSK", port=0, bind=HOST)
        asyncio.run(node.start())
        try:
            yield Peers(pki, core, node, orthanc)
        finally:
            asyncio.run(node.stop())


def test_orthanc_has_dicom_tls(peers: Peers) -> None:
    system = peers.orthanc.get("/system")
    major, minor = (int(part) for part in system["Version"].split(".")[:2])
    assert (major, minor) >= (1, 9), system["Version"]  # DicomTlsEnabled is new in 1.9.0


def test_orthanc_stores_to_our_node_over_tls(peers: Peers) -> None:
    orthanc = peers.orthanc
    assert orthanc.post("/modalities/kiosk/echo", {}) == {}
    uploaded = orthanc.upload(CT_FILE.read_bytes())["ID"]
    orthanc.post("/modalities/kiosk/store", {"Resources": [uploaded], "Synchronous": True})
    sop = str(pydicom.dcmread(CT_FILE, stop_before_pixels=True).SOPInstanceUID)
    wait_for(lambda: sop in peers.instances(), 30, "Orthanc's image in our index")
    incoming = [t for t in peers.core.transfers.list("in") if t["ae_title"] == "ORTHANC"]
    assert incoming and incoming[0]["node"] == "orthanc"


def test_a_binding_refuses_orthanc_with_another_certificate(peers: Peers) -> None:
    """ORTHANC bound to another certificate of our CA: Orthanc's own is refused."""
    registry = peers.core.registry
    registry.edit("orthanc", tls_peer_cert=str(peers.pki.second_client_cert))
    try:
        wait_for(
            lambda: not _orthanc_echoes(peers.orthanc), 15, "the node to refuse Orthanc's echo"
        )
    finally:
        registry.edit("orthanc", tls_peer_cert=str(peers.pki.peer_cert))
    wait_for(lambda: _orthanc_echoes(peers.orthanc), 15, "the node to accept Orthanc again")


def _orthanc_echoes(orthanc: Orthanc) -> bool:
    try:
        orthanc.post("/modalities/kiosk/echo", {})
    except AssertionError:  # Orthanc answers a failed echo with an HTTP error
        return False
    return True


def test_our_send_queue_and_echo_reach_orthanc_over_tls(peers: Peers) -> None:
    core, orthanc = peers.core, peers.orthanc
    echoed = echo_timed(core.registry.get("orthanc"), "KIOSK", TIMEOUT)
    assert echoed.ok, echoed.message
    before = orthanc.count_instances()
    library = load_library(core)
    tid = core.send([("patient", "P1")], "orthanc", "high")
    row = asyncio.run(send_queue(core, tid))
    assert (row["status"], row["failed"]) == ("sent", 0), row
    p1 = [sop for study in library.tree["P1"].values() for sops in study.values() for sop in sops]
    assert row["images"] == len(p1) > 0
    assert orthanc.count_instances() == before + len(p1)
    # plain TCP to Orthanc's TLS port is told apart
    plain = RemoteAE("ORTHANC", HOST, orthanc.dicom_port, "orthanc")
    with pytest.raises(Exception, match="speaks TLS on this port"):
        QueryRetrieveClient("KIOSK", TIMEOUT).find_studies(plain, StudyQuery())


def test_query_and_retrieve_from_orthanc_over_tls(peers: Peers) -> None:
    orthanc = peers.orthanc
    series = list(ct_series(3, size=32, seed=2112))
    for data in series:
        orthanc.upload(data)
    headers = [pydicom.dcmread(io.BytesIO(d), stop_before_pixels=True) for d in series]
    study_uid = str(headers[0].StudyInstanceUID)
    sops = {str(ds.SOPInstanceUID) for ds in headers}
    client = QueryRetrieveClient("KIOSK", TIMEOUT)
    remote = peers.orthanc_remote()
    found = client.find_studies(remote, StudyQuery())
    assert study_uid in {m.study_uid for m in found.matches}
    # C-GET: the images come back on our association over TLS
    got: list[bytes] = []

    def keep(data: bytes) -> int:
        got.append(data)
        return 0

    result = client.retrieve_get(remote, keep, study_uid)
    assert (result.completed, result.failed, len(got)) == (3, 0, 3)
    # C-MOVE to us: Orthanc opens its own TLS association to our TLS port
    assert not sops & peers.instances()
    moved = client.retrieve_move(remote, "KIOSK", study_uid)
    assert (moved.completed, moved.failed) == (3, 0)
    wait_for(lambda: sops <= peers.instances(), 30, "the moved images in our index")
