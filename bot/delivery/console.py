"""The console channel: what would go to Telegram, printed as plain text (no bot token).

Owns the HTML-to-plain-text rendering of our own messages and a transport with the same
`send` shape as the Telegram one, so the sender, the outbox and exactly-once marking work
the same with or without a token. Must not format messages or touch the database.
"""

from __future__ import annotations

import html
import re
import sys
from typing import TYPE_CHECKING, TextIO

from bot.delivery.telegram.format import Message

if TYPE_CHECKING:
    from bot.delivery.destinations import Destination

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]*>")


def to_plain(markup: str) -> str:
    """Our HTML as a terminal shows it: links become `title <url>`, entities decoded."""
    # the URL is wrapped in placeholders so stripping tags cannot eat its brackets
    text = _LINK.sub(lambda m: f"{m.group(2)} \x00{m.group(1)}\x01", markup)
    return html.unescape(_TAG.sub("", text)).replace("\x00", "<").replace("\x01", ">")


class ConsoleTransport:
    """Prints each message to `stream` (stdout by default) under a one-line header."""

    kind = "console"

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.count = 0

    async def __aenter__(self) -> "ConsoleTransport":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, dest: Destination, message: Message) -> int | None:
        out = self.stream or sys.stdout
        self.count += 1
        where = dest.name or dest.chat_id
        thread = f" thread {dest.thread_id}" if dest.thread_id else ""
        out.write(f"── Telegram → {where} (chat {dest.chat_id}{thread}) ──\n{to_plain(message.html)}\n\n")
        out.flush()
        return None

    async def send_text(self, chat_id: int | str, text: str) -> None:
        out = self.stream or sys.stdout
        out.write(f"── Telegram → admin {chat_id} ──\n{text}\n\n")
        out.flush()
