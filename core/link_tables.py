"""Link tables (rows of two ids, e.g. service ↔ office): the ids on one side per id on the other.

One query for every such table (a service's offices, a schedule's services, a staff user's
offices), so each listing and each "what changed" check reads them the same way; and one way to
replace a key's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel


async def ids_per(
    session: AsyncSession, key: Mapped[int], value: Mapped[int],
    keys: Sequence[int] | None = None,
) -> dict[int, list[int]]:
    """``value`` ids (ascending) per ``key`` id, for the ``keys`` given (all when None); a key
    without rows is missing from the answer."""
    query = select(key, value).order_by(value)
    if keys is not None:
        query = query.where(key.in_(list(keys)))
    result: dict[int, list[int]] = {}
    for left, right in (await session.execute(query)).all():
        result.setdefault(int(left), []).append(int(right))
    return result


async def set_ids(
    session: AsyncSession, link: type[SQLModel], key: str, key_id: int, value: str,
    ids: Iterable[int],
) -> None:
    """Make ``ids`` the ``value`` ids of ``key_id`` in the link table ``link``: its rows for
    ``key_id`` are deleted, one row per id is added to the session (so flush hooks see them), and
    the session is flushed."""
    await session.execute(delete(link).where(getattr(link, key) == key_id))
    for one in ids:
        session.add(link(**{key: key_id, value: one}))
    await session.flush()
