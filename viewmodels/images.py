"""Image providers: series/image thumbnails (async, off the GUI thread) and viewer frames.

``thumbnail_image`` is the one function that makes a thumbnail: it asks the core's thumbnail
cache (core.thumbnails), which renders with the full display pipeline and keeps PNGs on disk.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QRunnable, QSize, QThreadPool
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtQuick import (
    QQuickAsyncImageProvider,
    QQuickImageProvider,
    QQuickImageResponse,
    QQuickTextureFactory,
)

from core.db.browse import StudyFilter

if TYPE_CHECKING:  # numpy: loaded with the first frame the viewer shows
    import numpy as np

    from core.app import Core

log = logging.getLogger(__name__)

THUMB_SIZE = 192
# A placeholder's pixel, #3a3d42 as QImage.Format_RGB32 keeps it: 0xffRRGGBB, in native order.
TILE_PIXEL = (0xFF3A3D42).to_bytes(4, sys.byteorder)


def to_qimage(array: np.ndarray, rgb: bool = False) -> QImage:
    """A deep-copied QImage of a uint8 grey (H, W) or RGB (H, W, 3) array."""
    import numpy as np

    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    fmt = QImage.Format.Format_RGB888 if rgb else QImage.Format.Format_Grayscale8
    image = QImage(array.data, width, height, array.strides[0], fmt)
    return image.copy()


def placeholder(size: int, label: str = "") -> QImage:
    """A neutral grey tile shown while (or instead of) a preview."""
    # Its pixels from bytes, not QImage.fill: the first call of fill costs 15-25 ms (PySide
    # resolving its overloads), and the viewer's provider makes a tile before the first frame.
    pixels = TILE_PIXEL * (size * size)
    image = QImage(pixels, size, size, 4 * size, QImage.Format.Format_RGB32).copy()
    if label:
        painter = QPainter(image)
        painter.setPen(QColor("#9aa0a6"))
        font = painter.font()
        font.setPixelSize(max(10, size // 6))
        painter.setFont(font)
        painter.drawText(image.rect(), 0x84, label)  # AlignCenter
        painter.end()
    return image


def instance_path(core: Core, study_uid: str, series_uid: str, sop_uid: str) -> Path:
    store = core.store
    return store.absolute(store.relative_path(study_uid, series_uid, sop_uid))


def thumbnail_image(core: Core, request_id: str, size: int) -> QImage:
    """The thumbnail for ``series/<study>/<series>`` or ``image/<study>/<series>/<sop>``.

    Blocking (database read and pixel decoding): runs on the provider's worker threads.
    """
    parts = request_id.split("/")
    try:
        if parts[0] == "series" and len(parts) == 3:
            if core.count("image", StudyFilter(series_uid=parts[2])) == 0:
                return placeholder(size, "—")
            sop_uid = core.thumbnails.middle_instance(parts[2])
        elif parts[0] == "image" and len(parts) == 4:
            sop_uid = parts[3]
        else:
            return placeholder(size, "?")
        # Rendered in the core's worker processes; this provider thread only waits.
        (path,) = core.thumbnails.generate([sop_uid], size)
        image = QImage(str(path))
        if image.isNull():
            raise OSError(f"unreadable thumbnail {path}")
        return image
    except Exception as exc:  # a broken file still gets a tile; the reason goes to the log
        log.info("no thumbnail for %s: %s", request_id, exc)
        return placeholder(size, "no preview")


class _ThumbnailResponse(QQuickImageResponse):
    def __init__(self) -> None:
        super().__init__()
        self.image = QImage()

    def textureFactory(self) -> QQuickTextureFactory:
        return QQuickTextureFactory.textureFactoryForImage(self.image)


class _ThumbnailJob(QRunnable):
    def __init__(self, core: Core, request_id: str, size: int, response: _ThumbnailResponse):
        super().__init__()
        self.core, self.request_id, self.size, self.response = core, request_id, size, response

    def run(self) -> None:
        image = thumbnail_image(self.core, self.request_id, self.size)
        if shiboken6.isValid(self.response):
            self.response.image = image
            self.response.finished.emit()


class ThumbnailProvider(QQuickAsyncImageProvider):
    """``image://thumbs/...``: every thumbnail is made on a worker thread."""

    def __init__(self, core: Core) -> None:
        super().__init__()
        self.core = core
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(2)
        self._responses: list[_ThumbnailResponse] = []

    def requestImageResponse(self, request_id: str, requested_size: QSize) -> QQuickImageResponse:
        size = max(requested_size.width(), requested_size.height(), 0) or THUMB_SIZE
        response = _ThumbnailResponse()
        # The engine deletes a response when done with it; keep the Python side alive until then.
        self._responses = [r for r in self._responses if shiboken6.isValid(r)]
        self._responses.append(response)
        self.pool.start(_ThumbnailJob(self.core, request_id, size, response))
        return response

    def wait_idle(self, msecs: int = 10_000) -> bool:
        return self.pool.waitForDone(msecs)


class FrameProvider(QQuickImageProvider):
    """``image://viewer/<generation>``: the frame the viewer model rendered last."""

    def __init__(self) -> None:
        super().__init__(QQuickImageProvider.ImageType.Image)
        self.image = placeholder(16)

    def requestImage(self, request_id: str, size: QSize, requested_size: QSize) -> QImage:
        return self.image
