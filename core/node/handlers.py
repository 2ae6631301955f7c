"""DIMSE service handlers. They run on pynetdicom's association threads and return fast.

Each handler takes the event and the node (``handle_<service>(event, node)``); every failure
maps to a named status constant. The accept policy of C-FIND, C-MOVE and C-GET is applied
before a handler runs (``_KioskAssociation`` in core.node.server answers 0x0124).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from functools import partial
from typing import Any, TypeVar

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.tag import BaseTag, Tag
from pynetdicom import evt
from pynetdicom.events import Event
from sqlalchemy.orm import Session

from core.dicom.transcode import LITTLE_ENDIAN_SYNTAXES, dataset_to_little_endian
from core.errors import KioskError
from core.events import QueryAnswered
from core.net.association import NODELAY_HANDLER
from core.net.status import Status
from core.node import matching
from core.node.context import HandlerContext

log = logging.getLogger(__name__)


_MAX_SUBOP_CONTEXTS = 120
T = TypeVar("T")


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
    request = event.request
    return node.receive(
        id(event.assoc),
        ae,
        peer,
        str(event.context.transfer_syntax),
        str(getattr(request, "AffectedSOPClassUID", "") or ""),
        str(getattr(request, "AffectedSOPInstanceUID", "") or ""),
        event.encoded_dataset(include_meta=False),
    )


# -- C-FIND ------------------------------------------------------------------------------------
_SPECIFIC_CHARACTER_SET = Tag(0x0008, 0x0005)


def file_reader(node: HandlerContext) -> matching.FileReader:
    """Reads the given tags of a stored file (its header only), for IMAGE-level return keys
    the index does not hold; None when the file cannot be read."""

    def read(relative: str, tags: list[BaseTag]) -> Dataset | None:
        try:
            return dcmread(
                node.store.absolute(relative),
                stop_before_pixels=True,
                specific_tags=[_SPECIFIC_CHARACTER_SET, *tags],
            )
        except Exception as exc:  # a damaged or vanished file: its keys stay empty
            log.warning("cannot read stored file %s for a C-FIND answer: %s", relative, exc)
            return None

    return read


def _encoded(identifier: Dataset) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    try:
        write_dataset(buffer, identifier)
    except Exception:  # an identifier that does not encode again: recorded without it
        return b""
    return buffer.getvalue()


def handle_find(event: Event, node: HandlerContext) -> Iterator[tuple[int, Dataset | None]]:
    """C-FIND SCP on pynetdicom's associations; each query, answered or failed, is announced
    once (``query_answered``). The lean acceptor answers through ``find_responses`` too."""
    ae, peer = peer_of(event)
    answers = partial(
        matching.find,
        retrieve_ae=str(event.assoc.ae.ae_title).strip(),
        read_file=file_reader(node),
    )
    model = str(getattr(event.context, "abstract_syntax", "") or "")
    yield from find_responses(
        node, ae, peer, model, lambda: event.identifier, answers, lambda: event.is_cancelled
    )


def find_responses(
    node: HandlerContext,
    ae: str,
    peer: str,
    model: str,
    identifier: Callable[[], Dataset],
    answers: Callable[[Session, Dataset], Iterable[T]],
    is_cancelled: Callable[[], bool],
) -> Generator[tuple[int, T | None], None, None]:
    """(status, answer) of one C-FIND: Pending with each of ``answers`` (checking
    ``is_cancelled`` before each), then Cancel, or Unable to Process if the query fails; the
    final Success is the caller's. ``identifier`` decodes the request's identifier (it may
    raise). The query is announced once it ended, also when the generator is closed early."""
    tally = _Tally()
    try:
        yield from _find_answers(node, ae, identifier, answers, is_cancelled, tally)
    except _FindFailed as failed:
        tally.error = failed.reason
        yield Status.UNABLE_TO_PROCESS, None
    finally:  # also when the requestor went away mid-answer (the generator is closed)
        try:
            encoded = _encoded(identifier())
        except Exception:  # an identifier that does not decode: recorded without it
            encoded = b""
        answered = QueryAnswered(ae, peer, encoded, tally.matches, tally.error)
        node.query_answered(dataclasses.replace(answered, sop_class=model) if model else answered)


class _Tally:
    """What one C-FIND gave: matches sent, and why it failed."""

    def __init__(self) -> None:
        self.matches = 0
        self.error = ""


class _FindFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _find_answers(
    node: HandlerContext,
    ae: str,
    identifier: Callable[[], Dataset],
    answers: Callable[[Session, Dataset], Iterable[T]],
    is_cancelled: Callable[[], bool],
    tally: _Tally,
) -> Iterator[tuple[int, T | None]]:
    try:
        query = identifier()
        level = matching.level_of(query)
        log.info("C-FIND at %s level from %s", level, ae)
        with node.sessions() as session:
            for count, response in enumerate(answers(session, query), start=1):
                if is_cancelled():
                    log.info("C-FIND cancelled by %s after %d matches", ae, count - 1)
                    yield Status.CANCEL, None
                    return
                tally.matches = count
                yield Status.PENDING, response
    except KioskError as exc:
        log.warning("C-FIND from %s failed: %s", ae, exc)
        raise _FindFailed(str(exc)) from exc
    except Exception as exc:
        log.exception("C-FIND from %s failed", ae)
        raise _FindFailed(type(exc).__name__) from exc


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
    """``ds``, converted to a Little Endian syntax when the peer took its SOP class only in
    other syntaxes than the stored one (compressed or big endian: PS3.5 A.1, A.3)."""
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax in LITTLE_ENDIAN_SYNTAXES:
        return ds  # pynetdicom encodes it in either Little Endian the peer took
    taken = accepted.syntaxes(str(ds.get("SOPClassUID", "")))
    little = [ts for ts in LITTLE_ENDIAN_SYNTAXES if ts in taken]
    if not taken or syntax in taken or not little:
        return ds  # as stored; pynetdicom reports it if there is no context at all
    return dataset_to_little_endian(ds, little[0])


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
    """C-MOVE SCP. A bad identifier raises: pynetdicom answers a failure status."""
    ae, _peer = peer_of(event)
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
    ae, _peer = peer_of(event)
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
