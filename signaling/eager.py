"""Start a coroutine at once in the caller, and hand it to a task only if it has to wait.

A WebSocket send usually completes without waiting (the server buffers the frame), so running it
in a task of its own costs a task wake-up per message for nothing; yet a send *may* wait (a full
TCP window), and then the caller must not wait with it. ``start_eagerly`` steps the coroutine
once: finished means done, no task involved; suspended means the rest runs in a task, driven
exactly as ``await`` would (PEP 380: values sent and exceptions thrown go through to the
coroutine). Python 3.12's eager task factory does the same for whole tasks.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


class Resumed:
    """An awaitable that continues a coroutine which already yielded ``pending``."""

    def __init__(self, coro: Coroutine[Any, Any, T], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        pending = self._pending
        while True:
            try:
                sent = yield pending  # the task waits for the future the coroutine is on
            except GeneratorExit:
                self._coro.close()
                raise
            except BaseException as exc:  # cancellation and the like reach the coroutine
                try:
                    pending = self._coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = self._coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def start_eagerly(coro: Coroutine[Any, Any, Any]) -> Resumed | None:
    """Run ``coro`` until it finishes (``None``) or first waits (the rest, to be awaited).

    Exceptions raised before the first wait propagate to the caller.
    """
    try:
        pending = coro.send(None)
    except StopIteration:
        return None
    return Resumed(coro, pending)
