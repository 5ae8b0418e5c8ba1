"""WebSocket ceiling: pairs two sockets by room and forwards each frame unparsed to the other.

The first text frame of a socket names its room (``{"room": "..."}``, read as a plain string);
every later frame goes to the other socket of the room as it came.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_rooms: dict[str, list[WebSocket]] = {}


async def pair(websocket: WebSocket) -> None:
    await websocket.accept()
    room = await websocket.receive_text()
    members = _rooms.setdefault(room, [])
    members.append(websocket)
    try:
        while True:
            frame = await websocket.receive_text()
            for other in members:
                if other is not websocket:
                    await other.send_text(frame)
    except WebSocketDisconnect:
        pass
    finally:
        members.remove(websocket)
        if not members:
            _rooms.pop(room, None)


async def healthz(request: Request) -> Response:
    await asyncio.sleep(0)
    return PlainTextResponse("ok")


def build() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws/call", pair), Route("/healthz", healthz)])
