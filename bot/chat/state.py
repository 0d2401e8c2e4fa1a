"""What every Telegram command reads: the database, the settings, the loaded configuration, the
clock and the sender (for /digest), in one object that a configuration reload updates.

Owns `ChatState` and what follows from the configuration for a command: theme titles, source
names and weights, the fetch policy of /addsource and /missed, and who is a newsbot admin.
Must not talk to Telegram nor hold SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from sqlalchemy import Engine
from telegram import Update

from bot.config.settings import Settings
from bot.config.snapshot import ConfigSnapshot
from bot.config.themes import ThemeSet
from bot.delivery.telegram.digest import theme_titles
from bot.ingest.fetch_policy import FetchPolicy

if TYPE_CHECKING:
    from bot.delivery.telegram.sender import Sender


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ChatState:
    engine: Engine
    settings: Settings
    config: ConfigSnapshot
    clock: Callable[[], datetime] = field(default=utc_now)
    sender: Sender | None = None     # None until the daemon's sender runs: /digest says so

    @property
    def themes(self) -> ThemeSet:
        return self.config.themes

    @property
    def titles(self) -> dict[str, str]:
        """slug -> title of the loaded themes, in their order."""
        return theme_titles(self.config.themes)

    def source_names(self) -> dict[str, str]:
        return self.config.sources.display_names()

    def weights(self) -> dict[str, float]:
        return self.config.sources.weights()

    def policy(self) -> FetchPolicy:
        """The sources' fetch policy (sources.yaml `defaults:`): /addsource and /missed fetch
        under the same rules as a poll."""
        return FetchPolicy.from_config(self.config.sources.defaults, allow_private=self.settings.allow_private_networks)

    def is_admin(self, update: Update) -> bool:
        return bool(update.effective_user and update.effective_user.id in self.settings.admin_ids)
