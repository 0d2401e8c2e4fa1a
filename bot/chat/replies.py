"""How a command answers: the command table (setMyCommands, /help, the usage lines) and `safe`,
which sends a handler's HTML reply to the chat (and topic) the command came from.

Owns the rule that no exception reaches a chat: a failing handler's user gets one line, the log
gets the traceback; a reply longer than Telegram takes is cut between whole lines. Must not hold
a command's logic nor SQL.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, Coroutine

from telegram import Chat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat import missed
from bot.chat import telegram_tools as tools
from bot.chat.state import ChatState
from bot.delivery.telegram.format import MAX_LEN, tg_len

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
# A command: its return value is the HTML reply (None: it answered by itself, or not at all).
Command = Callable[[ChatState, Update, Context], Awaitable[str | None]]
# What python-telegram-bot runs: a coroutine function that answers by itself.
Handler = Callable[[ChatState, Update, Context], Coroutine[Any, Any, None]]

COMMANDS = [
    ("start", "what this bot does"), ("help", "the commands"), ("themes", "themes and regions"),
    ("subscribe", "THEME|REGION… follow themes or regions"), ("unsubscribe", "THEME|REGION…|all stop following"),
    ("settings", "themes, regions, alerts, digest time"), ("digest", "send my digest now"),
    ("latest", "[THEME] the latest hits"), ("search", "QUERY search stored items (rule language)"),
    ("missed", "URL [THEME] report an article the bot should have caught"),
    ("sources", "the monitored sources"), ("status", "this chat's subscription"),
]
ADMIN = [("addsource", "URL"), ("removesource", "ID"), ("pausesource", "ID"), ("health", ""), ("report", "")]
USAGE = {"subscribe": "/subscribe THEME|REGION… (see /themes), or /subscribe all",
         "unsubscribe": "/unsubscribe THEME|REGION…, or /unsubscribe all",
         "addsource": "/addsource URL", "removesource": "/removesource ID", "pausesource": "/pausesource ID",
         "latest": "/latest [THEME]", "search": tools.SEARCH_USAGE, "missed": missed.USAGE}
NOT_ADMIN = "This command is for newsbot admins (TELEGRAM_ADMIN_IDS)."


def safe(fn: Command) -> Handler:
    """Run a command and send its reply; any exception becomes one line."""
    @functools.wraps(fn)
    async def wrapper(state: ChatState, update: Update, context: Context) -> None:
        try:
            reply = await fn(state, update, context)
        except Exception:  # noqa: BLE001 - nothing but one line reaches a chat
            log.exception("command %s failed", fn.__name__)
            reply = "Sorry, that did not work. The admins can see why in the log."
        if reply and update.effective_chat is not None:
            try:
                if tg_len(reply) > MAX_LEN:   # whole lines only: a cut inside a tag is refused
                    reply = tools.fit(reply.split("\n"))
                await context.bot.send_message(update.effective_chat.id, reply, parse_mode=ParseMode.HTML,
                                               message_thread_id=thread_of(update),
                                               link_preview_options=no_preview())
            except Exception:  # noqa: BLE001
                log.exception("could not reply to chat %s", update.effective_chat.id)
    return wrapper


def no_preview() -> LinkPreviewOptions:
    return LinkPreviewOptions(is_disabled=True)


def thread_of(update: Update) -> int | None:
    """The forum topic the update came from, None outside topics."""
    msg = update.effective_message
    return msg.message_thread_id if msg is not None and msg.is_topic_message else None


def chat_of(update: Update) -> Chat:
    """The chat of a command or button; every update the handlers get has one."""
    if update.effective_chat is None:
        raise ValueError(f"update {update.update_id} has no chat")
    return update.effective_chat


def user_id_of(update: Update) -> int | None:
    """Who sent it; None when nobody did as a member (a channel post)."""
    return update.effective_user.id if update.effective_user else None


def args_of(context: Context) -> list[str]:
    """The words after the command."""
    return context.args or []
