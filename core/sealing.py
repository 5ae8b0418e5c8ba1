"""Bytes sealed at rest with the server's secret key: AES-GCM (``cryptography``'s AESGCM).

Each use names its purpose; the key for it is HMAC-SHA256(secret key, purpose). One secret key
thus serves every purpose (the staff's TOTP secrets, uploaded documents), and a value sealed for
one purpose never opens for another. A sealed value is the 12-byte random nonce followed by the
ciphertext and its 16-byte tag: 28 bytes more than the data.

``aad`` (additional authenticated data) ties a value to where it belongs, e.g. the request a
document was uploaded for: it is not stored, and the value opens only with the same ``aad``, so
a sealed value copied into another row does not open there.

Random 96-bit nonces are safe for about 2**32 values per key (NIST SP 800-38D); the key is per
purpose, and no purpose here comes near that.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES


def _cipher(secret_key: bytes, purpose: bytes) -> AESGCM:
    return AESGCM(hmac.new(secret_key, purpose, hashlib.sha256).digest())


def seal(secret_key: bytes, purpose: bytes, data: bytes, *, aad: bytes = b"") -> bytes:
    """``data`` encrypted and authenticated: nonce + ciphertext (with its tag)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _cipher(secret_key, purpose).encrypt(nonce, data, aad)


def unseal(secret_key: bytes, purpose: bytes, sealed: bytes, *, aad: bytes = b"") -> bytes | None:
    """The data, or None when ``sealed`` was made under another key, purpose or ``aad``, or was
    changed or cut since."""
    if len(sealed) < OVERHEAD:
        return None
    try:
        return _cipher(secret_key, purpose).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                                    aad)
    except InvalidTag:
        return None
