"""Production refuses weak secret keys and the shipped examples' placeholders, by the command
line (a real process) and by the settings themselves."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.settings import Settings
from core.secret_strength import entropy_bits

PRODUCTION = {"env": "production", "base_url": "https://buergerbuero.example.de",
              "clamd_address": "tcp:127.0.0.1:3310"}
EXAMPLE_ENV = Path(__file__).parents[2] / "deploy" / ".env.example"


def example_values() -> dict[str, str]:
    values = {}
    for line in EXAMPLE_ENV.read_text().splitlines():
        name, eq, value = line.lstrip("# ").partition("=")
        if eq and name.startswith("BUERO_"):
            values[name.removeprefix("BUERO_").lower()] = value
    return values


@pytest.mark.parametrize("key", [
    "a", "x" * 40, "abc" * 30, "Vier-Kerzen-am-Adventskranz", "hex16",
    "CHANGE-ME-long-random", "0123456789" * 4,
])
def test_weak_keys_are_refused_in_production(key: str) -> None:
    key = secrets.token_hex(16) if key == "hex16" else key  # 128 random bits: too few
    with pytest.raises(ValueError, match="BUERO_SECRET_KEY"):
        Settings(**PRODUCTION, secret_key=key)
    Settings(env="development", secret_key=key)  # development takes anything


@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(32),
                                  lambda: secrets.token_hex(32),
                                  lambda: secrets.token_urlsafe(64)],
                         ids=["urlsafe32", "hex32", "urlsafe64"])
def test_random_keys_are_accepted(make: Callable[[], str]) -> None:
    key = make()
    assert entropy_bits(key) >= 256
    assert Settings(**PRODUCTION, secret_key=key).secret_key == key


def test_no_value_of_the_shipped_examples_runs_in_production() -> None:
    examples = example_values()
    placeholders = {k: v for k, v in examples.items() if "CHANGE-ME" in v}
    assert {"secret_key", "smtp_password", "turn_secret"} <= set(placeholders)
    strong = secrets.token_urlsafe(32)
    for name, value in placeholders.items():
        fields = {"secret_key": strong, name: value}
        with pytest.raises(ValueError, match=f"BUERO_{name.upper()}"):
            Settings.model_validate({**PRODUCTION, **fields})


def test_the_command_line_says_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUERO_")}
    env |= {"BUERO_ENV": "production", "BUERO_BASE_URL": "https://b.example.de",
            "BUERO_SECRET_KEY": "a", "BUERO_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "BUERO_SECRET_KEY is too weak" in done.stderr and "token_urlsafe" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_development_address_follows_host_and_port() -> None:
    assert Settings(_env_file=None).base_url == "http://127.0.0.1:8000"  # type: ignore[call-arg]
    assert Settings(_env_file=None, port=8100).base_url == "http://127.0.0.1:8100"  # type: ignore[call-arg]
    assert Settings(_env_file=None, host="0.0.0.0", port=8100  # type: ignore[call-arg]
                    ).base_url == "http://127.0.0.1:8100"
    assert Settings(_env_file=None, host="::1").base_url == "http://[::1]:8000"  # type: ignore[call-arg]
    set_explicitly = Settings(_env_file=None, port=8100,  # type: ignore[call-arg]
                              base_url="https://buero.example/")
    assert set_explicitly.base_url == "https://buero.example"
