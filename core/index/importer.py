"""Import files, folders (recursive), zip archives and DICOMDIR media into the store.

Every file is copied into the store, so the source (a USB stick) can go away afterwards.
Each source file ends up imported, counted as a duplicate, or rejected with a reason.

The media may be broken or hostile (README, "Command line": hostile or broken media):

- Only regular files are opened, without blocking (a FIFO would wait for a writer forever, a
  device never ends), and a file swapped for a FIFO after the check is refused by ``fstat``.
- Symbolic links are not followed out of the chosen folder (nor out of a DICOMDIR's folder);
  each such link is rejected with that reason, and so is a folder that cannot be listed.
- A file or zip member holds at most ``MAX_FILE_BYTES``, a DICOMDIR at most
  ``MAX_DICOMDIR_BYTES``. A file or member is never held in memory whole: it is copied into
  the store in chunks (a spooled ``.part`` file) and only the copy's header is parsed.
  A zip's members may announce at most ``ZIP_MAX_TOTAL_BYTES`` in all, and a member over
  ``ZIP_RATIO_FROM_BYTES`` may not expand more than ``ZIP_MAX_RATIO`` times (a zip bomb).
  Smaller members have no ratio limit: a blank image deflates about 1000:1 and is
  legitimate, and the total bounds what they can add up to.
- Sizes in a zip's headers can lie. Reading stops at the size the header announces, which
  passed the limits: a member that expands further is rejected (as ``zipfile`` does for stored
  and deflated members, whose decompression it already bounds per read). bzip2 and LZMA
  members are decompressed here with a bound on each step's output, because ``zipfile`` lets
  one read of 1 MiB of bzip2 expand to hundreds of gigabytes before it truncates.
- Whatever one file raises, it is rejected with a reason and the import goes on.

The limits are module constants, read when used (tests lower them).
"""

from __future__ import annotations

import bz2
import errno
import logging
import lzma
import os
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO, Protocol

from pydicom import dcmread
from pydicom.sequence import Sequence as DicomSequence
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance
from core.dicom.header import InstanceHeader, parse_instance_file, write_part10
from core.errors import RejectedFile, StoreError, StoreFullError
from core.index.intake import Intake
from core.index.writer import IngestItem, Outcome
from core.store.files import FileStore

log = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
DICOMDIR_NAME = "DICOMDIR"
BATCH_BYTES = 64 << 20  # flush a batch early when its files hold this much
DICOM_SUFFIXES = {".dcm", ".dicom", ".dic", ".ima"}
# Limits on what media may make us read (see the module docstring and README).
MAX_FILE_BYTES = 1 << 30  # one file or zip member
MAX_DICOMDIR_BYTES = 128 << 20  # a DICOMDIR (about 5 MB per 10,000 images)
ZIP_MAX_TOTAL_BYTES = 8 << 30  # every member of one zip, as announced
ZIP_MAX_RATIO = 200  # expanded / compressed, for members over ZIP_RATIO_FROM_BYTES
ZIP_RATIO_FROM_BYTES = 64 << 20
READ_CHUNK = 1 << 20  # what one read asks for (and the most one decompression step yields)
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
NOT_REGULAR = "not a regular file (a pipe, device or socket; not read)"
LINK_OUTSIDE = "a symbolic link leading outside the chosen folder (not followed)"
# The local file header (PKWARE APPNOTE 4.3.7): its fixed part, then the name and extra field.
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_ENCRYPTED = 0x1  # general purpose bit 0 (APPNOTE 4.4.4)


@dataclass(frozen=True)
class Source:
    """One file to import: a path on disk, or a member of a zip archive."""

    display: str
    path: Path
    member: str | None = None
    root: Path | None = None  # the chosen folder (resolved) the file must stay under
    index: int | None = None  # the member's place in the archive (names can repeat)

    def copy_to(self, out: _Spool) -> int:
        """Copy the file's bytes to ``out`` in chunks; how many. RejectedFile past a limit."""
        if self.member is None:
            return copy_regular(self.path, self.root, MAX_FILE_BYTES, out)
        with open_regular(self.path, self.root) as fh, zipfile.ZipFile(fh) as archive:
            if self.index is None:
                info = archive.getinfo(self.member)
            else:
                info = archive.infolist()[self.index]
            reason = _member_over_limit(info)  # the archive may have changed since it was listed
            if reason is not None:
                raise RejectedFile(reason)
            return _copy_member(archive, fh, info, out)


class _Cancelled(Exception):
    """The import was cancelled while a file was being copied."""


class _Spool:
    """Where one source's bytes go (a spooled file in the store's ``incoming/``): a failed
    write is the store's error (a full disk stops the import), not the source's, and a
    cancel stops the copy between two chunks."""

    def __init__(self, fh: IO[bytes], cancel: threading.Event | None) -> None:
        self._fh = fh
        self._cancel = cancel

    def write(self, data: bytes) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise _Cancelled
        try:
            self._fh.write(data)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFullError("the disk holding the store is full") from exc
            raise StoreError(f"cannot write to the store: {exc.strerror}") from exc


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _read_capped(fh: IO[bytes], limit: int, reason: str) -> bytes:
    """Read ``fh`` to its end, but never more than ``limit`` bytes (sizes announced can lie)."""
    out = BytesIO()
    _copy_capped(fh, out, limit, reason)
    return out.getvalue()


def _copy_capped(fh: IO[bytes], out: _Spool | BytesIO, limit: int, reason: str) -> int:
    """Copy ``fh`` to its end, but never more than ``limit`` bytes; how many."""
    size = 0
    while chunk := fh.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise RejectedFile(reason)
        out.write(chunk)
    return size


def unsafe_reason(path: Path, root: Path | None) -> str | None:
    """Why ``path`` must not be read: it leads outside ``root`` (resolved), it is not a
    regular file, or it cannot be reached. None when it may be opened."""
    try:
        resolved = path.resolve(strict=True)
        if root is not None and not resolved.is_relative_to(root):
            return LINK_OUTSIDE
        mode = os.stat(resolved).st_mode
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of links
        return f"cannot read: {_describe(exc)}"
    if not stat.S_ISREG(mode):
        return NOT_REGULAR
    return None


def open_regular(path: Path, root: Path | None) -> IO[bytes]:
    """Open a regular file under ``root`` (resolved) for reading, or raise RejectedFile.

    Opened without blocking and checked again on the descriptor, so that a file swapped for a
    FIFO (or a link) after the check can neither hang the import nor lead elsewhere."""
    reason = unsafe_reason(path, root)
    if reason is not None:
        raise RejectedFile(reason)
    fd = os.open(path.resolve(), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RejectedFile(NOT_REGULAR)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, root: Path | None, limit: int) -> bytes:
    """The bytes of a regular file under ``root``, rejected if it holds more than ``limit``."""
    out = BytesIO()
    copy_regular(path, root, limit, out)
    return out.getvalue()


def copy_regular(path: Path, root: Path | None, limit: int, out: _Spool | BytesIO) -> int:
    """Copy a regular file under ``root`` to ``out``, rejected if it holds more than
    ``limit``; how many bytes."""
    reason = f"larger than {limit} bytes (the per-file limit)"
    with open_regular(path, root) as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise RejectedFile(reason)
        return _copy_capped(fh, out, limit, reason)  # a file may grow while it is read


# -- zip members ----------------------------------------------------------------------------------
def _member_over_limit(info: zipfile.ZipInfo) -> str | None:
    """Why a member's announced sizes alone reject it (the per-file limit, a bomb's ratio)."""
    if info.file_size > MAX_FILE_BYTES:
        return f"zip member larger than {MAX_FILE_BYTES} bytes (the per-file limit)"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > ZIP_RATIO_FROM_BYTES and ratio > ZIP_MAX_RATIO:
        return (
            f"zip member expands {ratio:.0f} times to {info.file_size} bytes"
            f" (more than {ZIP_MAX_RATIO} times, over {ZIP_RATIO_FROM_BYTES} bytes: a zip bomb)"
        )
    return None


def _zip_members(path: Path, root: Path | None, problems: list[tuple[str, str]]) -> list[Source]:
    """A zip's members, less those whose announced sizes break a limit (rejected with why)."""
    members: list[Source] = []
    total = 0
    with open_regular(path, root) as fh, zipfile.ZipFile(fh) as archive:
        for index, info in enumerate(archive.infolist()):
            name = Path(info.filename).name.upper()
            display = f"{path}!{info.filename}"
            # a folder (info.is_dir() raises IndexError for an empty name)
            if info.filename.endswith("/") or name == DICOMDIR_NAME:
                continue
            total += info.file_size
            reason = _member_over_limit(info)
            if reason is None and total > ZIP_MAX_TOTAL_BYTES:
                reason = f"the zip expands to more than {ZIP_MAX_TOTAL_BYTES} bytes in all"
            if reason is None:
                members.append(Source(display, path, info.filename, root, index))
            else:
                problems.append((display, reason))
    return members


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZipLZMA:
    """LZMA as zip stores it (APPNOTE 5.8.8): a version, the size of the properties, the
    properties, then raw LZMA1 data; decompressed with a bound on each step's output."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._head = b""
        self._inner: lzma.LZMADecompressor | None = None

    @property
    def eof(self) -> bool:
        return self._inner is not None and self._inner.eof

    @property
    def needs_input(self) -> bool:
        return self._inner is None or self._inner.needs_input

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._inner is None:
            self._head += data
            if len(self._head) < 4:
                return b""
            (size,) = struct.unpack_from("<H", self._head, 2)
            if len(self._head) < 4 + size:
                return b""
            props, data = self._head[4 : 4 + size], self._head[4 + size :]
            if size != 5 or props[0] >= 9 * 5 * 5:
                raise lzma.LZMAError("invalid LZMA properties in a zip member")
            lc, rest = props[0] % 9, props[0] // 9
            dictionary = int.from_bytes(props[1:5], "little")
            lzma1 = {
                "id": lzma.FILTER_LZMA1,
                "lc": lc,
                "lp": rest % 5,
                "pb": rest // 5,
                # a dictionary larger than what may come out is never used (and not allocated)
                "dict_size": max(4096, min(dictionary, self._limit + 1)),
            }
            self._inner = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
        return self._inner.decompress(data, max_length)


def _raw_member(fh: IO[bytes], info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The compressed bytes of a member, read from behind its local header in chunks."""
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != ZIP_MAGIC:
        raise zipfile.BadZipFile("bad local file header")
    _magic, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    left = info.compress_size
    while left > 0:
        chunk = fh.read(min(left, READ_CHUNK))
        if not chunk:
            raise EOFError("the compressed data ends before its announced size")
        left -= len(chunk)
        yield chunk


def _copy_bounded(
    fh: IO[bytes], info: zipfile.ZipInfo, decompressor: _Decompressor, out: _Spool
) -> int:
    """Decompress a member to ``out``, never producing more than one byte past its announced
    size; how many bytes."""
    limit = info.file_size
    lying = f"zip member expands beyond the {limit} bytes its header announces"
    size = 0
    crc = 0
    for compressed in _raw_member(fh, info):
        data = compressed
        while not decompressor.eof:  # each step yields at most READ_CHUNK bytes
            piece = decompressor.decompress(data, min(READ_CHUNK, limit - size + 1))
            data = b""
            size += len(piece)
            if size > limit:
                raise RejectedFile(lying)
            crc = zlib.crc32(piece, crc)
            out.write(piece)
            if decompressor.needs_input:
                break
        if decompressor.eof:
            break
    if size != limit:
        raise RejectedFile(f"zip member holds {size} bytes, its header announces {limit}")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return size


def _copy_member(
    archive: zipfile.ZipFile, fh: IO[bytes], info: zipfile.ZipInfo, out: _Spool
) -> int:
    """Copy one member's bytes to ``out``: at most its announced size (which passed the
    per-file limit)."""
    if info.compress_type in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        if info.flag_bits & _ENCRYPTED:
            raise RejectedFile("encrypted zip member (not read)")
        if info.compress_type == zipfile.ZIP_BZIP2:
            return _copy_bounded(fh, info, bz2.BZ2Decompressor(), out)
        return _copy_bounded(fh, info, _ZipLZMA(info.file_size), out)
    # Stored and deflated: zipfile yields at most the announced size, one bounded step a read,
    # and checks the CRC at the end.
    with archive.open(info) as member:
        lying = f"zip member expands beyond the {info.file_size} bytes its header announces"
        return _copy_capped(member, out, info.file_size, lying)


@dataclass(frozen=True)
class MemorySource:
    """An encoded dataset made in memory (demo data, tests)."""

    display: str
    data: bytes

    def copy_to(self, out: _Spool) -> int:
        out.write(self.data)
        return len(self.data)


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


def _is_zip(path: Path, root: Path | None) -> bool:
    try:
        with open_regular(path, root) as fh:
            return fh.read(4) == ZIP_MAGIC
    except (OSError, RejectedFile):  # reading it as a file will say why
        return False


def _dicomdir_references(dicomdir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files referenced by a DICOMDIR, resolved case-insensitively (ISO 9660 media)."""
    try:
        data = read_regular(dicomdir, None, MAX_DICOMDIR_BYTES)
        ds = dcmread(BytesIO(data), force=True)
        records = ds.DirectoryRecordSequence
        if not isinstance(records, DicomSequence):  # e.g. an empty value, or not an SQ
            raise ValueError("its Directory Record Sequence is not a sequence")
    except RejectedFile as exc:
        return [], [(str(dicomdir), f"unreadable DICOMDIR: {exc.reason}")]
    except Exception as exc:
        return [], [(str(dicomdir), f"unreadable DICOMDIR: {_describe(exc)}")]
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
            missing.append((str(dicomdir), f"unreadable DICOMDIR record: {_describe(exc)}"))
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
    """The path a record names, matched case-insensitively; None if there is none. Nothing is
    opened here: what the path is (a link out of the media, a FIFO) is checked before reading."""
    current = root
    for part in parts:
        if part in ("..", ".", "") or "/" in part:
            return None  # a DICOMDIR must not point outside its media
        exact = current / part
        if os.path.lexists(exact):
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
    return None if current.is_dir() else current


def collect_sources(
    paths: list[Path], cancel: threading.Event | None = None
) -> tuple[list[Source], list[tuple[str, str]]]:
    """Expand files, folders, zips and DICOMDIRs into a de-duplicated list of sources.

    A folder's files and a DICOMDIR's records must stay under that folder (links are not
    followed out of it); a file named on its own is read wherever it is. Setting ``cancel``
    stops the walk (what was found so far is returned)."""
    sources: list[Source] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add_file(path: Path, root: Path | None) -> None:
        reason = unsafe_reason(path, root)
        if reason is not None:
            problems.append((str(path), reason))
            return
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if path.name.upper() == DICOMDIR_NAME:
            return  # an index of the media; its files are walked anyway
        if path.suffix.lower() not in DICOM_SUFFIXES and _is_zip(path, root):
            try:
                sources.extend(_zip_members(path, root, problems))
            except RejectedFile as exc:
                problems.append((str(path), exc.reason))
            except ZIP_ERRORS as exc:
                problems.append((str(path), f"unreadable zip archive: {_describe(exc)}"))
            except Exception as exc:  # one archive never aborts the import
                _unexpected("listing", str(path), exc)
                problems.append((str(path), f"unreadable zip archive: {_describe(exc)}"))
            return
        sources.append(Source(str(path), path, root=root))

    for given in paths:
        if cancel is not None and cancel.is_set():
            break
        path = Path(given).expanduser()
        if not os.path.lexists(path):
            problems.append((str(path), "no such file or folder"))
        elif path.is_dir():
            _walk(path, add_file, problems, cancel)
        elif path.name.upper() == DICOMDIR_NAME:
            refs, missing = _dicomdir_references(path)
            problems.extend(missing)
            root = path.parent.resolve()
            for ref in refs:
                add_file(ref, root)
        else:
            add_file(path, None)
    return sources, problems


def _walk(
    folder: Path,
    add_file: Callable[[Path, Path | None], None],
    problems: list[tuple[str, str]],
    cancel: threading.Event | None,
) -> None:
    """Every file under ``folder``; links to folders are not walked (one leading outside is a
    rejection), and a folder that cannot be listed is one too."""
    root = folder.resolve()

    def unlistable(exc: OSError) -> None:
        problems.append((str(exc.filename), f"cannot read folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlistable):
        if cancel is not None and cancel.is_set():
            return
        dirnames.sort()
        for name in dirnames:
            linked = Path(dirpath) / name
            if linked.is_symlink() and unsafe_reason(linked, root) == LINK_OUTSIDE:
                problems.append((str(linked), LINK_OUTSIDE))
        for name in sorted(filenames):
            add_file(Path(dirpath) / name, root)


@dataclass(frozen=True)
class _Spooled:
    """A source copied into the store's ``incoming/`` as a spooled (``.part``) file, parsed."""

    display: str
    header: InstanceHeader
    part: Path
    size: int


def _spool_and_parse(
    source: Source | MemorySource, store: FileStore, cancel: threading.Event | None
) -> _Spooled | str:
    """Copy a source into the store in chunks and parse the copy's header (memory stays
    bounded by a chunk and a header, whatever the file's size); or why it is rejected:
    whatever one file raises, the import goes on. Failures other than the documented refusals
    are logged (type only; the file's name may be a patient's, so it is logged at DEBUG).

    A full disk (StoreFullError) and a cancel (_Cancelled) stop the import: they are raised."""
    part, fh = store.open_spool()
    step = "reading"
    try:
        with fh:
            size = source.copy_to(_Spool(fh, cancel))
        step = "parsing"
        parsed = parse_instance_file(part)
        if not parsed.part10:  # store it with a complete file meta header
            part = _rewritten(store, part, parsed.header, cancel)
            size = part.stat().st_size
        return _Spooled(source.display, parsed.header, part, size)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, StoreFullError | _Cancelled) or not isinstance(exc, Exception):
            raise
        return _rejection(step, source.display, exc)


def _rewritten(
    store: FileStore, part: Path, header: InstanceHeader, cancel: threading.Event | None
) -> Path:
    """``part`` written again as a Part 10 file (its data set bytes unchanged); the old part
    is removed. What is stored must read back as this instance."""
    new, fh = store.open_spool()
    try:
        with fh:
            write_part10(part, header, _Spool(fh, cancel))
        try:
            again = parse_instance_file(new)
        except RejectedFile as exc:
            raise RejectedFile(f"unreadable DICOM file: re-encoded, {exc.reason}") from exc
        if not again.part10 or again.header.sop_uid != header.sop_uid:
            raise RejectedFile("unreadable DICOM file: its data set cannot be read whole")
    except BaseException:
        new.unlink(missing_ok=True)
        raise
    finally:
        part.unlink(missing_ok=True)
    return new


def _rejection(step: str, display: str, exc: Exception) -> str:
    """Why a source is rejected, for what reading or parsing it raised."""
    if isinstance(exc, RejectedFile):
        return exc.reason
    if isinstance(exc, StoreError):  # the store could not take it (not the source's fault)
        return str(exc)
    what = "cannot read" if step == "reading" else "unreadable DICOM file"
    if step == "reading" and isinstance(exc, ZIP_ERRORS) and not isinstance(exc, MemoryError):
        return f"{what}: {_describe(exc)}"
    _unexpected(step, display, exc)
    if isinstance(exc, MemoryError):
        return f"{what}: out of memory"
    return f"{what}: {_describe(exc)}"


def _unexpected(step: str, display: str, exc: Exception) -> None:
    """Log a failure that is not a documented refusal (the fuzz targets make it raise)."""
    log.warning("import: unexpected %s while %s a file; it is rejected", type(exc).__name__, step)
    log.debug("import: %s %r failed", step, display, exc_info=exc)


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
        sources, problems = collect_sources(paths, cancel)
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
        pending: list[_Spooled] = []
        done = len(problems)
        try:
            for source in sources:
                if cancel is not None and cancel.is_set():
                    summary.cancelled = True
                    break
                try:
                    outcome = _spool_and_parse(source, self.writer.store, cancel)
                except _Cancelled:
                    summary.cancelled = True
                    break
                except StoreFullError as exc:
                    summary.stopped = str(exc)
                    summary.rejected.append((source.display, str(exc)))
                    break
                if isinstance(outcome, str):
                    summary.rejected.append((source.display, outcome))
                else:
                    pending.append(outcome)
                done += 1
                full = (
                    len(pending) >= self.batch_size
                    or sum(item.size for item in pending) > BATCH_BYTES
                )
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
        finally:
            for item in pending:  # what a full store or an error left unindexed
                item.part.unlink(missing_ok=True)
        return summary

    def _flush(self, pending: list[_Spooled], summary: ImportSummary, source_name: str) -> bool:
        """Give a batch of spooled files their incoming names, make them durable, index them.
        False if the store is full."""
        if not pending:
            return True
        known = self._known([item.header.sop_uid for item in pending])
        items: list[IngestItem] = []
        ok = True
        store = self.writer.store
        while pending:
            item = pending.pop(0)
            if item.header.sop_uid in known:
                summary.duplicates += 1
                item.part.unlink(missing_ok=True)
                continue
            try:
                incoming = store.keep_spooled(item.part, item.size)
            except StoreFullError as exc:
                summary.stopped = str(exc)
                summary.rejected.append((item.display, str(exc)))
                ok = False
                break
            except StoreError as exc:
                summary.rejected.append((item.display, str(exc)))
                continue
            items.append(
                IngestItem(
                    incoming,
                    item.header,
                    item.size,
                    source=source_name,
                    source_detail=item.display,
                )
            )
        if items:
            store.sync()
            for outcome in self.intake.write(items):
                if outcome in (Outcome.STORED, Outcome.REPLACED):
                    summary.imported += 1
                else:
                    summary.duplicates += 1
        return ok

    def _known(self, sop_uids: list[str]) -> set[str]:
        """SOP Instance UIDs already indexed with their file in the store (skipped without
        copying when duplicates are kept; one whose file is gone is imported to restore it)."""
        if self.writer.duplicate_policy != "keep":
            return set()
        with self.sessions() as session:
            rows = session.execute(
                select(Instance.sop_uid, Instance.file_path).where(Instance.sop_uid.in_(sop_uids))
            )
            store = self.writer.store
            return {uid for uid, path in rows if store.absolute(path).is_file()}
