"""The signalling message codec (CONTRACT §4), separate from any transport.

Frames are JSON text. ``decode_client`` is what the server applies to every frame it receives;
``decode_server`` parses what the server sends (for test peers and tools). Validation is strict:
a frame that is not a JSON object, has an unknown ``type``, misses a field, carries an unknown
top-level field or a value of the wrong type or size raises ``ProtocolError(4400)``; a frame over
64 KiB raises ``ProtocolError(4413)``.

``offer``, ``answer`` and ``candidate`` are relayed, not interpreted: they keep the dict they were
decoded from (``raw``) and ``to_dict`` returns exactly that dict, so fields a browser adds reach the
other party unchanged. The inner ``candidate`` object is the browser's ``RTCIceCandidateInit``
(owned by the WebRTC spec): its known members are type-checked and any others pass through.

The third participant (``signaling.meeting``): a relayed frame may name the role it is for,
``"to"``; the server passes it on with ``"from"`` instead (``peer`` on the decoded message). A
frame without ``"to"`` goes from clerk to citizen or back, exactly as two-party clients send it.
``admit`` may carry ``"role": "guest"``; ``peer-joined`` and a ``peer-left`` with ``"role"``
concern the guest's connections.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any, NoReturn

from signaling.checks import bad, check_fields
from signaling.errors import CloseCode, ProtocolError
from signaling.extras import client_parsers, server_parsers
from signaling.grants import ROLES, Role
from signaling.messages import (
    Admit,
    Answer,
    BareMessage,
    Bye,
    Candidate,
    ClientMessage,
    End,
    Ended,
    Error,
    Hello,
    Message,
    Offer,
    PeerJoined,
    PeerLeft,
    PeerReconnected,
    PeerWaiting,
    Ping,
    Pong,
    ServerMessage,
    Start,
    Waiting,
    WaitingInfo,
    Welcome,
)

# The messages live in signaling.messages; this module is where callers find them.

__all__ = [
    "MAX_CANDIDATE_CHARS",
    "MAX_FRAME_BYTES",
    "MAX_NOTE_CHARS",
    "MAX_SHORT_CHARS",
    "MAX_TOKEN_CHARS",
    "Admit",
    "Answer",
    "BareMessage",
    "Bye",
    "Candidate",
    "ClientMessage",
    "End",
    "Ended",
    "Error",
    "Hello",
    "Message",
    "Offer",
    "PeerJoined",
    "PeerLeft",
    "PeerReconnected",
    "PeerWaiting",
    "Ping",
    "Pong",
    "ServerMessage",
    "Start",
    "Waiting",
    "WaitingInfo",
    "Welcome",
    "decode_client",
    "decode_server",
    "encode",
    "load_frame",
    "screen_client",
]

MAX_FRAME_BYTES = 64 * 1024
MAX_TOKEN_CHARS = 1024
MAX_CANDIDATE_CHARS = 4096
MAX_SHORT_CHARS = 256
MAX_NOTE_CHARS = 500  # the office's message to those waiting (signaling.waitroom)


# --- decoding ----------------------------------------------------------------------------------




def _no_constants(name: str) -> NoReturn:
    bad(f"JSON constant {name} not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        bad("duplicate key")
    return obj


# One decoder for every frame (json.loads with hooks would build a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constants, object_pairs_hook=_unique_keys)
# Its scanner (the one JSONDecoder builds for itself), called directly for a frame that starts
# with "{" (every client frame): JSONDecoder.decode wraps it in two Python calls and two
# whitespace regex matches. (typeshed types the argument as the C scanner class, a duck type.)
_SCAN = make_scanner(_DECODER)  # type: ignore[arg-type]
_JSON_SPACE = " \t\n\r"


def load_frame(frame: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any]:
    """Check a frame's size and kind and parse it into a JSON object with a string ``type``."""
    if isinstance(frame, str):
        # UTF-8 takes 1 to 4 bytes per code point: encode only when the length cannot tell.
        if len(frame) > max_bytes or (
            len(frame) * 4 > max_bytes and len(frame.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise ProtocolError(CloseCode.TOO_BIG, "frame too big")
    else:
        if len(frame) > max_bytes:
            raise ProtocolError(CloseCode.TOO_BIG, "frame too big")
        bad("binary frame")
    try:
        if frame[:1] == "{":
            obj, end = _SCAN(frame, 0)
            if end != len(frame) and frame[end:].strip(_JSON_SPACE):
                bad("malformed JSON")  # extra data after the object
        else:
            obj = _DECODER.decode(frame)
    except ProtocolError:
        raise
    except (ValueError, RecursionError, StopIteration):
        bad("malformed JSON")
    if type(obj) is not dict:
        bad("not a JSON object")
    if type(obj.get("type")) is not str:
        bad("missing type")
    return obj




def _str(value: Any, what: str, *, min_len: int = 0, max_len: int = MAX_FRAME_BYTES) -> str:
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        bad(f"{what}: not a string of {min_len}..{max_len} characters")
    return value


def _opt_str(value: Any, what: str, max_len: int = MAX_SHORT_CHARS) -> str | None:
    return None if value is None else _str(value, what, max_len=max_len)


def _int(value: Any, what: str, low: int, high: int) -> int:
    # bool is an int in Python but not in JSON's sense of a number.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        bad(f"{what}: not an integer in {low}..{high}")
    return value


def _candidate_init(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:  # the decoder builds plain dicts, strs, ints and bools
        bad("candidate: not an object or null")
    # The usual members, checked inline (this runs for every trickled candidate); anything
    # unusual takes the checks below, which also word the error.
    candidate, mid = value.get("candidate"), value.get("sdpMid")
    index, ufrag = value.get("sdpMLineIndex"), value.get("usernameFragment")
    if (
        type(candidate) is str
        and len(candidate) <= MAX_CANDIDATE_CHARS
        and (mid is None or (type(mid) is str and len(mid) <= MAX_SHORT_CHARS))
        and (index is None or (type(index) is int and 0 <= index <= 65535))
        and (ufrag is None or (type(ufrag) is str and len(ufrag) <= MAX_SHORT_CHARS))
    ):
        return value
    if "candidate" not in value:
        bad("candidate: missing candidate")
    # "" is the end-of-candidates marker some browsers send.
    _str(value["candidate"], "candidate.candidate", max_len=MAX_CANDIDATE_CHARS)
    _opt_str(value.get("sdpMid"), "candidate.sdpMid")
    if value.get("sdpMLineIndex") is not None:
        _int(value["sdpMLineIndex"], "candidate.sdpMLineIndex", 0, 65535)
    _opt_str(value.get("usernameFragment"), "candidate.usernameFragment")
    return value


def _hello(obj: dict[str, Any]) -> Hello:
    check_fields(obj, ("token",))
    return Hello(_str(obj["token"], "hello.token", min_len=1, max_len=MAX_TOKEN_CHARS))


def _check_description(obj: dict[str, Any]) -> None:
    """``offer`` and ``answer``: exactly ``type`` and a non-empty ``sdp`` string."""
    sdp = obj.get("sdp")
    if len(obj) == 2 and type(sdp) is str and 0 < len(sdp) <= MAX_FRAME_BYTES:  # the usual
        return
    check_fields(obj, ("sdp",))
    _str(sdp, f"{obj['type']}.sdp", min_len=1)


def _check_candidate(obj: dict[str, Any]) -> None:
    """``candidate``: exactly ``type`` and ``candidate`` (an ``RTCIceCandidateInit`` or null)."""
    if len(obj) != 2 or "candidate" not in obj:
        check_fields(obj, ("candidate",))
    _candidate_init(obj["candidate"])


def _role(value: Any, what: str) -> Role:
    if value not in ROLES:
        bad(f"{what}: unknown role")
    role: Role = value
    return role


def _addressed(obj: dict[str, Any], key: str) -> tuple[dict[str, Any], Role | None]:
    """A relayed frame's ``key`` ("to" from a client, "from" from the server) split off."""
    if key not in obj:
        return obj, None
    rest = {k: v for k, v in obj.items() if k != key}
    return rest, _role(obj[key], f"{obj['type']}.{key}")


def _relayed(key: str) -> dict[str, Callable[[dict[str, Any]], Any]]:
    def offer(obj: dict[str, Any]) -> Offer:
        rest, peer = _addressed(obj, key)
        _check_description(rest)
        return Offer(obj["sdp"], raw=obj, peer=peer)

    def answer(obj: dict[str, Any]) -> Answer:
        rest, peer = _addressed(obj, key)
        _check_description(rest)
        return Answer(obj["sdp"], raw=obj, peer=peer)

    def candidate(obj: dict[str, Any]) -> Candidate:
        rest, peer = _addressed(obj, key)
        _check_candidate(rest)
        return Candidate(obj["candidate"], raw=obj, peer=peer)

    return {"offer": offer, "answer": answer, "candidate": candidate}


_TO = _relayed("to")
_FROM = _relayed("from")


def _admit(obj: dict[str, Any]) -> Admit:
    check_fields(obj, (), ("role",))
    if "role" not in obj:
        return Admit()
    if obj["role"] not in ("citizen", "guest"):
        bad("admit.role: not citizen or guest")
    return Admit(_role(obj["role"], "admit.role"))


def _peer_left(obj: dict[str, Any]) -> PeerLeft:
    check_fields(obj, (), ("role",))
    return PeerLeft(_role(obj["role"], "peer-left.role") if "role" in obj else None)


def _peer_joined(obj: dict[str, Any]) -> PeerJoined:
    check_fields(obj, ("role", "initiator"))
    if not isinstance(obj["initiator"], bool):
        bad("peer-joined.initiator: not a boolean")
    return PeerJoined(_role(obj["role"], "peer-joined.role"), obj["initiator"])


def _ice_server(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        bad("ice_servers: entry not an object")
    unknown = value.keys() - {"urls", "username", "credential"}
    if "urls" not in value or unknown:
        bad("ice_servers: entry needs urls and has only username, credential besides")
    urls = value["urls"]
    url_list = [urls] if isinstance(urls, str) else urls
    if not isinstance(url_list, list) or not url_list:
        bad("ice_servers: urls not a string or a non-empty list")
    for url in url_list:
        _str(url, "ice_servers.urls", min_len=1, max_len=MAX_SHORT_CHARS)
    for key in ("username", "credential"):
        if key in value:
            _str(value[key], f"ice_servers.{key}", max_len=MAX_SHORT_CHARS)
    return value


def _welcome(obj: dict[str, Any]) -> Welcome:
    check_fields(obj, ("role", "reference", "ice_servers"))
    role = obj["role"]
    if role not in ROLES:
        bad("welcome.role: unknown role")
    servers = obj["ice_servers"]
    if not isinstance(servers, list):
        bad("welcome.ice_servers: not a list")
    return Welcome(
        role,
        _str(obj["reference"], "welcome.reference", min_len=1, max_len=MAX_SHORT_CHARS),
        [_ice_server(server) for server in servers],
    )


def _start(obj: dict[str, Any]) -> Start:
    check_fields(obj, ("initiator",))
    if not isinstance(obj["initiator"], bool):
        bad("start.initiator: not a boolean")
    return Start(obj["initiator"])


def _error(obj: dict[str, Any]) -> Error:
    check_fields(obj, ("code",))
    return Error(_int(obj["code"], "error.code", 1000, 4999))


def _waiting_info(obj: dict[str, Any]) -> WaitingInfo:
    check_fields(obj, ("text", "sent_at"))
    return WaitingInfo(_str(obj["text"], "waiting-info.text", max_len=MAX_NOTE_CHARS),
                       _str(obj["sent_at"], "waiting-info.sent_at", min_len=1,
                            max_len=MAX_SHORT_CHARS))


def _bare(cls: type[BareMessage]) -> Callable[[dict[str, Any]], Any]:
    def parse(obj: dict[str, Any]) -> BareMessage:
        check_fields(obj, ())
        return cls()

    return parse


_CLIENT: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "hello": _hello,
    "admit": _admit,
    **_TO,
    "bye": _bare(Bye),
    "end": _bare(End),
    "ping": _bare(Ping),
    **client_parsers(),
}

_SERVER: dict[str, Callable[[dict[str, Any]], ServerMessage]] = {
    "welcome": _welcome,
    "waiting": _bare(Waiting),
    "peer-waiting": _bare(PeerWaiting),
    "start": _start,
    **_FROM,
    "peer-left": _peer_left,
    "peer-joined": _peer_joined,
    "ended": _bare(Ended),
    "error": _error,
    "peer-reconnected": _bare(PeerReconnected),
    "pong": _bare(Pong),
    **server_parsers(),
    "waiting-info": _waiting_info,
}


# The relayed kinds: checked like the rest, but passed on as the frame's text.
_RELAYED: dict[str, Callable[[dict[str, Any]], None]] = {
    "offer": _check_description,
    "answer": _check_description,
    "candidate": _check_candidate,
}


def decode_client(frame: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> ClientMessage:
    """Parse a frame a client sent; raises ``ProtocolError`` (4400 or 4413)."""
    obj = load_frame(frame, max_bytes)
    parse = _CLIENT.get(obj["type"])
    if parse is None:
        bad("unknown type")
    return parse(obj)


def screen_client(frame: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> ClientMessage | None:
    """``decode_client`` for the relay: an ``offer``, ``answer`` or ``candidate`` passes the
    same checks but gives ``None`` (the hub relays the frame's text; no message object is built
    for the most frequent frames). One addressed to a role (``"to"``) gives its message, for the
    hub to pass on with ``"from"``. Raises ``ProtocolError`` (4400 or 4413) like
    ``decode_client``."""
    obj = load_frame(frame, max_bytes)
    kind = obj["type"]
    check = _RELAYED.get(kind)
    if check is not None:
        if "to" in obj:
            return _TO[kind](obj)  # type: ignore[no-any-return]
        check(obj)
        return None
    parse = _CLIENT.get(kind)
    if parse is None:
        bad("unknown type")
    return parse(obj)


def decode_server(frame: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> ServerMessage:
    """Parse a frame the server sent; raises ``ProtocolError`` (4400 or 4413)."""
    obj = load_frame(frame, max_bytes)
    parse = _SERVER.get(obj["type"])
    if parse is None:
        bad("unknown type")
    return parse(obj)


# --- encoding ----------------------------------------------------------------------------------


def encode(message: Message | dict[str, Any]) -> str:
    """One JSON text frame. Relayed messages encode the dict they were decoded from."""
    data = message if isinstance(message, dict) else message.to_dict()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
