"""The second factor of local staff accounts: TOTP (RFC 6238, through pyotp) with single-use
recovery codes.

* The secret is 160 random bits (pyotp's base32), shown once at enrolment as a QR code (segno)
  and as text. The server must compute codes from it, so it cannot be hashed: it is stored
  encrypted (AES-GCM, ``core/sealing.py``) with a key derived from the secret key, and a copy
  of the table alone yields no codes.
* A code is accepted for the current 30-second step and one step either side (clocks drift),
  and only for a step later than the last one accepted, so no code is used twice. The step is
  written with a conditional UPDATE: two requests racing with one code cannot both pass.
* Recovery codes: ten of ten characters (50 bits each) from an alphabet without look-alikes,
  stored as keyed hashes, each usable once (again a conditional UPDATE).

Whose accounts must have a second factor is ``BUERO_STAFF_TOTP_REQUIRED``: ``admin`` (the
default), ``all`` or ``none``. Like every service here these take a session and never commit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
from typing import Literal

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.audit import Actor, record
from core.errors import Conflict, Unauthorized
from core.sealing import seal, unseal
from core.signing import keyed_hash
from staff.models import Role, StaffRecoveryCode, StaffSession, StaffTotp, StaffUser

Policy = Literal["admin", "all", "none"]
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_LENGTH = 10
ISSUER = "Bürgerbüro"


class OtpRequired(Unauthorized):
    code = "otp_required"
    message = ("This account signs in with a second factor: please also send the code from the "
               "authenticator app or a recovery code (\"otp\").")


class InvalidOtp(Unauthorized):
    code = "invalid_otp"
    message = "The code is wrong or has expired. Please enter the current code."


class OtpReused(Unauthorized):
    code = "otp_reused"
    message = "This code has already been used. Please wait for the next code of your app."


class AlreadyEnrolled(Conflict):
    code = "totp_enrolled"
    message = "A second factor is already set up for this account."


def required(role: str, policy: str) -> bool:
    """Whether an account of ``role`` must have a second factor under ``policy``."""
    return policy == "all" or (policy == "admin" and role == Role.admin.value)


# --- the secret ---------------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as a QR code: an SVG ``data:`` URI for an ``<img>``."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it in by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# The stored form (urlsafe base64 of nonce + ciphertext) and these two names are those of the
# secrets enrolled before core/sealing.py existed: they must keep opening.
SECRET_PURPOSE = b"staff-totp-secret"
SECRET_AAD = b"staff-totp"


def encrypt_secret(secret_key: bytes, secret: str) -> str:
    sealed = seal(secret_key, SECRET_PURPOSE, secret.encode(), aad=SECRET_AAD)
    return base64.urlsafe_b64encode(sealed).decode()


def decrypt_secret(secret_key: bytes, stored: str) -> str | None:
    """The secret, or None when it was encrypted under another key (or is damaged)."""
    try:
        opened = unseal(secret_key, SECRET_PURPOSE, base64.urlsafe_b64decode(stored.encode()),
                        aad=SECRET_AAD)
        return opened.decode() if opened is not None else None
    except ValueError:  # not base64 (binascii.Error), or not UTF-8
        return None


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step (around ``now``) whose code ``code`` is, or None."""
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


# --- recovery codes -----------------------------------------------------------------------------


def _recovery_hash(secret_key: bytes, code: str) -> str:
    return keyed_hash(secret_key, "staff-recovery", code)


def _normalized_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch not in " -")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


async def _replace_recovery_codes(session: AsyncSession, secret_key: bytes,
                                  user_id: int) -> list[str]:
    await session.execute(delete(StaffRecoveryCode)
                          .where(col(StaffRecoveryCode.user_id) == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(StaffRecoveryCode(
            user_id=user_id, code_hash=_recovery_hash(secret_key, _normalized_recovery(code))))
    await session.flush()
    return codes


async def recovery_codes_left(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(StaffRecoveryCode).where(
        col(StaffRecoveryCode.user_id) == user_id, col(StaffRecoveryCode.used_at).is_(None))
    return int((await session.execute(query)).scalar_one())


# --- enrolment, checking, reset -----------------------------------------------------------------


async def enrolment_of(session: AsyncSession, user_id: int) -> StaffTotp | None:
    return await session.get(StaffTotp, user_id)


async def is_enrolled(session: AsyncSession, user_id: int) -> bool:
    return await enrolment_of(session, user_id) is not None


async def enrol(session: AsyncSession, secret_key: bytes, user: StaffUser, secret: str,
                code: str, now: dt.datetime) -> list[str]:
    """Confirm a new second factor with a code from the app; returns the recovery codes, the
    only time they are shown. ``InvalidOtp`` (401) for a wrong code, ``AlreadyEnrolled`` (409)."""
    assert user.id is not None
    if await is_enrolled(session, user.id):
        raise AlreadyEnrolled()
    step = matching_step(secret, code, now)
    if step is None:
        raise InvalidOtp(field="otp")
    session.add(StaffTotp(user_id=user.id, secret_encrypted=encrypt_secret(secret_key, secret),
                          last_step=step, enrolled_at=now))
    codes = await _replace_recovery_codes(session, secret_key, user.id)
    record(session, Actor("staff", user.id, user.email), "staff.totp_enrolled", "staff_user",
           user.id, {"recovery_codes": len(codes)})
    return codes


async def check(session: AsyncSession, secret_key: bytes, user: StaffUser, code: str,
                now: dt.datetime) -> str:
    """Accept ``code`` (a TOTP code or a recovery code) as the user's second factor, once.

    Returns ``"totp"`` or ``"recovery"``; raises ``InvalidOtp`` or ``OtpReused`` (both 401).
    """
    assert user.id is not None
    enrolment = await enrolment_of(session, user.id)
    if enrolment is None:
        raise InvalidOtp(field="otp")
    secret = decrypt_secret(secret_key, enrolment.secret_encrypted)
    step = matching_step(secret, code, now) if secret is not None else None
    if step is not None:
        taken = await session.execute(
            update(StaffTotp)
            .where(col(StaffTotp.user_id) == user.id, col(StaffTotp.last_step) < step)
            .values(last_step=step)
            .returning(col(StaffTotp.user_id)))
        if taken.first() is None:
            raise OtpReused(field="otp")
        return "totp"
    normalized = _normalized_recovery(code)
    if len(normalized) == RECOVERY_LENGTH:
        used = await session.execute(
            update(StaffRecoveryCode)
            .where(col(StaffRecoveryCode.user_id) == user.id,
                   col(StaffRecoveryCode.code_hash) == _recovery_hash(secret_key, normalized),
                   col(StaffRecoveryCode.used_at).is_(None))
            .values(used_at=now)
            .returning(col(StaffRecoveryCode.id)))
        if used.first() is not None:
            record(session, Actor("staff", user.id, user.email), "staff.recovery_code_used",
                   "staff_user", user.id, {"left": await recovery_codes_left(session, user.id)})
            return "recovery"
    raise InvalidOtp(field="otp")


async def new_recovery_codes(session: AsyncSession, secret_key: bytes,
                             user: StaffUser) -> list[str]:
    """A fresh set of recovery codes (the old ones stop working); audited."""
    assert user.id is not None
    codes = await _replace_recovery_codes(session, secret_key, user.id)
    record(session, Actor("staff", user.id, user.email), "staff.recovery_codes_renewed",
           "staff_user", user.id, {"recovery_codes": len(codes)})
    return codes


async def reset(session: AsyncSession, actor: Actor, user_id: int) -> bool:
    """Remove a user's second factor and recovery codes, and end the user's logins (the device
    may be lost). True if there was one. Audited as ``staff.totp_reset``."""
    removed = await session.execute(
        delete(StaffTotp).where(col(StaffTotp.user_id) == user_id).returning(
            col(StaffTotp.user_id)))
    had = removed.first() is not None
    await session.execute(delete(StaffRecoveryCode)
                          .where(col(StaffRecoveryCode.user_id) == user_id))
    await session.execute(delete(StaffSession).where(col(StaffSession.user_id) == user_id))
    record(session, actor, "staff.totp_reset", "staff_user", user_id, {"had_factor": had})
    return had
