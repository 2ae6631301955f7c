"""Connections that hold the node without associating: 1,000 idle sockets and a stream of
malformed A-ASSOCIATE-RQs from one peer. ARTIM (PS3.8 9.1.5) ends the idle ones, the per-peer
limit closes the excess at once, and slots are held only by established associations: a
legitimate sender on another address is accepted within a second and loses nothing.

The control runs the same legitimate traffic with no attack: what it measures is what the
attacked run is held to.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.attacks.conftest import StartNode, need_open_files
from tests.support.attack import (
    Findings,
    Flood,
    LegitTraffic,
    ResourceSampler,
    Sockets,
    first_response_seconds,
    malformed_requests,
    missing_images,
    open_idle,
    silent,
)
from tests.support.node import KioskServer

pytestmark = pytest.mark.attack

IDLE = 1000
MALFORMED_PER_SECOND = 100
IMAGES = 1000
ACCEPT_WITHIN = 1.0  # seconds from connect to the first C-STORE-RSP
MAX_THREADS = 80
ARTIM = 5.0  # the node's artim_timeout (its default)
ATTACK_SECONDS = ARTIM + 2  # the idle sockets outlive ARTIM during the attack


def legitimate_run(
    node: KioskServer, findings: Findings, folder: Path, seconds: float
) -> tuple[LegitTraffic, list[str]]:
    """One storescu of ``IMAGES`` images from 127.0.0.1 and, every 0.5 s for at least
    ``seconds`` s and as long as storescu runs, a probe association storing one image, timed
    from connect to its C-STORE-RSP. The sender and the probes' stored images."""
    legit = LegitTraffic(folder, node.port, batch=IMAGES, max_batches=1)
    legit.prepare().start()  # the images are written before the clock starts
    started = time.monotonic()
    latencies: list[float] = []
    probes: list[str] = []
    while legit.running() or time.monotonic() - started < seconds:
        try:
            latency, sop, status = first_response_seconds(node.port, timeout=3)
        except Exception as exc:  # refused, aborted, timed out: the legitimate peer lost
            findings.expect(False, f"a legitimate association failed: {exc!r}")
            latencies.append(float("inf"))
        else:
            latencies.append(latency)
            if findings.expect(status == 0, f"a legitimate C-STORE was answered 0x{status:04X}"):
                probes.append(sop)
        time.sleep(0.5)
    legit.stop()
    slowest = max(latencies, default=float("inf"))
    findings.note("storescu of 1,000", f"{sum(legit.seconds):.1f} s")
    findings.note("slowest first C-STORE-RSP", f"{slowest:.3f} s of {len(latencies)} probes")
    findings.expect(
        slowest < ACCEPT_WITHIN, f"a legitimate C-STORE took {slowest:.2f} s to be answered"
    )
    return legit, probes


def test_without_an_attack_the_legitimate_sender_meets_every_bound(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    node = start_node(artim_timeout=ARTIM)
    with ResourceSampler(node.pid) as usage:
        legit, probes = legitimate_run(node, findings, tmp_path / "legit", 2.0)
    findings.resources(usage, max_threads=MAX_THREADS)
    findings.legit(legit, node)
    lost = missing_images(node, probes, timeout=10)
    findings.expect(not lost, f"{len(lost)} acknowledged probe images were not stored")
    findings.check()


def test_idle_sockets_and_malformed_requests_do_not_crowd_out_a_legitimate_sender(
    start_node: StartNode, findings: Findings, tmp_path: Path
) -> None:
    need_open_files(IDLE + 512)
    node = start_node(artim_timeout=ARTIM)
    with ResourceSampler(node.pid) as usage, Sockets() as idle:
        started = time.monotonic()
        opened = open_idle(node.port, IDLE, idle)
        findings.note("idle connections", f"{opened} opened in {time.monotonic() - started:.1f} s")
        flood = Flood(node.port, malformed_requests(), rate=MALFORMED_PER_SECOND).start()
        try:
            legit, probes = legitimate_run(node, findings, tmp_path / "legit", ATTACK_SECONDS)
        finally:
            flood.stop()
        held = silent(idle.open)
    findings.note(
        "malformed requests",
        f"{flood.attempts} in {flood.seconds:.1f} s, {flood.sent} sent, "
        f"{flood.unanswered} not accepted within 1 s",
    )
    findings.note("idle sockets still open at the end", held)
    findings.resources(usage, max_threads=MAX_THREADS)
    findings.expect(
        opened == IDLE, f"only {opened} of {IDLE} idle connections were accepted within 15 s"
    )
    findings.expect(
        held == 0, f"{held} idle connections still held after {ATTACK_SECONDS:g} s (ARTIM)"
    )
    findings.legit(legit, node)
    lost = missing_images(node, probes, timeout=10)
    findings.expect(not lost, f"{len(lost)} acknowledged probe images were not stored")
    findings.check()
