"""Path parameters shared by the routes.

``{id:id}`` is a database id: a number from 0 to 2,147,483,647, the range of the integer
columns. A larger one matches no route and is a plain 404, never an overflow deep in the
database driver. The convertor is registered when this module is imported; route modules use ``ID``
(and so import it) before they build their paths.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

MAX_ID = 2**31 - 1


def at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..``limit`` (no sign, no leading zeros
    beyond the shorter lengths)."""
    digits = str(limit)
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        low = "1" if i == 0 and len(digits) > 1 else "0"
        if int(d) > int(low):
            tail = f"[0-9]{{{rest}}}" if rest else ""
            parts.append(f"{digits[:i]}[{low}-{int(d) - 1}]{tail}")
    parts.append(digits)
    return "|".join(parts)


class IdConvertor(IntegerConvertor):
    regex = f"(?:{at_most(MAX_ID)})"


register_url_convertor("id", IdConvertor())

ID = "{id:id}"
