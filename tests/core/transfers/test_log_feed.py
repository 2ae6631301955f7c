"""The transfer log's change feed: what it publishes to the bus."""

from __future__ import annotations

from datetime import timedelta

from core.app import Core
from core.db.models import Transfer
from core.transfers.log import _ChangeFeed


def test_a_row_that_changed_back_within_the_second_is_still_published(core: Core) -> None:
    """A transfer sent again within the second its JSON times show reads the same as before;
    its updated_at (to the microsecond) tells the feed it changed."""
    transfers = core.transfers
    tid = transfers.start_incoming("SCANNER", "127.0.0.1:4000", "")
    transfers.finish(tid)
    feed = _ChangeFeed(core.sessions, core.events)
    assert [row["id"] for row in feed._poll(publish=True)] == [tid]
    assert feed._poll(publish=True) == []  # nothing changed
    with core.sessions.begin() as session:
        transfer = session.get(Transfer, tid)
        assert transfer is not None and transfer.updated_at is not None
        transfer.updated_at += timedelta(microseconds=1)
    assert [row["id"] for row in feed._poll(publish=True)] == [tid]
    feed.close()
