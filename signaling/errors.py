"""WebSocket close codes of the signalling protocol (CONTRACT §4) and the error that carries one."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    # Standard codes (RFC 6455) the hub uses for non-error endings.
    NORMAL = 1000  # bye, end, ended
    GOING_AWAY = 1001  # the instance shuts down, or an idle connection is dropped
    INTERNAL_ERROR = 1011  # the authorizer or the room store failed
    TRY_AGAIN_LATER = 1013  # cannot keep up with its messages, or the room store is away

    # Protocol codes; each is preceded by {"type": "error", "code": <code>}.
    BAD_MESSAGE = 4400  # malformed JSON, unknown type, wrong fields, before hello, second hello
    UNAUTHORIZED = 4401  # invalid, expired or revoked token
    FORBIDDEN = 4403  # outside the join window, room ended, or a message the role may not send
    HELLO_TIMEOUT = 4408  # no hello in time
    REPLACED = 4409  # a newer connection of the same role took over
    TOO_BIG = 4413  # frame over 64 KiB
    TOO_MANY = 4429  # message rate limit exceeded

    @property
    def is_error(self) -> bool:
        """Protocol errors are announced with an ``error`` message before the close."""
        return self >= 4000


class ProtocolError(Exception):
    """A frame or message the hub refuses; the connection is closed with ``code``.

    ``reason`` is for the server log only: it never reaches the client (no detail that helps
    guessing) and must never contain a token.
    """

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(f"{int(code)}: {reason}")
        self.code = code
        self.reason = reason


class BackendUnavailable(Exception):
    """The shared room store or the bus (Redis) cannot be reached right now.

    Not a protocol error: the hub keeps running calls going, queues what it must tell other
    instances, and asks new connections to try again later (1013)."""
