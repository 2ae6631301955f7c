"""IndexWriter: counts stay exact through mixed batches, duplicates and deletions.

The Number of Related Series/Instances at every level and ModalitiesInStudy are stored
columns (C-FIND and the browser read them). After each step they must equal what the
instance and series rows say, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any, Literal

import pytest
from sqlalchemy import func, select

from core.app import Core
from core.db.models import Instance, Patient, Series, Study, TransferItem
from core.dicom.header import parse_instance
from core.errors import InvalidUIDError
from core.index.writer import IngestItem, Outcome
from core.transfers.log import ITEM_STORED, ItemRecord, TransferLog
from tests.support.data import make_dataset

ROOT = "1.2.826.0.1.3680043.2.1143.77"
STUDY_A, STUDY_B = f"{ROOT}.1.1", f"{ROOT}.1.2"
CT_A, SR_A, MR_B, US_B = (f"{ROOT}.2.{i}" for i in range(1, 5))


def sop(n: int) -> str:
    return f"{ROOT}.3.{n}"


def ingest_item(
    core: Core, sop_uid: str, series_uid: str, study_uid: str, modality: str, patient: str
) -> IngestItem:
    ds = make_dataset(
        sop_uid=sop_uid,
        series_uid=series_uid,
        study_uid=study_uid,
        modality=modality,
        patient_id=patient,
        patient_name=f"{patient}^Test",
    )
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    incoming = core.store.write_incoming(data, len(data))
    return IngestItem(incoming, parse_instance(data).header, len(data), "SCU", "127.0.0.1:1")


def in_a(core: Core, n: int, series: str = CT_A) -> IngestItem:
    modality = {CT_A: "CT", SR_A: "SR"}[series]
    return ingest_item(core, sop(n), series, STUDY_A, modality, "PA")


def in_b(core: Core, n: int, series: str = MR_B) -> IngestItem:
    modality = {MR_B: "MR", US_B: "US"}[series]
    return ingest_item(core, sop(n), series, STUDY_B, modality, "PB")


def stored_counts(core: Core) -> dict[str, Any]:
    """The count columns as the index holds them."""
    with core.sessions() as s:
        return {
            "patients": {
                r.patient_id: (r.num_studies, r.num_series, r.num_instances)
                for r in s.execute(select(Patient)).scalars().all()
            },
            "studies": {
                r.study_uid: (r.num_series, r.num_instances, r.modalities)
                for r in s.execute(select(Study)).scalars().all()
            },
            "series": {
                r.series_uid: r.num_instances for r in s.execute(select(Series)).scalars().all()
            },
        }


def recounted(core: Core) -> dict[str, Any]:
    """The same counts computed from the series and instance rows themselves."""
    with core.sessions() as s:
        per_series = dict(
            s.execute(
                select(Series.series_uid, func.count(Instance.id))
                .outerjoin(Instance, Instance.series_pk == Series.id)
                .group_by(Series.series_uid)
            ).all()
        )
        series_rows = s.execute(
            select(Series.series_uid, Series.modality, Study.study_uid, Patient.patient_id)
            .join(Study, Study.id == Series.study_pk)
            .join(Patient, Patient.id == Study.patient_pk)
        ).all()
        studies: dict[str, tuple[int, int, str]] = {}
        patients: dict[str, tuple[int, int, int]] = {}
        study_rows = s.execute(
            select(Study.study_uid, Patient.patient_id).join(
                Patient, Patient.id == Study.patient_pk
            )
        ).all()
        for study_uid, _pid in study_rows:
            rows = [r for r in series_rows if r.study_uid == study_uid]
            modalities = "\\".join(sorted({r.modality for r in rows if r.modality}))
            studies[study_uid] = (
                len(rows),
                sum(per_series[r.series_uid] for r in rows),
                modalities,
            )
        for (patient_id,) in s.execute(select(Patient.patient_id)).all():
            mine = [uid for uid, pid in study_rows if pid == patient_id]
            patients[patient_id] = (
                len(mine),
                sum(studies[uid][0] for uid in mine),
                sum(studies[uid][1] for uid in mine),
            )
    return {"patients": patients, "studies": studies, "series": per_series}


def check_counts(core: Core) -> dict[str, Any]:
    counts = stored_counts(core)
    assert counts == recounted(core)
    return counts


def instance_series(core: Core) -> dict[str, str]:
    with core.sessions() as s:
        return dict(s.execute(select(Instance.sop_uid, Series.series_uid).join(Series)).all())


@pytest.mark.parametrize("policy", ["keep", "replace"])
def test_counts_stay_exact_through_mixed_batches_and_deletes(
    any_core: Core, policy: Literal["keep", "replace"]
) -> None:
    core = any_core
    core.writer.duplicate_policy = policy
    first = [
        in_a(core, 1),
        in_a(core, 2),
        in_a(core, 1),  # the same SOP Instance twice in one batch: the first one wins
        in_a(core, 3, SR_A),
        in_b(core, 4),
        in_b(core, 5),
    ]
    outcomes = core.writer.write_batch(first)
    assert outcomes == [Outcome.STORED] * 2 + [Outcome.DUPLICATE] + [Outcome.STORED] * 3
    counts = check_counts(core)
    assert counts["studies"] == {STUDY_A: (2, 3, "CT\\SR"), STUDY_B: (1, 2, "MR")}
    assert counts["patients"] == {"PA": (1, 2, 3), "PB": (1, 1, 2)}

    # Mixed: a new image, a duplicate of an indexed one, and the SR sent again as part of a
    # new ultrasound series of the other patient's study.
    second = [in_a(core, 6), in_a(core, 2), in_b(core, 3, US_B), in_b(core, 7)]
    outcomes = core.writer.write_batch(second)
    counts = check_counts(core)
    if policy == "keep":
        assert outcomes == [Outcome.STORED, Outcome.DUPLICATE, Outcome.DUPLICATE, Outcome.STORED]
        assert counts["studies"] == {STUDY_A: (2, 4, "CT\\SR"), STUDY_B: (1, 3, "MR")}
        assert instance_series(core)[sop(3)] == SR_A
        assert list(core.store.incoming_dir.iterdir()) == []
    else:
        assert outcomes == [Outcome.STORED, Outcome.REPLACED, Outcome.REPLACED, Outcome.STORED]
        # The SR moved: its old series, left empty, is gone, and so is SR from the study.
        assert counts["studies"] == {STUDY_A: (1, 3, "CT"), STUDY_B: (2, 4, "MR\\US")}
        assert SR_A not in counts["series"]
        assert instance_series(core)[sop(3)] == US_B
        old_file = core.store.root / STUDY_A / SR_A / f"{sop(3)}.dcm"
        assert not old_file.exists()

    result = core.writer.delete("series", MR_B)
    assert result.instances == 3
    counts = check_counts(core)
    if policy == "keep":
        assert STUDY_B not in counts["studies"] and "PB" not in counts["patients"]
    else:
        assert counts["studies"][STUDY_B] == (1, 1, "US")
        assert counts["patients"]["PB"] == (1, 1, 1)

    core.writer.delete("instance", sop(6))
    counts = check_counts(core)
    assert counts["series"][CT_A] == 2

    core.writer.delete("patient", "PA")
    counts = check_counts(core)
    assert "PA" not in counts["patients"] and STUDY_A not in counts["studies"]
    assert set(counts["series"]) == ({US_B} if policy == "replace" else set())
    remaining = sorted(p.name for p in core.store.root.rglob("*.dcm"))
    assert remaining == ([f"{sop(3)}.dcm"] if policy == "replace" else [])


def test_record_commits_or_rolls_back_with_the_batch(core: Core) -> None:
    log = TransferLog(core.sessions)
    transfer_id = log.start_incoming("SCU", "127.0.0.1:1")
    items = [in_a(core, 1), in_a(core, 2)]

    def record(session: Any, outcomes: Any) -> None:
        log.add_items(
            session,
            transfer_id,
            [
                ItemRecord(i.header.sop_uid, CT_A, STUDY_A, "PA^Test", ITEM_STORED, 0, i.size)
                for i in items
            ],
        )
        if fail:
            raise RuntimeError("the transfer log cannot be written")

    fail = True
    with pytest.raises(RuntimeError):
        core.writer.write_batch(items, record=record)
    assert core.stats()["instances"] == 0
    with core.sessions() as s:
        assert s.scalar(select(func.count(TransferItem.id))) == 0
    assert all(i.incoming.exists() for i in items)  # kept for the retry

    fail = False
    assert core.writer.write_batch(items, record=record) == [Outcome.STORED] * 2
    assert core.stats()["instances"] == 2
    with core.sessions() as s:
        assert s.scalar(select(func.count(TransferItem.id))) == 2
    check_counts(core)


def test_a_failing_batch_leaves_no_rows_and_its_files_for_recovery(core: Core) -> None:
    good = in_a(core, 1)
    bad = in_a(core, 2)
    bad = replace(bad, header=replace(bad.header, sop_uid="1.2.3/../4"))
    with pytest.raises(InvalidUIDError):
        core.writer.write_batch([good, bad])
    assert core.stats()["instances"] == 0
    assert stored_counts(core) == {"patients": {}, "studies": {}, "series": {}}
    assert good.incoming.exists() and bad.incoming.exists()
    assert core.writer.write_batch([good]) == [Outcome.STORED]
    assert check_counts(core)["patients"] == {"PA": (1, 1, 1)}


def test_many_series_in_one_batch(any_core: Core) -> None:
    core = any_core
    items = [
        ingest_item(core, sop(100 + i), f"{ROOT}.4.{i % 7}", f"{ROOT}.5.{i % 3}", m, f"P{i % 2}")
        for i, m in enumerate(["CT", "MR", "", "PR", "CT", "SR", "US"] * 4)
    ]
    assert core.writer.write_batch(items) == [Outcome.STORED] * len(items)
    counts = check_counts(core)
    assert sum(n for _studies, _series, n in counts["patients"].values()) == len(items)
    assert len(counts["series"]) == 7


def test_a_replaced_instance_that_moves_takes_its_empty_parents_along(core: Core) -> None:
    core.writer.duplicate_policy = "replace"
    assert core.writer.write_batch([in_a(core, 1), in_b(core, 2)]) == [Outcome.STORED] * 2
    # Patient A's only image comes again in patient B's study, with an image of its own.
    moved = ingest_item(core, sop(1), US_B, STUDY_B, "US", "PB")
    assert core.writer.write_batch([moved, in_a(core, 3, SR_A)]) == [
        Outcome.REPLACED,
        Outcome.STORED,
    ]
    counts = check_counts(core)
    assert counts["studies"] == {STUDY_A: (1, 1, "SR"), STUDY_B: (2, 2, "MR\\US")}
    assert core.writer.write_batch([ingest_item(core, sop(3), US_B, STUDY_B, "US", "PB")]) == [
        Outcome.REPLACED
    ]
    counts = check_counts(core)
    assert counts["patients"] == {"PB": (1, 2, 3)}
    assert counts["studies"] == {STUDY_B: (2, 3, "MR\\US")}


def test_deleting_a_study_removes_its_series_without_instances(any_core: Core) -> None:
    """Databases indexed before moved instances took their empty series along still have
    such series: deleting their study or patient removes them too."""
    core = any_core
    core.writer.write_batch([in_a(core, 1), in_b(core, 2)])
    with core.sessions.begin() as s:
        study_pk = s.scalar(select(Study.id).where(Study.study_uid == STUDY_A))
        s.add(Series(study_pk=study_pk, series_uid=SR_A, modality="SR", num_instances=0))
    core.writer.delete("study", STUDY_A)
    counts = check_counts(core)
    assert counts["patients"] == {"PB": (1, 1, 1)} and set(counts["series"]) == {MR_B}

    with core.sessions.begin() as s:
        study_pk = s.scalar(select(Study.id).where(Study.study_uid == STUDY_B))
        s.add(Series(study_pk=study_pk, series_uid=US_B, modality="US", num_instances=0))
    core.writer.delete("series", MR_B)  # the study keeps its empty series
    assert check_counts(core)["studies"] == {STUDY_B: (1, 0, "US")}
    result = core.writer.delete("patient", "PB")
    assert result.instances == 0
    assert stored_counts(core) == {"patients": {}, "studies": {}, "series": {}}


def test_placing_the_same_incoming_file_twice_leaves_no_temporary_name(core: Core) -> None:
    """A batch retried after a rollback, or a recovery after a crash, places a file again."""
    item = in_a(core, 1)
    assert item.incoming is not None
    relative = core.store.relative_path(STUDY_A, CT_A, sop(1))
    core.store.place(item.incoming, relative)
    core.store.place(item.incoming, relative)
    target = core.store.absolute(relative)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def _index_holds(core: Core, sop_uid: str) -> bool:
    with core.sessions() as s:
        return s.scalar(select(func.count()).where(Instance.sop_uid == sop_uid)) == 1


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_what_is_deleted_or_replaced_cannot_come_back_through_incoming(
    core: Core, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """An incoming name is dropped after its image is indexed, without a sync. Were that drop
    still in the page cache when a delete (or a replacing version) commits, a power loss would
    bring the file back into ``incoming/`` and the start-up recovery would index it again: the
    deleted image returns, or the old version replaces the new one. The drop must be on disk
    (the incoming directory fsynced) before the delete or the replacement commits."""
    core.store.fsync = True
    core.writer.duplicate_policy = "replace"
    first = in_a(core, 1)
    assert first.incoming is not None
    assert core.writer.write_batch([first]) == [Outcome.STORED]
    assert not first.incoming.exists()
    settled: list[bool] = []  # for each fsync of incoming/: did the index still hold the old row?
    real_sync = core.store._sync_directory

    def sync_directory(directory: Any) -> None:
        if directory == core.store.incoming_dir:
            settled.append(_index_holds(core, sop(1)))
        real_sync(directory)

    monkeypatch.setattr(core.store, "_sync_directory", sync_directory)
    if how == "deleted":
        core.writer.delete("study", STUDY_A)
        assert not _index_holds(core, sop(1))
    else:
        again = in_a(core, 1)  # written to incoming/ (one fsync of its own, row still there)
        settled.clear()
        assert core.writer.write_batch([again]) == [Outcome.REPLACED]
    assert True in settled, "the dropped incoming name was not made durable before the commit"


def _statements(core: Core) -> list[str]:
    """Every SQL statement the core's engine runs from now on (appended as it runs)."""
    from sqlalchemy import event

    ran: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        ran.append(statement)

    event.listen(core.engine, "before_cursor_execute", count)
    return ran


def _new_studies(core: Core, first: int, count: int, per_study: int = 1) -> list[IngestItem]:
    """``count`` new studies of ``per_study`` images each, a new patient each."""
    return [
        ingest_item(
            core,
            f"{ROOT}.7.{first + study}.{n}",
            f"{ROOT}.6.{first + study}",
            f"{ROOT}.5.{first + study}",
            "CR",
            f"X{first + study}",
        )
        for study in range(count)
        for n in range(per_study)
    ]


def test_a_batch_of_new_studies_costs_the_same_statements_as_a_batch_of_one(
    any_core: Core,
) -> None:
    """X-ray rooms send 1-4 images a study: a new study (with its series and patient) must
    not cost statements of its own. Lookups and inserts of parents are per batch."""
    core = any_core
    ran = _statements(core)
    assert core.writer.write_batch(_new_studies(core, 0, 1)) == [Outcome.STORED]
    one = len(ran)
    ran.clear()
    many = _new_studies(core, 1, 40, per_study=2)
    assert core.writer.write_batch(many) == [Outcome.STORED] * 80
    assert len(ran) <= one, ran
    counts = check_counts(core)
    assert len(counts["patients"]) == 41 and len(counts["studies"]) == 41
    assert set(counts["patients"].values()) == {(1, 1, 1), (1, 1, 2)}
    assert {m for _n, _i, m in counts["studies"].values()} == {"CR"}


def test_new_and_known_parents_mixed_in_one_batch(any_core: Core) -> None:
    """In one batch: a new series of a known study, a new study of a known patient, two new
    studies of one new patient, a known series; each new row takes the attributes of the
    first image that needs it."""
    core = any_core
    assert core.writer.write_batch([in_a(core, 1)]) == [Outcome.STORED]
    items = [
        in_a(core, 2, series=SR_A),  # a new series of study A
        ingest_item(core, sop(3), f"{ROOT}.6.1", f"{ROOT}.5.1", "MR", "PA"),  # known patient
        ingest_item(core, sop(4), f"{ROOT}.6.2", f"{ROOT}.5.2", "US", "PN"),  # new patient...
        ingest_item(core, sop(5), f"{ROOT}.6.3", f"{ROOT}.5.3", "CT", "PN"),  # ...two studies
        ingest_item(core, sop(6), f"{ROOT}.6.2", f"{ROOT}.5.2", "US", "PN"),
        in_a(core, 7),  # the known series
    ]
    assert core.writer.write_batch(items) == [Outcome.STORED] * len(items)
    counts = check_counts(core)
    assert counts["patients"] == {"PA": (2, 3, 4), "PN": (2, 2, 3)}
    assert counts["studies"][STUDY_A] == (2, 3, "CT\\SR")
    assert counts["studies"][f"{ROOT}.5.2"] == (1, 2, "US")
    with core.sessions() as s:
        names = dict(s.execute(select(Patient.patient_id, Patient.patient_name)).all())
    assert names == {"PA": "PA^Test", "PN": "PN^Test"}
    assert core.writer.write_batch([ingest_item(core, sop(4), f"{ROOT}.6.2", f"{ROOT}.5.2",
                                                "US", "PN")]) == [Outcome.DUPLICATE]  # fmt: skip


def test_each_new_study_makes_its_two_directories_once(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new study costs two mkdir calls (its folder and its series'), a new series of a known
    study one, a known series none; a folder a delete removed is made again."""
    import os as os_module

    made: list[str] = []
    real_mkdir = os_module.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        made.append(os_module.fspath(path))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os_module, "mkdir", mkdir)
    root = os_module.fspath(core.store.root)
    batch = [in_a(core, 1), in_a(core, 2)]
    made.clear()  # (incoming/'s owner lock)
    assert core.writer.write_batch(batch) == [Outcome.STORED] * 2
    assert made == [f"{root}/{STUDY_A}", f"{root}/{STUDY_A}/{CT_A}"]
    batch = [in_a(core, 3), in_a(core, 4, SR_A)]
    made.clear()
    assert core.writer.write_batch(batch) == [Outcome.STORED] * 2
    assert made == [f"{root}/{STUDY_A}/{SR_A}"]
    core.writer.delete("study", STUDY_A)
    assert not (core.store.root / STUDY_A).exists()
    assert core.writer.write_batch([in_a(core, 5)]) == [Outcome.STORED]
    assert core.store.absolute(f"{STUDY_A}/{CT_A}/{sop(5)}.dcm").is_file()
    check_counts(core)


@pytest.mark.parametrize("policy", ["keep", "replace"])
def test_an_image_whose_file_is_gone_is_restored_by_the_next_copy(
    core: Core, policy: Literal["keep", "replace"]
) -> None:
    """A row no file backs (the file removed by hand, or lost in a power cut with fsync off)
    must not turn the next copy of that image away as a duplicate: the copy takes its place."""
    core.writer.duplicate_policy = policy
    first = in_a(core, 1)
    assert core.writer.write_batch([first, in_a(core, 2)]) == [Outcome.STORED] * 2
    with core.sessions() as s:
        path = s.scalar(select(Instance.file_path).where(Instance.sop_uid == sop(1)))
    assert path is not None
    stored = core.store.absolute(path)
    size = stored.stat().st_size
    used = core.store.used_bytes
    stored.unlink()
    again = in_a(core, 1)
    assert core.writer.write_batch([again]) == [Outcome.REPLACED]
    assert parse_instance(stored.read_bytes()).header.sop_uid == sop(1)
    assert again.incoming is not None and not again.incoming.exists()
    assert _index_holds(core, sop(1)) and core.stats()["instances"] == 2
    assert core.store.used_bytes == used and stored.stat().st_size == size
    check_counts(core)
    # A copy whose file is there is still a duplicate (keep) or a replacement (replace).
    expected = Outcome.DUPLICATE if policy == "keep" else Outcome.REPLACED
    assert core.writer.write_batch([in_a(core, 1)]) == [expected]


def test_the_recovery_restores_a_file_the_index_names_but_the_store_lost(
    settings: Any,
) -> None:
    """After a crash, an incoming file of an image whose row committed but whose stored file
    did not reach the disk is the only copy: the start-up recovery puts it back."""
    with Core(settings) as core:
        assert core.writer.write_batch([in_a(core, 1)]) == [Outcome.STORED]
        with core.sessions() as s:
            path = s.scalar(select(Instance.file_path).where(Instance.sop_uid == sop(1)))
        assert path is not None
        stored = core.store.absolute(path)
        data = stored.read_bytes()
        stored.unlink()
        left = core.store.write_incoming(data, len(data))  # as a crash leaves it
    assert left.exists()
    with Core(settings) as core:
        assert stored.read_bytes() == data
        assert not left.exists() and core.stats()["instances"] == 1
