"""The staff's pages of online services in one list of routes: the inbox and its event stream
(``app/pages/inbox.py``), one request and its actions (``app/pages/inbox_request.py``), the
admin's online services and their forms (``app/pages/admin_online.py``).

``app/main.py`` registers these before the generic admin pages, whose ``/admin/{resource}``
would otherwise answer for the admin's online-service pages.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.pages import admin_online, inbox, inbox_request

routes: list[BaseRoute] = [*inbox.routes, *inbox_request.routes, *admin_online.routes]
