"""PDUs longer than the node announced: before the association, inside one, and a command
set that never ends. The node must not allocate what a peer announces (PS3.8 9.3: a PDU
length is the peer's claim, not a size to reserve), must abort, and must keep serving the
legitimate sender beside the attacker.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.attacks.conftest import StartNode
from tests.support.attack import (
    MAX_PDATA,
    QUERY,
    STORAGE,
    STUDY_FIND,
    ZEROS,
    Context,
    Findings,
    LegitTraffic,
    RawAssociation,
    ResourceSampler,
    Sockets,
    closed_by_peer,
    connect,
    mb,
    pdv_pdu,
    send_until,
)

pytestmark = pytest.mark.attack

HUGE_RQ_HEADER = b"\x01\x00\xff\xff\xff\xff"  # an A-ASSOCIATE-RQ of 4 GiB announced
HUGE_PDATA_HEADER = b"\x04\x00\xff\xff\xff\xff"  # a P-DATA-TF of 4 GiB announced
ARTIM = 5.0  # the node's artim_timeout (its default)


def test_huge_pdu_headers_before_the_association(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node(artim_timeout=ARTIM)
    with ResourceSampler(node.pid) as usage, Sockets() as attackers:
        started = time.monotonic()
        refused = 0
        for _ in range(20):
            try:
                attackers.add(connect(node.port)).sendall(HUGE_RQ_HEADER)  # then silence
            except OSError:  # the node is gone (or refuses): counted, the attack goes on
                refused += 1
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=1).start()
        legit.stop()
        # an A-ASSOCIATE-RQ over 64 KiB is refused at once; at the latest ARTIM ends it
        deadline = started + ARTIM + 3.0
        closed = refused + sum(
            closed_by_peer(sock, max(0.0, deadline - time.monotonic())) for sock in attackers.open
        )
    findings.note("attackers connected", 20 - refused)
    findings.resources(usage)
    if not usage.exited:  # a killed node closes everything: nothing to learn
        findings.note("attackers closed by the node", f"{closed}/20")
        findings.expect(
            closed == 20, f"{20 - closed} of 20 connections still open {ARTIM + 3:g} s after accept"
        )
    findings.legit(legit, node)
    findings.check()


@pytest.mark.parametrize(
    ("contexts", "path"), [(QUERY, "pynetdicom"), (STORAGE, "lean")], ids=["query", "storage"]
)
def test_a_huge_pdu_inside_an_association_is_an_abort(
    start_node: StartNode,
    findings: Findings,
    tmp_path: Path,
    contexts: list[Context],
    path: str,
) -> None:
    node = start_node()
    with ResourceSampler(node.pid) as usage:
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=10).start()
        with RawAssociation(node.port, contexts) as attacker:
            attacker.sock.sendall(HUGE_PDATA_HEADER)  # then silence
            ending = attacker.ending(timeout=10)
        legit.stop()
    findings.note("path", path)
    findings.note("attacker's association", str(ending))
    findings.resources(usage)
    findings.expect(
        ending.kind == "abort", f"a 4 GiB P-DATA-TF was answered by {ending}, not an A-ABORT"
    )
    findings.legit(legit, node)
    findings.check()


def test_a_command_set_that_never_ends_is_an_abort(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node()
    flood = 200_000_000
    with ResourceSampler(node.pid) as usage:
        legit = LegitTraffic(tmp_path / "legit", node.port, batch=50, max_batches=10).start()
        with RawAssociation(node.port, QUERY, timeout=15) as attacker:
            fragment = pdv_pdu(attacker.context_id(STUDY_FIND), ZEROS, command=True, last=False)
            assert len(fragment) == MAX_PDATA + 6  # as long as the node takes, not longer
            sent, stopped = send_until(attacker.sock, iter(lambda: fragment, b""), flood)
            ending = attacker.ending(timeout=10)
        legit.stop()
    findings.note("command bytes sent", mb(sent))
    findings.note("sending stopped", stopped or "no: all sent")
    findings.note("attacker's association", str(ending))
    findings.resources(usage)
    findings.expect(stopped != "stalled", "the node stopped reading but kept the connection")
    findings.expect(
        ending.kind in ("abort", "closed"),
        f"{mb(sent)} of command fragments were answered by {ending}, not an abort",
    )
    findings.legit(legit, node)
    findings.check()
