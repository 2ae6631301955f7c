"""core.lock: the PIN's salted hash, the wrong-PIN count and its waits (an injected clock, no
sleeps), the count surviving a restart, and a kiosk without a PIN that nothing locks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigError
from core.lock import (
    FIRST_DELAY,
    FREE_ATTEMPTS,
    MAX_DELAY,
    KioskLock,
    delay_after,
    hash_pin,
    verify_pin,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lock(tmp_path: Path, clock: Clock) -> KioskLock:
    lock = KioskLock(tmp_path, clock=clock)
    assert lock.set_pin("2468").ok
    return lock


class TestHash:
    def test_the_right_pin_verifies_and_a_wrong_one_does_not(self) -> None:
        stored = hash_pin("123456")
        assert verify_pin("123456", stored)
        assert not verify_pin("123457", stored)
        assert not verify_pin("", stored)

    def test_salted_the_same_pin_hashes_differently(self) -> None:
        first, second = hash_pin("1234"), hash_pin("1234")
        assert first != second
        assert first.split("$")[:4] == ["scrypt", str(1 << 14), "8", "1"]
        assert verify_pin("1234", first) and verify_pin("1234", second)

    @pytest.mark.parametrize("stored", ["", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==",
                                        "scrypt$16384$8$1$!!$AA=="])  # fmt: skip
    def test_a_malformed_hash_never_verifies(self, stored: str) -> None:
        assert not verify_pin("1234", stored)


class TestPin:
    def test_the_file_holds_no_pin_and_only_its_owner_reads_it(self, lock: KioskLock) -> None:
        text = lock.path.read_text()
        assert "2468" not in text
        assert json.loads(text)["pin"].startswith("scrypt$")
        assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600

    @pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "١٢٣٤", ""])
    def test_a_pin_is_four_to_twelve_digits(self, tmp_path: Path, pin: str) -> None:
        with pytest.raises(ConfigError, match="4 to 12 digits"):
            KioskLock(tmp_path).set_pin(pin)

    def test_changing_it_needs_the_current_one(self, lock: KioskLock) -> None:
        refused = lock.set_pin("1111", "0000")
        assert not refused.ok and refused.tries_left == FREE_ATTEMPTS - 1
        assert lock.check("2468").ok
        assert lock.set_pin("1111", "2468").ok
        assert lock.check("1111").ok and not lock.check("2468").ok

    def test_removing_it_needs_it_and_then_nothing_is_locked(
        self, lock: KioskLock, tmp_path: Path
    ) -> None:
        assert not lock.clear_pin("0000").ok and lock.has_pin
        assert lock.clear_pin("2468").ok
        assert not lock.has_pin and lock.check("").ok
        assert not KioskLock(tmp_path).has_pin

    def test_without_a_pin_every_check_passes(self, tmp_path: Path) -> None:
        lock = KioskLock(tmp_path)
        assert not lock.has_pin
        assert lock.check("anything").ok
        assert not (tmp_path / "lock.json").exists()

    def test_an_unreadable_file_keeps_the_kiosk_locked(self, tmp_path: Path) -> None:
        (tmp_path / "lock.json").write_text("{not json")
        lock = KioskLock(tmp_path)
        assert lock.has_pin
        assert not lock.check("1234").ok


class TestRateLimit:
    def test_the_first_wrong_pins_cost_nothing_then_waits_double(
        self, lock: KioskLock, clock: Clock
    ) -> None:
        for tries_left in range(FREE_ATTEMPTS - 1, 0, -1):
            attempt = lock.check("0000")
            assert (attempt.ok, attempt.retry_in, attempt.tries_left) == (False, 0, tries_left)
            assert attempt.message == f"Wrong PIN. {tries_left} more before a wait."
        attempt = lock.check("0000")  # the FREE_ATTEMPTS-th
        assert attempt.retry_in == FIRST_DELAY
        assert attempt.message == f"Wrong PIN. Try again in {FIRST_DELAY:.0f} s."

        # While the wait runs, not even the right PIN is checked.
        clock.now += FIRST_DELAY - 1
        refused = lock.check("2468")
        assert not refused.ok and not refused.checked and refused.retry_in == 1
        assert refused.message == "Too many wrong PINs. Try again in 1 s."

        clock.now += 1
        assert lock.retry_in() == 0
        assert lock.check("0000").retry_in == 2 * FIRST_DELAY
        clock.now += 2 * FIRST_DELAY
        assert lock.check("0000").retry_in == 4 * FIRST_DELAY

    def test_the_right_pin_clears_the_count(self, lock: KioskLock, clock: Clock) -> None:
        for _ in range(FREE_ATTEMPTS):
            lock.check("0000")
        clock.now += FIRST_DELAY
        assert lock.check("2468").ok
        assert lock.failures == 0
        assert lock.check("0000").retry_in == 0

    def test_the_count_and_the_wait_survive_a_restart(
        self, lock: KioskLock, clock: Clock, tmp_path: Path
    ) -> None:
        for _ in range(FREE_ATTEMPTS):
            lock.check("0000")
        clock.now += 3
        again = KioskLock(tmp_path, clock=clock)
        assert again.failures == FREE_ATTEMPTS
        assert again.retry_in() == FIRST_DELAY - 3
        assert not again.check("2468").ok

    def test_the_wait_has_a_ceiling(self) -> None:
        assert delay_after(FREE_ATTEMPTS - 1) == 0
        assert delay_after(FREE_ATTEMPTS + 30) == MAX_DELAY


class TestSetting:
    def test_the_idle_time_is_a_setting_of_seconds(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert load_settings(tmp_path).lock_idle_seconds == 300
        monkeypatch.setenv("DICOM_KIOSK_LOCK_IDLE_SECONDS", "7")
        assert load_settings(tmp_path).lock_idle_seconds == 7
        monkeypatch.setenv("DICOM_KIOSK_LOCK_IDLE_SECONDS", "-1")
        with pytest.raises(ConfigError, match="lock_idle_seconds"):
            load_settings(tmp_path)
