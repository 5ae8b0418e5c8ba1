"""The pre-call connection test: a server-side aiortc peer that echoes the citizen's camera.

The citizen's browser sends an SDP offer (after ICE gathering completed, so it carries its
candidates); the peer answers with all of its own candidates in the SDP (aiortc gathers before
answering), sends each received video frame straight back, and counts audio frames without
echoing them (an echoed microphone would howl). The report says whether ICE and DTLS connected,
over which route — ``direct`` (host or server-reflexive candidates) or ``relay`` (TURN) — and how
long it took. A peer closes itself after ``BUERO_CONNECTION_TEST_SECONDS``; each instance runs at
most ``BUERO_CONNECTION_TEST_MAX_CONCURRENT`` (video is re-encoded, which costs CPU).

Reports are kept in memory for a while after the peer closed, and copied to Redis when configured
so that a report request reaching another instance still finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from calls.candidates import screen_answer, screen_offer
from core.errors import DomainError, Invalid
from core.types import utcnow
from signaling.turn import ice_servers

log = logging.getLogger("buergerbuero.echo")

State = Literal["connecting", "connected", "failed", "closed"]
REPORT_KEEP = timedelta(minutes=15)  # how long a report stays readable after the test
TURN_CREDENTIAL_LIFETIME = timedelta(minutes=10)


class ConnectionTestBusy(DomainError):
    status = 503
    code = "connection_test_busy"
    message = "All connection tests are in use right now. Please try again in a minute."


class InvalidOffer(Invalid):
    code = "invalid_offer"
    message = "The offer is not a valid WebRTC session description with video."


@dataclass(frozen=True)
class EchoConfig:
    """What the connection tests need of the installation's settings."""

    max_concurrent: int
    seconds: float
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl_seconds: int = 3600
    allow_private: bool = False  # candidates in private ranges (``calls.candidates``)
    public_addresses: tuple[str, ...] = ()  # the server's host addresses it may announce
    redis_prefix: str = "buero:"  # the installation's (settings.redis_prefix)


@dataclass
class Report:
    id: str
    reference: str = field(repr=False)
    state: State = "connecting"
    connected: bool = False  # ICE and DTLS connected at some point
    route: Literal["direct", "relay"] | None = None
    local_candidate: str | None = None  # the server's candidate type of the selected pair
    remote_candidate: str | None = None  # the browser's (host, srflx, prflx or relay)
    connect_ms: int | None = None  # from receiving the offer to "connected"
    video_frames: int = 0  # frames received from the browser (and echoed)
    audio_frames: int = 0
    expires_at: str = ""  # when the peer closes itself

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        del data["reference"]
        return data


def ice_servers_for(
    config: EchoConfig, user_id: str
) -> tuple[list[dict[str, Any]], datetime]:
    """STUN and TURN (with short-lived credentials) for a connection test, in the browser's
    ``RTCIceServer`` shape, and when the credentials expire. The expiry is wall-clock time,
    not the services' clock (``utcnow``): coturn checks it against its own clock."""
    lifetime = min(TURN_CREDENTIAL_LIFETIME, timedelta(seconds=config.turn_ttl_seconds))
    expires_at = datetime.now(UTC) + lifetime
    servers = ice_servers(list(config.stun_urls), list(config.turn_urls), config.turn_secret,
                          user_id, expires_at)
    return servers, expires_at


def _aiortc_servers(servers: list[dict[str, Any]]) -> list[Any]:
    return [RTCIceServer(urls=s["urls"], username=s.get("username"),
                         credential=s.get("credential")) for s in servers]


def selected_candidates(pc: Any) -> tuple[str, str] | None:
    """Types of the local and remote candidate of the nominated ICE pair.

    aiortc does not expose the selected pair (its stats have no candidate-pair entry), so this
    reads its ICE connection; with BUNDLE there is one transport for every track.
    """
    for transceiver in pc.getTransceivers():
        ice = getattr(transceiver.receiver.transport, "transport", None)
        nominated = getattr(getattr(ice, "_connection", None), "_nominated", None) or {}
        for pair in nominated.values():
            return str(pair.local_candidate.type), str(pair.remote_candidate.type)
    return None


class _EchoTrack(MediaStreamTrack):
    """Sends the browser's own video back, counting frames."""

    kind = "video"

    def __init__(self, source: Any, report: Report) -> None:
        super().__init__()
        self._source = source
        self._report = report

    async def recv(self) -> Any:
        frame = await self._source.recv()
        self._report.video_frames += 1
        return frame


class _Test:
    def __init__(self, report: Report, pc: Any, started: float) -> None:
        self.report = report
        self.pc = pc
        self.started = started
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()


class ConnectionTests:
    """The running tests of this instance and the recent reports."""

    def __init__(self, config: EchoConfig, redis: Any = None) -> None:
        self.config = config
        self.redis = redis  # a redis.asyncio client shares reports between instances
        self._running: dict[str, _Test] = {}
        self._reserved = 0  # tests being set up (counted against the limit before any await)
        self._reports: dict[str, tuple[Report, float]] = {}  # finished: report, keep until
        self._closing = False

    @property
    def running(self) -> int:
        return len(self._running) + self._reserved

    def check_capacity(self) -> None:
        if self._closing or self.running >= self.config.max_concurrent:
            raise ConnectionTestBusy()

    async def start(self, reference: str, offer_sdp: str) -> tuple[Report, str]:
        """Answer ``offer_sdp`` with an echoing peer; returns the report and the answer SDP."""
        self.check_capacity()
        self._prune()
        self._reserved += 1
        try:
            return await self._start(reference, offer_sdp)
        finally:
            self._reserved -= 1

    async def _start(self, reference: str, offer_sdp: str) -> tuple[Report, str]:
        now = utcnow()
        report = Report(
            id=secrets.token_urlsafe(16), reference=reference,
            expires_at=(now + timedelta(seconds=self.config.seconds)).isoformat(),
        )
        servers, _ = ice_servers_for(self.config, f"echo-{reference}")
        # An explicit list, even when empty: aiortc's default is a public STUN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=_aiortc_servers(servers)))
        test = _Test(report, pc, time.monotonic())
        self._wire(test)
        try:
            offer = RTCSessionDescription(
                sdp=screen_offer(offer_sdp, allow_private=self.config.allow_private),
                type="offer")
            try:
                await pc.setRemoteDescription(offer)
            except Exception as exc:  # aiortc raises ValueError and others for bad SDP
                log.info("connection test: refused offer (%s)", type(exc).__name__)
                raise InvalidOffer() from None
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise InvalidOffer()
            await pc.setLocalDescription(await pc.createAnswer())
            if self._closing:
                raise ConnectionTestBusy()
        except BaseException:
            await self._finish(test, "failed")
            raise
        self._running[report.id] = test
        self._spawn(test, self._expire(test, self.config.seconds))
        await self._publish(report)
        config = self.config
        answer = screen_answer(str(pc.localDescription.sdp), allow_private=config.allow_private,
                               public_addresses=config.public_addresses)
        return report, answer

    def _wire(self, test: _Test) -> None:
        pc, report = test.pc, test.report

        def on_track(track: Any) -> None:
            if track.kind == "video":
                pc.addTrack(_EchoTrack(track, report))
            else:
                self._spawn(test, self._count_audio(track, report))

        async def on_state() -> None:
            if pc.connectionState == "connected" and not report.connected:
                report.connected = True
                report.state = "connected"
                report.connect_ms = round((time.monotonic() - test.started) * 1000)
                pair = selected_candidates(pc)
                if pair is not None:
                    report.local_candidate, report.remote_candidate = pair
                    report.route = "relay" if "relay" in pair else "direct"
                await self._publish(report)
            elif pc.connectionState in ("failed", "closed"):
                self._spawn(test, self._finish(test, str(pc.connectionState)))

        pc.on("track", on_track)
        pc.on("connectionstatechange", on_state)

    async def _count_audio(self, track: Any, report: Report) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                report.audio_frames += 1

    async def _expire(self, test: _Test, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._finish(test, "closed")

    def _spawn(self, test: _Test, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        test.tasks.add(task)
        task.add_done_callback(test.tasks.discard)

    async def _finish(self, test: _Test, why: str) -> None:
        """Close the peer once; the report keeps the outcome."""
        if test.closed.is_set():
            return
        test.closed.set()
        report = test.report
        log.debug("connection test over (%s)", why)
        # Over: "closed" after a connection was made (whatever ended it), else "failed".
        report.state = "closed" if report.connected else "failed"
        self._running.pop(report.id, None)
        self._reports[report.id] = (report, time.monotonic() + REPORT_KEEP.total_seconds())
        current = asyncio.current_task()
        for task in list(test.tasks):
            if task is not current:
                task.cancel()
        await test.pc.close()
        await self._publish(report)

    def _prune(self) -> None:
        now = time.monotonic()
        for key, (_, until) in list(self._reports.items()):
            if until <= now:
                del self._reports[key]

    async def report(self, test_id: str, reference: str) -> Report | None:
        """The report of ``test_id`` if it belongs to ``reference`` (else ``None``)."""
        self._prune()
        found: Report | None = None
        if test_id in self._running:
            found = self._running[test_id].report
        elif test_id in self._reports:
            found = self._reports[test_id][0]
        else:
            found = await self._fetch(test_id)
        if found is None or not secrets.compare_digest(found.reference, reference):
            return None
        return found

    async def stop(self, test_id: str, reference: str) -> bool:
        test = self._running.get(test_id)
        if test is None or test.report.reference != reference:
            return False
        await self._finish(test, "closed")
        return True

    async def aclose(self) -> None:
        self._closing = True
        for test in list(self._running.values()):
            await self._finish(test, "closed")

    # --- sharing reports between instances ---------------------------------------------------

    def _key(self, test_id: str) -> str:
        return f"{self.config.redis_prefix}connection-test:{test_id}"

    async def _publish(self, report: Report) -> None:
        redis = self.redis
        if redis is None:
            return
        try:
            await redis.set(self._key(report.id), json.dumps(asdict(report)),
                            ex=int(REPORT_KEEP.total_seconds()))
        except Exception:
            log.warning("storing a connection test report in Redis failed", exc_info=True)

    async def _fetch(self, test_id: str) -> Report | None:
        redis = self.redis
        if redis is None or len(test_id) > 64:
            return None
        try:
            raw = await redis.get(self._key(test_id))
        except Exception:
            log.warning("reading a connection test report from Redis failed", exc_info=True)
            return None
        return Report(**json.loads(raw)) if raw else None
