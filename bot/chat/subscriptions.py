"""A chat's own subscription: /start, /subscribe, /unsubscribe, /settings and its buttons,
/status and /digest.

Self-subscriptions are `destinations` rows with origin='self', created on a chat's first
change; chats from deliveries.yaml (origin='config') cannot be changed here. In a group only its
admins may change it. Owns who may change a chat and what its words and buttons mean (themes,
regions, alert mode, digest time). Must not send alerts or digests itself (the sender does) nor
hold SQL (bot.delivery.destinations finds, creates and changes the row; bot.delivery.outbox
counts its queue).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode

from bot.chat.replies import USAGE, Context, Handler, args_of, chat_of, safe, thread_of
from bot.chat.state import ChatState
from bot.delivery.destinations import (Destination, SubscriptionChange, add_destination, change_subscription, chat_key,
                                       find_destination)
from bot.delivery.outbox import queued_count
from bot.delivery.telegram.format import h
from bot.storage import repo
from bot.tagging.countries import REGIONS

DIGEST_CHOICES = ("off", "daily 07:00", "daily 08:00", "daily 18:00", "weekly monday 08:00")
ALERT_MODES = ("instant", "digest", "both")


# --- the chat's row and who may change it ---------------------------------------------------

async def may_change(state: ChatState, update: Update, context: Context) -> str | None:
    """None when this user may change this chat's subscription, else the reason."""
    chat = chat_of(update)
    with state.engine.connect() as conn:
        dest = find_destination(conn, chat.id, thread_of(update))
    if dest is not None and dest.origin == "config":
        return "This chat is set up in deliveries.yaml; ask a coordinator to change it."
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        if update.effective_user is None:
            raise ValueError("a group change without a user")
        member = await context.bot.get_chat_member(chat.id, update.effective_user.id)
        if member.status not in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
            return "Only the group's admins can change its subscriptions."
    return None


def destination(state: ChatState, update: Update) -> Destination | None:
    """This chat's (and topic's) destination row, if it has one."""
    with state.engine.connect() as conn:
        found: Destination | None = find_destination(conn, chat_of(update).id, thread_of(update))
        return found


def own_destination(state: ChatState, update: Update) -> Destination:
    """This chat's destination row, created (origin 'self', following nothing yet) when missing."""
    chat = chat_of(update)
    with state.engine.begin() as conn:
        dest: Destination | None = find_destination(conn, chat.id, thread_of(update))
        if dest is None:
            name = chat.title or chat.full_name or chat.username or str(chat.id)
            add_destination(
                conn, chat_id=chat_key(chat.id), thread_id=thread_of(update), name=name, origin="self",
                chat_type=chat.type, themes=[], regions=None, languages=None, alerts="instant",
                digest="daily 08:00", active=True, created_at=state.clock())
            dest = find_destination(conn, chat.id, thread_of(update))
        if dest is None:
            raise RuntimeError(f"chat {chat.id}: its destination is neither found nor created")
        return dest


def change(state: ChatState, dest_id: int, values: SubscriptionChange) -> None:
    with state.engine.begin() as conn:
        change_subscription(conn, dest_id, values)


def parse_targets(args: list[str], titles: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Words -> (themes, regions, unknown); 'middle east' may come as two words."""
    themes, regions, unknown = [], [], []
    words = [a.strip(",") for a in args if a.strip(",")]
    lower_regions = {r.lower().replace(" ", ""): r for r in REGIONS}
    i = 0
    while i < len(words):
        w = words[i]
        two = (w + (words[i + 1] if i + 1 < len(words) else "")).lower().replace("-", "").replace("_", "")
        if w.lower() in titles:
            themes.append(w.lower())
        elif w.lower().replace("-", "").replace("_", "") in lower_regions:
            regions.append(lower_regions[w.lower().replace("-", "").replace("_", "")])
        elif two in lower_regions:
            regions.append(lower_regions[two])
            i += 1
        else:
            unknown.append(w)
        i += 1
    return themes, regions, unknown


def describe(themes: Sequence[str] | None, regions: Sequence[str] | None, titles: dict[str, str]) -> str:
    t = "all themes" if themes is None else (", ".join(titles.get(x, x) for x in themes) or "no themes")
    r = "everywhere" if regions is None else "in " + (", ".join(regions) or "no region")
    return h(f"You follow {t}, {r}.")


def _listed(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


# --- commands ---------------------------------------------------------------------------------

@safe
async def cmd_start(state: ChatState, update: Update, context: Context) -> str:
    dest = destination(state, update)
    if dest is not None and not dest.active and dest.inactive_reason and "Forbidden" in dest.inactive_reason:
        change(state, dest.id, {"active": True, "inactive_reason": None})
    return ("<b>newsbot</b> watches NGO and news feeds on migrants' and refugees' rights and sends "
            "what matches its themes: urgent themes at once, the rest in a daily digest.\n"
            "Start with /themes, then /subscribe THEME or REGION. /help lists every command.")


@safe
async def cmd_subscribe(state: ChatState, update: Update, context: Context) -> str:
    args = args_of(context)
    if not args:
        return "Usage: " + USAGE["subscribe"]
    if (why := await may_change(state, update, context)):
        return why
    titles = state.titles
    everything = [a.lower() for a in args] == ["all"]
    themes, regions, unknown = parse_targets([] if everything else args, titles)
    if unknown:
        return f"Unknown theme or region: {h(', '.join(unknown))}. See /themes."
    dest = own_destination(state, update)
    new_themes = None if everything or dest.themes is None else sorted(set(dest.themes) | set(themes))
    new_regions = _listed(dest.regions)
    if regions:
        new_regions = sorted(set(dest.regions or []) | set(regions))
    if new_themes == [] and regions:
        new_themes = None          # "/subscribe Europe": every theme, in Europe
    change(state, dest.id, {"themes": new_themes, "regions": new_regions, "active": True, "inactive_reason": None})
    return "Subscribed. " + describe(new_themes, new_regions, titles)


@safe
async def cmd_unsubscribe(state: ChatState, update: Update, context: Context) -> str:
    args = args_of(context)
    if not args:
        return "Usage: " + USAGE["unsubscribe"]
    if (why := await may_change(state, update, context)):
        return why
    dest = destination(state, update)
    if dest is None or not dest.active:
        return "This chat has no subscription."
    if [a.lower() for a in args] == ["all"]:
        change(state, dest.id, {"active": False, "inactive_reason": "unsubscribed"})
        return "Unsubscribed from everything. /subscribe brings it back."
    titles = state.titles
    themes, regions, unknown = parse_targets(args, titles)
    if unknown:
        return f"Unknown theme or region: {h(', '.join(unknown))}. See /themes."
    cur_t = list(titles) if dest.themes is None else list(dest.themes)
    new_themes = [t for t in cur_t if t not in themes] if themes else _listed(dest.themes)
    new_regions = _listed(dest.regions)
    if regions:
        new_regions = [r for r in (dest.regions or REGIONS) if r not in regions]
    change(state, dest.id, {"themes": new_themes, "regions": new_regions})
    return "Updated. " + describe(new_themes, new_regions, titles)


@safe
async def cmd_settings(state: ChatState, update: Update, context: Context) -> str | None:
    if (why := await may_change(state, update, context)):
        return why
    dest = own_destination(state, update)
    titles = state.titles
    await context.bot.send_message(chat_of(update).id, settings_text(dest, titles), parse_mode=ParseMode.HTML,
                                   reply_markup=keyboard(dest, titles), message_thread_id=thread_of(update))
    return None


def settings_text(dest: Destination, titles: dict[str, str]) -> str:
    return (f"<b>Settings</b>\n{describe(dest.themes, dest.regions, titles)}\n"
            f"Alerts: {h(dest.alerts)} · Digest: {h(dest.digest or 'off')}\nTap to change.")


def keyboard(dest: Destination, titles: dict[str, str]) -> InlineKeyboardMarkup:
    def mark(on: bool, label: str) -> str:
        return ("✅ " if on else "▫️ ") + label
    rows = [[InlineKeyboardButton(mark(dest.themes is None or slug in dest.themes, title[:30]), callback_data=f"t:{slug}"[:64])]
            for slug, title in titles.items()]
    regs = [InlineKeyboardButton(mark(dest.regions is None or r in dest.regions, r), callback_data=f"r:{r}") for r in REGIONS]
    rows += [regs[i:i + 3] for i in range(0, len(regs), 3)]
    rows.append([InlineKeyboardButton(mark(dest.alerts == m, m), callback_data=f"m:{m}") for m in ALERT_MODES])
    rows += [[InlineKeyboardButton(mark(dest.digest == d, d), callback_data=f"d:{d}")] for d in DIGEST_CHOICES]
    return InlineKeyboardMarkup(rows)


async def settings_button(state: ChatState, update: Update, context: Context, query: CallbackQuery) -> None:
    """A press on the /settings keyboard: the choice saved and the keyboard redrawn."""
    if (why := await may_change(state, update, context)):
        await query.answer(why, show_alert=True)
        return
    dest = own_destination(state, update)
    titles = state.titles
    kind, _, value = (query.data or "").partition(":")
    if kind == "t" and value in titles:
        cur = list(titles) if dest.themes is None else list(dest.themes)
        cur = [x for x in cur if x != value] if value in cur else cur + [value]
        change(state, dest.id, {"themes": None if set(cur) == set(titles) else sorted(cur)})
    elif kind == "r" and value in REGIONS:
        cur = list(REGIONS) if dest.regions is None else list(dest.regions)
        cur = [x for x in cur if x != value] if value in cur else cur + [value]
        change(state, dest.id, {"regions": None if set(cur) == set(REGIONS) else sorted(cur)})
    elif kind == "m" and value in ALERT_MODES:
        change(state, dest.id, {"alerts": value})
    elif kind == "d" and value in DIGEST_CHOICES:
        change(state, dest.id, {"digest": value})
    else:
        await query.answer("Unknown choice.")
        return
    saved = destination(state, update)
    if saved is None:
        raise RuntimeError(f"chat {chat_of(update).id}: its destination went away while it was changed")
    await query.answer("Saved.")
    await query.edit_message_text(settings_text(saved, titles), parse_mode=ParseMode.HTML,
                                  reply_markup=keyboard(saved, titles))


@safe
async def cmd_digest(state: ChatState, update: Update, context: Context) -> str | None:
    dest = destination(state, update)
    if dest is None or not dest.active:
        return "This chat has no subscription yet: /subscribe first."
    if state.sender is None:
        return "Sending is not running right now; try again in a minute."
    sent = await state.sender.send_digest(dest.id)
    return None if sent else "Nothing new for your digest since the last one."


@safe
async def cmd_status(state: ChatState, update: Update, context: Context) -> str:
    dest = destination(state, update)
    with state.engine.connect() as conn:
        failing = len(repo.failing_sources(conn))
        queued = 0 if dest is None else queued_count(conn, dest.id)
    if dest is None:
        sub = "This chat has no subscription: /subscribe THEME or REGION."
    else:
        sub = (f"{describe(dest.themes, dest.regions, state.titles)}\nAlerts: {h(dest.alerts)} · Digest: {h(dest.digest or 'off')}"
               f"{'' if dest.active else ' · paused: ' + h(dest.inactive_reason or '')}\n"
               f"Waiting for the next digest: {queued}" + (" · set in deliveries.yaml" if dest.origin == "config" else ""))
    return f"<b>Status</b>\n{sub}\nSources failing: {failing}"


HANDLERS: dict[str, Handler] = {
    "start": cmd_start, "subscribe": cmd_subscribe, "unsubscribe": cmd_unsubscribe,
    "settings": cmd_settings, "digest": cmd_digest, "status": cmd_status,
}
