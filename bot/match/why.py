"""Why one item matched or did not, in plain words: what `newsbot explain` prints and what the
Telegram `/missed` answers.

Owns the verdict on one item (`verdict`): the themes that hit, each with its explanations
(bot.match.explain), and for a theme that did not hit (the one asked about, else the closest
few) its near misses (bot.match.near_miss), and their plain-text rendering. Must not decide
matches another way (it asks the Matcher and near_miss), fetch, or know Telegram's markup.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.match.near_miss import ThemeMiss, theme_miss

if TYPE_CHECKING:
    from bot.match.matcher import Matcher, ThemeHit
    from bot.model import Matchable

CLOSEST_THEMES = 3   # themes whose near misses are shown when no theme is asked about


@dataclass(frozen=True)
class Verdict:
    """`hits`: the themes that matched. `misses`: near misses of the asked theme (when it did
    not hit), else of the closest themes that did not hit, best first."""

    language: str | None
    hits: tuple["ThemeHit", ...]
    misses: tuple[ThemeMiss, ...]
    theme: str | None = None

    @property
    def theme_hit(self) -> bool | None:
        """Whether the asked theme matched (None when no theme was asked about)."""
        return None if self.theme is None else any(h.theme == self.theme for h in self.hits)

    def to_dict(self) -> dict[str, object]:
        return {"language": self.language, "theme": self.theme, "theme_matched": self.theme_hit,
                "themes": [h.theme for h in self.hits], "hits": [h.to_dict() for h in self.hits],
                "near_misses": [m.to_dict() for m in self.misses]}


def verdict(matcher: "Matcher", item: "Matchable", theme: str | None = None,
            closest: int = CLOSEST_THEMES) -> Verdict:
    """Match `item`; for the asked `theme` (when it missed), or else for the `closest`
    themes that missed and came nearest, say which rules nearly matched and what failed.
    `theme` must be one of the matcher's slugs (KeyError otherwise)."""
    slugs = [t.slug for t in matcher.themes]
    if theme is not None and theme not in slugs:
        raise KeyError(theme)
    hits = tuple(matcher.match(item))
    hit_themes = {h.theme for h in hits}
    if theme is not None:
        misses = () if theme in hit_themes else (theme_miss(matcher, item, theme),)
        return Verdict(item.language, hits, misses, theme)
    if hits:
        return Verdict(item.language, hits, ())
    candidates = [theme_miss(matcher, item, slug) for slug in slugs]
    near = [m for m in candidates if m.near]
    near.sort(key=lambda m: (-m.near[0].score, -len(m.near[0].found), m.theme))
    return Verdict(item.language, hits, tuple(near[:closest]))


def render_text(v: Verdict, title: str = "") -> str:
    """The verdict as plain lines for a terminal."""
    lines = [f"title: {title}"] if title else []
    lines.append(f"language: {v.language or 'unknown (matched without stemming)'}")
    for hit in v.hits:
        lines.append(f"matches theme {hit.theme} ({hit.priority}) by rules {', '.join(hit.rules)}")
        for e in hit.explanations:
            lines.append(f"  {e.rule}: matched {e.description}")
            lines.append(f"    {e.snippet}")
    if v.theme is not None and v.theme_hit:
        return "\n".join(lines) + "\n"
    if v.theme is not None:
        lines.append(f"theme {v.theme} does not match")
    elif not v.hits:
        lines.append("no theme matches")
    for miss in v.misses:
        lines.extend(miss_lines(miss))
    if v.theme is None and not v.hits and not v.misses:
        lines.append("no rule of any theme found any of its words")
    return "\n".join(lines) + "\n"


def miss_lines(miss: ThemeMiss) -> list[str]:
    """`near misses of theme T:` and one line a rule, in plain words."""
    if not miss.near:
        return [f"theme {miss.theme}: {miss.summary()}"]
    out = [f"near misses of theme {miss.theme}:"]
    out += [f"  {n.rule}: {n.sentence()}" for n in miss.near]
    return out
