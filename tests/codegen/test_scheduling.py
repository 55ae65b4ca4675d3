"""RankedSlots: at most `limit` holders; a freed slot goes to the lowest-ranked waiter; a
cancelled waiter neither keeps nor loses a slot."""

from __future__ import annotations

import asyncio

from codegen.scheduling import RankedSlots


async def test_a_freed_slot_goes_to_the_lowest_rank_not_the_first_arrival() -> None:
    slots = RankedSlots(1)
    order: list[str] = []
    gate = asyncio.Event()

    async def hold() -> None:
        async with slots.slot(0):
            await gate.wait()

    async def take(name: str, rank: int) -> None:
        async with slots.slot(rank):
            order.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiters = [
        asyncio.create_task(take(name, rank)) for name, rank in [("late", 9), ("early", 1), ("middle", 5)]
    ]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(holder, *waiters)
    assert order == ["early", "middle", "late"]


async def test_no_more_than_the_limit_hold_a_slot_at_once() -> None:
    slots = RankedSlots(3)
    inside = most = 0

    async def work(rank: int) -> None:
        nonlocal inside, most
        async with slots.slot(rank):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work(rank % 4) for rank in range(20)))
    assert most == 3
    assert slots.free == 3


async def test_a_cancelled_waiter_does_not_take_a_slot_with_it() -> None:
    slots = RankedSlots(1)
    gate = asyncio.Event()
    taken: list[str] = []

    async def hold() -> None:
        async with slots.slot(0):
            await gate.wait()

    async def take(name: str, rank: int) -> None:
        async with slots.slot(rank):
            taken.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(take("doomed", 1))
    survivor = asyncio.create_task(take("survivor", 2))
    await asyncio.sleep(0)
    doomed.cancel()
    gate.set()
    await asyncio.gather(holder, survivor)
    assert taken == ["survivor"]
    assert slots.free == 1
