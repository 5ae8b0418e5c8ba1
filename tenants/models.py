"""The municipality table: a town served by the installation, with its host names and branding.

Offices, services (online services are services), staff accounts, closures, requests and
audit events carry ``municipality_id``; everything else belongs to one through its office or
its request (``tenants.scope``). The default municipality (id 1) exists in every database: the
migration creates it from today's data, and ``metadata.create_all`` inserts it too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Text, event, text
from sqlmodel import Field, SQLModel

from core.tenancy import DEFAULT_MUNICIPALITY_ID
from core.types import UTCDateTime, utcnow

DEFAULT_NAME = "Bürgerbüro"


class Municipality(SQLModel, table=True):
    __tablename__ = "municipality"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Host names (lower case, without port), one per line. A request on none of them is served
    # by the default municipality: with one municipality every host serves it.
    hosts: str = Field(default="", sa_type=Text)
    # Optional path prefix (``/stadt-a``) under which the municipality is also reached.
    path_prefix: str = Field(default="", max_length=100)
    # Branding: a logo's URL (https or /static/...) and one accent colour (#rrggbb) with enough
    # contrast to white and to the body text (``tenants.service.check_accent``).
    logo_url: str = Field(default="", max_length=500)
    accent_colour: str = Field(default="", max_length=7)
    imprint: str = Field(default="", sa_type=Text)
    privacy_statement: str = Field(default="", sa_type=Text)
    accessibility_statement: str = Field(default="", sa_type=Text)
    # Days after which finished appointments and requests are erased; None: the installation's
    # ``BUERO_RETENTION_DAYS``.
    retention_days: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def host_list(self) -> list[str]:
        return [line.strip() for line in self.hosts.splitlines() if line.strip()]


def _insert_default(table: Any, connection: Connection, **_kw: Any) -> None:
    """A schema made by ``create_all`` (tests, a fresh database) gets the default municipality
    as the migration makes it; PostgreSQL's sequence then starts after it."""
    now = utcnow()
    connection.execute(table.insert().values(
        id=DEFAULT_MUNICIPALITY_ID, name=DEFAULT_NAME, hosts="", path_prefix="", logo_url="",
        accent_colour="", imprint="", privacy_statement="", accessibility_statement="",
        created_at=now, updated_at=now))
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval(pg_get_serial_sequence('municipality', 'id'), "
                                "(SELECT max(id) FROM municipality))"))


event.listen(Municipality.__table__, "after_create", _insert_default)  # type: ignore[attr-defined]
