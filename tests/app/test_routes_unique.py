"""No two routes answer the same method on the same path: the first would silently shadow the
second (as a waitlist's "leave" once took an online request's "withdraw")."""

from __future__ import annotations

from collections import Counter

from starlette.routing import Route

from app.main import create_app
from app.settings import Settings


def test_every_method_and_path_has_one_route(settings: Settings) -> None:
    app = create_app(settings)
    pairs = Counter((route.path, method) for route in app.routes if isinstance(route, Route)
                    for method in (route.methods or ()) if method != "HEAD")
    assert len(pairs) > 100  # the product's routes were found
    assert [pair for pair, n in pairs.items() if n > 1] == []
