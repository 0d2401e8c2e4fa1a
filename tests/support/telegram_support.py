"""A running TelegramBot (real python-telegram-bot Application, long polling) against the
fake Bot API, for the command and feedback tests; and `say`, which sends a user message and
returns the bot's reply after checking it the way Telegram would."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import AsyncIterator, Callable

from bot.config.settings import Settings
from bot.chat import telegram_bot as tb
from bot.runtime.reload import load_config
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage.db import open_database
from support.fakebotapi import TOKEN, check_message

ADMIN = 7


# Two themes, written to the test's rules/ and loaded like the daemon loads them.
TWO_THEMES = {
    "pushbacks": "theme: pushbacks\ntitle: Pushbacks & violence\npriority: high\n"
                 "rules:\n  - id: pushback\n    query: pushback*\n",
    "detention": "theme: detention\ntitle: Detention\npriority: normal\n"
                 "rules:\n  - id: detention\n    query: detention\n",
}


def write_two_themes(config_dir: Path) -> None:
    (config_dir / "rules").mkdir(exist_ok=True)
    for slug, text in TWO_THEMES.items():
        (config_dir / "rules" / f"{slug}.yaml").write_text(text)


@contextlib.asynccontextmanager
async def running_bot(config_dir: Path, server, sources_yaml: str, source_names: dict[str, str],
                      clock: Callable | None = None, themes: object = None) -> AsyncIterator[SimpleNamespace]:
    """`themes`: a bot.config.themes.ThemeSet (with rules, for /missed), else two bare themes."""
    (config_dir / "sources.yaml").write_text(sources_yaml)
    engine = open_database(f"sqlite:///{config_dir / 'bot.db'}")
    settings = Settings(config_dir=config_dir, database_url=str(engine.url), telegram_token=TOKEN,
                        telegram_api_url=server.url, admin_ids=frozenset({ADMIN}))
    write_two_themes(config_dir)
    config = load_config(config_dir)
    if themes is not None:  # a ThemeSet with real rules (the /missed tests)
        config = dataclasses.replace(config, themes=themes)
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
