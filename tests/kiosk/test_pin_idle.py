from __future__ import annotations

import pytest

from kiosk.idle import IdleTimer
from kiosk.pin import PinGuard, hash_pin, verify_pin


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pin_hash_round_trip_and_salt() -> None:
    stored = hash_pin("246810", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert "246810" not in stored
    assert verify_pin("246810", stored)
    assert not verify_pin("246811", stored)
    assert hash_pin("246810", iterations=1000) != stored  # random salt
    assert not verify_pin("246810", "garbage")


@pytest.mark.parametrize("bad", ["12", "abcd", "1234567890123", ""])
def test_pin_format_is_checked(bad: str) -> None:
    with pytest.raises(ValueError):
        hash_pin(bad)


def test_wrong_pins_lock_the_pad_and_lockouts_grow() -> None:
    clock = FakeClock()
    guard = PinGuard(hash_pin("1357", iterations=1000), max_tries=3, lockout_seconds=60,
                     clock=clock)
    assert guard.check("0000") == (False, "密码错误，还可尝试 2 次")
    guard.check("0000")
    ok, msg = guard.check("0000")
    assert not ok and "锁定" in msg
    assert guard.check("1357")[0] is False  # the right PIN is refused while locked
    clock.now += 61
    for _ in range(3):
        guard.check("9999")
    clock.now += 61
    assert guard.check("1357")[0] is False  # a second lockout in a row lasts twice as long
    clock.now += 60
    assert guard.check("1357") == (True, "")
    for _ in range(3):
        guard.check("9999")
    clock.now += 61
    assert guard.check("1357")[0] is True  # a success reset the escalation


def test_no_pin_configured_never_opens() -> None:
    ok, msg = PinGuard("").check("0000")
    assert not ok and "pin_hash" in msg


def test_idle_countdown_and_touch_cancels() -> None:
    clock = FakeClock()
    idle = IdleTimer(timeout=90, countdown=10, clock=clock)
    clock.now += 79
    assert idle.countdown_seconds() is None
    clock.now += 1.5
    assert idle.countdown_seconds() == 10
    clock.now += 5
    assert idle.countdown_seconds() == 5
    idle.touched()
    assert idle.countdown_seconds() is None and not idle.expired()
    clock.now += 90
    assert idle.expired() and idle.countdown_seconds() is None
