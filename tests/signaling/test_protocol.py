"""The codec alone: every CONTRACT §4 message, strict validation, sizes, relays unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.errors import CloseCode, ProtocolError
from signaling.protocol import (
    MAX_FRAME_BYTES,
    Admit,
    Answer,
    Bye,
    Candidate,
    End,
    Ended,
    Error,
    Hello,
    Offer,
    PeerLeft,
    PeerReconnected,
    PeerWaiting,
    Ping,
    Pong,
    Start,
    Waiting,
    Welcome,
    decode_client,
    decode_server,
    encode,
    screen_client,
)

SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
       "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n")
CAND = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host", "sdpMid": "0",
        "sdpMLineIndex": 0, "usernameFragment": "abcd"}


def bad(frame: str | bytes, *, server: bool = False) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        (decode_server if server else decode_client)(frame)
    return info.value


# --- every message, both ways -----------------------------------------------------------------

CLIENT_MESSAGES: list[tuple[dict[str, Any], Any]] = [
    ({"type": "hello", "token": "t0k3n"}, Hello("t0k3n")),
    ({"type": "admit"}, Admit()),
    ({"type": "offer", "sdp": SDP}, Offer(SDP)),
    ({"type": "answer", "sdp": SDP}, Answer(SDP)),
    ({"type": "candidate", "candidate": CAND}, Candidate(CAND)),
    ({"type": "candidate", "candidate": None}, Candidate(None)),
    ({"type": "bye"}, Bye()),
    ({"type": "end"}, End()),
    ({"type": "ping"}, Ping()),
]

SERVER_MESSAGES: list[tuple[dict[str, Any], Any]] = [
    ({"type": "welcome", "role": "citizen", "reference": "B-7", "ice_servers": [
        {"urls": ["stun:stun.example.org:3478"]},
        {"urls": "turn:turn.example.org:3478?transport=udp", "username": "1:u", "credential": "c"},
    ]}, None),
    ({"type": "waiting"}, Waiting()),
    ({"type": "peer-waiting"}, PeerWaiting()),
    ({"type": "start", "initiator": True}, Start(True)),
    ({"type": "start", "initiator": False}, Start(False)),
    ({"type": "offer", "sdp": SDP}, Offer(SDP)),
    ({"type": "answer", "sdp": SDP}, Answer(SDP)),
    ({"type": "candidate", "candidate": CAND}, Candidate(CAND)),
    ({"type": "candidate", "candidate": None}, Candidate(None)),
    ({"type": "peer-left"}, PeerLeft()),
    ({"type": "ended"}, Ended()),
    ({"type": "error", "code": 4409}, Error(4409)),
    ({"type": "peer-reconnected"}, PeerReconnected()),
    ({"type": "pong"}, Pong()),
]


@pytest.mark.parametrize(("data", "expected"), CLIENT_MESSAGES, ids=lambda v: str(v)[:40])
def test_client_messages_round_trip(data: dict[str, Any], expected: Any) -> None:
    message = decode_client(json.dumps(data))
    assert message == expected
    assert json.loads(encode(message)) == data
    assert message.to_dict() == data


@pytest.mark.parametrize(("data", "expected"), SERVER_MESSAGES, ids=lambda v: str(v)[:40])
def test_server_messages_round_trip(data: dict[str, Any], expected: Any) -> None:
    message = decode_server(json.dumps(data))
    if expected is not None:
        assert message == expected
    assert json.loads(encode(message)) == data


def test_welcome_fields() -> None:
    message = decode_server(json.dumps(SERVER_MESSAGES[0][0]))
    assert isinstance(message, Welcome)
    assert (message.role, message.reference) == ("citizen", "B-7")
    assert message.ice_servers[1]["username"] == "1:u"
    built = Welcome("clerk", "B-7", [{"urls": ["stun:s"]}])
    assert decode_server(encode(built)) == built


def test_server_only_messages_are_unknown_to_the_server() -> None:
    for kind in ("welcome", "waiting", "peer-waiting", "start", "peer-left", "ended", "error",
                 "peer-reconnected", "pong"):
        assert bad(json.dumps({"type": kind})).code == CloseCode.BAD_MESSAGE


def test_client_only_messages_are_unknown_to_a_client() -> None:
    for kind in ("hello", "admit", "bye", "end", "ping"):
        assert bad(json.dumps({"type": kind}), server=True).code == CloseCode.BAD_MESSAGE


# --- relays keep the original -----------------------------------------------------------------


def test_relayed_messages_keep_the_original_dict() -> None:
    # Fields the codec does not know inside the candidate pass through untouched.
    inner = {**CAND, "relayProtocol": "udp", "x-extra": [1, {"a": None}]}
    for data in ({"type": "offer", "sdp": SDP}, {"type": "answer", "sdp": SDP},
                 {"type": "candidate", "candidate": inner},
                 {"type": "candidate", "candidate": None}):
        text = json.dumps(data)
        message = decode_client(text)
        assert isinstance(message, Offer | Answer | Candidate)
        assert message.raw == data
        assert message.to_dict() is message.raw  # the very dict, not a rebuilt one
        assert json.loads(encode(message)) == json.loads(text)


def test_unicode_and_crlf_survive() -> None:
    sdp = "v=0\r\ns=Bürgerbüro ✓\r\n"
    message = decode_client(json.dumps({"type": "offer", "sdp": sdp}, ensure_ascii=False))
    assert isinstance(message, Offer)
    assert message.sdp == sdp
    assert decode_client(encode(message)) == message


def test_candidate_end_marker_and_minimal_forms() -> None:
    for inner in ({"candidate": ""}, {"candidate": "c", "sdpMid": None, "sdpMLineIndex": None},
                  {"candidate": "c", "sdpMLineIndex": 3}):
        message = decode_client(json.dumps({"type": "candidate", "candidate": inner}))
        assert isinstance(message, Candidate)
        assert message.candidate == inner


def test_token_is_never_in_repr() -> None:
    hello = decode_client('{"type":"hello","token":"very-secret-token"}')
    assert "very-secret-token" not in repr(hello)
    assert "very-secret-token" not in str(hello)


# --- strictness -------------------------------------------------------------------------------

MALFORMED = [
    "",
    "{",
    "not json",
    '{"type": "hello", "token": "x"',
    "[]",
    '"hello"',
    "null",
    "42",
    "{}",
    '{"type": null}',
    '{"type": 7}',
    '{"type": ["hello"]}',
    '{"type": "nope"}',
    '{"type": "HELLO", "token": "x"}',
    '{"type": "hello"}',
    '{"type": "hello", "token": ""}',
    '{"type": "hello", "token": 12345}',
    '{"type": "hello", "token": null}',
    '{"type": "hello", "token": "x", "role": "clerk"}',
    '{"type": "hello", "type": "hello", "token": "x"}',
    '{"type": "admit", "force": true}',
    '{"type": "bye", "reason": "x"}',
    '{"type": "offer"}',
    '{"type": "offer", "sdp": ""}',
    '{"type": "offer", "sdp": 1}',
    '{"type": "offer", "sdp": {"sdp": "v=0"}}',
    '{"type": "answer", "sdp": null}',
    '{"type": "offer", "sdp": "v=0", "extra": 1}',
    '{"type": "candidate"}',
    '{"type": "candidate", "candidate": "candidate:1 1 udp"}',
    '{"type": "candidate", "candidate": []}',
    '{"type": "candidate", "candidate": {}}',
    '{"type": "candidate", "candidate": {"candidate": 5}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "sdpMid": 0}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": "0"}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": -1}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": true}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": 1.5}}',
    '{"type": "candidate", "candidate": {"candidate": "c", "usernameFragment": 1}}',
    '{"type": "ping", "n": NaN}',
    '{"type": "ping", "n": Infinity}',
    "[" * 20000 + "]" * 20000,
    '{"type": "hello", "token": "\\ud800"} trailing',
]


@pytest.mark.parametrize("frame", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_frames_are_4400(frame: str) -> None:
    error = bad(frame)
    assert error.code == CloseCode.BAD_MESSAGE == 4400


MALFORMED_TOO = [
    '{"type": "candidate", "candidate": {"candidate": "c", "candidate": "d"}}',  # nested duplicate
    '{"type": "bye"} {}',  # more after the object
    '{"type": "bye"} x',
    '{"type": "candidate", "candidate": {"candidate": "c"}, "candidate": null, "x": 1}',
    '{"type": "offer", "sdp": "v=0", "type": "offer"}',
]


@pytest.mark.parametrize("frame", MALFORMED_TOO, ids=range(len(MALFORMED_TOO)))
def test_more_malformed_frames_are_4400(frame: str) -> None:
    assert bad(frame).code == 4400


def test_whitespace_around_the_object_is_allowed() -> None:
    assert decode_client('{"type": "bye"} \r\n\t') == Bye()
    assert decode_client(' \n{"type": "bye"}') == Bye()
    assert screen_client('{"type": "candidate", "candidate": null}\n') is None


@pytest.mark.parametrize("frame", MALFORMED + MALFORMED_TOO,
                         ids=range(len(MALFORMED) + len(MALFORMED_TOO)))
def test_screen_client_refuses_what_decode_client_refuses(frame: str) -> None:
    with pytest.raises(ProtocolError) as info:
        screen_client(frame)
    assert info.value.code == bad(frame).code


@pytest.mark.parametrize(("data", "expected"), CLIENT_MESSAGES)
def test_screen_client_passes_relayed_kinds_and_decodes_the_rest(
    data: dict[str, Any], expected: Any
) -> None:
    frame = json.dumps(data)
    if data["type"] in ("offer", "answer", "candidate"):
        assert screen_client(frame) is None  # relayed as its text, nothing built
    else:
        assert screen_client(frame) == expected == decode_client(frame)


def test_screen_client_sizes_like_decode_client() -> None:
    padding = MAX_FRAME_BYTES - len('{"type":"offer","sdp":""}')
    assert screen_client('{"type":"offer","sdp":"' + "a" * padding + '"}') is None
    with pytest.raises(ProtocolError) as info:
        screen_client('{"type":"offer","sdp":"' + "a" * (padding + 1) + '"}')
    assert info.value.code == 4413
    with pytest.raises(ProtocolError) as info:
        screen_client(json.dumps({"type": "candidate", "candidate": {"candidate": "c" * 4097}}))
    assert info.value.code == 4400


def test_limits_on_field_sizes() -> None:
    assert decode_client(json.dumps({"type": "hello", "token": "t" * 1024})) == Hello("t" * 1024)
    assert bad(json.dumps({"type": "hello", "token": "t" * 1025})).code == 4400
    long_candidate = {"candidate": "c" * 4097}
    assert bad(json.dumps({"type": "candidate", "candidate": long_candidate})).code == 4400
    assert bad(json.dumps({"type": "candidate", "candidate": {"candidate": "c",
                                                             "sdpMid": "m" * 257}})).code == 4400


def test_binary_frames_are_4400() -> None:
    assert bad(b'{"type": "bye"}').code == 4400


def test_frames_over_64_kib_are_4413() -> None:
    padding = MAX_FRAME_BYTES - len('{"type":"offer","sdp":""}')
    exactly = '{"type":"offer","sdp":"' + "a" * padding + '"}'
    assert len(exactly.encode()) == MAX_FRAME_BYTES
    assert isinstance(decode_client(exactly), Offer)  # 64 KiB is allowed ...
    over = '{"type":"offer","sdp":"' + "a" * (padding + 1) + '"}'
    assert bad(over).code == CloseCode.TOO_BIG == 4413  # ... one byte more is not
    assert bad(b"x" * (MAX_FRAME_BYTES + 1)).code == 4413
    # Size counts UTF-8 bytes, not characters: 22 000 "€" are 66 000 bytes.
    assert bad('{"type":"offer","sdp":"' + "€" * 22000 + '"}').code == 4413
    # Size is checked before the JSON: garbage that is too big is 4413, not 4400.
    assert bad("{" * (MAX_FRAME_BYTES + 1)).code == 4413


def test_custom_frame_limit() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client('{"type":"bye"}', max_bytes=5)
    assert info.value.code == 4413


def test_server_message_validation() -> None:
    assert bad('{"type":"start"}', server=True).code == 4400
    assert bad('{"type":"start","initiator":1}', server=True).code == 4400
    assert bad('{"type":"error","code":"4400"}', server=True).code == 4400
    assert bad('{"type":"error","code":99}', server=True).code == 4400
    assert bad('{"type":"welcome","role":"admin","reference":"x","ice_servers":[]}',
               server=True).code == 4400
    assert bad('{"type":"welcome","role":"clerk","reference":"x","ice_servers":[{}]}',
               server=True).code == 4400
    assert bad('{"type":"welcome","role":"clerk","reference":"x",'
               '"ice_servers":[{"urls":[]}]}', server=True).code == 4400
    assert bad('{"type":"welcome","role":"clerk","reference":"x",'
               '"ice_servers":[{"urls":"stun:x","password":"p"}]}', server=True).code == 4400


def test_encode_is_compact_json_text() -> None:
    assert encode(Start(True)) == '{"type":"start","initiator":true}'
    assert encode({"type": "waiting"}) == '{"type":"waiting"}'
    with pytest.raises(ValueError):
        encode({"type": "x", "n": float("nan")})


def test_close_codes_match_the_contract() -> None:
    assert {c.name: int(c) for c in CloseCode if c.is_error} == {
        "BAD_MESSAGE": 4400, "UNAUTHORIZED": 4401, "FORBIDDEN": 4403, "HELLO_TIMEOUT": 4408,
        "REPLACED": 4409, "TOO_BIG": 4413, "TOO_MANY": 4429,
    }
    assert not CloseCode.NORMAL.is_error


def test_grant_validation() -> None:
    from datetime import UTC, datetime, timedelta

    from signaling import Grant

    t = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    g = Grant("r", "citizen", "B-1", t, t + timedelta(hours=1))
    assert g.is_open(t) and g.is_open(t + timedelta(minutes=59))
    assert not g.is_open(t - timedelta(seconds=1)) and not g.is_open(t + timedelta(hours=1))
    for bad_args in (("r", "admin", "B", t, t + timedelta(hours=1)),
                     ("", "clerk", "B", t, t + timedelta(hours=1)),
                     ("r", "clerk", "", t, t + timedelta(hours=1)),
                     ("r", "clerk", "B", t.replace(tzinfo=None), t.replace(tzinfo=None)),
                     ("r", "clerk", "B", t, t)):
        with pytest.raises(ValueError):
            Grant(*bad_args)  # type: ignore[arg-type]
