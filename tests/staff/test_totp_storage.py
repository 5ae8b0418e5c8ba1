"""The stored TOTP secret (``staff.totp.encrypt_secret``) kept its format when the encryption
moved to ``core/sealing.py``: secrets enrolled before open, and what is stored now opens the
way it did before."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from staff import totp

KEY = b"an existing installation's key"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Written by the code before core/sealing.py (commit 37e53dc) with KEY and SECRET.
STORED_BEFORE = "d-bL1_u7uYlHNr2PIEsQWp6JUTvE01LQwa8DSB7B0mdMMiM3dz-xslbcRBidRfU1OzXKc9ZR4Gtb6u4w"


def test_a_secret_stored_before_still_opens() -> None:
    assert totp.decrypt_secret(KEY, STORED_BEFORE) == SECRET
    assert totp.decrypt_secret(b"another key", STORED_BEFORE) is None


def test_what_is_stored_now_is_the_old_format() -> None:
    stored = totp.encrypt_secret(KEY, SECRET)
    raw = base64.urlsafe_b64decode(stored)
    # The previous code's decryption, written out: nonce, then ciphertext with the tag.
    cipher = AESGCM(hmac.new(KEY, b"staff-totp-secret", hashlib.sha256).digest())
    assert cipher.decrypt(raw[:12], raw[12:], b"staff-totp").decode() == SECRET
    assert SECRET not in stored


def test_damaged_values_do_not_open() -> None:
    stored = totp.encrypt_secret(KEY, SECRET)
    assert totp.decrypt_secret(KEY, stored[:-4]) is None
    assert totp.decrypt_secret(KEY, "not base64 at all!") is None
    assert totp.decrypt_secret(KEY, "") is None
