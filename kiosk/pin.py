"""The technician PIN: stored only as a salted PBKDF2 hash, with a lockout on guessing.

A service-hall screen is in a public room for years; anyone can tap a corner for five
seconds. So the PIN is never in the configuration in clear, and after a few wrong tries
the pad locks for a while (doubling each time) — enough to make guessing a 6-digit PIN
by hand hopeless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

ITERATIONS = 200_000
PREFIX = "pbkdf2_sha256"


def hash_pin(pin: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a PIN is 4 to 12 digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"{PREFIX}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        prefix, iterations, salt, digest = stored.split("$")
        if prefix != PREFIX:
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha256", pin.encode(), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass
class PinGuard:
    """Checks PINs and locks out after ``max_tries`` wrong ones in a row."""

    stored_hash: str
    max_tries: int = 5
    lockout_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: int = 0
    _locked_until: float = 0.0
    _lockouts: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.stored_hash)

    def locked_for(self) -> float:
        """Seconds left in the current lockout (0 when the pad may be used)."""
        return max(0.0, self._locked_until - self.clock())

    def check(self, pin: str) -> tuple[bool, str]:
        """(accepted, message for the pad's message line)."""
        if not self.enabled:
            return False, "未设置维护密码，请在配置文件中设置 [technician] pin_hash"
        left = self.locked_for()
        if left > 0:
            return False, f"错误次数过多，请 {int(left // 60) + 1} 分钟后再试"
        if verify_pin(pin, self.stored_hash):
            self._failures = 0
            self._lockouts = 0
            return True, ""
        self._failures += 1
        if self._failures >= self.max_tries:
            self._failures = 0
            self._locked_until = self.clock() + self.lockout_seconds * (2**self._lockouts)
            self._lockouts += 1
            return False, "错误次数过多，维护面板已锁定"
        return False, f"密码错误，还可尝试 {self.max_tries - self._failures} 次"
