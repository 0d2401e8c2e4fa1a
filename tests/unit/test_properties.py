"""Property-based tests (hypothesis): whatever text a coordinator or a feed hands newsbot,
the answer is a result or one of newsbot's own errors, never another exception.

- rule queries: a compiled query or a RuleSyntaxError whose offset lies in the query;
- sources.yaml, rules/*.yaml and deliveries.yaml: a loaded config or a ConfigError whose
  every problem names its file and line;
- feed bytes through bot.parse (and bot.parse.items): a ParsedFeed of items or a FetchError.

Deterministic for CI (derandomize, no example database) and kept small: the examples are
built from the syntax of each format, so few of them reach deep into the code.
"""

from __future__ import annotations

import io
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.config.deliveries import load_deliveries
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.errors import ConfigError, FetchError, RuleSyntaxError
from bot.match import compile_query
from bot.model import Item
from bot.parse import ParsedFeed, parse_document

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)

# ---- rule queries ------------------------------------------------------------------------

QUERY_TOKENS = ["(", ")", '"', "-", "*", ":", " ", "AND", "OR", "NOT", "NEAR", "NEAR/3", "NEAR/0",
                "NEAR/999", "title:", "summary:", "text:", "source:", "tag:", "lang:", "lang:fr",
                "lang:xx", "migra*", "m*", "push-back", "l'asile", "Ελλάδα", "مهاجر", "a", "é",
                "\x00", "\ud83d", "🚤", "((((", "))))", "NOT NOT", '"a b"', '""', "foo:bar"]
queries = st.one_of(
    st.lists(st.sampled_from(QUERY_TOKENS), max_size=30).map("".join),
    st.lists(st.sampled_from(QUERY_TOKENS), max_size=30).map(" ".join),
    st.text(max_size=60),
)


@SETTINGS
@given(queries)
def test_a_query_compiles_or_is_a_placed_syntax_error(query):
    try:
        compile_query(query)
    except RuleSyntaxError as exc:
        assert 0 <= exc.pos <= len(query), (exc.pos, query)
        assert str(exc)


# ---- YAML configuration ------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(), st.text(max_size=12),
                    st.sampled_from(["30m", "1h30m", "0s", "10e23h", "-1", "10MB", "-1KB", "en", "xx",
                                     "all", "https://example.org/feed", "ftp://x", "daily 08:00",
                                     "Europe/Brussels", "Mars/Olympus", "\x1b[31m", "migra* NEAR/3 (boat"]))


def values(keys: list[str]):
    names = st.one_of(st.sampled_from(keys), st.text(max_size=6))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(names, inner, max_size=5), max_leaves=25)


SOURCE_KEYS = ["id", "name", "url", "type", "tags", "language", "interval", "enabled", "weight", "html",
               "site", "item", "title", "link", "timeout", "max_size", "max_redirects", "per_host"]
sources_docs = st.fixed_dictionaries({
    "defaults": st.dictionaries(st.sampled_from(["interval", "language", "timeout", "max_size",
                                                 "max_redirects", "per_host", "user_agent"]), scalars),
    "sources": st.lists(st.dictionaries(st.sampled_from(SOURCE_KEYS), values(SOURCE_KEYS), max_size=6),
                        max_size=4),
})
THEME_KEYS = ["theme", "title", "description", "priority", "rules", "exclude", "id", "query", "languages"]
theme_docs = st.fixed_dictionaries({
    "theme": st.sampled_from(["x", "X", "other"]),
    "title": scalars,
    "rules": st.lists(st.fixed_dictionaries({"id": st.sampled_from(["r1", "r2", "Bad Id"]), "query": queries},
                                            optional={"languages": values(["en", "fr", "xx"])}), max_size=3),
}, optional={"exclude": queries, "priority": scalars})
DELIVERY_KEYS = ["timezone", "telegram", "chats", "chat", "themes", "regions", "languages", "alerts", "digest",
                 "email", "weekly", "lists", "name", "to", "storage", "retention", "day", "time"]
deliveries_docs = values(DELIVERY_KEYS)

YAML_SYNTAX = list("[]{}:-,#&*!|>'\"\n \t%@`?ab01") + ["\x07", "\x00", "\ufeff", "\u0085", "\ud800", "- ",
                                                      ": ", "[" * 120, "- " * 120, "\n  "]
raw_yaml = st.lists(st.sampled_from(YAML_SYNTAX), max_size=80).map("".join)


def dump(doc: object) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)  # the C emitter refuses lone surrogates
    return out.getvalue()


def texts(docs):
    return st.one_of(docs.map(dump), raw_yaml)


def loads_or_places(loader, folder: Path) -> None:
    try:
        loader(folder)
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file and problem.line is not None and problem.line >= 1, str(problem)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")


@SETTINGS
@given(texts(sources_docs))
def test_sources_yaml_loads_or_every_problem_is_placed(text):
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "sources.yaml", text)
        loads_or_places(load_sources, Path(tmp))


@SETTINGS
@given(texts(theme_docs))
def test_a_theme_file_loads_or_every_problem_is_placed(text):
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "rules" / "x.yaml", text)
        loads_or_places(load_themes, Path(tmp))


@SETTINGS
@given(texts(deliveries_docs))
def test_deliveries_yaml_loads_or_every_problem_is_placed(text):
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "deliveries.yaml", text)
        loads_or_places(load_deliveries, Path(tmp))


# ---- feed bytes -> bot.parse -> bot.parse.items -------------------------------------------------

HOSTILE_TEXT = ["<!--", "-->", "&#55357;&#56832;", "&#55357;", "&#0;", "&#7;", "\x1b[31m", "&lang=fr",
                "&copy=", "<![CDATA[", "]]>", "<b>", "</p>", "&amp;", "&", "<", "Détention", "Ελλάδα",
                "مهاجر", "🚤", "\u202e", "https://example.org/a?b=1&c=2", "at://x", "javascript:alert(1)"]
field_text = st.one_of(st.lists(st.sampled_from(HOSTILE_TEXT), max_size=8).map("".join), st.text(max_size=40))
DATES = ["Sat, 01 Nov 2025 10:00:00 GMT", "mer, 16 nov 2022 00:38:15 +0100", "2025-11-01T10:00:00Z",
         "31/02/2025", "", "Fri, 31 Dec 9999 23:59:59 GMT", "0000-00-00"]


@st.composite
def feeds(draw) -> bytes:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;") if draw(st.booleans()) else s

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        entries.append(f"<item><title>{esc(draw(field_text))}</title><link>{esc(draw(field_text))}</link>"
                       f"<guid>{esc(draw(field_text))}</guid><description>{esc(draw(field_text))}</description>"
                       f"<pubDate>{draw(st.sampled_from(DATES))}</pubDate></item>")
    doc = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{esc(draw(field_text))}"
           f"</title><ttl>{draw(st.sampled_from(['30', '-1', '99999999999999999999', 'x']))}</ttl>"
           + "".join(entries) + "</channel></rss>")
    data = doc.encode("utf-8", errors="surrogatepass")
    cut = draw(st.integers(0, len(data)))
    return data if draw(st.booleans()) else data[:cut]


@SETTINGS
@given(st.one_of(feeds(), st.binary(max_size=200)),
       st.sampled_from([None, "application/rss+xml", "text/html", "application/json"]))
def test_feed_bytes_give_items_or_a_fetch_error(body, content_type):
    try:
        parsed = parse_document(body, url="https://feed.example/rss", content_type=content_type, kind="auto",
                                source_id="src", now=NOW)
    except FetchError as exc:
        assert exc.kind in ("parse-error", "not-a-feed"), exc.kind
        return
    assert isinstance(parsed, ParsedFeed)
    for item in parsed.items:
        assert isinstance(item, Item) and isinstance(item.title, str) and item.guid
