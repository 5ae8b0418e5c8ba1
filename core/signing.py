"""Values signed with the server's secret key, through itsdangerous.

Each use names its purpose, which becomes itsdangerous' salt: a value signed for one purpose
(the booked-appointment cookie, a form's CSRF token) is never accepted for another, and none is
accepted under another key. Signatures are HMAC-SHA256 and are compared in constant time by the
library.

Not everything keyed with the secret is a signature: link, session and call tokens are random
and only their keyed hash is stored (``booking/links.py``, ``app/auth.py``, ``calls/service.py``);
TURN credentials and the webhooks' signatures follow coturn's and the providers' formats.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadData, Signer, TimestampSigner, URLSafeTimedSerializer


class _ClockSigner(TimestampSigner):
    """A timestamp signer whose clock can be given (tests inject time instead of waiting)."""

    def __init__(self, *args: Any, now: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now) if self._now is not None else super().get_timestamp()


def _serializer(secret_key: bytes, purpose: str, now: float | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key, salt=purpose, signer=_ClockSigner,
        signer_kwargs={"digest_method": hashlib.sha256, "now": now},
    )


def sign(secret_key: bytes, purpose: str, value: str, *, now: float | None = None) -> str:
    """``value`` with the time and a signature, safe in a cookie or a URL; read by ``unsign``."""
    return _serializer(secret_key, purpose, now).dumps(value)


def unsign(secret_key: bytes, purpose: str, signed: str | None, max_age: int, *,
           now: float | None = None) -> str | None:
    """The value ``sign`` signed for ``purpose`` at most ``max_age`` seconds ago; else None."""
    if not signed:
        return None
    try:
        value = _serializer(secret_key, purpose, now).loads(signed, max_age=max_age)
    except BadData:  # a wrong signature, an expired or a malformed value
        return None
    return value if isinstance(value, str) else None


def signature(secret_key: bytes, purpose: str, value: str) -> str:
    """The signature of ``value`` alone, for a value the other side already holds."""
    return _signer(secret_key, purpose).get_signature(value).decode()


def signature_valid(secret_key: bytes, purpose: str, value: str, given: object) -> bool:
    if not isinstance(given, str) or not given:
        return False
    return _signer(secret_key, purpose).verify_signature(value, given.encode("utf-8", "replace"))


def _signer(secret_key: bytes, purpose: str) -> Signer:
    return Signer(secret_key, salt=purpose, digest_method=hashlib.sha256)


def keyed_hash(secret_key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` for ``purpose``, hex: what is stored of a random token (call,
    guest and staff session tokens, recovery codes), so the table alone never lets anyone in.
    The purpose keeps the hashes of one kind from matching another's."""
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(secret_key, message, hashlib.sha256).hexdigest()
