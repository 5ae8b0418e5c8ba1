"""Case numbers (Kassenzeichen): ``{year}-{seq:06d}`` by default, e.g. ``2026-000123``.

The sequence restarts every year and is shared by all offices of a municipality; each
municipality counts on its own. It is taken from a counter row per municipality and year with
one upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) inside the completing
transaction: on PostgreSQL the row stays locked until that transaction ends, on SQLite writers
are serialised anyway. So two completions never get the same number, and a rolled-back
completion gives its number back. The unique key on (``case_file.municipality_id``,
``case_number``) is the last line of defence.
"""

from __future__ import annotations

import re
import string
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseNumberCounter

DEFAULT_FORMAT = "{year}-{seq:06d}"
FIELDS = {"year", "seq", "office_id"}
# The case number is the payment reference of bank transfers (EPC QR "reference": at most 35
# characters of the SEPA character set), so it must fit there.
MAX_LENGTH = 35
_SEPA_SAFE = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]+$")


def format_number(fmt: str, *, year: int, seq: int, office_id: int) -> str:
    return fmt.format(year=year, seq=seq, office_id=office_id)


def check_number_format(fmt: str) -> str:
    """``fmt`` if it makes usable case numbers; ``ValueError`` (for the settings) if not."""
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(fmt) if name}
    except ValueError as exc:
        raise ValueError(f"not a format string: {exc}") from None
    if not {"year", "seq"} <= names:
        raise ValueError("must contain {year} and {seq} (the sequence restarts every year)")
    if names - FIELDS:
        raise ValueError(f"unknown fields {sorted(names - FIELDS)}; use {sorted(FIELDS)}")
    try:
        sample = format_number(fmt, year=2026, seq=999_999, office_id=9_999)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"cannot be formatted: {exc}") from None
    if len(sample) > MAX_LENGTH or not _SEPA_SAFE.match(sample):
        raise ValueError(
            f"case numbers must be at most {MAX_LENGTH} letters, digits or - / . characters"
        )
    return fmt


async def next_sequence(session: AsyncSession, year: int, municipality_id: int) -> int:
    """The next number of the municipality's sequence of ``year`` (1, 2, ...), taken in the
    caller's transaction."""
    table: Any = CaseNumberCounter.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(municipality_id=municipality_id, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.municipality_id, table.c.year],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )
    return int((await session.execute(statement)).scalar_one())


async def allocate_case_number(
    session: AsyncSession, *, year: int, fmt: str, office_id: int, municipality_id: int
) -> str:
    seq = await next_sequence(session, year, municipality_id)
    return format_number(fmt, year=year, seq=seq, office_id=office_id)
