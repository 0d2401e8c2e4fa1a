"""The commands any member may use that change no subscription: /help, /themes, /latest,
/search, /sources and /missed (the report itself is bot.chat.missed's), and the answer to an
unknown command.

Owns these commands' reply texts (HTML, every stored string escaped). Must not change a chat's
subscription (bot.chat.subscriptions does), touch sources.yaml (bot.chat.admin does) nor hold
SQL (bot.storage.repo and bot.delivery.telegram.digest read the rows).
"""

from __future__ import annotations

from telegram import Update

from bot.chat import missed
from bot.chat import telegram_tools as tools
from bot.chat.replies import ADMIN, COMMANDS, USAGE, Context, Handler, args_of, chat_of, safe, user_id_of
from bot.chat.state import ChatState
from bot.delivery.telegram.digest import load_entries
from bot.delivery.telegram.format import Entry, clip, digest_line, h
from bot.storage import repo
from bot.tagging.countries import REGIONS

LATEST = 8            # stories /latest shows
LATEST_LOOKBACK = 5   # /latest reads LATEST x this many hits to find LATEST different stories
SOURCES_ROOM = 3800   # characters of source lines /sources sends before "… and N more"


@safe
async def cmd_help(state: ChatState, update: Update, context: Context) -> str:
    lines = [f"/{n} — {h(d)}" for n, d in COMMANDS]
    if state.is_admin(update):
        lines += ["", "<b>Admin</b>"] + [f"/{n} {a}".rstrip() for n, a in ADMIN]
    return "\n".join(lines)


@safe
async def cmd_themes(state: ChatState, update: Update, context: Context) -> str:
    themes = state.themes.themes
    lines = ["<b>Themes</b>"] + [f"• <code>{h(t.slug)}</code> — {h(t.title)}{' 🔴 instant' if t.priority == 'high' else ''}"
                                 for t in themes]
    lines += ["", "<b>Regions</b>: " + ", ".join(REGIONS), "", "Follow with /subscribe THEME or REGION."]
    return "\n".join(lines) if themes else "No themes are configured yet."


@safe
async def cmd_latest(state: ChatState, update: Update, context: Context) -> str:
    args = args_of(context)
    titles = state.titles
    theme = args[0].lower() if args else None
    if theme is not None and theme not in titles:
        return f"Unknown theme {h(theme)}. Usage: {USAGE['latest']}"
    with state.engine.connect() as conn:
        rows = repo.list_hits(conn, theme=theme or None, include_backlog=False, limit=LATEST * LATEST_LOOKBACK)
        entries = load_entries(conn, [(0, r["hit_id"]) for r in rows], state.source_names())
    if not entries:
        return "No hits yet."
    entries.sort(key=lambda e: -e.hit_id)
    # One line per event: the newest hit of each story, "also reported by" naming the rest.
    by_story: dict[object, Entry] = {}
    for e in entries:
        by_story.setdefault(e.story_id if e.story_id is not None else ("item", e.item_id), e)
    entries = list(by_story.values())[:LATEST]
    lines = [f"<b>Latest{' · ' + h(titles[theme]) if theme else ''}</b>"]
    lines += [digest_line(e, [], titles) for e in entries]
    return "\n".join(lines)


@safe
async def cmd_search(state: ChatState, update: Update, context: Context) -> str:
    # The raw text keeps the query's quotes and parentheses as typed.
    text = (update.effective_message.text or "") if update.effective_message else ""
    words = text.split(maxsplit=1)
    query = words[1] if len(words) > 1 else ""
    return tools.search_reply(state.engine, query, state.clock(), weights=state.weights(),
                              titles=state.titles, names=state.source_names())


@safe
async def cmd_sources(state: ChatState, update: Update, context: Context) -> str:
    srcs = state.config.sources.sources
    with state.engine.connect() as conn:
        status = {sid: row.status for sid, row in repo.source_states(conn).items()}
    lines = [f"<b>{len(srcs)} sources</b>"]
    for s in srcs:
        flag = "⏸" if not s.enabled else {"failing": "⚠️", "ok": "✅"}.get(status.get(s.id, ""), "•")
        line = f"{flag} <code>{h(s.id)}</code> {h(clip(s.display_name, 60))}"
        if sum(len(x) + 1 for x in lines) + len(line) > SOURCES_ROOM:
            lines.append(f"… and {len(srcs) - len(lines) + 1} more")
            break
        lines.append(line)
    return "\n".join(lines)


@safe
async def cmd_missed(state: ChatState, update: Update, context: Context) -> str:
    args = args_of(context)
    if not 1 <= len(args) <= 2 or not args[0].lower().startswith(("http://", "https://")):
        return "Usage: " + h(USAGE["missed"])
    matcher = state.themes.matcher()
    titles = state.titles
    theme = args[1].lower() if len(args) > 1 else None
    if theme is not None and (why := missed.theme_problem(theme, list(titles))):
        return why
    user = user_id_of(update)
    if user is None:
        return "Reports need a member account."
    if (why := missed.limit_reached(state.engine, user, state.clock())):
        return why
    outcome = await missed.report_missed(state.engine, matcher, state.policy(), args[0], theme, titles=titles,
                                         chat_id=chat_of(update).id, user_id=user, now=state.clock())
    return outcome.reply


@safe
async def cmd_unknown(state: ChatState, update: Update, context: Context) -> str:
    word = (update.effective_message.text or "").split()[0] if update.effective_message else "?"
    return f"Unknown command {h(word)}. /help lists the commands."


HANDLERS: dict[str, Handler] = {
    "help": cmd_help, "themes": cmd_themes, "latest": cmd_latest, "search": cmd_search,
    "sources": cmd_sources, "missed": cmd_missed,
}
