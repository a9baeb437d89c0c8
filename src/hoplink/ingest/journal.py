"""The embedded click journal: the durable hand-off from the redirect edge to the worker.

An append-only log of segment files in ``<data_dir>/journal/``::

    00000000000000000001.seg   segments; one writing process, a new segment at every start
    consumer.offset            {"segment": n, "offset": m}: acknowledged up to here (atomic)
    writer.lock, reader.lock   flock()s: one writer process and one consumer at a time

A record is ``u32 length | u32 CRC-32(length bytes + payload) | payload`` (little endian;
the payload is the click as a JSON array of its fields, ``Click.to_record``; journals
written before that hold JSON objects, which the reader still takes). ``put`` appends a
record with a single ``os.write``, so when it returns the click is in the OS page cache
and survives ``kill -9`` of this process; a background task fdatasyncs on a timer (group
commit) for power-loss durability. A torn or corrupt record ends its segment: since
every writer start opens a new segment, what follows a torn tail is never valid data, and
the reader skips to the next segment. Delivery to the consumer is at-least-once: ``read``
hands out clicks and a token, ``ack(token)`` persists the offset and deletes fully
consumed segments; after a crash of the consumer the clicks since the last ack come again
(the worker dedupes on click_id). See docs/adr/0001-click-journal.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from hoplink.clicks.models import Click

log = logging.getLogger("hoplink.clicks")

_HEADER = struct.Struct("<II")
_LENGTH = struct.Struct("<I")
_SUFFIX = ".seg"
MAX_RECORD = 1 << 20
# Bigger than any record, so a record always fits in one read from its start.
_READ_CHUNK = 2 * MAX_RECORD
# How often a waiting reader looks for records written by another process.
_POLL = 0.05


class JournalLocked(Exception):
    """Another process writes (or consumes) this journal."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    segment: int
    offset: int


def encode_record(payload: bytes) -> bytes:
    size = len(payload)
    return _HEADER.pack(size, zlib.crc32(payload, zlib.crc32(_LENGTH.pack(size)))) + payload


def _segment_name(seq: int) -> str:
    return f"{seq:020d}{_SUFFIX}"


def _lock(path: Path, what: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalLocked(
            f"another process is the {what} of the click journal in {path.parent}; the"
            " embedded journal supports one web process per data directory"
        ) from None
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ClickJournal:
    """ClickSink (``put``) and ClickSource (``read``/``ack``) over one directory.

    Not thread-safe: one event loop puts and reads. ``write=False`` opens a consumer only
    (another process, or a test reading what a killed server left).
    """

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 64 * 1024 * 1024,
        fsync_interval: float = 0.05,
        write: bool = True,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.fsync_interval = fsync_interval
        directory.mkdir(parents=True, exist_ok=True)
        self._locks: list[int] = []
        # writer state
        self._fd = -1
        self._seq = 0
        self._size = 0
        self._dirty = False
        self._dir_dirty = False
        self._retired: list[int] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._syncer: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        # reader state
        self._acked = self._load_offset()
        self._pos = self._acked
        self._read_fd: tuple[int, int] | None = None  # (segment, fd)
        self._wakeup: asyncio.Event | None = None
        self._reading = False
        if write:
            self._locks.append(_lock(directory / "writer.lock", "writer"))
            self._open_segment(max(self._segments(), default=0) + 1)
            _fsync_dir(directory)
            self._dir_dirty = False

    # --- writing -------------------------------------------------------------------------

    def _open_segment(self, seq: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(self.directory / _segment_name(seq), flags, 0o600)
        self._seq, self._size, self._dir_dirty = seq, 0, True

    def put(self, click: Click) -> None:
        record = encode_record(click.to_record())
        written = os.write(self._fd, record)
        if written != len(record):
            # Disk full or similar: cut the partial record off so the segment stays valid.
            os.ftruncate(self._fd, self._size)
            raise OSError(f"short write to the click journal ({written} of {len(record)})")
        self._size += written
        self._dirty = True
        if self._size >= self.segment_bytes:
            self._retired.append(self._fd)
            self._open_segment(self._seq + 1)
        if self._wakeup is not None:
            self._wakeup.set()

    def start(self) -> None:
        """Start the group-commit task (needs a running event loop)."""
        if self._fd >= 0 and self._syncer is None:
            self._stop = asyncio.Event()
            self._syncer = asyncio.get_running_loop().create_task(self._sync_forever(self._stop))

    def synced(self) -> asyncio.Future[None]:
        """Resolves once everything put so far is on disk (the next group commit)."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    async def _sync_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.fsync_interval)
            try:
                await self.sync()
            except OSError as exc:  # pragma: no cover - disk trouble is logged, not fatal
                log.error("click journal fsync failed: %s", exc)

    async def sync(self) -> None:
        if not (self._dirty or self._retired or self._dir_dirty or self._waiters):
            return
        fds, retired, sync_dir = [self._fd, *self._retired], self._retired, self._dir_dirty
        waiters, self._waiters, self._retired = self._waiters, [], []
        self._dirty = self._dir_dirty = False
        try:
            await asyncio.to_thread(self._fsync, fds, sync_dir)
        except OSError as exc:
            for w in waiters:
                if not w.done():
                    w.set_exception(exc)
            raise
        finally:
            for fd in retired:
                os.close(fd)
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _fsync(self, fds: list[int], sync_dir: bool) -> None:
        for fd in fds:
            os.fdatasync(fd)
        if sync_dir:
            _fsync_dir(self.directory)

    # --- reading -------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        return sorted(
            int(p.name.removesuffix(_SUFFIX))
            for p in self.directory.iterdir()
            if p.name.endswith(_SUFFIX) and p.name.removesuffix(_SUFFIX).isdigit()
        )

    def _later_segment(self, seq: int) -> int | None:
        return next((s for s in self._segments() if s > seq), None)

    def _load_offset(self) -> Position:
        try:
            data = orjson.loads((self.directory / "consumer.offset").read_bytes())
            return Position(int(data["segment"]), int(data["offset"]))
        except FileNotFoundError:
            return Position(min(self._segments(), default=0), 0)

    def _segment_fd(self, seq: int) -> int | None:
        if self._read_fd is not None:
            if self._read_fd[0] == seq:
                return self._read_fd[1]
            os.close(self._read_fd[1])
            self._read_fd = None
        try:
            fd = os.open(self.directory / _segment_name(seq), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        self._read_fd = (seq, fd)
        return fd

    def _scan(self, seq: int, offset: int, limit: int) -> tuple[list[Click], int, bool]:
        """Up to ``limit`` valid records from ``offset``: (clicks, next offset, clean end).

        Stops at the end of the file (clean) or at a torn, incomplete or corrupt record.
        """
        fd = self._segment_fd(seq)
        if fd is None:
            return [], offset, True
        out: list[Click] = []
        chunk = min(_READ_CHUNK, max(64 * 1024, limit * 1024))  # clicks are ~0.5 KB
        while len(out) < limit:
            buf = os.pread(fd, chunk, offset)
            i = 0
            while len(out) < limit and len(buf) - i >= _HEADER.size:
                length, crc = _HEADER.unpack_from(buf, i)
                end = i + _HEADER.size + length
                if not 0 < length <= MAX_RECORD:
                    return out, offset + i, False
                if end > len(buf):
                    break
                payload = buf[i + _HEADER.size : end]
                if zlib.crc32(payload, zlib.crc32(buf[i : i + 4])) != crc:
                    return out, offset + i, False
                try:
                    out.append(Click.from_record(payload))
                except (ValueError, TypeError):
                    log.error("skipping an unreadable click record in segment %d", seq)
                i = end
            offset += i
            if len(out) >= limit or not buf:
                break
            if len(buf) < chunk:  # at the end of the file
                return out, offset, i == len(buf)
            if i == 0:  # one record longer than the chunk
                chunk = _READ_CHUNK
        return out, offset, True

    def _read_available(self, max_items: int) -> list[Click]:
        out: list[Click] = []
        while len(out) < max_items:
            seq, offset = self._pos.segment, self._pos.offset
            # Look for a later segment *before* scanning: if one exists, this segment was
            # complete before the scan began, so what the scan cannot read is torn.
            later = self._later_segment(seq)
            clicks, offset, clean = self._scan(seq, offset, max_items - len(out))
            out.extend(clicks)
            self._pos = Position(seq, offset)
            if len(out) >= max_items or later is None:
                break
            if not clean:
                log.warning("click journal segment %d ends in a torn record; skipped", seq)
            self._pos = Position(later, 0)
        return out

    # The ClickSource protocol takes a timeout so the worker can batch on size *or* time.
    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._take_reader_lock()
        while True:
            clicks = self._read_available(max_items)
            remaining = deadline - loop.time()
            if clicks or remaining <= 0:
                return clicks, self._pos
            if self._wakeup is None:
                self._wakeup = asyncio.Event()
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), min(remaining, _POLL))

    def _take_reader_lock(self) -> None:
        if not self._reading:
            self._locks.append(_lock(self.directory / "reader.lock", "consumer"))
            self._reading = True

    def rewind(self) -> None:
        """Hand out again, from the last ack, what was read but not acknowledged."""
        self._pos = self._acked

    async def ack_all(self, tokens: Sequence[object]) -> None:
        """A batch's reads: positions only grow, so acknowledging the furthest covers them
        all with one offset write (two fsyncs), however many reads filled the batch."""
        positions = [t for t in tokens if isinstance(t, Position)]
        if len(positions) != len(tokens):
            raise TypeError(f"not journal tokens: {tokens!r}")
        if positions:
            await self.ack(max(positions))

    async def ack(self, token: object) -> None:
        if not isinstance(token, Position):
            raise TypeError(f"not a journal token: {token!r}")
        self._take_reader_lock()
        if token <= self._acked:
            return
        await asyncio.to_thread(self._persist_offset, token)
        self._acked = token
        for seq in self._segments():
            if seq >= token.segment or seq == self._seq:
                break
            if self._read_fd is not None and self._read_fd[0] == seq:
                os.close(self._read_fd[1])
                self._read_fd = None
            (self.directory / _segment_name(seq)).unlink(missing_ok=True)

    def _persist_offset(self, position: Position) -> None:
        tmp = self.directory / "consumer.offset.tmp"
        data = orjson.dumps({"segment": position.segment, "offset": position.offset})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.directory / "consumer.offset")
        _fsync_dir(self.directory)

    @property
    def acked(self) -> Position:
        return self._acked

    # --- shutting down ---------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the group commit, sync what is left, release files and locks."""
        if self._syncer is not None and self._stop is not None:
            # Not cancelled: an fdatasync running in a thread must finish before its fds close.
            self._stop.set()
            await self._syncer
            self._syncer = self._stop = None
        if self._fd >= 0:
            await self.sync()
            os.close(self._fd)
            self._fd = -1
        if self._read_fd is not None:
            os.close(self._read_fd[1])
            self._read_fd = None
        for fd in self._locks:
            os.close(fd)
        self._locks = []
        self._reading = False
