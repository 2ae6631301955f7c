"""The intake journal: received images made durable with one cheap ``fdatasync`` each.

Making a new file durable costs a file-system journal commit (``fsync`` of a new file: 2-5 ms
on a virtual disk). Overwriting blocks of a file that already exists and is already allocated
does not: ``fdatasync`` then only flushes the data (under 1 ms). The journal keeps such
preallocated segment files in ``incoming/journal/``; a receiver appends each image to the
active segment, calls ``fdatasync``, and may then acknowledge it. The index writer then writes
the image's file at its final path without any sync and indexes it.

A journal opened with ``durable=False`` (the store's fsync setting off) skips that
``fdatasync``: an appended record is in the page cache, which a crash of the process does not
lose. The index writer calls ``sync_pending`` before each batch (at least every 0.1 s while
images arrive), so a power loss loses at most the images of the last fraction of a second.
Its segments are sparse files.

Segment layout: a 4096-byte header (magic, epoch, CRC), then records at 4096-byte boundaries.
A record is a header (magic, epoch, sequence number, length, CRC of the payload, CRC of the
header) and the payload, the whole Part 10 file. The epoch is random and changes whenever a
segment is emptied, so records of an earlier use never look valid.

Records are only needed until the files they duplicate are durable. ``committed`` counts the
records the index writer has committed; ``checkpoint`` (called when the writer is idle, and
when the active segment is full) runs one ``syncfs`` and then empties every segment whose
records are all committed. After a crash, ``recover`` writes every valid record back into
``incoming/`` (in the order received), where the index writer's recovery indexes them; images
indexed before the crash then count as duplicates.

One process owns the journal (an ``flock`` on its directory); if another holds it, ``open``
returns None and the caller falls back to a file per image in ``incoming/``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

BLOCK = 4096
SEGMENT_BYTES = 64 << 20
_SEGMENT_MAGIC = b"DKJS"
_RECORD_MAGIC = b"DKJR"
_SEGMENT_HEADER = struct.Struct("<4sIQI")  # magic, version, epoch, crc32 of the first 16 bytes
_RECORD_HEADER = struct.Struct("<4sQQQII")  # magic, epoch, seq, length, crc32 payload, crc32 hdr
_VERSION = 1
_ZEROS = bytes(1 << 20)


def _align(n: int) -> int:
    return (n + BLOCK - 1) // BLOCK * BLOCK


@dataclass(slots=True)
class _Segment:
    path: Path
    fd: int
    epoch: int
    offset: int = BLOCK  # next free byte
    appended: int = 0
    committed: int = 0
    # group commit: writes completed, and how many of them the last fdatasync covered
    written: int = 0
    synced: int = 0
    syncing: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """Where an image was journaled; hand it back to ``committed`` once it is indexed."""

    segment: _Segment
    seq: int


class IntakeJournal:
    """Append-and-fdatasync intake; thread-safe."""

    def __init__(
        self, directory: Path, lock_fd: int, segment_bytes: int, durable: bool = True
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.durable = durable
        self.max_record = segment_bytes // 4  # larger images take the fsync-per-file path
        self._lock_fd = lock_fd
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._active: _Segment | None = None
        self._free: list[_Segment] = []
        self._seq = 0
        self._dirty = False  # records committed since the last checkpoint

    # -- opening and recovery ---------------------------------------------------------------------
    @classmethod
    def open(
        cls, directory: Path, segment_bytes: int = SEGMENT_BYTES, *, durable: bool = True
    ) -> IntakeJournal | None:
        """The journal in ``directory``; None if another process holds it.

        ``durable``: each ``append`` returns once its record is on disk (``fdatasync``), so an
        acknowledged image survives a power loss. Without it a record is only in the page
        cache when ``append`` returns: it survives the death of the process, not of the machine.
        """
        directory.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(directory, os.O_RDONLY)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            log.warning("the intake journal in %s is in use by another process", directory)
            return None
        return cls(directory, lock_fd, segment_bytes, durable)

    def recover(self, write: Callable[[int, bytes], object], after: int = 0) -> int:
        """``write(seq, payload)`` every valid record numbered above ``after``, in order;
        return how many. Records up to ``after`` were indexed before the crash (the index's
        high-water mark, ``IntakeState``) and are skipped: replaying them would bring back
        what was deleted or replaced since. Numbering goes on above both.

        ``write`` must make its copy durable before returning or before the caller's next sync;
        the caller syncs, then calls ``reset_after_recovery``.
        """
        records: list[tuple[int, bytes]] = []
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)  # a segment whose creation was interrupted
        for path in sorted(self.directory.glob("segment-*.wal")):
            fd = os.open(path, os.O_RDWR)
            epoch = self._read_epoch(fd)
            size = os.fstat(fd).st_size
            segment = _Segment(path, fd, epoch or 0)
            self._segments.append(segment)
            if epoch is None or size != self.segment_bytes:
                continue
            records.extend(self._scan(fd, epoch, size))
        records.sort(key=lambda r: r[0])
        replayed = [(seq, payload) for seq, payload in records if seq > after]
        for seq, payload in replayed:
            write(seq, payload)
        self._seq = max(self._seq, after, records[-1][0] if records else 0)
        return len(replayed)

    def reset_after_recovery(self) -> None:
        """Empty every segment (after the recovered copies were synced); have one ready."""
        for segment in list(self._segments):
            if os.fstat(segment.fd).st_size != self.segment_bytes:
                os.close(segment.fd)
                segment.path.unlink(missing_ok=True)
                self._segments.remove(segment)
                continue
            self._empty(segment)
            self._free.append(segment)
        if not self._free:
            self._free.append(self._create())  # ready before the first image arrives

    @staticmethod
    def _read_epoch(fd: int) -> int | None:
        raw = os.pread(fd, _SEGMENT_HEADER.size, 0)
        if len(raw) < _SEGMENT_HEADER.size:
            return None
        magic, version, epoch, crc = _SEGMENT_HEADER.unpack(raw)
        if magic != _SEGMENT_MAGIC or version != _VERSION or crc != zlib.crc32(raw[:16]):
            return None
        return int(epoch)

    def _scan(self, fd: int, epoch: int, size: int) -> Iterator[tuple[int, bytes]]:
        """Valid records of this epoch; a torn record is skipped, later ones still count."""
        offset = BLOCK
        while offset + _RECORD_HEADER.size <= size:
            raw = os.pread(fd, _RECORD_HEADER.size, offset)
            magic, rec_epoch, seq, length, crc, header_crc = _RECORD_HEADER.unpack(raw)
            valid = (
                magic == _RECORD_MAGIC
                and rec_epoch == epoch
                and header_crc == zlib.crc32(raw[:-4])
                and offset + _RECORD_HEADER.size + length <= size
            )
            if valid:
                payload = os.pread(fd, length, offset + _RECORD_HEADER.size)
                if len(payload) == length and zlib.crc32(payload) == crc:
                    yield seq, payload
                    offset += _align(_RECORD_HEADER.size + length)
                    continue
            offset += BLOCK

    # -- segments ----------------------------------------------------------------------------------
    def _empty(self, segment: _Segment) -> None:
        """Give ``segment`` a new epoch (its old records become invalid) and rewind it."""
        epoch = secrets.randbits(63)
        head = _SEGMENT_MAGIC + struct.pack("<IQ", _VERSION, epoch)
        header = head + struct.pack("<I", zlib.crc32(head))
        os.pwrite(segment.fd, header, 0)
        if self.durable:
            os.fdatasync(segment.fd)
        segment.epoch, segment.offset, segment.appended, segment.committed = epoch, BLOCK, 0, 0

    def _create(self) -> _Segment:
        index = 1 + max((int(s.path.stem.split("-")[1]) for s in self._segments), default=0)
        path = self.directory / f"segment-{index:06d}.wal"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if self.durable:
                written = 0
                while written < self.segment_bytes:  # real blocks, not holes: nothing to
                    chunk = _ZEROS[: min(len(_ZEROS), self.segment_bytes - written)]
                    written += os.write(fd, chunk)  # allocate at each fdatasync later
                os.fsync(fd)
            else:
                os.ftruncate(fd, self.segment_bytes)
            os.replace(tmp, path)
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        segment = _Segment(path, fd, 0)
        self._empty(segment)
        self._segments.append(segment)
        log.info("intake journal segment %s created", path.name)
        return segment

    def _next_segment(self) -> _Segment:
        if self._free:
            return self._free.pop()
        return self._create()

    # -- appending -------------------------------------------------------------------------------
    def append(self, payload: bytes | bytearray) -> JournalRecord | None:
        """Journal ``payload`` (see ``open`` for how durably); None if it is too large."""
        length = len(payload)
        if length > self.max_record:
            return None
        span = _align(_RECORD_HEADER.size + length)
        with self._lock:
            segment = self._active
            if segment is None or segment.offset + span > self.segment_bytes:
                segment = self._next_segment()
                self._active = segment
            offset = segment.offset
            segment.offset += span
            segment.appended += 1
            self._seq += 1
            seq, epoch = self._seq, segment.epoch
        head = _RECORD_MAGIC + struct.pack("<QQQI", epoch, seq, length, zlib.crc32(payload))
        os.pwritev(segment.fd, [head, struct.pack("<I", zlib.crc32(head)), payload], offset)
        with segment.cond:
            segment.written += 1
            ticket = segment.written
        if self.durable:
            self._sync(segment, ticket)
        return JournalRecord(segment, seq)

    @staticmethod
    def _sync(segment: _Segment, ticket: int) -> None:
        """Group commit: return once an fdatasync that started after write ``ticket`` ended.

        Concurrent receivers share one fdatasync instead of queueing one each.
        """
        with segment.cond:
            while segment.synced < ticket:
                if not segment.syncing:
                    segment.syncing = True
                    target = segment.written
                    break
                segment.cond.wait()
            else:
                return
        IntakeJournal._fdatasync(segment, target)

    @staticmethod
    def _fdatasync(segment: _Segment, target: int) -> int:
        """Sync ``segment`` (its ``syncing`` flag set by the caller) so that writes up to
        ``target`` are durable; return how many writes that newly covered."""
        covered = 0
        done = False
        try:
            os.fdatasync(segment.fd)
            done = True
        finally:
            with segment.cond:
                segment.syncing = False
                if done:
                    covered = max(0, target - segment.synced)
                    segment.synced = max(segment.synced, target)
                segment.cond.notify_all()
        return covered

    def sync_pending(self) -> int:
        """``fdatasync`` every segment appended to since its last sync; return how many
        records that made durable. The background sync of a journal that is not ``durable``
        (a durable one syncs each append before returning)."""
        with self._lock:
            segments = list(self._segments)
        covered = 0
        for segment in segments:
            with segment.cond:
                target = segment.written
                if segment.synced >= target or segment.syncing:
                    continue
                segment.syncing = True
            covered += self._fdatasync(segment, target)
        return covered

    @property
    def unsynced(self) -> int:
        """Records appended but not yet covered by an ``fdatasync``."""
        with self._lock:
            segments = list(self._segments)
        return sum(max(0, s.written - s.synced) for s in segments)

    def committed(self, records: list[JournalRecord]) -> None:
        """These records' images are indexed (their files are not necessarily synced yet)."""
        with self._lock:
            for record in records:
                record.segment.committed += 1
            self._dirty = self._dirty or bool(records)

    @property
    def last_seq(self) -> int:
        """Sequence number of the last record appended (records are numbered from 1)."""
        return self._seq

    @property
    def needs_checkpoint(self) -> bool:
        return self._dirty

    def checkpoint(self, sync: Callable[[], None]) -> int:
        """``sync()`` the file system, then empty every segment whose records are all committed.

        Returns the number of segments emptied.
        """
        with self._lock:
            snapshot = {id(s): (s.appended, s.committed) for s in self._segments}
            self._dirty = False
        sync()
        emptied = 0
        with self._lock:
            for segment in self._segments:
                appended, committed = snapshot.get(id(segment), (-1, -2))
                if segment in self._free or appended != committed:
                    continue
                if (segment.appended, segment.committed) != (appended, committed):
                    continue  # appended to since the snapshot: not covered by the sync
                if appended == 0:
                    continue
                self._empty(segment)
                if segment is self._active:
                    continue  # rewound: keeps taking records from its start
                self._free.append(segment)
                emptied += 1
        return emptied

    def close(self) -> None:
        with self._lock:
            for segment in self._segments:
                os.close(segment.fd)
            self._segments, self._free, self._active = [], [], None
        os.close(self._lock_fd)
