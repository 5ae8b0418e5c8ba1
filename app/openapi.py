"""OpenAPI 3.1 for ``/api/v1``, built from the routes themselves.

Handlers declare their request and response models with ``@operation(...)``; the document is
generated from the routing table, so it cannot drift from what is served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Operation:
    summary: str
    tag: str
    request: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | str | None] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    auth: str | None = None  # None | "citizen" | "staff" | "admin" | "stripe"
    content_type: str = "application/json"


def operation(
    summary: str,
    *,
    tag: str,
    request: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | str | None] | None = None,
    query: type[BaseModel] | None = None,
    auth: str | None = None,
    content_type: str = "application/json",
) -> Callable[[F], F]:
    """Attach OpenAPI facts to a handler. ``responses`` maps status to a model, a media type
    string for non-JSON bodies (e.g. ``"text/calendar"``), or None for an empty body."""

    def decorate(func: F) -> F:
        func.__openapi__ = Operation(  # type: ignore[attr-defined]
            summary, tag, request, responses or {}, query, auth, content_type
        )
        return func

    return decorate
