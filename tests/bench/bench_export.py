"""Export throughput: plain and de-identified, as files, DICOMDIR media and zip.

Reference, measured in the same run on the same stored files: a plain ``shutil.copyfile`` of
each file (the floor for a plain export) and a pydicom read + write of each file (the floor for
any export that changes the dataset, as de-identification must).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path

from pydicom import dcmread

from core.app import Core
from core.config import load_settings
from core.dicom import synth
from core.export.deidentify import DeidentifyOptions
from core.export.exporter import ExportOptions, Selection, export_selection
from core.index.importer import MemorySource

COUNT = 300


def _rate(seconds: float) -> float:
    return COUNT / seconds if seconds > 0 else float("inf")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with Core(load_settings(tmp / "data", {"fsync": False})) as core:
            sources = [MemorySource(f"ct {i}", b) for i, b in enumerate(synth.ct_series(COUNT))]
            core.importer.run_sources(sources)
            stored = sorted((tmp / "data").rglob("*.dcm"))
            stored = [p for p in stored if "incoming" not in p.parts]
            study = core.list_rows("study", __import__("core.db.queries").db.queries.StudyFilter())
            selection = Selection(studies=(study[0]["StudyInstanceUID"],))

            start = time.perf_counter()
            (tmp / "copy").mkdir()
            for i, path in enumerate(stored):
                shutil.copyfile(path, tmp / "copy" / f"{i}.dcm")
            copy_s = time.perf_counter() - start

            start = time.perf_counter()
            for path in stored:
                dcmread(path).save_as(io.BytesIO(), enforce_file_format=True)
            rw_s = time.perf_counter() - start

            print(f"{COUNT} CT images of ~40 KB")
            print(f"reference copyfile:           {_rate(copy_s):8.0f} images/s")
            print(f"reference pydicom read+write: {_rate(rw_s):8.0f} images/s")
            for fmt in ("files", "zip", "dicomdir"):
                for deid in (None, DeidentifyOptions()):
                    out = tmp / f"out-{fmt}-{deid is not None}"
                    start = time.perf_counter()
                    summary = export_selection(
                        core, selection, ExportOptions(out, format=fmt, deidentify=deid)
                    )  # type: ignore[arg-type]
                    seconds = time.perf_counter() - start
                    assert summary.exported == COUNT
                    reference = rw_s if deid is not None else copy_s
                    label = f"export {fmt}{' de-identified' if deid else ''}:"
                    print(
                        f"{label:30}{_rate(seconds):8.0f} images/s"
                        f"  ({reference / seconds:.2f}x the {'read+write' if deid else 'copy'}"
                        " reference)"
                    )
