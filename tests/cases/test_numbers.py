"""Case numbers: the format setting, and no two completions ever sharing a number, however
concurrent (real concurrency on PostgreSQL, serialised writers on SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.settings import Settings
from cases.models import Case, CaseNumberCounter
from cases.numbers import DEFAULT_FORMAT, check_number_format, next_sequence
from tests.cases.conftest import Desk, year
from tests.staff.helpers import decide


@pytest.mark.parametrize("fmt", [DEFAULT_FORMAT, "{year}/{seq}", "KZ-{office_id}-{year}-{seq:07d}",
                                 "{seq:06d}.{year}"])
def test_good_formats(fmt: str) -> None:
    assert check_number_format(fmt) == fmt


@pytest.mark.parametrize("fmt", ["{seq}", "{year}", "{year}-{seq}-{name}", "{year}-{seq:q}",
                                 "{year}-{seq", "{year}{{seq}}", "{year}_{seq}",
                                 "Kassenzeichen-der-Stadtverwaltung-{year}-{seq:08d}"])
def test_bad_formats(fmt: str) -> None:
    with pytest.raises(ValueError):
        check_number_format(fmt)


def test_the_setting_is_checked(settings_factory: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError) as caught:
        settings_factory(case_number_format="{seq}")
    assert "case_number_format" in str(caught.value)
    assert settings_factory().case_number_format == "{year}-{seq:06d}"


async def test_sequences_in_parallel_transactions(settings: Settings) -> None:
    """Forty transactions take numbers at once: all different, 1..40, per year."""
    db = Database(settings.database_url)
    try:
        async def take(year: int) -> int:
            async with db.transaction(write=True) as session:
                value = await next_sequence(session, year, 1)
                await asyncio.sleep(0.01)  # hold the transaction open a little
                return value

        values = await asyncio.gather(*(take(2030) for _ in range(40)))
        assert sorted(values) == list(range(1, 41))
        assert await take(2031) == 1
        # A rolled-back transaction gives its number back.
        with pytest.raises(RuntimeError):
            async with db.transaction(write=True) as session:
                assert await next_sequence(session, 2030, 1) == 41
                raise RuntimeError("abort")
        assert await take(2030) == 41
        async with db.transaction() as session:
            counter = await session.get(CaseNumberCounter, (1, 2030))
            assert counter is not None and counter.last_value == 41
    finally:
        await db.dispose()


async def test_concurrent_completions_get_distinct_numbers(desk: Desk) -> None:
    references = [(await desk.appointment(service_id=desk.life))[0] for _ in range(12)]
    body = {"items": [{"service_id": desk.life}], "payment": "none", "delivery": "pickup"}
    responses = await asyncio.gather(*(desk.complete(r, body) for r in references))
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
    numbers = sorted(r.json()["case"]["case_number"] for r in responses)
    assert numbers == [f"{year()}-{n:06d}" for n in range(1, 13)]
    assert len(await desk.decided()) == 12


async def test_concurrent_double_completion_makes_one_case(desk: Desk) -> None:
    reference, _ = await desk.appointment(service_id=desk.life)
    body = {"items": [{"service_id": desk.life}], "payment": "none", "delivery": "pickup"}
    responses = await asyncio.gather(*(desk.complete(reference, body) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    assert len(await desk.decided()) == 1


async def test_the_database_refuses_a_duplicate_number(desk: Desk) -> None:
    first, _ = await desk.appointment(service_id=desk.life)
    second, _ = await desk.appointment(service_id=desk.life)
    body = {"items": [{"service_id": desk.life}], "payment": "none", "delivery": "pickup"}
    number = (await desk.complete(first, body)).json()["case"]["case_number"]
    row = await desk.appointment_row(second)
    with pytest.raises(IntegrityError):
        async with desk.state.db.transaction(write=True) as session:
            request = await session.get(Case, row.case_id)
            assert request is not None
            decide(request, case_number=number, payment="none", payment_status="not_required",
                   delivery="pickup", dispatch_status="not_required")
            await session.flush()
