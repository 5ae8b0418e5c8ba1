"""signaling.eager: a coroutine runs in the caller until it first waits, then in a task."""

from __future__ import annotations

import asyncio

import pytest

from signaling.eager import start_eagerly


async def test_a_coroutine_that_never_waits_finishes_in_the_caller() -> None:
    ran: list[str] = []

    async def quick() -> None:
        ran.append("done")

    assert start_eagerly(quick()) is None
    assert ran == ["done"]


async def test_a_coroutine_that_waits_goes_on_where_it_stopped() -> None:
    gate = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def slow() -> str:
        steps.append("before")
        value = await gate
        steps.append(f"after {value}")
        await asyncio.sleep(0)  # a bare yield is passed through as well
        return "result"

    rest = start_eagerly(slow())
    assert rest is not None and steps == ["before"]
    task = asyncio.ensure_future(_await(rest))
    await asyncio.sleep(0.01)
    assert not task.done()
    gate.set_result(7)
    assert await asyncio.wait_for(task, 1) == "result"
    assert steps == ["before", "after 7"]


async def test_errors_before_and_after_the_first_wait_reach_the_awaiting_side() -> None:
    async def broken_at_once() -> None:
        raise RuntimeError("at once")

    with pytest.raises(RuntimeError, match="at once"):
        start_eagerly(broken_at_once())

    gate = asyncio.get_running_loop().create_future()

    async def broken_later() -> None:
        await gate
        raise ValueError("later")

    rest = start_eagerly(broken_later())
    assert rest is not None
    gate.set_exception(KeyError("from the future"))
    with pytest.raises(KeyError):
        await rest
    # The coroutine saw the exception where it waited (it did not get to its own raise).


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    cleaned: list[bool] = []

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    rest = start_eagerly(waits_forever())
    assert rest is not None
    task = asyncio.ensure_future(_await(rest))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


async def test_a_timeout_around_the_rest_stops_it() -> None:
    async def waits_forever() -> None:
        await asyncio.Event().wait()

    rest = start_eagerly(waits_forever())
    assert rest is not None
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await rest


async def _await(rest: object) -> object:
    return await rest  # type: ignore[misc]
