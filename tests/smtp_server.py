"""A real SMTP server for tests (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


@dataclass
class _Handler:
    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Addresses refused at RCPT with a permanent 550."""
    tempfail: bool = False
    """Every recipient refused at RCPT with a transient 451 (a relay that asks to try later)."""
    delay: float = 0.0
    """Seconds the server takes over each message (DATA) before accepting it: a slow server."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.tempfail:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = message_from_bytes(envelope.original_content or envelope.content)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Starts an SMTP server on 127.0.0.1 in its own thread; ``messages`` is what arrived.

    ``stop`` and ``start`` again: the server is down in between (connections refused), then
    back on the same port, with the messages it had.
    """

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.running = False

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def start(self) -> "SmtpSink":
        if not self.running:
            # A stopped controller's event loop is closed: a new one, on the same port.
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()
            self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    def clear(self) -> None:
        self.handler.messages.clear()

    def subjects_to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.messages if address in str(m["To"])]
