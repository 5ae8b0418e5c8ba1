"""The loop that runs one signalling connection: read a frame, hand it to the hub, until either
side closes (``Hub.serve``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from signaling.session import Connection, Session


class Server(Protocol):
    """What the loop needs of the hub (``signaling.rooms.Hub``)."""

    def attach(self, conn: Connection) -> Session: ...

    async def handle_frame(self, session: Session, frame: str | bytes) -> None: ...


async def serve(
    hub: Server, conn: Connection, receive: Callable[[], Awaitable[str | bytes | None]]
) -> None:
    """Run one connection to its end: ``receive()`` yields frames, ``None`` once the client is
    gone. Returns when either side closed; the room is left by then."""
    session = hub.attach(conn)
    reader = asyncio.current_task()
    reading = interrupted = False

    def stop_reading() -> None:
        # The hub closed the connection while the client is silent: stop waiting for it.
        nonlocal interrupted
        if reading and reader is not None and not interrupted:
            interrupted = True
            reader.cancel()

    # One awaited receive() per frame and a callback for the hub's close: no task and no
    # asyncio.wait per frame, which dominated the relay's CPU time.
    session.on_closed(stop_reading)
    try:
        while not session.closed:
            reading = True
            try:
                frame = await receive()
            except asyncio.CancelledError:
                if interrupted and reader is not None and reader.uncancel() == 0:
                    break  # only our own cancel: the hub closed the connection
                raise
            finally:
                reading = False
            if frame is None:
                break
            await hub.handle_frame(session, frame)
    finally:
        session.on_closed(None)
        await session.detach()
