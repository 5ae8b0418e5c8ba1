"""Migration 0007 on a database with staff: ``staff_user.role`` grows to hold ``integration``
while every account keeps its sessions, offices and second factor (SQLite copies the table, and
with foreign keys on that copy would have emptied the tables pointing at it); the downgrade
removes integration accounts, which the release before would take for clerks."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.cli import alembic_config, migrate
from tests.test_migrations import empty_db_url  # noqa: F401 (fixture)

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


async def _run(url: str, *statements: str, params: dict[str, object] | None = None
               ) -> list[sa.Row[tuple[object, ...]]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            result: list[sa.Row[tuple[object, ...]]] = []
            for statement in statements:
                out = await conn.execute(sa.text(statement), params or {})
                result = list(out.all()) if out.returns_rows else []
            return result
    finally:
        await engine.dispose()


def test_staff_survive_and_integration_fits(empty_db_url: str) -> None:  # noqa: F811
    url = empty_db_url
    migrate(url, "0006")
    stamp = {"now": NOW}
    asyncio.run(_run(
        url,
        "INSERT INTO office (id, name, timezone, min_notice_minutes, horizon_days, authority, "
        "address, email, phone, iban, bic, bank_name, privacy_contact, data_protection_officer,"
        " imprint, created_at, updated_at) VALUES (1, 'Mitte', 'Europe/Berlin', 60, 60, '', '',"
        " '', '', '', '', '', '', '', '', :now, :now)",
        "INSERT INTO staff_user (id, email, display_name, password_hash, role, active, "
        "failed_logins, created_at, updated_at) VALUES (7, 'clerk@stadt.example', '', 'x', "
        "'clerk', true, 0, :now, :now)",
        "INSERT INTO staff_office (user_id, office_id) VALUES (7, 1)",
        "INSERT INTO staff_session (id, token_hash, user_id, kind, stage, expires_at, "
        "created_at) VALUES (3, 'h', 7, 'web', 'full', :now, :now)",
        "INSERT INTO staff_totp (user_id, secret_encrypted, last_step, enrolled_at) "
        "VALUES (7, 's', 0, :now)",
        params=stamp))
    migrate(url)
    counts = asyncio.run(_run(
        url,
        "INSERT INTO staff_user (id, email, display_name, password_hash, role, active, "
        "failed_logins, created_at, updated_at) VALUES (8, 'software@stadt.example', '', 'x', "
        "'integration', true, 0, :now, :now)",
        "SELECT (SELECT count(*) FROM staff_office), (SELECT count(*) FROM staff_session), "
        "(SELECT count(*) FROM staff_totp), (SELECT count(*) FROM staff_user)",
        params=stamp))
    assert tuple(counts[0]) == (1, 1, 1, 2)

    command.downgrade(alembic_config(url), "0006")
    rows = asyncio.run(_run(
        url, "SELECT id, role FROM staff_user ORDER BY id"))
    assert [tuple(r) for r in rows] == [(7, "clerk")]
    counts = asyncio.run(_run(
        url, "SELECT (SELECT count(*) FROM staff_office), (SELECT count(*) FROM staff_session)"))
    assert tuple(counts[0]) == (1, 1)
