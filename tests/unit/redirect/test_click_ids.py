"""Click ids: random, 128 bits, never repeated — also not by a forked child."""

from __future__ import annotations

import os

from hoplink.redirect.edge import ClickIds


def test_click_ids_are_distinct_128_bit_hex_across_pool_refills() -> None:
    ids = ClickIds()
    drawn = [ids() for _ in range(5000)]  # 16 KiB pools hold 1,024 ids
    assert len(set(drawn)) == len(drawn)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in drawn)


def test_a_forked_child_does_not_repeat_the_parents_next_ids() -> None:
    ids = ClickIds()
    ids()  # the pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, ids().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child != ids()
