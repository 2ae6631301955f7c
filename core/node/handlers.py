"""DIMSE service handlers. They run on pynetdicom's association threads and return fast.

Each handler takes the event and the node (``handle_<service>(event, node)``); every failure
maps to a named status constant.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import evt
from pynetdicom.events import Event

from core.dicom.header import InstanceHeader, header_of, scan_dataset
from core.dicom.part10 import part10
from core.dicom.transcode import LITTLE_ENDIAN_SYNTAXES
from core.errors import KioskError, RejectedFile, StoreError, StoreFullError
from core.index.intake import Origin
from core.index.writer import IngestItem
from core.net.association import NODELAY_HANDLER
from core.net.status import Status
from core.node import matching
from core.node.context import HandlerContext

log = logging.getLogger(__name__)


_MAX_SUBOP_CONTEXTS = 120


def peer_of(event: Event) -> tuple[str, str]:
    """(calling AE title, host:port) of the association's requestor."""
    req = event.assoc.requestor
    return str(req.ae_title).strip(), f"{req.address}:{req.port}"


# -- C-ECHO -------------------------------------------------------------------------------------
def handle_echo(event: Event, node: HandlerContext) -> int:
    ae, peer = peer_of(event)
    log.info("C-ECHO from %s at %s", ae, peer)
    return Status.SUCCESS


# -- C-STORE ------------------------------------------------------------------------------------
def handle_store(event: Event, node: HandlerContext) -> int | Dataset:
    ae, peer = peer_of(event)
    if not node.allows(ae, "store"):
        log.warning("refused C-STORE from %s at %s: store not allowed for this node", ae, peer)
        return Status.NOT_AUTHORIZED
    request = event.request
    return store_dataset(
        node,
        node.association_entry(id(event.assoc), ae, peer),
        ae,
        peer,
        str(event.context.transfer_syntax),
        str(getattr(request, "AffectedSOPClassUID", "") or ""),
        str(getattr(request, "AffectedSOPInstanceUID", "") or ""),
        event.encoded_dataset(include_meta=False),
    )


def store_dataset(
    node: HandlerContext,
    assoc: Origin,
    ae: str,
    peer: str,
    transfer_syntax: str,
    request_class: str,
    request_sop: str,
    dataset: bytes,
    after_response: list[Callable[[], None]] | None = None,
) -> int:
    """Keep one received data set; return the C-STORE status to answer.

    The status is Status.SUCCESS only once the image is durable: in the intake journal (see
    core.journal) or as an fsynced file in ``incoming/``. Writing the incoming file of a
    journaled image can wait until the response is on its way: then it is appended to
    ``after_response`` for the caller to run. Used by pynetdicom's associations
    (``handle_store``) and by the lean storage acceptor (core.node.storage).
    """
    # The data set exactly as received, framed as a Part 10 file (no decode, no re-encode).
    data = part10(dataset, request_class, request_sop, transfer_syntax, ae)
    try:
        # Before the answer, only what decides it: the UIDs, found and valid. The rest of the
        # header (names, dates, numbers) is decoded after the answer.
        scanned = scan_dataset(dataset, transfer_syntax)
        header = scanned.header if scanned is not None else _read_header(data, transfer_syntax)
    except RejectedFile as exc:
        log.warning("refused image %r from %s: %s", request_sop[:80], ae, exc.reason)
        node.record_failure(assoc, request_sop, Status.CANNOT_UNDERSTAND, exc.reason)
        return Status.CANNOT_UNDERSTAND
    except Exception as exc:  # undecodable header
        log.warning("refused image %r from %s: unreadable dataset: %s", request_sop[:80], ae, exc)
        node.record_failure(
            assoc, request_sop, Status.CANNOT_UNDERSTAND, f"unreadable dataset: {exc}"
        )
        return Status.CANNOT_UNDERSTAND
    sop_uid = scanned.sop_uid if scanned is not None else header().sop_uid
    try:
        record = node.store.journal_received(data)
        path = node.store.write_incoming(data, len(data)) if record is None else None
    except StoreFullError as exc:
        log.error("refused image from %s: %s", ae, exc)
        node.record_failure(assoc, sop_uid, Status.OUT_OF_RESOURCES, str(exc))
        return Status.OUT_OF_RESOURCES
    except StoreError as exc:
        log.error("cannot store image from %s: %s", ae, exc)
        node.record_failure(assoc, sop_uid, Status.PROCESSING_FAILURE, str(exc))
        return Status.PROCESSING_FAILURE
    # Durable now: acknowledge, and let the single index writer pick it up.
    if path is not None:
        node.ingest(assoc, IngestItem(path, header(), len(data), ae or "network", peer))
        return Status.SUCCESS

    def write_and_ingest() -> None:
        try:
            h = header()
            if node.hold(len(data)):  # the index writer writes the file at its final path
                item = IngestItem(None, h, len(data), ae or "network", peer, data=data)
            else:  # too much held in memory already: through incoming/ instead
                incoming = node.store.write_journaled(data)
                item = IngestItem(incoming, h, len(data), ae or "network", peer)
            node.ingest(assoc, item, record)
        except Exception as exc:  # kept by the journal: indexed at the next start
            log.error("image %s from %s waits in the intake journal: %s", sop_uid, ae, exc)

    if after_response is None:
        write_and_ingest()
    else:
        after_response.append(write_and_ingest)
    return Status.SUCCESS


def _read_header(data: bytes, transfer_syntax: str) -> Callable[[], InstanceHeader]:
    """The index header by pydicom's reader, for data sets the fast scan leaves to it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = header_of(dcmread(io.BytesIO(data), stop_before_pixels=True), transfer_syntax)
    return lambda: header


# -- C-FIND ------------------------------------------------------------------------------------
def handle_find(event: Event, node: HandlerContext) -> Iterator[tuple[int, Dataset | None]]:
    ae, peer = peer_of(event)
    if not node.allows(ae, "find"):
        log.warning("refused C-FIND from %s at %s: find not allowed for this node", ae, peer)
        yield Status.NOT_AUTHORIZED, None
        return
    try:
        identifier = event.identifier
        level = matching.level_of(identifier)
        log.info("C-FIND at %s level from %s", level, ae)
        with node.sessions() as session:
            for count, response in enumerate(matching.find(session, identifier), start=1):
                if event.is_cancelled:
                    log.info("C-FIND cancelled by %s after %d matches", ae, count - 1)
                    yield Status.CANCEL, None
                    return
                yield Status.PENDING, response
    except KioskError as exc:
        log.warning("C-FIND from %s failed: %s", ae, exc)
        yield Status.UNABLE_TO_PROCESS, None
        return
    except Exception:
        log.exception("C-FIND from %s failed", ae)
        yield Status.UNABLE_TO_PROCESS, None
        return


# -- C-MOVE / C-GET ---------------------------------------------------------------------------
def _matched(event: Event, node: HandlerContext) -> list[tuple[str, str, str]]:
    with node.sessions() as session:
        return matching.instances(session, event.identifier)


class _Accepted:
    """What the association carrying the storage sub-operations accepted.

    For C-GET that is the requestor's own association; for C-MOVE it is the one pynetdicom
    opens to the destination, caught when it is accepted (EVT_ACCEPTED)."""

    def __init__(self, assoc: Any = None) -> None:
        self.assoc = assoc

    def on_accepted(self, event: Event) -> None:
        self.assoc = event.assoc

    def syntaxes(self, sop_class: str) -> set[str]:
        contexts = getattr(self.assoc, "accepted_contexts", None) or []
        return {
            str(cx.transfer_syntax[0])
            for cx in contexts
            if str(cx.abstract_syntax) == sop_class and cx.transfer_syntax
        }


def _for_peer(ds: Dataset, accepted: _Accepted) -> Dataset:
    """``ds``, decompressed when the peer took its SOP class only uncompressed."""
    syntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    if not syntax.is_compressed:
        return ds
    taken = accepted.syntaxes(str(ds.get("SOPClassUID", "")))
    if not taken or str(syntax) in taken or not taken & set(LITTLE_ENDIAN_SYNTAXES):
        return ds  # as stored; pynetdicom reports it if there is no context at all
    ds.decompress(generate_instance_uid=False)
    return ds


def _datasets(
    event: Event, node: HandlerContext, matched: list[tuple[str, str, str]], accepted: _Accepted
) -> Iterator[tuple[int, Dataset | None]]:
    for relative, _sop_class, _ts in matched:
        if event.is_cancelled:
            yield Status.CANCEL, None
            return
        try:
            ds: Dataset = _for_peer(dcmread(node.store.absolute(relative)), accepted)
        except Exception as exc:  # unreadable file, or no decoder for its pixel data
            log.error("cannot send stored file %s: %s", relative, exc)
            ds = Dataset()  # an empty dataset counts as a failed sub-operation
        yield Status.PENDING, ds


def _contexts(matched: list[tuple[str, str, str]]) -> list[Any]:
    """One context per stored compressed syntax and one with both Little Endians, per SOP
    class: a peer that refuses the compressed one still takes the image, decompressed."""
    from pynetdicom.presentation import build_context

    by_class: dict[str, set[str]] = {}
    for _path, sop_class, ts in matched:
        by_class.setdefault(sop_class, set()).add(ts)
    contexts = []
    for sop_class, syntaxes in by_class.items():
        contexts.append(build_context(sop_class, list(LITTLE_ENDIAN_SYNTAXES)))
        for ts in sorted(syntaxes - set(LITTLE_ENDIAN_SYNTAXES)):
            contexts.append(build_context(sop_class, [ts]))
    return contexts[:_MAX_SUBOP_CONTEXTS]


def handle_move(event: Event, node: HandlerContext) -> Iterator[Any]:
    """C-MOVE SCP. A refusal or a bad identifier raises: pynetdicom answers a failure status."""
    ae, peer = peer_of(event)
    if not node.allows(ae, "retrieve"):
        log.warning("refused C-MOVE from %s at %s: retrieve not allowed", ae, peer)
        raise PermissionError(f"C-MOVE not allowed for {ae}")
    destination = str(event.move_destination).strip()
    target = node.destination(destination)
    if target is None:
        log.warning("C-MOVE from %s to unknown destination %r refused (0xA801)", ae, destination)
        yield None, None
        return
    accepted = _Accepted()
    options: dict[str, Any] = {
        "evt_handlers": [NODELAY_HANDLER, (evt.EVT_ACCEPTED, accepted.on_accepted)]
    }
    yield target.host, target.port, options
    matched = _matched(event, node)
    options["contexts"] = _contexts(matched)
    log.info("C-MOVE of %d images from %s to %s", len(matched), ae, destination)
    yield len(matched)
    yield from _datasets(event, node, matched, accepted)


def handle_get(event: Event, node: HandlerContext) -> Iterator[Any]:
    ae, peer = peer_of(event)
    if not node.allows(ae, "retrieve"):
        log.warning("refused C-GET from %s at %s: retrieve not allowed", ae, peer)
        yield 0
        yield Status.NOT_AUTHORIZED, None
        return
    try:
        matched = _matched(event, node)
    except KioskError as exc:
        log.warning("C-GET from %s failed: %s", ae, exc)
        yield 0
        yield Status.UNABLE_TO_PROCESS, None
        return
    log.info("C-GET of %d images by %s", len(matched), ae)
    yield len(matched)
    yield from _datasets(event, node, matched, _Accepted(event.assoc))
