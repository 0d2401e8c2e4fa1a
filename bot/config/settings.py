"""Settings from the environment (and an optional `.env` in the config dir).

Secrets live only here; `repr` redacts them so a log line or traceback never shows them.
Loading never fails: `Settings.problems()` lists the values that cannot work (an unknown
NEWSBOT_TZ, a NEWSBOT_HTTP that is not HOST:PORT, a DATABASE_URL SQLAlchemy cannot open),
placed at `.env:line:col` when the value came from `.env`. The CLI reports them (exit 2,
or in `newsbot check`); nothing here opens a connection.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from bot.errors import ConfigError, Problem

if TYPE_CHECKING:
    from bot.config.deliveries import DeliveriesFile

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_HTTP = "127.0.0.1:8787"


ENVIRONMENT = "environment"  # the place shown for a problem of a variable not from .env


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments and surrounding quotes allowed. Missing file: empty."""
    return {key: value for key, (value, _, _) in _read_dotenv_placed(path).items()}


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _read_dotenv_placed(path: Path, malformed: list[tuple[int, int]] | None = None
                        ) -> dict[str, tuple[str, int, int]]:
    """KEY -> (value, 1-based line, 1-based column where the value starts). The (line, column)
    of each line that is not `KEY=VALUE`, a comment or blank go to `malformed` (they are
    skipped: never repeated, such a line may hold a secret)."""
    values: dict[str, tuple[str, int, int]] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if not _ or not _VARIABLE.fullmatch(key):
            if malformed is not None:
                malformed.append((number, len(raw) - len(raw.lstrip()) + 1))
            continue
        stripped = value.strip()
        col = len(raw) - len(raw.lstrip()) + len(line) - len(value.lstrip()) + 1
        if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
            stripped = stripped[1:-1]
        values[key] = (stripped, number, col)
    return values


def parse_address(value: str) -> tuple[str, int]:
    """`127.0.0.1:8787`, `[::1]:8787` or `:8787` (loopback) -> (host, port)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or any(c.isspace() for c in host):
        raise ValueError(f"NEWSBOT_HTTP must be HOST:PORT or 'off' (got {value!r})")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone that zoneinfo can load."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


DATABASE_HINT = "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB"


def database_url_problem(url: str) -> str | None:
    """Why SQLAlchemy could not open `url`, or None. Only parses the URL and imports the
    dialect and its driver module: no connection. The message never repeats the URL (it
    may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"not a database URL ({DATABASE_HINT})"
    if parsed.drivername == "postgresql":  # as bot.storage.db.make_engine opens it
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"unknown database {parsed.drivername!r} ({DATABASE_HINT})"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        return f"the driver of {parsed.drivername!r} is not installed ({exc.name or exc})"
    return None


_YES = ("1", "true", "yes")
DEFAULT_LEASE_TTL = 300.0
LEASE_TTL_RANGE = (1.0, 86400.0)


def _lease_ttl(text: str) -> float | None:
    """NEWSBOT_LEASE_TTL in seconds (the default when empty), None when it is not such a number."""
    try:
        value = float(text) if text else DEFAULT_LEASE_TTL
    except ValueError:
        return None
    return value if LEASE_TTL_RANGE[0] <= value <= LEASE_TTL_RANGE[1] else None


_NO = ("", "0", "false", "no")


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
    # What `load` could not use, kept for `problems()`: entries of TELEGRAM_ADMIN_IDS that are
    # not user ids, and a NEWSBOT_ALLOW_PRIVATE_NETWORKS that is neither yes nor no.
    rejected_admin_ids: tuple[str, ...] = field(default=(), repr=False, compare=False)
    unclear_private_networks: str | None = field(default=None, repr=False, compare=False)
    # Seconds a worker's claim on a source or a delivery lasts (NEWSBOT_LEASE_TTL), and the
    # value when it was not such a number.
    lease_ttl: float = DEFAULT_LEASE_TTL
    bad_lease_ttl: str | None = field(default=None, repr=False, compare=False)
    # Variable -> (file, line, col) of the values that came from `.env`, to place problems.
    origins: Mapping[str, tuple[str, int, int]] = field(default_factory=dict, repr=False, compare=False)
    # (line, col) of the `.env` lines that are not KEY=VALUE (ignored, and never shown).
    malformed_dotenv: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

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
        malformed: list[tuple[int, int]] = []
        dotenv = _read_dotenv_placed(config_dir / ".env", malformed)
        origins = {key: (".env", line, col) for key, (_, line, col) in dotenv.items() if key not in env}
        env = {**{key: value for key, (value, _, _) in dotenv.items()}, **env}
        db = env.get("DATABASE_URL") or f"sqlite:///{config_dir / 'storage' / 'newsbot.db'}"
        admin_entries = [x.strip() for x in env.get("TELEGRAM_ADMIN_IDS", "").split(",") if x.strip()]
        admins = frozenset(int(x) for x in admin_entries if x.lstrip("-").isdigit())
        private = env.get("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "").strip().lower()
        lease_text = env.get("NEWSBOT_LEASE_TTL", "").strip()
        lease_ttl = _lease_ttl(lease_text)
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
            allow_private_networks=private in _YES,
            rejected_admin_ids=tuple(x for x in admin_entries if not x.lstrip("-").isdigit()),
            unclear_private_networks=None if private in _YES + _NO else private,
            lease_ttl=DEFAULT_LEASE_TTL if lease_ttl is None else lease_ttl,
            bad_lease_ttl=lease_text if lease_ttl is None else None,
            origins=origins,
            malformed_dotenv=tuple(malformed),
        )

    def problems(self) -> list[Problem]:
        """Every value that cannot work, as `Problem`s (at `.env:line:col` when from .env)."""
        found: list[Problem] = [
            Problem(".env", line, col, "not a KEY=VALUE line (KEY of letters, digits and _); "
                                       "it is ignored")
            for line, col in self.malformed_dotenv]

        def add(variable: str, message: str) -> None:
            file, line, col = self.origins.get(variable, (ENVIRONMENT, None, None))
            found.append(Problem(file, line, col, f"{variable}: {message}"))

        if self.timezone is not None and not is_time_zone(self.timezone):
            add("NEWSBOT_TZ", f"unknown time zone {self.timezone!r} (use a name such as Europe/Brussels)")
        if self.http_address is not None:
            try:
                parse_address(self.http_address)
            except ValueError:
                add("NEWSBOT_HTTP", f"{self.http_address!r} is not HOST:PORT (such as 127.0.0.1:8787) or 'off'")
        if why := database_url_problem(self.database_url):
            add("DATABASE_URL", why)
        for entry in self.rejected_admin_ids:
            add("TELEGRAM_ADMIN_IDS", f"{entry!r} is not a Telegram user id (a number such as 123456789; "
                                      "a @username cannot be used)")
        if not self.telegram_api_url.lower().startswith(("http://", "https://")):
            add("TELEGRAM_API_URL", f"{self.telegram_api_url!r} is not an http(s) URL")
        if self.smtp_url:
            from bot.config.smtp import parse_smtp_url

            try:
                parse_smtp_url(self.smtp_url)
            except ConfigError as exc:   # the messages never hold the URL itself
                for problem in exc.problems:
                    add("SMTP_URL", problem.message.removeprefix("SMTP_URL: "))
            if not self.email_from:
                add("EMAIL_FROM", "required when SMTP_URL is set")
        if self.bad_lease_ttl is not None:
            add("NEWSBOT_LEASE_TTL", f"{self.bad_lease_ttl!r} is not seconds between {LEASE_TTL_RANGE[0]:g} "
                                     f"and {LEASE_TTL_RANGE[1]:g}")
        if self.unclear_private_networks is not None:
            add("NEWSBOT_ALLOW_PRIVATE_NETWORKS", f"{self.unclear_private_networks!r} is neither 1/true/yes nor 0/false/no")
        return found

    def schedule_tz(self, deliveries: DeliveriesFile) -> str | None:
        """The time zone of schedules: NEWSBOT_TZ, else deliveries.yaml's `timezone` (UTC
        when it names none)."""
        return self.timezone or deliveries.timezone

    def check(self) -> None:
        """Raise ConfigError listing every problem of `problems()`."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)


def redact_url(url: str) -> str:
    """Hide the password of a URL such as smtp://user:pass@host or postgresql://u:p@h/db."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
