"""The kiosk's root view model: theme, kiosk mode, first run, live updates, errors."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Property, QObject, QTimer, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.config import save_settings
from core.events import IndexChanged, NodeStateChanged
from viewmodels.base import guarded, plural
from viewmodels.database import DatabaseModel
from viewmodels.images import FrameProvider
from viewmodels.importing import ImportModel
from viewmodels.lock import LockModel
from viewmodels.queryretrieve import QueryRetrieveModel
from viewmodels.settings import SettingsModel, SettingsStore
from viewmodels.viewer import ViewerModel

if TYPE_CHECKING:
    from core.app import Core
    from core.node.server import DicomNode
    from viewmodels.transfers import TransferLogModel

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

LIVE_REFRESH_MS = 350  # at most about three refreshes a second while images arrive
MESSAGE_SECONDS = 4.0  # how long the toast shows a message (Toast.qml; errors stay longer)


@QmlElement
@QmlUncreatable("The kiosk makes the application model.")
class AppModel(QObject):  # type: ignore[operator]
    themeChanged = Signal()
    fullscreenChanged = Signal()
    keyboardChanged = Signal()
    statsChanged = Signal()
    viewChanged = Signal()
    nodeChanged = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)
    refreshed = Signal()
    quitRequested = Signal()
    readyChanged = Signal()

    def __init__(
        self,
        core: Core,
        frames: FrameProvider,
        *,
        theme: str | None = None,
        fullscreen: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._theme = theme or core.settings.theme
        self._fullscreen = fullscreen
        self._keyboard = core.settings.virtual_keyboard
        self._stats: dict[str, int] = {}
        self._view = "database"
        self._ready = False
        self._viewer = ViewerModel(frames, self, core=core)
        self._database = DatabaseModel(core, self._viewer, self)
        self._importer = ImportModel(core, self)
        self._transfers: TransferLogModel | None = None  # made when first needed
        self._viewer.errorOccurred.connect(self.errorOccurred)
        self._viewer.message.connect(self.message)
        self._database.errorOccurred.connect(self.errorOccurred)
        self._importer.errorOccurred.connect(self.errorOccurred)
        self._importer.folder_model.errorOccurred.connect(self.errorOccurred)
        self._database.message.connect(self.message)
        self._database.viewerRequested.connect(lambda: self._set_view("viewer"))
        self._database.refreshed.connect(self._recount)
        self._importer.finished.connect(lambda: self.message.emit(self._importer.summary))
        store = SettingsStore(core)
        # None: the core's node, which they read when first needed (not before the first frame)
        self._settings = SettingsModel(core, None, store, self)
        self._qr = QueryRetrieveModel(core, None, store, self._database.open_in_viewer, self)
        for child in (self._settings, self._qr):
            child.errorOccurred.connect(self.errorOccurred)
            child.message.connect(self.message)
        self._settings.nodesChanged.connect(self._qr.refreshNodes)
        self._lock = LockModel(core, store, self)
        self._lock.errorOccurred.connect(self.errorOccurred)
        self._lock.message.connect(self.message)
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self._live_refresh)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe_index: Callable[[], None] = lambda: None
        self._unsubscribe_node: Callable[[], None] = lambda: None
        self._refreshing: asyncio.Task[None] | None = None
        self._changes_lock = threading.Lock()
        self._changed_studies: set[str] = set()  # studies images arrived in since the last read
        self._changed_everything = False
        self.refresh_count = 0
        # What the toast shows now, and since when (monotonic): every message passes here.
        self._shown: tuple[str, float] = ("", 0.0)
        self.message.connect(self._note_shown)
        self.errorOccurred.connect(self._note_shown)

    # -- properties ---------------------------------------------------------------------------
    @property
    def node(self) -> DicomNode:
        """The DICOM node the Settings tab controls; built when first read (the kiosk starts it
        after its first frame, and nothing before that frame reads it)."""
        return self._core.node

    @Property(DatabaseModel, constant=True, final=True)
    def database(self) -> DatabaseModel:
        return self._database

    @Property(ViewerModel, constant=True, final=True)
    def viewer(self) -> ViewerModel:
        return self._viewer

    @Property(ImportModel, constant=True, final=True)
    def importer(self) -> ImportModel:
        return self._importer

    @Property(QObject, constant=True, final=True)
    def transfers(self) -> QObject:
        """The Transfer Log tab's model (a ``TransferLogModel``): see ``transfer_log``."""
        return self.transfer_log()

    def transfer_log(self) -> TransferLogModel:
        """The Transfer Log tab's model, made when first asked for: the first frame needs
        neither it nor its modules (``show_rest`` makes it before the window makes that tab)."""
        if self._transfers is None:
            from viewmodels.transfers import TransferLogModel

            log = TransferLogModel(self._core, self)
            log.errorOccurred.connect(self.errorOccurred)
            log.message.connect(self.message)
            log.messageUpdated.connect(self._update_message)
            self._transfers = log
        return self._transfers

    @Property(SettingsModel, constant=True, final=True)
    def settings(self) -> SettingsModel:
        return self._settings

    @Property(QueryRetrieveModel, constant=True, final=True)
    def queryRetrieve(self) -> QueryRetrieveModel:
        return self._qr

    @Property(LockModel, constant=True, final=True)
    def lock(self) -> LockModel:
        return self._lock

    @Property(str, notify=themeChanged, final=True)
    def theme(self) -> str:
        return self._theme

    @Property(bool, notify=fullscreenChanged, final=True)
    def fullscreen(self) -> bool:
        return self._fullscreen

    @Property(bool, notify=keyboardChanged, final=True)
    def virtualKeyboard(self) -> bool:
        return self._keyboard

    @Property(bool, notify=statsChanged, final=True)
    def empty(self) -> bool:
        return self.is_empty()

    def is_empty(self) -> bool:
        return bool(self._stats) and self._stats.get("instances", 0) == 0

    @Property(str, notify=statsChanged, final=True)
    def statsText(self) -> str:
        s = self._stats
        if not s:
            return ""
        counts = (
            plural(s["patients"], "patient"),
            plural(s["studies"], "study", "studies"),
            plural(s["instances"], "image"),
        )
        return " · ".join(counts) + f" · {s['bytes'] / 1e6:,.0f} MB"

    @Property(str, notify=nodeChanged, final=True)
    def nodeText(self) -> str:
        """How peers reach this kiosk: the running node's AE title and port, else the settings."""
        if self._core.built("node") and (state := self.node.state).running:
            return f"AE title {state.ae_title} · port {state.port}"
        s = self._core.settings
        return f"AE title {s.ae_title} · port {s.port}"

    @Property(str, constant=True, final=True)
    def dataDir(self) -> str:
        return str(self._core.settings.data_dir)

    @Property(bool, notify=readyChanged, final=True)
    def ready(self) -> bool:
        """The first frame is shown: the window makes what it did not need for it (the other
        tabs, the viewer, the dialogs, the on-screen keyboard)."""
        return self._ready

    @Slot()
    def showRest(self) -> None:
        """The window wants the rest now (a tab or a dialog tapped before it was made)."""
        self.show_rest()

    def show_rest(self) -> None:
        """Let the window make the rest of itself (the kiosk calls it after its first frame;
        ``finish_start`` does it too, for a window started by ``start``). The Transfer Log's
        types are registered first: its tab and its dialog name them."""
        if not self._ready:
            self.transfer_log()
            self._ready = True
            self.readyChanged.emit()

    @Property(str, notify=viewChanged, final=True)
    def view(self) -> str:
        return self._view

    def _set_view(self, view: str) -> None:
        if view != self._view:
            self._view = view
            self.viewChanged.emit()

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """First load, and live updates from the index writer."""
        await self.start_first_page()
        await self.finish_start()

    async def start_first_page(self) -> None:
        """What the first frame shows: live updates on, the counts and the Database list's first
        page. ``finish_start`` loads the rest (the kiosk calls it after that frame)."""
        self._listen(asyncio.get_running_loop())
        await self._load_first_page()

    def start_first_page_now(self, loop: asyncio.AbstractEventLoop) -> None:
        """``start_first_page`` on this thread before ``loop`` runs: the kiosk reads its first
        page so, and shows its first frame before any asyncio work (``loop`` is where live
        updates will arrive)."""
        self._listen(loop)
        self._set_stats(self._core.stats())
        self._database.apply_filter_now()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        events = self._core.events
        self._unsubscribe_index = events.subscribe(IndexChanged, self._index_changed)
        self._unsubscribe_node = events.subscribe(
            NodeStateChanged, self._node_changed, loop=self._loop
        )
        if self._core.built("node"):  # else it has no state to catch up on
            self._settings.node_state_changed(self.node.state)

    async def finish_start(self) -> None:
        """The rest of the first load: filter choices, settings, remote nodes, transfers."""
        self.show_rest()
        await self._load_rest()
        await self.transfer_log().start()

    def stop(self) -> None:
        self._unsubscribe_index()
        self._unsubscribe_node()
        self._live.stop()
        if self._transfers is not None:
            self._transfers.stop()
        self._lock.stop()

    async def reload(self) -> None:
        await self._load_first_page()
        await self._load_rest()

    async def _load_first_page(self) -> None:
        self._set_stats(await asyncio.to_thread(self._core.stats))
        await self._database.apply_filter()

    def _set_stats(self, stats: dict[str, int]) -> None:
        if stats != self._stats:
            self._stats = stats
            self.statsChanged.emit()

    async def _load_rest(self) -> None:
        await self._database.filter_model.load_choices()
        await self._settings.load()
        await self._qr.load_nodes()

    def _node_changed(self, event: NodeStateChanged) -> None:
        """On our loop (the GUI thread): the node started, stopped or counted something."""
        self._settings.node_state_changed(event.state)
        self.nodeChanged.emit()

    def _index_changed(self, event: IndexChanged) -> None:
        """Called by the index writer on whatever thread committed: note what changed, then
        hop onto our loop (changes within LIVE_REFRESH_MS are read together)."""
        with self._changes_lock:
            if event.deleted or not event.studies:
                self._changed_everything = True
            self._changed_studies.update(event.studies)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._schedule_live)

    def _schedule_live(self) -> None:
        if not self._live.isActive():
            self._live.start()

    def _live_refresh(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._live.start()  # still busy: try again shortly
            return
        self._refreshing = asyncio.ensure_future(self._refresh_now())

    @guarded("Could not refresh")
    async def _refresh_now(self) -> None:
        stats = await asyncio.to_thread(self._core.stats)
        was_empty = self.is_empty()
        self._set_stats(stats)
        with self._changes_lock:
            studies = None if self._changed_everything else set(self._changed_studies)
            self._changed_studies.clear()
            self._changed_everything = False
        await self._database.refresh_changed(studies)
        await self._settings.storage_changed(stats)
        if was_empty:
            await self._database.filter_model.load_choices()
        self.refresh_count += 1
        self.refreshed.emit()

    def _recount(self) -> None:
        """Refresh was tapped: the counts too may have changed behind the bus's back (an import
        or a delete by another process on the same index)."""
        asyncio.ensure_future(self._recount_now())

    @guarded("Could not refresh")
    async def _recount_now(self) -> None:
        stats = await asyncio.to_thread(self._core.stats)
        self._set_stats(stats)
        await self._settings.storage_changed(stats)

    # -- the toast ---------------------------------------------------------------------------------
    def _note_shown(self, text: str) -> None:
        self._shown = (text, time.monotonic())

    def _update_message(self, old: str, new: str) -> None:
        """A message went out of date (its transfer moved on): replace it while it is still
        the one on screen; once it is gone, or another took its place, say nothing."""
        text, since = self._shown
        if text == old and time.monotonic() - since < MESSAGE_SECONDS:
            self.message.emit(new)

    # -- slots ------------------------------------------------------------------------------------
    @Slot(str)
    def showView(self, view: str) -> None:
        if view in ("database", "viewer"):
            self._set_view(view)

    @asyncSlot(str)
    @guarded("Could not save the theme")
    async def setTheme(self, theme: str) -> None:
        if theme not in ("dark", "light") or theme == self._theme:
            return
        self._theme = theme
        self.themeChanged.emit()
        await asyncio.to_thread(save_settings, self._core.settings, theme=theme)

    @asyncSlot(bool)
    @guarded("Could not save the setting")
    async def setVirtualKeyboard(self, enabled: bool) -> None:
        if enabled == self._keyboard:
            return
        self._keyboard = enabled
        self.keyboardChanged.emit()
        await asyncio.to_thread(save_settings, self._core.settings, virtual_keyboard=enabled)

    @Slot()
    def leaveKioskMode(self) -> None:
        if self._fullscreen:
            self._fullscreen = False
            self.fullscreenChanged.emit()
            self._lock.kiosk_left()

    @Slot()
    def requestQuit(self) -> None:
        self.quitRequested.emit()
