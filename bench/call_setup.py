"""Call setup: an aiortc clerk and an aiortc citizen from ``hello`` to ``connected`` through
/ws/call (waiting room, admit, offer/answer relayed), median of 20; ceiling: the same two peers
paired directly in-process."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from websockets.asyncio.client import ClientConnection, connect

from bench.common import Figure, Report, Seed, bench_env, serve
from bench.signalling import Room, issue_clerk_tokens, seed_rooms

CALLS = 20
TIMEOUT = 30.0


class GreyTrack(VideoStreamTrack):
    """A small plain picture: media is negotiated as in a real call, cheaply."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(160, 120, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = Fraction(time_base)
        return frame


def peer() -> tuple[RTCPeerConnection, asyncio.Event]:
    pc = RTCPeerConnection()
    pc.addTrack(GreyTrack())
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    async def _state() -> None:
        if pc.connectionState == "connected":
            connected.set()

    return pc, connected


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message.get("type") == kind:
            return message
        if message.get("type") == "error":
            raise RuntimeError(f"server error {message}")


async def through_server(url: str, room: Room) -> float:
    clerk_pc, clerk_up = peer()
    citizen_pc, citizen_up = peer()
    citizen = await connect(url, ping_interval=None)
    clerk = await connect(url, ping_interval=None)
    try:
        began = time.perf_counter()
        await citizen.send(json.dumps({"type": "hello", "token": room.citizen_token}))
        await _until(citizen, "waiting")
        await clerk.send(json.dumps({"type": "hello", "token": room.clerk_token}))
        await _until(clerk, "peer-waiting")
        await clerk.send(json.dumps({"type": "admit"}))
        await _until(clerk, "start")
        await _until(citizen, "start")
        await clerk_pc.setLocalDescription(await clerk_pc.createOffer())
        await clerk.send(json.dumps({"type": "offer", "sdp": clerk_pc.localDescription.sdp}))
        offer = await _until(citizen, "offer")
        await citizen_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await citizen_pc.setLocalDescription(await citizen_pc.createAnswer())
        await citizen.send(json.dumps({"type": "answer", "sdp": citizen_pc.localDescription.sdp}))
        answer = await _until(clerk, "answer")
        await clerk_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(clerk_up.wait(), citizen_up.wait())
        return (time.perf_counter() - began) * 1000
    finally:
        await clerk.close()
        await citizen.close()
        await clerk_pc.close()
        await citizen_pc.close()


async def direct() -> float:
    clerk_pc, clerk_up = peer()
    citizen_pc, citizen_up = peer()
    try:
        began = time.perf_counter()
        await clerk_pc.setLocalDescription(await clerk_pc.createOffer())
        await citizen_pc.setRemoteDescription(
            RTCSessionDescription(clerk_pc.localDescription.sdp, "offer"))
        await citizen_pc.setLocalDescription(await citizen_pc.createAnswer())
        await clerk_pc.setRemoteDescription(
            RTCSessionDescription(citizen_pc.localDescription.sdp, "answer"))
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(clerk_up.wait(), citizen_up.wait())
        return (time.perf_counter() - began) * 1000
    finally:
        await clerk_pc.close()
        await citizen_pc.close()


async def run(report: Report, database_url: str, seed: Seed) -> None:
    rooms = await seed_rooms(database_url, seed, CALLS, prefix="S")
    with serve("app", bench_env(database_url)) as server:
        await issue_clerk_tokens(server.base_url, rooms)
        served = [await through_server(server.ws_url, room) for room in rooms]
    paired = [await direct() for _ in range(CALLS)]
    median, ceiling = statistics.median(served), statistics.median(paired)
    report.add(Figure("call setup hello→connected (aiortc)", median, "ms", ceiling=ceiling,
                      ratio=median / ceiling, target="<= 2 x", passed=median / ceiling <= 2,
                      note=f"median of {CALLS}"))
