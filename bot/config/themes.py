"""rules/*.yaml: one theme a file. The schema, loading every problem at once with its
file:line:col (query syntax errors too, placed inside the YAML scalar), and the compiled
matcher of the whole set. Matching itself lives in `bot.match`; nothing here touches the
database or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import Field, field_validator

from bot.config.fields import Slug, Strict, language_problem
from bot.config.layout import RULES_DIR
from bot.config.yamlfile import display_path, load_yaml, position, validate
from bot.errors import ConfigError, Problem, RuleSyntaxError
from bot.match import Matcher, Query, QuerySyntaxError, RuleDef, ThemeDef, compile_query
from bot.match.query import Filter

class RuleModel(Strict):
    id: Slug
    query: str = Field(min_length=1)
    languages: tuple[str, ...] | None = None
    description: str | None = None

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None:
            if not v:
                raise ValueError("must list at least one language, or be left out for all")
            wrong = [why for code in v if (why := language_problem(code))]
            if wrong:
                raise ValueError("; ".join(wrong))
        return v


class ThemeFile(Strict):
    theme: Slug
    title: str
    description: str = ""
    priority: Literal["high", "normal", "low"] = "normal"
    rules: tuple[RuleModel, ...] = Field(min_length=1)
    exclude: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    query: str
    compiled: Query
    languages: tuple[str, ...] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Theme:
    slug: str
    title: str
    description: str
    priority: str  # high | normal | low
    rules: tuple[Rule, ...]
    exclude: str | None = None
    exclude_query: Query | None = None
    path: Path | None = None


class ThemeSet:
    """The validated themes, in file-name order; `matcher()` is compiled once."""

    def __init__(self, themes: list[Theme]):
        self.themes = list(themes)
        self._by_slug = {t.slug: t for t in self.themes}
        self._matcher: Matcher | None = None

    def get(self, slug: str) -> Theme | None:
        return self._by_slug.get(slug)

    def rule(self, rule_id: str) -> tuple[Theme, Rule] | None:
        for theme in self.themes:
            for rule in theme.rules:
                if rule.id == rule_id:
                    return theme, rule
        return None

    @property
    def slugs(self) -> list[str]:
        return [t.slug for t in self.themes]

    def matcher(self) -> Matcher:
        if self._matcher is None:
            self._matcher = Matcher(
                ThemeDef(t.slug, t.priority,
                         tuple(RuleDef(r.id, r.compiled, frozenset(r.languages) if r.languages else None)
                               for r in t.rules),
                         t.exclude_query)
                for t in self.themes)
        return self._matcher

    def __iter__(self) -> Iterator[Theme]:
        return iter(self.themes)

    def __len__(self) -> int:
        return len(self.themes)


def load_themes(config_dir: Path, folder: Path | None = None) -> ThemeSet:
    """Every rules/*.yaml of `config_dir` (or every *.yaml of `folder`, another rules
    directory, e.g. `rules backtest --against`); ConfigError listing every problem of every
    file. No rules/ directory means no themes."""
    folder = Path(config_dir) / RULES_DIR if folder is None else Path(folder)
    if not folder.is_dir():
        return ThemeSet([])
    problems: list[Problem] = []
    themes: list[Theme] = []
    first_rule: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        shown = display_path(path, Path(config_dir))
        try:
            theme = load_theme_file(path, shown, first_rule)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        themes.append(theme)
    for path in sorted(folder.glob("*.yml")):
        problems.append(Problem(display_path(path, Path(config_dir)), None, None,
                                "theme files must end in .yaml (this one is ignored)"))
    if problems:
        raise ConfigError(problems)
    return ThemeSet(themes)


def load_theme_file(path: Path, shown: str, first_rule: dict[str, str] | None = None) -> Theme:
    """One theme file. `first_rule` (rule id -> (file, place)) spans files to catch duplicates.
    The file name, rule id and query checks run on the YAML data itself, so they run even when
    the schema fails elsewhere in the file: one `check` lists every problem."""
    first_rule = {} if first_rule is None else first_rule
    data = load_yaml(path, shown)
    source_lines = path.read_text(encoding="utf-8").splitlines()
    problems: list[Problem] = []
    parsed: ThemeFile | None
    try:
        parsed = validate(ThemeFile, data, shown)
    except ConfigError as exc:
        parsed = None
        problems.extend(exc.problems)
    raw = data if isinstance(data, dict) else {}
    slug = raw.get("theme")
    if isinstance(slug, str) and slug != path.stem:
        line, col = position(data, ("theme",))
        problems.append(Problem(shown, line, col, f"theme: {slug!r} must equal the file name {path.stem!r}"))
    compiled: dict[int, Query] = {}
    raw_rules = raw.get("rules")
    for i, rule in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        if not isinstance(rule, dict):
            continue
        query = rule.get("query")
        if isinstance(query, str) and query:
            result = _compile(query, data, ("rules", i, "query"), source_lines, shown, problems)
            if result is not None:
                compiled[i] = result
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            line, col = position(data, ("rules", i, "id"))
            if rule_id in first_rule:
                problems.append(Problem(shown, line, col,
                                        f"rules[{i}].id: duplicate rule id {rule_id!r} (first in {first_rule[rule_id]})"))
            else:
                first_rule[rule_id] = f"{shown}:{line}"
    exclude = None
    if isinstance(raw.get("exclude"), str):
        exclude = _compile(raw["exclude"], data, ("exclude",), source_lines, shown, problems)
    if problems or parsed is None:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0, p.col or 0)))
    rules = tuple(Rule(r.id, r.query, compiled[i], r.languages, r.description) for i, r in enumerate(parsed.rules))
    return Theme(parsed.theme, parsed.title, parsed.description, parsed.priority, rules,
                 parsed.exclude, exclude, path)


def _compile(text: str, data: Any, loc: tuple, lines: list[str], shown: str,
             problems: list[Problem]) -> Query | None:
    try:
        query = compile_query(text)
    except RuleSyntaxError as exc:
        line, col = position(data, loc)
        def locate(offset: int) -> tuple[int | None, int | None]:
            return scalar_position(lines, line, col, text, offset)
        at_line, at_col = locate(exc.pos)
        if isinstance(exc, QuerySyntaxError):
            message = exc.render(lambda p: "{}:{}".format(*locate(p)))
        else:
            message = exc.message
        problems.append(Problem(shown, at_line, at_col, message))
        return None
    # `lang:fre` parses, and items are never tagged `fre`: the rule would silently never match.
    for node in _filters(query.ast):
        if node.field == "lang" and (why := language_problem(node.value)):
            line, col = position(data, loc)
            at_line, at_col = scalar_position(lines, line, col, text, node.pos + len("lang:"))
            problems.append(Problem(shown, at_line, at_col, f"lang: {why}"))
    return query


def _filters(node: Any) -> Iterator[Filter]:
    """The `source:`, `tag:` and `lang:` filters of a query's tree, in order."""
    if isinstance(node, Filter):
        yield node
    for attr in ("children", "child", "left", "right"):
        sub = getattr(node, attr, None)  # dynamic: whichever of these the node kind has
        for child in sub if isinstance(sub, tuple) else (sub,) if sub is not None else ():
            yield from _filters(child)


def scalar_position(lines: list[str], line: int | None, col: int | None, value: str,
                    offset: int) -> tuple[int | None, int | None]:
    """1-based line and column in the file of character `offset` of the scalar `value` that
    starts at (line, col). Quotes, doubled quotes, escapes, folding and block indentation
    exist only in the file, so the value's characters are matched in order against the
    source, skipping what the value lacks. Falls back to the scalar's start."""
    if line is None or col is None:
        return line, col
    want = min(offset, len(value))
    vi = 0
    last = (line, col)
    for ln in range(line - 1, len(lines)):
        text = lines[ln]
        start = col - 1 if ln == line - 1 else 0
        for cl in range(start, len(text)):
            if vi < len(value) and text[cl] == value[vi]:
                if vi == want:
                    return ln + 1, cl + 1
                vi += 1
                last = (ln + 1, cl + 2)  # just after this character
                if vi == len(value) and want == len(value):
                    return last
        if vi < len(value) and value[vi] == "\n":
            vi += 1  # a literal newline of a block scalar
    return last if want >= vi else (line, col)
