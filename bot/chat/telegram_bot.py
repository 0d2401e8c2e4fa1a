"""The Telegram command bot: the python-telegram-bot Application (long polling), setMyCommands,
and which module answers what.

Owns the Application's life (start, stop), the handler table (commands from
bot.chat.subscriptions, bot.chat.members and bot.chat.admin) and the inline buttons' dispatch: a
reported miss's decision (admin), an alert's feedback vote (any member, bot.chat.telegram_tools)
or the /settings keyboard (subscriptions). Must not send alerts (the Sender does), build
alert/digest layout (format does) nor hold SQL. No handler lets an exception reach a chat: users
get one line, the log gets the traceback.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from sqlalchemy import Engine
from telegram import BotCommand, Update
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ExtBot, JobQueue,
                          MessageHandler, filters)

from bot.chat import admin, members, missed, subscriptions
from bot.chat import telegram_tools as tools
from bot.chat.replies import ADMIN, COMMANDS, Context, Handler, user_id_of
from bot.chat.state import ChatState, utc_now
from bot.config.settings import Settings
from bot.config.snapshot import ConfigSnapshot
from bot.delivery.telegram.api import opt_in_to_ptb_timedeltas

if TYPE_CHECKING:
    from bot.delivery.telegram.sender import Sender

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {**subscriptions.HANDLERS, **members.HANDLERS, **admin.HANDLERS}
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
# What ApplicationBuilder().build() makes: python-telegram-bot's default types (its user, chat and
# bot data are plain dicts).
BotApplication = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], JobQueue[Context]]


class TelegramBot:
    def __init__(self, engine: Engine, settings: Settings, config: ConfigSnapshot, *,
                 clock: Callable[[], datetime] | None = None, sender: Sender | None = None, poll_timeout: float = 10.0):
        self.state = ChatState(engine, settings, config, clock or utc_now, sender)
        self.poll_timeout = poll_timeout
        self.app: BotApplication | None = None

    def __repr__(self) -> str:
        return "TelegramBot(token=<redacted>)"

    def reload(self, config: ConfigSnapshot, sender: Sender | None = None) -> None:
        self.state.config = config
        if sender is not None:
            self.state.sender = sender

    def _bound(self, handler: Handler) -> Callback:
        """`handler` as python-telegram-bot calls it, with this bot's state."""
        async def callback(update: Update, context: Context) -> None:
            await handler(self.state, update, context)
        return callback

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        settings = self.state.settings
        if not settings.telegram_token:
            raise ValueError("the Telegram command bot needs TELEGRAM_TOKEN")
        opt_in_to_ptb_timedeltas()
        api = settings.telegram_api_url.rstrip("/")
        app = (ApplicationBuilder().token(settings.telegram_token)
               .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
               .get_updates_read_timeout(self.poll_timeout + 10).build())
        self.app = app
        for name, _ in COMMANDS + ADMIN:
            app.add_handler(CommandHandler(name, self._bound(HANDLERS[name])))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.COMMAND, self._bound(members.cmd_unknown)))
        app.add_error_handler(self._on_error)
        await app.initialize()
        await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
        await app.start()
        if app.updater is None:
            raise RuntimeError("the Application was built without an updater")
        await app.updater.start_polling(timeout=int(self.poll_timeout) or 1, poll_interval=0.0)
        log.info("telegram bot polling for commands")

    async def stop(self) -> None:
        if self.app is None:
            return
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.app = None

    async def _on_error(self, update: object, context: Context) -> None:
        log.error("telegram update failed: %s", context.error.__class__.__name__, exc_info=context.error)

    # --- buttons -------------------------------------------------------------------------
    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            decision = missed.parse_callback(query.data)
            if decision is not None:
                await admin.decide_button(self.state, update, query, *decision)
                return
            # An alert's relevant / not relevant buttons: any member may vote, in any chat.
            answer = tools.vote(self.state.engine, query.data, user_id_of(update), self.state.clock())
            if answer is not None:
                await query.answer(answer)
                return
            await subscriptions.settings_button(self.state, update, context, query)
        except Exception:  # noqa: BLE001
            log.exception("settings button failed")
            try:
                await query.answer("Sorry, that did not work.")
            except Exception:  # noqa: BLE001
                log.debug("could not answer the callback", exc_info=True)


__all__ = ["TelegramBot", "COMMANDS", "HANDLERS"]
