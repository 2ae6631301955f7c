"""The lean SCUs' A-ASSOCIATE PDUs against pynetdicom's encoder and decoder (no network)."""

from __future__ import annotations

import struct
from typing import ClassVar

import pytest
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
)
from pynetdicom.pdu import A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext

from core.dicom.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION
from core.errors import ProtocolError
from core.net.acse import (
    APPLICATION_CONTEXT,
    OUR_MAX_PDU,
    decode_associate_ac,
    decode_associate_rj,
    encode_associate_rq,
)
from tests.support.pdus import associate_ac

LE = [str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)]
CONTEXTS: list[tuple[str, list[str]]] = [
    ("1.2.840.10008.5.1.4.1.1.2", LE),
    ("1.2.840.10008.5.1.4.1.1.2", [str(JPEG2000Lossless)]),
    ("1.2.840.10008.5.1.4.1.2.2.1", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"]),
]


def test_our_implementation_uid_is_pydicoms() -> None:
    assert IMPLEMENTATION_CLASS_UID == str(PYDICOM_IMPLEMENTATION_UID)


def _pynetdicom_request(calling: str, called: str) -> bytes:
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title, primitive.called_ae_title = calling, called
    for index, (abstract, syntaxes) in enumerate(CONTEXTS):
        context = PresentationContext()
        context.context_id = 2 * index + 1
        context.abstract_syntax = abstract
        context.transfer_syntax = list(syntaxes)
        primitive.presentation_context_definition_list.append(context)
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = OUR_MAX_PDU
    class_uid = ImplementationClassUIDNotification()
    class_uid.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = IMPLEMENTATION_VERSION
    primitive.user_information = [max_length, class_uid, version]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


@pytest.mark.parametrize(("calling", "called"), [("KIOSK", "ARCHIVE"), ("A" * 16, "B")])
def test_request_is_the_bytes_pynetdicom_writes(calling: str, called: str) -> None:
    assert encode_associate_rq(calling, called, CONTEXTS) == _pynetdicom_request(calling, called)


def test_request_as_pynetdicom_reads_it() -> None:
    pdu = A_ASSOCIATE_RQ()
    pdu.decode(encode_associate_rq("KIOSK", "ARCHIVE", CONTEXTS))
    primitive = pdu.to_primitive()
    assert (primitive.calling_ae_title, primitive.called_ae_title) == ("KIOSK", "ARCHIVE")
    contexts = [
        (cx.context_id, cx.abstract_syntax, cx.transfer_syntax)
        for cx in primitive.presentation_context_definition_list
    ]
    assert contexts == [(2 * i + 1, a, t) for i, (a, t) in enumerate(CONTEXTS)]
    assert primitive.maximum_length_received == OUR_MAX_PDU


def test_an_ae_title_longer_than_16_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 16"):
        encode_associate_rq("K" * 17, "ARCHIVE", CONTEXTS)


def _accept(max_pdu: int, results: list[tuple[int, int, str]]) -> bytes:
    return associate_ac(max_pdu, results)[6:]  # the payload, after the PDU header


class TestAccept:
    RESULTS: ClassVar[list[tuple[int, int, str]]] = [
        (1, 0, ImplicitVRLittleEndian),
        (3, 4, JPEG2000Lossless),  # transfer syntax not supported
        (5, 0, "1.2.840.10008.1.2.1.99"),
    ]

    @pytest.mark.parametrize("max_pdu", [0, 16384, 1 << 20])
    def test_accepted_contexts_matched_to_the_proposal(self, max_pdu: int) -> None:
        negotiated = decode_associate_ac(_accept(max_pdu, self.RESULTS), CONTEXTS)
        assert negotiated.contexts == {
            ("1.2.840.10008.5.1.4.1.1.2", ImplicitVRLittleEndian): 1,
            ("1.2.840.10008.5.1.4.1.2.2.1", "1.2.840.10008.1.2.1.99"): 5,
        }
        assert negotiated.max_pdu == max_pdu

    def test_a_context_we_did_not_propose_is_ignored(self) -> None:
        negotiated = decode_associate_ac(_accept(0, [(7, 0, ImplicitVRLittleEndian)]), CONTEXTS)
        assert negotiated.contexts == {}

    @pytest.mark.parametrize("cut", [10, 67, 80, -1, -3])
    def test_a_truncated_accept_is_a_protocol_error(self, cut: int) -> None:
        payload = _accept(0, self.RESULTS)
        with pytest.raises(ProtocolError):
            decode_associate_ac(payload[:cut], CONTEXTS)

    def test_an_item_that_overruns_is_a_protocol_error(self) -> None:
        payload = bytearray(_accept(0, self.RESULTS))
        struct.pack_into(">H", payload, 68 + 2, 0xFFFF)  # the application context item
        with pytest.raises(ProtocolError, match="overruns"):
            decode_associate_ac(bytes(payload), CONTEXTS)


@pytest.mark.parametrize("result", [1, 2])
@pytest.mark.parametrize("source", [1, 2, 3])
@pytest.mark.parametrize("reason", [1, 2, 3, 7])  # all pynetdicom can decode
def test_rejection_words_are_pynetdicoms(result: int, source: int, reason: int) -> None:
    payload = bytes((0, result, source, reason))
    pdu = A_ASSOCIATE_RJ()
    pdu.decode(struct.pack(">BxI", 3, 4) + payload)
    theirs = pdu.to_primitive()
    ours = decode_associate_rj(payload)
    assert (ours.result_str, ours.source_str, ours.reason_str) == (
        theirs.result_str,
        theirs.source_str,
        theirs.reason_str,
    )
    assert ours.permanent == (result == 1)


@pytest.mark.parametrize(("result", "source"), [(0, 1), (3, 1), (1, 0), (2, 4)])
def test_values_outside_the_standard_are_said_so(result: int, source: int) -> None:
    words = decode_associate_rj(bytes((0, result, source, 1)))
    assert "(no value available)" in (words.result_str, words.source_str)


def test_a_short_rejection_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode_associate_rj(b"\x00\x01")
