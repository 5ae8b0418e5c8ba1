"""Errors of a request's completion. Like ``core.errors`` each carries its status and a
stable code; the message is an English message id, translated in
``core/locales/de/LC_MESSAGES/cases.po``."""

from __future__ import annotations

from core.errors import Conflict


class IdentityRequired(Conflict):
    code = "identity_required"
    message = (
        "This service requires a verified identity. Please check the citizen's identity "
        "document and record the check as verified before completing."
    )


class AlreadyCompleted(Conflict):
    code = "already_completed"
    message = "This appointment has already been completed."


class NotStartedYet(Conflict):
    code = "not_started"
    message = "An appointment can be marked as missed only after its start time."


class CannotReopen(Conflict):
    code = "cannot_reopen"
    message = (
        "This case cannot be reopened: its fee has been paid or its documents have been "
        "printed or posted."
    )
