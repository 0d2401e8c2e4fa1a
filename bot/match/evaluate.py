"""Measuring the rules against labelled items (`rules evaluate`): which gold themes each item
should get, what the matcher gave, and the figures a coordinator tunes by.

Owns: what a labelled line must hold (`gold_themes`: `themes` a list of known slugs), the
counts and metrics (per theme precision, recall, F1; micro and macro F1; per language the
any-theme recall and the off-topic alarm rate), the misses and false alarms, and the
thresholds (`--min-recall` ...). Must not read files or the database (the CLI and
`bot.stories.feedback` bring the items) nor print.

Definitions (README "Rule language and `rules test`"):
- per theme: tp = gold and hit, fp = hit not gold, fn = gold not hit; positives = tp + fn.
  Precision tp/(tp+fp) (None when the theme hit nothing), recall tp/positives (None without
  positives), F1 = 2tp/(2tp+fp+fn).
- micro: the same over the sums of every evaluated theme; macro F1: the mean F1 of the
  themes with at least one positive.
- per language: any-theme recall = share of on-topic items (with a gold theme among the
  evaluated ones) that at least one evaluated theme hit; off-topic alarm rate = share of
  off-topic items (`themes: []`) that any evaluated theme hit.
- A labelled item may be judged on some themes only (`judged`: feedback votes say nothing
  of the themes nobody voted on): hits of the other themes are not counted.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from bot.match.matcher import Matcher, ThemeHit
    from bot.model import Matchable


class LabelError(ValueError):
    """A labelled line that cannot be read as gold (the CLI adds FILE:LINE)."""


def gold_themes(raw: dict[str, object], slugs: Sequence[str]) -> frozenset[str]:
    """The gold themes of one labelled line; LabelError when `themes` is missing, not a list of
    strings, or names a theme that does not exist (with the closest slug as a suggestion)."""
    if "themes" not in raw:
        raise LabelError("no \"themes\": give the gold theme slugs, or [] for an off-topic item")
    themes = raw["themes"]
    if not isinstance(themes, list):
        raise LabelError(f"\"themes\" must be a list of theme slugs, got {_json_type(themes)}")
    for slug in themes:
        if not isinstance(slug, str):
            raise LabelError(f"\"themes\" must list theme slugs as strings, got {slug!r} ({_json_type(slug)})")
    known = set(slugs)
    for slug in themes:
        if slug not in known:
            close = difflib.get_close_matches(slug, list(slugs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; themes: {', '.join(slugs)}"
            raise LabelError(f"unknown theme {slug!r}{hint}")
    for key in ("title", "text", "summary"):
        if key in raw and not isinstance(raw[key], str):
            raise LabelError(f"\"{key}\" must be a string, got {_json_type(raw[key])}")
    if not any(isinstance(value := raw.get(k), str) and value.strip() for k in ("title", "text", "summary")):
        raise LabelError("an item needs a \"title\" or a \"text\"")
    if "lang" in raw and raw["lang"] is not None and not isinstance(raw["lang"], str):
        raise LabelError(f"\"lang\" must be a language code such as en, got {_json_type(raw['lang'])}")
    return frozenset(themes)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Labelled:
    """One labelled item: `key` (its id, or its line number), the item, its gold themes, and
    the themes it was judged on (None: all of them)."""

    key: Any
    item: "Matchable"
    gold: frozenset[str]
    judged: frozenset[str] | None = None


@dataclass
class ItemResult:
    """What the rules did with one labelled item (kept only when they got something wrong)."""

    labelled: Labelled
    gold: frozenset[str]  # restricted to the evaluated themes
    predicted: frozenset[str]
    hits: list["ThemeHit"] = field(default_factory=list)

    @property
    def missed(self) -> list[str]:
        return sorted(self.gold - self.predicted)

    @property
    def false_alarms(self) -> list[str]:
        return sorted(self.predicted - self.gold)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def f1(self) -> float | None:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def to_dict(self) -> dict[str, object]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "positives": self.positives,
                "precision": _round(self.precision), "recall": _round(self.recall), "f1": _round(self.f1)}


@dataclass
class LanguageCounts:
    items: int = 0
    on_topic: int = 0
    found: int = 0  # on-topic items some evaluated theme hit
    off_topic: int = 0
    alarms: int = 0  # off-topic items some evaluated theme hit

    @property
    def recall(self) -> float | None:
        return self.found / self.on_topic if self.on_topic else None

    @property
    def alarm_rate(self) -> float | None:
        return self.alarms / self.off_topic if self.off_topic else None

    def to_dict(self) -> dict[str, object]:
        return {"items": self.items, "on_topic": self.on_topic, "found": self.found,
                "any_theme_recall": _round(self.recall), "off_topic": self.off_topic, "alarms": self.alarms,
                "alarm_rate": _round(self.alarm_rate)}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class Evaluation:
    themes: dict[str, Counts]
    languages: dict[str, LanguageCounts]
    outcomes: list[ItemResult]  # the items with a miss or a false alarm, in input order
    items: int = 0

    @property
    def micro(self) -> Counts:
        return Counts(sum(c.tp for c in self.themes.values()), sum(c.fp for c in self.themes.values()),
                      sum(c.fn for c in self.themes.values()))

    @property
    def macro_f1(self) -> float | None:
        scores = [c.f1 or 0.0 for c in self.themes.values() if c.positives]
        return sum(scores) / len(scores) if scores else None

    @property
    def overall(self) -> LanguageCounts:
        total = LanguageCounts()
        for c in self.languages.values():
            total.items += c.items
            total.on_topic += c.on_topic
            total.found += c.found
            total.off_topic += c.off_topic
            total.alarms += c.alarms
        return total

    def misses(self) -> list[ItemResult]:
        return [o for o in self.outcomes if o.missed]

    def false_alarms(self) -> list[ItemResult]:
        return [o for o in self.outcomes if o.false_alarms]

    def to_dict(self) -> dict[str, object]:
        overall = self.overall
        return {
            "items": self.items,
            "themes": [{"theme": slug, **c.to_dict()} for slug, c in self.themes.items()],
            "languages": [{"language": lang, **c.to_dict()} for lang, c in sorted(self.languages.items())],
            "overall": overall.to_dict(),
            "micro": self.micro.to_dict(),
            "macro_f1": _round(self.macro_f1),
        }


def evaluate(matcher: "Matcher", labelled: Iterable[Labelled], themes: Sequence[str] | None = None) -> Evaluation:
    """Run the matcher over the labelled items and count, over the evaluated `themes` (all of
    the matcher's when None). Hits of items with a false alarm keep their explanations."""
    slugs = list(themes) if themes is not None else [t.slug for t in matcher.themes]
    selected = frozenset(slugs)
    result = Evaluation({slug: Counts() for slug in slugs}, {}, [])
    for entry in labelled:
        result.items += 1
        scope = selected if entry.judged is None else selected & entry.judged
        hits = matcher.match(entry.item, explain=False)
        predicted = frozenset(h.theme for h in hits) & scope
        gold = entry.gold & scope
        for slug in predicted | gold:
            c = result.themes[slug]
            if slug in predicted and slug in gold:
                c.tp += 1
            elif slug in predicted:
                c.fp += 1
            else:
                c.fn += 1
        lang = result.languages.setdefault(entry.item.language or "unknown", LanguageCounts())
        lang.items += 1
        if gold:
            lang.on_topic += 1
            lang.found += bool(predicted)
        elif not entry.gold and (entry.judged is None or scope):
            lang.off_topic += 1
            lang.alarms += bool(predicted)
        if predicted != gold:
            outcome = ItemResult(entry, gold, predicted)
            if predicted - gold:  # explanations are worth computing for false alarms only
                outcome.hits = [h for h in matcher.match(entry.item) if h.theme in predicted - gold]
            result.outcomes.append(outcome)
    return result


@dataclass(frozen=True)
class Threshold:
    option: str  # --min-recall
    measure: str  # micro recall
    value: float | None
    limit: float
    ok: bool

    def sentence(self) -> str:
        shown = "none" if self.value is None else f"{self.value:.3f}"
        relation = ">=" if self.option.startswith("--min") else "<="
        verdict = "ok" if self.ok else "FAILED"
        return f"{verdict}: {self.measure} {shown} (needs {relation} {self.limit:g}, {self.option})"

    def to_dict(self) -> dict[str, object]:
        return {"option": self.option, "measure": self.measure, "value": _round(self.value), "limit": self.limit,
                "ok": self.ok}


def thresholds(result: Evaluation, min_recall: float | None = None, min_f1: float | None = None,
               max_alarms: float | None = None) -> list[Threshold]:
    """The thresholds asked for, each with the measured value and whether it holds; a
    measure that cannot be computed (no positives) fails a minimum."""
    out = []
    micro = result.micro
    for option, measure, value, limit in (("--min-recall", "micro recall", micro.recall, min_recall),
                                          ("--min-f1", "micro F1", micro.f1, min_f1)):
        if limit is not None:
            out.append(Threshold(option, measure, value, limit, value is not None and value >= limit))
    if max_alarms is not None:
        rate = result.overall.alarm_rate
        out.append(Threshold("--max-alarms", "off-topic alarm rate", rate, max_alarms,
                             rate is None or rate <= max_alarms))
    return out

