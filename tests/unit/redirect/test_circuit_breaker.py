"""The database circuit breaker of the redirect edge: fail fast, one trial per back-off."""

from __future__ import annotations

import pytest

from clocks import Clock
from hoplink.redirect.breaker import CircuitBreaker, CircuitOpen


def test_closed_until_a_failure_then_open_for_the_delay() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("db", delay=1.0, max_delay=4.0, clock=clock)
    for _ in range(3):
        breaker.check()
        breaker.success()
    breaker.check()
    breaker.failure()
    assert breaker.is_open
    with pytest.raises(CircuitOpen) as refused:
        breaker.check()
    assert refused.value.retry_in == pytest.approx(1.0)
    clock.now += 0.5
    assert not breaker.allow()
    assert breaker.rejected == 2 and breaker.failures == 1


def test_one_trial_after_the_delay_and_doubling_back_off() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("db", delay=1.0, max_delay=4.0, clock=clock)
    breaker.failure()
    opened_for = []
    for _ in range(4):
        start = clock.now
        while not breaker.allow():
            clock.now += 0.25
        opened_for.append(clock.now - start)
        assert not breaker.allow()  # the trial is in flight: everyone else fails fast
        breaker.failure()
    assert opened_for == [1.0, 2.0, 4.0, 4.0]  # capped at max_delay
    while not breaker.allow():
        clock.now += 0.25
    breaker.success()
    assert not breaker.is_open
    for _ in range(5):
        assert breaker.allow()
    breaker.failure()
    clock.now += 1.0
    assert breaker.allow()  # back to the first delay after a success


def test_a_trial_that_never_reports_does_not_block_for_ever() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("db", delay=1.0, max_delay=2.0, clock=clock)
    breaker.failure()
    clock.now += 1.0
    assert breaker.allow()  # the trial (then cancelled: no success, no failure)
    clock.now += 1.0
    assert not breaker.allow()
    clock.now += 1.5
    assert breaker.allow()
