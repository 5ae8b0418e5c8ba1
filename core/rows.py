"""One row by its primary key, or the domain error that says it is not there."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError

T = TypeVar("T")


async def get_or_raise(session: AsyncSession, model: type[T], key: int, missing: DomainError) -> T:
    """``model``'s row ``key``; ``missing`` is raised when there is none (the caller builds it,
    so its message stays where it is said)."""
    row = await session.get(model, key)
    if row is None:
        raise missing
    return row
