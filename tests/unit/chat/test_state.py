"""What the Telegram commands read of the configuration (bot.chat.state.ChatState), on a real
loaded configuration, and the command table they are registered from (bot.chat.telegram_bot)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine
from telegram import Chat, Message, Update, User

from bot.chat.replies import ADMIN, COMMANDS
from bot.chat.telegram_bot import HANDLERS, TelegramBot
from bot.config.settings import Settings
from bot.config.snapshot import load_config

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
SOURCES = "sources:\n  - id: picum\n    name: PICUM\n    url: https://picum.org/feed/\n  - id: ecre\n    url: https://ecre.org/feed/\n"


def write_config(config_dir: Path, themes: dict[str, str]) -> None:
    (config_dir / "sources.yaml").write_text(SOURCES)
    (config_dir / "rules").mkdir(exist_ok=True)
    for old in (config_dir / "rules").glob("*.yaml"):
        old.unlink()
    for slug, title in themes.items():
        (config_dir / "rules" / f"{slug}.yaml").write_text(
            f"theme: {slug}\ntitle: {title}\npriority: normal\nrules:\n  - id: {slug}\n    query: {slug}\n")


def update_from(user_id: int) -> Update:
    return Update(1, message=Message(1, NOW, Chat(user_id, Chat.PRIVATE), from_user=User(user_id, "M", False)))


def test_a_reload_changes_what_the_commands_read(tmp_path: Path) -> None:
    write_config(tmp_path, {"detention": "Detention"})
    settings = Settings(config_dir=tmp_path, database_url="sqlite://", admin_ids=frozenset({7}))
    bot = TelegramBot(create_engine("sqlite://"), settings, load_config(tmp_path))
    assert bot.state.titles == {"detention": "Detention"}
    assert bot.state.source_names() == {"picum": "PICUM", "ecre": "ecre"}
    write_config(tmp_path, {"pushbacks": "Pushbacks", "detention": "Detention"})
    bot.reload(load_config(tmp_path))
    assert bot.state.titles == {"detention": "Detention", "pushbacks": "Pushbacks"}
    assert bot.state.themes.get("pushbacks") is not None


def test_admins_and_the_fetch_policy_follow_the_settings(tmp_path: Path) -> None:
    write_config(tmp_path, {"detention": "Detention"})
    settings = Settings(config_dir=tmp_path, database_url="sqlite://", admin_ids=frozenset({7}))
    state = TelegramBot(create_engine("sqlite://"), settings, load_config(tmp_path)).state
    assert state.is_admin(update_from(7)) and not state.is_admin(update_from(42))
    assert state.is_admin(Update(2)) is False                       # no user at all
    assert state.policy().allow_private is False
    state.settings = dataclasses.replace(settings, allow_private_networks=True)
    assert state.policy().allow_private is True


def test_every_command_in_the_table_has_a_handler_and_no_more() -> None:
    assert sorted(HANDLERS) == sorted(name for name, _ in COMMANDS + ADMIN)
