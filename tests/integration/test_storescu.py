"""Sending with core.net.storescu to DCMTK's storescp (and Orthanc) on loopback."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, AllStoragePresentationContexts, evt

from core.dicom.synth import CT_IMAGE_STORAGE, ct_series
from core.dicom.transcode import parse_meta
from core.errors import NetworkError, ProtocolError
from core.net.remote import RemoteAE
from core.net.status import Status
from core.net.storescu import (
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    StoreAssociation,
    StoreItem,
    plan_associations,
)
from tests.support.data import TEST_FILES
from tests.support.dcmtk import StoreSCP
from tests.support.orthanc import Orthanc
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

CALLING_AE = "KIOSK"


def item_for(path: Path) -> StoreItem:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    return StoreItem(
        str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID), path
    )


def dataset_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data[parse_meta(data).dataset_offset :]


@pytest.fixture
def ct_items(tmp_path: Path) -> list[StoreItem]:
    folder = tmp_path / "ct"
    folder.mkdir()
    items = []
    for index, data in enumerate(ct_series(30, size=64)):
        path = folder / f"{index:04d}.dcm"
        path.write_bytes(data)
        items.append(item_for(path))
    return items


def test_files_arrive_byte_identical(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with StoreSCP(tmp_path / "received", "+B") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=10) as assoc:
            results = [assoc.store(item, PRIORITY_MEDIUM) for item in ct_items]
        received = scp.files()
    assert [r.status for r in results] == [0] * len(ct_items)
    assert not any(r.transcoded for r in results)
    assert sorted(received) == sorted(i.sop_instance_uid for i in ct_items)
    for item in ct_items:
        assert dataset_bytes(received[item.sop_instance_uid]) == dataset_bytes(item.path)


def test_priority_is_carried(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    priorities = [PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_MEDIUM]
    with StoreSCP(tmp_path / "received") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items[:3], timeout=10) as assoc:
            for item, priority in zip(ct_items[:3], priorities, strict=True):
                assert assoc.store(item, priority).status == 0
        logged = re.findall(r"Priority\s*:\s*(\w+)", scp.log())
    assert [p.lower() for p in logged] == ["high", "low", "medium"]


# Compressed pydicom test files and a storescp that accepts only uncompressed data (its default).
COMPRESSED = [
    "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
    "JPEG2000.dcm",  # JPEG 2000
    "MR_small_RLE.dcm",  # RLE lossless
    "SC_rgb_rle.dcm",  # RLE lossless, colour
    "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless SV1
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    "image_dfl.dcm",  # deflated explicit VR little endian
]


def unique_copies(folder: Path, names: list[str]) -> list[StoreItem]:
    """pydicom's files share SOP Instance UIDs; copies with their own (pixel data untouched)."""
    folder.mkdir(exist_ok=True)
    items = []
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(TEST_FILES / name)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        items.append(item_for(path))
    return items


def test_compressed_items_are_decompressed_for_an_uncompressed_peer(tmp_path: Path) -> None:
    items = unique_copies(tmp_path / "compressed", COMPRESSED)
    with StoreSCP(tmp_path / "received") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, items, timeout=10) as assoc:
            results = [assoc.store(item, PRIORITY_MEDIUM) for item in items]
        received = scp.files()
    assert [(r.status, r.transcoded) for r in results] == [(0, True)] * len(items)
    for item in items:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = pydicom.dcmread(received[item.sop_instance_uid])
            original = pydicom.dcmread(item.path)
        assert not got.file_meta.TransferSyntaxUID.is_compressed
        assert got.SOPInstanceUID == item.sop_instance_uid
        assert np.array_equal(got.pixel_array, original.pixel_array), item.path.name


def test_compressed_items_go_as_stored_when_the_peer_accepts_them(tmp_path: Path) -> None:
    items = unique_copies(tmp_path / "compressed", COMPRESSED)
    with StoreSCP(tmp_path / "received", "+xa", "+B") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, items, timeout=10) as assoc:
            results = [assoc.store(item, PRIORITY_MEDIUM) for item in items]
        received = scp.files()
    assert [(r.status, r.transcoded) for r in results] == [(0, False)] * len(items)
    for item in items:
        assert dataset_bytes(received[item.sop_instance_uid]) == dataset_bytes(item.path)


def _tiny_instance(folder: Path, sop_class: str) -> StoreItem:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID = "SPLIT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    path = folder / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return item_for(path)


def test_more_than_128_contexts_are_split_over_associations(tmp_path: Path) -> None:
    folder = tmp_path / "classes"
    folder.mkdir()
    classes = [str(cx.abstract_syntax) for cx in AllStoragePresentationContexts][:140]
    items = [_tiny_instance(folder, sop_class) for sop_class in classes]
    groups = plan_associations(items)
    assert len(groups) == 2
    with StoreSCP(tmp_path / "received", "-pm") as scp:
        statuses = []
        for group in groups:
            with StoreAssociation.open(scp.remote, CALLING_AE, group, timeout=10) as assoc:
                statuses += [assoc.store(item, PRIORITY_MEDIUM).status for item in group]
        received = scp.files()
    assert statuses == [0] * len(items)
    assert sorted(received) == sorted(i.sop_instance_uid for i in items)


def test_sop_class_the_peer_does_not_accept_gets_a_failure_status(tmp_path: Path) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    private = _tiny_instance(folder, "1.2.826.0.1.3680043.8.498.99.1")
    ct = _tiny_instance(folder, "1.2.840.10008.5.1.4.1.1.2")
    with StoreSCP(tmp_path / "received") as scp:  # without -pm: only the standard SOP classes
        with StoreAssociation.open(scp.remote, CALLING_AE, [private, ct], timeout=10) as assoc:
            refused = assoc.store(private, PRIORITY_MEDIUM)
            stored = assoc.store(ct, PRIORITY_MEDIUM)
    assert refused.status == Status.SOP_CLASS_NOT_SUPPORTED
    assert "does not accept" in refused.comment
    assert "1.2.826.0.1.3680043.8.498.99.1" in refused.comment
    assert stored.status == 0


def abort_during_store(
    scp: StoreSCP, assoc: StoreAssociation, items: list[StoreItem]
) -> tuple[float, list[NetworkError]]:
    """Store ``items`` on a thread, abort once storescp got the first request.

    Returns how long store() took to stop after abort(), and what it raised.
    """
    raised: list[NetworkError] = []

    def send() -> None:
        try:
            for item in items:
                assoc.store(item, PRIORITY_MEDIUM)
        except NetworkError as exc:
            raised.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        scp.wait_for_log("Received Store Request")  # storescp now sleeps during the store
        assert sender.is_alive()
        aborted_at = time.monotonic()
        assoc.abort()
        sender.join(timeout=5)
        assert not sender.is_alive()
        return time.monotonic() - aborted_at, raised
    finally:
        assoc.abort()
        sender.join(timeout=5)


def test_abort_from_another_thread_stops_a_slow_store(
    tmp_path: Path, ct_items: list[StoreItem]
) -> None:
    with StoreSCP(tmp_path / "received", "--sleep-during", "3") as scp:
        assoc = StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=30)
        stopped_after, raised = abort_during_store(scp, assoc, ct_items)
    assert stopped_after < 1.0
    assert [str(e) for e in raised] == [f"the association with {scp.remote} was aborted on request"]


def test_refused_association_gives_a_readable_error(tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "received", "--refuse") as scp:
        item = _tiny_instance(tmp_path, "1.2.840.10008.5.1.4.1.1.2")
        with pytest.raises(NetworkError, match="rejected the association"):
            StoreAssociation.open(scp.remote, CALLING_AE, [item], timeout=10)


def test_wrong_called_ae_title_or_port_gives_a_readable_error(tmp_path: Path) -> None:
    item = _tiny_instance(tmp_path, "1.2.840.10008.5.1.4.1.1.2")
    with Orthanc(ae_title="ORTHANC") as orthanc:
        remote = RemoteAE("NOT_ORTHANC", "127.0.0.1", orthanc.dicom_port)
        with pytest.raises(NetworkError, match="Called AE") as raised:
            StoreAssociation.open(remote, CALLING_AE, [item], timeout=10)
        assert "NOT_ORTHANC" in str(raised.value)
        web = RemoteAE("ORTHANC", "127.0.0.1", orthanc.http_port)  # HTTP answers, not DICOM
        with pytest.raises(ProtocolError, match="is this the node's DICOM port"):
            StoreAssociation.open(web, CALLING_AE, [item], timeout=10)


def test_closed_port_gives_a_readable_error(tmp_path: Path) -> None:
    item = _tiny_instance(tmp_path, "1.2.840.10008.5.1.4.1.1.2")
    remote = RemoteAE("NOBODY", "127.0.0.1", free_port())
    with pytest.raises(NetworkError, match="refused the connection"):
        StoreAssociation.open(remote, CALLING_AE, [item], timeout=5)


def test_orthanc_receives_the_files(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with Orthanc() as orthanc:
        remote = RemoteAE(orthanc.ae_title, "127.0.0.1", orthanc.dicom_port)
        with StoreAssociation.open(remote, CALLING_AE, ct_items, timeout=10) as assoc:
            statuses = [assoc.store(item, PRIORITY_HIGH).status for item in ct_items]
        assert statuses == [0] * len(ct_items)
        assert orthanc.count_instances() == len(ct_items)


def test_small_peer_pdu_fragments_and_arrives_intact(
    tmp_path: Path, ct_items: list[StoreItem]
) -> None:
    with StoreSCP(tmp_path / "received", "+B", "-pdu", "4096") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items[:5], timeout=10) as assoc:
            assert assoc.max_pdu == 4096
            statuses = [assoc.store(item, PRIORITY_MEDIUM).status for item in ct_items[:5]]
        received = scp.files()
    assert statuses == [0] * 5
    for item in ct_items[:5]:
        assert dataset_bytes(received[item.sop_instance_uid]) == dataset_bytes(item.path)


def large_ct(folder: Path, rows: int, columns: int) -> StoreItem:
    """A CT image of 16-bit pixels, larger than what is read from a file in one piece."""
    ds = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    ds.Rows, ds.Columns = rows, columns
    ds.PixelData = (np.arange(rows * columns) % 4096).astype(np.uint16).tobytes()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = folder / f"large-{rows}x{columns}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return item_for(path)


def test_large_file_is_streamed_intact(tmp_path: Path) -> None:
    item = large_ct(tmp_path, 1024, 1536)  # 3 MB of pixel data: sent from the file in chunks
    with StoreSCP(tmp_path / "received", "+B", "-pdu", "131072") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, [item], timeout=30) as assoc:
            assert assoc.store(item, PRIORITY_MEDIUM).status == 0
        received = scp.files()
    assert dataset_bytes(received[item.sop_instance_uid]) == dataset_bytes(item.path)


def test_implicit_only_peer_gets_converted_data(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    items = [*ct_items[:2], *unique_copies(tmp_path / "other", ["MR_small_bigendian.dcm"])]
    with StoreSCP(tmp_path / "received", "+xi") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, items, timeout=10) as assoc:
            results = [assoc.store(item, PRIORITY_MEDIUM) for item in items]
        received = scp.files()
    assert [(r.status, r.transcoded) for r in results] == [(0, True)] * len(items)
    for item in items:
        got = pydicom.dcmread(received[item.sop_instance_uid])
        assert got.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
        assert np.array_equal(got.pixel_array, pydicom.dcmread(item.path).pixel_array)


def test_peer_abort_during_a_store_raises(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with StoreSCP(tmp_path / "received", "--abort-during") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=10) as assoc:
            with pytest.raises(NetworkError, match="aborted|lost"):
                assoc.store(ct_items[0], PRIORITY_MEDIUM)
            with pytest.raises(NetworkError):  # and stays unusable
                assoc.store(ct_items[1], PRIORITY_MEDIUM)


def test_peer_abort_after_a_store_raises(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with StoreSCP(tmp_path / "received", "--abort-after") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=10) as assoc:
            with pytest.raises(NetworkError, match="aborted"):
                assoc.store(ct_items[0], PRIORITY_MEDIUM)


def test_a_peer_that_does_not_answer_times_out(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with StoreSCP(tmp_path / "received", "--sleep-during", "5") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=1) as assoc:
            started = time.monotonic()
            with pytest.raises(NetworkError, match="did not take or answer the C-STORE within 1 s"):
                assoc.store(ct_items[0], PRIORITY_MEDIUM)
            assert time.monotonic() - started < 4


def test_warning_statuses_and_comments_come_back(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    """A pynetdicom SCP as a recording peer: answers chosen statuses, notes priorities."""
    answers = iter(
        [(0xB000, "coerced"), (0xB007, "does not match"), (0xA700, "disk full"), (0xC211, "")]
    )
    seen: list[tuple[int, str]] = []

    def handle_store(event: evt.Event) -> Dataset:
        status, comment = next(answers)
        seen.append((int(event.request.Priority), str(event.request.AffectedSOPInstanceUID)))
        answer = Dataset()
        answer.Status = status
        answer.ErrorComment = comment
        return answer

    ae = AE(ae_title="RECORDER")
    ae.maximum_pdu_size = 0  # no limit: each data set goes in one PDU
    ae.add_supported_context(CT_IMAGE_STORAGE, [ExplicitVRLittleEndian])
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, handle_store)]
    )
    try:
        remote = RemoteAE("RECORDER", "127.0.0.1", port)
        priorities = [PRIORITY_LOW, PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_MEDIUM]
        with StoreAssociation.open(remote, CALLING_AE, ct_items[:4], timeout=10) as assoc:
            assert assoc.max_pdu == 0
            results = [
                assoc.store(item, priority)
                for item, priority in zip(ct_items[:4], priorities, strict=True)
            ]
    finally:
        server.shutdown()
    assert [(r.status, r.comment, r.ok) for r in results] == [
        (0xB000, "coerced", True),
        (0xB007, "does not match", True),
        (0xA700, "disk full", False),
        (0xC211, "", False),
    ]
    assert seen == [
        (2, ct_items[0].sop_instance_uid),
        (1, ct_items[1].sop_instance_uid),
        (0, ct_items[2].sop_instance_uid),
        (0, ct_items[3].sop_instance_uid),
    ]


def test_abort_while_a_large_image_is_being_written(tmp_path: Path) -> None:
    """The peer stops reading (storescp sleeps while receiving), so store() blocks in send."""
    item = large_ct(tmp_path, 4096, 4096)  # 32 MB: more than the socket buffers hold
    with StoreSCP(tmp_path / "received", "--sleep-during", "2") as scp:
        assoc = StoreAssociation.open(scp.remote, CALLING_AE, [item], timeout=30)
        stopped_after, raised = abort_during_store(scp, assoc, [item])
    assert stopped_after < 1.0
    assert [str(e) for e in raised] == [f"the association with {scp.remote} was aborted on request"]


def test_a_peer_that_dies_loses_the_association(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    with StoreSCP(tmp_path / "received") as scp:
        assoc = StoreAssociation.open(scp.remote, CALLING_AE, ct_items, timeout=10)
        assert assoc.store(ct_items[0], PRIORITY_MEDIUM).status == 0
        scp.process.kill()
        scp.process.wait(10)
        with pytest.raises(NetworkError, match="was lost"):
            for item in ct_items[1:]:  # the first write may still fit into the socket buffer
                assoc.store(item, PRIORITY_MEDIUM)
        assoc.release()  # nothing left to release: no error


def test_unreadable_items_fail_alone(tmp_path: Path, ct_items: list[StoreItem]) -> None:
    """A missing file and undecodable pixel data get a failure; the association goes on."""
    missing = StoreItem(
        ct_items[0].sop_class_uid, generate_uid(), ct_items[0].transfer_syntax, tmp_path / "gone"
    )
    (broken,) = unique_copies(tmp_path / "broken", ["MR_small_jp2klossless.dcm"])
    ds = pydicom.dcmread(broken.path)
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51 not a codestream"])
    ds.save_as(broken.path, enforce_file_format=True)
    items = [missing, broken, ct_items[0]]
    with StoreSCP(tmp_path / "received") as scp:
        with StoreAssociation.open(scp.remote, CALLING_AE, items, timeout=10) as assoc:
            results = [assoc.store(item, PRIORITY_MEDIUM) for item in items]
        received = scp.files()
    assert [r.status for r in results] == [Status.PROCESSING_FAILURE, Status.PROCESSING_FAILURE, 0]
    assert results[0].comment.startswith(f"cannot read {tmp_path / 'gone'}")
    assert results[1].comment.startswith("cannot decompress JPEG 2000")
    assert sorted(received) == [ct_items[0].sop_instance_uid]


def test_a_frozen_peer_times_out_the_association_request(tmp_path: Path) -> None:
    """storescp stopped with SIGSTOP: the kernel accepts the connection, nobody answers."""
    item = _tiny_instance(tmp_path, "1.2.840.10008.5.1.4.1.1.2")
    with StoreSCP(tmp_path / "received") as scp:
        os.kill(scp.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(NetworkError, match="did not answer the association request"):
                StoreAssociation.open(scp.remote, CALLING_AE, [item], timeout=1)
            assert time.monotonic() - started < 3
        finally:
            os.kill(scp.process.pid, signal.SIGCONT)
