"""The public status lookup by case number and date of birth: the right pair shows the steps;
any wrong pair gets the same answer after the same work, so it reveals nothing, not even
whether the case number exists; and it is rate-limited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.settings import Settings
from tests.cases.conftest import Desk
from tests.postcall.notices.support import complete, configure_offices, drain, state_of
from tests.smtp_support import SmtpSink
from tests.staff.helpers import form_token

BORN = dt.date(1980, 12, 31)
URL = "/api/v1/status"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    return settings_factory(smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                            rate_limits_enabled=True, rate_limit_status_lookup="8/minute",
                            rate_limit_login="100/minute")


@contextmanager
def counted(desk: Desk) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block."""
    statements: list[str] = []
    engine = state_of(desk.app).db.engine.sync_engine

    def listener(*args: Any) -> None:
        statements.append(str(args[2]).split()[0])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


async def test_the_right_pair_shows_the_steps_and_a_wrong_one_reveals_nothing(
    desk: Desk, smtp_sink: SmtpSink
) -> None:
    await configure_offices(desk)
    _, _, case = await complete(desk, date_of_birth=BORN)
    _, _, without = await complete(desk)  # booked without a date of birth
    number = case["case_number"]
    await drain(desk.app)

    r = await desk.client.post(URL, json={"case_number": f" {number.lower()} ",
                                          "date_of_birth": BORN.isoformat()})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["case_number"], out["payment_status"]) == (number, "open")
    assert [m["label"] for m in out["milestones"]] == ["Anliegen abgeschlossen",
                                                       "Bescheid versandt"]
    assert "Mustermann" not in r.text and "erika" not in r.text

    wrong = [
        {"case_number": number, "date_of_birth": "1980-12-30"},  # wrong date
        {"case_number": "2099-999999", "date_of_birth": BORN.isoformat()},  # no such case
        {"case_number": without["case_number"], "date_of_birth": BORN.isoformat()},  # no date
    ]
    answers = []
    work = []
    for body in wrong:
        with counted(desk) as statements:
            r = await desk.client.post(URL, json=body)
        answers.append((r.status_code, r.json()))
        work.append(statements)
    assert answers[0][0] == 404 and answers[0][1]["error"]["code"] == "status_not_found"
    assert answers[1] == answers[0] and answers[2] == answers[0]
    assert work[0] == work[1] == work[2] and work[0]  # the same queries every time

    assert (await desk.client.post(URL, json={"case_number": number})).status_code == 422
    assert (await desk.client.post(URL, json={"case_number": number,
                                              "date_of_birth": "31.12.1980"})).status_code == 422
    # Eight lookups a minute per client (four so far): then refused, right or wrong.
    for _ in range(4):
        assert (await desk.client.post(URL, json=wrong[1])).status_code == 404
    r = await desk.client.post(URL, json={"case_number": number,
                                          "date_of_birth": BORN.isoformat()})
    assert r.status_code == 429


async def test_the_status_page(desk: Desk, smtp_sink: SmtpSink) -> None:
    await configure_offices(desk)
    _, _, case = await complete(desk, date_of_birth=BORN, delivery="external",
                                external_authority="Bundesamt für Justiz")
    page = await desk.client.get("/status")
    assert page.status_code == 200 and 'id="status-form"' in page.text
    csrf = form_token(page.text)
    r = await desk.client.post("/status", data={
        "csrf_token": csrf, "case_number": case["case_number"], "date_of_birth": "31.12.1980"})
    assert r.status_code == 200
    assert "Weitergeleitet an Bundesamt für Justiz" in r.text and 'id="milestones"' in r.text
    r = await desk.client.post("/status", data={
        "csrf_token": csrf, "case_number": case["case_number"], "date_of_birth": "01.01.1980"})
    assert r.status_code == 404 and 'id="lookup-not-found"' in r.text
    assert 'id="milestones"' not in r.text
    r = await desk.client.post("/status", data={
        "csrf_token": csrf, "case_number": "", "date_of_birth": "gestern"})
    assert r.status_code == 422 and "Bitte geben Sie das Kassenzeichen ein." in r.text


async def test_nobody_can_lock_a_citizen_out(desk: Desk, smtp_sink: SmtpSink) -> None:
    """An attacker's wrong dates count for the attacker and that number only: the citizen,
    from another address, still gets the answer; the attacker is refused even with the right
    date once over the limit, and stays refused for that number only."""
    await configure_offices(desk)
    _, _, case = await complete(desk, date_of_birth=BORN)
    _, _, other = await complete(desk, date_of_birth=BORN)
    number = case["case_number"]

    def client_from(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=desk.app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    right = {"case_number": number, "date_of_birth": BORN.isoformat()}
    async with client_from("198.51.100.7") as attacker, client_from("203.0.113.9") as citizen:
        codes = []
        for day in range(1, 7):
            r = await attacker.post(URL, json={"case_number": number,
                                               "date_of_birth": f"1970-01-0{day}"})
            codes.append(r.status_code)
        assert codes == [404] * 5 + [429], codes
        assert (await attacker.post(URL, json=right)).status_code == 429  # backed off
        # The same attacker may still ask about another number (its 8th lookup this minute,
        # within the per-client limit of this test's settings).
        r = await attacker.post(URL, json={"case_number": other["case_number"],
                                           "date_of_birth": BORN.isoformat()})
        assert r.status_code == 200, r.text
        # The citizen is not locked out, by the API or the page.
        r = await citizen.post(URL, json=right)
        assert r.status_code == 200 and r.json()["case_number"] == number
        page = await citizen.get("/status")
        r = await citizen.post("/status", data={"csrf_token": form_token(page.text),
                                                "case_number": number,
                                                "date_of_birth": BORN.strftime("%d.%m.%Y")})
        assert r.status_code == 200 and number in r.text
