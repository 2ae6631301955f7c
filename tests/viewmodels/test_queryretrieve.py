"""The Query/Retrieve tab's view model against a real PACS: Orthanc on loopback, loaded with
demo patients and one long series; our own node is its move destination (AE KIOSK)."""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.uid import generate_uid

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom.synth import demo_instances
from tests.support.data import make_dataset
from tests.support.orthanc import Orthanc
from tests.support.ports import free_port
from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.images import FrameProvider
from viewmodels.queryretrieve import QueryRetrieveModel
from viewmodels.settings import SettingsStore

pytestmark = pytest.mark.integration

LONG_SERIES = 300  # instances in the long series (long enough to cancel in the middle)


@dataclass
class Pacs:
    orthanc: Orthanc
    kiosk_port: int  # where Orthanc sends C-MOVE results: our node, AE KIOSK
    studies: dict[str, int]  # study UID -> instances
    series: dict[str, dict[str, int]]  # study UID -> series UID -> instances
    long_study: str


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pacs]:
    kiosk_port = free_port()
    studies: dict[str, int] = defaultdict(int)
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    payloads = list(demo_instances(3, seed=5))
    long_study, long_series = generate_uid(), generate_uid()
    for number in range(1, LONG_SERIES + 1):
        ds = make_dataset(
            patient_name="Long^Series",
            patient_id="LONG-1",
            study_uid=long_study,
            series_uid=long_series,
            instance_number=number,
        )
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        payloads.append(buffer.getvalue())
    for data in payloads:
        ds = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
        studies[ds.StudyInstanceUID] += 1
        series[ds.StudyInstanceUID][ds.SeriesInstanceUID] += 1
    with Orthanc(modalities={"kiosk": ("KIOSK", "127.0.0.1", kiosk_port)}) as orthanc:
        for data in payloads:
            orthanc.upload(data)
        assert orthanc.count_instances() == len(payloads)
        yield Pacs(orthanc, kiosk_port, dict(studies), {k: dict(v) for k, v in series.items()},
                   long_study)  # fmt: skip


def make_app(
    tmp_path: Path, loop: asyncio.AbstractEventLoop, pacs: Pacs, method: str, **settings: Any
) -> tuple[Core, AppModel]:
    values = {"fsync": False, "port": pacs.kiosk_port, "bind": "127.0.0.1", **settings}
    core = Core(load_settings(tmp_path / "kiosk", values))
    core.open()
    core.registry.add("PACS", pacs.orthanc.ae_title, "127.0.0.1", pacs.orthanc.dicom_port, method)
    model = AppModel(core, FrameProvider())
    loop.run_until_complete(model.start())
    return core, model


@pytest.fixture
def app_factory(
    tmp_path: Path, loop: asyncio.AbstractEventLoop, pacs: Pacs
) -> Iterator[Callable[..., tuple[Core, AppModel]]]:
    made: list[tuple[Core, AppModel]] = []

    def factory(method: str = "move", start_node: bool = True, **settings: Any):  # type: ignore[no-untyped-def]
        core, model = make_app(tmp_path / str(len(made)), loop, pacs, method, **settings)
        made.append((core, model))
        if start_node:
            loop.run_until_complete(model.node.start())
        return core, model

    yield factory
    for core, model in made:
        settle(loop)
        loop.run_until_complete(model.node.stop(grace=2.0))
        model.stop()
        core.close()


class Recorder:
    """Collects a signal's emissions (arguments as a tuple)."""

    def __init__(self, signal: Any) -> None:
        self.calls: list[tuple[Any, ...]] = []
        signal.connect(lambda *args: self.calls.append(args))

    def wait(self, loop: asyncio.AbstractEventLoop, count: int = 1, timeout: float = 60) -> None:
        run_until(loop, lambda: len(self.calls) >= count, timeout)


def query(qr: QueryRetrieveModel, loop: asyncio.AbstractEventLoop) -> None:
    done = Recorder(qr.queryFinished)
    errors = Recorder(qr.errorOccurred)
    qr.query()
    run_until(loop, lambda: done.calls or errors.calls, 60)
    assert errors.calls == []


def study_index(qr: QueryRetrieveModel, study_uid: str) -> int:
    return next(i for i, r in enumerate(qr.studies.rows()) if r["StudyInstanceUID"] == study_uid)


def retrieve(qr: QueryRetrieveModel, loop: asyncio.AbstractEventLoop) -> str:
    finished = Recorder(qr.retrieveFinished)
    qr.retrieve()
    finished.wait(loop, timeout=120)
    settle(loop)
    return str(finished.calls[0][0])


def test_query_shows_studies_and_a_tapped_study_its_series(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app_factory(start_node=False)
    qr = model.queryRetrieve
    assert qr.nodeNames == ["PACS"] and qr.nodeName == "PACS"
    query(qr, loop)
    assert {r["StudyInstanceUID"] for r in qr.studies.rows()} == set(pacs.studies)
    assert qr.status == f"{len(pacs.studies)} studies on PACS."
    assert not qr.truncated
    # The query is in the audit trail (110112), with the number of matches.
    (asked,) = [e for e in core.audit.trail.list(limit=100) if e.event.event.code == "110112"]
    assert asked.event.summary.endswith(f"{len(pacs.studies)} matches"), asked.event.summary
    for row in qr.studies.rows():
        assert row["NumberOfStudyRelatedInstances"] == pacs.studies[row["StudyInstanceUID"]]

    # The first tap on a study asks the PACS (spinner), the second comes from the cache.
    study = max(pacs.series, key=lambda uid: len(pacs.series[uid]))
    busy: list[bool] = []
    qr.series.busyChanged.connect(lambda: busy.append(qr.series.busy))
    loaded = Recorder(qr.seriesLoaded)
    qr.selectStudy(study_index(qr, study))
    loaded.wait(loop)
    assert busy == [True, False]
    assert {r["SeriesInstanceUID"] for r in qr.series.rows()} == set(pacs.series[study])
    counts = {r["SeriesInstanceUID"]: r["NumberOfSeriesRelatedInstances"] for r in qr.series.rows()}
    assert counts == pacs.series[study]
    other = next(uid for uid in pacs.studies if uid != study)
    qr.selectStudy(study_index(qr, other))
    loaded.wait(loop, 2)
    qr.selectStudy(study_index(qr, study))
    loaded.wait(loop, 3)
    assert busy == [True, False, True, False]  # only the other study was fetched
    assert {r["SeriesInstanceUID"] for r in qr.series.rows()} == set(pacs.series[study])

    # Sorting by a column orders the rows; again reverses.
    qr.studies.sortBy("PatientID")
    ids = [r["PatientID"] for r in qr.studies.rows()]
    assert ids == sorted(ids, key=str.casefold)
    qr.studies.sortBy("PatientID")
    assert [r["PatientID"] for r in qr.studies.rows()] == ids[::-1]


def test_fields_narrow_the_query_and_wildcard_is_appended(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    _core, model = app_factory(start_node=False)
    qr = model.queryRetrieve
    qr.setPatientName("long")  # auto-appended *: Long^Series
    query(qr, loop)
    assert [r["StudyInstanceUID"] for r in qr.studies.rows()] == [pacs.long_study]
    qr.setAppendWildcard(False)
    settle(loop)
    assert not qr.appendWildcard
    query(qr, loop)
    assert qr.studies.rows() == []
    assert load_settings(_core.settings.data_dir).qr_append_wildcard is False


def test_maximum_matches_truncates_and_says_so(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app_factory(start_node=False)
    qr = model.queryRetrieve
    qr.setMaxResults(2)
    settle(loop)
    assert qr.maxResults == 2 and core.settings.qr_max_results == 2
    query(qr, loop)
    assert len(qr.studies.rows()) == 2
    assert qr.truncated
    assert "first 2 studies" in qr.status and "has more" in qr.status


def test_answers_that_contradict_the_query_are_flagged(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    # Orthanc answers in its default encoding, Latin-1: the name the query found is lost.
    buffer = BytesIO()
    make_dataset(patient_name="山田^太郎", patient_id="JP-1").save_as(
        buffer, enforce_file_format=True
    )
    uploaded = pacs.orthanc.upload(buffer.getvalue())
    try:
        _core, model = app_factory(start_node=False)
        qr = model.queryRetrieve
        qr.setPatientName("山田")
        done, errors = Recorder(qr.queryFinished), Recorder(qr.errorOccurred)
        qr.query()
        done.wait(loop)
        assert [r["PatientID"] for r in qr.studies.rows()] == ["JP-1"]
        assert (
            qr.status
            == "Check the results: PACS answered what the query did not ask. 1 study on PACS."
        )
        ((message,),) = errors.calls
        assert "1 of 1 answers" in message and "ISO_IR 192" in message
    finally:
        pacs.orthanc.request("DELETE", f"/instances/{uploaded['ID']}")


@pytest.mark.parametrize("method", ["move", "get"])
def test_retrieve_a_study_fills_the_database(
    method: str,
    app_factory: Callable[..., tuple[Core, AppModel]],
    pacs: Pacs,
    loop: asyncio.AbstractEventLoop,
) -> None:
    core, model = app_factory(method)
    qr = model.queryRetrieve
    query(qr, loop)
    study = next(uid for uid in pacs.studies if uid != pacs.long_study)
    qr.selectStudy(study_index(qr, study))
    settle(loop)
    assert qr.canRetrieve
    text = retrieve(qr, loop)
    expected = pacs.studies[study]
    assert text == f"Retrieved {expected} images (C-{method.upper()})."
    (row,) = core.list_rows("study", StudyFilter(study_uid=study))
    assert row["NumberOfStudyRelatedInstances"] == expected
    assert core.stats()["instances"] == expected
    assert qr.progress == 1.0
    # The Database tab shows what arrived without a Refresh.
    run_until(loop, lambda: model.database.studies.total == 1)


def test_retrieve_selected_series_only(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app_factory("get")
    qr = model.queryRetrieve
    query(qr, loop)
    study = max(pacs.series, key=lambda uid: len(pacs.series[uid]))
    loaded = Recorder(qr.seriesLoaded)
    qr.selectStudy(study_index(qr, study))
    loaded.wait(loop)
    qr.multiSelect = True
    qr.selectSeries(0)
    qr.selectSeries(1)
    assert qr.selectionText == "2 series selected"
    picked = [r["SeriesInstanceUID"] for r in qr.series.rows()[:2]]
    retrieve(qr, loop)
    assert core.stats()["series"] == 2
    assert core.stats()["instances"] == sum(pacs.series[study][uid] for uid in picked)


def test_cancel_stops_a_retrieve(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app_factory("get")
    qr = model.queryRetrieve
    query(qr, loop)
    qr.selectStudy(study_index(qr, pacs.long_study))
    settle(loop)

    def cancel_once_started() -> None:
        if qr.retrieving and qr.progress > 0:
            qr.cancelRetrieve()

    qr.progressChanged.connect(cancel_once_started)
    text = retrieve(qr, loop)
    assert text.startswith("Retrieve cancelled after ")
    stored = core.stats()["instances"]
    assert 0 < stored < LONG_SERIES
    assert not qr.retrieving


def test_auto_load_opens_the_viewer_when_the_retrieve_finishes(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    _core, model = app_factory("move")
    qr = model.queryRetrieve
    qr.setAutoLoad(True)
    settle(loop)
    assert qr.autoLoad
    query(qr, loop)
    study = max(pacs.series, key=lambda uid: len(pacs.series[uid]))
    loaded = Recorder(qr.seriesLoaded)
    qr.selectStudy(study_index(qr, study))
    loaded.wait(loop)
    qr.selectSeries(1)
    series = qr.series.rows()[1]
    assert model.view == "database"
    retrieve(qr, loop)
    run_until(loop, lambda: model.view == "viewer")
    assert model.viewer.count == pacs.series[study][series["SeriesInstanceUID"]]


def test_without_auto_load_the_view_stays(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    _core, model = app_factory("get")
    qr = model.queryRetrieve
    assert not qr.autoLoad
    query(qr, loop)
    qr.selectStudy(study_index(qr, next(iter(pacs.studies))))
    retrieve(qr, loop)
    assert model.view == "database"


class TestErrorsAreShown:
    def errors_of(
        self, qr: QueryRetrieveModel, loop: asyncio.AbstractEventLoop, action: Any
    ) -> str:
        errors = Recorder(qr.errorOccurred)
        action()
        errors.wait(loop)
        settle(loop)
        return str(errors.calls[0][0])

    def test_peer_down(
        self, app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app_factory(start_node=False)
        core.registry.add("Down", "DOWN", "127.0.0.1", free_port())
        qr = model.queryRetrieve
        loop.run_until_complete(qr.load_nodes())
        qr.setNode("Down")
        text = self.errors_of(qr, loop, qr.query)
        assert "refused the connection: nothing listens on port" in text
        assert qr.status == "The query failed."
        assert not qr.querying

    def test_wrong_ae_title_refused(
        self, app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs,
        loop: asyncio.AbstractEventLoop,
    ) -> None:  # fmt: skip
        core, model = app_factory(start_node=False)
        registry = core.registry
        registry.add("Wrong", "NOT_ORTHANC", "127.0.0.1", pacs.orthanc.dicom_port)
        qr = model.queryRetrieve
        loop.run_until_complete(qr.load_nodes())
        qr.setNode("Wrong")
        text = self.errors_of(qr, loop, qr.query)
        assert "rejected the association" in text and "NOT_ORTHANC" in text

    def test_move_while_our_node_is_stopped(
        self, app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs,
        loop: asyncio.AbstractEventLoop,
    ) -> None:  # fmt: skip
        core, model = app_factory("move", start_node=False)
        qr = model.queryRetrieve
        query(qr, loop)
        qr.selectStudy(0)
        text = self.errors_of(qr, loop, qr.retrieve)
        assert "DICOM node, which is stopped" in text and "C-GET" in text
        assert core.stats()["instances"] == 0

    def test_unknown_move_destination(
        self, app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs,
        loop: asyncio.AbstractEventLoop,
    ) -> None:  # fmt: skip
        # Our node runs as STRANGER, an AE title Orthanc has not registered.
        core, model = app_factory("move", ae_title="STRANGER")
        qr = model.queryRetrieve
        query(qr, loop)
        qr.selectStudy(0)
        text = self.errors_of(qr, loop, qr.retrieve)
        assert "Retrieve failed" in text
        assert "'STRANGER'" in text and "register that AE title" in text
        assert not qr.retrieving


def test_cancel_query_stops_waiting_at_once(
    app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
) -> None:
    """A host that accepts the connection but never answers: Cancel ends the wait."""
    core, model = app_factory(start_node=False)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        core.registry.add("Silent", "SILENT", "127.0.0.1", silent.getsockname()[1])
        qr = model.queryRetrieve
        loop.run_until_complete(qr.load_nodes())
        qr.setNode("Silent")
        qr.query()
        run_until(loop, lambda: qr.querying)
        # The kernel accepts the connection; the association request waits for an answer.
        loop.run_until_complete(asyncio.sleep(0.5))
        assert qr.querying
        qr.cancelQuery()
        run_until(loop, lambda: not qr.querying, timeout=2)
        assert qr.status == "Query cancelled."
    settle(loop)  # closing the socket ends the abandoned association attempt


class TestResultsBelongToTheirQuery:
    """Results are of the server and query that produced them: nothing else retrieves them."""

    def picked(self, qr: QueryRetrieveModel, loop: asyncio.AbstractEventLoop) -> None:
        query(qr, loop)
        loaded = Recorder(qr.seriesLoaded)
        qr.selectStudy(0)
        loaded.wait(loop)
        qr.selectSeries(0)
        assert qr.canRetrieve and qr.targets()

    def assert_nothing_to_retrieve(self, qr: QueryRetrieveModel) -> None:
        assert qr.studies.count == 0 and qr.series.count == 0
        assert qr.studies.selectedCount == 0 and qr.series.selectedCount == 0
        assert not qr.canRetrieve and qr.targets() == []
        assert qr.selectionText == "Nothing selected"
        assert qr.seriesTitle == "Tap a study to see its series"
        assert qr.resultsNode == ""

    def test_switching_the_server_clears_them(
        self, app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs,
        loop: asyncio.AbstractEventLoop,
    ) -> None:  # fmt: skip
        core, model = app_factory("get")
        # Another name for the same PACS: a retrieve there would succeed, so only the
        # clearing keeps the old results from being fetched under the new name.
        core.registry.add("Other", pacs.orthanc.ae_title, "127.0.0.1", pacs.orthanc.dicom_port,
                          "get")  # fmt: skip
        qr = model.queryRetrieve
        loop.run_until_complete(qr.load_nodes())
        self.picked(qr, loop)
        qr.setNode("Other")
        self.assert_nothing_to_retrieve(qr)  # at once
        settle(loop)  # the choice is saved
        assert qr.status == "Choose a server and tap Query."
        assert qr.studiesEmptyText == "No studies: enter what to look for and tap Query"
        errors = Recorder(qr.errorOccurred)
        qr.retrieve()
        errors.wait(loop)
        assert errors.calls == [("Select the studies or series to retrieve first.",)]
        settle(loop)
        assert core.stats()["instances"] == 0

    def test_a_failed_query_leaves_nothing_to_retrieve(
        self, app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app_factory("get")
        qr = model.queryRetrieve
        self.picked(qr, loop)
        core.registry.edit("PACS", port=free_port())  # the same server, now down
        loop.run_until_complete(qr.load_nodes())
        assert qr.nodeName == "PACS"
        errors = Recorder(qr.errorOccurred)
        qr.query()
        errors.wait(loop)
        settle(loop)
        assert qr.status == "The query failed."
        self.assert_nothing_to_retrieve(qr)
        assert qr.studiesEmptyText == "The query failed: no results to show."

    def test_a_new_query_clears_them_when_it_starts(
        self, app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app_factory("get")
        qr = model.queryRetrieve
        self.picked(qr, loop)
        with socket.socket() as silent:  # the PACS now accepts, and never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(4)
            core.registry.edit("PACS", port=silent.getsockname()[1])
            loop.run_until_complete(qr.load_nodes())
            qr.query()
            run_until(loop, lambda: qr.querying)
            self.assert_nothing_to_retrieve(qr)
            assert qr.studiesEmptyText == "Querying PACS…"
            qr.cancelQuery()
            run_until(loop, lambda: not qr.querying, timeout=2)
            self.assert_nothing_to_retrieve(qr)
        settle(loop)

    def test_the_retrieve_asks_the_server_of_the_results(
        self, app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs,
        loop: asyncio.AbstractEventLoop,
    ) -> None:  # fmt: skip
        core, model = app_factory("get")
        core.registry.add("Down", "DOWN", "127.0.0.1", free_port(), "get")
        qr = model.queryRetrieve
        loop.run_until_complete(qr.load_nodes())
        self.picked(qr, loop)
        # Whatever the box says, results of one server are never retrieved from another:
        # a chosen server that is not theirs (the slots never allow it) refuses the retrieve.
        qr._node_name = "Down"
        errors = Recorder(qr.errorOccurred)
        qr.retrieve()
        errors.wait(loop)
        assert errors.calls == [("These results are from PACS, not Down: query again.",)]
        self.assert_nothing_to_retrieve(qr)
        # The chosen server's results retrieve from it.
        qr.setNode("PACS")
        settle(loop)
        self.picked(qr, loop)
        assert qr.nodeName == qr.resultsNode == "PACS"  # the box names the results' server
        text = retrieve(qr, loop)
        assert text.startswith("Retrieved ")
        assert core.stats()["instances"] > 0


def test_no_matches_says_so_naming_the_server(
    app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
) -> None:
    _core, model = app_factory(start_node=False)
    qr = model.queryRetrieve
    assert qr.studiesEmptyText == "No studies: enter what to look for and tap Query"
    qr.setPatientId("NO-SUCH-PATIENT")
    query(qr, loop)
    assert qr.studies.count == 0
    assert qr.status == "0 studies on PACS."
    assert qr.studiesEmptyText == "No studies on PACS matched the query."


def test_the_chosen_server_is_remembered(
    app_factory: Callable[..., tuple[Core, AppModel]], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app_factory(start_node=False)
    core.registry.add("Another", "ANOTHER", "127.0.0.1", free_port())
    qr = model.queryRetrieve
    loop.run_until_complete(qr.load_nodes())
    assert qr.nodeName == "PACS"  # chosen before Another was added
    assert load_settings(core.settings.data_dir).qr_server == ""  # nothing chosen yet
    fresh = QueryRetrieveModel(core, model.node, SettingsStore(core))
    loop.run_until_complete(fresh.load_nodes())
    assert fresh.nodeName == "Another"  # the first by name
    qr.setNode("Another")
    settle(loop)
    assert load_settings(core.settings.data_dir).qr_server == "Another"
    qr.setNode("PACS")
    settle(loop)
    assert load_settings(core.settings.data_dir).qr_server == "PACS"
    # A remembered choice, not a configuration change: no Security Alert in the audit trail.
    core.audit.flush()
    codes = [e.event.event.code for e in core.audit.trail.list(limit=100)]
    assert "110113" not in codes
    # The next start (settings read again) picks it again.
    core.settings = load_settings(core.settings.data_dir)
    again = QueryRetrieveModel(core, model.node, SettingsStore(core))
    loop.run_until_complete(again.load_nodes())
    assert again.nodeName == "PACS"
    # A remembered server that is gone: the first one.
    core.settings = load_settings(core.settings.data_dir, {"qr_server": "Gone"})
    gone = QueryRetrieveModel(core, model.node, SettingsStore(core))
    loop.run_until_complete(gone.load_nodes())
    assert gone.nodeName == "Another"


def test_studies_are_sorted_newest_first(
    app_factory: Callable[..., tuple[Core, AppModel]], pacs: Pacs, loop: asyncio.AbstractEventLoop
) -> None:
    _core, model = app_factory(start_node=False)
    qr = model.queryRetrieve
    assert (qr.studies.sortKey, qr.studies.descending) == ("StudyDate", True)
    query(qr, loop)
    dates = [r["StudyDate"] for r in qr.studies.rows() if r.get("StudyDate")]
    assert len(set(dates)) > 1, dates
    assert dates == sorted(dates, reverse=True)
    study = max(pacs.series, key=lambda uid: len(pacs.series[uid]))
    loaded = Recorder(qr.seriesLoaded)
    qr.selectStudy(study_index(qr, study))
    loaded.wait(loop)
    numbers = [r["SeriesNumber"] for r in qr.series.rows() if r.get("SeriesNumber") is not None]
    assert numbers == sorted(numbers)
