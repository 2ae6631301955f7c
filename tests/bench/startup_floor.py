"""The start-up benchmark's floor: the least a PySide6 QML kiosk window can do.

A ``QGuiApplication`` and a ``QQmlApplicationEngine`` loading ``startup_floor.qml``: a
full-screen ``Window`` with a ``ListView`` of five rows. With ``DICOM_KIOSK_REPORT_FIRST_FRAME``
set it prints ``first-frame <time.monotonic()> <time.process_time()>`` at its first frame, as
the kiosk does at the first frame that shows the Database list. ``bench_startup`` launches
both the same way.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtQml import QQmlApplicationEngine
from PySide6.QtQuick import QQuickWindow

QML = Path(__file__).with_name("startup_floor.qml")


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    engine = QQmlApplicationEngine()
    engine.load(str(QML))
    window = engine.rootObjects()[0]
    assert isinstance(window, QQuickWindow)
    if os.environ.get("DICOM_KIOSK_REPORT_FIRST_FRAME"):
        reported: list[bool] = []

        def swapped() -> None:  # may run on the render thread
            if not reported:
                reported.append(True)
                print(f"first-frame {time.monotonic():.6f} {time.process_time():.6f}", flush=True)

        window.frameSwapped.connect(swapped)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
