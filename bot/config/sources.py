"""sources.yaml: the schema, and loading with every problem reported at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from bot.config.durations import format_duration, parse_duration
from bot.config.fields import CountryCode, Duration, LanguageCode, Size, Slug, Strict
from bot.config.yamlfile import display_path, load_yaml_text, position, read_text, validate
from bot.errors import ConfigError, Problem

SOURCES_FILE = "sources.yaml"
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)
# A zero timeout fails every poll, a negative or zero size cap every response; an hour-long
# timeout or a gigabyte body is a typo, not a feed.
MIN_TIMEOUT, MAX_TIMEOUT = timedelta(seconds=1), timedelta(minutes=10)
MIN_SIZE, MAX_SIZE = 1024, 1024**3


class Defaults(Strict):
    interval: Duration = timedelta(minutes=30)
    min_interval: Duration = MIN_INTERVAL     # busy sources are polled faster, down to this
    max_interval: Duration | None = None      # quiet sources may be polled slower, up to this
    language: LanguageCode | None = None
    timeout: Duration = timedelta(seconds=20)
    max_size: Size = 10 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0, le=20)
    per_host: int = Field(default=2, ge=1, le=32)
    user_agent: str | None = None

    @field_validator("interval", "min_interval")
    @classmethod
    def _interval_bounds(cls, v: timedelta) -> timedelta:
        return _check_interval(v)

    @field_validator("timeout")
    @classmethod
    def _timeout_bounds(cls, v: timedelta) -> timedelta:
        if not MIN_TIMEOUT <= v <= MAX_TIMEOUT:
            raise ValueError("must be between 1s and 10m")
        return v

    @field_validator("max_size")
    @classmethod
    def _size_bounds(cls, v: int) -> int:
        if not MIN_SIZE <= v <= MAX_SIZE:
            raise ValueError("must be between 1KB and 1024MB")
        return v
    @field_validator("max_interval")
    @classmethod
    def _max_interval_bounds(cls, v: timedelta | None) -> timedelta | None:
        return None if v is None else _check_interval(v)


def _check_interval(v: timedelta) -> timedelta:
    if v < MIN_INTERVAL:
        raise ValueError("must be at least 5m")
    if v > MAX_INTERVAL:
        raise ValueError("must be at most 24h")
    return v


class HtmlSelectors(Strict):
    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None


class Source(Strict):
    id: Slug
    name: str | None = None
    url: str
    type: Literal["auto", "feed", "html"] = "auto"
    tags: tuple[str, ...] = ()
    language: LanguageCode | None = None
    country: CountryCode | None = None  # for items that name no place (a local outlet)
    interval: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    enabled: bool = True
    weight: float = Field(default=1.0, gt=0, le=10)
    html: HtmlSelectors | None = None
    site: str | None = None   # the site's home page (an OPML `htmlUrl`), for people and exports

    @field_validator("url", "site")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http or https URL")
        return v

    @field_validator("interval", "min_interval", "max_interval")
    @classmethod
    def _interval_bounds(cls, v: timedelta | None) -> timedelta | None:
        return None if v is None else _check_interval(v)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class SourcesFile(Strict):
    defaults: Defaults = Defaults()
    sources: tuple[Source, ...] = ()


class SourcesConfig:
    """The validated source list, with each source's effective settings."""

    def __init__(self, parsed: SourcesFile, path: Path):
        self.path = path
        self.defaults = parsed.defaults
        self.sources = parsed.sources
        self._by_id = {s.id: s for s in parsed.sources}

    def get(self, source_id: str) -> Source | None:
        return self._by_id.get(source_id)

    def interval(self, source: Source) -> timedelta:
        return source.interval or self.defaults.interval

    def min_interval(self, source: Source) -> timedelta:
        return source.min_interval or self.defaults.min_interval

    def max_interval(self, source: Source) -> timedelta | None:
        """None: the source is never polled slower than its `interval` while healthy."""
        return source.max_interval or self.defaults.max_interval

    def language(self, source: Source) -> str | None:
        return source.language or self.defaults.language

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def display_names(self) -> dict[str, str]:
        """Display name per source id (its `name`, else the id): what messages and emails show."""
        return {s.id: s.display_name for s in self.sources}

    def weights(self) -> dict[str, float]:
        """`weight` per source id, for ranking."""
        return {s.id: s.weight for s in self.sources}



def load_sources(config_dir: Path) -> SourcesConfig:
    path = config_dir / SOURCES_FILE
    shown = display_path(path, config_dir)
    text = read_text(path, shown)
    # The fast loader carries no positions: a file with problems is read again to place them.
    fast = load_yaml_text(text, shown, fast=True)
    try:
        parsed = SourcesFile.model_validate(fast or {})
    except ValidationError:
        parsed = None
    if parsed is not None and not _find_problems(fast, shown):
        return SourcesConfig(parsed, path)
    # Same data, so this finds the same problems again, now with file:line:col. The checks
    # across entries run even when the schema failed, so one run lists every problem.
    data = load_yaml_text(text, shown)
    problems: list[Problem] = []
    try:
        validate(SourcesFile, data, shown)
    except ConfigError as exc:
        problems.extend(exc.problems)
    problems.extend(_find_problems(data, shown))
    raise ConfigError(sorted(problems, key=lambda p: p.line or 0))  # stable: by line, then as found


def _find_problems(data: object, shown: str) -> list[Problem]:
    """Checks across entries, on the YAML data itself so that they also run when some entry
    fails the schema: duplicate ids (of every entry whose id is a string) and html sources
    without selectors. Positions when `data` is round-trip YAML, none from the fast loader."""
    entries = data.get("sources") if isinstance(data, dict) else None
    problems: list[Problem] = _interval_order_problems(data, shown)
    seen: dict[str, int] = {}
    for i, src in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(src, dict):
            continue
        source_id = src.get("id")
        if isinstance(source_id, str):
            if source_id in seen:
                line, col = position(data, ("sources", i, "id"))
                problems.append(Problem(shown, line, col, f"sources[{i}].id: duplicate id {source_id!r} "
                                                          f"(first at sources[{seen[source_id]}])"))
            else:
                seen[source_id] = i
        if src.get("type") == "html" and src.get("html") is None:
            line, col = position(data, ("sources", i))
            problems.append(Problem(shown, line, col, f"sources[{i}].html: type html needs html selectors (item, title, link)"))
    return problems


def _duration_or_none(value: object) -> timedelta | None:
    """A duration as the schema reads it, or None (absent or invalid: the schema reports it)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _interval_order_problems(data: object, shown: str) -> list[Problem]:
    """min_interval <= interval <= max_interval, for `defaults:` and for each source's own
    values against its effective interval."""
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = []
    raw_defaults = data.get("defaults")
    defaults: dict[str, object] = raw_defaults if isinstance(raw_defaults, dict) else {}
    default_interval = _duration_or_none(defaults.get("interval")) or Defaults().interval

    def check(where: str, loc: tuple[str | int, ...], block: dict[str, object], interval: timedelta) -> None:
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            return   # the interval itself is reported by the schema
        low, high = _duration_or_none(block.get("min_interval")), _duration_or_none(block.get("max_interval"))
        shown_interval = format_duration(interval)
        if high is not None and high < interval:
            line, col = position(data, (*loc, "max_interval"))
            problems.append(Problem(shown, line, col, f"{where}.max_interval: must be at least the interval "
                                                      f"({shown_interval}), got {format_duration(high)}"))
        if low is not None and low > interval:
            line, col = position(data, (*loc, "min_interval"))
            problems.append(Problem(shown, line, col, f"{where}.min_interval: must be at most the interval "
                                                      f"({shown_interval}), got {format_duration(low)}"))

    check("defaults", ("defaults",), defaults, default_interval)
    entries = data.get("sources")
    for i, src in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(src, dict):
            check(f"sources[{i}]", ("sources", i), src, _duration_or_none(src.get("interval")) or default_interval)
    return problems
