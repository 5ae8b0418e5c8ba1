"""Message ids: English texts that are translated where they are shown (``core/i18n.py``).

Domain errors carry theirs in ``message``; labels kept in tables are marked with ``N_`` (the
name message extractors look for), which returns the id unchanged.
"""

from __future__ import annotations


def N_(msgid: str) -> str:
    """Mark a message id for translation; it is translated where it is shown."""
    return msgid
