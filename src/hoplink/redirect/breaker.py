"""A circuit breaker: after a failure, calls fail at once for a while instead of each waiting
for its own timeout.

Without it, 30 seconds of database outage under load means every cache miss opens (and
waits on) a connection attempt of its own; with it, one trial goes through per back-off
period and the rest are answered at once (a stale link, the Redis tier, or a 503).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """The protected service failed recently; this call was not attempted."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"{name} unavailable, next attempt in {retry_in:.1f}s")
        self.retry_in = retry_in


class CircuitBreaker:
    """Closed → (failure) open for ``delay`` → one trial call → closed, or open again for
    twice as long (up to ``max_delay``). Not thread-safe: one event loop uses it."""

    def __init__(
        self,
        name: str,
        *,
        delay: float,
        max_delay: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.delay = delay
        self.max_delay = max_delay
        self._clock = clock
        self._current = delay
        self._open_until = 0.0
        self._trial = False  # a trial call is in flight: others still fail fast
        self._trial_since = 0.0
        self.failures = 0  # failed calls (for metrics)
        self.rejected = 0  # calls refused while open (for metrics)

    @property
    def is_open(self) -> bool:
        return self._open_until > 0.0

    def check(self) -> None:
        """Raise ``CircuitOpen`` unless this call may go ahead."""
        if self._open_until == 0.0:
            return
        now = self._clock()
        remaining = self._open_until - now
        # A trial that never reported back (cancelled) does not block the next one for ever.
        if remaining <= 0 and (not self._trial or now - self._trial_since > self.max_delay):
            self._trial, self._trial_since = True, now
            return
        self.rejected += 1
        raise CircuitOpen(self.name, max(remaining, 0.0))

    def allow(self) -> bool:
        """``check`` as a boolean, for callers that skip instead of failing."""
        try:
            self.check()
        except CircuitOpen:
            return False
        return True

    def success(self) -> None:
        self._open_until, self._trial, self._current = 0.0, False, self.delay

    def failure(self) -> None:
        self.failures += 1
        if self._trial or self._open_until == 0.0:
            if self._trial:
                self._current = min(self._current * 2, self.max_delay)
            self._open_until = self._clock() + self._current
        self._trial = False
