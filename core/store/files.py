"""The file store: one Part 10 file per instance, named from validated UIDs.

Ingest is two-phase so that an acknowledged image survives a crash at any moment:

1. ``write_incoming`` writes the bytes to ``incoming/<random>.part``, fsyncs and renames to
   ``incoming/<random>.dcm``. From here on the image is durable; a receiver may acknowledge it.
2. The index writer ``place``s the file at its final path (a hard link, so the incoming name
   stays valid), commits the index row, then ``discard``s the incoming name.

On start, everything still in ``incoming/`` is indexed again (``pending``); ``.part`` files are
half-written by definition and removed. Several processes may share a store (the kiosk, and
``dicom-kiosk import`` run beside it): each names its incoming files ``p<pid>-<random>`` and
holds an ``flock`` on the store's ``.owners/p<pid>.lock`` while it lives, so a process that
starts leaves the files of a live one alone (half-written, or about to be indexed by their
owner) and takes over only those of a process that is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from core.errors import InvalidUIDError, StoreError, StoreFullError

if TYPE_CHECKING:
    from core.store.journal import IntakeJournal, JournalRecord

log = logging.getLogger(__name__)

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME, use_errno=True) if _LIBC_NAME else None
if _LIBC is not None and not hasattr(_LIBC, "syncfs"):
    _LIBC = None

UID_RE = re.compile(r"^[0-9.]{1,64}$")
_COPY_CHUNK = 1 << 20
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL
_OWNED = re.compile(r"^p(\d+)-")
_owner_locks: dict[tuple[Path, int], int] = {}  # (incoming folder, pid) -> the held lock's fd
_owner_guard = threading.Lock()


def validate_uid(uid: str, what: str = "UID") -> str:
    """Return ``uid`` if it is a syntactically valid DICOM UID usable as a file name."""
    if not UID_RE.match(uid) or uid.startswith(".") or uid.endswith(".") or ".." in uid:
        shown = uid if len(uid) <= 80 else uid[:77] + "..."
        raise InvalidUIDError(f"{what} {shown!r} is not a valid DICOM UID")
    return uid


class FileStore:
    """Owns the store directory; thread-safe for concurrent ``write_incoming`` calls."""

    def __init__(self, root: Path, *, fsync: bool = True, max_bytes: int = 0) -> None:
        self.root = root
        self.incoming_dir = root / "incoming"
        self.owners_dir = root / ".owners"  # who wrote incoming files (pending())
        self.fsync = fsync
        self.max_bytes = max_bytes
        self._used = 0
        self._lock = threading.Lock()
        self._dirs: set[Path] = set()
        self._unsettled_discards = 0  # incoming names dropped since the last directory fsync
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        # The receiving node attaches its intake journal (core.store.journal) while it runs.
        self.journal: IntakeJournal | None = None

    # -- capacity -------------------------------------------------------------------------
    @property
    def used_bytes(self) -> int:
        return self._used

    def set_used_bytes(self, used: int) -> None:
        with self._lock:
            self._used = used

    def _reserve(self, size: int) -> None:
        with self._lock:
            if self.max_bytes and self._used + size > self.max_bytes:
                raise StoreFullError(
                    f"the store limit of {self.max_bytes} bytes would be exceeded"
                    f" ({self._used} used, {size} more)"
                )
            self._used += size

    def release(self, size: int) -> None:
        with self._lock:
            self._used = max(0, self._used - size)

    # -- phase 1: durable incoming file ----------------------------------------------------
    def write_incoming(
        self,
        chunks: bytes | bytearray | Iterable[bytes],
        size: int,
        *,
        durable: bool = True,
        reserve: bool = True,
    ) -> Path:
        """Write one file to ``incoming/``; return its path.

        With ``durable`` (and the fsync setting on) the file is fsynced before it gets its
        final incoming name. Batch writers pass ``durable=False`` and call ``sync()`` once for
        the whole batch before committing it. Raises StoreFullError when the configured limit
        or the disk is exhausted; nothing partial is left behind in that case.
        """
        if reserve:
            self._reserve(size)
        name = self._new_name()
        part = self.incoming_dir / f"{name}.part"
        final = self.incoming_dir / f"{name}.dcm"
        try:
            with open(part, "wb") as fh:
                if isinstance(chunks, bytes | bytearray | memoryview):
                    fh.write(chunks)
                else:
                    for chunk in chunks:
                        fh.write(chunk)
                if self.fsync and durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(part, final)
            if self.fsync and durable:  # the new name itself must survive a power loss
                self._sync_directory(self.incoming_dir)
        except OSError as exc:
            self.release(size)
            part.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFullError(f"the disk holding {self.root} is full") from exc
            raise StoreError(f"cannot write to {self.incoming_dir}: {exc.strerror}") from exc
        return final

    def journal_received(self, data: bytes | bytearray) -> JournalRecord | None:
        """Keep one received file in the intake journal (core.store.journal); None when there is
        no journal (or the file is too large for it): use ``write_incoming`` then.

        On success the file's size is reserved. The index writer then writes the file at its
        final path (``place_bytes``), or ``write_journaled`` writes it to ``incoming/``
        without a sync; the writer hands the record back to the journal's ``committed`` once
        the image is indexed.
        """
        journal = self.journal
        if journal is None or len(data) > journal.max_record:
            return None
        self._reserve(len(data))
        try:
            record = journal.append(data)
        except OSError as exc:
            self.release(len(data))
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFullError(f"the disk holding {self.root} is full") from exc
            raise StoreError(f"cannot write the intake journal: {exc.strerror}") from exc
        if record is None:
            self.release(len(data))
        return record

    def write_journaled(self, data: bytes | bytearray) -> Path:
        """The incoming file of an image already durable in the journal (size reserved)."""
        return self.write_incoming(data, len(data), durable=False, reserve=False)

    def write_recovered(self, seq: int, data: bytes) -> Path:
        """Put a file recovered from the intake journal into ``incoming/`` (not synced).

        Named by its journal sequence number, so that recovery indexes in arrival order.
        """
        final = self.incoming_dir / f"j{seq:016d}.dcm"
        part = final.with_suffix(".part")
        part.write_bytes(data)
        os.replace(part, final)
        return final

    @staticmethod
    def _sync_directory(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def sync(self, *, force: bool = False) -> None:
        """Make every file written so far durable: one syncfs(2) for a whole batch.

        Does nothing with the fsync setting off, unless ``force``d (the intake journal's
        checkpoint: its records may only go once the files they stand for are on disk).
        """
        if not self.fsync and not force:
            return
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _LIBC is None or _LIBC.syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def open_spool(self) -> tuple[Path, BinaryIO]:
        """A new ``incoming/<random>.part`` file for a data set written as it arrives.

        Until ``commit_spool`` it is half-written: removed by ``pending`` at the next start,
        never indexed."""
        part = self.incoming_dir / f"{self._new_name()}.part"
        try:
            return part, open(part, "wb")  # noqa: SIM115 - closed by commit_spool/discard
        except OSError as exc:
            raise self._incoming_error(exc) from exc

    def keep_spooled(self, part: Path, size: int) -> Path:
        """Give a closed, complete spooled file its incoming name, without a sync: a batch
        calls ``sync`` once before it indexes (an import's). StoreFullError when the limit
        would be exceeded (the file is removed)."""
        try:
            self._reserve(size)
        except StoreFullError:
            part.unlink(missing_ok=True)
            raise
        final = part.with_suffix(".dcm")
        try:
            os.replace(part, final)
        except OSError as exc:
            self.release(size)
            part.unlink(missing_ok=True)
            raise self._incoming_error(exc) from exc
        return final

    def commit_spool(self, part: Path, fh: BinaryIO, size: int) -> Path:
        """Make a spooled file durable (fsync setting) and give it its incoming name."""
        try:
            self._reserve(size)
        except StoreFullError:
            fh.close()
            part.unlink(missing_ok=True)
            raise
        final = part.with_suffix(".dcm")
        try:
            with fh:
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            os.replace(part, final)
            if self.fsync:
                self._sync_directory(self.incoming_dir)
        except OSError as exc:
            self.release(size)
            part.unlink(missing_ok=True)
            raise self._incoming_error(exc) from exc
        return final

    def _incoming_error(self, exc: OSError) -> StoreError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFullError(f"the disk holding {self.root} is full")
        return StoreError(f"cannot write to {self.incoming_dir}: {exc.strerror}")

    def write_incoming_from(self, source: BinaryIO, size: int) -> Path:
        """Stream a (large) file object into ``incoming/``."""
        return self.write_incoming(iter(lambda: source.read(_COPY_CHUNK), b""), size)

    def pending(self) -> list[Path]:
        """Complete incoming files not yet indexed (after a crash); removes half-written ones.

        The files of another process that is still running are left to it (module docstring)."""
        pending: list[Path] = []
        alive: dict[int, bool] = {}
        for entry in sorted(self.incoming_dir.iterdir()):
            match = _OWNED.match(entry.name)
            if match is not None and entry.suffix in (".part", ".dcm"):
                pid = int(match.group(1))
                if pid not in alive:
                    alive[pid] = pid != os.getpid() and self._owner_alive(pid)
                if alive[pid]:
                    continue
            if entry.suffix == ".part":
                log.warning("removing half-written file %s", entry.name)
                entry.unlink(missing_ok=True)
            elif entry.suffix == ".dcm":
                pending.append(entry)
        for lock in self.owners_dir.glob("p*.lock"):  # of owners that are gone
            owner = lock.stem[1:]
            if owner.isdigit() and int(owner) != os.getpid() and not alive.get(int(owner)):
                if not self._owner_alive(int(owner)):
                    lock.unlink(missing_ok=True)
        return pending

    def _new_name(self) -> str:
        """A new incoming name of this process, ``p<pid>-<random>``; takes the owner lock."""
        pid = os.getpid()
        key = (self.incoming_dir, pid)
        with _owner_guard:
            if key not in _owner_locks:
                _owner_locks[key] = self._take_owner_lock(pid)  # held for the life of the process
        return f"p{pid}-{uuid.uuid4().hex}"

    def _take_owner_lock(self, pid: int) -> int:
        """Create and lock ``p<pid>.lock``; again if another process removed it meanwhile
        (it took the file for a gone owner's between our create and our lock)."""
        self.owners_dir.mkdir(exist_ok=True)
        path = self.owners_dir / f"p{pid}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return fd  # no flock here: pending() takes our files for a gone owner's
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def _owner_alive(self, pid: int) -> bool:
        """Whether the process ``pid`` that wrote incoming files still holds its lock."""
        try:
            fd = os.open(self.owners_dir / f"p{pid}.lock", os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # closing drops a lock taken here
        return False

    # -- phase 2: final placement ------------------------------------------------------------
    @staticmethod
    def relative_path(study_uid: str, series_uid: str, sop_uid: str) -> str:
        """The store-relative path of an instance; every part is a validated UID."""
        return "/".join(
            (
                validate_uid(study_uid, "StudyInstanceUID"),
                validate_uid(series_uid, "SeriesInstanceUID"),
                validate_uid(sop_uid, "SOPInstanceUID") + ".dcm",
            )
        )

    def absolute(self, relative: str) -> Path:
        parts = relative.split("/")
        if not relative or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StoreError(f"path {relative!r} lies outside the store")
        return self.root / relative

    def place(self, incoming: Path, relative: str) -> None:
        """Make ``incoming`` visible at ``relative``, atomically replacing any file there.

        ``relative`` comes from ``relative_path`` (validated UIDs only).
        """
        target = self.absolute(relative)
        self._directory(target.parent)
        try:
            os.link(incoming, target)
            return
        except FileExistsError:
            if os.path.samefile(incoming, target):
                return  # placed before (a retried batch, a recovery after a crash)
        except OSError:  # no hard links on this file system: fall through to a copy
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            shutil.copyfile(incoming, tmp)
            os.replace(tmp, target)
            return
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.link")
        os.link(incoming, tmp)
        os.replace(tmp, target)

    def place_bytes(self, data: bytes | bytearray, relative: str) -> None:
        """Write ``data`` at ``relative`` (not synced), atomically replacing any file there.

        For images already durable elsewhere (the intake journal): they skip ``incoming/``.
        A new path is created and written in place (no reader knows it before its index row
        is committed); an existing one is replaced through a temporary name. A crash in the
        middle leaves a partial file that the journal's replay replaces.
        """
        target = self.absolute(relative)
        parent = target.parent
        path = os.fspath(target)
        replace = False
        try:
            self._directory(parent)
            try:
                fd = os.open(path, _CREATE_NEW, 0o666)
            except FileExistsError:
                replace = True
                path = os.fspath(target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"))
                fd = os.open(path, _CREATE_NEW, 0o666)
        except OSError as exc:
            raise self._write_error(exc, relative) from exc
        try:
            try:
                with memoryview(data) as view:
                    done = 0
                    while done < len(view):
                        done += os.write(fd, view[done:])
            finally:
                os.close(fd)
            if replace:
                os.replace(path, target)
        except OSError as exc:
            Path(path).unlink(missing_ok=True)
            raise self._write_error(exc, relative) from exc

    def _directory(self, series_dir: Path) -> None:
        """Make sure the directory of a series (``<study>/<series>``) exists: one ``mkdir``
        for a new series of a known study, two for a new study.

        Not synced here: the index writer syncs once a batch (``sync``, one ``syncfs``) before
        the rows of the images written from their bytes commit, which makes every new
        directory durable with them, whatever the number of new studies in the batch.
        """
        if series_dir in self._dirs:
            return
        study_dir = series_dir.parent
        if study_dir not in self._dirs:
            try:
                os.mkdir(study_dir)
            except FileExistsError:
                pass
            self._dirs.add(study_dir)
        try:
            os.mkdir(series_dir)
        except FileExistsError:
            pass
        except FileNotFoundError:  # the study's directory went meanwhile (a delete)
            self._dirs.discard(study_dir)
            series_dir.mkdir(parents=True, exist_ok=True)
        self._dirs.add(series_dir)

    def _write_error(self, exc: OSError, relative: str) -> StoreError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFullError(f"the disk holding {self.root} is full")
        return StoreError(f"cannot write {relative} into the store: {exc.strerror}")

    def discard(self, incoming: Path) -> None:
        """Drop an incoming name once its image is indexed (not synced: see ``settle_discards``)."""
        incoming.unlink(missing_ok=True)
        with self._lock:
            self._unsettled_discards += 1

    def settle_discards(self) -> None:
        """Make the incoming names dropped so far stay dropped across a power loss.

        An incoming name whose unlink was still in the page cache would come back after a power
        loss and be indexed again on start. That is harmless for an image still in the index (a
        duplicate), but not for one deleted since: a delete calls this before it commits, so what
        it deletes cannot come back through ``incoming/``. One directory fsync per delete.
        """
        with self._lock:
            unsettled, self._unsettled_discards = self._unsettled_discards, 0
        if unsettled and self.fsync:
            self._sync_directory(self.incoming_dir)

    def remove(self, relative: str, size: int = 0) -> None:
        """Delete a stored file and the directories it leaves empty."""
        path = self.absolute(relative)
        path.unlink(missing_ok=True)
        self.release(size)
        for parent in (path.parent, path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
            self._dirs.discard(parent)

    def same_file(self, relative: str, incoming: Path) -> bool:
        try:
            return os.path.samefile(self.absolute(relative), incoming)
        except OSError:
            return False
