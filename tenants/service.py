"""Municipalities: create and change one (the platform administrator's), give it its first
administrator, and read what the installation needs of all of them (retention periods) and
what a municipality's public pages show of it (its imprint and statements).

Like the other domain services these take a session, raise domain errors and never commit. The
platform API runs them with no current municipality (``core.tenancy``): the platform sees all;
a page reads its own municipality's texts in its request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.admin_validation import BadValue, Duplicate, clean, optional_integer, text
from core.audit import Actor, record
from core.errors import NotFound
from core.tenancy import acting_for, current_municipality
from core.types import utcnow
from staff.models import Role, StaffUser
from staff.service import create_user_from
from tenants.hosts import normalise_host
from tenants.models import Municipality

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}"
                   r"[a-z0-9])?)*$")
_PREFIX = re.compile(r"^/[a-z0-9][a-z0-9-]{0,60}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5  # WCAG 2.1 AA for normal text (1.4.3)


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_accent(value: Any) -> str:
    """An accent colour that white text on it (and it as text on white) can be read with."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _COLOUR.match(value):
        raise BadValue("Please enter a colour as #rrggbb.")
    if contrast(value, "#ffffff") < MIN_CONTRAST:
        raise BadValue("This colour has too little contrast to white (at least 4.5 : 1 is "
                       "needed).")
    return value.lower()


def _hosts(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise BadValue("Please give the host names as a list.")
    hosts = [normalise_host(h) for h in value]
    if not all(_HOST.match(h) for h in hosts):
        raise BadValue("A host name is not valid.")
    return "\n".join(dict.fromkeys(hosts))


def _prefix(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _PREFIX.match(value):
        raise BadValue("A path prefix is a slash and lower-case letters, digits or dashes.")
    return value


def _logo(value: Any) -> str:
    """A file of this site (the pages' content security policy loads images from it only)."""
    checked: str = text(500)(value)
    if checked and not re.match(r"^/static/[A-Za-z0-9/_.-]+\.(svg|png|webp)$", checked):
        raise BadValue("A logo is an SVG, PNG or WebP file under /static/.")
    return checked


FIELDS = {
    "name": text(200, required=True),
    "hosts": _hosts,
    "path_prefix": _prefix,
    "logo_url": _logo,
    "accent_colour": check_accent,
    "imprint": text(20_000, multiline=True),
    "privacy_statement": text(50_000, multiline=True),
    "accessibility_statement": text(50_000, multiline=True),
    "retention_days": optional_integer(1, 3650),
}


async def _check_hosts_free(session: AsyncSession, hosts: str, prefix: str, *,
                            own: int | None = None) -> None:
    wanted = set(hosts.splitlines())
    for other in (await session.execute(select(Municipality))).scalars():
        if other.id == own:
            continue
        if wanted & set(other.host_list()):
            raise Duplicate("A host name is already another municipality's.", field="hosts")
        if prefix and other.path_prefix == prefix:
            raise Duplicate("This path prefix is already another municipality's.",
                            field="path_prefix")


async def create_municipality(session: AsyncSession, actor: Actor,
                              values: Mapping[str, Any]) -> Municipality:
    data = clean(values, FIELDS, required=["name"])
    await _check_hosts_free(session, data.get("hosts", ""), data.get("path_prefix", ""))
    municipality = Municipality(**data)
    session.add(municipality)
    await session.flush()
    record(session, actor, "municipality.create", "municipality", municipality.id,
           {"fields": sorted(data)})
    return municipality


async def get_municipality(session: AsyncSession, municipality_id: int) -> Municipality:
    found = await session.get(Municipality, municipality_id)
    if found is None:
        raise NotFound("This municipality does not exist.")
    return found


async def update_municipality(session: AsyncSession, actor: Actor, municipality_id: int,
                              values: Mapping[str, Any]) -> Municipality:
    """Change the fields given (the others stay), checked as on creation."""
    municipality = await get_municipality(session, municipality_id)
    data = clean(values, FIELDS)
    await _check_hosts_free(session, data.get("hosts", ""), data.get("path_prefix", ""),
                            own=municipality_id)
    for name, value in data.items():
        setattr(municipality, name, value)
    municipality.updated_at = utcnow()
    record(session, actor, "municipality.update", "municipality", municipality_id,
           {"fields": sorted(data)})
    return municipality


async def current_municipality_texts(session: AsyncSession) -> Municipality | None:
    """The municipality of the request (its imprint, privacy and accessibility statements for
    its public pages); None outside one."""
    mid = current_municipality()
    return None if mid is None else await session.get(Municipality, mid)


async def create_admin(session: AsyncSession, actor: Actor, municipality_id: int,
                       values: Mapping[str, Any]) -> StaffUser:
    """An administrator of the municipality (its first, or one more)."""
    await get_municipality(session, municipality_id)
    with acting_for(municipality_id):
        return await create_user_from(session, actor, {
            "email": values.get("email"), "password": values.get("password"),
            "role": Role.admin.value, "display_name": values.get("display_name", ""),
        })


async def retention_periods(session: AsyncSession, default_days: int, *,
                            only: int | None = None) -> list[tuple[int, int]]:
    """(municipality id, retention days) of every municipality (or the one ``only``): its
    own, or the default."""
    rows = await session.execute(
        select(col(Municipality.id), col(Municipality.retention_days))
        .order_by(col(Municipality.id)))
    return [(mid, days or default_days) for mid, days in rows.all()
            if mid is not None and only in (None, mid)]


def describe(municipality: Municipality) -> dict[str, Any]:
    return {
        "id": municipality.id, "name": municipality.name, "hosts": municipality.host_list(),
        "path_prefix": municipality.path_prefix, "logo_url": municipality.logo_url,
        "accent_colour": municipality.accent_colour,
        "imprint": municipality.imprint, "privacy_statement": municipality.privacy_statement,
        "accessibility_statement": municipality.accessibility_statement,
        "retention_days": municipality.retention_days,
    }


async def list_municipalities(session: AsyncSession) -> list[Municipality]:
    return list((await session.execute(
        select(Municipality).order_by(col(Municipality.id)))).scalars())

