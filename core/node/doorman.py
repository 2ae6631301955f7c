"""``Doorman``: a new connection waits here, costing no thread, until its request is whole.

The listener accepts every connection at once, counts it (``Connections``: a total and a
per-address limit, so one host cannot take every slot) and hands it to the doorman, one
thread with a selector over every connection that has not sent a complete A-ASSOCIATE-RQ
yet. PS3.8 9.1.5's ARTIM timer bounds that wait (``artim_timeout``, a few seconds): a silent
or half-open connection is closed when it expires. What arrives is read as it arrives, never
more than the PDU announced and never more than ``MAX_REQUEST_PDU``; a first PDU of another
type, too long, or undecodable is answered with A-ABORT and closed at once. Only a whole,
well-formed request is handed on (``on_request``), and only then does the association get a
thread: idle and malformed connections cost a socket, not a thread or an association slot.
Sockets handed to pynetdicom are watched until pynetdicom closes them, so the per-address
count stays true.

On the DICOM TLS port the doorman does the TLS handshake too, on the same non-blocking
sockets and within the same ARTIM time, so a slow or failing handshake holds up nobody; a
connection whose handshake fails (a plain DICOM client, a client certificate that is
missing or not signed by the configured CA) is closed with the reason in the log.
"""

from __future__ import annotations

import collections
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE

from core.errors import ProtocolError
from core.logsafe import printable
from core.net import dimse
from core.node.limits import MAX_REQUEST_PDU, Limits

log = logging.getLogger(__name__)

_REAP_EVERY = 0.5  # s: how often handed-off sockets are checked for being closed
_AE_CHARS = frozenset(range(0x20, 0x7F)) - {0x5C}  # PS3.5 AE: no control characters, no "\"
_TLS_HANDSHAKE = 0x16  # a TLS record's content type (then version 3.x): a ClientHello


def parse_request(raw: bytes | bytearray) -> A_ASSOCIATE:
    """The A-ASSOCIATE primitive of a whole A-ASSOCIATE-RQ PDU (header included).

    Raises ProtocolError for anything else: another PDU type, a length that disagrees with
    the bytes, items pynetdicom cannot decode, or AE titles outside PS3.5's AE repertoire.
    """
    if len(raw) < 6 or raw[0] != dimse.A_ASSOCIATE_RQ:
        raise ProtocolError("not an A-ASSOCIATE-RQ PDU")
    length = int.from_bytes(raw[2:6], "big")
    if length != len(raw) - 6:
        raise ProtocolError(f"A-ASSOCIATE-RQ announces {length} bytes, carries {len(raw) - 6}")
    if length < 68:  # protocol version, reserved, two AE titles, 32 reserved bytes
        raise ProtocolError("A-ASSOCIATE-RQ too short for its fixed fields")
    for offset, what in ((10, "called"), (26, "calling")):
        title = bytes(raw[offset : offset + 16])
        if not title.strip(b" ") or any(byte not in _AE_CHARS for byte in title):
            raise ProtocolError(f"the {what} AE title {printable(repr(title))} is not valid")
    try:
        pdu = A_ASSOCIATE_RQ()
        pdu.decode(bytes(raw))
        primitive = pdu.to_primitive()
    except Exception as exc:  # pynetdicom's decoder raises many kinds
        raise ProtocolError(f"malformed A-ASSOCIATE-RQ: {printable(str(exc))[:200]}") from exc
    if not primitive.presentation_context_definition_list:
        raise ProtocolError("A-ASSOCIATE-RQ proposes no presentation context")
    return primitive


class Connections:
    """The node's open TCP connections, in all and per peer address (thread-safe)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self._by_peer: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def open(self, host: str) -> str:
        """Count a new connection from ``host``; the reason it is refused, or ``""``."""
        with self._lock:
            if self.total >= self.limits.max_connections:
                return f"{self.total} connections open (max_connections)"
            if self._by_peer[host] >= self.limits.max_connections_per_peer:
                return f"{self._by_peer[host]} connections from {host} (max_connections_per_peer)"
            self.total += 1
            self._by_peer[host] += 1
            return ""

    def close(self, host: str) -> None:
        with self._lock:
            self.total = max(0, self.total - 1)
            left = self._by_peer[host] - 1
            if left > 0:
                self._by_peer[host] = left
            else:
                del self._by_peer[host]

    def of(self, host: str) -> int:
        with self._lock:
            return self._by_peer.get(host, 0)


class PeerLog:
    """Warnings about one peer address at most once a minute, so that a flood of bad
    connections cannot flood the log; what was held back is counted in the next warning."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def warn(self, host: str, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(host, (-self.every, 0))
            if now - last < self.every:
                self._last[host] = (last, held + 1)
                log.debug(message, *args)
                return
            if len(self._last) > 4096:  # many addresses: forget the quiet ones
                self._last = {h: v for h, v in self._last.items() if now - v[0] < self.every}
            self._last[host] = (now, 0)
        more = f" (and {held} more like it from {host} in the last minute)" if held else ""
        log.warning(message + "%s", *args, more)


RequestHandler = Callable[[socket.socket, tuple[str, int], bytes, A_ASSOCIATE], None]


@dataclass(slots=True, eq=False)
class _Waiting:
    sock: socket.socket
    address: tuple[str, int]
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    wanted: int = 6
    done: bool = False
    handshaking: bool = False  # TLS: the handshake is not complete yet


class Doorman:
    """The thread that holds connections until their A-ASSOCIATE-RQ is whole."""

    def __init__(
        self,
        limits: Limits,
        connections: Connections,
        on_request: RequestHandler,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits
        self.connections = connections
        self.on_request = on_request
        self.tls = tls  # the server context: connections speak TLS
        self.refused = 0  # connections closed here: silent, malformed, over a limit
        self.peer_log = PeerLog()
        self._new: queue.Queue[_Waiting | None] = queue.Queue()
        self._waiting: collections.deque[_Waiting] = collections.deque()  # by deadline
        self._handed: list[tuple[socket.socket, str]] = []
        self._handed_lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="dicom-doorman", daemon=True)
        self._running = False

    # -- what other threads call ----------------------------------------------------------
    def start(self) -> None:
        self._running = True
        self._thread.start()

    def stop(self) -> None:
        """Close every waiting connection and end the thread."""
        self._running = False
        self._new.put(None)
        self._wake()
        self._thread.join(5.0)

    def add(self, sock: socket.socket, address: tuple[str, int]) -> None:
        """A connection just accepted (and counted): wait for its request."""
        sock.setblocking(False)
        deadline = time.monotonic() + self.limits.artim_timeout
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except (OSError, ValueError) as exc:
                log.warning("cannot start TLS with %s: %s", address[0], exc)
                sock.close()
                self.connections.close(address[0])
                return
        self._new.put(_Waiting(sock, address, deadline, handshaking=self.tls is not None))
        self._wake()

    def watch(self, sock: socket.socket, host: str) -> None:
        """A socket handed to pynetdicom: uncount it once pynetdicom has closed it."""
        with self._handed_lock:
            self._handed.append((sock, host))

    def waiting(self) -> int:
        return len(self._waiting)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (already woken) or closed (stopping)
            pass

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        next_reap = time.monotonic() + _REAP_EVERY
        try:
            while self._running:
                timeout = _REAP_EVERY
                if self._waiting:
                    timeout = max(0.0, min(timeout, self._waiting[0].deadline - time.monotonic()))
                for key, _mask in self._selector.select(timeout):
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._read(key.data)
                self._take_new()
                now = time.monotonic()
                self._expire(now)
                if now >= next_reap:
                    self._reap()
                    next_reap = now + _REAP_EVERY
        except Exception:  # a fault of ours: the node must still not leak connections
            log.exception("the DICOM node's doorman failed")
        finally:
            for waiting in list(self._waiting):
                self._close(waiting, "")
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _take_new(self) -> None:
        while True:
            try:
                waiting = self._new.get_nowait()
            except queue.Empty:
                return
            if waiting is None:
                return
            try:
                self._selector.register(waiting.sock, selectors.EVENT_READ, waiting)
            except (OSError, ValueError):  # already closed by the peer
                self._release(waiting)
                continue
            self._waiting.append(waiting)

    def _expire(self, now: float) -> None:
        waiting = self._waiting
        while waiting and (waiting[0].done or waiting[0].deadline <= now):
            first = waiting.popleft()
            if not first.done:
                self._close(
                    first, f"no complete association request in {self.limits.artim_timeout:g} s"
                )

    def _reap(self) -> None:
        with self._handed_lock:
            handed, self._handed = self._handed, []
        still = []
        for sock, host in handed:
            if sock.fileno() == -1:
                self.connections.close(host)
            else:
                still.append((sock, host))
        with self._handed_lock:
            self._handed.extend(still)

    def _read(self, waiting: _Waiting) -> None:
        if waiting.handshaking and not self._handshake(waiting):
            return
        self._read_some(waiting)
        sock = waiting.sock
        # TLS: decrypted bytes may wait in the socket's buffer, where select() cannot see them
        while not waiting.done and isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._read_some(waiting)

    def _handshake(self, waiting: _Waiting) -> bool:
        """Advance the TLS handshake; whether it is complete (False: wait, or closed)."""
        sock = cast(ssl.SSLSocket, waiting.sock)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._want(waiting, selectors.EVENT_READ)
            return False
        except ssl.SSLWantWriteError:
            self._want(waiting, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return False
        except ssl.SSLError as exc:
            reason = exc.reason or str(exc)
            hint = ""
            if reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNSUPPORTED_PROTOCOL"):
                hint = " (a plain DICOM client on the TLS port?)"
            elif "CERTIFICATE" in reason.upper():
                hint = " (its client certificate is missing or not signed by tls_ca_file)"
            self._close(waiting, f"TLS handshake failed: {reason}{hint}")
            return False
        except OSError as exc:
            self._close(waiting, f"TLS handshake failed: {exc}")
            return False
        waiting.handshaking = False
        self._want(waiting, selectors.EVENT_READ)
        return True

    def _want(self, waiting: _Waiting, events: int) -> None:
        try:
            self._selector.modify(waiting.sock, events, waiting)
        except (KeyError, ValueError, OSError):
            pass

    def _read_some(self, waiting: _Waiting) -> None:
        try:
            chunk = waiting.sock.recv(waiting.wanted - len(waiting.data))
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as exc:
            self._close(waiting, f"connection failed: {exc}")
            return
        if not chunk:
            self._close(
                waiting,
                "closed before its association request was complete" if waiting.data else "",
            )
            return
        waiting.data += chunk
        if len(waiting.data) < waiting.wanted:
            return
        if waiting.wanted == 6:
            pdu_type = waiting.data[0]
            length = int.from_bytes(waiting.data[2:6], "big")
            if pdu_type != dimse.A_ASSOCIATE_RQ:
                what = f"first PDU of type 0x{pdu_type:02X}, not an A-ASSOCIATE-RQ"
                if pdu_type == _TLS_HANDSHAKE and waiting.data[1] == 3:
                    what = "a TLS handshake on the plain DICOM port (the TLS port is tls_port)"
                self._abort(waiting, what, dimse.ABORT_REASON_UNEXPECTED_PDU)
                return
            if length > MAX_REQUEST_PDU:
                self._abort(
                    waiting,
                    f"an A-ASSOCIATE-RQ of {length} bytes (at most {MAX_REQUEST_PDU})",
                    dimse.ABORT_REASON_INVALID_PDU_PARAMETER,
                )
                return
            waiting.wanted = 6 + length
            return
        try:
            request = parse_request(waiting.data)
        except ProtocolError as exc:
            self._abort(waiting, str(exc), dimse.ABORT_REASON_INVALID_PDU_PARAMETER)
            return
        self._unregister(waiting)
        waiting.sock.setblocking(True)
        try:
            self.on_request(waiting.sock, waiting.address, bytes(waiting.data), request)
        except Exception:
            log.exception("cannot start the association from %s", waiting.address[0])
            self._release(waiting)

    # -- ending a wait --------------------------------------------------------------------
    def _unregister(self, waiting: _Waiting) -> None:
        waiting.done = True
        try:
            self._selector.unregister(waiting.sock)
        except (KeyError, ValueError):
            pass

    def _abort(self, waiting: _Waiting, why: str, reason: int) -> None:
        try:
            waiting.sock.send(dimse.encode_abort(dimse.ABORT_SOURCE_PROVIDER, reason))
        except OSError:
            pass
        self._close(waiting, why)

    def _close(self, waiting: _Waiting, why: str) -> None:
        if why:
            self.refused += 1
            self.peer_log.warn(
                waiting.address[0], "closed the connection from %s:%d: %s", *waiting.address, why
            )
        self._unregister(waiting)
        self._release(waiting)

    def _release(self, waiting: _Waiting) -> None:
        waiting.done = True
        try:
            waiting.sock.close()
        finally:
            self.connections.close(waiting.address[0])
