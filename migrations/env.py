"""Alembic environment: the schema is ``app.all_models.metadata``, the URL comes from Settings.

``buergerbuero migrate`` passes the URL in ``config.attributes["database_url"]``; a caller that
already holds a connection may pass it as ``config.attributes["connection"]``. Plain ``alembic``
on the command line falls back to ``BUERO_DATABASE_URL`` (and ``.env``).

SQLite cannot alter most things in place, so its migrations run in batch mode (copy and move).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.sql.sqltypes import AutoString

from app.all_models import metadata
from app.cli import MIGRATION_LOCK_KEY
from core.types import UTCDateTime

config = context.config

if not logging.getLogger().handlers:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")


def database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from app.settings import Settings

    return Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our column types as plain SQLAlchemy types, so revisions import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def do_run_migrations(connection: Connection) -> None:
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_locked(connection: Connection) -> None:
    """Migrate on a connection of our own, serialised across processes on PostgreSQL.

    Several app instances may start at once against one database, and each runs ``migrate``:
    a session-level advisory lock lets one migrate while the others wait, then find the schema
    at head and do nothing.
    """
    locking = connection.dialect.name == "postgresql"
    if locking:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
    try:
        do_run_migrations(connection)
        connection.commit()
    finally:
        if locking:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            connection.commit()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_locked)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    url = database_url()
    if make_url(url).get_dialect().is_async:
        asyncio.run(run_async_migrations(url))
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as sync_connection:
            run_locked(sync_connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    url = database_url()
    configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=make_url(url).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
