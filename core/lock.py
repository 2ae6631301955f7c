"""The kiosk lock: a PIN kept as a salted scrypt hash, and a rate limit on wrong PINs.

Invariants, and why:
- The PIN itself is never stored or logged: ``<data dir>/lock.json`` holds
  ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64; RFC 7914 parameters n=2**14, r=8, p=1, a
  16-byte random salt; ``hashlib.scrypt``, so no dependency beyond the standard library) and
  is written with mode 0600, to a temporary name, then renamed.
- Wrong PINs are counted in the same file, with the wall-clock time before which no PIN is
  tried: the count and the wait survive a restart of the kiosk, so pulling the plug does not
  reset the limit. ``FREE_ATTEMPTS`` wrong PINs in a row cost nothing; each further one
  doubles the wait, from ``FIRST_DELAY`` to at most ``MAX_DELAY`` seconds. While a wait runs,
  no PIN is even checked (not the right one either). The right PIN clears the count.
- Without a PIN (no file, or one without a hash) nothing is locked and every check passes.
- The clock is injected (``clock``), so tests move time instead of sleeping.

Blocking (scrypt takes tens of milliseconds, the file is synced): callers on an event loop run
these methods in a thread. Holds no Qt state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_FILE_NAME = "lock.json"
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12
FREE_ATTEMPTS = 5  # wrong PINs in a row before the first wait
FIRST_DELAY = 10.0  # seconds after the FREE_ATTEMPTS-th wrong PIN, doubled for each further
MAX_DELAY = 900.0

# RFC 7914 interactive-login parameters: 16 MiB of memory, ~50 ms on a small PC.
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The stored form of ``pin``: ``scrypt$n$r$p$salt$hash`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=HASH_BYTES
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (constant-time compare; a malformed hash never does)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            pin.encode("utf-8"),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 << 20,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_pin_format(pin: str) -> None:
    """``ConfigError`` unless ``pin`` is 4 to 12 digits."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS):
        raise ConfigError(f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong PINs in a row (0 below FREE_ATTEMPTS)."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - FREE_ATTEMPTS))


@dataclass(frozen=True)
class Attempt:
    """What one PIN check found. ``retry_in``: whole seconds before the next check (0: now)."""

    ok: bool
    retry_in: int = 0
    tries_left: int = FREE_ATTEMPTS  # wrong PINs still free of a wait
    checked: bool = True  # False: refused unchecked, a wait was running

    @property
    def message(self) -> str:
        if self.ok:
            return ""
        if self.retry_in:
            first = "Wrong PIN." if self.checked else "Too many wrong PINs."
            return f"{first} Try again in {self.retry_in} s."
        return f"Wrong PIN. {self.tries_left} more before a wait."


class KioskLock:
    """The PIN and the wrong-PIN count of one data directory (thread-safe)."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = data_dir / LOCK_FILE_NAME
        self._clock = clock
        self._mutex = threading.Lock()
        self._state = self._read()

    # -- the file ----------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # A lock file that cannot be read must not open the kiosk: keep it locked behind a
            # PIN nobody has, and say so; removing the file (a maintainer) clears the PIN.
            log.error("cannot read %s (%s): the kiosk stays locked", self.path, exc)
            return {"pin": "unreadable", "failures": 0, "blocked_until": 0.0}
        return state if isinstance(state, dict) else {}

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._state, out)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

    # -- reading -----------------------------------------------------------------------------
    @property
    def has_pin(self) -> bool:
        return bool(self._state.get("pin"))

    @property
    def failures(self) -> int:
        return int(self._state.get("failures", 0))

    def retry_in(self) -> int:
        """Whole seconds before a PIN is checked again (0: now)."""
        left = float(self._state.get("blocked_until", 0.0)) - self._clock()
        return max(0, int(-(-left // 1)))  # rounded up: "0 s" only once it is over

    # -- checking ----------------------------------------------------------------------------
    def check(self, pin: str) -> Attempt:
        """Try ``pin``: counted, rate-limited, and recorded in the lock file."""
        with self._mutex:
            if not self.has_pin:
                return Attempt(True)
            wait = self.retry_in()
            if wait:
                return Attempt(False, wait, 0, checked=False)
            if verify_pin(pin, str(self._state["pin"])):
                if self.failures or self._state.get("blocked_until"):
                    self._state.update(failures=0, blocked_until=0.0)
                    self._write()
                return Attempt(True)
            failures = self.failures + 1
            delay = delay_after(failures)
            self._state.update(failures=failures, blocked_until=self._clock() + delay)
            self._write()
            log.warning("a wrong PIN was entered (%d in a row)", failures)
            return Attempt(False, self.retry_in(), max(0, FREE_ATTEMPTS - failures))

    def set_pin(self, new: str, current: str = "") -> Attempt:
        """Set (or change) the PIN; with one already set, ``current`` must match it."""
        check_pin_format(new)
        attempt = self.check(current)
        if attempt.ok:
            with self._mutex:
                self._state.update(pin=hash_pin(new), failures=0, blocked_until=0.0)
                self._write()
        return attempt

    def clear_pin(self, current: str) -> Attempt:
        """Remove the PIN (``current`` must match it): the kiosk is then never locked."""
        attempt = self.check(current)
        if attempt.ok and self.has_pin:
            with self._mutex:
                self._state = {}
                self._write()
        return attempt
