"""The guest's part of the room state and of the codec: the same in memory and in Redis."""

from __future__ import annotations

import json

import pytest

from signaling.errors import CloseCode, ProtocolError
from signaling.protocol import (
    Admit,
    Offer,
    PeerJoined,
    PeerLeft,
    decode_client,
    decode_server,
    screen_client,
)
from signaling.store import RoomStore
from tests.signaling.conftest import Backend
from tests.signaling.test_store import forget, hold, later


@pytest.fixture
def store(backend: Backend) -> RoomStore:
    return backend.store()


async def test_guest_joins_waits_and_is_admitted_only_by_the_clerk(store: RoomStore) -> None:
    first = await store.join("r", "guest", "g1", later())
    assert first.present == frozenset() and not first.guest_admitted
    snapshot = await store.snapshot("r")
    assert snapshot.guest and snapshot.guest_waiting and not snapshot.citizen
    assert await store.admit_guest("r", "g1") is None  # not the clerk
    clerk = await store.join("r", "clerk", "k1", later())
    assert clerk.present == frozenset({"guest"}) and not clerk.peer_present
    result = await store.admit_guest("r", "k1")
    assert result is not None and result.changed and result.citizen_present
    again = await store.admit_guest("r", "k1")
    assert again is not None and not again.changed
    snapshot = await store.snapshot("r")
    assert snapshot.guest_admitted and not snapshot.guest_waiting
    assert not snapshot.admitted  # the citizen's admission is a separate one
    citizen = await store.join("r", "citizen", "c1", later())
    assert citizen.present == frozenset({"clerk", "guest"}) and citizen.guest_admitted


async def test_guest_admission_holds_across_a_reconnect_and_ends_with_the_room(
    store: RoomStore,
) -> None:
    await store.join("r", "clerk", "k1", later())
    await store.join("r", "guest", "g1", later())
    await store.admit_guest("r", "k1")
    assert await store.leave("r", "guest", "g1")
    back = await store.join("r", "guest", "g2", later())
    assert back.guest_admitted and back.present == frozenset({"clerk"})
    assert await store.end("r", "k1")
    assert (await store.join("r", "guest", "g3", later())).refused
    # The clerk reopening the room reopens it without admissions.
    reopened = await store.join("r", "clerk", "k2", later())
    assert not reopened.refused and not reopened.guest_admitted
    assert not (await store.snapshot("r")).guest_admitted


async def test_refresh_reports_the_guest_and_reclaims_its_admission(store: RoomStore) -> None:
    await store.join("r", "citizen", "c1", later())
    await store.join("r", "clerk", "k1", later())
    await store.join("r", "guest", "g1", later())
    await store.admit_guest("r", "k1")
    clerk, guest = await store.refresh([hold("r", "clerk", "k1"), hold("r", "guest", "g1")])
    assert (clerk.held, clerk.peer, clerk.guest) == ("held", "live", "live")
    assert (guest.held, guest.peer, guest.citizen) == ("held", "live", "live")
    await forget(store, "r")
    reclaimed = await store.refresh([hold("r", "guest", "g1", admitted=True)])
    assert reclaimed[0].held == "reclaimed"
    snapshot = await store.snapshot("r")
    assert snapshot.guest and snapshot.guest_admitted and not snapshot.admitted


async def test_guest_in_the_room_does_not_make_the_citizen_wait(store: RoomStore) -> None:
    await store.join("r", "guest", "g1", later())
    assert await store.waiting(["r"]) == set()


# --- the codec ---------------------------------------------------------------------------------

SDP = "v=0\r\n"


def test_admit_with_and_without_role() -> None:
    assert decode_client('{"type":"admit"}') == Admit()
    assert decode_client('{"type":"admit","role":"guest"}') == Admit("guest")
    assert Admit("guest").to_dict() == {"type": "admit", "role": "guest"}
    assert Admit().to_dict() == {"type": "admit"}
    for bad in ('{"type":"admit","role":"clerk"}', '{"type":"admit","role":"boss"}',
                '{"type":"admit","role":1}'):
        with pytest.raises(ProtocolError) as caught:
            decode_client(bad)
        assert caught.value.code == CloseCode.BAD_MESSAGE


def test_addressed_relay_frames() -> None:
    frame = json.dumps({"type": "offer", "sdp": SDP, "to": "guest"})
    message = screen_client(frame)
    assert isinstance(message, Offer) and message.peer == "guest"
    # Without "to" the relay path builds nothing (two-party frames, unchanged).
    assert screen_client(json.dumps({"type": "offer", "sdp": SDP})) is None
    relayed = decode_server(json.dumps({"type": "answer", "sdp": SDP, "from": "citizen"}))
    assert relayed.peer == "citizen"  # type: ignore[union-attr]
    for bad in ({"type": "offer", "sdp": SDP, "to": "nobody"},
                {"type": "offer", "sdp": SDP, "from": "clerk"},  # only the server says from
                {"type": "candidate", "candidate": None, "to": 3}):
        with pytest.raises(ProtocolError):
            screen_client(json.dumps(bad))
    with pytest.raises(ProtocolError):  # and a server frame never carries "to"
        decode_server(json.dumps({"type": "offer", "sdp": SDP, "to": "clerk"}))


def test_peer_joined_and_peer_left_with_a_role() -> None:
    assert decode_server('{"type":"peer-joined","role":"guest","initiator":true}') == \
        PeerJoined("guest", True)
    assert decode_server('{"type":"peer-left","role":"guest"}') == PeerLeft("guest")
    assert decode_server('{"type":"peer-left"}') == PeerLeft()
    assert PeerLeft().to_dict() == {"type": "peer-left"}
    with pytest.raises(ProtocolError):
        decode_server('{"type":"peer-joined","role":"guest","initiator":"yes"}')
    assert decode_server(
        '{"type":"welcome","role":"guest","reference":"R","ice_servers":[]}'
    ).role == "guest"  # type: ignore[union-attr]
