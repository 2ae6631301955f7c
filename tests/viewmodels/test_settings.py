"""The Settings tab's view model: the node's lifecycle and live state, the local AE title, port
and bind address, the accept policy, the remote nodes with their C-ECHO test, the storage.
Peers are real: DCMTK's storescp and storescu (/usr/bin, TCP_NODELAY=1) on loopback."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.app import Core
from core.config import load_settings
from core.registry import NodeInfo, echo_timed
from tests.support.data import make_dataset, write
from tests.support.dcmtk import StoreSCP, dcmtk_env
from tests.support.ports import free_port
from tests.support.qt import run_until, settle
from tests.viewmodels.conftest import running_app
from viewmodels.app import AppModel
from viewmodels.settings import NodeRole, SettingsModel

pytestmark = pytest.mark.integration


@pytest.fixture
def app(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Core, AppModel]]:
    with running_app(tmp_path / "kiosk", loop, stop_node=True) as started:
        yield started


def listening(port: int) -> bool:
    """Whether something listens on the port, found by binding it (a test connection would
    itself become a half-open association on our node)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Recorder:
    def __init__(self, signal: Any) -> None:
        self.calls: list[tuple[Any, ...]] = []
        signal.connect(lambda *args: self.calls.append(args))


def rows(settings: SettingsModel) -> list[dict[str, Any]]:
    model = settings.nodes
    roles = {"name": NodeRole.NAME, "detail": NodeRole.DETAIL, "state": NodeRole.TEST_STATE,
             "text": NodeRole.TEST_TEXT}  # fmt: skip
    return [
        {key: model.data(model.index(i), role) for key, role in roles.items()}
        for i in range(model.rowCount())
    ]


def save_node(settings: SettingsModel, loop: asyncio.AbstractEventLoop, *args: Any) -> str:
    """Run the editor's Save; return its error ('' when saved)."""
    saved = Recorder(settings.nodeSaved)
    errors = Recorder(settings.editorErrorChanged)
    settings.saveNode(*args)
    run_until(loop, lambda: saved.calls or errors.calls)
    settle(loop)
    return str(settings.editorError)


def test_node_start_stop_reset_and_live_state(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    core, model = app
    settings = model.settings
    assert not settings.nodeRunning and settings.nodeStatus == "Stopped"
    settings.startNode()
    settle(loop)
    assert settings.nodeRunning and settings.nodeStatus == "Running"
    assert settings.nodeAeTitle == "KIOSK"
    assert settings.nodeAddress == f"127.0.0.1:{core.settings.port}"
    assert listening(core.settings.port)

    # Images sent by a real storescu show up in the node's state without a refresh.
    files = [
        write(make_dataset(patient_id="LIVE", instance_number=i), tmp_path / "send" / f"{i}.dcm")
        for i in range(3)
    ]
    subprocess.run(
        ["/usr/bin/storescu", "-aec", "KIOSK", "127.0.0.1", str(core.settings.port)]
        + [str(f) for f in files],
        env=dcmtk_env(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    run_until(loop, lambda: settings.imagesToday == 3)
    run_until(loop, lambda: settings.activeAssociations == 0)

    settings.stopNode()
    settle(loop)
    assert not settings.nodeRunning
    assert not listening(core.settings.port)
    settings.resetNode()
    settle(loop)
    assert settings.nodeRunning and listening(core.settings.port)


def test_a_taken_port_says_why_the_node_did_not_start(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    core, model = app
    peer = StoreSCP(tmp_path / "scp", "+xa", ae_title="DEST").start()
    try:
        errors = Recorder(model.settings.errorOccurred)
        # Save the storescp's port as ours (a real misconfiguration), then Start.
        model.settings.saveLocal("KIOSK", str(peer.port), "127.0.0.1")
        settle(loop)
        model.settings.startNode()
        settle(loop)
        assert not model.settings.nodeRunning
        assert errors.calls and "The DICOM node did not start" in errors.calls[0][0]
        assert "in use" in errors.calls[0][0]
        assert model.settings.nodeStatus.startswith("Failed: ")
    finally:
        peer.stop()


@pytest.mark.parametrize(
    ("ae", "port", "bind", "expected"),
    [
        ("", "11112", "127.0.0.1", "AE title"),
        ("BAD\\AE", "11112", "127.0.0.1", "no backslash"),
        ("WAY_TOO_LONG_AE_TITLE", "11112", "127.0.0.1", "1-16"),
        ("KIOSK", "70000", "127.0.0.1", "outside 1-65535"),
        ("KIOSK", "0", "127.0.0.1", "outside 1-65535"),
        ("KIOSK", "eleven", "127.0.0.1", "must be a number"),
        ("KIOSK", "11112", "kiosk.local", "must be an IP address"),
        ("KIOSK", "11112", "300.1.1.1", "must be an IP address"),
    ],
)
def test_invalid_local_settings_are_refused_with_a_message(
    ae: str,
    port: str,
    bind: str,
    expected: str,
    app: tuple[Core, AppModel],
    loop: asyncio.AbstractEventLoop,
) -> None:
    core, model = app
    before = core.settings
    model.settings.saveLocal(ae, port, bind)
    settle(loop)
    assert model.settings.configError.startswith("Not saved: ")
    assert expected in model.settings.configError
    assert core.settings == before
    assert not core.settings.config_file.exists()  # nothing written


def test_saved_settings_ask_for_a_restart_and_apply_on_reset(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    settings = model.settings
    settings.startNode()
    settle(loop)
    old_port, new_port = core.settings.port, free_port()
    assert not settings.restartNeeded
    settings.saveLocal("NEWAE", str(new_port), "127.0.0.1")
    settle(loop)
    assert settings.configError == ""
    assert settings.restartNeeded
    assert "NEWAE" in settings.restartText and str(new_port) in settings.restartText
    assert settings.nodeAeTitle == "KIOSK"  # still the running values
    saved = load_settings(core.settings.data_dir)
    assert (saved.ae_title, saved.port) == ("NEWAE", new_port)
    settings.resetNode()
    settle(loop)
    assert settings.nodeRunning and not settings.restartNeeded
    assert settings.nodeAeTitle == "NEWAE"
    assert listening(new_port) and not listening(old_port)
    ok = echo_timed(NodeInfo("self", "NEWAE", "127.0.0.1", new_port, "move", frozenset()), "T")
    assert ok.ok, ok.message


def test_accept_policy_applies_at_once(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    settings = model.settings
    settings.startNode()
    settle(loop)
    us = NodeInfo("self", "KIOSK", "127.0.0.1", core.settings.port, "move", frozenset())
    assert echo_timed(us, "STRANGER").ok
    messages = Recorder(settings.message)
    settings.setAcceptPolicy("known")
    settle(loop)
    assert "none is registered yet" in messages.calls[0][0]
    assert settings.acceptPolicy == "known"
    assert load_settings(core.settings.data_dir).accept_policy == "known"
    refused = echo_timed(us, "STRANGER")
    assert not refused.ok and "rejected the association" in refused.message
    assert save_node(settings, loop, "", "Friend", "STRANGER", "127.0.0.1", "104", "move",
                     ["store", "find", "retrieve"]) == ""  # fmt: skip
    run_until(loop, lambda: echo_timed(us, "STRANGER").ok, timeout=10)  # known now


def test_nodes_add_edit_delete(app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop) -> None:
    _core, model = app
    settings = model.settings
    assert settings.nodes.count == 0
    assert save_node(settings, loop, "", "PACS", "ORTHANC", "10.0.0.5", "4242", "get",
                     ["find", "retrieve"]) == ""  # fmt: skip
    (row,) = rows(settings)
    assert row["name"] == "PACS"
    assert row["detail"] == "ORTHANC @ 10.0.0.5:4242 · C-GET · may use: Query, Retrieve"
    assert model.queryRetrieve.nodeNames == ["PACS"]  # the Query tab's picker follows
    fields = settings.nodeFields("PACS")
    assert fields == {"name": "PACS", "aeTitle": "ORTHANC", "host": "10.0.0.5", "port": "4242",
                      "method": "get", "services": ["find", "retrieve"], "tls": False,
                      "tlsCa": "", "tlsCert": "", "tlsKey": "", "tlsPeerCert": ""}  # fmt: skip

    # The editor refuses bad values and says why; nothing changes.
    assert "AE title" in save_node(settings, loop, "PACS", "PACS", "BAD\\AE", "10.0.0.5", "4242",
                                   "get", ["find"])  # fmt: skip
    assert "must be a number" in save_node(settings, loop, "PACS", "PACS", "ORTHANC",
                                           "10.0.0.5", "port", "get", ["find"])  # fmt: skip
    assert "exists already" in save_node(settings, loop, "", "PACS", "X", "h", "1", "move", [])
    assert rows(settings)[0]["detail"] == row["detail"]

    assert save_node(settings, loop, "PACS", "Main PACS", "ORTHANC", "10.0.0.6", "104", "move",
                     ["store", "find", "retrieve"]) == ""  # fmt: skip
    (row,) = rows(settings)
    assert row["name"] == "Main PACS"
    assert row["detail"] == "ORTHANC @ 10.0.0.6:104 · C-MOVE · may use: Store, Query, Retrieve"
    assert model.queryRetrieve.nodeNames == ["Main PACS"]

    assert "Main PACS" in settings.deletePrompt("Main PACS")
    settings.deleteNode("Main PACS")
    settle(loop)
    assert settings.nodes.count == 0
    assert model.queryRetrieve.nodeNames == []


def test_echo_reports_success_with_round_trip_and_a_stopped_peer_readably(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    _core, model = app
    settings = model.settings
    peer = StoreSCP(tmp_path / "scp", "+xa", ae_title="STORESCP").start()
    try:
        assert save_node(settings, loop, "", "Archive", "STORESCP", "127.0.0.1", str(peer.port),
                         "move", ["store"]) == ""  # fmt: skip
        assert save_node(settings, loop, "", "Stopped", "NOBODY", "127.0.0.1", str(free_port()),
                         "move", ["store"]) == ""  # fmt: skip
        states: list[str] = []
        settings.nodes.dataChanged.connect(lambda *_: states.append(rows(settings)[0]["state"]))
        settings.testNode("Archive")
        settings.testNode("Stopped")
        settle(loop)
        assert states[0] == "testing"  # the row says so while the C-ECHO runs
    finally:
        peer.stop()
    archive, stopped = rows(settings)
    assert archive["state"] == "ok"
    assert archive["text"].startswith("Archive answered the C-ECHO in ")
    assert archive["text"].endswith(" ms")
    assert stopped["state"] == "failed"
    assert "refused the connection: nothing listens on port" in stopped["text"]


def test_storage_location_and_usage(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    settings = model.settings
    assert settings.storageLocation == str(core.settings.data_dir)
    assert settings.storageText.startswith("0 images in 0 studies use 0 B.")
    assert " free of " in settings.storageText
    assert 0.0 < settings.diskUsed < 1.0
