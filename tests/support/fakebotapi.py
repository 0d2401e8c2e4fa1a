"""A fake Telegram Bot API server for tests: raw asyncio HTTP/1.1 on 127.0.0.1, port 0.

It checks each message the way Telegram does (HTML parse mode: only Telegram's tags,
`<`/`&` escaped as entities, at most 4096 UTF-16 code units after entity parsing), records
every call with a timestamp from an injectable clock, can enforce flood limits itself,
answers getUpdates from a script of user updates, and injects faults: 429 with
retry_after, 500, dropped connections, 403 and a group-to-supergroup migration.

The `fake_bot_api` fixture (support/fixtures_fakebotapi.py, a plugin registered in conftest.py)
gives a started server; point the client at `server.url` (TELEGRAM_API_URL).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl


TOKEN = "123456:TEST-token-for-the-fake-bot-api-000"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "span", "tg-spoiler", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*(/?)>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityError(ValueError):
    pass


def _decode(text: str, where: str) -> str:
    out, pos = [], 0
    while True:
        amp = text.find("&", pos)
        if amp < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:amp])
        m = _ENTITY.match(text, amp)
        if not m:
            raise EntityError(f"can't parse entities: unsupported entity or bare '&' at byte offset {amp} {where}")
        name = m.group(1)
        out.append(_NAMED.get(name) or chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:])))
        pos = m.end()


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: returns the visible text or raises EntityError."""
    out, stack, pos = [], [], 0
    while pos < len(text):
        lt = text.find("<", pos)
        gt = text.find(">", pos)
        if gt >= 0 and (lt < 0 or gt < lt):
            raise EntityError(f"can't parse entities: unexpected '>' at offset {gt}")
        if lt < 0:
            out.append(_decode(text[pos:], "in text"))
            break
        out.append(_decode(text[pos:lt], "in text"))
        m = _TAG.match(text, lt)
        if not m:
            raise EntityError(f"can't parse entities: unexpected '<' at offset {lt} (not a tag)")
        closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if name not in ALLOWED_TAGS:
            raise EntityError(f"can't parse entities: unsupported start tag \"{name}\" at offset {lt}")
        if closing:
            if not stack or stack[-1] != name:
                raise EntityError(f"can't parse entities: unmatched end tag at offset {lt}, expected \"</{stack[-1] if stack else ''}>\", found \"</{name}>\"")
            stack.pop()
        else:
            parsed = {a.group(1).lower(): _decode(next((g for g in a.groups()[1:] if g is not None), ""), "in attribute")
                      for a in _ATTR.finditer(attrs)}
            if name == "span" and parsed.get("class") != "tg-spoiler":
                raise EntityError("can't parse entities: span without class=\"tg-spoiler\"")
            if name == "a" and not parsed.get("href"):
                raise EntityError("can't parse entities: <a> without href")
            stack.append(name)
        pos = m.end()
    if stack:
        raise EntityError(f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_markup(markup: Any) -> str | None:
    """None when Telegram would accept an inline keyboard, else the 400 description."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return "Bad Request: can't parse reply keyboard markup JSON object"
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays"
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                return "Bad Request: text buttons are unallowed in the inline keyboard"
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
            if data is None and not button.get("url"):
                return "Bad Request: inline keyboard button needs callback_data or url"
    return None


def check_message(text: str, parse_mode: str | None) -> str | None:
    """None when Telegram would accept the text, else the 400 description."""
    try:
        plain = parse_html(text) if (parse_mode or "").upper() == "HTML" else text
    except EntityError as exc:
        return f"Bad Request: {exc}"
    if not plain.strip():
        return "Bad Request: message text is empty"
    if utf16_len(plain) > 4096:
        return "Bad Request: message is too long"
    return None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ts: float
    status: int = 200
    description: str | None = None


@dataclass
class Sent:
    chat_id: str
    thread_id: int | None
    text: str
    parse_mode: str | None
    ts: float
    message_id: int
    disable_preview: bool
    reply_markup: dict | None = None


@dataclass
class Fault:
    """Answer the next `times` matching calls with this fault (kind: 429|500|drop|403|migrate|400|hang|hold).

    hold: the call waits until `server.release` is set, then is answered normally."""

    kind: str
    method: str = "sendMessage"
    chat_id: str | None = None
    times: int = 1
    retry_after: int = 3
    migrate_to: int | None = None
    description: str | None = None
    match: Callable[[dict], bool] | None = None


def chat_type(chat_id: str) -> str:
    if chat_id.startswith("@"):
        return "channel"
    n = int(chat_id)
    if n > 0:
        return "private"
    return "supergroup" if chat_id.startswith("-100") else "group"


@dataclass
class FloodLimits:
    per_private: float = 1.0        # seconds between messages into one private chat
    group_window: float = 60.0
    group_max: int = 20             # messages per window into one group/channel
    global_window: float = 1.0
    global_max: int = 30


class FakeBotAPI:
    def __init__(self, clock: Callable[[], float] = time.monotonic, token: str = TOKEN,
                 enforce_limits: FloodLimits | None = None):
        self.clock = clock
        self.token = token
        self.limits = enforce_limits
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.faults: list[Fault] = []
        self.updates: deque[dict] = deque()
        self.update_id = 1000
        self.blocked: set[str] = set()             # chats that answer 403 forever
        self.migrated: dict[str, int] = {}         # old group id -> new supergroup id, forever
        self.chat_admins: dict[str, set[int]] = defaultdict(set)
        self.commands: list[dict] = []
        self.answers: list[dict] = []              # answerCallbackQuery calls, in order
        self.random_faults: Callable[[dict], str | None] | None = None
        self.on_send: Callable[["Sent"], None] | None = None
        self.hung = asyncio.Event()
        self.holding = threading.Event()           # a "hold" fault is waiting for `release`
        self.release = asyncio.Event()
        self.latency = 0.0                         # real seconds each sendMessage takes
        self.concurrent = self.most_concurrent = 0  # sendMessage calls being answered at once
        self._message_id = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._new_update = asyncio.Event()
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._recent_all: deque[float] = deque()
        self.url = ""

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> "FakeBotAPI":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    # --- scripting ------------------------------------------------------------------------
    def inject(self, kind: str, **kw: Any) -> Fault:
        fault = Fault(kind, **kw)
        self.faults.append(fault)
        return fault

    def push_update(self, update: dict) -> None:
        self.update_id += 1
        self.updates.append({"update_id": self.update_id, **update})
        self._new_update.set()

    def user_message(self, text: str, *, user_id: int = 42, chat_id: int | None = None,
                     chat_type_: str | None = None, first_name: str = "Ana") -> None:
        chat_id = user_id if chat_id is None else chat_id
        ctype = chat_type_ or chat_type(str(chat_id))
        chat: dict[str, Any] = {"id": chat_id, "type": ctype}
        if ctype == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Test group"
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.push_update({"message": {"message_id": self._next_id(), "date": int(time.time()),
                                      "chat": chat, "text": text, "entities": entities,
                                      "from": {"id": user_id, "is_bot": False, "first_name": first_name}}})

    def callback(self, data: str, *, user_id: int = 42, chat_id: int | None = None,
                 message_id: int = 1) -> str:
        """Push a button press; returns the callback query id (see `answers`)."""
        chat_id = user_id if chat_id is None else chat_id
        qid = f"q{self._next_id()}"
        self.push_update({"callback_query": {
            "id": qid, "chat_instance": "ci", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
            "message": {"message_id": message_id, "date": int(time.time()), "text": "settings",
                        "chat": {"id": chat_id, "type": chat_type(str(chat_id))}}}})
        return qid

    def messages_to(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot")
            await asyncio.sleep(0.01)

    # --- HTTP ---------------------------------------------------------------------------
    def _next_id(self) -> int:
        self._message_id += 1
        return self._message_id

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _verb, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in
                           (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload = await self._dispatch(path, headers, body)
                if status == -1:           # drop: close without an answer
                    writer.transport.abort()
                    return
                if status == -2:           # hang: never answer (the client gives up or dies)
                    self.hung.set()
                    await asyncio.Event().wait()
                data = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _params(self, headers: dict, body: bytes) -> dict[str, Any]:
        ctype = headers.get("content-type", "")
        if "json" in ctype:
            return json.loads(body or b"{}")
        params: dict[str, Any] = {}
        for k, v in parse_qsl(body.decode(), keep_blank_values=True):
            if k in ("text", "parse_mode", "chat_id", "callback_query_id"):
                params[k] = v
                continue
            try:
                params[k] = json.loads(v)
            except ValueError:
                params[k] = v
        return params

    async def _dispatch(self, path: str, headers: dict, body: bytes) -> tuple[int, Any]:
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if not m or m.group(1) != self.token:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        method, params = m.group(2), self._params(headers, body)
        call = Call(method, params, self.clock())
        self.calls.append(call)
        status, payload = self._fault(method, params)
        if status == -3:                   # hold: answer normally once `release` is set
            self.holding.set()
            await self.release.wait()
            status = None
        if status is None:
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                status, payload = 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            else:
                status, payload = await handler(params)
        call.status = status
        if status not in (200, -1, -2):
            call.description = payload.get("description")
        return status, payload

    def _fault(self, method: str, params: dict) -> tuple[int | None, Any]:
        chat = str(params.get("chat_id", ""))
        kind = None
        for fault in self.faults:
            if fault.times and fault.method == method and (fault.chat_id is None or fault.chat_id == chat) \
                    and (fault.match is None or fault.match(params)):
                fault.times -= 1
                kind = fault.kind
                break
        else:
            fault = None
            if method == "sendMessage":
                if chat in self.blocked:
                    kind = "403"
                elif chat in self.migrated:
                    kind = "migrate"
                elif self.random_faults is not None:
                    kind = self.random_faults(params)
        if kind is None:
            return None, None
        if kind == "429":
            after = fault.retry_after if fault else 3
            return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {after}",
                         "parameters": {"retry_after": after}}
        if kind == "500":
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if kind == "drop":
            return -1, None
        if kind == "hang":
            return -2, None
        if kind == "hold":
            return -3, None
        if kind == "403":
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if kind == "migrate":
            new = (fault.migrate_to if fault else None) or self.migrated[chat]
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: group chat was upgraded to a supergroup chat",
                         "parameters": {"migrate_to_chat_id": new}}
        return 400, {"ok": False, "error_code": 400, "description": (fault.description if fault else None) or "Bad Request"}

    def _flood(self, chat: str, now: float) -> int | None:
        """Seconds to wait if this message would break the flood limits, else None."""
        lim = self.limits
        if lim is None:
            return None
        recent = self._recent[chat]
        while self._recent_all and self._recent_all[0] <= now - lim.global_window:
            self._recent_all.popleft()
        if chat_type(chat) == "private":
            if recent and now - recent[-1] < lim.per_private - 1e-9:
                return 1
        else:
            while recent and recent[0] <= now - lim.group_window:
                recent.popleft()
            if len(recent) >= lim.group_max:
                return int(recent[0] + lim.group_window - now) + 1
        if len(self._recent_all) >= lim.global_max:
            return 1
        return None

    # --- methods -------------------------------------------------------------------------
    async def _m_getMe(self, params: dict) -> tuple[int, Any]:
        return 200, {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "Newsbot",
                                            "username": "newsbot_test_bot", "can_join_groups": True,
                                            "can_read_all_group_messages": False,
                                            "supports_inline_queries": False}}

    async def _m_sendMessage(self, params: dict) -> tuple[int, Any]:
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._send_message(params)
        finally:
            self.concurrent -= 1

    async def _send_message(self, params: dict) -> tuple[int, Any]:
        chat = str(params.get("chat_id", ""))
        text = params.get("text", "")
        problem = check_message(text, params.get("parse_mode")) or check_markup(params.get("reply_markup"))
        if problem:
            return 400, {"ok": False, "error_code": 400, "description": problem}
        now = self.clock()
        wait = self._flood(chat, now)
        if wait is not None:
            return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                         "parameters": {"retry_after": wait}}
        self._recent[chat].append(now)
        self._recent_all.append(now)
        lpo = params.get("link_preview_options") or {}
        markup = params.get("reply_markup")
        sent = Sent(chat, params.get("message_thread_id"), text, params.get("parse_mode"), now,
                    self._next_id(), bool(lpo.get("is_disabled")) if isinstance(lpo, dict) else False,
                    json.loads(markup) if isinstance(markup, str) else markup)
        self.sent.append(sent)
        if self.on_send:
            self.on_send(sent)
        cid = int(chat) if chat.lstrip("-").isdigit() else -1009999999999
        return 200, {"ok": True, "result": {"message_id": sent.message_id, "date": int(time.time()),
                                            "chat": {"id": cid, "type": chat_type(chat) if cid > 0 or chat.startswith("-") else "channel"},
                                            "text": parse_html(text) if (params.get("parse_mode") or "").upper() == "HTML" else text}}

    async def _m_editMessageText(self, params: dict) -> tuple[int, Any]:
        problem = check_message(params.get("text", ""), params.get("parse_mode"))
        if problem:
            return 400, {"ok": False, "error_code": 400, "description": problem}
        chat = str(params.get("chat_id", ""))
        self.sent.append(Sent(chat, None, params.get("text", ""), params.get("parse_mode"), self.clock(),
                              int(params.get("message_id", 0)), True))
        return 200, {"ok": True, "result": {"message_id": int(params.get("message_id", 0)), "date": int(time.time()),
                                            "chat": {"id": int(chat), "type": chat_type(chat)},
                                            "text": params.get("text", "")}}

    async def _m_setMyCommands(self, params: dict) -> tuple[int, Any]:
        self.commands = params.get("commands") or []
        return 200, {"ok": True, "result": True}

    async def _ok(self, params: dict) -> tuple[int, Any]:
        return 200, {"ok": True, "result": True}

    _m_deleteWebhook = _m_close = _m_deleteMyCommands = _ok

    async def _m_answerCallbackQuery(self, params: dict) -> tuple[int, Any]:
        # Telegram: the notification text is 0-200 characters; a query is answered once.
        text = params.get("text") or ""
        if len(text) > 200:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: MESSAGE_TOO_LONG"}
        qid = str(params.get("callback_query_id", ""))
        if any(a["callback_query_id"] == qid for a in self.answers):
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: query is too old and response timeout expired or query ID is invalid"}
        self.answers.append({"callback_query_id": qid, "text": text,
                             "show_alert": bool(params.get("show_alert"))})
        return 200, {"ok": True, "result": True}

    async def _m_getChatMember(self, params: dict) -> tuple[int, Any]:
        chat, user = str(params.get("chat_id")), int(params.get("user_id"))
        status = "administrator" if user in self.chat_admins[chat] else "member"
        member: dict[str, Any] = {"status": status, "user": {"id": user, "is_bot": False, "first_name": "U"}}
        if status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                          can_delete_messages=True, can_manage_video_chats=True,
                          can_restrict_members=True, can_promote_members=False,
                          can_change_info=True, can_invite_users=True, can_post_stories=False,
                          can_edit_stories=False, can_delete_stories=False)
        return 200, {"ok": True, "result": member}

    async def _m_getUpdates(self, params: dict) -> tuple[int, Any]:
        offset = int(params.get("offset") or 0)
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()
        if not self.updates:
            self._new_update.clear()
            try:
                # long polling, shortened: tests need answers in milliseconds
                await asyncio.wait_for(self._new_update.wait(), min(float(params.get("timeout") or 0), 0.2))
            except asyncio.TimeoutError:
                pass
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()
        return 200, {"ok": True, "result": list(self.updates)[:100]}


@contextmanager
def serving_in_a_thread(server: FakeBotAPI) -> Iterator[FakeBotAPI]:
    """`server` started on its own event loop in a thread, for tests that run a CLI command
    (which runs an event loop of its own); stopped on exit."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5), "the fake Bot API did not start"
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
