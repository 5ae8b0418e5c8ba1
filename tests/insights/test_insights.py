"""The office's insights on a small, fully known month (``tests/insights/seed.py``), on SQLite
and PostgreSQL: the admin API's figures, the CSV files that hold the same rows, the page in
German formats, who may see them, and bad parameters answered 400/404 in the asker's
language."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from starlette.applications import Starlette

from insights.tables import TABLE_KEYS
from tests.insights.seed import EXPECTED, KEY_FIGURES, PERIOD, seed_month
from tests.staff.helpers import (
    ADMIN_EMAIL,
    CLERK_EMAIL,
    add_user,
    bearer,
    page_login,
    token_for,
)

API = "/api/v1/admin/insights"


async def _admin(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    await add_user(app, ADMIN_EMAIL, "admin")
    return bearer(await token_for(client, ADMIN_EMAIL))


async def test_the_api_gives_the_months_figures(app: Starlette,
                                                client: httpx.AsyncClient) -> None:
    seeded = await seed_month(app)
    headers = await _admin(app, client)
    r = await client.get(API, params={"office_id": seeded.office, **PERIOD}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["office_id"], body["office"], body["timezone"]) == (
        seeded.office, "Bürgerbüro Mitte", "Europe/Berlin")
    assert (body["from"], body["to"]) == ("2026-03-01", "2026-03-31")
    tables = body["tables"]
    assert list(tables) == list(TABLE_KEYS)
    for key, rows in EXPECTED.items():
        assert tables[key] == rows, key
    key_figures = {row["metric"]: row["value"] for row in tables["key_figures"]}
    assert key_figures == KEY_FIGURES

    # The other office sees only its own: one appointment, one rating, one fee.
    r = await client.get(API, params={"office_id": seeded.other_office, **PERIOD},
                         headers=headers)
    other = {row["metric"]: row["value"] for row in r.json()["tables"]["key_figures"]}
    assert (other["appointments"], other["feedback_count"], other["fees_charged_cents"]) == (
        1, 1, 700)


def _csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _as_csv(value: Any) -> str:
    return "" if value is None else str(value)


async def test_every_csv_holds_the_apis_rows(app: Starlette,
                                             client: httpx.AsyncClient) -> None:
    seeded = await seed_month(app)
    headers = await _admin(app, client)
    params = {"office_id": str(seeded.office), **PERIOD}
    api = (await client.get(API, params=params, headers=headers)).json()["tables"]
    await page_login(client, ADMIN_EMAIL)
    for key in TABLE_KEYS:
        r = await client.get(f"/admin/insights/{key}.csv", params=params)
        assert r.status_code == 200, (key, r.text)
        assert r.headers["content-type"].startswith("text/csv")
        assert f"insights-{key}-{seeded.office}-2026-03-01-2026-03-31.csv" in \
            r.headers["content-disposition"]
        header, rows = _csv_rows(r.text)
        assert header == list(api[key][0]), key
        assert rows == [[_as_csv(v) for v in row.values()] for row in api[key]], key
    # Machine-readable: cents and dot decimals, no German formats.
    fees = (await client.get("/admin/insights/fees.csv", params=params)).text
    assert "charged,3,4750" in fees
    assert (await client.get("/admin/insights/nothing.csv", params=params)).status_code == 404


async def test_the_page_in_german_formats(app: Starlette, client: httpx.AsyncClient) -> None:
    seeded = await seed_month(app)
    await add_user(app, ADMIN_EMAIL, "admin")
    await page_login(client, ADMIN_EMAIL)
    assert 'href="/admin/insights"' in (await client.get("/admin")).text
    page = await client.get("/admin/insights", params={"office_id": seeded.office, **PERIOD})
    assert page.status_code == 200
    html = page.text
    assert "01.03.2026" in html and "31.03.2026" in html
    assert "47,50\xa0€" in html and "33,3\xa0%" in html  # charged; relay share
    assert "0:30 Min." in html and "10:00 Min." in html  # median and p90 wait
    assert "11,0 days" not in html and "11,0 Tage" in html  # processing median
    assert "Video" in html and "Vor Ort" in html and "Nicht wahrgenommen" in html
    # Each chart is an image with a title and a description that names its values, and a
    # data table follows it.
    for key in ("outcomes", "channels", "services", "connections", "requests", "fees",
                "feedback"):
        chart = html.split(f'id="chart-{key}"', 1)[1].split("</svg>", 1)[0]
        assert 'role="img"' in chart and f'aria-labelledby="chart-{key}-title chart-{key}-desc"' \
            in chart
        assert "<title" in chart and "<desc" in chart
        assert f'id="insights-{key}"' in html.split(f'id="chart-{key}"', 1)[1]
    desc = html.split('id="chart-channels-desc">', 1)[1].split("</desc>", 1)[0]
    assert "Per Video: 6" in desc and "Telefon: 1" in desc
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "CSV" in html and "/admin/insights/fees.csv?office_id=" in html

    english = await client.get("/admin/insights", params={
        "office_id": seeded.office, **PERIOD, "lang": "en"})
    assert "€47.50" in english.text and "Mar 1, 2026" in english.text


async def test_only_admins(app: Starlette, client: httpx.AsyncClient) -> None:
    await seed_month(app)
    await add_user(app, CLERK_EMAIL, "clerk")
    r = await client.get("/admin/insights")
    assert r.status_code in (302, 303) and "/staff/login" in r.headers["location"]
    r = await client.get("/admin/insights/fees.csv")
    assert r.status_code in (302, 303) and "/staff/login" in r.headers["location"]
    assert (await client.get(API)).status_code == 401
    clerk = bearer(await token_for(client, CLERK_EMAIL))
    assert (await client.get(API, headers=clerk)).status_code == 403
    await page_login(client, CLERK_EMAIL)
    assert (await client.get("/admin/insights")).status_code == 403
    assert (await client.get("/admin/insights/fees.csv")).status_code == 403


async def test_bad_parameters(app: Starlette, client: httpx.AsyncClient) -> None:
    seeded = await seed_month(app)
    headers = await _admin(app, client)
    cases: list[tuple[dict[str, str], int, str, str]] = [
        ({"from": "2026-03-31", "to": "2026-03-01"}, 400, "to",
         "Der letzte Tag darf nicht vor dem ersten liegen."),
        ({"from": "2024-01-01", "to": "2026-03-01"}, 400, "to",
         "Der Zeitraum darf höchstens 731 Tage umfassen."),
        ({"from": "1.3.2026"}, 400, "from", "Geben Sie das Datum als JJJJ-MM-TT an, "
         "zum Beispiel 2026-01-31."),
        ({"office_id": "999999"}, 404, "office_id", "Dieses Bürgerbüro gibt es nicht."),
        ({"office_id": "abc"}, 404, "office_id", "Dieses Bürgerbüro gibt es nicht."),
    ]
    for params, status, field, message in cases:
        r = await client.get(API, params={"office_id": str(seeded.office), **params},
                             headers=headers)
        assert r.status_code == status, (params, r.text)
        assert r.json()["error"]["message"] == message, params
        assert r.json()["error"]["details"][0]["field"] == field, params
    r = await client.get(API, params={"from": "2026-03-31", "to": "2026-03-01"},
                         headers={**headers, "Accept-Language": "en"})
    assert r.json()["error"]["message"] == "The last day must not be before the first day."

    await page_login(client, ADMIN_EMAIL)
    page = await client.get("/admin/insights", params={"from": "2026-03-31", "to": "2026-03-01"})
    assert page.status_code == 400
    assert "Der letzte Tag darf nicht vor dem ersten liegen." in page.text
    assert 'id="insights-filter"' in page.text and "insights-key_figures" not in page.text
    csv_bad = await client.get("/admin/insights/fees.csv", params={"office_id": "999999"})
    assert csv_bad.status_code == 404
