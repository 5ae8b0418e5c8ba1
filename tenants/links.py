"""The links of a municipality reached by its path prefix (``/zwiebelbach``).

``tenants.middleware`` serves ``/zwiebelbach/book`` as Zwiebelbach's ``/book``: Starlette's
``root_path`` is the prefix and the routes see the *site path* below it. Handlers speak in site
paths; every link given out carries the root again, put in front in one place each:

- templates write ``{{ root }}/book`` (``root`` is in every page's context, ``app.templating``),
  and the macros that take a link put it in front of theirs;
- handlers redirect with ``app.pages.staff_http.redirect``, which sends the site path with the
  request's root;
- scripts read the root from ``data-root`` of the page's ``<html>`` (``static/js/site.js``);
- e-mails, calendar files and letters are built from the municipality's base URL, which ends
  in its prefix (``tenants.hosts.HostMap.town``).

Without a prefix the root is empty and every link is the site path, as before. The
installation's files under ``/static/`` are the same for every municipality and are served on
every host and path (``tenants.hosts.UNSCOPED``): their addresses stay without a root.

These read the ASGI scope only, so the middleware, the handlers and the templates share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def root(scope: Mapping[str, Any]) -> str:
    """What stands before this request's site paths: the municipality's path prefix (and a
    proxy's root path, if the server was given one); "" without one."""
    # Inside a ``Mount`` ``root_path`` grows by the mount's path; ``app_root_path`` is the app's.
    return str(scope.get("app_root_path", scope.get("root_path", "")))


def site_path(scope: Mapping[str, Any]) -> str:
    """The path of this request below its root (``/zwiebelbach/staff`` → ``/staff``)."""
    path, base = str(scope["path"]), root(scope)
    if base and (path == base or path.startswith(base + "/")):
        return path[len(base):] or "/"
    return path


def is_site_path(url: str) -> bool:
    """A path on this site: no scheme, no host, no ``//`` or ``/\\`` (which browsers take for
    another host)."""
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def site_url(scope: Mapping[str, Any], url: str) -> str:
    """A site path as the browser must ask for it (the root in front); any other URL (another
    host's, a ``#fragment``, ``?query``) as it is."""
    return root(scope) + url if is_site_path(url) else url


def safe_next(target: str | None, default: str = "/staff") -> str:
    """Where to go after a sign-in or a post (``?next=``): only a site path, else ``default``."""
    if not target or not is_site_path(target) or any(ch in target for ch in "\r\n\\"):
        return default
    return target
