"""Routes of this module (filled in by the feature that owns them)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
