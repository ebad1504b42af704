"""When a touch screen goes back to rolling: an idle timer with a visible countdown.

Pure logic with an injected clock, so the app's behaviour (90 s, countdown during the last
10 s, any touch cancels) is tested without waiting 90 seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class IdleTimer:
    timeout: float = 90.0
    countdown: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _last: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._last = self.clock()

    def touched(self) -> None:
        self._last = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.timeout - (self.clock() - self._last))

    def countdown_seconds(self) -> int | None:
        """Whole seconds to show in the banner, or None outside the countdown window."""
        left = self.remaining()
        if left <= 0 or left > self.countdown:
            return None
        return int(left + 0.999)

    def expired(self) -> bool:
        return self.remaining() <= 0
