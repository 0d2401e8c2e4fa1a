"""The compiled matcher: every rule of every theme, indexed once, run against items.

Owns: per item language, the rules compiled to closures, an index from units (see
`compile.py`) to the rules they can trigger, a lazily learned table from folded words to the
units they satisfy; tokenising an item once; evaluating only the candidate rules (plus the few
that can match without any word, such as `NOT x` or `source:y`); theme-level excludes; the
order of hits. Must not read files, the database or the network: themes come in as plain
`ThemeDef`s.

Cost per item, in steady state: one C-level pass that cuts the item's text into raw tokens
(`text.raw_tokens`: ASCII lowered, no folding) and maps each to the record number learned for
it, then a little Python per distinct *triggering* record and one closure call per candidate
rule. A raw token is folded, stemmed and checked against the rules' stems, exact words and
prefixes only the first time a program meets it; that table is bounded (cleared past
MAX_WORDS) so memory stays flat. The candidates are the rules whose first (rarest) trigger set
one of the item's records hits, kept when one of its records is among those learned to hit
their second set; an item without candidates gets no context at all. For the others, the
context's units are only those the candidates (and their themes' excludes) may test, looked
up by unit -> records. Fields are folded into words only for candidate rules that need
positions, a field or a phrase. The cost grows with the text and with what an item can
actually trigger, not with the number of rules.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from bot.match.compile import Compiler, Eval
from bot.match.context import Ctx
from bot.match.text import has_stemmer, raw_tokens, stems_for, token_words
from bot.tagging.language import primary_subtag

if TYPE_CHECKING:
    from bot.match import Query
    from bot.match.explain import Explanation
    from bot.model import Matchable

log = logging.getLogger(__name__)

PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}
# Distinct words a program remembers before starting afresh: news vocabulary (names, numbers,
# typos) is unbounded; relearning costs one stem per word (~40 µs, the stem cache is shared).
MAX_WORDS = 500_000
# After how many items of a language its trigger sets are chosen again from observed frequencies.
REINDEX_AT = (200, 2000)


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

    def to_dict(self) -> dict[str, object]:
        return {"theme": self.theme, "priority": self.priority, "rules": list(self.rules),
                "explanations": [e.to_dict() for e in self.explanations]}


class _Program:
    """Everything compiled for one item language, and the words it has learned."""

    def __init__(self, themes: Sequence[ThemeDef], lang: str | None):
        self.lang = lang
        comp = self.compiler = Compiler(lang)
        self.rules: list[tuple[int, RuleDef, Eval]] = []  # (theme index, rule, evaluator)
        self.excludes: list[Eval | None] = []
        for t_index, theme in enumerate(themes):
            self.excludes.append(comp.compile(theme.exclude.ast) if theme.exclude is not None else None)
            for rule in theme.rules:
                if rule.languages is not None and lang not in rule.languages:
                    continue
                self.rules.append((t_index, rule, comp.compile(rule.query.ast)))
        # Per rule, the units its closure and its theme's exclude may test: an item's
        # `Ctx.units` is worked out for its candidates' units only (a few), not as the union
        # of every unit its words satisfy (at 10,000 rules, ~90 units from ~65 records).
        exclude_units = [comp.units_of(t.exclude.ast) if t.exclude is not None else set() for t in themes]
        self.needs = [tuple(comp.units_of(rule.query.ast) | exclude_units[t_index])
                      for t_index, rule, _ in self.rules]
        # Records (see below), one list per part, indexed by record number; unit id -> the
        # records holding it.
        self.rec_units: list[frozenset[int]] = [frozenset()]
        self.unit_records: list[set[int]] = [set() for _ in comp.units]
        self.rec_first: list[frozenset[int]] = []
        self._record_of: dict[frozenset[int], int] = {frozenset(): 0}
        # Items each record (so each unit) was met in, on the first items of this language:
        # the trigger sets are chosen again from them, twice (REINDEX_AT).
        self.observed = 0
        self.record_counts: Counter[int] = Counter()
        self.index()
        # What a new word is checked against, once: its stem, itself, its leading letters.
        self.stems = stems_for(lang) if has_stemmer(lang) else None
        self.by_stem: dict[str, int] = {}
        self.by_word: dict[str, int] = {}
        self.by_prefix: dict[str, int] = {}
        for uid, (kind, value) in enumerate(comp.units):
            {"s": self.by_stem, "x": self.by_word, "p": self.by_prefix}[kind][value] = uid
        self.prefix_lengths = sorted({len(p) for p in self.by_prefix})
        # seen: raw token (`raw_tokens`) -> record number, for every token learned; record r
        # holds the unit ids its words satisfy (rec_units[r]) and the rules whose first
        # trigger set those hit (rec_first[r]); tokens with the same units share a record;
        # record 0: no unit. trig: folded word -> unit ids, for the words that satisfy any
        # (word positions, `title:`).
        self.seen: dict[bytes, int] = {}
        self.trig: dict[str, frozenset[int]] = {}
        self.unit_words: dict[int, set[str]] = {}
        self.evals = [evaluate for _, _, evaluate in self.rules]
        self.theme_of = [t_index for t_index, _, _ in self.rules]

    def index(self) -> None:
        """(Re)build the candidate index: each rule's two trigger sets, by unit, and every
        record's rule sets. Run at start and when observed frequencies replace the guesses."""
        comp = self.compiler
        unit_rules: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        always: list[int] = []
        # rule -> the records whose units hit its second trigger set, tested against the
        # item's records once the first set is hit (None: the same set twice, or no set)
        self.second: list[set[int] | None] = []
        for r_index, (_, rule, _) in enumerate(self.rules):
            pair = comp.triggers(rule.query.ast)
            if pair is None:
                always.append(r_index)
                self.second.append(None)
            else:
                for side, units in enumerate(pair if pair[0] != pair[1] else pair[:1]):
                    for u in units:
                        unit_rules[side].setdefault(u, []).append(r_index)
                self.second.append(set() if pair[0] != pair[1] else None)
        self.unit_rules = tuple({u: tuple(v) for u, v in side.items()} for side in unit_rules)
        self.always = tuple(always)
        del self.rec_first[:]
        self.with_first: set[int] = set()  # records whose rec_first is not empty
        for record in range(len(self.rec_units)):
            self._derive(record)

    def _derive(self, record: int) -> None:
        first_rules, second_rules = self.unit_rules
        units = self.rec_units[record]
        first = frozenset().union(*(first_rules.get(u, ()) for u in units))
        self.rec_first.append(first)
        if first:
            self.with_first.add(record)
        second = self.second
        for u in units:
            for r_index in second_rules.get(u, ()):
                # a rule is in second_rules only when it has a second set (not None)
                second[r_index].add(record)  # type: ignore[union-attr]

    def observe(self, found: set[int]) -> None:
        """Count the item's records; at REINDEX_AT items, choose the trigger sets again by the
        observed unit frequencies (rarest first): fewer candidate rules than length-based
        guesses. A unit's count is the sum of its records' (an upper bound: two tokens of one
        item may share a unit), enough to rank units."""
        self.record_counts.update(found)
        self.observed += 1
        if self.observed in REINDEX_AT:
            freq: Counter[int] = Counter()
            for record, count in self.record_counts.items():
                for u in self.rec_units[record]:
                    freq[u] += count
            n = self.observed
            self.compiler.frequency = {u: (freq[u] + 0.5) / (n + 1) for u in range(len(self.compiler.units))}
            self.index()
            log.debug("program %s: trigger sets chosen from %d items' unit frequencies", self.lang, n)

    def word_units(self, word: str) -> list[int]:
        """The units a folded word satisfies: its stem, itself, its leading letters."""
        units = []
        if self.by_stem:
            # by_stem has entries only for a language with a stemmer, so stems is set
            u = self.by_stem.get(self.stems[word])  # type: ignore[index]
            if u is not None:
                units.append(u)
        u = self.by_word.get(word)
        if u is not None:
            units.append(u)
        by_prefix = self.by_prefix
        for n in self.prefix_lengths:
            if n > len(word):
                break
            u = by_prefix.get(word[:n])
            if u is not None:
                units.append(u)
        return units

    def learn(self, new: Iterable[bytes]) -> None:
        """Learn raw tokens never met before: fold them (once), note what their words satisfy."""
        trig = self.trig
        for token in new:
            units: set[int] = set()
            for word in token_words(token):
                found: frozenset[int] | list[int] | None = trig.get(word)
                if found is None:
                    found = self.word_units(word)
                    if found:
                        trig[word] = frozenset(found)
                        for u in found:
                            self.unit_words.setdefault(u, set()).add(word)
                units.update(found)
            key = frozenset(units)
            record = self._record_of.get(key)
            if record is None:
                record = self._record_of[key] = len(self.rec_units)
                self.rec_units.append(key)
                for u in key:
                    self.unit_records[u].add(record)
                self._derive(record)
            self.seen[token] = record

    def context(self, item: "Matchable") -> tuple[Ctx | None, set[int]]:
        """The item's context and its candidate rules (ids); no context (None) when no rule
        is a candidate: most items, which then cost no more than their tokens' lookup."""
        texts = (item.title or "", item.summary or "", item.text or "")
        # One C-level pass: raw tokens (no folding), then their record numbers. Python only
        # runs for the few distinct records, and to learn tokens never met before.
        toks = raw_tokens(f"{texts[0]}\n{texts[1]}\n{texts[2]}")
        seen = self.seen
        # None stands for a token never met: learned below, then looked up again
        found: set[int] = set(map(seen.get, toks))  # type: ignore[arg-type]
        if None in found:
            if len(seen) > MAX_WORDS:
                seen.clear()
                self.trig.clear()
                self.unit_words.clear()
            self.learn(set(toks).difference(seen))
            found = set(map(seen.get, toks))  # type: ignore[arg-type]  # every token is learned now
        found.discard(0)
        candidates = set(self.always)
        units: set[int] = set()
        if self.observed < REINDEX_AT[-1]:
            self.observe(found)
        if found:
            # A rule is a candidate when both its trigger sets are hit: the rules whose first
            # (rarest) set is hit, then those of them whose second set is hit, both by records.
            first = found & self.with_first
            if first:
                second = self.second
                for r_index in set().union(*map(self.rec_first.__getitem__, first)):
                    need = second[r_index]
                    if need is None or not need.isdisjoint(found):
                        candidates.add(r_index)
            if candidates:
                # The units the candidates may test that one of the item's records holds, or
                # all its records' units when that is the shorter work (big OR-groups).
                needs = self.needs
                if sum(map(len, map(needs.__getitem__, candidates))) < len(found):
                    unit_records = self.unit_records
                    units = {u for u in set().union(*map(needs.__getitem__, candidates))
                             if not unit_records[u].isdisjoint(found)}
                else:
                    units = set().union(*map(self.rec_units.__getitem__, found))
        if not candidates:
            return None, candidates
        return Ctx(units, texts, self.trig, self.unit_words, item.source_id or "", item.tags or (), self.lang), candidates

    def full_context(self, item: "Matchable") -> Ctx:
        """The item's context with every unit its words satisfy, whatever the candidates:
        for near misses (`near_miss.py`), which look at rules that did not match. Off the
        hot path: it does not count the item towards the observed frequencies."""
        texts = (item.title or "", item.summary or "", item.text or "")
        toks = raw_tokens(f"{texts[0]}\n{texts[1]}\n{texts[2]}")
        new = set(toks).difference(self.seen)
        if new:
            if len(self.seen) > MAX_WORDS:
                self.seen.clear()
                self.trig.clear()
                self.unit_words.clear()
                new = set(toks)
            self.learn(new)
        units = set().union(*map(self.rec_units.__getitem__, set(map(self.seen.__getitem__, toks))))
        return Ctx(units, texts, self.trig, self.unit_words, item.source_id or "", item.tags or (), self.lang)


class Matcher:
    """Compiled once from the themes; `match(item)` is safe to call from one thread at a time
    (the per-language programs are built, and learn words, lazily)."""

    def __init__(self, themes: Iterable[ThemeDef]):
        self.themes = tuple(themes)
        self._order = [(PRIORITY_ORDER.get(t.priority, 1), i) for i, t in enumerate(self.themes)]
        self._programs: dict[str | None, _Program] = {}
        self._by_language: dict[str | None, _Program] = {}

    @property
    def rule_count(self) -> int:
        return sum(len(t.rules) for t in self.themes)

    def program(self, language: str | None) -> _Program:
        prog = self._by_language.get(language)  # items repeat a few spellings: 'en', 'fr-FR'
        if prog is None:
            lang = primary_subtag(language)
            prog = self._programs.get(lang)
            if prog is None:
                prog = self._programs[lang] = _Program(self.themes, lang)
            if len(self._by_language) > 1000:  # free-form feed values must not grow it forever
                self._by_language.clear()
            self._by_language[language] = prog
        return prog

    def matching(self, item: "Matchable") -> tuple[_Program, Ctx | None, dict[int, list[int]], dict[int, list[int]]]:
        """(program, context, {theme index: rule indexes hit}, {theme index: rule indexes
        dropped by the theme's exclude}), with no explanation work: the hot path. The context
        is None when no rule was a candidate (so nothing hit)."""
        prog = self.program(item.language)
        ctx, candidates = prog.context(item)
        hit: dict[int, list[int]] = {}
        excluded: dict[int, list[int]] = {}
        if ctx is None:  # the same as no candidates (see `_Program.context`), said so mypy narrows ctx
            return prog, ctx, hit, excluded
        evals, theme_of = prog.evals, prog.theme_of
        for r_index in sorted(candidates):
            if evals[r_index](ctx):
                hit.setdefault(theme_of[r_index], []).append(r_index)
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
        explainer = None
        debug = log.isEnabledFor(logging.DEBUG)
        for t_index in sorted(hit, key=self._order.__getitem__):
            theme = self.themes[t_index]
            rules = [prog.rules[r][1] for r in hit[t_index]]
            explanations = []
            if explain:
                if explainer is None:
                    from bot.match.explain import ItemExplainer

                    # a hit means there were candidates, so a context (not None)
                    explainer = ItemExplainer(item, prog.compiler, ctx)  # type: ignore[arg-type]
                explanations = [explainer.explain(rule) for rule in rules]
            out.append(ThemeHit(theme.slug, theme.priority, [r.id for r in rules], explanations))
            if debug:
                log.debug("item %r hits theme %s by rules %s", (item.title or "")[:60], theme.slug,
                          ",".join(r.id for r in rules))
        return out
