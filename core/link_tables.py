"""Link tables (rows of two ids, e.g. service ↔ office): the ids on one side per id on the other.

One query for every such table (a service's offices, a schedule's services, a staff user's
offices), so each listing and each "what changed" check reads them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped


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
