"""The lean upper-layer/DIMSE codec, checked against pynetdicom's own encoders and decoders."""

from __future__ import annotations

import io
import os
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from pydicom.uid import CTImageStorage
from pynetdicom import dimse_messages, dimse_primitives
from pynetdicom.pdu import A_ABORT_RQ, A_RELEASE_RP, A_RELEASE_RQ, P_DATA_TF
from pynetdicom.pdu_primitives import P_DATA

from core.errors import PeerClosedError, ProtocolError
from core.net import dimse

SOP_INSTANCE = "1.2.826.0.1.3680043.8.498.12345678901234567890123"


def _their_pdata(pdu: bytes) -> P_DATA:
    decoded = P_DATA_TF()
    decoded.decode(pdu)
    return decoded.to_primitive()


def _decode_with_pynetdicom(pdus: list[bytes]) -> dimse_messages.DIMSEMessage:
    """Feed our PDUs to pynetdicom's DIMSE decoder; return the message it assembled."""
    message: dimse_messages.DIMSEMessage = dimse_messages.C_STORE_RQ()
    for index, pdu in enumerate(pdus):
        if message.decode_msg(_their_pdata(pdu)):
            assert index == len(pdus) - 1, "pynetdicom finished before the last PDU"
            return message
    raise AssertionError("pynetdicom did not see a complete message")


def _our_pdus(message: dimse_messages.DIMSEMessage, max_pdu: int) -> list[bytes]:
    """pynetdicom's encoding of ``message`` as P-DATA-TF PDUs."""
    out = []
    for primitive in message.encode_msg(1, max_pdu):
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        out.append(pdu.encode())
    return out


def _split(pdus: list[bytes]) -> tuple[bytes, bytes, list[dimse.Pdv]]:
    command, dataset, items = bytearray(), bytearray(), []
    for pdu in pdus:
        pdu_type, length = struct.unpack(">BxI", pdu[:6])
        assert pdu_type == dimse.P_DATA_TF and length == len(pdu) - 6
        for pdv in dimse.iter_pdvs(pdu[6:]):
            items.append(pdv)
            (command if pdv.is_command else dataset).extend(pdv.data)
    return bytes(command), bytes(dataset), items


class TestOurMessagesDecodedByPynetdicom:
    @pytest.mark.parametrize("max_pdu", [0, 16, 100, 16384])
    def test_c_store_rq_with_dataset(self, max_pdu: int) -> None:
        dataset = os.urandom(40_001)
        rq = dimse.CStoreRQ(7, str(CTImageStorage), SOP_INSTANCE, dimse.PRIORITY_HIGH, "MOVER", 42)
        pdus = list(dimse.pdata_pdus(3, rq.encode(), dataset, max_pdu))
        if max_pdu:
            assert all(len(p) - 6 <= max_pdu for p in pdus)
        message = _decode_with_pynetdicom(pdus)
        primitive = message.message_to_primitive()
        assert isinstance(primitive, dimse_primitives.C_STORE)
        assert primitive.MessageID == 7
        assert primitive.AffectedSOPClassUID == CTImageStorage
        assert primitive.AffectedSOPInstanceUID == SOP_INSTANCE
        assert primitive.Priority == dimse.PRIORITY_HIGH
        assert primitive.MoveOriginatorApplicationEntityTitle == "MOVER"
        assert primitive.MoveOriginatorMessageID == 42
        assert message.data_set.getvalue() == dataset
        assert message.context_id == 3

    def test_c_store_rq_from_chunks(self) -> None:
        chunks = [os.urandom(n) for n in (5, 300, 1, 77)]
        rq = dimse.CStoreRQ(1, str(CTImageStorage), SOP_INSTANCE)
        pdus = list(dimse.pdata_pdus(1, rq.encode(), chunks, 64))
        assert all(len(p) - 6 <= 64 for p in pdus)
        assert _decode_with_pynetdicom(pdus).data_set.getvalue() == b"".join(chunks)

    def test_c_store_rsp(self) -> None:
        rsp = dimse.CStoreRSP(9, str(CTImageStorage), SOP_INSTANCE, 0xA700, "store full")
        message = _decode_with_pynetdicom(list(dimse.pdata_pdus(1, rsp.encode(), None, 0)))
        primitive = message.message_to_primitive()
        assert isinstance(primitive, dimse_primitives.C_STORE)
        assert primitive.MessageIDBeingRespondedTo == 9
        assert primitive.Status == 0xA700
        assert primitive.AffectedSOPInstanceUID == SOP_INSTANCE
        assert primitive.AffectedSOPClassUID == CTImageStorage
        assert message.command_set.ErrorComment == "store full"
        assert message.command_set.CommandDataSetType == dimse.NO_DATASET

    def test_c_echo_rq_and_rsp(self) -> None:
        message = _decode_with_pynetdicom(
            list(dimse.pdata_pdus(1, dimse.CEchoRQ(5).encode(), None, 0))
        )
        primitive = message.message_to_primitive()
        assert isinstance(primitive, dimse_primitives.C_ECHO)
        assert (primitive.MessageID, primitive.AffectedSOPClassUID) == (5, "1.2.840.10008.1.1")
        message = _decode_with_pynetdicom(
            list(dimse.pdata_pdus(1, dimse.CEchoRSP(5, 0).encode(), None, 0))
        )
        primitive = message.message_to_primitive()
        assert isinstance(primitive, dimse_primitives.C_ECHO)
        assert (primitive.MessageIDBeingRespondedTo, primitive.Status) == (5, 0)

    def test_tiny_max_pdu_fragments_the_command_too(self) -> None:
        rq = dimse.CStoreRQ(1, str(CTImageStorage), SOP_INSTANCE)
        pdus = list(dimse.pdata_pdus(1, rq.encode(), b"x" * 10, 16))
        command, dataset, items = _split(pdus)
        assert command == rq.encode() and dataset == b"x" * 10
        assert sum(1 for p in items if p.is_command) > 1
        assert [p.is_last for p in items if p.is_command][-1] is True
        with pytest.raises(ProtocolError):
            list(dimse.pdata_pdus(1, rq.encode(), None, 6))


class TestPynetdicomMessagesDecodedByUs:
    @staticmethod
    def _store_primitive() -> dimse_primitives.C_STORE:
        primitive = dimse_primitives.C_STORE()
        primitive.MessageID = 12
        primitive.AffectedSOPClassUID = CTImageStorage
        primitive.AffectedSOPInstanceUID = SOP_INSTANCE
        primitive.Priority = dimse.PRIORITY_LOW
        primitive.MoveOriginatorApplicationEntityTitle = "ORIGIN"
        primitive.MoveOriginatorMessageID = 3
        return primitive

    @pytest.mark.parametrize("max_pdu", [0, 32, 16384])
    def test_c_store_rq(self, max_pdu: int) -> None:
        primitive = self._store_primitive()
        payload = os.urandom(9_999)
        primitive.DataSet = io.BytesIO(payload)
        message = dimse_messages.C_STORE_RQ()
        message.primitive_to_message(primitive)
        command, dataset, items = _split(_our_pdus(message, max_pdu))
        assert dataset == payload
        assert {p.context_id for p in items} == {1}
        assert dimse.has_dataset(command)
        assert dimse.decode_command(command) == dimse.CStoreRQ(
            12, str(CTImageStorage), SOP_INSTANCE, dimse.PRIORITY_LOW, "ORIGIN", 3
        )

    def test_c_store_rsp_and_echo(self) -> None:
        rsp = dimse_primitives.C_STORE()
        rsp.MessageIDBeingRespondedTo = 12
        rsp.AffectedSOPClassUID = CTImageStorage
        rsp.AffectedSOPInstanceUID = SOP_INSTANCE
        rsp.Status = 0xC000
        message = dimse_messages.C_STORE_RSP()
        message.primitive_to_message(rsp)
        command, dataset, _ = _split(_our_pdus(message, 0))
        assert dataset == b"" and not dimse.has_dataset(command)
        assert dimse.decode_command(command) == dimse.CStoreRSP(
            12, str(CTImageStorage), SOP_INSTANCE, 0xC000
        )
        for cls, field in ((dimse_messages.C_ECHO_RQ, "rq"), (dimse_messages.C_ECHO_RSP, "rsp")):
            echo = dimse_primitives.C_ECHO()
            echo.AffectedSOPClassUID = "1.2.840.10008.1.1"
            if field == "rq":
                echo.MessageID = 4
            else:
                echo.MessageIDBeingRespondedTo = 4
                echo.Status = 0
            message = cls()
            message.primitive_to_message(echo)
            command, _, _ = _split(_our_pdus(message, 0))
            expected = dimse.CEchoRQ(4) if field == "rq" else dimse.CEchoRSP(4, 0)
            assert dimse.decode_command(command) == expected

    def test_our_encoding_is_byte_identical(self) -> None:
        primitive = self._store_primitive()
        primitive.DataSet = io.BytesIO(b"\x00\x00")
        message = dimse_messages.C_STORE_RQ()
        message.primitive_to_message(primitive)
        command, _, _ = _split(_our_pdus(message, 0))
        ours = dimse.CStoreRQ(12, str(CTImageStorage), SOP_INSTANCE, 2, "ORIGIN", 3).encode()
        assert ours == command


class TestMalformedInput:
    def test_bad_command_sets(self) -> None:
        good = dimse.CEchoRQ(1).encode()
        with pytest.raises(ProtocolError):
            dimse.decode_command(good[:-3])  # truncated element
        with pytest.raises(ProtocolError):
            dimse.decode_command(dimse.encode_elements({dimse.TAG_MESSAGE_ID: 1}))  # no field
        with pytest.raises(ProtocolError):  # C-MOVE-RQ: a message the lean codec does not serve
            dimse.decode_command(
                dimse.encode_elements({dimse.TAG_COMMAND_FIELD: 0x0021, dimse.TAG_MESSAGE_ID: 1})
            )
        with pytest.raises(ProtocolError):  # an element of another group
            dimse.decode_command(good + struct.pack("<HHI", 8, 0x18, 0))

    def test_bad_pdv_items(self) -> None:
        with pytest.raises(ProtocolError):
            list(dimse.iter_pdvs(struct.pack(">IBB", 100, 1, 3) + b"short"))
        with pytest.raises(ProtocolError):
            list(dimse.iter_pdvs(b"\x00\x00"))


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


class TestReadingPdus:
    def test_reads_pynetdicoms_pdus_in_small_pieces(
        self, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        ours, theirs = pair
        stream = A_RELEASE_RQ().encode() + A_RELEASE_RP().encode()
        abort = A_ABORT_RQ()
        abort.source, abort.reason_diagnostic = 2, 2
        stream += abort.encode()

        def trickle() -> None:
            for i in range(len(stream)):
                theirs.sendall(stream[i : i + 1])

        sender = threading.Thread(target=trickle)
        sender.start()
        assert dimse.read_pdu(ours, 64) == (dimse.A_RELEASE_RQ, bytearray(4))
        assert dimse.read_pdu(ours, 64) == (dimse.A_RELEASE_RP, bytearray(4))
        pdu_type, payload = dimse.read_pdu(ours, 64)
        sender.join(5)
        assert pdu_type == dimse.A_ABORT and payload[2:] == b"\x02\x02"
        assert dimse.encode_abort(2, 2) == stream[-10:]
        assert A_RELEASE_RQ().encode() == dimse.RELEASE_RQ
        assert A_RELEASE_RP().encode() == dimse.RELEASE_RP

    def test_limits_and_errors(self, pair: tuple[socket.socket, socket.socket]) -> None:
        ours, theirs = pair
        theirs.sendall(struct.pack(">BxI", dimse.P_DATA_TF, 1 << 30))
        with pytest.raises(ProtocolError, match="exceeds"):
            dimse.read_pdu(ours, 1 << 20)
        theirs.sendall(struct.pack(">BxI", 0x09, 4))
        with pytest.raises(ProtocolError, match="unknown PDU type"):
            dimse.read_pdu_header(ours)
        theirs.sendall(struct.pack(">BxI", dimse.P_DATA_TF, 100) + b"only part")
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(PeerClosedError):
            dimse.read_pdu(ours, 1000)

    def test_silence_times_out(self, pair: tuple[socket.socket, socket.socket]) -> None:
        ours, _theirs = pair
        ours.settimeout(0.05)
        with pytest.raises(TimeoutError):
            dimse.read_pdu(ours, 100)
