"""Thumbnails of stored instances and series, cached on disk and made in a process pool.

Layout: ``<data dir>/thumbnails/<size>/<xx>/<SOPInstanceUID>.png`` where ``xx`` spreads the
files over 256 folders. A thumbnail is fresh while it is newer than its stored file, so an
instance replaced under the same UID gets a new one. A series thumbnail is the thumbnail of the
series' middle image (by InstanceNumber), so it needs no separate invalidation.

Rendering (decode, VOI, resize, PNG encode) runs in worker processes, never on the caller's
thread, except in ``get`` and ``series_thumbnail`` which are meant for the CLI and for callers
already on a worker thread. The GUI uses the ``*_async`` methods.

Hooks for the rest of the core:

- after ingest: ``schedule(sop_uids)`` queues background generation and returns at once
  (safe from any thread);
- after a deletion: ``remove(uids)`` drops the thumbnails of the deleted instances (Core.delete
  does it with the UIDs the index writer reports); ``prune()`` removes any left orphaned.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import logging
import logging.handlers
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance, Series
from core.errors import NotFoundError, StoreError
from core.events import IndexChanged
from core.imaging.render import (
    RenderedImage,
    Window,
    load_font,
    render_frame_async,
    render_thumbnail,
)
from core.store.files import FileStore, validate_uid

log = logging.getLogger(__name__)

THUMBNAIL_DIR = "thumbnails"
DEFAULT_SIZE = 128
MIN_SIZE, MAX_SIZE = 16, 1024
_IN_CHUNK = 500
_BATCH = 16  # thumbnails per pool task: amortises the inter-process round trip


# -- work done in the pool (module level so it can be pickled) ---------------------------------
def _init_worker(log_queue: Any, level: int) -> None:
    """Send the worker's log records to the parent, which handles them as its own."""
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(level)
    # pydicom logs every failed decoder attempt with a traceback; we log one line ourselves.
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)


class _Forward(logging.Handler):
    """In the parent: hand a worker's record to the logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def make_thumbnail(source: str, dest: str, size: int) -> str:
    """Render ``source`` to a PNG at ``dest`` (atomically: temp name, then rename)."""
    image = render_thumbnail(source, size)
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        image.save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def make_thumbnails(jobs: Sequence[tuple[str, str, int]]) -> list[str]:
    """A batch of ``make_thumbnail`` jobs (one pool task); returns the paths written."""
    written = []
    for source, dest, size in jobs:
        try:
            written.append(make_thumbnail(source, dest, size))
        except OSError as exc:  # disk full, folder gone: the others may still succeed
            logging.getLogger(__name__).error("cannot write thumbnail %s: %s", dest, exc)
    return written


def _ready() -> bool:
    return True


def stored_path(sessions: sessionmaker[Session], store: FileStore, sop_uid: str) -> Path:
    """The stored file of an instance, looked up in the index. Raises NotFoundError."""
    with sessions() as session:
        relative = session.scalar(select(Instance.file_path).where(Instance.sop_uid == sop_uid))
    if relative is None:
        raise NotFoundError(f"no image {sop_uid!r} in the database")
    return store.absolute(relative)


def default_workers() -> int:
    """Leave one core to the GUI and the network node."""
    return max(1, (os.cpu_count() or 2) - 1)


class ThumbnailCache:
    """On-disk thumbnail cache for the instances in the index (read-only use of the index)."""

    def __init__(
        self,
        data_dir: Path,
        sessions: sessionmaker[Session],
        store: FileStore,
        *,
        workers: int | None = None,
    ) -> None:
        self.root = data_dir / THUMBNAIL_DIR
        self._sessions = sessions
        self._store = store
        self._workers = workers or default_workers()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.RLock()
        self._pending: dict[tuple[str, int], concurrent.futures.Future[list[str]]] = {}
        self._closed = False
        self._listener: logging.handlers.QueueListener | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the thumbnail cache is closed")
            if self._pool is None:
                # spawn: forking a process that runs Qt and network threads is unsafe
                context = multiprocessing.get_context("spawn")
                log_queue = context.Queue()
                self._listener = logging.handlers.QueueListener(log_queue, _Forward())
                self._listener.start()
                level = logging.getLogger("core").getEffectiveLevel()
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=context,
                    initializer=_init_worker,
                    initargs=(log_queue, level),
                )
            return self._pool

    @property
    def executor(self) -> concurrent.futures.ProcessPoolExecutor:
        """The worker pool, shared with full-size rendering (``render_async``)."""
        return self._executor()

    def close(self, *, cancel: bool = True) -> None:
        """Stop the worker processes; queued work is dropped when ``cancel``."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            listener, self._listener = self._listener, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)
        if listener is not None:
            listener.stop()

    def __enter__(self) -> ThumbnailCache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- paths ---------------------------------------------------------------------------------
    def path_for(self, sop_uid: str, size: int = DEFAULT_SIZE) -> Path:
        """Where the thumbnail of ``sop_uid`` at ``size`` lives (whether or not made yet)."""
        validate_uid(sop_uid, "SOPInstanceUID")
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"thumbnail size {size} is outside {MIN_SIZE}-{MAX_SIZE}")
        shard = hashlib.sha1(sop_uid.encode()).hexdigest()[:2]
        return self.root / str(size) / shard / f"{sop_uid}.png"

    def _sources(self, sop_uids: Sequence[str]) -> dict[str, Path]:
        found: dict[str, Path] = {}
        unique = sorted(set(sop_uids))
        with self._sessions() as session:
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start : start + _IN_CHUNK]
                rows = session.execute(
                    select(Instance.sop_uid, Instance.file_path).where(Instance.sop_uid.in_(chunk))
                )
                for sop_uid, relative in rows:
                    found[sop_uid] = self._store.absolute(relative)
        return found

    def source_of(self, sop_uid: str) -> Path:
        """The stored file of an instance. Raises NotFoundError."""
        return stored_path(self._sessions, self._store, sop_uid)

    @staticmethod
    def _fresh(thumb: Path, source: Path) -> bool:
        try:
            return thumb.stat().st_mtime_ns >= source.stat().st_mtime_ns
        except OSError:
            return False

    # -- single thumbnails ---------------------------------------------------------------------
    def get(self, sop_uid: str, size: int = DEFAULT_SIZE) -> Path:
        """The thumbnail file, made in the calling thread on first request (CLI, workers)."""
        thumb = self.path_for(sop_uid, size)
        source = self.source_of(sop_uid)
        if not self._fresh(thumb, source):
            make_thumbnail(str(source), str(thumb), size)
        return thumb

    def _submit(
        self, items: Sequence[tuple[str, Path]], size: int
    ) -> list[concurrent.futures.Future[list[str]]]:
        """Queue ``(sop_uid, source)`` items in batches; an item already queued is not again."""
        futures: dict[int, concurrent.futures.Future[list[str]]] = {}
        with self._lock:
            executor = self._executor()
            new: list[tuple[str, Path]] = []
            for sop_uid, source in items:
                pending = self._pending.get((sop_uid, size))
                if pending is not None:
                    futures[id(pending)] = pending
                else:
                    new.append((sop_uid, source))
            batch = max(1, min(_BATCH, -(-len(new) // (self._workers * 4))))
            for start in range(0, len(new), batch):
                chunk = new[start : start + batch]
                jobs = [(str(src), str(self.path_for(uid, size)), size) for uid, src in chunk]
                future = executor.submit(make_thumbnails, jobs)
                keys = [(uid, size) for uid, _ in chunk]
                for key in keys:
                    self._pending[key] = future
                future.add_done_callback(functools.partial(self._forget, keys))
                futures[id(future)] = future
        return list(futures.values())

    def _forget(self, keys: list[tuple[str, int]], _future: object = None) -> None:
        with self._lock:
            for key in keys:
                self._pending.pop(key, None)

    def _prepare(self, sop_uid: str, size: int) -> Path | concurrent.futures.Future[list[str]]:
        thumb = self.path_for(sop_uid, size)
        source = self.source_of(sop_uid)
        if self._fresh(thumb, source):
            return thumb
        return self._submit([(sop_uid, source)], size)[0]

    async def get_async(self, sop_uid: str, size: int = DEFAULT_SIZE) -> Path:
        """The thumbnail file; the index look-up runs on a thread, rendering in the pool."""
        prepared = await asyncio.to_thread(self._prepare, sop_uid, size)
        if isinstance(prepared, Path):
            return prepared
        await asyncio.wrap_future(prepared)
        thumb = self.path_for(sop_uid, size)
        if not thumb.is_file():
            raise StoreError(f"the thumbnail of {sop_uid} could not be written")
        return thumb

    def schedule(
        self, sop_uids: Iterable[str], size: int = DEFAULT_SIZE
    ) -> list[concurrent.futures.Future[list[str]]]:
        """Queue thumbnails not yet made (after ingest); returns at once, from any thread.

        Each future resolves to the paths its batch wrote.
        """
        uids = list(sop_uids)
        stale = [
            (sop_uid, source)
            for sop_uid, source in self._sources(uids).items()
            if not self._fresh(self.path_for(sop_uid, size), source)
        ]
        return self._submit(stale, size) if stale else []

    def generate(self, sop_uids: Iterable[str], size: int = DEFAULT_SIZE) -> list[Path]:
        """Make (in the pool) and wait for the thumbnails of ``sop_uids``; return their paths."""
        uids = list(sop_uids)
        for future in concurrent.futures.as_completed(self.schedule(uids, size)):
            future.result()
        return [self.path_for(uid, size) for uid in uids]

    def start(self) -> None:
        """Start the worker processes now (at launch) so the first thumbnails are quick."""
        executor = self._executor()
        for future in [executor.submit(_ready) for _ in range(self._workers)]:
            future.result()

    async def render_async(
        self, sop_uid: str, frame: int = 0, window: Window | None = None
    ) -> RenderedImage:
        """A full-size frame of a stored instance, rendered in the pool (for the viewer)."""
        source = await asyncio.to_thread(self.source_of, sop_uid)
        return await render_frame_async(source, frame, window, self._executor())

    # -- series --------------------------------------------------------------------------------
    def middle_instance(self, series_uid: str) -> str:
        """The SOP Instance UID of the middle image of a series, ordered by InstanceNumber."""
        with self._sessions() as session:
            rows = session.execute(
                select(Instance.sop_uid, Instance.instance_number)
                .join(Series)
                .where(Series.series_uid == series_uid)
            ).all()
        if not rows:
            raise NotFoundError(f"no series {series_uid!r} in the database")
        ordered = sorted(
            rows, key=lambda r: (r.instance_number is None, r.instance_number or 0, r.sop_uid)
        )
        return str(ordered[(len(ordered) - 1) // 2].sop_uid)

    def series_thumbnail(self, series_uid: str, size: int = DEFAULT_SIZE) -> Path:
        return self.get(self.middle_instance(series_uid), size)

    async def series_thumbnail_async(self, series_uid: str, size: int = DEFAULT_SIZE) -> Path:
        sop_uid = await asyncio.to_thread(self.middle_instance, series_uid)
        return await self.get_async(sop_uid, size)

    # -- removal -------------------------------------------------------------------------------
    def _all_sizes(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [d for d in self.root.iterdir() if d.is_dir() and d.name.isdigit()]

    def remove(self, sop_uids: Iterable[str]) -> int:
        """Delete the thumbnails (every size) of ``sop_uids``; return how many files went."""
        removed = 0
        sizes = self._all_sizes()
        for sop_uid in sop_uids:
            for size_dir in sizes:
                path = self.path_for(sop_uid, int(size_dir.name))
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def prune(self) -> int:
        """Delete thumbnails whose instance is no longer in the index."""
        with self._sessions() as session:
            known = set(session.scalars(select(Instance.sop_uid)))
        removed = 0
        for size_dir in self._all_sizes():
            for path in size_dir.glob("*/*.png"):
                if path.stem not in known:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


# -- contact sheets ----------------------------------------------------------------------------
def contact_sheet(
    items: Sequence[tuple[str, Image.Image]], cell: int = DEFAULT_SIZE, columns: int = 10
) -> Image.Image:
    """A grid of labelled thumbnails (for checking by eye and for printing)."""
    label_height = max(12, cell // 8)
    rows = max(1, -(-len(items) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label_height)), (12, 14, 18))
    draw = ImageDraw.Draw(sheet)
    font = load_font(label_height - 3)
    for index, (label, image) in enumerate(items):
        x = (index % columns) * cell
        y = (index // columns) * (cell + label_height)
        tile = image.convert("RGB")
        tile.thumbnail((cell, cell))
        sheet.paste(tile, (x + (cell - tile.width) // 2, y + (cell - tile.height) // 2))
        text = label
        while text and draw.textlength(text, font=font) > cell - 4:
            text = text[:-1]
        draw.text((x + 2, y + cell + 1), text, font=font, fill=(200, 200, 200))
    return sheet


class ArrivalScheduler:
    """Queues the thumbnails of arriving images once arrivals pause for ``quiet`` seconds.

    ``add(sop_uids)`` returns at once (the intake thread calls it through the change bus);
    one daemon thread waits for a pause, then hands everything that arrived to
    ``ThumbnailCache.schedule``: a node busy receiving is not slowed by thumbnail work.
    """

    def __init__(self, cache: ThumbnailCache, quiet: float = 1.0) -> None:
        self._cache = cache
        self._quiet = quiet
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[str, None] = {}
        self._last = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, sop_uids: Iterable[str]) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.update(dict.fromkeys(sop_uids))
            self._last = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="thumbnail-arrivals", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def index_changed(self, event: IndexChanged) -> None:
        """A change bus subscriber: schedule the images ``event`` stored."""
        if event.stored:
            self.add(event.stored)

    def close(self) -> None:
        """Drop what is still waiting; the thread ends."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._closed:
                    return
                wait = self._last + self._quiet - time.monotonic()
                if wait <= 0:
                    uids, self._pending = list(self._pending), {}
                    self._wake.clear()
            if wait > 0:
                time.sleep(min(wait, self._quiet))
                continue
            if not uids:
                continue
            try:
                self._cache.schedule(uids)
            except RuntimeError:  # the cache closed meanwhile
                return
            except Exception:
                log.exception("scheduling thumbnails of %d arrived images failed", len(uids))
