"""The catalogue of online services: what admins configure and what citizens are offered.

An online service is a catalogue service (``booking.admin``: name, description, fee, offices)
with an ``online_service`` row and a form. Its fields are given as one ordered list: a key that
is new is added, a known key is changed in place (its type stays: answers were given to it),
a key that is left out is retired (kept for the answers given to it, not asked any more), and
the list's order is the form's order. Every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking import admin
from booking.admin_validation import (
    BadValue,
    FieldErrors,
    InUse,
    boolean,
    clean,
    integer,
    optional_id,
)
from booking.models import Office, Service, ServiceOffice
from cases.models import Case
from core.audit import Actor, record
from core.errors import Invalid, NotFound
from core.link_tables import ids_per
from core.types import utcnow
from online.forms import FieldSpec, check_fields, parse_options
from online.models import FormField, Identity, OnlineService

SERVICE_KEYS = ("name", "name_en", "description", "description_en", "fee_cents", "currency",
                "fee_schedule_ref", "active", "sort_order", "office_ids", "video")


def _identity(value: Any) -> str:
    if value not in set(Identity):
        raise BadValue("Choose \"none\" or \"video\".")
    return str(value)


ONLINE_FIELDS = {
    "identity": _identity,
    "processing_days": integer(1, 365),
    "anonymous_allowed": boolean,
    "video_service_id": optional_id,
}


@dataclass(frozen=True)
class Offered:
    """An online service with its form and offices."""

    service: Service
    online: OnlineService
    fields: list[FormField]  # in form order; retired ones included (``retired_at`` set)
    office_ids: list[int]

    @property
    def in_force(self) -> list[FormField]:
        return [f for f in self.fields if f.retired_at is None]

    @property
    def identity(self) -> str:
        return self.online.identity


def field_specs(raw: Any) -> list[FieldSpec]:
    """Field definitions as the API or the admin page sends them."""
    if not isinstance(raw, list):
        raise Invalid("Give the fields as a list.", field="fields")
    specs: list[FieldSpec] = []
    for index, item in enumerate(raw):
        at = f"fields.{index}"
        if not isinstance(item, dict):
            raise Invalid("Each field is an object.", field=at)
        unknown = set(item) - {"key", "label", "label_en", "type", "required", "options",
                               "max_bytes", "hint", "hint_en"}
        if unknown:
            raise Invalid("Unknown entry: %(names)s.", field=at, names=", ".join(sorted(unknown)))
        max_bytes = item.get("max_bytes")
        if max_bytes is not None and (isinstance(max_bytes, bool)
                                      or not isinstance(max_bytes, int)):
            raise Invalid("Please enter a whole number.", field=f"{at}.max_bytes")
        texts = {name: item.get(name, "") for name in ("key", "label", "label_en", "type",
                                                       "hint", "hint_en")}
        if not all(isinstance(v, str) for v in texts.values()):
            raise Invalid("Please enter a text.", field=at)
        if not isinstance(item.get("required", False), bool):
            raise Invalid("Please choose yes or no.", field=f"{at}.required")
        specs.append(FieldSpec(
            key=texts["key"].strip(), type=texts["type"].strip(),
            label=" ".join(texts["label"].split()), label_en=" ".join(texts["label_en"].split()),
            hint=" ".join(texts["hint"].split()), hint_en=" ".join(texts["hint_en"].split()),
            required=bool(item.get("required", False)),
            options=parse_options(item.get("options"), f"{at}.options"), max_bytes=max_bytes,
        ))
    check_fields(specs)
    return specs


# --- reading -----------------------------------------------------------------------------------


async def _fields(session: AsyncSession, service_ids: Sequence[int]) -> dict[int, list[FormField]]:
    rows = await session.execute(
        select(FormField).where(col(FormField.service_id).in_(list(service_ids)))
        .order_by(col(FormField.position), col(FormField.id)))
    found: dict[int, list[FormField]] = {}
    for field in rows.scalars():
        found.setdefault(field.service_id, []).append(field)
    return found


async def online_services(session: AsyncSession, *, offered_only: bool = False,
                          office_id: int | None = None) -> list[Offered]:
    """Online services in the admin's order. ``offered_only``: active ones with at least one
    office (what citizens see); ``office_id`` narrows to one office."""
    query = (select(Service, OnlineService)
             .join(OnlineService, col(OnlineService.service_id) == col(Service.id))
             .order_by(col(Service.sort_order), col(Service.name), col(Service.id)))
    if offered_only:
        query = query.where(col(Service.active).is_(True))
    rows = list((await session.execute(query)).all())
    ids = [int(service.id) for service, _ in rows if service.id is not None]
    offices = await ids_per(session, col(ServiceOffice.service_id), col(ServiceOffice.office_id),
                            ids)
    fields = await _fields(session, ids)
    found = [Offered(service, online, fields.get(online.service_id, []),
                     offices.get(online.service_id, [])) for service, online in rows]
    if offered_only:
        found = [o for o in found if o.office_ids]
    if office_id is not None:
        found = [o for o in found if office_id in o.office_ids]
    return found


async def online_service(session: AsyncSession, service_id: int, *,
                         offered_only: bool = False) -> Offered:
    """One online service; ``NotFound`` for an unknown one (or, ``offered_only``, one that is
    not offered now)."""
    row = (await session.execute(
        select(Service, OnlineService)
        .join(OnlineService, col(OnlineService.service_id) == col(Service.id))
        .where(col(Service.id) == service_id))).first()
    if row is None or (offered_only and not row[0].active):
        raise NotFound("This online service does not exist.")
    service, online = row
    offices = await ids_per(session, col(ServiceOffice.service_id), col(ServiceOffice.office_id),
                            [service_id])
    offered = Offered(service, online, (await _fields(session, [service_id])).get(service_id, []),
                      offices.get(service_id, []))
    if offered_only and not offered.office_ids:
        raise NotFound("This online service does not exist.")
    return offered


async def offices_of(session: AsyncSession, offered: Offered) -> list[Office]:
    if not offered.office_ids:
        return []
    rows = await session.execute(select(Office).where(col(Office.id).in_(offered.office_ids))
                                 .order_by(col(Office.name), col(Office.id)))
    return list(rows.scalars())


# --- writing -----------------------------------------------------------------------------------


async def _check_video_service(session: AsyncSession, service_id: int | None) -> None:
    if service_id is None:
        return
    video = await session.get(Service, service_id)
    if video is None or not video.video:
        raise FieldErrors.one("video_service_id", "Choose a service that is booked by video.")


def _split(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    unknown = set(values) - set(SERVICE_KEYS) - set(ONLINE_FIELDS) - {"fields"}
    if unknown:
        raise FieldErrors.one(sorted(unknown)[0], "Unknown entry: %(names)s.",
                              names=", ".join(sorted(unknown)))
    service = {k: v for k, v in values.items() if k in SERVICE_KEYS}
    online = clean({k: v for k, v in values.items() if k in ONLINE_FIELDS}, ONLINE_FIELDS)
    return service, online, values.get("fields")


def _field_row(service_id: int, spec: FieldSpec, position: int) -> dict[str, Any]:
    return {
        "service_id": service_id, "key": spec.key, "type": spec.type, "label": spec.label,
        "label_en": spec.label_en, "hint": spec.hint, "hint_en": spec.hint_en,
        "required": spec.required, "max_bytes": spec.max_bytes, "position": position,
        "options": json.dumps([o.to_json() for o in spec.options], ensure_ascii=False),
    }


async def _set_fields(session: AsyncSession, service_id: int, specs: list[FieldSpec]) -> list[str]:
    """Make ``specs`` the form (see the module doc); the changed keys."""
    now = utcnow()
    existing = {f.key: f for f in (await _fields(session, [service_id])).get(service_id, [])}
    changed: list[str] = []
    error = Invalid("The form's fields are not valid.", field="fields")
    for position, spec in enumerate(specs):
        row = _field_row(service_id, spec, position)
        old = existing.pop(spec.key, None)
        if old is None:
            session.add(FormField(**row))
            changed.append(spec.key)
            continue
        if old.type != spec.type:
            error.add(f"fields.{position}.type", "A field's type cannot change once it is "
                      "defined: leave the field out (it is retired) and add one with a new key.")
            continue
        values = {**row, "retired_at": None}
        if any(getattr(old, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(old, name, value)
            old.updated_at = now
            changed.append(spec.key)
    if error.problems:
        raise error
    for old in existing.values():
        if old.retired_at is None:
            old.retired_at = old.updated_at = now
            changed.append(old.key)
    await session.flush()
    return changed


async def create_online_service(session: AsyncSession, actor: Actor,
                                values: Mapping[str, Any]) -> Offered:
    service_values, online_values, raw_fields = _split(values)
    specs = field_specs(raw_fields if raw_fields is not None else [])
    identity = online_values.get("identity", Identity.none.value)
    await _check_video_service(session, online_values.get("video_service_id"))
    service = await admin.create_service(session, actor, {
        "video": False, **service_values, "requires_identity": identity == Identity.video,
    })
    assert service.id is not None
    session.add(OnlineService(service_id=service.id, **online_values))
    await session.flush()
    await _set_fields(session, service.id, specs)
    record(session, actor, "online_service.create", "service", service.id,
           {"fields": [s.key for s in specs]})
    return await online_service(session, service.id)


async def update_online_service(session: AsyncSession, actor: Actor, service_id: int,
                                values: Mapping[str, Any]) -> Offered:
    offered = await online_service(session, service_id)
    service_values, online_values, raw_fields = _split(values)
    await _check_video_service(session, online_values.get("video_service_id"))
    if "identity" in online_values:
        service_values["requires_identity"] = online_values["identity"] == Identity.video
    if service_values:
        await admin.update_service(session, actor, service_id, service_values)
    changed = admin.changed_fields(offered.online, online_values)
    admin.apply(offered.online, online_values)
    if raw_fields is not None:
        keys = await _set_fields(session, service_id, field_specs(raw_fields))
        changed += [f"fields.{key}" for key in keys]
    await session.flush()
    if changed:
        record(session, actor, "online_service.update", "service", service_id,
               {"fields": sorted(changed)})
    return await online_service(session, service_id)


async def delete_online_service(session: AsyncSession, actor: Actor, service_id: int) -> None:
    """Only a service no request was ever made for; otherwise it is set inactive."""
    await online_service(session, service_id)
    used = await session.scalar(select(func.count()).select_from(Case)
                                .where(col(Case.service_id) == service_id))
    if used:
        raise InUse("Requests were made for this service: it cannot be deleted. "
                    "Set it to inactive instead.")
    await admin.delete_service(session, actor, service_id)
