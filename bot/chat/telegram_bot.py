"""The Telegram bot's commands: self-service subscriptions, digests on demand, admin tools.

Owns: the python-telegram-bot Application (long polling), setMyCommands, the command and
inline-keyboard handlers, who may change what. Self-subscriptions are `destinations` rows
with origin='self'; chats from deliveries.yaml (origin='config') cannot be changed here.
Must not send alerts (the Sender does) nor build alert/digest layout (format does). No
handler lets an exception reach a chat: users get one line, the log gets the traceback.
"""

from __future__ import annotations

import functools
import html
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from sqlalchemy import desc, func, select, update

from bot.chat import missed
from bot.delivery.telegram.api import opt_in_to_ptb_timedeltas
from bot.chat import telegram_tools as tools
from bot.config.snapshot import ConfigSnapshot
from bot.delivery.telegram.digest import load_entries, theme_titles
from bot.delivery.telegram.format import MAX_LEN, Entry, clip, digest_line, h, tg_len
from bot.delivery.destinations import add_destination, chat_key, find_destination, migrated_config_chats, migration_advice
from bot.ingest.fetch import FetchPolicy
from bot.storage import repo
from bot.storage.schema import deliveries, destinations, hits, items, sources as sources_table

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
                          ContextTypes, MessageHandler, filters)

log = logging.getLogger(__name__)

try:
    from bot.tagging.countries import REGIONS
except ImportError:  # pragma: no cover - the countries part ships with the package
    REGIONS = ("Africa", "Americas", "Asia", "Europe", "Middle East", "Oceania")

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
LATEST_LOOKBACK = 5   # /latest reads 8 x this many hits to find 8 different stories
DIGEST_CHOICES = ("off", "daily 07:00", "daily 08:00", "daily 18:00", "weekly monday 08:00")
Handler = Callable[["TelegramBot", Update, ContextTypes.DEFAULT_TYPE], Awaitable[str | None]]


def safe(fn: Handler) -> Callable:
    """Run a handler; its return value is the HTML reply; any exception becomes one line."""
    @functools.wraps(fn)
    async def wrapper(self: "TelegramBot", update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            reply = await fn(self, update, context)
        except Exception:  # noqa: BLE001 - nothing but one line reaches a chat
            log.exception("command %s failed", fn.__name__)
            reply = "Sorry, that did not work. The admins can see why in the log."
        if reply and update.effective_chat is not None:
            try:
                if tg_len(reply) > MAX_LEN:   # whole lines only: a cut inside a tag is refused
                    reply = tools.fit(reply.split("\n"))
                await context.bot.send_message(update.effective_chat.id, reply, parse_mode=ParseMode.HTML,
                                               message_thread_id=_thread(update),
                                               link_preview_options=_no_preview())
            except Exception:  # noqa: BLE001
                log.exception("could not reply to chat %s", update.effective_chat.id)
    return wrapper


def _no_preview() -> Any:
    from telegram import LinkPreviewOptions
    return LinkPreviewOptions(is_disabled=True)


def _thread(update: Update) -> int | None:
    msg = update.effective_message
    return msg.message_thread_id if msg is not None and msg.is_topic_message else None


class TelegramBot:
    def __init__(self, engine: Any, settings: Any, config: ConfigSnapshot, *, clock: Callable[[], datetime] | None = None,
                 sender: Any = None, poll_timeout: float = 10.0):
        self.engine, self.settings = engine, settings
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.poll_timeout = poll_timeout
        self.app: Application | None = None
        self.sender: Any = None
        self.reload(config, sender=sender)

    def __repr__(self) -> str:
        return "TelegramBot(token=<redacted>)"

    def reload(self, config: ConfigSnapshot, sender: Any = None) -> None:
        self.config, self.themes = config, config.themes
        self.titles = theme_titles(self.themes)
        if sender is not None:
            self.sender = sender

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        opt_in_to_ptb_timedeltas()
        api = self.settings.telegram_api_url.rstrip("/")
        self.app = (ApplicationBuilder().token(self.settings.telegram_token)
                    .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                    .get_updates_read_timeout(self.poll_timeout + 10).build())
        for name, _ in COMMANDS + ADMIN:
            self.app.add_handler(CommandHandler(name, getattr(self, f"cmd_{name}")))  # dynamic: by command name
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(filters.COMMAND, self.cmd_unknown))
        self.app.add_error_handler(self._on_error)
        await self.app.initialize()
        await self.app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
        await self.app.start()
        await self.app.updater.start_polling(timeout=int(self.poll_timeout) or 1, poll_interval=0.0)
        log.info("telegram bot polling for commands")

    async def stop(self) -> None:
        if self.app is None:
            return
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.app = None

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %s", context.error.__class__.__name__, exc_info=context.error)

    # --- who may do what -----------------------------------------------------------------
    def is_admin(self, update: Update) -> bool:
        return bool(update.effective_user and update.effective_user.id in self.settings.admin_ids)

    async def may_change(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """None when this user may change this chat's subscription, else the reason."""
        chat = update.effective_chat
        with self.engine.connect() as conn:
            dest = find_destination(conn, chat.id, _thread(update))
        if dest is not None and dest.origin == "config":
            return "This chat is set up in deliveries.yaml; ask a coordinator to change it."
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            member = await context.bot.get_chat_member(chat.id, update.effective_user.id)
            if member.status not in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
                return "Only the group's admins can change its subscriptions."
        return None

    def _dest(self, update: Update, create: bool = False) -> Any:
        chat = update.effective_chat
        with self.engine.begin() as conn:
            dest = find_destination(conn, chat.id, _thread(update))
            if dest is None and create:
                name = chat.title or chat.full_name or chat.username or str(chat.id)
                add_destination(
                    conn, chat_id=chat_key(chat.id), thread_id=_thread(update), name=name, origin="self",
                    chat_type=chat.type, themes=[], regions=None, languages=None, alerts="instant",
                    digest="daily 08:00", active=True, created_at=self.clock())
                dest = find_destination(conn, chat.id, _thread(update))
            return dest

    def _set(self, dest_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(destinations).where(destinations.c.id == dest_id).values(**values))

    def _parse_targets(self, args: list[str]) -> tuple[list[str], list[str], list[str]]:
        """Words -> (themes, regions, unknown); 'middle east' may come as two words."""
        themes, regions, unknown = [], [], []
        words = [a.strip(",") for a in args if a.strip(",")]
        lower_regions = {r.lower().replace(" ", ""): r for r in REGIONS}
        i = 0
        while i < len(words):
            w = words[i]
            two = (w + (words[i + 1] if i + 1 < len(words) else "")).lower().replace("-", "").replace("_", "")
            if w.lower() in self.titles:
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

    # --- commands ------------------------------------------------------------------------
    @safe
    async def cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        dest = self._dest(update)
        if dest is not None and not dest.active and dest.inactive_reason and "Forbidden" in dest.inactive_reason:
            self._set(dest.id, active=True, inactive_reason=None)
        return ("<b>newsbot</b> watches NGO and news feeds on migrants' and refugees' rights and sends "
                "what matches its themes: urgent themes at once, the rest in a daily digest.\n"
                "Start with /themes, then /subscribe THEME or REGION. /help lists every command.")

    @safe
    async def cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        lines = [f"/{n} — {h(d)}" for n, d in COMMANDS]
        if self.is_admin(update):
            lines += ["", "<b>Admin</b>"] + [f"/{n} {a}".rstrip() for n, a in ADMIN]
        return "\n".join(lines)

    @safe
    async def cmd_themes(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        themes = self.themes.themes
        lines = ["<b>Themes</b>"] + [f"• <code>{h(t.slug)}</code> — {h(t.title)}{' 🔴 instant' if t.priority == 'high' else ''}"
                                     for t in themes]
        lines += ["", "<b>Regions</b>: " + ", ".join(REGIONS), "", "Follow with /subscribe THEME or REGION."]
        return "\n".join(lines) if themes else "No themes are configured yet."

    @safe
    async def cmd_subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        if not context.args:
            return "Usage: " + USAGE["subscribe"]
        if (why := await self.may_change(update, context)):
            return why
        everything = [a.lower() for a in context.args] == ["all"]
        themes, regions, unknown = self._parse_targets([] if everything else context.args)
        if unknown:
            return f"Unknown theme or region: {h(', '.join(unknown))}. See /themes."
        dest = self._dest(update, create=True)
        new_themes = None if everything or dest.themes is None else sorted(set(dest.themes) | set(themes))
        new_regions = dest.regions
        if regions:
            new_regions = sorted(set(dest.regions or []) | set(regions))
        if new_themes == [] and regions:
            new_themes = None          # "/subscribe Europe": every theme, in Europe
        self._set(dest.id, themes=new_themes, regions=new_regions, active=True, inactive_reason=None)
        return "Subscribed. " + self._describe(new_themes, new_regions)

    @safe
    async def cmd_unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        if not context.args:
            return "Usage: " + USAGE["unsubscribe"]
        if (why := await self.may_change(update, context)):
            return why
        dest = self._dest(update)
        if dest is None or not dest.active:
            return "This chat has no subscription."
        if [a.lower() for a in context.args] == ["all"]:
            self._set(dest.id, active=False, inactive_reason="unsubscribed")
            return "Unsubscribed from everything. /subscribe brings it back."
        themes, regions, unknown = self._parse_targets(context.args)
        if unknown:
            return f"Unknown theme or region: {h(', '.join(unknown))}. See /themes."
        cur_t = list(self.titles) if dest.themes is None else list(dest.themes)
        new_themes = [t for t in cur_t if t not in themes] if themes else dest.themes
        new_regions = dest.regions
        if regions:
            new_regions = [r for r in (dest.regions or REGIONS) if r not in regions]
        self._set(dest.id, themes=new_themes, regions=new_regions)
        return "Updated. " + self._describe(new_themes, new_regions)

    def _describe(self, themes: list[str] | None, regions: list[str] | None) -> str:
        t = "all themes" if themes is None else (", ".join(self.titles.get(x, x) for x in themes) or "no themes")
        r = "everywhere" if regions is None else "in " + (", ".join(regions) or "no region")
        return h(f"You follow {t}, {r}.")

    @safe
    async def cmd_settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        if (why := await self.may_change(update, context)):
            return why
        dest = self._dest(update, create=True)
        await context.bot.send_message(update.effective_chat.id, self._settings_text(dest), parse_mode=ParseMode.HTML,
                                       reply_markup=self._keyboard(dest), message_thread_id=_thread(update))
        return None

    def _settings_text(self, dest: Any) -> str:
        return (f"<b>Settings</b>\n{self._describe(dest.themes, dest.regions)}\n"
                f"Alerts: {h(dest.alerts)} · Digest: {h(dest.digest)}\nTap to change.")

    def _keyboard(self, dest: Any) -> InlineKeyboardMarkup:
        def mark(on: bool, label: str) -> str:
            return ("✅ " if on else "▫️ ") + label
        rows = [[InlineKeyboardButton(mark(dest.themes is None or slug in dest.themes, title[:30]), callback_data=f"t:{slug}"[:64])]
                for slug, title in self.titles.items()]
        regs = [InlineKeyboardButton(mark(dest.regions is None or r in dest.regions, r), callback_data=f"r:{r}") for r in REGIONS]
        rows += [regs[i:i + 3] for i in range(0, len(regs), 3)]
        rows.append([InlineKeyboardButton(mark(dest.alerts == m, m), callback_data=f"m:{m}") for m in ("instant", "digest", "both")])
        rows += [[InlineKeyboardButton(mark(dest.digest == d, d), callback_data=f"d:{d}")] for d in DIGEST_CHOICES]
        return InlineKeyboardMarkup(rows)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        try:
            # An alert's relevant / not relevant buttons: any member may vote, in any chat.
            user = update.effective_user.id if update.effective_user else None
            decision = missed.parse_callback(query.data)
            if decision is not None:
                await self._decide(update, *decision)
                return
            answer = tools.vote(self.engine, query.data, user, self.clock())
            if answer is not None:
                await query.answer(answer)
                return
            why = await self.may_change(update, context)
            if why:
                await query.answer(why, show_alert=True)
                return
            dest = self._dest(update, create=True)
            kind, _, value = (query.data or "").partition(":")
            if kind == "t" and value in self.titles:
                cur = list(self.titles) if dest.themes is None else list(dest.themes)
                cur = [x for x in cur if x != value] if value in cur else cur + [value]
                self._set(dest.id, themes=None if set(cur) == set(self.titles) else sorted(cur))
            elif kind == "r" and value in REGIONS:
                cur = list(REGIONS) if dest.regions is None else list(dest.regions)
                cur = [x for x in cur if x != value] if value in cur else cur + [value]
                self._set(dest.id, regions=None if set(cur) == set(REGIONS) else sorted(cur))
            elif kind == "m" and value in ("instant", "digest", "both"):
                self._set(dest.id, alerts=value)
            elif kind == "d" and value in DIGEST_CHOICES:
                self._set(dest.id, digest=value)
            else:
                await query.answer("Unknown choice.")
                return
            dest = self._dest(update)
            await query.answer("Saved.")
            await query.edit_message_text(self._settings_text(dest), parse_mode=ParseMode.HTML,
                                          reply_markup=self._keyboard(dest))
        except Exception:  # noqa: BLE001
            log.exception("settings button failed")
            try:
                await query.answer("Sorry, that did not work.")
            except Exception:  # noqa: BLE001
                log.debug("could not answer the callback", exc_info=True)

    @safe
    async def cmd_digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        dest = self._dest(update)
        if dest is None or not dest.active:
            return "This chat has no subscription yet: /subscribe first."
        if self.sender is None:
            return "Sending is not running right now; try again in a minute."
        sent = await self.sender.send_digest(dest.id)
        return None if sent else "Nothing new for your digest since the last one."

    @safe
    async def cmd_latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        theme = context.args[0].lower() if context.args else None
        if theme is not None and theme not in self.titles:
            return f"Unknown theme {h(theme)}. Usage: {USAGE['latest']}"
        q = (select(hits.c.id).join(items, items.c.id == hits.c.item_id)
             .where(items.c.is_backlog.is_(False)).order_by(desc(hits.c.created_at), desc(hits.c.id))
             .limit(8 * LATEST_LOOKBACK))
        if theme:
            q = q.where(hits.c.theme == theme)
        with self.engine.connect() as conn:
            ids = list(conn.execute(q).scalars())
            entries = load_entries(conn, [(0, i) for i in ids], self._source_names())
        if not entries:
            return "No hits yet."
        entries.sort(key=lambda e: -e.hit_id)
        # One line per event: the newest hit of each story, "also reported by" naming the rest.
        by_story: dict[object, Entry] = {}
        for e in entries:
            by_story.setdefault(e.story_id if e.story_id is not None else ("item", e.item_id), e)
        entries = list(by_story.values())[:8]
        lines = [f"<b>Latest{' · ' + h(self.titles[theme]) if theme else ''}</b>"]
        lines += [digest_line(e, [], self.titles) for e in entries]
        return "\n".join(lines)

    def _source_names(self) -> dict[str, str]:
        return self.config.sources.display_names()

    def _policy(self) -> FetchPolicy:
        """The sources' fetch policy (sources.yaml `defaults:`): /addsource and /missed fetch
        under the same rules as a poll."""
        return FetchPolicy.from_config(self.config.sources.defaults, allow_private=self.settings.allow_private_networks)

    def _weights(self) -> dict[str, float]:
        return self.config.sources.weights()

    @safe
    async def cmd_search(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        # The raw text keeps the query's quotes and parentheses as typed.
        text = update.effective_message.text or "" if update.effective_message else ""
        query = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
        return tools.search_reply(self.engine, query, self.clock(), weights=self._weights(),
                                  titles=self.titles, names=self._source_names())

    @safe
    async def cmd_missed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        args = context.args or []
        if not 1 <= len(args) <= 2 or not args[0].lower().startswith(("http://", "https://")):
            return "Usage: " + h(USAGE["missed"])
        matcher = self.themes.matcher()
        theme = args[1].lower() if len(args) > 1 else None
        if theme is not None and (why := missed.theme_problem(theme, list(self.titles))):
            return why
        user = update.effective_user.id if update.effective_user else None
        if user is None:
            return "Reports need a member account."
        if (why := missed.limit_reached(self.engine, user, self.clock())):
            return why
        outcome = await missed.report_missed(self.engine, matcher, self._policy(), args[0], theme, titles=self.titles,
                                             chat_id=update.effective_chat.id, user_id=user, now=self.clock())
        return outcome.reply

    async def _decide(self, update: Update, report_id: int, accept: bool) -> None:
        """An admin's Accept / Dismiss on a reported miss: answered, and the card says what became of it."""
        query = update.callback_query
        if not self.is_admin(update):
            await query.answer("Only newsbot admins (TELEGRAM_ADMIN_IDS) decide on reported misses.", show_alert=True)
            return
        answer = missed.decide(self.engine, report_id, accept, update.effective_user.id, self.clock(),
                               themes=self.themes, weights=self._weights())
        await query.answer(answer[:200])
        if query.message is not None and getattr(query.message, "text_html", None):
            await query.edit_message_text(query.message.text_html + "\n<i>" + h(answer) + "</i>", parse_mode=ParseMode.HTML)

    @safe
    async def cmd_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        srcs = self.config.sources.sources
        with self.engine.connect() as conn:
            status = dict(conn.execute(select(sources_table.c.id, sources_table.c.status)).all())
        lines = [f"<b>{len(srcs)} sources</b>"]
        for s in srcs:
            flag = "⏸" if not s.enabled else {"failing": "⚠️", "ok": "✅"}.get(status.get(s.id, ""), "•")
            line = f"{flag} <code>{h(s.id)}</code> {h(clip(s.display_name, 60))}"
            if sum(len(x) + 1 for x in lines) + len(line) > 3800:
                lines.append(f"… and {len(srcs) - len(lines) + 1} more")
                break
            lines.append(line)
        return "\n".join(lines)

    @safe
    async def cmd_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        dest = self._dest(update)
        with self.engine.connect() as conn:
            failing = conn.execute(select(func.count()).select_from(sources_table)
                                   .where(sources_table.c.status == "failing", repo.configured())).scalar() or 0
            queued = 0 if dest is None else conn.execute(select(func.count()).select_from(deliveries).where(
                deliveries.c.destination_id == dest.id, deliveries.c.status == "queued")).scalar() or 0
        if dest is None:
            sub = "This chat has no subscription: /subscribe THEME or REGION."
        else:
            sub = (f"{self._describe(dest.themes, dest.regions)}\nAlerts: {h(dest.alerts)} · Digest: {h(dest.digest)}"
                   f"{'' if dest.active else ' · paused: ' + h(dest.inactive_reason or '')}\n"
                   f"Waiting for the next digest: {queued}" + (" · set in deliveries.yaml" if dest.origin == "config" else ""))
        return f"<b>Status</b>\n{sub}\nSources failing: {failing}"

    # --- admin ---------------------------------------------------------------------------
    async def _admin(self, update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str) -> str | None:
        if not self.is_admin(update):
            return "This command is for newsbot admins (TELEGRAM_ADMIN_IDS)."
        if len(context.args or []) != 1:
            return "Usage: " + USAGE[usage]
        return None

    @safe
    async def cmd_addsource(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        if (why := await self._admin(update, context, "addsource")):
            return why
        url = context.args[0]
        if not url.lower().startswith(("http://", "https://")):
            return "Usage: /addsource URL (an http or https address)"
        from bot.config.sources_edit import add_source
        from bot.errors import NewsbotError
        from bot.ingest.probe import probe

        try:
            found = await probe(url, self._policy())
            sid = add_source(self.settings.config_dir, found.feed_url,
                             page_url=url if found.discovered else None, known_feeds=self._discovered_feeds())
        except NewsbotError as exc:
            return f"Not added: {h(clip(str(exc), 300))}"
        return f"Added <code>{h(sid)}</code> ({found.items} items now). It is polled from the next cycle."

    def _discovered_feeds(self) -> dict[str, str]:
        """source id -> the feed its page led to (sources.feed_url), to refuse adding it twice."""
        with self.engine.connect() as conn:
            return {r.id: r.feed_url for r in conn.execute(
                select(sources_table.c.id, sources_table.c.feed_url).where(sources_table.c.feed_url.is_not(None)))}

    async def _edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str,
                    fn: Callable[..., Any], done: str, *extra: Any) -> str:
        if (why := await self._admin(update, context, usage)):
            return why
        from bot.errors import NewsbotError
        try:
            fn(self.settings.config_dir, context.args[0], *extra)
        except NewsbotError as exc:
            return h(clip(str(exc), 300))
        return f"<code>{h(context.args[0])}</code> {done}."

    @safe
    async def cmd_removesource(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        from bot.config.sources_edit import remove_source
        return await self._edit(update, context, "removesource", remove_source, "removed from sources.yaml")

    @safe
    async def cmd_pausesource(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        from bot.config.sources_edit import set_enabled
        return await self._edit(update, context, "pausesource", set_enabled, "paused (enabled: false)", False)

    @safe
    async def cmd_health(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        if not self.is_admin(update):
            return "This command is for newsbot admins (TELEGRAM_ADMIN_IDS)."
        with self.engine.connect() as conn:
            bad = conn.execute(select(sources_table).where(sources_table.c.status == "failing", repo.configured())
                               .order_by(sources_table.c.failing_since)).all()
        votes = tools.precision_lines(self.engine, self.clock())
        votes = self._migrated_chat_lines() + votes
        if not bad:
            return tools.fit(["All sources are healthy."] + ([""] + votes if votes else []))
        lines = [f"<b>{len(bad)} failing sources</b>"]
        for s in bad[:40]:
            since = s.failing_since.strftime("%d %b %H:%M") if s.failing_since else "?"
            lines.append(f"⚠️ <code>{h(s.id)}</code> {h(s.last_error_kind or '?')} ×{s.error_count} since {since}: "
                         f"{h(clip(s.last_error, 120))}")
        # Votes first when the list is long: cut from the end, the failing list loses its tail.
        return tools.fit(lines[:1] + votes + ([""] if votes else []) + lines[1:], keep=1 + len(votes))

    def _migrated_chat_lines(self) -> list[str]:
        """deliveries.yaml entries that still name a group Telegram upgraded to a supergroup."""
        with self.engine.connect() as conn:
            found = migrated_config_chats(conn, self.config.deliveries)
        return [f"🔁 {h(migration_advice(chat, new))}" for chat, new in found]

    @safe
    async def cmd_report(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        if not self.is_admin(update):
            return "This command is for newsbot admins (TELEGRAM_ADMIN_IDS)."
        ids = [s.id for s in self.config.sources.enabled]
        text = tools.report_text(self.engine, self.clock(), ids)
        for part in tools.report_messages(text):
            await context.bot.send_message(update.effective_chat.id, part, parse_mode=ParseMode.HTML,
                                           message_thread_id=_thread(update))
        # The open reported misses, one message each, with the buttons that decide them.
        for card, buttons in missed.open_cards(self.engine, self.titles):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])
            await context.bot.send_message(update.effective_chat.id, card, parse_mode=ParseMode.HTML,
                                           message_thread_id=_thread(update), reply_markup=markup,
                                           link_preview_options=_no_preview())
        return None

    @safe
    async def cmd_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        word = (update.effective_message.text or "").split()[0] if update.effective_message else "?"
        return f"Unknown command {h(word)}. /help lists the commands."


__all__ = ["TelegramBot", "COMMANDS", "html"]
