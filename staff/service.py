"""Staff accounts: create, change, delete (with the password policy), and login bookkeeping.

Like the booking services these take a session, raise domain errors and never commit.
Passwords are hashed with argon2id (``staff.passwords``) off the event loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.admin import check_offices_exist, taken
from booking.admin_validation import (
    BadValue,
    Duplicate,
    FieldErrors,
    InUse,
    boolean,
    choice,
    clean,
    email,
    id_list,
    text,
)
from booking.lookup import appointment_in_offices
from booking.models import Appointment, Office
from core.audit import Actor, record
from core.errors import Forbidden, NotFound
from core.link_tables import ids_per, set_ids
from core.rows import get_or_raise
from core.tenancy import acting_for, current_or_default
from core.types import utcnow
from staff import passwords
from staff.models import Role, StaffOffice, StaffSession, StaffUser


def _password(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue("Please enter a password.")
    problem = passwords.weakness(value)
    if problem is not None:
        raise BadValue(problem.msgid, **problem.params)
    return value


USER_FIELDS = {
    "email": email(required=True),
    "password": _password,
    "role": choice([Role.clerk.value, Role.admin.value, Role.integration.value]),
    "office_ids": id_list,
    "display_name": text(200),
    "active": boolean,
}


def municipality_of_new_user(role: str) -> int | None:
    """A new account belongs to the current municipality; a platform administrator to none."""
    return None if role == Role.platform_admin.value else current_or_default()


def staff_actor(user: StaffUser) -> Actor:
    return Actor("staff", user.id, user.email)


def normalize_login_email(value: str) -> str:
    return value.strip().lower()


# A municipality's administrators neither see nor change the platform's accounts (they may
# sign in on every host, ``tenants.scope``).
_NOT_PLATFORM = col(StaffUser.role) != Role.platform_admin.value


async def list_users(session: AsyncSession) -> list[StaffUser]:
    query = select(StaffUser).where(_NOT_PLATFORM).order_by(col(StaffUser.email))
    return list((await session.execute(query)).scalars())


async def get_user(session: AsyncSession, user_id: int) -> StaffUser:
    user = await get_or_raise(
        session, StaffUser, user_id, NotFound("This staff account does not exist.")
    )
    if user.role == Role.platform_admin.value:
        raise NotFound("This staff account does not exist.")
    return user


async def find_user_by_email(session: AsyncSession, email_address: str) -> StaffUser | None:
    query = select(StaffUser).where(col(StaffUser.email) == normalize_login_email(email_address))
    return (await session.execute(query)).scalars().first()


async def user_office_ids(
    session: AsyncSession, user_ids: Sequence[int] | None = None
) -> dict[int, list[int]]:
    return await ids_per(session, col(StaffOffice.user_id), col(StaffOffice.office_id), user_ids)


async def _check_email_free(session: AsyncSession, address: str, own_id: int | None) -> None:
    # Addresses are unique in the whole installation: look in every municipality.
    with acting_for(None):
        used = await taken(session, col(StaffUser.id), own_id, col(StaffUser.email) == address)
    if used:
        raise Duplicate("A staff account with this e-mail address already exists.", field="email")


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str,
    office_ids: list[int],
    actor: Actor,
    display_name: str = "",
    active: bool = True,
) -> StaffUser:
    """A new staff account. Raises ``Invalid`` (422, per field) or ``Conflict`` (409)."""
    values = {"email": email, "password": password, "role": role, "office_ids": office_ids,
              "display_name": display_name, "active": active}
    return await create_user_from(session, actor, values,
                                  platform=role == Role.platform_admin.value)


async def create_user_from(
    session: AsyncSession, actor: Actor, values: Mapping[str, Any], *, platform: bool = False
) -> StaffUser:
    """``platform``: the role may also be ``platform_admin`` (``create-user`` of the CLI)."""
    specs = {**USER_FIELDS, "role": choice([r.value for r in Role])} if platform else USER_FIELDS
    data = clean(values, specs, required=["email", "password"])
    await check_offices_exist(session, "office_ids", data.get("office_ids", []))
    await _check_email_free(session, data["email"], None)
    password_hash = await passwords.hash_password(data.pop("password"))
    office_ids: list[int] = data.pop("office_ids", [])
    user = StaffUser(password_hash=password_hash, **data,
                     municipality_id=municipality_of_new_user(data.get("role", Role.clerk)))
    session.add(user)
    await session.flush()
    assert user.id is not None
    await set_ids(session, StaffOffice, "user_id", user.id, "office_id", office_ids)
    fields = sorted([*data, "password", *(["office_ids"] if office_ids else [])])
    record(session, actor, "user.create", "staff_user", user.id, {"fields": fields})
    return user


async def _active_admins(session: AsyncSession, except_id: int) -> int:
    query = select(func.count()).select_from(StaffUser).where(
        col(StaffUser.role) == Role.admin.value,
        col(StaffUser.active).is_(True),
        col(StaffUser.id) != except_id,
    )
    return int((await session.execute(query)).scalar_one())


async def _revoke_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(StaffSession).where(col(StaffSession.user_id) == user_id))


async def update_user(
    session: AsyncSession, actor: Actor, user_id: int, changes: Mapping[str, Any]
) -> StaffUser:
    user = await get_user(session, user_id)
    data = clean(changes, USER_FIELDS)
    if "email" in data:
        await _check_email_free(session, data["email"], user_id)
    loses_admin = user.role == Role.admin.value and user.active and (
        data.get("role", user.role) != Role.admin.value or not data.get("active", True)
    )
    if loses_admin and await _active_admins(session, user_id) == 0:
        raise InUse("At least one active administrator must remain.",
                    field="role" if "role" in data else "active")
    fields: list[str] = []
    if "office_ids" in data:
        new_ids: list[int] = data.pop("office_ids")
        await check_offices_exist(session, "office_ids", new_ids)
        old_ids = (await user_office_ids(session, [user_id])).get(user_id, [])
        if set(new_ids) != set(old_ids):
            await set_ids(session, StaffOffice, "user_id", user_id, "office_id", new_ids)
            fields.append("office_ids")
    if "password" in data:
        user.password_hash = await passwords.hash_password(data.pop("password"))
        fields.append("password")
    fields = sorted([*fields, *changed_fields_of(user, data)])
    for name, value in data.items():
        setattr(user, name, value)
    user.updated_at = utcnow()
    # A new password, a deactivation or a role change ends the account's existing logins.
    if {"password", "active", "role", "email"} & set(fields):
        await _revoke_sessions(session, user_id)
    await session.flush()
    if fields:
        record(session, actor, "user.update", "staff_user", user_id, {"fields": fields})
    return user


def changed_fields_of(user: StaffUser, data: Mapping[str, Any]) -> list[str]:
    return [name for name, value in data.items() if getattr(user, name) != value]


async def delete_user(session: AsyncSession, actor: Actor, user_id: int) -> None:
    user = await get_user(session, user_id)
    if actor.kind == "staff" and actor.id == user_id:
        raise InUse("You cannot delete your own account.")
    last_admin = user.role == Role.admin.value and user.active
    if last_admin and await _active_admins(session, user_id) == 0:
        raise InUse("At least one active administrator must remain.")
    record(session, actor, "user.delete", "staff_user", user_id, {})
    await session.delete(user)
    await session.flush()


# --- login bookkeeping -------------------------------------------------------------------------


async def record_login_failure(
    session: AsyncSession, user_id: int, *, now: dt.datetime, max_failures: int,
    lockout: dt.timedelta,
) -> bool:
    """Count one failed attempt; lock the account when the limit is reached. True if locked.

    The increment is one UPDATE, so concurrent attempts are all counted on every backend.
    """
    await session.execute(
        update(StaffUser)
        .where(col(StaffUser.id) == user_id, col(StaffUser.locked_until) <= now)
        .values(failed_logins=0, locked_until=None)
    )
    result = await session.execute(
        update(StaffUser)
        .where(col(StaffUser.id) == user_id)
        .values(failed_logins=StaffUser.failed_logins + 1)
        .returning(col(StaffUser.failed_logins))
    )
    failures = int(result.scalar_one())
    if failures < max_failures:
        return False
    await session.execute(
        update(StaffUser)
        .where(col(StaffUser.id) == user_id)
        .values(failed_logins=0, locked_until=now + lockout)
    )
    return True


async def record_login_success(
    session: AsyncSession, user_id: int, *, now: dt.datetime, new_hash: str | None,
    finished: bool = True,
) -> None:
    """A login succeeded; unless it still owes its second factor (``finished`` false), the
    failure count starts again."""
    values: dict[str, Any] = (
        {"failed_logins": 0, "locked_until": None, "last_login_at": now} if finished else {})
    if new_hash is not None:
        values["password_hash"] = new_hash
    if values:
        await session.execute(
            update(StaffUser).where(col(StaffUser.id) == user_id).values(**values))


# --- office scope ------------------------------------------------------------------------------


async def visible_office_ids(session: AsyncSession, user: StaffUser) -> list[int]:
    """Offices a user works for: an admin sees every office, a clerk the assigned ones."""
    if user.role == Role.admin.value:
        rows = await session.execute(select(col(Office.id)).order_by(col(Office.id)))
        return [int(i) for i in rows.scalars() if i is not None]
    assert user.id is not None
    return (await user_office_ids(session, [user.id])).get(user.id, [])


async def office_ids_in_scope(
    session: AsyncSession, user: StaffUser, office_id: int | None
) -> list[int]:
    """All of the user's offices, or the one asked for: 403 when it is not theirs, 404 when it
    does not exist."""
    visible = await visible_office_ids(session, user)
    if office_id is None:
        return visible
    if office_id not in visible:
        raise Forbidden() if await session.get(Office, office_id) is not None else NotFound()
    return [office_id]


async def appointment_for_staff(
    session: AsyncSession, user: StaffUser, reference: str
) -> Appointment:
    """The appointment ``reference``: 404 when unknown, 403 when not in one of the user's
    offices."""
    return await appointment_in_offices(session, reference, await visible_office_ids(session, user))


__all__ = [
    "FieldErrors",
    "appointment_for_staff",
    "create_user",
    "create_user_from",
    "delete_user",
    "find_user_by_email",
    "get_user",
    "list_users",
    "office_ids_in_scope",
    "record_login_failure",
    "record_login_success",
    "staff_actor",
    "update_user",
    "user_office_ids",
    "visible_office_ids",
]
