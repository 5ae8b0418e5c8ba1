"""ICE servers for ``welcome``: STUN URLs, and TURN with coturn REST API credentials.

coturn's ``use-auth-secret`` mode (``static-auth-secret=...``) accepts a time-limited username
``f"{expiry_unix}:{user_id}"`` with the password ``base64(HMAC-SHA1(secret, username))``; the
expiry comes first and coturn refuses the credential once it has passed. No per-user state on the
TURN server: the app and coturn share only the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from signaling.grants import Grant


@dataclass(frozen=True, slots=True)
class TurnCredentials:
    username: str
    credential: str
    expires_at: datetime


def turn_credentials(secret: str, user_id: str, expires_at: datetime) -> TurnCredentials:
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    username = f"{int(expires_at.timestamp())}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires_at)


def ice_servers(
    stun_urls: Sequence[str],
    turn_urls: Sequence[str],
    secret: str | None,
    user_id: str,
    expires_at: datetime,
) -> list[dict[str, Any]]:
    """``RTCIceServer`` dicts: one entry for the STUN URLs, one for the TURN URLs with
    credentials valid until ``expires_at``."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls:
        if not secret:
            raise ValueError("TURN URLs need the shared secret")
        credentials = turn_credentials(secret, user_id, expires_at)
        servers.append(
            {
                "urls": list(turn_urls),
                "username": credentials.username,
                "credential": credentials.credential,
            }
        )
    return servers


def credential_expiry(closes_at: datetime, now: datetime, ttl_seconds: int) -> datetime:
    """Valid until the join window closes, but never longer than the TTL from now."""
    return min(closes_at, now + timedelta(seconds=ttl_seconds))


class IceConfig:
    """The app's ICE settings as the hub's ``ice_servers`` callback: ``IceConfig(...)(grant)``."""

    def __init__(
        self,
        stun_urls: Sequence[str] = (),
        turn_urls: Sequence[str] = (),
        secret: str | None = None,
        ttl_seconds: int = 3600,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if turn_urls and not secret:
            raise ValueError("TURN URLs are set but the TURN secret is not")
        if ttl_seconds <= 0:
            raise ValueError("the TURN credential TTL must be positive")
        self.stun_urls = tuple(stun_urls)
        self.turn_urls = tuple(turn_urls)
        self.secret = secret
        self.ttl_seconds = ttl_seconds
        self._now = now

    def __call__(self, grant: Grant) -> list[dict[str, Any]]:
        expires_at = credential_expiry(grant.closes_at, self._now(), self.ttl_seconds)
        # The user id shows up in coturn's log: role and appointment reference, nothing personal.
        user_id = f"{grant.role}-{grant.reference}"
        return ice_servers(self.stun_urls, self.turn_urls, self.secret, user_id, expires_at)
