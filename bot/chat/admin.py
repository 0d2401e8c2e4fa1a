"""The newsbot admins' commands (TELEGRAM_ADMIN_IDS): /addsource, /removesource and
/pausesource edit sources.yaml (comments kept, bot.config.sources_edit); /health lists failing
sources, chats to update in deliveries.yaml and the rules' precision by member votes; /report
sends the coordinator report and the open reported misses with the buttons that decide them.

Owns who is refused and these replies. Must not hold SQL (bot.storage.repo, bot.delivery.outbox
and bot.chat.telegram_tools read the rows), nor write sources.yaml itself: the edit functions
do, and the daemon's reload picks the change up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot.chat import missed
from bot.chat import telegram_tools as tools
from bot.chat.replies import NOT_ADMIN, USAGE, Context, Handler, args_of, chat_of, no_preview, safe, thread_of
from bot.chat.state import ChatState
from bot.config import sources_edit
from bot.delivery.destinations import migrated_config_chats, migration_advice
from bot.delivery.telegram.format import clip, h
from bot.errors import NewsbotError
from bot.storage import repo

FAILING_SHOWN = 40    # failing sources /health lists


def refusal(state: ChatState, update: Update, context: Context, usage: str) -> str | None:
    """Why an admin command with one argument is refused, or None."""
    if not state.is_admin(update):
        return NOT_ADMIN
    if len(args_of(context)) != 1:
        return "Usage: " + USAGE[usage]
    return None


@safe
async def cmd_addsource(state: ChatState, update: Update, context: Context) -> str:
    if (why := refusal(state, update, context, "addsource")):
        return why
    url = args_of(context)[0]
    if not url.lower().startswith(("http://", "https://")):
        return "Usage: /addsource URL (an http or https address)"
    from bot.ingest.probe import probe

    try:
        found = await probe(url, state.policy())
        sid = sources_edit.add_source(state.settings.config_dir, found.feed_url,
                                      page_url=url if found.discovered else None, known_feeds=discovered_feeds(state))
    except NewsbotError as exc:
        return f"Not added: {h(clip(str(exc), 300))}"
    return f"Added <code>{h(sid)}</code> ({found.items} items now). It is polled from the next cycle."


def discovered_feeds(state: ChatState) -> dict[str, str]:
    """source id -> the feed its page led to (sources.feed_url), to refuse adding it twice."""
    with state.engine.connect() as conn:
        return {sid: row.feed_url for sid, row in repo.source_states(conn).items() if row.feed_url is not None}


async def edit_source(state: ChatState, update: Update, context: Context, usage: str,
                      edit: Callable[[Path, str], None], done: str) -> str:
    """An admin's edit of one source in sources.yaml; the reply."""
    if (why := refusal(state, update, context, usage)):
        return why
    source_id = args_of(context)[0]
    try:
        edit(state.settings.config_dir, source_id)
    except NewsbotError as exc:
        return h(clip(str(exc), 300))
    return f"<code>{h(source_id)}</code> {done}."


@safe
async def cmd_removesource(state: ChatState, update: Update, context: Context) -> str:
    return await edit_source(state, update, context, "removesource", sources_edit.remove_source,
                             "removed from sources.yaml")


@safe
async def cmd_pausesource(state: ChatState, update: Update, context: Context) -> str:
    def pause(config_dir: Path, source_id: str) -> None:
        sources_edit.set_enabled(config_dir, source_id, False)
    return await edit_source(state, update, context, "pausesource", pause, "paused (enabled: false)")


@safe
async def cmd_health(state: ChatState, update: Update, context: Context) -> str:
    if not state.is_admin(update):
        return NOT_ADMIN
    with state.engine.connect() as conn:
        bad = repo.failing_sources(conn)
    votes = migrated_chat_lines(state) + tools.precision_lines(state.engine, state.clock())
    if not bad:
        return tools.fit(["All sources are healthy."] + ([""] + votes if votes else []))
    lines = [f"<b>{len(bad)} failing sources</b>"]
    for s in bad[:FAILING_SHOWN]:
        since = s.failing_since.strftime("%d %b %H:%M") if s.failing_since else "?"
        lines.append(f"⚠️ <code>{h(s.id)}</code> {h(s.last_error_kind or '?')} ×{s.error_count} since {since}: "
                     f"{h(clip(s.last_error, 120))}")
    # Votes first when the list is long: cut from the end, the failing list loses its tail.
    return tools.fit(lines[:1] + votes + ([""] if votes else []) + lines[1:], keep=1 + len(votes))


def migrated_chat_lines(state: ChatState) -> list[str]:
    """deliveries.yaml entries that still name a group Telegram upgraded to a supergroup."""
    with state.engine.connect() as conn:
        found = migrated_config_chats(conn, state.config.deliveries)
    return [f"🔁 {h(migration_advice(chat, new))}" for chat, new in found]


@safe
async def cmd_report(state: ChatState, update: Update, context: Context) -> str | None:
    if not state.is_admin(update):
        return NOT_ADMIN
    chat_id = chat_of(update).id
    ids = [s.id for s in state.config.sources.enabled]
    text = tools.report_text(state.engine, state.clock(), ids)
    for part in tools.report_messages(text):
        await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, message_thread_id=thread_of(update))
    # The open reported misses, one message each, with the buttons that decide them.
    for card, buttons in missed.open_cards(state.engine, state.titles):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])
        await context.bot.send_message(chat_id, card, parse_mode=ParseMode.HTML, message_thread_id=thread_of(update),
                                       reply_markup=markup, link_preview_options=no_preview())
    return None


async def decide_button(state: ChatState, update: Update, query: CallbackQuery, report_id: int, accept: bool) -> None:
    """An admin's Accept / Dismiss on a reported miss: answered, and the card says what became of it."""
    if not state.is_admin(update) or update.effective_user is None:
        await query.answer("Only newsbot admins (TELEGRAM_ADMIN_IDS) decide on reported misses.", show_alert=True)
        return
    answer = missed.decide(state.engine, report_id, accept, update.effective_user.id, state.clock(),
                           themes=state.themes, weights=state.weights())
    await query.answer(answer[:200])
    if isinstance(query.message, Message) and query.message.text_html:
        await query.edit_message_text(query.message.text_html + "\n<i>" + h(answer) + "</i>", parse_mode=ParseMode.HTML)


HANDLERS: dict[str, Handler] = {
    "addsource": cmd_addsource, "removesource": cmd_removesource, "pausesource": cmd_pausesource,
    "health": cmd_health, "report": cmd_report,
}
