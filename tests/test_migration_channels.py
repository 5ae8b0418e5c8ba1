"""Migration 0013 (appointment channels) on a database with data: existing services stay video
only with nothing to bring, existing appointments are video appointments (SQLite; the same
statements run on Postgres in test_migrations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from app.cli import alembic_config


def test_existing_rows_stay_video(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0009")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO service (name, name_en, description, description_en, duration_minutes,"
            " fee_cents, currency, fee_schedule_ref, video, requires_identity, delivers_by_post,"
            " active, sort_order, created_at, updated_at) VALUES ('Meldebescheinigung', '', '',"
            " '', 15, 500, 'EUR', '', 1, 1, 0, 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
        conn.execute(
            "INSERT INTO appointment (reference, office_id, service_id, start_at, end_at, status,"
            " given_name, family_name, email, email_norm, phone, locale, link_nonce, token_hash,"
            " link_expires_at, ics_uid, ics_sequence, created_at, updated_at) VALUES ('BB-AAAA-"
            "BBBB', 1, 1, '2026-01-02 08:00:00', '2026-01-02 08:15:00', 'confirmed', 'Erika',"
            " 'Mustermann', 'e@example.org', 'e@example.org', '', 'de', 'n', 'h',"
            " '2026-02-01 00:00:00', 'u', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    command.upgrade(alembic_config(url), "0013")
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT video, onsite, phone, bring FROM service").fetchone()
        channel = conn.execute("SELECT channel FROM appointment").fetchone()
    assert row == (1, 0, 0, "")
    assert channel == ("video",)
    command.downgrade(alembic_config(url), "0012")
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(service)")}
    assert "onsite" not in columns and "video" in columns
