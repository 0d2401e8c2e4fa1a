"""A running TelegramBot (real python-telegram-bot Application, long polling) against the
fake Bot API, for the command and feedback tests; and `say`, which sends a user message and
returns the bot's reply after checking it the way Telegram would."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import AsyncIterator, Callable

from bot.config.settings import Settings
from bot.config.sources import load_sources
from bot.chat import telegram_bot as tb
from bot.delivery.sender import Sender, TelegramTransport, make_bot
from bot.storage.db import open_database
from fakebotapi import TOKEN, check_message

ADMIN = 7


def two_themes() -> SimpleNamespace:
    return SimpleNamespace(themes=[SimpleNamespace(slug="pushbacks", title="Pushbacks & violence", priority="high"),
                                   SimpleNamespace(slug="detention", title="Detention", priority="normal")])


@contextlib.asynccontextmanager
async def running_bot(config_dir: Path, server, sources_yaml: str, source_names: dict[str, str],
                      clock: Callable | None = None, themes: object = None) -> AsyncIterator[SimpleNamespace]:
    """`themes`: a bot.config.themes.ThemeSet (with rules, for /missed), else two bare themes."""
    (config_dir / "sources.yaml").write_text(sources_yaml)
    engine = open_database(f"sqlite:///{config_dir / 'bot.db'}")
    settings = Settings(config_dir=config_dir, database_url=str(engine.url), telegram_token=TOKEN,
                        telegram_api_url=server.url, admin_ids=frozenset({ADMIN}))
    config = SimpleNamespace(themes=themes or two_themes(), sources=load_sources(config_dir), deliveries=None)
    sender = Sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), themes=config.themes,
                    source_names=source_names)
    await sender.__aenter__()
    bot = tb.TelegramBot(engine, settings, config, sender=sender, poll_timeout=0.1,
                         **({"clock": clock} if clock else {}))
    await bot.start()
    try:
        yield SimpleNamespace(bot=bot, server=server, engine=engine, sender=sender, dir=config_dir)
    finally:
        await bot.stop()
        await sender.__aexit__(None, None, None)
        engine.dispose()


async def say(w: SimpleNamespace, text: str, *, user: int, chat: int | None = None) -> str:
    chat = user if chat is None else chat
    before = len(w.server.messages_to(chat))
    w.server.user_message(text, user_id=user, chat_id=chat)
    await w.server.wait_for(lambda: len(w.server.messages_to(chat)) > before)
    reply = w.server.messages_to(chat)[-1]
    assert check_message(reply.text, reply.parse_mode) is None
    return reply.text
