"""The example deployment in ``deploy/`` holds together: the compose file wires what the README
promises, the proxy upgrades the signalling WebSocket and streams the agenda's events, coturn is
configured for the app's shared-secret credentials on 443 and parses (when installed)."""

from __future__ import annotations

import asyncio
import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.conftest import free_port, require

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
yaml: Any = importlib.import_module("yaml")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def test_compose_wires_every_service() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "coturn", "clamav", "app1", "app2", "worker",
            "proxy"} <= set(services)
    for name in ("app1", "app2"):
        app = services[name]
        assert app["build"]["dockerfile"] == "Dockerfile" and app["build"]["context"] == ".."
        assert app["command"][:2] == ["buergerbuero", "serve"] and "--no-worker" in app["command"]
        env = app["environment"]
        assert env["BUERO_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["BUERO_REDIS_URL"].startswith("redis://redis:")
        assert env["BUERO_ENV"] == "production" and env["BUERO_PROXY_HEADERS"] == "true"
        assert env["BUERO_CLAMD_ADDRESS"] == "tcp:clamav:3310"
    assert services["worker"]["command"] == ["buergerbuero", "worker"]
    assert (DEPLOY.parent / "Dockerfile").is_file()
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]


def test_env_example_names_only_real_settings() -> None:
    known = {f"BUERO_{name.upper()}" for name in Settings.model_fields}
    names = re.findall(r"^#?\s*(BUERO_[A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.M)
    assert names and set(names) <= known, set(names) - known
    assert "BUERO_SECRET_KEY" in names and "BUERO_TURN_SECRET" in names


def test_nginx_upgrades_websockets_and_streams_events() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "listen 443 ssl" in conf and "ssl_certificate " in conf
    ws = conf.split("location = /ws/call", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade    $http_upgrade" in ws
    assert "$connection_upgrade" in ws
    for stream in ("/staff/agenda/events", "/staff/requests/events"):
        sse = conf.split(f"location = {stream}", 1)[1].split("}", 1)[0]
        assert "proxy_buffering off" in sse, stream
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert f"proxy_set_header {header}" in conf
    assert "server app1:8000" in conf and "server app2:8000" in conf


def test_coturn_uses_the_shared_secret_on_443() -> None:
    conf = (DEPLOY / "turnserver.conf").read_text()
    lines = {line.strip() for line in conf.splitlines() if not line.startswith("#")}
    for required in ("use-auth-secret", "tls-listening-port=443", "no-multicast-peers",
                     "denied-peer-ip=10.0.0.0-10.255.255.255",
                     "denied-peer-ip=172.16.0.0-172.31.255.255",
                     "denied-peer-ip=192.168.0.0-192.168.255.255",
                     "denied-peer-ip=169.254.0.0-169.254.255.255"):
        assert required in lines, required
    assert any(line.startswith("static-auth-secret=") for line in lines)
    assert any(line.startswith("realm=") for line in lines)
    assert any(line.startswith("cert=") for line in lines)
    assert not any(line.startswith("allowed-peer-ip") for line in lines)


@pytest.mark.turn
async def test_coturn_accepts_the_configuration(tmp_path: Path) -> None:
    turnserver = shutil.which("turnserver")
    openssl = shutil.which("openssl")
    require(turnserver is not None and openssl is not None, "turnserver and openssl")
    assert turnserver is not None and openssl is not None
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=turn.test", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    conf = (DEPLOY / "turnserver.conf").read_text()
    # The same file on unprivileged loopback ports with a throwaway certificate.
    conf = conf.replace("/etc/coturn/certs", str(tmp_path))
    port = free_port()
    conf = re.sub(r"^listening-port=\d+", f"listening-port={port}", conf, flags=re.M)
    conf = re.sub(r"^tls-listening-port=\d+", f"tls-listening-port={free_port()}", conf,
                  flags=re.M)
    config = tmp_path / "turnserver.conf"
    config.write_text(conf + "\nlistening-ip=127.0.0.1\n")
    process = await asyncio.create_subprocess_exec(
        turnserver, "-c", str(config), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        # Until it listens: by then it has read the whole file (no fixed pause).
        async with asyncio.timeout(30):
            while True:
                assert process.returncode is None, "turnserver exited"
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                break
    finally:
        process.terminate()
        output, _ = await process.communicate()
    log = output.decode(errors="replace")
    assert "Bad configuration format" not in log, log
    assert "Certificate file found" in log, log
