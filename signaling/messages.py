"""The signalling messages (CONTRACT §4) as typed values; ``signaling.protocol`` decodes frames
into them and encodes them. Relayed kinds (offer, answer, candidate) keep the dict they were
decoded from in ``raw``, so what a browser adds reaches the other party unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from signaling.extras import Extra
from signaling.grants import Role

# --- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BareMessage:
    """A message with no field but its type."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True, slots=True)
class Hello:
    type: ClassVar[str] = "hello"
    token: str = field(repr=False)  # never in a repr, so never in a log line

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "token": self.token}


@dataclass(frozen=True, slots=True)
class Welcome:
    type: ClassVar[str] = "welcome"
    role: Role
    reference: str
    ice_servers: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "role": self.role,
            "reference": self.reference,
            "ice_servers": self.ice_servers,
        }


@dataclass(frozen=True, slots=True)
class Start:
    type: ClassVar[str] = "start"
    initiator: bool

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "initiator": self.initiator}


@dataclass(frozen=True, slots=True)
class Error:
    type: ClassVar[str] = "error"
    code: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "code": self.code}


@dataclass(frozen=True, slots=True)
class Description:
    type: ClassVar[str] = ""
    sdp: str
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    peer: Role | None = None  # "to" as a client sent it, "from" as the server relays it

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        return {"type": self.type, "sdp": self.sdp}


@dataclass(frozen=True, slots=True)
class Offer(Description):
    type: ClassVar[str] = "offer"


@dataclass(frozen=True, slots=True)
class Answer(Description):
    type: ClassVar[str] = "answer"


@dataclass(frozen=True, slots=True)
class Candidate:
    """``candidate`` is an ``RTCIceCandidateInit`` dict, or ``None`` for end-of-candidates."""

    type: ClassVar[str] = "candidate"
    candidate: dict[str, Any] | None
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    peer: Role | None = None  # "to" as a client sent it, "from" as the server relays it

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        return {"type": self.type, "candidate": self.candidate}


@dataclass(frozen=True, slots=True)
class Waiting(BareMessage):
    type: ClassVar[str] = "waiting"


@dataclass(frozen=True, slots=True)
class PeerWaiting(BareMessage):
    type: ClassVar[str] = "peer-waiting"


@dataclass(frozen=True, slots=True)
class Admit:
    """Without ``role`` (CONTRACT §4) the citizen; ``"guest"`` admits the invited guest."""

    type: ClassVar[str] = "admit"
    role: Role | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.role is None:
            return {"type": self.type}
        return {"type": self.type, "role": self.role}


@dataclass(frozen=True, slots=True)
class Bye(BareMessage):
    type: ClassVar[str] = "bye"


@dataclass(frozen=True, slots=True)
class PeerLeft:
    """Without ``role`` the two-party counterpart left; with it, that participant."""

    type: ClassVar[str] = "peer-left"
    role: Role | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.role is None:
            return {"type": self.type}
        return {"type": self.type, "role": self.role}


@dataclass(frozen=True, slots=True)
class PeerJoined:
    """A connection between the receiver and ``role`` is to be (re)built now; the receiver
    offers when ``initiator`` (the clerk with everyone, the citizen with the guest)."""

    type: ClassVar[str] = "peer-joined"
    role: Role
    initiator: bool

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "role": self.role, "initiator": self.initiator}


@dataclass(frozen=True, slots=True)
class End(BareMessage):
    type: ClassVar[str] = "end"


@dataclass(frozen=True, slots=True)
class Ended(BareMessage):
    type: ClassVar[str] = "ended"


@dataclass(frozen=True, slots=True)
class PeerReconnected(BareMessage):
    type: ClassVar[str] = "peer-reconnected"


@dataclass(frozen=True, slots=True)
class Ping(BareMessage):
    """Optional client keepalive (an addition to CONTRACT §4): browsers cannot see WebSocket
    pings, so a client that wants to notice a dead server sends ``ping`` and expects ``pong``."""

    type: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class Pong(BareMessage):
    type: ClassVar[str] = "pong"


@dataclass(frozen=True, slots=True)
class WaitingInfo:
    """The office's message to those waiting (an addition to CONTRACT §4, server → citizen):
    sent when the clerk writes it, and on entering the waiting room when one was left."""

    type: ClassVar[str] = "waiting-info"
    text: str
    sent_at: str  # ISO 8601 with offset

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "text": self.text, "sent_at": self.sent_at}


Relay: TypeAlias = Offer | Answer | Candidate
# Extra: the messages one party sends the other during the call (signaling.extras).
ClientMessage: TypeAlias = Hello | Admit | Offer | Answer | Candidate | Bye | End | Ping | Extra
ServerMessage: TypeAlias = (
    Welcome
    | Waiting
    | PeerWaiting
    | Start
    | Offer
    | Answer
    | Candidate
    | PeerLeft
    | PeerJoined
    | Ended
    | Error
    | PeerReconnected
    | Pong
    | Extra
    | WaitingInfo
)
Message: TypeAlias = ClientMessage | ServerMessage
