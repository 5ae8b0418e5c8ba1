"""``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` for PostgreSQL and SQLite alike.

The claim of a seat and the insert of a new appointment under a freshly drawn reference both let
a unique key decide: no id back means the key is taken (on PostgreSQL after a concurrent inserter
of the same key has committed or rolled back), and nothing has been written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


@cache
def _statement(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    # One statement object per table: its cache key and compiled form are kept, the values come
    # with each execution.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(table.c.id)


async def insert_unless_taken(
    session: AsyncSession, table: Table, keys: tuple[str, ...], values: dict[str, Any],
    **options: Any,
) -> int | None:
    """The new row's id, or ``None`` when a row with the same ``keys`` exists.

    ``options`` are execution options (e.g. which offices' availability the row changes).
    """
    statement = _statement(session.get_bind().dialect.name, table, keys)
    result = await session.execute(statement, values, execution_options=options)
    new_id: int | None = result.scalar_one_or_none()
    return new_id
