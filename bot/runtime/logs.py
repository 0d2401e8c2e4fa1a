"""Log handlers for the CLI: key=value text, or one JSON object a line for collectors.

httpx and httpcore log request URLs at INFO, and Bot API URLs contain the bot token,
so they are held at WARNING; every line written, tracebacks included, is also masked:
anything that looks like a bot token, the password of any URL (smtp://, postgresql://), and
the configured secret values themselves wherever they appear (`set_secrets`: the bot token,
as python-telegram-bot repeats it bare in "The token `...` was rejected by the server").
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

_TOKEN = re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{20,}")
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
# Shorter values are not masked bare (a 3-letter password would blot out common words);
# in a URL they still are, by _URL_PASSWORD.
MIN_SECRET = 6
_secrets: tuple[str, ...] = ()


def set_secrets(*values: str | None) -> None:
    """The secret values of this process (bot token, SMTP and database passwords): `redact`
    masks each wherever it appears. A bot token's part after the colon is masked on its own too."""
    found: set[str] = set()
    for value in values:
        if not value:
            continue
        found.add(value)
        if ":" in value:                     # 123456:SECRET -> SECRET alone too
            found.add(value.split(":", 1)[1])
    # the longest first, so that a token is masked whole rather than around its secret part
    global _secrets
    _secrets = tuple(sorted((v for v in found if len(v) >= MIN_SECRET), key=len, reverse=True))


def redact(text: str) -> str:
    text = _TOKEN.sub("bot<token>", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "<redacted>")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class RedactingFormatter(logging.Formatter):
    """The text format; the filter masks a record's message, this the traceback too (an
    exception's text may hold a URL with the token)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text", secrets: tuple[str | None, ...] | None = None) -> None:
    """Route every log record to stderr, masked; `secrets` (when given) replaces the values
    `redact` masks (see `set_secrets`)."""
    if secrets is not None:
        set_secrets(*secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "telegram.ext.Application"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
