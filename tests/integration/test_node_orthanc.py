"""A real Orthanc as a client of our node: C-ECHO, C-FIND and C-MOVE through its REST API,
and Orthanc storing to us (C-STORE)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from tests.support.data import make_dataset
from tests.support.node import AE, KioskServer, cli
from tests.support.orthanc import Orthanc

pytestmark = pytest.mark.integration


def _bytes(**kwargs: str) -> bytes:
    buffer = io.BytesIO()
    make_dataset(**kwargs).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_orthanc_queries_and_moves_from_our_node(tmp_path: Path) -> None:
    kiosk = KioskServer(tmp_path / "kiosk").start()
    orthanc = Orthanc(tmp_path / "orthanc")
    orthanc.modalities = {"kiosk": [AE, "127.0.0.1", kiosk.port]}
    try:
        orthanc.start()
        cli(
            kiosk.data_dir,
            "nodes",
            "add",
            "orthanc",
            "--ae",
            orthanc.ae_title,
            "--host",
            "127.0.0.1",
            "--port",
            str(orthanc.dicom_port),
        )
        assert "C-ECHO succeeded" in cli(kiosk.data_dir, "nodes", "echo", "orthanc").stdout
        orthanc.post("/modalities/kiosk/echo", {})

        # Orthanc stores two studies on our node (C-STORE SCU -> our SCP)
        study_a, study_b = generate_uid(), generate_uid()
        series_a = generate_uid()
        ids = []
        for _ in range(3):
            ids.append(
                orthanc.post(
                    "/instances",
                    _bytes(
                        patient_name="Orthanc^Anna",
                        patient_id="OA1",
                        study_uid=study_a,
                        series_uid=series_a,
                        study_date="20240502",
                    ),
                )["ID"]
            )
        ids.append(
            orthanc.post(
                "/instances",
                _bytes(
                    patient_name="Other^Otto",
                    patient_id="OO2",
                    study_uid=study_b,
                    study_date="20220101",
                    modality="MR",
                ),
            )["ID"]
        )
        job = orthanc.post("/modalities/kiosk/store", {"Resources": ids, "Synchronous": True})
        assert job is not None
        kiosk.wait_count(4)
        for instance in ids:
            orthanc.request("DELETE", f"/instances/{instance}")
        assert orthanc.get("/instances") == []

        # C-FIND from Orthanc: a date range and a case-insensitive wildcard name
        query = orthanc.post(
            "/modalities/kiosk/query",
            {
                "Level": "Study",
                "Query": {
                    "PatientName": "orthanc*",
                    "StudyDate": "20240101-20241231",
                    "ModalitiesInStudy": "",
                    "NumberOfStudyRelatedInstances": "",
                },
            },
        )
        answers = orthanc.get(f"/queries/{query['ID']}/answers?expand&simplify")
        assert len(answers) == 1
        assert answers[0]["StudyInstanceUID"] == study_a
        assert answers[0]["NumberOfStudyRelatedInstances"] == "3"
        assert answers[0]["ModalitiesInStudy"] == "CT"

        # C-MOVE from our node to Orthanc, asked by Orthanc
        orthanc.post(
            f"/queries/{query['ID']}/answers/0/retrieve",
            {"TargetAet": orthanc.ae_title, "Synchronous": True},
        )
        studies = orthanc.get("/studies?expand")
        assert [s["MainDicomTags"]["StudyInstanceUID"] for s in studies] == [study_a]
        assert len(orthanc.get("/instances")) == 3
    finally:
        orthanc.stop()
        kiosk.stop()
