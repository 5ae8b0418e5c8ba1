"""An office's letters: the GiroCode's short beneficiary name checked when the office is saved,
and the letter template page (logo, wording, signature, legal remedy) with its preview; a
template that cannot be rendered is refused when it is saved."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from postcall.letter_models import OfficeLetter
from tests.app.admin.test_pages import admin_client  # noqa: F401 (fixture)
from tests.postcall.fee_support import need
from tests.staff.helpers import add_office, context, error_code, form_token

URL = "/api/v1/admin/offices"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"
LONG = "Stadt Ostfildern – Bürgeramt Nellingen: Abteilung Bürgerdienste, Ordnungswesen 2"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
       b'<rect width="40" height="20" fill="#0a5"/><text x="2" y="14">OST</text></svg>')


async def test_a_long_authority_needs_a_short_beneficiary_name(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert len(LONG) == 80
    office = {"name": "Bürgerbüro Nellingen", "authority": LONG, "iban": GOOD_IBAN,
              "bic": "COBADEFFXXX", "bank_name": "KSK",
              "address": "Rathausplatz 1\n73760 Ostfildern"}
    r = await client.post(URL, headers=admin_headers, json=office)
    assert r.status_code == 422 and error_code(r) == "validation_error"
    assert r.json()["error"]["details"][0]["field"] == "epc_name"
    r = await client.post(URL, headers=admin_headers,
                          json={**office, "epc_name": "x" * 71})
    assert r.status_code == 422
    r = await client.post(URL, headers=admin_headers,
                          json={**office, "epc_name": "Stadt Ostfildern Stadtkasse"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["epc_name"] == "Stadt Ostfildern Stadtkasse"
    # Emptying the short name again is refused; so is a prefix that leaves no room.
    r = await client.patch(f"{URL}/{made['id']}", headers=admin_headers, json={"epc_name": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "epc_name"
    r = await client.patch(f"{URL}/{made['id']}", headers=admin_headers,
                           json={"remittance_prefix": "K" * 100})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "remittance_prefix"
    # Without bank details nothing is paid by GiroCode: no short name needed.
    r = await client.post(URL, headers=admin_headers, json={"name": "Zweigstelle",
                                                            "authority": LONG})
    assert r.status_code == 201


async def letters_office(app: Starlette) -> int:
    office_id = await add_office(app, "Bürgerbüro Nellingen")
    async with context(app).db.transaction(write=True) as session:
        from booking.models import Office

        office = await session.get(Office, office_id)
        assert office is not None
        office.authority = "Stadt Ostfildern"
        office.address = "Rathausplatz 1\n73760 Ostfildern"
        office.iban, office.bic, office.bank_name = "DE89370400440532013000", "COBADEFFXXX", "KSK"
    return office_id


async def post_template(client: httpx.AsyncClient, office_id: int, fields: dict[str, str],
                        logo: tuple[str, bytes, str] | None = None) -> httpx.Response:
    url = f"/admin/offices/{office_id}/letters"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    files = {"logo": logo} if logo else {"logo": ("", b"", "application/octet-stream")}
    return await client.post(url, data={**fields, "csrf_token": form_token(page.text)},
                             files=files)


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (60, 30), (200, 0, 0, 0))
    image.paste((0, 90, 200, 255), (0, 0, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_the_template_is_saved_and_previewed(
    app: Starlette, admin_client: httpx.AsyncClient, tmp_path: Path  # noqa: F811
) -> None:
    need("pdftotext")
    office_id = await letters_office(app)
    fields = {"greeting": "Sehr geehrte/r", "closing": "Freundliche Grüße",
              "signature": "Im Auftrag\nMaria Muster", "legal_remedy": "Klage beim VG Stuttgart."}
    r = await post_template(admin_client, office_id, fields, ("logo.png", png_with_alpha(),
                                                              "image/png"))
    assert r.status_code == 303, r.text
    async with context(app).db.transaction() as session:
        letter = await session.get(OfficeLetter, office_id)
    assert letter is not None and letter.logo_type == "image/png"
    assert Image.open(io.BytesIO(letter.logo)).mode == "RGB"  # made opaque: no transparency
    preview = await admin_client.get(f"/admin/offices/{office_id}/letters/preview.pdf")
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    path = tmp_path / "preview.pdf"
    path.write_bytes(preview.content)
    body = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    for part in ("Sehr geehrte/r Erika Mustermann,", "Freundliche Grüße", "Maria Muster",
                 "Klage beim VG Stuttgart.", "Stadt Ostfildern", "Gebührenbescheid"):
        assert part in body, part
    r = await post_template(admin_client, office_id, {**fields, "greeting": "Hallo"},
                            ("logo.svg", SVG, "image/svg+xml"))
    assert r.status_code == 303
    async with context(app).db.transaction() as session:
        letter = await session.get(OfficeLetter, office_id)
    assert letter is not None and letter.logo_type == "image/svg+xml" and letter.greeting == "Hallo"


@pytest.mark.parametrize(("logo", "field"), [
    (("bad.png", b"\x89PNG\r\n\x1a\nnot a png", "image/png"), "logo"),
    (("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
      "image/svg+xml"), "logo"),
    (("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x/y.png"/></svg>',
      "image/svg+xml"), "logo"),
    (("x.gif", b"GIF89a....", "image/gif"), "logo"),
])
async def test_a_bad_logo_is_refused_beside_its_field(
    app: Starlette, admin_client: httpx.AsyncClient,  # noqa: F811
    logo: tuple[str, bytes, str], field: str,
) -> None:
    office_id = await letters_office(app)
    r = await post_template(admin_client, office_id, {"greeting": "Guten Tag"}, logo)
    assert r.status_code == 422
    assert 'id="logo-error"' in r.text
    async with context(app).db.transaction() as session:
        assert await session.get(OfficeLetter, office_id) is None


async def test_a_template_that_cannot_render_is_refused_when_saved(
    app: Starlette, admin_client: httpx.AsyncClient  # noqa: F811
) -> None:
    office_id = await letters_office(app)
    # Well-formed SVG that WeasyPrint cannot draw: a <use> that refers to itself.
    broken = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
              b'<use href="#a"/><g id="a"><use href="#a"/></g></svg>')
    r = await post_template(admin_client, office_id, {"greeting": "Guten Tag"},
                            ("x.svg", broken, "image/svg+xml"))
    assert r.status_code == 422, r.text
    assert "Aus der Briefvorlage kann kein Brief erzeugt werden" in r.text
    async with context(app).db.transaction() as session:
        assert await session.get(OfficeLetter, office_id) is None


async def test_an_office_without_bank_details_gets_the_reason(
    app: Starlette, admin_client: httpx.AsyncClient  # noqa: F811
) -> None:
    office_id = await add_office(app, "Ohne Bank")
    r = await admin_client.get(f"/admin/offices/{office_id}/letters/preview.pdf")
    assert r.status_code == 422
    r = await post_template(admin_client, office_id, {"greeting": "Guten Tag"})
    assert r.status_code == 422 and "Bankverbindung (IBAN, BIC, Bank)" in r.text
