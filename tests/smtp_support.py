"""A real SMTP server (aiosmtpd) on loopback for tests, and a polling helper.

Registered as a pytest plugin by the root conftest, so any test can use ``smtp_sink``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import free_port


class SmtpSink:
    """An SMTP server that keeps every accepted message; stoppable and restartable on its port.

    ``hold_rcpt_at = n`` makes the n-th RCPT command (counted over the sink's life) wait until
    the server is stopped: the test knows the client is then inside a delivery that has not been
    accepted, so stopping the server (or killing the client) there cannot create a duplicate.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.rcpt_count = 0
        self.hold_rcpt_at: int | None = None
        self.held = threading.Event()
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._sessions: list[SMTP] = []

    # aiosmtpd handler hooks (run in the server's thread)
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        with self._lock:
            self.rcpt_count += 1
            hold = self.rcpt_count == self.hold_rcpt_at
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if hold:
            self.held.set()
            await asyncio.sleep(3600)  # until the server stops (the task is cancelled)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def _factory(self) -> SMTP:
        smtp = SMTP(self, hostname="sink.test")
        self._sessions.append(smtp)
        return smtp

    def start(self) -> None:
        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.factory = self._factory  # type: ignore[method-assign]
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller = self._controller
        if controller is None:
            return
        self._controller = None
        # Close open client connections first, so nothing is left dangling in a closed loop:
        # in the server's loop, and until their handlers have ended (no fixed pause).
        closing = asyncio.run_coroutine_threadsafe(self._close_sessions(), controller.loop)
        closing.result(timeout=10)
        controller.stop()
        self._sessions.clear()

    async def _close_sessions(self) -> None:
        for smtp in self._sessions:
            if smtp.transport is not None:
                smtp.transport.close()
        # Each closed connection cancels its handler task; wait for those to finish.
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if others:
            await asyncio.wait(others, timeout=5)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def snapshot(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.snapshot()]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()



async def wait_for(condition: Callable[[], Awaitable[bool] | bool], timeout: float = 30.0,
                   what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
