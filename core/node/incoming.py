"""``DatasetBuffer``: one C-STORE data set as its fragments arrive, in bounded memory.

The lean acceptor (core.node.storage) starts a buffer when a C-STORE-RQ's command set is
complete: it already holds the Part 10 preamble and file meta (core.dicom.part10), so the
finished file is never copied to be framed. Each fragment takes its size from the one
``MemoryBudget`` of received bytes (core.index.intake); a data set larger than
``spool_bytes``, or one the budget cannot take, goes on to a half-written file in the
store's ``incoming/`` (``FileStore.open_spool``), so memory stays bounded whatever the peer
announces or sends. A data set over ``max_bytes`` is counted and dropped, fragment by
fragment, and answered with a failure status when it ends.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

from core.errors import StoreError
from core.index.intake import MemoryBudget
from core.store.files import FileStore

log = logging.getLogger(__name__)


class DatasetBuffer:
    """The bytes of one data set (after its Part 10 ``prefix``): in memory or spooled."""

    def __init__(
        self,
        prefix: bytes,
        budget: MemoryBudget,
        store: FileStore,
        *,
        spool_bytes: int,
        max_bytes: int,
    ) -> None:
        self.prefix_length = len(prefix)
        self.size = 0  # data set bytes received (prefix not counted)
        self.too_large = False
        self.error = ""  # the spool file could not be written: why
        self._budget = budget
        self._store = store
        self._spool_bytes = spool_bytes
        self._max_bytes = max_bytes
        self._memory: bytearray | None = bytearray(prefix)
        self._taken = 0
        self._part: Path | None = None
        self._file: BinaryIO | None = None

    @property
    def spooled(self) -> bool:
        return self._part is not None

    def add(self, fragment: memoryview) -> None:
        size = len(fragment)
        self.size += size
        if self.too_large or self.error:
            return  # counted, dropped: the answer is a failure status
        if self.size > self._max_bytes:
            self.too_large = True
            self.discard()
            return
        if self._memory is not None:
            if self.size <= self._spool_bytes and self._budget.take(size):
                self._taken += size
                self._memory += fragment
                return
            self._spill()
        if self._file is not None:
            try:
                self._file.write(fragment)
            except OSError as exc:
                self._fail(exc)

    def _spill(self) -> None:
        memory, self._memory = self._memory, None
        try:
            self._part, self._file = self._store.open_spool()
            if memory:
                self._file.write(memory)
        except (OSError, StoreError) as exc:
            self._fail(exc)
        finally:
            self._release()

    def _fail(self, exc: Exception) -> None:
        self.error = str(exc)
        log.error("cannot spool a received data set to disk: %s", exc)
        self.discard()

    def _release(self) -> None:
        if self._taken:
            self._budget.give(self._taken)
            self._taken = 0

    def take_memory(self) -> tuple[bytearray, int]:
        """The Part 10 bytes held in memory and the budget share they keep (the caller gives
        it back, or hands it on to the intake with the image)."""
        memory, taken = self._memory, self._taken
        if memory is None:
            raise ValueError("the data set was spooled to disk")
        self._memory, self._taken = None, 0
        return memory, taken

    def spool_path(self) -> Path:
        """The half-written Part 10 file, flushed so that it can be read."""
        if self._part is None or self._file is None:
            raise ValueError("the data set is in memory")
        self._file.flush()
        return self._part

    def commit_spool(self) -> Path:
        """The spooled Part 10 file, made durable under its incoming name."""
        part, fh = self._part, self._file
        if part is None or fh is None:
            raise ValueError("the data set is in memory")
        self._part = self._file = None
        return self._store.commit_spool(part, fh, self.prefix_length + self.size)

    def discard(self) -> None:
        """Drop whatever is held (memory, budget share, half-written file)."""
        self._memory = None
        self._release()
        part, fh = self._part, self._file
        self._part = self._file = None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
        if part is not None:
            part.unlink(missing_ok=True)
