"""Query/Retrieve as an SCU: ``QueryRetrieveClient`` is ``core.net.query.FindClient`` (study
queries, lazy series queries) with C-MOVE and C-GET, which use pynetdicom.

All calls here block; the async layers call them with ``asyncio.to_thread``. The C-FIND names
(``StudyQuery``, ``StudyMatch``, ...) are re-exported from ``core.net.query``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydicom.dataset import Dataset

from core.errors import NetworkError, RetrieveError
from core.net.association import STORAGE_SYNTAXES, associate, make_ae
from core.net.identifier import number_of
from core.net.query import (
    LATIN_1,
    PENDING,
    SERIES_KEYS,
    STUDY_KEYS,
    TEXT_KEYS,
    UTF_8,
    FindClient,
    QueryObserver,
    QueryResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
    StudyRootQueryRetrieveInformationModelFind,
    contradictions,
    failure,
    query_charset,
    series_match,
    study_match,
)
from core.net.remote import RemoteAE
from core.net.status import Status

if TYPE_CHECKING:
    from pynetdicom.events import Event

__all__ = [
    "LATIN_1",
    "SERIES_KEYS",
    "STUDY_KEYS",
    "TEXT_KEYS",
    "UTF_8",
    "QueryObserver",
    "QueryResult",
    "QueryRetrieveClient",
    "RetrieveProgress",
    "RetrieveResult",
    "SeriesMatch",
    "StudyMatch",
    "StudyQuery",
    "StudyRootQueryRetrieveInformationModelFind",
    "StudyRootQueryRetrieveInformationModelGet",
    "StudyRootQueryRetrieveInformationModelMove",
    "contradictions",
    "query_charset",
    "series_match",
    "study_match",
]

log = logging.getLogger(__name__)

# PS3.4 C.6.2: Study Root Query/Retrieve Information Model
StudyRootQueryRetrieveInformationModelMove = "1.2.840.10008.5.1.4.1.2.2.2"
StudyRootQueryRetrieveInformationModelGet = "1.2.840.10008.5.1.4.1.2.2.3"


@dataclass(frozen=True)
class RetrieveProgress:
    remaining: int
    completed: int
    failed: int
    warning: int


@dataclass
class RetrieveResult:
    completed: int = 0
    failed: int = 0
    warning: int = 0
    cancelled: bool = False
    received: int = 0  # C-GET: instances this side stored
    failed_uids: list[str] = field(default_factory=list)


ProgressCallback = Callable[[RetrieveProgress], None]
# Receives each C-GET sub-operation's encoded file (with meta); returns a DICOM status.
StoreSink = Callable[[bytes], int]


def _int(ds: Dataset, keyword: str) -> int | None:
    return number_of(ds.get(keyword))


def _status_failure(
    status: Dataset, what: str, remote: RemoteAE, destination: str = "", hint: bool = False
) -> NetworkError:
    """``failure`` for a pynetdicom status Dataset (C-MOVE, C-GET)."""
    comment = str(status.get("ErrorComment", "") or "")
    return failure(int(status.Status), comment, what, remote, destination, hint)


class QueryRetrieveClient(FindClient):
    """Blocking Q/R operations against one remote node, as local AE ``ae_title``: C-FIND
    (``FindClient``), C-MOVE and C-GET."""

    # -- C-MOVE / C-GET -----------------------------------------------------------------------
    @staticmethod
    def _identifier(study_uid: str, series_uid: str | None) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
        ds.StudyInstanceUID = study_uid
        if series_uid:
            ds.SeriesInstanceUID = series_uid
        return ds

    def _run_retrieve(
        self,
        what: Literal["C-MOVE", "C-GET"],
        responses: Any,
        assoc: Any,
        model: str,
        remote: RemoteAE,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        destination: str = "",
    ) -> RetrieveResult:
        result = RetrieveResult()
        cancel_sent = False
        for status, identifier in responses:
            if not status:
                raise RetrieveError(f"{remote} stopped answering the {what}")
            code = int(status.Status)
            result.completed = _int(status, "NumberOfCompletedSuboperations") or result.completed
            result.failed = _int(status, "NumberOfFailedSuboperations") or result.failed
            result.warning = _int(status, "NumberOfWarningSuboperations") or result.warning
            if code in PENDING:
                if progress is not None:
                    progress(
                        RetrieveProgress(
                            _int(status, "NumberOfRemainingSuboperations") or 0,
                            result.completed,
                            result.failed,
                            result.warning,
                        )
                    )
                if cancel is not None and cancel.is_set() and not cancel_sent:
                    assoc.send_c_cancel(1, query_model=model)
                    cancel_sent = True
                continue
            if code == Status.CANCEL:
                result.cancelled = True
            elif code in (Status.WARNING_SUBOPS_FAILED, Status.SUCCESS):
                if identifier is not None and "FailedSOPInstanceUIDList" in identifier:
                    failed = identifier.FailedSOPInstanceUIDList
                    result.failed_uids = [failed] if isinstance(failed, str) else list(failed)
            else:
                raise _status_failure(status, what, remote, destination, hint=not result.completed)
        return result

    def retrieve_move(
        self,
        remote: RemoteAE,
        destination_ae: str,
        study_uid: str,
        series_uid: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """Ask ``remote`` to C-STORE the study/series to ``destination_ae`` (usually us)."""
        ae = make_ae(self.ae_title, self.timeout)
        model = StudyRootQueryRetrieveInformationModelMove
        ae.add_requested_context(model)
        assoc = associate(ae, remote, timeout=self.timeout)
        try:
            responses = assoc.send_c_move(
                self._identifier(study_uid, series_uid), destination_ae, model, msg_id=1
            )
            return self._run_retrieve(
                "C-MOVE", responses, assoc, model, remote, progress, cancel, destination_ae
            )
        finally:
            if assoc.is_established:
                assoc.release()

    def retrieve_get(
        self,
        remote: RemoteAE,
        sink: StoreSink,
        study_uid: str,
        series_uid: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """C-GET the study/series; each received instance goes to ``sink`` on this association."""
        from pynetdicom import build_role, evt
        from pynetdicom.presentation import StoragePresentationContexts

        ae = make_ae(self.ae_title, self.timeout)
        model = StudyRootQueryRetrieveInformationModelGet
        ae.add_requested_context(model)
        roles = []
        for context in StoragePresentationContexts[:126]:
            sop_class = str(context.abstract_syntax)
            ae.add_requested_context(sop_class, STORAGE_SYNTAXES)
            roles.append(build_role(sop_class, scp_role=True))
        received = [0]

        def on_store(event: Event) -> int:
            status = sink(event.encoded_dataset())
            if status == Status.SUCCESS:
                received[0] += 1
            return status

        assoc = associate(
            ae, remote, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)],
            timeout=self.timeout,
        )  # fmt: skip
        try:
            if not any(c.abstract_syntax == model for c in assoc.accepted_contexts):
                raise RetrieveError(
                    f"{remote} does not support C-GET (Study Root); use C-MOVE for this node"
                )
            responses = assoc.send_c_get(self._identifier(study_uid, series_uid), model, msg_id=1)
            result = self._run_retrieve("C-GET", responses, assoc, model, remote, progress, cancel)
        finally:
            if assoc.is_established:
                assoc.release()
        result.received = received[0]
        return result
