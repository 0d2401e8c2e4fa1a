"""The compiled matcher: every rule of every theme, indexed once, run against items.

Owns: per item language, one Aho-Corasick automaton over the anchors of all rules' terms and an
index from term keys to the rules they can trigger; scanning an item's folded fields once;
evaluating only the candidate rules (plus the few that can match without any term, such as
`NOT x` or `source:y`); theme-level excludes; the order of hits. Must not read files, the
database or the network: themes come in as plain `ThemeDef`s.

Cost per item: folding the text (C-level), one automaton pass per field (C-level), a little
Python per anchor hit, and one closure call per candidate rule. It grows with the text and with
the rules an item can actually trigger, not with the number of rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import ahocorasick

from bot.match.compile import FIELD_BREAK, Compiler, Ctx, Eval
from bot.match.text import fold_text, language_code, stems_for

if TYPE_CHECKING:
    from bot.match import Query
    from bot.match.explain import Explanation
    from bot.model import Matchable

log = logging.getLogger(__name__)

PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class RuleDef:
    id: str
    query: "Query"
    languages: frozenset[str] | None = None  # None: every language


@dataclass(frozen=True)
class ThemeDef:
    slug: str
    priority: str
    rules: tuple[RuleDef, ...]
    exclude: "Query | None" = None


@dataclass
class ThemeHit:
    theme: str
    priority: str
    rules: list[str]
    explanations: list["Explanation"]

    def to_dict(self) -> dict:
        return {"theme": self.theme, "priority": self.priority, "rules": list(self.rules),
                "explanations": [e.to_dict() for e in self.explanations]}


class _Program:
    """Everything compiled for one item language."""

    def __init__(self, themes: Sequence[ThemeDef], lang: str | None):
        self.lang = lang
        self.stems = stems_for(lang)
        comp = self.compiler = Compiler(lang)
        self.rules: list[tuple[int, RuleDef, Eval]] = []  # (theme index, rule, evaluator)
        trigger: dict[str, list[int]] = {}
        always: list[int] = []
        self.excludes: list[Eval | None] = []
        for t_index, theme in enumerate(themes):
            self.excludes.append(comp.compile(theme.exclude.ast) if theme.exclude is not None else None)
            for rule in theme.rules:
                if rule.languages is not None and lang not in rule.languages:
                    continue
                r_index = len(self.rules)
                self.rules.append((t_index, rule, comp.compile(rule.query.ast)))
                keys = comp.trigger(rule.query.ast)
                if keys is None:
                    always.append(r_index)
                else:
                    for key in keys:
                        trigger.setdefault(key, []).append(r_index)
        self.trigger = {k: tuple(v) for k, v in trigger.items()}
        self.always = tuple(always)
        self.automaton = None
        anchors: dict[str, list[tuple]] = {}
        for spec in comp.terms.values():
            # mode 0: the anchor proves the term; 1: one stemmed word to verify; 2: several words
            mode = 0 if spec.complete else 1 if len(spec.parts) == 1 and spec.parts[0][0] == "s" else 2
            verify = spec.parts[0][1] if mode == 1 else spec.parts
            anchors.setdefault(spec.anchor, []).append((spec.key, mode, len(spec.anchor), verify))
        if anchors:
            automaton = ahocorasick.Automaton()
            for anchor, entries in anchors.items():
                automaton.add_word(anchor, tuple(entries))
            automaton.make_automaton()
            self.automaton = automaton

    def scan(self, text: str, found: dict, summary_at: int, text_at: int) -> None:
        """Record in `found` every term occurring in `text` (folded fields joined by
        FIELD_BREAK; the summary starts at `summary_at`, the text at `text_at`)."""
        stems = self.stems
        for end, entries in self.automaton.iter(text):
            for key, mode, length, verify in entries:
                start = end - length + 2  # the anchor starts with the space before the word
                if mode == 0:
                    stop = end if text[end] == " " else text.find(" ", end)
                elif mode == 1:
                    stop = text.find(" ", end)
                    if stems[text[start:stop]] != verify:
                        continue
                else:
                    stop = _verify(text, start, verify, stems)
                    if stop < 0:
                        continue
                occurrence = (0 if start < summary_at else 1 if start < text_at else 2, start, stop)
                occurrences = found.get(key)
                if occurrences is None:
                    found[key] = [occurrence]
                else:
                    occurrences.append(occurrence)


def _verify(text: str, pos: int, parts: tuple[tuple[str, str], ...], stems: dict) -> int:
    """End offset of the words at `pos` matching `parts`, or -1."""
    n = len(text)
    for i, (kind, value) in enumerate(parts):
        if i:
            while pos < n and text[pos] == " ":
                pos += 1
        stop = text.find(" ", pos)
        if stop <= pos:
            return -1
        word = text[pos:stop]
        if kind == "s":
            if stems[word] != value:
                return -1
        elif kind == "x":
            if word != value:
                return -1
        elif not word.startswith(value):
            return -1
        pos = stop
    return pos


class Matcher:
    """Compiled once from the themes; `match(item)` is safe to call from one thread at a time
    per language (the per-language programs are built lazily on first use)."""

    def __init__(self, themes: Iterable[ThemeDef]):
        self.themes = tuple(themes)
        self._programs: dict[str | None, _Program] = {}

    @property
    def rule_count(self) -> int:
        return sum(len(t.rules) for t in self.themes)

    def program(self, language: str | None) -> _Program:
        lang = language_code(language)
        prog = self._programs.get(lang)
        if prog is None:
            prog = self._programs[lang] = _Program(self.themes, lang)
        return prog

    def context(self, item: "Matchable", prog: _Program) -> Ctx:
        title = fold_text(item.title or "")
        summary = fold_text(item.summary or "")
        text = f"{title}{FIELD_BREAK}{summary}{FIELD_BREAK}{fold_text(item.text or '')}"
        found: dict = {}
        if prog.automaton is not None:
            summary_at = len(title) + 1
            prog.scan(text, found, summary_at, summary_at + len(summary) + 1)
        return Ctx(found, text, item.source_id or "", item.tags or (), prog.lang)

    def matching(self, item: "Matchable") -> tuple[_Program, Ctx, dict[int, list[int]], dict[int, list[int]]]:
        """(program, context, {theme index: rule indexes hit}, {theme index: rule indexes
        dropped by the theme's exclude}), with no explanation work: the hot path."""
        prog = self.program(item.language)
        ctx = self.context(item, prog)
        trigger = prog.trigger
        candidates = set(prog.always)
        for key in ctx.found:
            rules = trigger.get(key)
            if rules:
                candidates.update(rules)
        hit: dict[int, list[int]] = {}
        excluded: dict[int, list[int]] = {}
        if not candidates:
            return prog, ctx, hit, excluded
        program_rules = prog.rules
        for r_index in sorted(candidates):
            t_index, _, evaluate = program_rules[r_index]
            if evaluate(ctx):
                hit.setdefault(t_index, []).append(r_index)
        for t_index in list(hit):
            exclude = prog.excludes[t_index]
            if exclude is not None and exclude(ctx):
                excluded[t_index] = hit.pop(t_index)
        return prog, ctx, hit, excluded

    def match(self, item: "Matchable", *, explain: bool = True) -> list[ThemeHit]:
        """The themes `item` belongs to, high priority first, each with the rules that matched
        and (unless explain=False) why."""
        prog, ctx, hit, _ = self.matching(item)
        if not hit:
            return []
        out = []
        for t_index in sorted(hit, key=lambda i: (PRIORITY_ORDER.get(self.themes[i].priority, 1), i)):
            theme = self.themes[t_index]
            rules = [prog.rules[r][1] for r in hit[t_index]]
            explanations = []
            if explain:
                from bot.match.explain import explain_rule

                explanations = [explain_rule(item, prog, rule) for rule in rules]
            out.append(ThemeHit(theme.slug, theme.priority, [r.id for r in rules], explanations))
            log.debug("item %r hits theme %s by rules %s", (item.title or "")[:60], theme.slug,
                      ",".join(r.id for r in rules))
        return out
