"""Property-based tests (hypothesis): whatever text a coordinator or a feed hands newsbot,
the answer is a result or one of newsbot's own errors, never another exception.
- sources.yaml, rules/*.yaml and deliveries.yaml: a loaded config or a ConfigError whose
  every problem names its file and line.
Deterministic for CI (derandomize, no example database) and kept small: the examples are
built from the syntax of each format, so few of them reach deep into the code
(tests/support/strategies.py).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.config.deliveries import load_deliveries
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.errors import ConfigError
from support.strategies import SETTINGS, queries


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
