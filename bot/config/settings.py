"""Settings from the environment (and an optional `.env` in the config dir).

Secrets live only here; `repr` redacts them so a log line or traceback never shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_HTTP = "127.0.0.1:8787"


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments and surrounding quotes allowed. Missing file: empty."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    database_url: str
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = frozenset()
    smtp_url: str | None = field(default=None, repr=False)
    email_from: str | None = None
    timezone: str | None = None
    http_address: str | None = DEFAULT_HTTP
    allow_private_networks: bool = False

    def __repr__(self) -> str:
        token = "set" if self.telegram_token else "unset"
        smtp = "set" if self.smtp_url else "unset"
        return (f"Settings(config_dir={str(self.config_dir)!r}, database_url={redact_url(self.database_url)!r}, "
                f"telegram_token={token}, telegram_api_url={self.telegram_api_url!r}, smtp_url={smtp})")

    @classmethod
    def load(cls, config_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        config_dir = Path(config_dir or env.get("NEWSBOT_CONFIG_DIR") or ".").resolve()
        # The real environment wins over .env, as with every dotenv tool.
        env = {**read_dotenv(config_dir / ".env"), **env}
        db = env.get("DATABASE_URL") or f"sqlite:///{config_dir / 'storage' / 'newsbot.db'}"
        admins = frozenset(int(x) for x in env.get("TELEGRAM_ADMIN_IDS", "").replace(" ", "").split(",") if x.lstrip("-").isdigit())
        http = env.get("NEWSBOT_HTTP", DEFAULT_HTTP)
        return cls(
            config_dir=config_dir,
            database_url=db,
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_url=(env.get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
            admin_ids=admins,
            smtp_url=env.get("SMTP_URL") or None,
            email_from=env.get("EMAIL_FROM") or None,
            timezone=env.get("NEWSBOT_TZ") or None,
            http_address=None if http.lower() == "off" else http,
            allow_private_networks=env.get("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "") in ("1", "true", "yes"),
        )


def redact_url(url: str) -> str:
    """Hide the password of a URL such as smtp://user:pass@host or postgresql://u:p@h/db."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
