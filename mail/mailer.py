"""Sending e-mail: SMTP with aiosmtplib, or ``.eml`` files when no SMTP host is configured.

Without ``BUERO_SMTP_HOST`` (development, the demo) every message is written to
``var/mail/<message-id>.eml`` so it can be opened in a mail program. Naming the file after the
Message-ID makes a retried job overwrite its own file instead of leaving a duplicate.

Log lines name the file, the template and the Message-ID only: never a recipient, a name or a
link (the link carries the citizen's token).

The files hold personal data: they are readable by the app's user only (0600, the folder 0700),
go when the person's data is erased (``forget``), and are kept no longer than the retention
period (``expire_files``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, default
from pathlib import Path

import aiosmtplib

log = logging.getLogger("buergerbuero.mail")

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@-]+")


@dataclass(frozen=True)
class MailerConfig:
    """Where mail goes: an SMTP server, or ``.eml`` files in ``mail_dir`` without a host."""

    mail_dir: Path
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0


class Mailer:
    def __init__(self, settings: MailerConfig) -> None:
        self.settings = settings

    @property
    def uses_files(self) -> bool:
        return not self.settings.smtp_host

    def describe(self) -> str:
        """Where mails go, for a start-up log line (no credentials)."""
        if self.uses_files:
            return f"files in {self.settings.mail_dir} (BUERO_SMTP_HOST is not set)"
        return f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}"

    async def send(self, message: EmailMessage, *, label: str = "") -> None:
        """Deliver one message; raises on failure so the job is retried."""
        if self.uses_files:
            path = await asyncio.to_thread(self._write_file, message)
            log.info("mail %s written to %s (no SMTP host configured)", label or "-", path)
            return
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        log.info("mail %s sent via SMTP, Message-ID %s", label or "-", message["Message-ID"])

    def _write_file(self, message: EmailMessage) -> Path:
        directory = self.settings.mail_dir
        directory.mkdir(parents=True, exist_ok=True)
        message_id = str(message.get("Message-ID") or "").strip("<> ")
        stem = _UNSAFE_FILENAME.sub("_", message_id)[:150] or secrets.token_hex(8)
        path = directory / f"{stem}.eml"
        # Write then rename, so a reader never sees half a message; only the app's user reads.
        directory.chmod(0o700)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(message.as_bytes(policy=SMTP))
        tmp.replace(path)
        return path

    def _files(self) -> list[Path]:
        directory = self.settings.mail_dir
        return sorted(directory.glob("*.eml")) if directory.is_dir() else []

    def forget(self, address: str) -> int:
        """Delete the written mails to ``address`` (compared without case); how many went."""
        wanted = address.strip().lower()
        gone = 0
        for path in self._files():
            with path.open("rb") as handle:
                headers = BytesHeaderParser(policy=default).parse(handle)
            to = headers.get("To")
            recipients = [a.addr_spec.lower() for a in getattr(to, "addresses", ())]
            if wanted in recipients:
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def expire_files(self, older_than: datetime) -> int:
        """Delete written mails last changed before ``older_than``; how many went."""
        cutoff = older_than.timestamp()
        gone = 0
        for path in self._files():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
