"""The Transfer Log tab: incoming and outgoing transfers, their drill-down, and their operations.

The list shows one page of transfers (newest first) for one direction. The status table shows
the selected transfer by study, a study by series, a series by image. Live progress from the
core's transfer log updates rows in place.

- ``text``: how a transfer reads (status words and tones, times, counts, details); pure functions.
- ``lists``: the two list models, the page of transfers and the status table.
- ``tab``: the tab's model, which owns both lists and talks to the core.

What other modules use is re-exported here, so ``from viewmodels.transfers import ...`` stays.
"""

from viewmodels.transfers.lists import (
    LevelRole,
    TransferLevelModel,
    TransferListModel,
    TransferRole,
)
from viewmodels.transfers.tab import (
    CLEARABLE,
    LEVEL_COLUMNS,
    LIST_COLUMNS,
    PAGE_SIZE,
    Crumb,
    TransferLogModel,
)
from viewmodels.transfers.text import (
    LEVEL_NAMES,
    PRIORITY_TEXT,
    STATUS,
    can_abort,
    can_resend,
    counts_text,
    description_text,
    failed_share,
    format_bytes,
    format_duration,
    format_time,
    is_indeterminate,
    level_details,
    level_label,
    list_status,
    peer_detail,
    peer_text,
    progress,
    status_text,
    status_tone,
    times_text,
    transfer_details,
)

__all__ = [
    "CLEARABLE",
    "LEVEL_COLUMNS",
    "LEVEL_NAMES",
    "LIST_COLUMNS",
    "PAGE_SIZE",
    "PRIORITY_TEXT",
    "STATUS",
    "Crumb",
    "LevelRole",
    "TransferLevelModel",
    "TransferListModel",
    "TransferLogModel",
    "TransferRole",
    "can_abort",
    "can_resend",
    "counts_text",
    "description_text",
    "failed_share",
    "format_bytes",
    "format_duration",
    "format_time",
    "is_indeterminate",
    "level_details",
    "level_label",
    "list_status",
    "peer_detail",
    "peer_text",
    "progress",
    "status_text",
    "status_tone",
    "times_text",
    "transfer_details",
]
