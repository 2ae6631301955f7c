"""What a peer says about its own messages is not trusted: the C-STORE command's UIDs against
the data set's, the data set against its context's transfer syntax, the calling AE title in
a log line; and what the policy refuses is refused with a status, not a traceback.

Each runs on both paths of the node: the lean storage acceptor (storage and verification
contexts only) and pynetdicom's (the same with a C-FIND context added).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, build_role
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from core.net import dimse
from core.net.status import Status
from tests.attacks.conftest import StartNode
from tests.support.attack import (
    ATTACKER,
    CT,
    MR,
    QUERY,
    STORAGE,
    VERIFICATION,
    AssociationRefused,
    Context,
    Findings,
    LegitTraffic,
    RawAssociation,
    associate_rq,
    big_image,
    legit_image,
    missing_images,
    with_calling_ae,
)
from tests.support.node import AE as KIOSK_AE
from tests.support.node import KioskServer, cli

pytestmark = pytest.mark.attack

PATHS = pytest.mark.parametrize("contexts", [STORAGE, STORAGE + QUERY], ids=["lean", "pynetdicom"])


def accepted(status: int) -> bool:
    """Success or a warning: the image was kept (PS3.4 B.2.3)."""
    return status == Status.SUCCESS or 0xB000 <= status <= 0xBFFF


# -- the C-STORE command's UIDs --------------------------------------------------------------------
@dataclass(frozen=True)
class Forged:
    """A C-STORE whose command and data set disagree, or carry UIDs that are not UIDs."""

    label: str
    command_uid: str
    dataset_uid: str
    command_class: str = CT
    dataset_class: str = CT


BAD_UIDS = {"'..'": "..", "'/tmp/x'": "/tmp/x", "a NUL": "1.2.840.10008\0.1", "empty": ""}


def forged_requests() -> list[Forged]:
    forged = []
    for label, bad in BAD_UIDS.items():
        forged.append(Forged(f"command UID {label}", bad, generate_uid()))
        forged.append(Forged(f"command and data set UID {label}", bad, bad))
    forged.append(Forged("command UID another valid one", generate_uid(), generate_uid()))
    same = generate_uid()
    forged.append(Forged("command class CT, data set MR", same, same, CT, MR))
    return forged


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _store(node: KioskServer, contexts: list[Context], syntax: str, sop_class: str,
           sop: str, data: bytes) -> str:  # fmt: skip
    """One C-STORE on its own association: "0x...." (its status) or how it failed."""
    try:
        with RawAssociation(node.port, contexts, timeout=5) as scu:
            status = scu.store(scu.context_id(CT, syntax), sop_class, sop, data)
            scu.release()
    except Exception as exc:  # an abort or a refusal is not a success either
        return f"failed: {exc!r}"
    return f"0x{status:04X}"


@PATHS
def test_a_c_store_is_checked_against_its_data_set(
    start_node: StartNode, findings: Findings, tmp_path: Path, contexts: list[Context]
) -> None:
    node = start_node()
    outside = Path("/tmp/x")
    outside_before = outside.stat().st_mtime_ns if outside.exists() else None
    before = files_under(tmp_path)
    sent: set[str] = set()
    for forged in forged_requests():
        data = b"".join(big_image(forged.dataset_uid, 1, sop_class=forged.dataset_class))
        outcome = _store(
            node, contexts, ExplicitVRLittleEndian, forged.command_class, forged.command_uid, data
        )
        findings.note(forged.label, outcome)
        findings.expect(
            outcome.startswith("0x") and not accepted(int(outcome, 16)),
            f"{forged.label}: {outcome} (a failure status was due)",
        )
        sent |= {forged.command_uid, forged.dataset_uid}
    # Explicit VR bytes on an Implicit VR Little Endian context (PS3.5 A.1)
    sop, explicit = legit_image("WRONG-SYNTAX")
    outcome = _store(node, contexts, ImplicitVRLittleEndian, CT, sop, explicit)
    findings.note("Explicit VR data set on an Implicit VR context", outcome)
    findings.expect(
        not (outcome.startswith("0x") and accepted(int(outcome, 16))),
        f"an Explicit VR data set on an Implicit VR context: answered {outcome}",
    )
    sent.add(sop)
    # a valid image after them all: once it is indexed, so is anything acknowledged before
    barrier, data = legit_image("BARRIER")
    findings.expect(
        _store(node, contexts, ExplicitVRLittleEndian, CT, barrier, data) == "0x0000",
        "the valid C-STORE after the forged ones was not a success",
    )
    findings.expect(not missing_images(node, [barrier]), "the valid image was not stored")
    stored = set(node.instances())
    findings.expect(not stored & sent, f"stored from forged requests: {sorted(stored & sent)}")
    written = files_under(tmp_path) - before
    store = node.data_dir / "store"
    images = {p.stem for p in written if p.suffix == ".dcm" and store in p.parents}
    findings.expect(images <= {barrier}, f"image files written for forged requests: {images}")
    strays = {
        p
        for p in written
        if node.data_dir not in p.parents and p != node.log_path and "legit" not in p.parts
    }
    findings.expect(not strays, f"files written outside the data directory: {strays}")
    now = outside.stat().st_mtime_ns if outside.exists() else None
    findings.expect(now == outside_before, f"{outside} was written")
    findings.check()


# -- the calling AE title in the log ---------------------------------------------------------------
FORGED_AE = b"EVIL\nFAKE LINE"


@pytest.mark.parametrize("policy", ["any", "known"])
def test_a_line_feed_in_the_calling_ae_title_forges_no_log_line(
    start_node: StartNode, findings: Findings, policy: str
) -> None:
    node = start_node(accept_policy=policy)
    for path, contexts in (("lean", STORAGE), ("pynetdicom", STORAGE + QUERY)):
        rq = with_calling_ae(associate_rq(contexts), FORGED_AE)
        try:
            with RawAssociation(node.port, contexts, rq=rq, timeout=10) as scu:
                echo = dimse.CEchoRQ(1).encode()
                scu.send(dimse.pdata_pdus(scu.context_id(VERIFICATION), echo, None, scu.max_send))
                response = scu.read_response()
                sop, data = legit_image("FORGED-AE")
                status = scu.store(scu.context_id(CT, ExplicitVRLittleEndian), CT, sop, data)
                scu.release()
            outcome = f"associated; C-ECHO {type(response).__name__}, C-STORE 0x{status:04X}"
        except AssociationRefused as exc:
            outcome = f"refused: {exc}"
        except Exception as exc:
            outcome = f"failed: {exc!r}"
        findings.note(path, outcome)
    log = settled_log(node)
    lines = log.splitlines()
    forged = [line for line in lines if line.lstrip().startswith("FAKE LINE")]
    echoed = [line for line in lines if "EVIL" in line]
    findings.note("log lines naming the AE", " | ".join(echoed[:4]) or "none")
    findings.expect(not forged, f"forged log lines: {forged}")
    findings.check()


def settled_log(node: KioskServer, quiet: float = 0.5, timeout: float = 5.0) -> str:
    """The node's log once nothing was added to it for ``quiet`` s (bounded)."""
    deadline = time.monotonic() + timeout
    log = node.log()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = node.log()
        if now == log:
            break
        log = now
    return log


# -- refused services -----------------------------------------------------------------------------
def test_services_the_policy_refuses_answer_not_authorized(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node(accept_policy="any")
    cli(node.data_dir, "nodes", "add", "Scanner", "--ae", "SCANNER", "--host", ATTACKER,
        "--port", "11119", "--allow", "store")  # fmt: skip
    seed = LegitTraffic(tmp_path / "seed", node.port, batch=2, max_batches=1).start()
    seed.stop()
    findings.expect(not seed.missing(node), "the seed images were not stored")  # a match exists
    ae = AE(ae_title="SCANNER")
    for model in (
        StudyRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelMove,
        StudyRootQueryRetrieveInformationModelGet,
    ):
        ae.add_requested_context(model)
    ae.add_requested_context(CTImageStorage)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 15
    assoc = ae.associate(
        "127.0.0.1",
        node.port,
        ae_title=KIOSK_AE,
        bind_address=(ATTACKER, 0),
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[],
    )
    findings.expect(assoc.is_established, "the association was not accepted")
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    final: dict[str, int | None] = {}
    try:
        if assoc.is_established:
            final["C-FIND"] = last_status(
                assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
            )
            final["C-MOVE"] = last_status(
                assoc.send_c_move(query, "SCANNER", StudyRootQueryRetrieveInformationModelMove)
            )
            final["C-GET"] = last_status(
                assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)
            )
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()
    for service, status in final.items():
        shown = "no response" if status is None else f"0x{status:04X}"
        findings.note(service, shown)
        findings.expect(status == Status.NOT_AUTHORIZED, f"{service} refused with {shown}")
    tracebacks = settled_log(node).count("Traceback")
    findings.note("tracebacks in the log", tracebacks)
    findings.expect(tracebacks == 0, f"{tracebacks} tracebacks in the node's log")
    findings.check()


def last_status(responses: Iterable[tuple[Dataset, Dataset | None]]) -> int | None:
    """The status of the final response of a C-FIND/C-MOVE/C-GET (None: no response)."""
    status = None
    for response, _identifier in responses:
        if response is not None and "Status" in response:
            status = int(response.Status)
    return status
