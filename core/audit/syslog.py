"""Forwarding the audit trail to a syslog collector (PS3.15 A.5, RFC 5424 over TCP).

Each record goes out as one RFC 5424 message whose MSG is the record's A.5 XML (UTF-8, with the
BOM RFC 5424 asks for), framed by octet counting (RFC 6587 3.4.1, the framing of RFC 5425):
``<length> SP <message>``. Optionally over TLS (RFC 5425) with Python's ``ssl``.

Delivery is durable: ``audit_state.forwarded_id`` is the last record sent; a forwarder thread
sends every record after it, oldest first, and moves the mark after each batch. While the
collector cannot be reached nothing moves: the records wait in the database and go out, in
order, when it is back (retries back off from ``retry_delay`` to ``max_retry_delay``). A
collector that closed the connection is noticed before the next batch (the socket reads as
closed) so a batch is not written into a dead connection. Delivery is at least once: records
sent just before a connection broke may be sent again.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import ssl
import threading
from datetime import UTC, datetime

from core.audit.chain import AuditEntry, AuditTrail
from core.audit.records import SUCCESS
from core.audit.xml import to_xml

log = logging.getLogger(__name__)

APP_NAME = "dicom-kiosk"
MSG_ID = "DICOM+RFC3881"  # PS3.15 A.5: the MSGID of DICOM audit messages
FACILITY_AUTHPRIV = 10  # RFC 5424 6.2.1: security/authorization messages
SEVERITY_WARNING, SEVERITY_NOTICE = 4, 5
BOM = b"\xef\xbb\xbf"


def syslog_message(entry: AuditEntry, hostname: str, source_id: str, pid: int) -> bytes:
    """One RFC 5424 message (HEADER SP STRUCTURED-DATA SP MSG) carrying the A.5 XML."""
    severity = SEVERITY_NOTICE if entry.event.outcome == SUCCESS else SEVERITY_WARNING
    pri = FACILITY_AUTHPRIV * 8 + severity
    stamp = datetime.fromisoformat(entry.event.time.replace("Z", "+00:00")).astimezone(UTC)
    timestamp = stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
    header = f"<{pri}>1 {timestamp} {_token(hostname, 255)} {APP_NAME} {pid} {MSG_ID} -"
    return header.encode("ascii") + b" " + BOM + to_xml(entry.event, source_id)


def octet_counted(message: bytes) -> bytes:
    """RFC 6587 3.4.1 / RFC 5425 4.3: MSG-LEN SP SYSLOG-MSG."""
    return str(len(message)).encode("ascii") + b" " + message


def _token(text: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, or the NILVALUE."""
    cleaned = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


class SyslogForwarder:
    """Sends the records the collector has not had yet, on its own thread."""

    BATCH = 100

    def __init__(
        self,
        trail: AuditTrail,
        host: str,
        port: int,
        *,
        source_id: str,
        tls: bool = False,
        ca_file: str = "",
        timeout: float = 10.0,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._trail = trail
        self._address = (host, port)
        self._source_id = source_id
        self._hostname = socket.gethostname()
        self._pid = os.getpid()
        self._timeout = timeout
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._context: ssl.SSLContext | None = None
        if tls:
            self._context = ssl.create_default_context(cafile=ca_file or None)
        self._socket: socket.socket | None = None
        self._failing = False  # the last attempt could not reach the collector
        self._wake = threading.Event()
        self._retry_now = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = trail.on_append(self._wake.set)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-syslog", daemon=True)
            self._thread.start()
            self._wake.set()

    def wake(self) -> None:
        """Send now: also cuts short the wait before the next attempt to reach the collector."""
        self._retry_now.set()
        self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every record so far was sent (``False``: not within ``timeout``)."""
        self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self, flush_timeout: float = 2.0) -> None:
        """Stop, after trying for up to ``flush_timeout`` s to send what is left."""
        self._unsubscribe()
        if self._thread is not None and flush_timeout > 0 and not self._failing:
            self.wait_idle(flush_timeout)
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            # A connection attempt to an unreachable host may still be under way: the thread
            # is a daemon and stops after it; an ending command does not wait for it.
            self._thread.join(timeout=flush_timeout + 1)
            if not self._thread.is_alive():
                self._disconnect()

    # -- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        delay = self._retry_delay
        while not self._stopping.is_set():
            try:
                sent_all = self._send_pending()
            except (OSError, ssl.SSLError) as exc:
                self._disconnect()
                self._failing = True
                # Warn once per outage; the records wait in the database meanwhile.
                level = logging.WARNING if delay == self._retry_delay else logging.DEBUG
                log.log(
                    level,
                    "audit: the syslog collector %s:%d cannot be reached (%s); records are kept"
                    " and sent when it is back",
                    *self._address,
                    exc,
                )
                self._retry_now.wait(delay)
                self._retry_now.clear()
                delay = min(delay * 2, self._max_retry_delay)
                continue
            except Exception:
                log.exception("audit: forwarding to syslog failed")
                self._retry_now.wait(self._max_retry_delay)
                self._retry_now.clear()
                continue
            delay = self._retry_delay
            self._failing = False
            if sent_all:
                self._idle.set()
                self._wake.wait()
                self._wake.clear()

    def _send_pending(self) -> bool:
        """Send one batch; ``True`` when nothing is left."""
        mark = self._trail.forwarded_id()
        entries = self._trail.after(mark, self.BATCH)
        if not entries:
            return True
        sock = self._connection()
        payload = b"".join(
            octet_counted(syslog_message(e, self._hostname, self._source_id, self._pid))
            for e in entries
        )
        sock.sendall(payload)
        self._trail.mark_forwarded(entries[-1].id)
        log.debug("audit: forwarded records %d-%d", entries[0].id, entries[-1].id)
        return len(entries) < self.BATCH

    def _connection(self) -> socket.socket:
        if self._socket is not None and _closed_by_peer(self._socket):
            self._disconnect()
        if self._socket is None:
            sock = socket.create_connection(self._address, timeout=self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._address[0])
            self._socket = sock
            log.info("audit: connected to the syslog collector %s:%d", *self._address)
        return self._socket

    def _disconnect(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._socket = None


def _closed_by_peer(sock: socket.socket) -> bool:
    """A collector never writes to us: a readable socket has been closed (or reset)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        if isinstance(sock, ssl.SSLSocket):
            return True  # a TLS close_notify or a reset: reconnect either way
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
