"""npm packages a test needs (the OpenID Provider, HTML_CodeSniffer), installed once per lock
file into the user's cache and shared by the test processes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require


def npm_installed(source: Path, name: str, marker: str) -> Path:
    """A folder with ``source``'s package.json and its ``npm ci``'d node_modules, named
    ``name`` plus the lock's hash; ``marker`` (relative) exists once the install is complete.
    Processes wait for each other on a file lock."""
    require(shutil.which("node") is not None and shutil.which("npm") is not None, "node and npm")
    lock = (source / "package-lock.json").read_bytes()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(base) / "buergerbuero-tests" / f"{name}-{hashlib.sha256(lock).hexdigest()[:16]}"
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".install-lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (target / marker).exists():
            for file in ("package.json", "package-lock.json"):
                shutil.copyfile(source / file, target / file)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=target, capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return target
