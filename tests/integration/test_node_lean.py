"""The lean storage acceptor: routing, aborts, silent peers and the peer's maximum PDU length.

Storage-only associations are served by core.node.storage; they announce a Maximum Length of
``MAX_RECEIVE_PDU`` where pynetdicom announces ``MAX_RECEIVE_PDU_PYNETDICOM``, which is how
these tests see which path served an association.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
)

from core.net import dimse
from core.node.limits import MAX_RECEIVE_PDU, MAX_RECEIVE_PDU_PYNETDICOM
from tests.support.data import make_dataset
from tests.support.dcmtk import dcmtk, have_dcmtk, run
from tests.support.node import AE as KIOSK_AE
from tests.support.node import KioskServer
from tests.support.ports import wait_for

pytestmark = pytest.mark.integration


def _encoded(ds: Dataset) -> bytes:
    """The data set as a C-STORE carries it: Explicit VR Little Endian, no file meta."""
    import io

    buffer = io.BytesIO()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dcmwrite(buffer, ds, enforce_file_format=True)
    data = buffer.getvalue()
    return data[132 + 12 + int.from_bytes(data[140:144], "little") :]


class RawSCU:
    """A storage requestor speaking through core.net.dimse, to misbehave on purpose."""

    def __init__(self, port: int, max_pdu: int = 0, timeout: float = 20.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        primitive = A_ASSOCIATE()
        primitive.application_context_name = "1.2.840.10008.3.1.1.1"
        primitive.calling_ae_title = "RAWSCU"
        primitive.called_ae_title = KIOSK_AE
        context = build_context(CTImageStorage, [ExplicitVRLittleEndian])  # what it sends
        context.context_id = 1
        primitive.presentation_context_definition_list = [context]
        length = MaximumLengthNotification()
        length.maximum_length_received = max_pdu
        primitive.user_information = [length]
        rq = A_ASSOCIATE_RQ()
        rq.from_primitive(primitive)
        self.sock.sendall(rq.encode())
        pdu_type, payload = dimse.read_pdu(self.sock, 1 << 16)
        assert pdu_type == dimse.A_ASSOCIATE_AC
        ac = A_ASSOCIATE_AC()
        ac.decode(dimse.encode_pdu(pdu_type, bytes(payload)))
        self.accepted = ac.to_primitive()
        self.message_id = 0

    def send_store(self, ds: Dataset, *, stop_after: int | None = None) -> None:
        """A C-STORE-RQ; with ``stop_after``, only that many data set bytes and no last one."""
        self.message_id += 1
        data = _encoded(ds)
        rq = dimse.CStoreRQ(self.message_id, str(ds.SOPClassUID), str(ds.SOPInstanceUID))
        if stop_after is None:
            for pdu in dimse.pdata_pdus(1, rq.encode(), data, 16384):
                self.sock.sendall(pdu)
            return
        pdus = list(dimse.pdata_pdus(1, rq.encode(), data[:stop_after] + b"\0\0", 16384))
        for pdu in pdus[:-1]:  # the command, and the data set without its last fragment
            self.sock.sendall(pdu)

    def read_response(self) -> tuple[dimse.Command, list[int]]:
        """The next DIMSE response and the lengths of the PDUs that carried it."""
        command = bytearray()
        lengths: list[int] = []
        while True:
            pdu_type, payload = dimse.read_pdu(self.sock, 1 << 20)
            assert pdu_type == dimse.P_DATA_TF, f"PDU type {pdu_type}"
            lengths.append(len(payload))
            for pdv in dimse.iter_pdvs(payload):
                assert pdv.is_command
                command += pdv.data
                if pdv.is_last:
                    return dimse.decode_command(command), lengths

    def store(self, ds: Dataset) -> int:
        self.send_store(ds)
        response, _ = self.read_response()
        assert isinstance(response, dimse.CStoreRSP)
        return response.status

    def abort(self) -> None:
        self.sock.sendall(dimse.encode_abort())
        self.sock.close()

    def release(self) -> None:
        self.sock.sendall(dimse.RELEASE_RQ)
        assert dimse.read_pdu(self.sock, 64)[0] == dimse.A_RELEASE_RP
        self.sock.close()


@pytest.fixture
def quick_kiosk(tmp_path: Path) -> Iterator[KioskServer]:
    """Our node with a 1 s network timeout."""
    if not have_dcmtk():
        pytest.fail("DCMTK is not installed (make test installs it)")
    server = KioskServer(tmp_path / "quick", env={"DICOM_KIOSK_NETWORK_TIMEOUT": "1"})
    try:
        yield server.start()
    finally:
        server.stop()


def _incoming(server: KioskServer) -> list[str]:
    """Files waiting in incoming/ (the intake journal's folder aside)."""
    return sorted(p.name for p in (server.data_dir / "store" / "incoming").iterdir() if p.is_file())


def test_storage_only_is_lean_and_mixed_goes_to_pynetdicom(kiosk: KioskServer) -> None:
    ae = AE(ae_title="MIXED")
    ae.add_requested_context(CTImageStorage)
    lean = ae.associate("127.0.0.1", kiosk.port, ae_title=KIOSK_AE)
    try:
        assert lean.is_established
        assert lean.acceptor.maximum_length == MAX_RECEIVE_PDU
        first = make_dataset(patient_id="LEAN")
        assert lean.send_c_store(first).Status == 0
    finally:
        lean.release()

    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    mixed = ae.associate("127.0.0.1", kiosk.port, ae_title=KIOSK_AE)
    try:
        assert mixed.is_established
        assert mixed.acceptor.maximum_length == MAX_RECEIVE_PDU_PYNETDICOM  # pynetdicom's
        second = make_dataset(patient_id="MIXED")
        assert mixed.send_c_store(second).Status == 0
        kiosk.wait_count(2)
        query = Dataset()
        query.PatientID = "LEAN"
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = ""
        found = [
            str(identifier.StudyInstanceUID)
            for status, identifier in mixed.send_c_find(
                query, StudyRootQueryRetrieveInformationModelFind
            )
            if status.Status == 0xFF00
        ]
        assert found == [str(first.StudyInstanceUID)]
    finally:
        mixed.release()
    assert set(kiosk.instances()) == {str(first.SOPInstanceUID), str(second.SOPInstanceUID)}


def test_a_context_the_node_does_not_support_keeps_an_association_lean(
    kiosk: KioskServer,
) -> None:
    """A modality that also proposes Storage Commitment (which the node does not support on
    any path) still sends its images on the lean path, with its size limits."""
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context("1.2.840.10008.1.20.1")  # Storage Commitment Push Model
    assoc = ae.associate("127.0.0.1", kiosk.port, ae_title=KIOSK_AE)
    try:
        assert assoc.is_established
        assert assoc.acceptor.maximum_length == MAX_RECEIVE_PDU
        commitment = [
            cx for cx in assoc.rejected_contexts if cx.abstract_syntax == "1.2.840.10008.1.20.1"
        ]
        assert commitment  # rejected in the negotiation, as before
        image = make_dataset(patient_id="COMMIT")
        assert assoc.send_c_store(image).Status == 0
    finally:
        assoc.release()
    kiosk.wait_count(1)
    assert set(kiosk.instances()) == {str(image.SOPInstanceUID)}


def test_abort_in_the_middle_of_a_data_set_keeps_only_complete_images(
    kiosk: KioskServer,
) -> None:
    scu = RawSCU(kiosk.port)
    complete = make_dataset(patient_id="ABORT")
    assert scu.store(complete) == 0
    partial = make_dataset(patient_id="ABORT", study_uid=str(complete.StudyInstanceUID))
    scu.send_store(partial, stop_after=40)
    scu.abort()
    kiosk.wait_count(1)
    wait_for(lambda: not _incoming(kiosk), 10, "incoming/ to empty")
    later = RawSCU(kiosk.port)
    follow = make_dataset(patient_id="AFTER")
    assert later.store(follow) == 0
    later.release()
    kiosk.wait_count(2)
    assert set(kiosk.instances()) == {str(complete.SOPInstanceUID), str(follow.SOPInstanceUID)}
    transfers = kiosk_transfers(kiosk)
    by_ae = {t["ae_title"]: t for t in transfers}
    assert by_ae["RAWSCU"]["status"] in {"failed", "received"}
    failed = [t for t in transfers if t["status"] == "failed"]
    assert len(failed) == 1 and "aborted" in failed[0]["error"]
    assert failed[0]["images"] == 1


def kiosk_transfers(server: KioskServer) -> list[dict[str, object]]:
    import json

    from tests.support.node import cli

    return list(json.loads(cli(server.data_dir, "transfers", "list", "--json").stdout)["rows"])


def test_a_silent_peer_is_dropped_after_the_network_timeout(quick_kiosk: KioskServer) -> None:
    idle = RawSCU(quick_kiosk.port)
    idle.sock.settimeout(15)
    pdu_type, payload = dimse.read_pdu(idle.sock, 64)  # nothing sent: the node gives up
    assert pdu_type == dimse.A_ABORT and payload[2] == dimse.ABORT_SOURCE_PROVIDER
    assert idle.sock.recv(1) == b""
    idle.sock.close()

    stalled = RawSCU(quick_kiosk.port)
    stalled.sock.settimeout(15)
    ds = make_dataset(patient_id="STALL")
    stalled.send_store(ds, stop_after=100)  # then silence in the middle of the data set
    assert dimse.read_pdu(stalled.sock, 64)[0] == dimse.A_ABORT
    stalled.sock.close()
    assert "no data from the peer for 1 s" in quick_kiosk.log()
    wait_for(lambda: not _incoming(quick_kiosk), 10, "incoming/ to empty")
    assert quick_kiosk.count() == 0


def test_responses_respect_the_peers_maximum_pdu(kiosk: KioskServer) -> None:
    scu = RawSCU(kiosk.port, max_pdu=64)
    ds = make_dataset(patient_id="TINY")
    scu.send_store(ds)
    response, lengths = scu.read_response()
    assert isinstance(response, dimse.CStoreRSP)
    assert (response.status, response.sop_instance_uid) == (0, str(ds.SOPInstanceUID))
    assert len(lengths) > 1 and max(lengths) <= 64
    scu.release()
    kiosk.wait_count(1)


def test_storescu_with_small_pdus(kiosk: KioskServer, tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    sops = []
    for i in range(5):
        ds = make_dataset(patient_id="SMALL", instance_number=i)
        ds.save_as(folder / f"{i}.dcm", enforce_file_format=True)
        sops.append(str(ds.SOPInstanceUID))
    result = run(
        [
            dcmtk("storescu"),
            "--max-pdu",
            "4096",
            "--max-send-pdu",
            "4096",
            "-aec",
            KIOSK_AE,
            "127.0.0.1",
            str(kiosk.port),
            *sorted(str(p) for p in folder.iterdir()),
        ]
    )
    assert result.returncode == 0
    kiosk.wait_count(5)
    assert set(kiosk.instances()) == set(sops)


def test_stop_aborts_a_lean_association_that_does_not_finish(kiosk: KioskServer) -> None:
    import signal
    import time

    scu = RawSCU(kiosk.port)
    assert scu.store(make_dataset(patient_id="STOP")) == 0
    scu.sock.settimeout(30)
    started = time.monotonic()
    kiosk.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    pdu_type, _payload = dimse.read_pdu(scu.sock, 64)  # the grace period ends: aborted
    assert pdu_type == dimse.A_ABORT
    assert kiosk.stop() == 0
    assert time.monotonic() - started < 25
    log = kiosk.log()
    assert "aborting association with RAWSCU at stop" in log
    assert "index flushed" in log
    scu.sock.close()
    kiosk.start()
    assert kiosk.count() == 1
    transfers = kiosk_transfers(kiosk)
    assert [t["status"] for t in transfers] == ["failed"]
    assert "aborted" in str(transfers[0]["error"])
