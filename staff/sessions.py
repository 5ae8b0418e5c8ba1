"""Staff sessions (web cookie and API bearer) in the database.

A session's secret is 256 random bits given to the client once; the database keeps only
``HMAC-SHA256(secret_key, ...)`` of it, so a copy of the table yields no usable login. Web and API
sessions are separate kinds: a bearer token is refused as a cookie and the other way round, and a
citizen's link token is never a staff token (it is not in this table).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.errors import DomainError, Unauthorized
from core.signing import keyed_hash
from staff.models import StaffSession, StaffUser


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "The e-mail address or the password is wrong."


class LoginLocked(DomainError):
    status = 429
    code = "login_locked"
    message = "Too many failed sign-in attempts. Please try again in %(minutes)s minutes."


@dataclass(frozen=True)
class NewSession:
    token: str  # given to the client once; never stored or logged
    expires_at: dt.datetime
    stage: str = "full"


def token_hash(secret_key: bytes, token: str) -> str:
    return keyed_hash(secret_key, "staff-session", token)


async def open_session(
    session: AsyncSession, secret_key: bytes, user_id: int, *, kind: str,
    lifetime: dt.timedelta, now: dt.datetime, stage: str = "full",
) -> NewSession:
    token = secrets.token_urlsafe(32)
    expires = now + lifetime
    # Expired logins of this user are dropped here rather than by a periodic job.
    await session.execute(
        delete(StaffSession).where(
            col(StaffSession.user_id) == user_id, col(StaffSession.expires_at) <= now
        )
    )
    session.add(StaffSession(token_hash=token_hash(secret_key, token), user_id=user_id,
                             kind=kind, stage=stage, expires_at=expires))
    await session.flush()
    return NewSession(token, expires, stage)


async def find_session_user(
    session: AsyncSession, secret_key: bytes, token: str, *, kind: str, now: dt.datetime,
    stages: tuple[str, ...] = ("full",),
) -> tuple[StaffSession, StaffUser] | None:
    """The session of ``token`` and its user, if it is of ``kind``, in one of ``stages``
    (only finished logins unless asked), unexpired and the user active."""
    if not token or len(token) > 200:
        return None
    query = (
        select(StaffSession, StaffUser)
        .join(StaffUser, col(StaffUser.id) == col(StaffSession.user_id))
        .where(
            col(StaffSession.token_hash) == token_hash(secret_key, token),
            col(StaffSession.kind) == kind,
            col(StaffSession.stage).in_(stages),
            col(StaffSession.expires_at) > now,
            col(StaffUser.active).is_(True),
        )
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    staff_session, user = row
    # Detach so the objects stay readable after this read-only transaction ends.
    session.expunge(staff_session)
    session.expunge(user)
    return staff_session, user


async def close_session(session: AsyncSession, secret_key: bytes, token: str) -> None:
    await session.execute(
        delete(StaffSession).where(col(StaffSession.token_hash) == token_hash(secret_key, token))
    )
