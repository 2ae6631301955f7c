"""A-ASSOCIATE PDUs as pynetdicom encodes them, for tests and fuzz seeds of our decoders."""

from __future__ import annotations

from collections.abc import Sequence

from pynetdicom.pdu import A_ASSOCIATE_AC
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext


def associate_ac(max_pdu: int, results: Sequence[tuple[int, int, str]]) -> bytes:
    """A whole A-ASSOCIATE-AC PDU: ``results`` are (context ID, result, transfer syntax)."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title, primitive.called_ae_title = "KIOSK", "ARCHIVE"
    primitive.result = 0
    contexts = []
    for context_id, result, syntax in results:
        context = PresentationContext()
        context.context_id, context.result = context_id, result
        context.transfer_syntax = [syntax]
        contexts.append(context)
    primitive.presentation_context_definition_results_list = contexts
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = max_pdu
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.3.4"
    primitive.user_information = [maximum, implementation]
    pdu = A_ASSOCIATE_AC()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())
