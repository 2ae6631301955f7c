"""Import files, folders (recursive), zip archives and DICOMDIR media into the store.

Every file is copied into the store, so the source (a USB stick) can go away afterwards.
Each source file ends up imported, counted as a duplicate, or rejected with a reason.
"""

from __future__ import annotations

import logging
import lzma
import os
import threading
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.sequence import Sequence as DicomSequence
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance
from core.dicom.header import ParsedInstance, parse_instance
from core.errors import RejectedFile, StoreError, StoreFullError
from core.index.intake import Intake
from core.index.writer import IngestItem, Outcome

log = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
DICOMDIR_NAME = "DICOMDIR"
BATCH_BYTES = 64 << 20  # flush a batch early when its files hold this much
DICOM_SUFFIXES = {".dcm", ".dicom", ".dic", ".ima"}
# What zipfile raises for a damaged or hostile archive besides BadZipFile (found by fuzzing,
# tests/fuzz): a corrupt or truncated compressed stream (zlib.error, EOFError, LZMAError,
# bz2's OSError), an unsupported version, method or encryption (NotImplementedError and
# RuntimeError), a member name that is not UTF-8 (UnicodeDecodeError, a ValueError).
ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
)


@dataclass(frozen=True)
class Source:
    """One file to import: a path on disk, or a member of a zip archive."""

    display: str
    path: Path
    member: str | None = None

    def read(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(self.member)


@dataclass(frozen=True)
class MemorySource:
    """An encoded dataset made in memory (demo data, tests)."""

    display: str
    data: bytes

    def read(self) -> bytes:
        return self.data


@dataclass
class ImportSummary:
    imported: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0
    cancelled: bool = False
    stopped: str = ""  # why the import stopped early (store full), else empty

    def as_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": [{"path": p, "reason": r} for p, r in self.rejected],
        }
        if self.cancelled:
            result["cancelled"] = True
        if self.stopped:
            result["stopped"] = self.stopped
        return result


@dataclass(frozen=True)
class ImportProgress:
    done: int
    total: int
    imported: int
    duplicates: int
    rejected: int
    current: str


ProgressCallback = Callable[[ImportProgress], None]


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError:
        return False


def _dicomdir_references(dicomdir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files referenced by a DICOMDIR, resolved case-insensitively (ISO 9660 media)."""
    try:
        ds = dcmread(dicomdir, force=True)
        records = ds.DirectoryRecordSequence
        if not isinstance(records, DicomSequence):  # e.g. an empty value, or not an SQ
            raise ValueError("its Directory Record Sequence is not a sequence")
    except Exception as exc:
        return [], [(str(dicomdir), f"unreadable DICOMDIR: {exc}")]
    root = dicomdir.parent
    found: list[Path] = []
    missing: list[tuple[str, str]] = []
    for record in records:
        try:  # pydicom decodes each value when it is first read
            file_id = record.get("ReferencedFileID")
            if not file_id:
                continue
            parts = [file_id] if isinstance(file_id, str) else list(file_id)
        except Exception as exc:
            missing.append((str(dicomdir), f"unreadable DICOMDIR record: {exc}"))
            continue
        candidate = _resolve_case_insensitive(root, [str(p) for p in parts])
        if candidate is None:
            missing.append(
                (str(root.joinpath(*map(str, parts))), "referenced by DICOMDIR but missing")
            )
        else:
            found.append(candidate)
    return found, missing


def _resolve_case_insensitive(root: Path, parts: list[str]) -> Path | None:
    current = root
    for part in parts:
        if part in ("..", ".", "") or "/" in part:
            return None  # a DICOMDIR must not point outside its media
        exact = current / part
        if exact.exists():
            current = exact
            continue
        try:
            match = next(
                (c for c in current.iterdir() if c.name.upper().rstrip(".") == part.upper()), None
            )
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current if current.is_file() else None


def collect_sources(paths: list[Path]) -> tuple[list[Source], list[tuple[str, str]]]:
    """Expand files, folders, zips and DICOMDIRs into a de-duplicated list of sources."""
    sources: list[Source] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add_file(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if path.name.upper() == DICOMDIR_NAME:
            return  # an index of the media; its files are walked anyway
        if path.suffix.lower() not in DICOM_SUFFIXES and _is_zip(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    for info in archive.infolist():
                        name = Path(info.filename).name.upper()
                        # a folder (info.is_dir() raises IndexError for an empty name)
                        if info.filename.endswith("/") or name == DICOMDIR_NAME:
                            continue
                        sources.append(Source(f"{path}!{info.filename}", path, info.filename))
            except ZIP_ERRORS as exc:
                problems.append((str(path), f"unreadable zip archive: {exc}"))
            return
        sources.append(Source(str(path), path))

    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            problems.append((str(path), "no such file or folder"))
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    add_file(Path(dirpath) / name)
        elif path.name.upper() == DICOMDIR_NAME:
            refs, missing = _dicomdir_references(path)
            problems.extend(missing)
            for ref in refs:
                add_file(ref)
        else:
            add_file(path)
    return sources, problems


class Importer:
    """Copies sources into the store through the index writer, in batches."""

    def __init__(
        self, intake: Intake, sessions: sessionmaker[Session], batch_size: int = 200
    ) -> None:
        """Batches go to the index through ``intake`` (the one writer thread)."""
        self.intake = intake
        self.writer = intake.writer
        self.sessions = sessions
        self.batch_size = batch_size

    def run(
        self,
        paths: list[Path],
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        source_name: str = "import",
    ) -> ImportSummary:
        sources, problems = collect_sources(paths)
        return self.run_sources(sources, problems, progress, cancel, source_name)

    def run_sources(
        self,
        sources: Sequence[Source | MemorySource],
        problems: list[tuple[str, str]] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        source_name: str = "import",
    ) -> ImportSummary:
        """Import already collected sources (files, zip members or in-memory datasets)."""
        problems = problems or []
        summary = ImportSummary(total=len(sources) + len(problems))
        summary.rejected.extend(problems)
        pending: list[tuple[str, ParsedInstance, bytes]] = []
        done = len(problems)
        for source in sources:
            if cancel is not None and cancel.is_set():
                summary.cancelled = True
                break
            try:
                data = source.read()
            except ZIP_ERRORS as exc:
                summary.rejected.append((source.display, f"cannot read: {exc}"))
            else:
                try:
                    pending.append((source.display, parse_instance(data), data))
                except RejectedFile as exc:
                    summary.rejected.append((source.display, exc.reason))
            done += 1
            full = len(pending) >= self.batch_size or sum(len(d) for *_, d in pending) > BATCH_BYTES
            if full and not self._flush(pending, summary, source_name):
                break
            if progress is not None:
                progress(
                    ImportProgress(
                        done,
                        summary.total,
                        summary.imported,
                        summary.duplicates,
                        len(summary.rejected),
                        source.display,
                    )
                )
        self._flush(pending, summary, source_name)
        return summary

    def _flush(
        self,
        pending: list[tuple[str, ParsedInstance, bytes]],
        summary: ImportSummary,
        source_name: str,
    ) -> bool:
        """Copy a batch into incoming/, make it durable, index it. False if the store is full."""
        if not pending:
            return True
        known = self._known([parsed.header.sop_uid for _, parsed, _ in pending])
        items: list[IngestItem] = []
        ok = True
        for display, parsed, data in pending:
            if parsed.header.sop_uid in known:
                summary.duplicates += 1
                continue
            payload = parsed.rewritten if parsed.rewritten is not None else data
            try:
                incoming = self.writer.store.write_incoming(payload, len(payload), durable=False)
            except StoreFullError as exc:
                summary.stopped = str(exc)
                summary.rejected.append((display, str(exc)))
                ok = False
                break
            except StoreError as exc:
                summary.rejected.append((display, str(exc)))
                continue
            items.append(
                IngestItem(
                    incoming, parsed.header, len(payload), source=source_name, source_detail=display
                )
            )
        pending.clear()
        if items:
            self.writer.store.sync()
            for outcome in self.intake.write(items):
                if outcome in (Outcome.STORED, Outcome.REPLACED):
                    summary.imported += 1
                else:
                    summary.duplicates += 1
        return ok

    def _known(self, sop_uids: list[str]) -> set[str]:
        """SOP Instance UIDs already indexed (skipped without copying when duplicates are kept)."""
        if self.writer.duplicate_policy != "keep":
            return set()
        with self.sessions() as session:
            return set(
                session.scalars(select(Instance.sop_uid).where(Instance.sop_uid.in_(sop_uids)))
            )
