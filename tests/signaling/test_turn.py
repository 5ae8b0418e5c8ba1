"""coturn REST credentials (``use-auth-secret``) and the RTCIceServer list."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from signaling import Grant, IceConfig, ice_servers, turn_credentials
from signaling.turn import credential_expiry

EXPIRY = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000


def test_known_vector() -> None:
    # Computed outside Python: printf '1700000000:citizen-ABC123' |
    #   openssl dgst -sha1 -hmac north-secret -binary | base64
    credentials = turn_credentials("north-secret", "citizen-ABC123", EXPIRY)
    assert credentials.username == "1700000000:citizen-ABC123"
    assert credentials.credential == "Hz9kyoeTk3r0V+2iK4jvvemWPcY="
    assert credentials.expires_at == EXPIRY


@pytest.mark.parametrize(("secret", "user", "expiry"), [
    ("s3cr3t", "clerk-B-1", datetime(2030, 1, 1, tzinfo=UTC)),
    ("ünïcode-sécret", "citizen-X", datetime(2026, 3, 29, 1, 30, 59, 999999, tzinfo=UTC)),
    ("x", "u:with:colons", datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(hours=5)),
])
def test_credentials_match_an_independent_computation(
    secret: str, user: str, expiry: datetime
) -> None:
    credentials = turn_credentials(secret, user, expiry)
    expected_user = f"{int(expiry.timestamp())}:{user}"
    expected_password = base64.b64encode(
        hmac.new(secret.encode("utf-8"), expected_user.encode("utf-8"), hashlib.sha1).digest()
    ).decode()
    assert credentials.username == expected_user
    assert credentials.username.split(":", 1)[0].isdigit()  # expiry first, whole seconds
    assert credentials.credential == expected_password


def test_expiry_is_the_unix_time_whatever_the_zone() -> None:
    from zoneinfo import ZoneInfo

    local = EXPIRY.astimezone(ZoneInfo("Europe/Berlin"))
    assert turn_credentials("k", "u", local).username == "1700000000:u"
    with pytest.raises(ValueError):
        turn_credentials("k", "u", EXPIRY.replace(tzinfo=None))


def test_ice_servers_shape() -> None:
    servers = ice_servers(
        ["stun:stun.example.org:3478"],
        ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        "north-secret", "citizen-ABC123", EXPIRY,
    )
    assert servers == [
        {"urls": ["stun:stun.example.org:3478"]},
        {
            "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
            "username": "1700000000:citizen-ABC123",
            "credential": "Hz9kyoeTk3r0V+2iK4jvvemWPcY=",
        },
    ]


def test_ice_servers_without_turn_or_stun() -> None:
    assert ice_servers([], [], None, "u", EXPIRY) == []
    assert ice_servers(["stun:a", "stun:b"], [], None, "u", EXPIRY) == [
        {"urls": ["stun:a", "stun:b"]}
    ]
    only_turn = ice_servers([], ["turn:t"], "k", "u", EXPIRY)
    assert [set(s) for s in only_turn] == [{"urls", "username", "credential"}]
    with pytest.raises(ValueError):
        ice_servers([], ["turn:t"], None, "u", EXPIRY)


def test_expiry_is_the_window_close_capped_by_the_ttl() -> None:
    now = datetime(2026, 5, 4, 8, 50, tzinfo=UTC)
    closes = datetime(2026, 5, 4, 9, 50, tzinfo=UTC)
    assert credential_expiry(closes, now, 7200) == closes
    assert credential_expiry(closes, now, 600) == now + timedelta(seconds=600)


def test_ice_config_for_a_grant() -> None:
    now = datetime(2026, 5, 4, 8, 50, tzinfo=UTC)
    grant = Grant(room="r1", role="citizen", reference="B-42",
                  opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(minutes=40))
    config = IceConfig(["stun:s"], ["turn:t"], "k", ttl_seconds=3600, now=lambda: now)
    stun, turn = config(grant)
    assert stun == {"urls": ["stun:s"]}
    expiry = int((now + timedelta(minutes=40)).timestamp())
    assert turn["username"] == f"{expiry}:citizen-B-42"
    assert turn["credential"] == turn_credentials(
        "k", "citizen-B-42", now + timedelta(minutes=40)).credential
    short = IceConfig([], ["turn:t"], "k", ttl_seconds=60, now=lambda: now)(grant)
    assert short[0]["username"].startswith(f"{int(now.timestamp()) + 60}:")


def test_ice_config_refuses_turn_without_secret() -> None:
    with pytest.raises(ValueError):
        IceConfig([], ["turn:t"], None)
    with pytest.raises(ValueError):
        IceConfig([], ["turn:t"], "k", ttl_seconds=0)
    assert IceConfig()(Grant("r", "clerk", "B", EXPIRY, EXPIRY + timedelta(hours=1))) == []
