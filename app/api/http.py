"""Small request helpers shared by the handlers."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request

from app.context import AppContext, ctx
from core.errors import DomainError, Invalid, Unauthorized
from core.tenancy import current_municipality

T = TypeVar("T", bound=BaseModel)

MAX_JSON_BYTES = 64 * 1024


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class MalformedJSON(DomainError):
    status = 400
    code = "malformed_json"
    message = "The request body is not valid JSON."


async def read_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge()
    return body


async def read_json(request: Request, model: type[T], limit: int = MAX_JSON_BYTES) -> T:
    """Parse and validate a JSON body; errors become 400/413/422 in the contract's shape."""
    return _parse(await read_body(request, limit), model)


def _parse(body: bytes, model: type[T]) -> T:
    try:
        data: Any = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MalformedJSON() from exc
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    _check_values(data)
    return validate(model, data)


@dataclass(frozen=True)
class Deferred(Generic[T]):
    """A body read now and judged later: ``value()`` raises what was wrong with it."""

    body: T | None
    problem: DomainError | None

    def value(self) -> T:
        if self.problem is not None or self.body is None:
            raise self.problem or Invalid()
        return self.body


async def read_json_later(request: Request, model: type[T], *,
                          optional: bool = False) -> Deferred[T]:
    """Read and check the JSON body now, but report a bad one only through ``value()``.

    Now: before the handler opens a write transaction (it never waits on a client while holding
    one). Later: once the handler knows who is asking, so a stranger learns nothing but 401.
    ``optional``: no body at all means the model's defaults.
    """
    try:
        body = await read_body(request)
        if optional and not body.strip():
            return Deferred(model(), None)
        return Deferred(_parse(body, model), None)
    except DomainError as exc:
        return Deferred(None, exc)


class ControlCharacters(DomainError):
    status = 422
    code = "validation_error"
    message = "The request contains characters that are not allowed."


class TooDeep(DomainError):
    status = 422
    code = "validation_error"
    message = "The request is nested too deeply."


# No body of the API nests deeper than a few levels; anything beyond this is refused before
# validation (a deep body would otherwise exhaust the validators' recursion).
MAX_DEPTH = 16


def _check_values(data: Any) -> None:
    """Refuse NUL characters anywhere in parsed JSON (databases refuse them) and nesting
    beyond ``MAX_DEPTH``; iterative, so no body can exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ControlCharacters()
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise TooDeep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))



def validate(model: type[T], data: dict[str, Any]) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def validation_error(exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    error = Invalid("The field %(field)s is not valid: %(reason)s", field=field)
    error.params = {"field": field or "body", "reason": first["msg"]}
    error.details = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return error


def bearer_token(conn: HTTPConnection) -> str:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def client_ip(conn: HTTPConnection) -> str:
    """The client address as the ASGI server saw it (uvicorn applies --proxy-headers, trusting
    only ``BUERO_FORWARDED_ALLOW_IPS``)."""
    return conn.client.host if conn.client else "unknown"


def client_key(conn: HTTPConnection) -> str:
    """Whom a rate limit counts: an IPv4 address, or the /64 network of an IPv6 address (one
    household or host is given a whole /64 and can pick any address in it)."""
    host = client_ip(conn)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def cookie_secure(conn: HTTPConnection) -> bool:
    """Cookies get ``Secure`` when the site is served over https (a Secure cookie would never
    come back over the plain http of development)."""
    return ctx(conn).settings.base_url.startswith("https://")


async def town_base_url(state: AppContext) -> str:
    """The base URL of the links the current municipality gives out (a guest's link, the link
    of a booked appointment): its host and path prefix (``tenants.hosts.HostMap.town``);
    with one municipality ``BUERO_BASE_URL``."""
    _, base_url = await state.hosts.town(state.db, current_municipality(),
                                         state.settings.base_url)
    return base_url.rstrip("/")
