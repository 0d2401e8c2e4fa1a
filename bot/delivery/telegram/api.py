"""The Telegram Bot API client the sender uses: a python-telegram-bot `Bot` made for our server
(`make_bot`, `TELEGRAM_API_URL`), and `TelegramTransport`, which sends one formatted message
to one destination and hides the token; `Transport` is the shape the sender needs of it (the
console channel has it too). Knows nothing of the outbox or of pacing."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Protocol

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from bot.delivery.telegram.format import Message

if TYPE_CHECKING:
    from bot.delivery.destinations import Destination

log = logging.getLogger("bot.delivery.telegram.sender")   # the sender's log: operators filter on it


def opt_in_to_ptb_timedeltas() -> None:
    """PTB 22 warns on every RetryAfter unless time periods are opted in as timedelta (its
    documented migration switch, read when a period is read); we read both forms below. Called
    by whatever starts talking to Telegram (`make_bot`, `TelegramBot.start`), never at import;
    an operator's own PTB_TIMEDELTA wins."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def make_bot(token: str, api_url: str, *, read_timeout: float = 20.0) -> Bot:
    """A PTB Bot against `api_url` (TELEGRAM_API_URL); methods go to {api_url}/bot{token}/..."""
    opt_in_to_ptb_timedeltas()
    api_url = api_url.rstrip("/")
    request = HTTPXRequest(connection_pool_size=32, connect_timeout=10.0, read_timeout=read_timeout,
                           write_timeout=20.0, pool_timeout=5.0)
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot", request=request)


class Transport(Protocol):
    """Where the sender's messages go: Telegram, or the console without a token."""

    kind: str

    async def __aenter__(self) -> Transport: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def send(self, dest: Destination, message: Message) -> int | None:
        """Send one message; Telegram's message id (None where there is none)."""
    async def send_text(self, chat_id: int | str, text: str) -> None:
        """A plain message to one user (the admins)."""


class TelegramTransport:
    kind = "telegram"

    def __init__(self, bot: Bot):
        self.bot = bot
        self._ready = False

    def __repr__(self) -> str:  # the Bot's own repr shows the token
        return "TelegramTransport(bot=<redacted>)"

    async def __aenter__(self) -> "TelegramTransport":
        try:
            await self._initialize()
        except (NetworkError, OSError) as exc:
            # Unreachable now (network down, Bot API server restarting): the sends try again
            # and fail into the outbox's retries, instead of the run failing here.
            log.warning("the Bot API cannot be reached (%s: %s); sends stay queued and are retried",
                        type(exc).__name__, exc)
        return self

    async def _initialize(self) -> None:
        """`Bot.initialize` (getMe), once: retried before each send while it has not
        succeeded, so an unreachable API fails the send (retried with backoff) and a
        rejected token raises InvalidToken there."""
        if not self._ready:
            await self.bot.initialize()
            self._ready = True

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.shutdown()

    async def send(self, dest: Destination, message: Message) -> int:
        await self._initialize()
        markup = None
        if message.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                            for label, data in message.buttons]])
        sent = await self.bot.send_message(
            chat_id=dest.chat_id, text=message.html, parse_mode="HTML",
            message_thread_id=dest.thread_id, reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=message.disable_preview))
        return sent.message_id

    async def send_text(self, chat_id: int | str, text: str) -> None:
        await self._initialize()
        await self.bot.send_message(chat_id=chat_id, text=text)
