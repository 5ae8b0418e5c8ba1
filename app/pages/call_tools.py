"""Texts of the call's tools for the scripts (static/js/call-tools.js): chat, document mode,
screen sharing, still frame and zoom. app/pages/call.py adds them to the pages' message block."""

from __future__ import annotations

from core.messages import N_

CHAT_TEXTS: dict[str, str] = {
    "chat": N_("Text chat"),
    "chat-unread": N_("Chat (%(n)s new)"),
    "chat-me": N_("You"),
    "chat-closed": N_("The chat opens when the call has started."),
    "chat-not-sent": N_("Not sent: the connection is interrupted. Please try again in a moment."),
    "screen-shared": N_("Screen is being shared"),
}

CITIZEN_TOOL_TEXTS: dict[str, str] = {
    "chat-clerk": N_("Member of staff"),
    "document-mode-on": N_("The rear camera shows your document to the member of staff."),
}

CLERK_TOOL_TEXTS: dict[str, str] = {
    "chat-citizen": N_("Citizen"),
    "document-mode-ask": N_("Ask for the rear camera"),
    "document-mode-stop": N_("Back to the usual camera"),
    "document-mode-asked": N_("Asked the citizen to switch to the rear camera …"),
    "document-mode-back": N_("Switching back to the usual camera …"),
    "document-mode-active": N_("Rear camera, resolution:"),
    "document-mode-usual": N_("Usual camera, resolution:"),
    "document-mode-refused": N_("The citizen has declined the rear camera."),
    "document-mode-failed": N_("The camera could not be switched on the citizen's device."),
    "screen-share": N_("Share my screen"),
    "screen-share-stop": N_("Stop sharing the screen"),
    "zoom-level": N_("Zoom (now %(n)s×)"),
}
