"""The outage tests' TCP proxy: forwards, cuts (reset or blackhole), restores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from chaos import ChaosProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[ChaosProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with ChaosProxy("127.0.0.1", port) as running:
        yield running
    server.close()
    await server.wait_closed()


async def _roundtrip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), 2)
    finally:
        writer.close()


async def test_forwards_both_ways_on_a_free_port(proxy: ChaosProxy) -> None:
    assert proxy.port > 0
    big = bytes(range(256)) * 1024  # more than one read
    assert await _roundtrip(proxy.port, big) == big
    assert await _roundtrip(proxy.port, b"again") == b"again"


async def test_cut_resets_open_connections_and_new_ones_until_restored(
    proxy: ChaosProxy,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"ping"
    await proxy.cut()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        # Reset: the read ends at once (an error or EOF), it does not hang.
        data = await asyncio.wait_for(reader.read(10), 2)
        if data == b"":
            raise asyncio.IncompleteReadError(b"", 1)
    writer.close()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await _roundtrip(proxy.port, b"refused")
    await proxy.restore()
    assert await _roundtrip(proxy.port, b"back") == b"back"


async def test_blackhole_accepts_and_stays_silent(proxy: ChaosProxy) -> None:
    await proxy.cut("blackhole")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"anyone?")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(10), 0.3)
    await proxy.restore()  # the hanging connection is reset; new ones forward again
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(10), 2)
    writer.close()
    assert await _roundtrip(proxy.port, b"back") == b"back"


async def test_target_down_resets_the_client(proxy: ChaosProxy) -> None:
    dead = ChaosProxy("127.0.0.1", 1)  # nothing listens on port 1
    async with dead:
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await _roundtrip(dead.port, b"x")
