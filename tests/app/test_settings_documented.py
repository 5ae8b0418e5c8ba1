"""Every setting is documented in the README's configuration table, with its real default."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import PydanticUndefined

from app.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\|\s*`(BUERO_[A-Z0-9_]+)`\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|\s*$")


def documented() -> dict[str, tuple[str, str]]:
    """``BUERO_X -> (default cell, meaning cell)`` from the configuration table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def env_name(field: str) -> str:
    return f"BUERO_{field.upper()}"


def default_spellings(value: Any) -> set[str]:
    """How a default may be written in the table's default cell."""
    if value is None:
        return {"unset"}
    if isinstance(value, bool):
        return {f"`{str(value).lower()}`"}
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        return {f"`{value}`", f"`{int(value)}`"}
    return {f"`{value}`"}


def test_every_setting_has_a_row() -> None:
    rows = documented()
    missing = [env_name(name) for name in Settings.model_fields if env_name(name) not in rows]
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_no_row_for_a_setting_that_does_not_exist() -> None:
    known = {env_name(name) for name in Settings.model_fields}
    stale = [name for name in documented() if name not in known]
    assert stale == [], f"the README documents settings that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_row_names_the_default_and_a_meaning(name: str) -> None:
    default_cell, meaning = documented()[env_name(name)]
    field = Settings.model_fields[name]
    default = field.default if field.default is not PydanticUndefined else None
    spellings = default_spellings(default)
    assert any(default_cell.startswith(s) for s in spellings), (
        f"{env_name(name)}: default cell {default_cell!r} should start with one of {spellings}"
    )
    assert len(meaning) >= 10, f"{env_name(name)}: say what it means"
