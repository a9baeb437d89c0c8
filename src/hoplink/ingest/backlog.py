"""How far the consumer of the embedded click journal is behind, read from its directory.

Read from disk rather than from a ``ClickJournal`` object, so any process can tell: the web
process (the writer, whose in-memory offset never moves) as well as ``hoplink worker``
(the consumer). The format is the one ``hoplink.ingest.journal`` writes: segment files
``<seq:020d>.seg`` and the acknowledged position in ``consumer.offset``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import orjson

from hoplink.clicks.models import Click

_SUFFIX = ".seg"
_HEADER = struct.Struct("<II")  # length, CRC-32
_MAX_RECORD = 1 << 20


@dataclass(frozen=True, slots=True)
class Backlog:
    bytes: int  # journal bytes written but not yet acknowledged by the consumer
    oldest_ts: float | None  # time of the oldest unacknowledged click; None: nothing waits


def journal_backlog(directory: Path) -> Backlog:
    """The unacknowledged part of the journal in ``directory`` (a few stat calls and one
    small read; a record torn or corrupt at the read position reads as "no timestamp")."""
    sizes: dict[int, int] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                stem = entry.name.removesuffix(_SUFFIX)
                if entry.name.endswith(_SUFFIX) and stem.isdigit():
                    try:
                        sizes[int(stem)] = entry.stat().st_size
                    except FileNotFoundError:  # consumed and deleted meanwhile
                        continue
    except FileNotFoundError:
        return Backlog(0, None)
    segment, offset = _acknowledged(directory, default_segment=min(sizes, default=0))
    total = 0
    oldest: tuple[int, int] | None = None
    for seq in sorted(sizes):
        start = offset if seq == segment else 0
        if seq < segment or sizes[seq] <= start:
            continue
        total += sizes[seq] - start
        if oldest is None:
            oldest = (seq, start)
    if oldest is None:
        return Backlog(0, None)
    return Backlog(total, _record_ts(directory / f"{oldest[0]:020d}{_SUFFIX}", oldest[1]))


def _acknowledged(directory: Path, *, default_segment: int) -> tuple[int, int]:
    try:
        data = orjson.loads((directory / "consumer.offset").read_bytes())
        return int(data["segment"]), int(data["offset"])
    except (FileNotFoundError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return default_segment, 0


def _record_ts(path: Path, offset: int) -> float | None:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return None
            length, _crc = _HEADER.unpack(header)
            if length > _MAX_RECORD:
                return None
            ts = Click.from_record(f.read(length)).ts
    except (OSError, ValueError, TypeError):  # orjson's JSONDecodeError is a ValueError
        return None
    return float(ts) if isinstance(ts, int | float) else None
