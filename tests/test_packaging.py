"""Makefile, CI script and Dockerfile (the Dockerfile checked by reading: no Docker engine
runs here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def test_multi_stage_with_a_slim_runtime() -> None:
    froms = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert len(froms) >= 2
    assert froms[0].lower().endswith("as builder")
    assert any("--from=builder" in rest for k, rest in final_stage() if k == "COPY")
    args = dict(rest.split("=", 1) for k, rest in instructions() if k == "ARG" and "=" in rest)
    assert "slim" in args.get("PYTHON_IMAGE", froms[-1])


def test_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")


def test_healthcheck_exposes_and_serves() -> None:
    stage = dict(final_stage())
    health = stage["HEALTHCHECK"]
    assert "/healthz" in health and "curl" not in health and "wget" not in health
    command = json.loads(health.split("CMD", 1)[1].strip())
    assert command[0] == "python"
    compile(command[2], "healthcheck", "exec")  # the inline probe is valid Python
    assert stage["EXPOSE"] == "8000"
    assert json.loads(stage["CMD"]) == ["buergerbuero", "serve", "--host", "0.0.0.0"]


def test_copies_every_package_and_what_the_app_reads_at_run_time() -> None:
    sources = set()
    for keyword, rest in instructions():
        if keyword == "COPY" and "--from" not in rest:
            sources.update(rest.split()[:-1])
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]]
    for needed in [*packages, "static", "migrations", "pyproject.toml", "README.md"]:
        assert needed in sources, f"the image lacks {needed}"
    ignored = {
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not sources & ignored
    assert {".env", "var", ".git", ".venv"} <= ignored  # secrets and local state stay out


def test_state_lives_in_the_volume() -> None:
    stage = final_stage()
    env = " ".join(rest for k, rest in stage if k == "ENV")
    volume = json.loads(next(rest for k, rest in stage if k == "VOLUME"))
    assert re.search(r"BUERO_VAR_DIR=(\S+)", env).group(1) == volume[0]  # type: ignore[union-attr]
    assert volume[0] in re.search(r"BUERO_DATABASE_URL=(\S+)", env).group(1)  # type: ignore[union-attr]


def _make_dry_run(*targets: str) -> list[str]:
    make = shutil.which("make")
    assert make is not None, "make is required"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        [make, "-n", "-B", *targets], cwd=REPO, env=env, capture_output=True, text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_make_run_installs_migrates_loads_the_demo_and_serves() -> None:
    lines = _make_dry_run("run")
    assert any("pip install" in line and "-e ." in line for line in lines)
    commands = [line for line in lines if "bin/buergerbuero" in line]
    assert [c.split("bin/buergerbuero ", 1)[1] for c in commands] == ["migrate", "demo", "serve"]


def test_make_test_installs_the_test_extra_and_runs_pytest() -> None:
    lines = _make_dry_run("test")
    assert any("pip install" in line and ".[test]" in line for line in lines)
    # In parallel, one pytest-xdist worker per core (README "Development"); then the calls
    # through real networks alone.
    assert '-m pytest -n auto --dist loadgroup -m "not network"' in lines[-2]
    assert "-m pytest -p no:randomly -m network" in lines[-1]
    assert any("ruff check" in line for line in _make_dry_run("lint"))
    assert any("mypy" in line for line in _make_dry_run("lint"))


def test_ci_script_is_valid_bash_and_covers_its_duties() -> None:
    script = (REPO / ".ci" / "run").read_text()
    subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], check=True)
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "CI=true" in script and "make test" in script and "make lint" in script
    for package in ("chromium", "coturn", "zbar-tools", "poppler-utils", "clamav-daemon",
                    "iproute2", "nftables"):
        assert package in script
    assert "passed" in script  # the run is judged by pytest's summary, not make's exit code


def test_every_package_is_installed() -> None:
    """A package missing from the install list imports from the project's folder only: a
    process started elsewhere (``buergerbuero migrate`` in a service's directory) fails."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")} - {
        "tests", "bench", "migrations"}
    assert {"app", "booking", "insights"} <= packages
    missing = sorted(p for p in packages if f"{p}*" not in include)
    assert missing == []
    # ... and every one is type-checked.
    assert sorted(packages - set(config["tool"]["mypy"]["files"])) == []
