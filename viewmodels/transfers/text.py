"""How transfers read in the Transfer Log tab: status words and tones, times, counts, details.

Pure functions of a transfer (or a drill-down row) as the core's transfer log gives it; no Qt,
so the wording is tested without a window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.transfers.log import ABORTABLE, RESENDABLE
from viewmodels.levels import format_cell

# Status -> (text, tone). The tone picks a colour in the theme; the text is always shown too.
STATUS: dict[str, tuple[str, str]] = {
    "waiting": ("Waiting", "waiting"),
    "sending": ("Sending", "active"),
    "receiving": ("Receiving", "active"),
    "sent": ("Sent", "ok"),
    "received": ("Received", "ok"),
    "stored": ("Stored", "ok"),
    "duplicate": ("Duplicate", "ok"),
    "partial": ("Partly failed", "error"),
    "aborted": ("Aborted", "warning"),
    "failed": ("Failed", "error"),
}
PRIORITY_TEXT = {"high": "High", "medium": "Medium", "low": "Low"}
LEVEL_NAMES = {"study": "Study", "series": "Series", "image": "Image"}


def status_text(status: str) -> str:
    return STATUS.get(status, (status.capitalize(), "neutral"))[0]


def status_tone(status: str) -> str:
    return STATUS.get(status, ("", "neutral"))[1]


def _parse(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        value = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_time(iso: str | None, now: datetime | None = None) -> str:
    """Local time: only the time for today, the date and time otherwise."""
    value = _parse(iso)
    if value is None:
        return ""
    local = value.astimezone()
    today = (now or datetime.now().astimezone()).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M")


def format_duration(start: str | None, end: str | None) -> str:
    first, last = _parse(start), _parse(end)
    if first is None or last is None:
        return ""
    seconds = max(0, round((last - first).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_bytes(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def level_label(row: Mapping[str, Any]) -> str:
    """A drill-down row's name; a study's starts with the patient's name, shown as elsewhere."""
    label = str(row.get("label") or row.get("uid") or "")
    if row.get("level") == "study" and "^" in label:
        name, sep, rest = label.partition(" - ")
        return format_cell("PatientName", name) + sep + rest
    return label


_NAME_IN_PARENS = re.compile(r"\(([^()]*\^[^()]*)\)")


def description_text(transfer: Mapping[str, Any]) -> str:
    """What a transfer holds ("2 studies (DOE^JOHN)"), with the name shown as elsewhere."""
    text = str(transfer.get("description") or "")
    return _NAME_IN_PARENS.sub(lambda m: f"({format_cell('PatientName', m.group(1))})", text)


def peer_text(transfer: Mapping[str, Any]) -> str:
    """The destination (outgoing) or source (incoming): the node's name, else its AE title."""
    return str(transfer.get("node") or transfer.get("ae_title") or transfer.get("peer") or "?")


def peer_detail(transfer: Mapping[str, Any]) -> str:
    ae, peer = transfer.get("ae_title") or "", transfer.get("peer") or ""
    if ae and peer:
        return f"{ae} @ {peer}"
    return str(ae or peer)


def counts_text(transfer: Mapping[str, Any]) -> str:
    images, done, failed = (int(transfer.get(k) or 0) for k in ("images", "done", "failed"))
    if transfer.get("direction") == "in":
        text = f"{done:,} received"
    else:
        text = f"{done:,} of {images:,} sent"
    return text + (f" · {failed:,} failed" if failed else "")


def _shares(row: Mapping[str, Any]) -> tuple[float, float]:
    """(done, failed) as shares of the row's images; an incoming transfer's size is what came."""
    total = int(row.get("images", row.get("total")) or 0)
    done, failed = int(row.get("done") or 0), int(row.get("failed") or 0)
    if total <= 0:
        finished = row.get("status") not in ("receiving", "waiting", "sending")
        return (1.0 if finished else 0.0), 0.0
    if row.get("direction") == "in" and row.get("status") == "receiving":
        return 0.0, 0.0  # still coming: the total is not known
    return min(1.0, done / total), min(1.0, failed / total)


def progress(row: Mapping[str, Any]) -> float:
    """The share of a transfer's (or level row's) images that arrived (0..1)."""
    return _shares(row)[0]


def failed_share(row: Mapping[str, Any]) -> float:
    """The share of its images that failed (shown in the error colour after the progress)."""
    return _shares(row)[1]


def list_status(transfer: Mapping[str, Any]) -> tuple[str, str]:
    """(text, tone) of a transfer in the list: a waiting one with an error is retrying."""
    status = str(transfer.get("status") or "")
    if status == "waiting" and transfer.get("error"):
        return "Retrying", "warning"
    return status_text(status), status_tone(status)


# Where a resent transfer is now, said as the toast that follows it; the last are final.
_FOLLOW_UP = {
    "Waiting": "Transfer #{id} is waiting to be sent again.",
    "Sending": "Transfer #{id} is being sent again.",
    "Retrying": "Transfer #{id} could not be sent yet: it waits to try again.",
    "Sent": "Transfer #{id} sent.",
    "Partly failed": "Transfer #{id} sent, but some images failed.",
    "Failed": "Transfer #{id} failed.",
    "Aborted": "Transfer #{id} aborted.",
}
FINAL_FOLLOW_UPS = frozenset({"Sent", "Partly failed", "Failed", "Aborted"})


def follow_up(transfer: Mapping[str, Any]) -> tuple[str, str]:
    """(its row's status text, the message saying it) for an outgoing transfer being followed."""
    status = list_status(transfer)[0]
    text = _FOLLOW_UP.get(status, "Transfer #{id}: " + status.lower() + ".")
    return status, text.format(id=transfer.get("id"))


def is_indeterminate(row: Mapping[str, Any]) -> bool:
    return row.get("direction") == "in" and row.get("status") == "receiving"


def times_text(transfer: Mapping[str, Any]) -> tuple[str, str]:
    """(queued or started, finished or what is going on now)."""
    start = format_time(transfer.get("created") or transfer.get("started"))
    finished = format_time(transfer.get("finished"))
    if not finished:
        finished = {"sending": "in progress", "receiving": "in progress"}.get(
            str(transfer.get("status")), ""
        )
    return start, finished


def can_resend(transfer: Mapping[str, Any] | None) -> bool:
    if transfer is None:
        return False
    return transfer.get("direction") == "out" and transfer.get("status") in RESENDABLE


def can_abort(transfer: Mapping[str, Any] | None) -> bool:
    if transfer is None:
        return False
    return transfer.get("direction") == "out" and transfer.get("status") in ABORTABLE


def transfer_details(transfer: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every field of a transfer, as (name, value) lines for the Details dialog."""
    out = transfer.get("direction") == "out"
    images, done, failed = (int(transfer.get(k) or 0) for k in ("images", "done", "failed"))
    lines = [
        ("Transfer", f"#{transfer.get('id')}"),
        ("Direction", "Outgoing" if out else "Incoming"),
        ("Status", list_status(transfer)[0]),  # as its row says: a waiting one may be retrying
        ("Destination" if out else "Source", peer_text(transfer)),
        ("AE title", str(transfer.get("ae_title") or "")),
        ("Address", str(transfer.get("peer") or "")),
        ("Priority", PRIORITY_TEXT.get(str(transfer.get("priority") or ""), "")),
        ("What", description_text(transfer)),
        ("Images", f"{images:,}"),
        ("Sent" if out else "Received", f"{done:,}"),
        ("Failed", f"{failed:,}"),
        ("Size", format_bytes(transfer.get("bytes"))),
        ("Attempts", str(transfer.get("attempts") or "") if out else ""),
        ("Queued" if out else "Started", format_time(transfer.get("created"))),
        ("Started", format_time(transfer.get("started")) if out else ""),
        ("Finished", format_time(transfer.get("finished"))),
        ("Duration", format_duration(transfer.get("started"), transfer.get("finished"))),
    ]
    return [{"name": name, "value": value} for name, value in lines if value]


def level_details(row: Mapping[str, Any], outgoing: bool) -> list[dict[str, str]]:
    code = row.get("status_code")
    lines = [
        ("Level", LEVEL_NAMES.get(str(row.get("level")), str(row.get("level") or ""))),
        ("Name", level_label(row)),
        ("UID", str(row.get("uid") or "")),
        ("Status", status_text(str(row.get("status") or ""))),
        ("Images", f"{int(row.get('total') or 0):,}"),
        ("Sent" if outgoing else "Received", f"{int(row.get('done') or 0):,}"),
        ("Failed", f"{int(row.get('failed') or 0):,}"),
        ("DICOM status", f"0x{int(code):04X}" if code else ""),
    ]
    return [{"name": name, "value": value} for name, value in lines if value]
