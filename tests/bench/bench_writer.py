"""CPU the index writer spends per received image, by batch size, as the receiving node runs it.

The node's writer thread shares the interpreter lock with the association threads: every
millisecond it holds costs the receive. It indexes 1000 CT images of one series in batches of
10, 50, 200 and 1000, each batch with its transfer log items in the same transaction (as
``Intake`` does). The reference, measured in the same run, is the largest batch: the
ratio shows what a batch costs on top of its images.

Goal: batches of 10 cost no more than 4x the per-image CPU of one batch of 1000 (building
the statements on every call made it about 10x).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from core.app import Core
from core.config import load_settings
from core.dicom.header import parse_instance
from core.dicom.synth import ct_series
from core.index.writer import IngestItem, Outcome
from core.transfers.log import ITEM_DUPLICATE, ITEM_STORED, ItemRecord

COUNT = 1000
BATCHES = (10, 50, 200, 1000)
ROUNDS = 3  # the least CPU of a few rounds: other processes on the machine only add to it


def _cpu_per_image(root: Path, datas: Sequence[bytes], batch: int) -> float:
    with Core(load_settings(root, {"fsync": False})) as core:
        items = []
        for data in datas:
            incoming = core.store.write_incoming(data, len(data), durable=False)
            header = parse_instance(data).header
            items.append(IngestItem(incoming, header, len(data), "SCU", "127.0.0.1:104"))
        transfer_id = core.transfers.start_incoming("SCU", "127.0.0.1:104")

        def record(chunk: Sequence[IngestItem]) -> Callable[[Session, Sequence[Outcome]], None]:
            def add(session: Session, outcomes: Sequence[Outcome]) -> None:
                core.transfers.add_items(
                    session,
                    transfer_id,
                    [
                        ItemRecord(
                            i.header.sop_uid, i.header.series_uid, i.header.study_uid,
                            i.header.patient_name,
                            ITEM_DUPLICATE if o == Outcome.DUPLICATE else ITEM_STORED, 0, i.size,
                        )
                        for i, o in zip(chunk, outcomes, strict=True)
                    ],
                )  # fmt: skip

            return add

        start = time.process_time()
        for first in range(0, len(items), batch):
            chunk = items[first : first + batch]
            core.writer.write_batch(chunk, record=record(chunk))
        elapsed = time.process_time() - start
        assert core.stats()["instances"] == len(items)
    return elapsed / len(items)


def main() -> None:
    datas = list(ct_series(COUNT))
    with tempfile.TemporaryDirectory(prefix="bench-writer-") as tmp:
        cost = {
            batch: min(
                _cpu_per_image(Path(tmp) / f"data-{batch}-{n}", datas, batch) for n in range(ROUNDS)
            )
            for batch in BATCHES
        }
    reference = cost[BATCHES[-1]]
    # cost(B) ~ fixed / B + per_image: fitted on the smallest and the largest batch.
    small, large = BATCHES[0], BATCHES[-1]
    fixed = (cost[small] - cost[large]) / (1 / small - 1 / large)
    per_image = cost[large] - fixed / large
    print(f"images: {COUNT} CT instances of one series, transfer log items in each batch")
    print(f"CPU time of the indexing thread's process, least of {ROUNDS} rounds")
    for batch in BATCHES:
        print(
            f"batches of {batch:4d}: {cost[batch] * 1000:6.3f} ms CPU per image"
            f"  ratio {cost[batch] / reference:.2f}x"
        )
    print(f"fitted: {fixed * 1000:.2f} ms per batch + {per_image * 1000:.3f} ms per image")
    print(f"goal: batches of {small} <= 4x the per-image CPU of one batch of {large}")


if __name__ == "__main__":
    main()
