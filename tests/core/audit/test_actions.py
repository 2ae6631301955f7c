"""One audit record per action: export, delete, import, viewer, settings; and from real peers
on loopback, images received from DCMTK storescu (one record per association, with the
calling AE and address) and sent to DCMTK storescp (the node, the outcome)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from core.app import Core
from core.audit import AuditEntry
from core.cli.main import main
from core.config import Settings, load_settings
from core.db.models import Instance, Study
from tests.support.data import CT, make_dataset, seed, write
from tests.support.dcmtk import StoreSCP, dcmtk, have_dcmtk, run
from tests.support.ports import free_port


def _entries(core: Core) -> list[AuditEntry]:
    return core.audit.trail.list(newest_first=False, limit=1000)


def _only(core: Core, code: str) -> AuditEntry:
    (entry,) = [e for e in _entries(core) if e.event.event.code == code]
    return entry


def _study(core: Core, patient_id: str) -> str:
    from core.db.models import Patient

    with core.sessions() as session:
        uid = session.scalar(
            select(Study.study_uid).join(Patient).where(Patient.patient_id == patient_id)
        )
    assert uid
    return uid


def _roles(entry: AuditEntry) -> dict[str, str]:
    """Role code -> UserID of the active participants that have a role."""
    return {r.code: p.user_id for p in entry.event.participants for r in p.roles}


class TestFacades:
    def test_export_records_where_and_whether_de_identified(
        self, core: Core, tmp_path: Path
    ) -> None:
        seed(core)
        study = _study(core, "P-001")
        core.export([("study", study)], tmp_path / "plain")
        core.export([("study", study)], tmp_path / "anon", anonymize=True, new_name="ANON")
        plain, anon = [e for e in _entries(core) if e.event.event.code == "110106"]
        assert _roles(plain)["110154"] == str(tmp_path / "plain")
        assert plain.event.studies == [study]
        assert plain.event.patients == [("P-001", "Müller^Anna")]
        (study_object,) = [o for o in plain.event.objects if o.is_study]
        assert study_object.sop_classes == ((CT, 2),) and study_object.anonymized is False
        assert [o.anonymized for o in anon.event.objects if o.is_study] == [True]
        assert "de-identified" in anon.event.summary

    def test_delete_records_the_study_and_its_patient(self, core: Core) -> None:
        seed(core)
        study = _study(core, "P-002")
        core.delete("study", study)
        entry = _only(core, "110105")
        assert entry.event.action == "D"
        assert entry.event.studies == [study]
        assert entry.event.patients == [("P-002", "MULLER^Bob")]
        assert "4 images" in entry.event.summary

    def test_deleting_an_image_is_instances_accessed_with_action_delete(self, core: Core) -> None:
        seed(core)
        with core.sessions() as session:
            sop = session.scalars(select(Instance.sop_uid)).first()
        assert sop
        core.delete("instance", sop)
        entry = _only(core, "110103")
        assert entry.event.action == "D"
        assert [o.sop_classes for o in entry.event.objects if o.is_study] == [((CT, 1),)]

    def test_import_command_records_the_path_and_patients(
        self, core: Core, data_dir: Path, tmp_path: Path
    ) -> None:
        folder = tmp_path / "media"
        for n in (1, 2):
            write(make_dataset(patient_name="Roe^Rick", patient_id="R-9"), folder / f"{n}.dcm")
        assert main(["--data-dir", str(data_dir), "import", str(folder)]) == 0
        entry = _only(core, "110107")
        assert _roles(entry)["110155"] == str(folder)
        assert entry.event.patients == [("R-9", "Roe^Rick")]
        assert [o.sop_classes for o in entry.event.objects if o.is_study] == [((CT, 1),)] * 2

    def test_viewer_and_settings(self, core: Core) -> None:
        seed(core)
        with core.sessions() as session:
            sops = list(session.scalars(select(Instance.sop_uid).limit(2)))
        core.record_viewed(sops)
        core.audit.settings_changed(["port", "theme"])
        viewed, changed = _entries(core)
        assert (viewed.event.event.code, viewed.event.action) == ("110103", "R")
        assert sum(n for o in viewed.event.objects for _uid, n in o.sop_classes) == 2
        assert changed.event.event.code == "110113"
        assert [t.code for t in changed.event.types] == ["110128"]  # a network setting
        assert [o.object_id for o in changed.event.objects] == ["port", "theme"]


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def _node_settings(data_dir: Path) -> Settings:
    return load_settings(data_dir, {"fsync": False, "port": free_port(), "bind": "127.0.0.1"})


def _run_against_the_node(core: Core, args: list[str], code: str) -> None:
    """Start the node, run the DCMTK command ``args`` against it, wait for a record of
    event ``code``, stop the node."""

    async def scenario() -> None:
        await core.start(sender=False)
        try:
            await asyncio.to_thread(run, args)
            await asyncio.to_thread(
                _until,
                lambda: any(e.event.event.code == code for e in _entries(core)),
                f"record {code}",
            )
        finally:
            await core.stop()

    asyncio.run(scenario())


@pytest.mark.integration
@pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")
class TestPeers:
    def test_received_from_storescu_is_one_record_per_association(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        settings = _node_settings(data_dir)
        files = [
            write(make_dataset(patient_name="Doe^Jane", patient_id="D-1", study_uid="1.2.3.4"),
                  tmp_path / f"{n}.dcm")
            for n in range(3)
        ]  # fmt: skip
        args = [dcmtk("storescu"), "-aet", "MODALITY", "-aec", settings.ae_title,
                "127.0.0.1", str(settings.port), *map(str, files)]  # fmt: skip
        with Core(settings) as core:
            _run_against_the_node(core, args, "110104")
            entries = _entries(core)
        codes = [(e.event.event.code, [t.code for t in e.event.types]) for e in entries]
        assert codes == [("110100", ["110120"]), ("110104", []), ("110100", ["110121"])]
        received = entries[1]
        assert received.event.action == "C" and received.event.outcome == 0
        source = received.event.requestor
        assert source is not None
        assert (source.user_id, source.access_point) == ("MODALITY", "127.0.0.1")
        assert [r.code for r in source.roles] == ["110153"]
        assert _roles(received)["110152"] == settings.ae_title
        assert received.event.studies == ["1.2.3.4"]
        assert received.event.patients == [("D-1", "Doe^Jane")]
        assert [o.sop_classes for o in received.event.objects if o.is_study] == [((CT, 3),)]
        assert core.audit.trail.verify().ok

    def test_a_query_answered_by_the_node_is_one_record(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        settings = _node_settings(data_dir)
        args = [dcmtk("findscu"), "-S", "-aet", "WORKSTATION", "-aec", settings.ae_title,
                "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=Doe*",
                "-k", "StudyInstanceUID", "127.0.0.1", str(settings.port)]  # fmt: skip
        with Core(settings) as core:
            seed(core)
            _run_against_the_node(core, args, "110112")
            (query,) = [e for e in _entries(core) if e.event.event.code == "110112"]
        assert (query.event.action, query.event.outcome) == ("E", 0)
        source = query.event.requestor
        assert source is not None
        assert (source.user_id, source.access_point) == ("WORKSTATION", "127.0.0.1")
        (asked,) = query.event.objects
        assert b"Doe*" in base64.b64decode(asked.query)
        assert asked.object_id == "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root FIND

    def test_sent_to_storescp_records_the_node_and_outcome(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        settings = load_settings(data_dir, {"fsync": False})
        with StoreSCP(tmp_path / "scp") as scp, Core(settings) as core:
            seed(core)
            core.registry.add("PACS", scp.ae_title, "127.0.0.1", scp.port)
            study = _study(core, "X-100")
            transfer = core.send([("study", study)], "PACS")

            async def scenario() -> None:
                await core.start(node=False, send_only=[transfer])
                try:
                    await asyncio.to_thread(
                        _until,
                        lambda: any(e.event.event.code == "110104" for e in _entries(core)),
                        "record of the sent images",
                    )
                finally:
                    await core.stop()

            asyncio.run(scenario())
            entry = _only(core, "110104")
        assert scp.count() == 2
        assert entry.event.action == "R" and entry.event.outcome == 0
        assert "PACS: sent" in entry.event.summary
        destination = [p for p in entry.event.participants if not p.requestor]
        assert [(p.user_id, p.user_name, p.access_point) for p in destination] == [
            (scp.ae_title, "PACS", "127.0.0.1")
        ]
        assert entry.event.studies == [study]
        assert entry.event.patients == [("X-100", "Smith^John")]
