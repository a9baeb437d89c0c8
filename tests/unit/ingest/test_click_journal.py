"""The click journal on a real directory: round trip, torn tails, segments, offsets."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from hoplink.clicks.models import Click
from hoplink.ingest.backlog import journal_backlog
from hoplink.ingest.journal import ClickJournal, JournalLocked, Position, encode_record


def click(n: int) -> Click:
    return Click(
        click_id=f"{n:032x}",
        ts=1_780_000_000.0 + n,
        link_id="lnk_1",
        workspace_id="ws_1",
        domain="hop.test",
        method="GET",
        user_agent=f"Mozilla/5.0 test {n}",
        referrer="https://m.facebook.com/",
        accept_language="en-US",
        country="DE",
        visitor_hash="ab" * 16,
    )


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


async def drain(journal: ClickJournal, *, batch: int = 1000) -> tuple[list[Click], object]:
    out: list[Click] = []
    token: object = None
    while True:
        clicks, token = await journal.read(batch, timeout=0)
        if not clicks:
            return out, token
        out.extend(clicks)


async def test_put_read_ack_round_trip(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(5):
        journal.put(click(n))
    clicks, token = await journal.read(3, timeout=0)
    assert clicks == [click(0), click(1), click(2)]
    more, token2 = await journal.read(10, timeout=0)
    assert more == [click(3), click(4)]
    await journal.ack(token2)
    empty, _ = await journal.read(10, timeout=0)
    assert empty == []
    await journal.close()
    assert token != token2


async def test_read_waits_for_a_put_up_to_the_timeout(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    loop = asyncio.get_running_loop()
    start = loop.time()
    clicks, _ = await journal.read(10, timeout=0.1)
    assert clicks == [] and loop.time() - start >= 0.1
    loop.call_later(0.02, journal.put, click(1))
    start = loop.time()
    clicks, _ = await journal.read(10, timeout=5)
    assert clicks == [click(1)] and loop.time() - start < 1
    await journal.close()


async def test_unacked_clicks_come_again_after_reopen_and_acked_ones_do_not(
    tmp_path: Path,
) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(6):
        journal.put(click(n))
    _, token = await journal.read(4, timeout=0)
    await journal.ack(token)
    await journal.read(10, timeout=0)  # read, never acked: the worker "crashed"
    await journal.close()

    reopened = ClickJournal(tmp_path)
    again, _ = await drain(reopened)
    assert again == [click(4), click(5)]
    await reopened.close()


async def test_rewind_hands_out_unacked_clicks_again(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(3):
        journal.put(click(n))
    clicks, _ = await journal.read(10, timeout=0)
    journal.rewind()
    assert (await journal.read(10, timeout=0))[0] == clicks
    await journal.close()


async def test_torn_tail_is_skipped_and_later_segments_are_read(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(3):
        journal.put(click(n))
    await journal.close()
    [segment] = segments(tmp_path)
    data = segment.read_bytes()
    # A crash in the middle of the third record's write:
    torn = data[: len(data) - 20]
    segment.write_bytes(torn)

    reader = ClickJournal(tmp_path, write=False)
    got, _ = await drain(reader)
    assert got == [click(0), click(1)]  # the torn record is not (yet) readable
    await reader.close()

    writer = ClickJournal(tmp_path)  # the restarted server writes a new segment
    writer.put(click(3))
    got, token = await drain(writer)
    assert got == [click(0), click(1), click(3)]
    await writer.ack(token)
    assert segment not in segments(tmp_path)  # fully consumed: deleted
    await writer.close()


async def test_corrupt_record_ends_its_segment(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(3):
        journal.put(click(n))
    await journal.close()
    [segment] = segments(tmp_path)
    data = bytearray(segment.read_bytes())
    second = len(data) // 3 + 20  # a byte inside the second record's payload
    data[second] ^= 0xFF
    segment.write_bytes(bytes(data))
    writer = ClickJournal(tmp_path)
    writer.put(click(9))
    got, _ = await drain(writer)
    assert got == [click(0), click(9)]
    await writer.close()


async def test_zeroed_tail_after_power_loss_is_not_a_record(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    journal.put(click(0))
    await journal.close()
    [segment] = segments(tmp_path)
    with segment.open("ab") as f:
        f.write(b"\0" * 4096)
    writer = ClickJournal(tmp_path)
    writer.put(click(1))
    got, _ = await drain(writer)
    assert got == [click(0), click(1)]
    await writer.close()


async def test_segments_roll_at_the_size_and_are_deleted_once_acked(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path, segment_bytes=2048)
    for n in range(100):
        journal.put(click(n))
    assert len(segments(tmp_path)) >= 8
    got, token = await journal.read(60, timeout=0)
    assert got == [click(n) for n in range(60)]
    await journal.ack(token)
    assert isinstance(token, Position)
    remaining = segments(tmp_path)
    assert all(int(p.stem) >= token.segment for p in remaining)
    rest, token = await drain(journal)
    assert rest == [click(n) for n in range(60, 100)]
    await journal.ack(token)
    # Only the segment being written is left.
    assert len(segments(tmp_path)) == 1
    await journal.close()


async def test_offset_survives_reopen_across_segments(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path, segment_bytes=2048)
    for n in range(30):
        journal.put(click(n))
    got, token = await journal.read(17, timeout=0)
    await journal.ack(token)
    await journal.close()
    assert (tmp_path / "consumer.offset").exists()
    assert not (tmp_path / "consumer.offset.tmp").exists()
    reopened = ClickJournal(tmp_path, segment_bytes=2048)
    assert reopened.acked == token
    rest, _ = await drain(reopened)
    assert got + rest == [click(n) for n in range(30)]
    await reopened.close()


async def test_ack_of_an_older_token_changes_nothing(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    for n in range(4):
        journal.put(click(n))
    _, old = await journal.read(2, timeout=0)
    _, new = await journal.read(2, timeout=0)
    await journal.ack(new)
    await journal.ack(old)
    assert journal.acked == new
    with pytest.raises(TypeError):
        await journal.ack("not a token")
    await journal.close()


async def test_group_commit_resolves_waiters_after_fsync(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path, fsync_interval=0.01)
    journal.start()
    journal.put(click(1))
    await asyncio.wait_for(journal.synced(), timeout=2)
    await journal.close()


async def test_one_writer_per_directory(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    with pytest.raises(JournalLocked):
        ClickJournal(tmp_path)
    await journal.close()
    ClickJournal(tmp_path)  # released on close (and by the kernel on kill -9)


async def test_a_consumer_only_instance_reads_what_the_writer_appends(tmp_path: Path) -> None:
    writer = ClickJournal(tmp_path)
    reader = ClickJournal(tmp_path, write=False)
    writer.put(click(1))
    got, _ = await reader.read(10, timeout=0.5)  # no in-process wake-up: found by polling
    assert got == [click(1)]
    with pytest.raises(JournalLocked):
        await ClickJournal(tmp_path, write=False).read(1, timeout=0)  # one consumer at a time
    await writer.close()
    await reader.close()


async def test_records_longer_than_a_read_chunk_and_many_small_reads(tmp_path: Path) -> None:
    journal = ClickJournal(tmp_path)
    huge = replace(click(0), user_agent="x" * 200_000)  # longer than the first 64 KiB read
    journal.put(click(1))
    journal.put(huge)
    for n in range(2, 400):
        journal.put(click(n))
    got: list[Click] = []
    while batch := (await journal.read(7, timeout=0))[0]:
        got.extend(batch)
    assert got == [click(1), huge, *(click(n) for n in range(2, 400))]
    await journal.close()


async def test_a_journal_written_by_the_previous_release_is_read_after_an_upgrade(
    tmp_path: Path,
) -> None:
    # Before the array record, a record's payload was the click as a JSON object; a
    # journal the old web process left undrained is read first, then the new records.
    old = [click(n) for n in range(3)]
    old.append(replace(click(3), ad_click_ids={"fbclid": "F"}, rule="r1", variant="b"))
    payloads = [orjson.dumps(c) for c in old]
    assert all(p.startswith(b'{"click_id":') for p in payloads)
    (tmp_path / f"{1:020d}.seg").write_bytes(b"".join(encode_record(p) for p in payloads))
    assert journal_backlog(tmp_path).oldest_ts == old[0].ts  # the metrics read it too
    journal = ClickJournal(tmp_path)  # the upgraded web process: a new segment
    new = [replace(click(n), rule="default") for n in range(4, 6)]
    for c in new:
        journal.put(c)
    clicks, _ = await drain(journal)
    assert clicks == old + new
    await journal.close()


def test_the_record_is_an_array_of_the_fields_in_order() -> None:
    c = replace(click(1), ad_click_ids={"gclid": "G"}, variant="b")
    record = c.to_record()
    assert orjson.loads(record) == [
        c.click_id, c.ts, "lnk_1", "ws_1", "hop.test", "GET", c.user_agent,
        "https://m.facebook.com/", "en-US", "DE", "ab" * 16, {"gclid": "G"}, None, "b",
    ]  # fmt: skip
    assert len(record) < len(c.to_json()) * 3 // 4
    assert Click.from_record(record) == c
    assert Click.from_record(c.to_json()) == c
