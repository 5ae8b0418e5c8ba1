"""Citizen link tokens.

A token is 256 bits derived from a random per-appointment nonce and the server key:
``token = HMAC-SHA256(key, "link:" + nonce)``. Only ``HMAC-SHA256(key, "hash:" + token)`` is
looked up. The nonce lets the worker rebuild the link for later mails (reminder, status), while a
copy of the database without the key yields neither a token nor a way to check guesses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


class LinkKeys:
    def __init__(self, secret_key: bytes) -> None:
        self._key = hashlib.sha256(b"buergerbuero-links\x00" + secret_key).digest()

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_hex(32)

    def token_for(self, nonce: str) -> str:
        digest = hmac.new(self._key, b"link:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def hash_token(self, token: str) -> str:
        return hmac.new(self._key, b"hash:" + token.encode(), hashlib.sha256).hexdigest()

    def looks_like_token(self, token: str) -> bool:
        return len(token) == 43 and all(c.isalnum() or c in "-_" for c in token)
