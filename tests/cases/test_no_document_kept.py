"""PAuswG §20: of the identity document only the recorded fields are kept. No column can hold
an image or a document number, and after a clerk tried to send both, neither is anywhere in the
database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, LargeBinary, String, Text, select
from sqlalchemy.sql.sqltypes import _Binary

from app.all_models import metadata
from tests.cases.conftest import VERIFIED, Desk

POSTCALL_TABLES = ("identity_check", "case_file", "case_item", "case_number_counter")
NUMBER = "L01X00T47"
IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def string_length(column: Column[Any]) -> int | None:
    """The length of a text column (SQLModel wraps ``String`` in ``AutoString``)."""
    column_type = column.type
    for candidate in (column_type, getattr(column_type, "impl", None)):
        if isinstance(candidate, Text):
            return None  # unbounded
    length = getattr(column_type, "length", None)
    return length if isinstance(length, int) else None


def is_text(column: Column[Any]) -> bool:
    column_type = column.type
    return isinstance(column_type, String) or isinstance(getattr(column_type, "impl", None),
                                                          String)


def test_no_column_for_images_or_document_numbers() -> None:
    forbidden = ("image", "photo", "picture", "scan", "copy", "mrz", "document_number",
                 "doc_number", "card_number", "passport_number", "serial")
    text_columns = 0
    for name in POSTCALL_TABLES:
        table = metadata.tables[name]
        for column in table.columns:
            assert not isinstance(column.type, (LargeBinary, _Binary)), (name, column.name)
            assert not any(word in column.name for word in forbidden), (name, column.name)
            if is_text(column):
                # Every text column is bounded; none is a free-size Text that could take a
                # base64 image.
                text_columns += 1
                length = string_length(column)
                assert length is not None and length <= 1000, (name, column.name)
    assert text_columns > 20


def test_the_identity_check_keeps_exactly_these_fields() -> None:
    # A new column here must be a conscious decision: update this list and the privacy notes.
    columns = {c.name: c for c in metadata.tables["identity_check"].columns}
    assert set(columns) == {
        "id", "case_id", "person", "appointment_id", "checked_at", "checked_by_id",
        "checked_by_label", "document_type", "checks", "outcome", "reason_code", "reason",
        "valid_until", "note",
    }
    for name in ("reason", "note", "checks"):
        length = string_length(columns[name])
        assert length is not None and length <= 500


async def dump(desk: Desk) -> str:
    """Every value of every table, as one string."""
    parts: list[str] = []
    async with desk.state.db.transaction() as session:
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


async def test_nothing_of_the_document_reaches_the_database(desk: Desk) -> None:
    reference, _ = await desk.appointment()
    base = f"/api/v1/clerk/appointments/{reference}"
    attempts: list[dict[str, Any]] = [
        {**VERIFIED, "document_number": NUMBER},
        {**VERIFIED, "image": f"data:image/png;base64,{IMAGE}"},
        {**VERIFIED, "note": f"Ausweisnummer {NUMBER}"},
        {**VERIFIED, "note": IMAGE[:60]},
        {**VERIFIED, "checks": [*VERIFIED["checks"], NUMBER]},
        {**VERIFIED, "document_type": NUMBER},
        {**VERIFIED, "outcome": "failed", "checks": [], "reason": f"Nr. {NUMBER} gesperrt"},
    ]
    for body in attempts:
        r = await desk.client.post(base + "/verification", json=body, headers=desk.clerk_a)
        assert r.status_code == 422, (body, r.text)
    r = await desk.complete(reference, {
        "items": [{"service_id": desk.certificate}], "payment": "invoice", "delivery": "post",
        "note": f"Ausweis {NUMBER}",
    })
    assert r.status_code == 422
    assert (await desk.verify(reference, note="Foto und Hologramm gut erkennbar")).status_code \
        == 200
    assert (await desk.complete(reference)).status_code == 200
    everything = await dump(desk)
    assert "Foto und Hologramm gut erkennbar" in everything  # the dump does see the data
    assert NUMBER not in everything
    assert IMAGE[:20] not in everything
