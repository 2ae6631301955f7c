"""Data sets too large to hold: one whose fragments never end, one over ``max_dataset_bytes``,
one under it but over ``receive_memory_bytes``. The node holds at most its receive budget in
memory (larger data sets are spooled to disk as they arrive), refuses a data set over the
limit with Out of Resources (0xA700) and keeps serving the association, and its legitimate
sender loses nothing meanwhile.

Big data sets are streamed from one shared buffer (``tests.support.attack.ZEROS``): the test
itself never holds one.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from core.net.status import Status
from tests.attacks.conftest import StartNode
from tests.support.attack import (
    CT,
    FRAME,
    MAX_DATASET_BYTES,
    RECEIVE_MEMORY_BYTES,
    Findings,
    LegitTraffic,
    RawAssociation,
    ResourceSampler,
    big_image,
    endless_image,
    legit_image,
    mb,
    missing_images,
    send_until,
)

pytestmark = pytest.mark.attack

NETWORK_TIMEOUT = 5  # the node's network_timeout in these tests: a stalled peer ends soon


def frames_for(size: int) -> int:
    return math.ceil(size / FRAME)


def test_a_data_set_that_never_ends(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node(network_timeout=NETWORK_TIMEOUT)
    endless = 400_000_000
    sop = generate_uid()
    with ResourceSampler(node.pid) as usage:
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=20).start()
        with RawAssociation(node.port, timeout=15) as attacker:
            context = attacker.context_id(CT, ExplicitVRLittleEndian)
            pdus = attacker.store_pdus(context, CT, sop, endless_image(sop))
            sent, stopped = send_until(attacker.sock, pdus, endless)
            ending = attacker.ending(timeout=NETWORK_TIMEOUT + 10)
        legit.stop()
    findings.note("data set bytes sent", mb(sent))
    findings.note("sending stopped", stopped or "no: all sent")
    findings.note("attacker's association", str(ending))
    findings.resources(usage)
    findings.expect(stopped != "stalled", "the node stopped reading but kept the connection")
    findings.expect(
        ending.kind in ("abort", "closed") or ending.status == Status.OUT_OF_RESOURCES,
        f"an endless data set was answered by {ending}, not 0xA700 or an abort",
    )
    findings.expect(not set(node.instances()) & {sop}, "the endless data set was stored")
    findings.legit(legit, node)
    findings.check()


def test_a_data_set_over_max_dataset_bytes_is_refused_and_the_association_goes_on(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node()
    big, size = generate_uid(), 300_000_000
    frames = frames_for(size)
    assert frames * FRAME > MAX_DATASET_BYTES
    small, data = legit_image("AFTER-BIG")
    statuses: list[int] = []
    with ResourceSampler(node.pid) as usage:
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=20).start()
        try:
            with RawAssociation(node.port, timeout=60) as attacker:
                context = attacker.context_id(CT, ExplicitVRLittleEndian)
                statuses.append(attacker.store(context, CT, big, big_image(big, frames)))
                statuses.append(attacker.store(context, CT, small, data))
                attacker.release()
        except Exception as exc:  # aborted, reset, timed out: what the node did instead
            findings.expect(False, f"the association did not go on: {exc!r}")
        finally:
            legit.stop()
    findings.note("data set", mb(frames * FRAME))
    findings.note("statuses", ", ".join(f"0x{s:04X}" for s in statuses))
    findings.resources(usage)
    if statuses:
        findings.expect(
            statuses[0] == Status.OUT_OF_RESOURCES,
            f"a {mb(frames * FRAME)} data set (limit {mb(MAX_DATASET_BYTES)}) was answered "
            f"0x{statuses[0]:04X}, not 0xA700",
        )
    if len(statuses) > 1:
        findings.expect(
            statuses[1] == Status.SUCCESS,
            f"the next C-STORE on the association was answered 0x{statuses[1]:04X}",
        )
        findings.expect(
            not missing_images(node, [small]), "the C-STORE after the refused one was not stored"
        )
    findings.expect(big not in node.instances(), "the data set over the limit was stored")
    findings.legit(legit, node)
    findings.check()


def test_a_data_set_over_the_memory_budget_is_spooled_and_stored(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node()
    sop, size = generate_uid(), 200_000_000
    frames = frames_for(size)
    assert RECEIVE_MEMORY_BYTES < frames * FRAME < MAX_DATASET_BYTES
    status: int | None = None
    with ResourceSampler(node.pid) as usage:
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=20).start()
        try:
            with RawAssociation(node.port, timeout=60) as attacker:
                context = attacker.context_id(CT, ExplicitVRLittleEndian)
                status = attacker.store(context, CT, sop, big_image(sop, frames))
                attacker.release()
        except Exception as exc:
            findings.expect(False, f"the association failed: {exc!r}")
        finally:
            legit.stop()
        stored = not missing_images(node, [sop], timeout=60)  # indexing is measured too
    findings.note("data set", mb(frames * FRAME))
    findings.note("status", "-" if status is None else f"0x{status:04X}")
    findings.resources(usage)
    findings.expect(
        status == Status.SUCCESS, f"the C-STORE was answered {findings.facts['status']}"
    )
    findings.expect(stored, "the image was not stored")
    findings.legit(legit, node)
    findings.check()
