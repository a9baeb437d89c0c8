"""Visitor keys this worker knows to be in the seen-set table: only the others are written.

A batch's visitor keys (``rollups.seen_keys``) are inserted into ``visitor_seen`` to learn
which are new; most of a repeat visitor's keys (their workspace-hour and workspace-day
keys, every key of a second click on the same link) were committed by an earlier batch.
This cache holds the keys of batches this process committed, so those are not sent again.

It is only ever a shortcut, never the truth: a key it holds is in the table (it is added
after the batch's commit, whether this worker inserted it or found it there); a key it
does not hold is asked of the table as before. So a restart (an empty cache), several
workers (each with its own) and evictions give the same rows and counts as no cache.
Rows of the table leave it in two ways, and neither can make a held key wrong:

- the retention purge deletes buckets older than ``keep_hours`` (any worker, by its own
  clock): the cache trusts no bucket that a purge an hour ahead of this clock would
  delete, and forgets them;
- a workspace erase deletes its keys together with its links, so no later click of those
  links is written (the worker drops clicks of links that do not exist).

The cache is bounded: past ``max_keys`` it forgets whole buckets, those that end first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hoplink.clicks.enriched import SeenKey

HOUR = 3600


def _end_hour(grain: str, bucket: int) -> int:
    """The first hour after the bucket: the one that ends first takes new keys no more."""
    return (bucket + 1) * 24 if grain == "d" else bucket + 1


def _trusted(grain: str, bucket: int, first_hour: int) -> bool:
    """Whether the purge that keeps hour buckets from ``first_hour`` on (and day buckets
    from that hour's day on) keeps this one: ``RollupRepo.purge_seen``'s rule."""
    return bucket >= (first_hour // 24 if grain == "d" else first_hour)


class SeenCache:
    def __init__(self, *, max_keys: int, keep_hours: int) -> None:
        self.max_keys = max_keys
        self.keep_hours = keep_hours
        self._keys: set[SeenKey] = set()
        self._buckets: dict[tuple[str, int], list[SeenKey]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def unknown(self, keys: Sequence[SeenKey], *, now: float) -> list[SeenKey]:
        """The keys the table must be asked about, in the order given."""
        self._forget_before(self._first_hour(now))
        held = self._keys
        if not held:
            return list(keys)
        return [k for k in keys if k not in held]

    def remember(self, keys: Iterable[SeenKey], *, now: float) -> None:
        """After the commit of a batch: all of its keys are in the table."""
        first = self._first_hour(now)
        held, buckets = self._keys, self._buckets
        for key in keys:
            if key in held or not _trusted(key[0], key[1], first):
                continue
            held.add(key)
            bucket = buckets.get((key[0], key[1]))
            if bucket is None:
                buckets[key[0], key[1]] = [key]
            else:
                bucket.append(key)
        while len(held) > self.max_keys and buckets:
            oldest = min(buckets, key=lambda b: _end_hour(*b))
            held.difference_update(buckets.pop(oldest))

    def _first_hour(self, now: float) -> int:
        """The first hour bucket trusted: the purge (``Worker.purge_visitor_state``) keeps
        hour buckets from ``now - keep_hours`` on; one more hour covers the clock of
        another worker that runs ahead of this one."""
        return int(now // HOUR) - self.keep_hours + 1

    def _forget_before(self, first_hour: int) -> None:
        old = [b for b in self._buckets if not _trusted(*b, first_hour)]
        for bucket in old:
            self._keys.difference_update(self._buckets.pop(bucket))
