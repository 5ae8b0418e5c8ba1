"""Town B of ``tests.tenants.world`` reached only by its path prefix (``/zwiebelbach``) on town A's
host, and the reading of a page's links: what the tests of prefixed links share."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from cases.models import Case, CaseItem
from core.tenancy import acting_for
from online.models import RequestDocument
from online.uploads import seal_document
from tenants.models import Municipality
from tests.staff.helpers import context
from tests.tenants.world import CASE_NUMBER_B, TownA, TownB, build

PREFIX = "/zwiebelbach"
TOWN_B = "Stadt Zwiebelbach"  # named in the header of each of B's pages (several towns)
# Every attribute that names an address; ``data-*`` ones only where their value is a path.
_ADDRESS = re.compile(r'\s(href|src|action|formaction|data-[a-z-]+)="([^"]*)"')


async def prefixed_world(app: Starlette) -> tuple[TownA, TownB]:
    """The two towns, B with no host of its own: only its prefix leads to it. B's document
    opens (sealed with the app's key) and its decided case has its fee item, so that every
    link to them can be followed."""
    a, b = await build(app)
    state = context(app)
    with acting_for(None):
        async with state.db.transaction(write=True) as session:
            town = await session.get(Municipality, b.id)
            document = await session.get(RequestDocument, b.document)
            assert town is not None and document is not None
            town.hosts, town.path_prefix = "", PREFIX
            document.sealed = seal_document(state.secret_key, document.case_id, b"%PDF-1.4\n")
            case = (await session.execute(select(Case).where(
                col(Case.case_number) == CASE_NUMBER_B))).scalar_one()
            session.add(CaseItem(case_id=case.id, name="Zwiebelpass", unit_fee_cents=1234,
                                 quantity=1, amount_cents=1234,
                                 fee_schedule_ref="Gebührensatzung § 1"))
    state.hosts.forget()
    return a, b


def addresses(page: str) -> list[tuple[str, str]]:
    """(attribute, address) of each address in the page that points to this site: a path, not
    a ``#fragment``, another host's URL, ``data:``, ``mailto:`` or ``tel:``."""
    found = []
    for attribute, raw in _ADDRESS.findall(page):
        value = html.unescape(raw)
        if attribute.startswith("data-") and not value.startswith("/"):
            continue  # a text, a number, a state
        if value.startswith("/") and not value.startswith("//"):
            found.append((attribute, value))
        elif not value.startswith(("#", "http://", "https://", "data:", "mailto:", "tel:")) \
                and value:
            found.append((attribute, value))  # relative: leaves the prefix to the browser
    return found


def outside(found: list[tuple[str, str]], prefix: str = PREFIX) -> list[tuple[str, str]]:
    """The addresses that do not carry ``prefix`` (the installation's files under /static/ are
    served on every path and host and stay as they are)."""
    return [(attribute, value) for attribute, value in found
            if not value.startswith(("/static/", prefix + "/")) and value != prefix]
