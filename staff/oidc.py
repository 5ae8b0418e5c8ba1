"""Single sign-on through the town's OpenID Connect provider: who a verified set of claims is
here. The protocol (code flow with PKCE, the ID token's signature, issuer, audience and nonce)
is Authlib's, in ``app/api/sso.py``; this module gets the claims it verified.

* **Which account.** An account at the provider is known by issuer and subject (``sub``),
  stored in ``staff_identity``; e-mail addresses change and are reused, ``sub`` is not. The
  first sign-in creates a staff account without a password, or, only with
  ``BUERO_OIDC_LINK_BY_EMAIL`` and a provider that says the address is verified
  (``email_verified: true``), links the local account of the same address. Otherwise an
  existing account of that address is refused: anyone who can name an address at the provider
  would else take over the local account.
* **Role and offices** come from the provider's groups on every sign-in
  (``BUERO_OIDC_GROUPS_CLAIM``, a dotted path such as ``realm_access.roles`` for Keycloak),
  mapped by ``BUERO_OIDC_GROUP_MAP``: a JSON object from group to ``{"role": "admin"|"clerk",
  "offices": [office ids]}`` (or just the role). Several groups: the highest role, all their
  offices. No mapped group: refused. Changes are audited (``staff.sso_sync``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.models import Office
from core.audit import Actor, record
from core.errors import DomainError
from core.link_tables import set_ids
from core.tenancy import current_or_default
from staff.models import Role, StaffIdentity, StaffOffice, StaffUser
from staff.service import find_user_by_email, normalize_login_email, user_office_ids

ROLE_RANK = {Role.clerk.value: 1, Role.admin.value: 2}


class SsoRefused(DomainError):
    status = 403
    code = "sso_refused"
    message = "Single sign-on did not work. Please try again or ask your IT department."


class NoMappedGroup(SsoRefused):
    code = "sso_no_role"
    message = ("Your account at the town's sign-in service is in no group that has access to "
               "the citizen office. Please ask your IT department to add you to one.")


class AccountExists(SsoRefused):
    status = 409
    code = "sso_account_exists"
    message = ("A staff account with your e-mail address already exists and is not linked to "
               "single sign-on. Please ask an administrator to link it or to remove it.")


class NoEmail(SsoRefused):
    code = "sso_no_email"
    message = ("The town's sign-in service did not tell us your e-mail address. Please ask your "
               "IT department to release it (scope \"email\").")


class Deactivated(SsoRefused):
    code = "sso_deactivated"
    message = "This staff account is deactivated. Please ask an administrator."


@dataclass(frozen=True)
class GroupRule:
    role: str
    offices: tuple[int, ...] = ()


def parse_group_map(text: str) -> dict[str, GroupRule]:
    """``BUERO_OIDC_GROUP_MAP``; ValueError with what is wrong."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"BUERO_OIDC_GROUP_MAP is not JSON: {exc.msg}") from exc
    if not isinstance(raw, dict):
        raise ValueError("BUERO_OIDC_GROUP_MAP must be a JSON object: group -> rule")
    rules: dict[str, GroupRule] = {}
    for group, rule in raw.items():
        if isinstance(rule, str):
            rule = {"role": rule}
        role = rule.get("role", Role.clerk.value) if isinstance(rule, dict) else None
        offices = rule.get("offices", []) if isinstance(rule, dict) else None
        if role not in ROLE_RANK or not isinstance(offices, list) or not all(
                isinstance(o, int) and not isinstance(o, bool) for o in offices):
            raise ValueError(f"BUERO_OIDC_GROUP_MAP: the rule of {group!r} must be "
                             '{"role": "clerk"|"admin", "offices": [office ids]}')
        rules[group] = GroupRule(role, tuple(offices))
    return rules


def groups_in(claims: Mapping[str, Any], path: str) -> list[str]:
    """The groups at ``path`` (dots go into nested objects): a list of strings, or one."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def mapped(groups: list[str], rules: Mapping[str, GroupRule]) -> GroupRule | None:
    """The role (the highest) and offices (all) of the mapped groups; None when none is."""
    found = [rules[g] for g in groups if g in rules]
    if not found:
        return None
    role = max((r.role for r in found), key=ROLE_RANK.__getitem__)
    offices = sorted({o for r in found for o in r.offices})
    return GroupRule(role, tuple(offices))


def email_of(claims: Mapping[str, Any]) -> str | None:
    for name in ("email", "preferred_username", "upn"):
        value = claims.get(name)
        if isinstance(value, str) and "@" in value and len(value) <= 254:
            return normalize_login_email(value)
    return None


@dataclass(frozen=True)
class Provider:
    """What the sign-in needs of the settings."""

    issuer: str
    groups_claim: str
    rules: Mapping[str, GroupRule]
    link_by_email: bool


async def sign_in(session: AsyncSession, provider: Provider, claims: Mapping[str, Any],
                  now: dt.datetime) -> StaffUser:
    """The staff account of verified ``claims`` (created or linked on the first sign-in), its
    role and offices brought up to date. Raises an ``SsoRefused``; never commits."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SsoRefused()
    rule = mapped(groups_in(claims, provider.groups_claim), provider.rules)
    identity = (await session.execute(select(StaffIdentity).where(
        col(StaffIdentity.issuer) == provider.issuer,
        col(StaffIdentity.subject) == subject))).scalars().first()
    user = await session.get(StaffUser, identity.user_id) if identity is not None else None
    if rule is None:
        raise NoMappedGroup()
    if user is None:
        user = await _first_sign_in(session, provider, claims, subject, rule)
        assert user.id is not None
        identity = StaffIdentity(user_id=user.id, issuer=provider.issuer, subject=subject)
        session.add(identity)
    if not user.active:
        raise Deactivated()
    assert identity is not None and user.id is not None
    identity.last_login_at = now
    await _sync(session, user, rule, claims)
    return user


async def _first_sign_in(session: AsyncSession, provider: Provider, claims: Mapping[str, Any],
                         subject: str, rule: GroupRule) -> StaffUser:
    address = email_of(claims)
    if address is None:
        raise NoEmail()
    existing = await find_user_by_email(session, address)
    actor = Actor("system", None, "single sign-on")
    if existing is not None:
        if not (provider.link_by_email and claims.get("email_verified") is True):
            raise AccountExists()
        record(session, actor, "staff.sso_linked", "staff_user", existing.id,
               {"issuer": provider.issuer, "subject": subject})
        return existing
    name = claims.get("name")
    user = StaffUser(email=address, password_hash="", role=rule.role,
                     municipality_id=current_or_default(),
                     display_name=name[:200] if isinstance(name, str) else "")
    session.add(user)
    await session.flush()
    record(session, actor, "staff.sso_account_created", "staff_user", user.id,
           {"issuer": provider.issuer, "subject": subject})
    return user


async def _sync(session: AsyncSession, user: StaffUser, rule: GroupRule,
                claims: Mapping[str, Any]) -> None:
    """Role and offices as the provider's groups say (offices that do not exist are left out)."""
    assert user.id is not None
    existing = set((await session.execute(
        select(col(Office.id)).where(col(Office.id).in_(rule.offices)))).scalars())
    offices = [o for o in rule.offices if o in existing]
    changed: list[str] = []
    if user.role != rule.role:
        user.role = rule.role
        changed.append("role")
    if sorted((await user_office_ids(session, [user.id])).get(user.id, [])) != offices:
        await set_ids(session, StaffOffice, "user_id", user.id, "office_id", offices)
        changed.append("office_ids")
    name = claims.get("name")
    if isinstance(name, str) and name and user.display_name != name[:200]:
        user.display_name = name[:200]
        changed.append("display_name")
    await session.flush()
    if changed:
        record(session, Actor("system", None, "single sign-on"), "staff.sso_sync", "staff_user",
               user.id, {"fields": changed, "role": user.role, "office_ids": offices})
