"""The messages one party sends the other during a call (signaling.extras): the codec's strict
checks, and the hub relaying them to the other party only, only in a running call, only from
the roles allowed to send them, over each backend."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from signaling.errors import CloseCode, ProtocolError
from signaling.extras import KINDS, MAX_CHAT_CHARS, Extra
from signaling.protocol import decode_client, decode_server, encode, screen_client
from tests.signaling.conftest import Backend, HubFactory
from tests.signaling.helpers import Events, Tokens
from tests.signaling.test_rooms import Room


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def refused(text: str, *, server: bool = False) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        (decode_server if server else decode_client)(text)
    return info.value


# --- the codec ---------------------------------------------------------------------------------

GOOD: list[dict[str, Any]] = [
    {"type": "chat", "text": "Müller mit ü, Hauptstraße 5"},
    {"type": "document-mode", "on": True},
    {"type": "document-mode", "on": False},
    {"type": "document-mode-reply", "on": True, "outcome": "accepted", "width": 1920,
     "height": 1080},
    {"type": "document-mode-reply", "on": True, "outcome": "refused"},
    {"type": "document-mode-reply", "on": False, "outcome": "failed", "width": None,
     "height": None},
    {"type": "screen-share", "active": True},
]


@pytest.mark.parametrize("message", GOOD, ids=lambda m: m["type"])
def test_good_messages_decode_and_encode_unchanged(message: dict[str, Any]) -> None:
    decoded = decode_client(json.dumps(message))
    assert isinstance(decoded, Extra)
    assert decoded.kind == message["type"]
    assert decoded.to_dict() == message
    assert json.loads(encode(decoded)) == message
    # The relay's entry point builds the same message (these are not passed on as raw text).
    screened = screen_client(json.dumps(message))
    assert isinstance(screened, Extra) and screened.to_dict() == message


BAD: list[tuple[str, dict[str, Any]]] = [
    ("unknown field", {"type": "chat", "text": "hallo", "html": "<b>"}),
    ("sender's own from", {"type": "chat", "text": "hallo", "from": "clerk"}),
    ("missing text", {"type": "chat"}),
    ("empty text", {"type": "chat", "text": ""}),
    ("text too long", {"type": "chat", "text": "x" * (MAX_CHAT_CHARS + 1)}),
    ("text not a string", {"type": "chat", "text": ["a"]}),
    ("on not a bool", {"type": "document-mode", "on": 1}),
    ("missing on", {"type": "document-mode"}),
    ("unknown outcome", {"type": "document-mode-reply", "on": True, "outcome": "maybe"}),
    ("width zero", {"type": "document-mode-reply", "on": True, "outcome": "accepted",
                    "width": 0, "height": 10}),
    ("width too big", {"type": "document-mode-reply", "on": True, "outcome": "accepted",
                       "width": 16385, "height": 10}),
    ("width a bool", {"type": "document-mode-reply", "on": True, "outcome": "accepted",
                      "width": True}),
    ("width a float", {"type": "document-mode-reply", "on": True, "outcome": "accepted",
                       "width": 640.5}),
    ("active a string", {"type": "screen-share", "active": "yes"}),
]


@pytest.mark.parametrize(("why", "message"), BAD, ids=[why for why, _ in BAD])
def test_bad_messages_are_refused(why: str, message: dict[str, Any]) -> None:
    error = refused(json.dumps(message))
    assert error.code == CloseCode.BAD_MESSAGE, why


def test_a_refused_chat_line_is_not_quoted_in_the_reason() -> None:
    secret = "Geheimnis-" + "y" * MAX_CHAT_CHARS
    error = refused(frame(type="chat", text=secret))
    assert "Geheimnis" not in error.reason and "Geheimnis" not in str(error)
    assert "Geheimnis" not in repr(decode_client(frame(type="chat", text="Geheimnis")))


def test_control_characters_are_removed() -> None:
    message = decode_client(frame(type="chat", text="  Ma\x00ier\u202e\n\tweg\x9b "))
    assert isinstance(message, Extra)
    assert message.to_dict() == {"type": "chat", "text": "Maierweg"}
    only_controls = decode_client(frame(type="chat", text="\x01\x02 \n"))
    assert isinstance(only_controls, Extra) and only_controls.empty


def test_the_server_side_carries_from() -> None:
    relayed = decode_server(frame(type="chat", text="hallo", **{"from": "citizen"}))
    assert isinstance(relayed, Extra)
    assert relayed.to_dict() == {"type": "chat", "text": "hallo", "from": "citizen"}
    assert refused(frame(type="chat", text="x", **{"from": "admin"}), server=True).code == 4400
    # Only the stamped kinds carry a sender.
    assert refused(frame(type="screen-share", active=True, **{"from": "clerk"}),
                   server=True).code == 4400


def test_every_kind_names_its_senders() -> None:
    assert set(KINDS) == {"chat", "document-mode", "document-mode-reply", "screen-share"}
    for kind in KINDS.values():
        assert kind.senders and kind.senders <= {"citizen", "clerk"}


# --- the hub -----------------------------------------------------------------------------------


@pytest.fixture
async def room(make_hub: HubFactory, backend: Backend) -> Room:
    tokens = Tokens()
    hub = await make_hub(tokens, on_event=Events())
    return Room(hub, tokens, backend)


async def test_chat_goes_to_the_other_party_with_its_sender(room: Room) -> None:
    citizen, clerk = await room.in_call()
    await citizen.send({"type": "chat", "text": "M-Ü-L-L-E-R"})
    assert await clerk.recv() == {"type": "chat", "text": "M-Ü-L-L-E-R", "from": "citizen"}
    await clerk.send({"type": "chat", "text": "Danke\x07!"})
    assert await citizen.recv() == {"type": "chat", "text": "Danke!", "from": "clerk"}
    await citizen.nothing()
    await clerk.nothing()


async def test_document_mode_and_screen_share_go_both_ways(room: Room) -> None:
    citizen, clerk = await room.in_call()
    await clerk.send({"type": "document-mode", "on": True})
    assert await citizen.recv() == {"type": "document-mode", "on": True}
    reply = {"type": "document-mode-reply", "on": True, "outcome": "accepted",
             "width": 1280, "height": 720}
    await citizen.send(reply)
    assert await clerk.recv() == reply
    await clerk.send({"type": "screen-share", "active": True})
    assert await citizen.recv() == {"type": "screen-share", "active": True}
    await clerk.nothing()


async def test_nothing_is_relayed_outside_a_running_call(room: Room) -> None:
    citizen = await room.citizen()
    await citizen.expect("waiting")
    clerk = await room.clerk()
    await clerk.expect("peer-waiting")
    # Waiting, not admitted: the line goes nowhere and nobody is closed.
    await citizen.send({"type": "chat", "text": "Ist da wer?"})
    await clerk.send({"type": "chat", "text": "Gleich."})
    await clerk.nothing()
    await citizen.nothing()
    # An empty line (control characters only) is dropped in a running call too.
    await clerk.send({"type": "admit"})
    await clerk.expect("start")
    await citizen.expect("start")
    await citizen.send({"type": "chat", "text": "\x00\n"})
    await clerk.nothing()


@pytest.mark.parametrize(("role", "message"), [
    ("citizen", {"type": "document-mode", "on": True}),
    ("citizen", {"type": "screen-share", "active": True}),
    ("clerk", {"type": "document-mode-reply", "on": True, "outcome": "accepted"}),
])
async def test_a_role_may_send_only_its_kinds(room: Room, role: str,
                                              message: dict[str, Any]) -> None:
    citizen, clerk = await room.in_call()
    sender, other = (citizen, clerk) if role == "citizen" else (clerk, citizen)
    await sender.send(message)
    assert await sender.expect_closed(CloseCode.FORBIDDEN) == []  # then the error frame
    # The other side hears only that the sender left, never the message.
    assert await other.recv() == {"type": "peer-left"}


async def test_a_bad_chat_line_closes_with_4400(room: Room) -> None:
    citizen, clerk = await room.in_call()
    await citizen.send({"type": "chat", "text": "x" * (MAX_CHAT_CHARS + 1)})
    await citizen.expect_closed(CloseCode.BAD_MESSAGE)
    assert await clerk.recv() == {"type": "peer-left"}


async def test_chat_text_is_never_logged(room: Room, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    citizen, clerk = await room.in_call()
    await citizen.send({"type": "chat", "text": "Geburtsname Schmidt-Öztürk"})
    await clerk.expect("chat")
    await citizen.send({"type": "chat", "text": "Schmidt-Öztürk" * 100})  # refused: too long
    await citizen.expect_closed(CloseCode.BAD_MESSAGE)
    assert caplog.records  # the close was logged ...
    assert not [r for r in caplog.records if "Öztürk" in r.getMessage()]  # ... not the text
