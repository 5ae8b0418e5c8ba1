"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.all_models import metadata
from app.cli import MIGRATION_LOCK_KEY, alembic_config, current_revision, migrate
from tests.conftest import PG_URL, require


async def _pg_admin(statement: str) -> None:
    import asyncpg

    assert PG_URL is not None
    u = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (unlike ``db_url``, which has the schema)."""
    if request.param == "sqlite":
        # A folder that does not exist yet, as var/ on a fresh clone.
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'fresh.db'}"
        return
    require(PG_URL is not None, "BUERO_TEST_POSTGRES_URL")
    assert PG_URL is not None
    name = f"buero_mig_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield str(make_url(PG_URL).set(database=name))
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _inspect(url: str, fn: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def test_upgrade_head_matches_the_models(empty_db_url: str) -> None:
    migrate(empty_db_url)
    diff = _inspect(empty_db_url, _differences)
    assert diff == [], f"migrations and models differ: {diff}"
    assert _inspect(empty_db_url, _tables) >= set(metadata.tables)


def test_upgrade_twice_is_a_no_op_and_downgrade_removes_everything(empty_db_url: str) -> None:
    migrate(empty_db_url)
    head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
    assert current_revision(empty_db_url) == head
    migrate(empty_db_url)
    assert current_revision(empty_db_url) == head

    from alembic import command

    command.downgrade(alembic_config(empty_db_url), "base")
    assert _inspect(empty_db_url, _tables) <= {"alembic_version"}
    assert current_revision(empty_db_url) is None

    migrate(empty_db_url)  # and up again after a full downgrade
    assert _inspect(empty_db_url, _differences) == []


def test_one_head_and_every_revision_can_be_read() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    assert len(script.get_heads()) == 1, "divergent migration branches: merge them"
    revisions = list(script.walk_revisions())
    assert revisions, "no migrations found"
    assert revisions[-1].down_revision is None


# Sessions of this database waiting for an advisory lock taken with a bigint key ($1).
WAITING_FOR_LOCK = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (classid::bigint << 32 | objid::bigint) = $1
"""


@pytest.mark.postgres
async def test_migrate_waits_for_another_process_migrating(tmp_path: Path) -> None:
    """Several instances starting at once all run ``migrate``: they take turns (an advisory
    lock), so none fails on tables another one just created."""
    import os
    import sys

    import asyncpg

    require(PG_URL is not None, "BUERO_TEST_POSTGRES_URL")
    assert PG_URL is not None
    name = f"buero_mig_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUERO_")}
    env |= {"BUERO_DATABASE_URL": str(url), "BUERO_VAR_DIR": str(tmp_path / "var")}
    holder = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=name,
    )
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "migrate", cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
            for _ in range(3)
        ]
        # Wait until all three have started up and wait for the lock (no fixed pause: one that
        # migrated without the lock would never show up here).
        async with asyncio.timeout(60):
            while await holder.fetchval(WAITING_FOR_LOCK, MIGRATION_LOCK_KEY) < 3:
                assert [proc.returncode for proc in procs] == [None] * 3, "a migrate ended"
                await asyncio.sleep(0.05)
        assert [proc.returncode for proc in procs] == [None] * 3, "migrated without the lock"
        tables = await holder.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert tables == 0
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        outputs = [
            (await asyncio.wait_for(proc.communicate(), 120))[0].decode() for proc in procs
        ]
        assert [proc.returncode for proc in procs] == [0] * 3, outputs
        assert await holder.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await holder.close()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
