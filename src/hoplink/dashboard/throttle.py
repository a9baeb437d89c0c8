"""Login throttling, per account and per client address, with exponential backoff.

Each key (the e-mail as typed, normalised; the client address) may fail ``free`` times;
the ``free``-th failure locks the key for ``base`` seconds and each one after that doubles
the lock, up to ``cap``. While either key is locked every attempt is refused before the password is
looked at — the right password too — and the refusal is the same whether the account
exists or not. A success clears the account's record (not the address's: one address
guessing many accounts stays slowed). A record is forgotten after ``forget`` seconds
without failures. In-process: each web node throttles on its own (see docs/dashboard.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class _Table:
    def __init__(self, *, free: int, base: float, cap: float, forget: float, limit: int) -> None:
        self.free, self.base, self.cap, self.forget, self.limit = free, base, cap, forget, limit
        self.records: OrderedDict[str, _Record] = OrderedDict()

    def _get(self, key: str, now: float) -> _Record | None:
        record = self.records.get(key)
        if record is not None and now - record.last_failure > self.forget:
            del self.records[key]
            return None
        return record

    def wait(self, key: str, now: float) -> float:
        record = self._get(key, now)
        return max(0.0, record.locked_until - now) if record else 0.0

    def fail(self, key: str, now: float) -> None:
        record = self._get(key, now) or _Record()
        record.failures += 1
        record.last_failure = now
        extra = record.failures - self.free  # 0 at the last free failure: the first lock
        if extra >= 0:
            record.locked_until = now + min(self.cap, self.base * 2 ** min(extra, 30))
        self.records[key] = record
        self.records.move_to_end(key)
        while len(self.records) > self.limit:  # memory stays bounded whatever is sprayed
            self.records.popitem(last=False)

    def clear(self, key: str) -> None:
        self.records.pop(key, None)


class LoginThrottle:
    def __init__(
        self,
        *,
        account_free: int = 5,
        ip_free: int = 20,
        base: float = 2.0,
        cap: float = 900.0,
        forget: float = 3600.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.accounts = _Table(
            free=account_free, base=base, cap=cap, forget=forget, limit=max_entries
        )
        self.addresses = _Table(free=ip_free, base=base, cap=cap, forget=forget, limit=max_entries)

    def retry_after(self, account: str, address: str | None) -> float:
        """Seconds until this pair may try again; 0 means now."""
        now = self.clock()
        wait = self.accounts.wait(account, now)
        if address:
            wait = max(wait, self.addresses.wait(address, now))
        return wait

    def failed(self, account: str, address: str | None) -> None:
        now = self.clock()
        self.accounts.fail(account, now)
        if address:
            self.addresses.fail(address, now)

    def succeeded(self, account: str) -> None:
        self.accounts.clear(account)
