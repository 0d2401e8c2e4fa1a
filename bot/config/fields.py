"""Field types shared by the config schemas: strict models, slugs, language and country codes,
durations (`30m`) and sizes (`10MB`). Each fails with a message a coordinator can act on."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from bot.config.durations import parse_duration
from bot.tagging.language import cldr_aliases, cldr_languages, english_names

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# Codes items are most often tagged with, besides those with a stemmer (bot.match.text),
# in the order a tie between suggestions is settled.
_COMMON = ("en", "fr", "es", "it", "de", "pt", "el", "nl", "ar", "ru", "tr", "pl", "uk", "ro",
           "hu", "sv", "da", "fi", "no", "nb", "cs", "sk", "bg", "hr", "sr", "sl", "ca", "eu",
           "ga", "lt", "lv", "et", "sq", "mk", "fa", "ps", "ku", "ur", "hi", "bn", "ne", "ta",
           "he", "yi", "hy", "ka", "id", "ms", "zh", "ja", "ko", "vi", "th", "sw", "so", "ti",
           "am", "ha")


@lru_cache(maxsize=1)
def _common() -> tuple[str, ...]:
    from bot.match.text import STEMMERS

    codes = [c for c in _COMMON if c in cldr_languages()]
    return tuple(codes + sorted(c for c in STEMMERS if c not in codes and c in cldr_languages()))


def suggest_language(code: str) -> str | None:
    """The language `code` was most likely meant to be: the same in lower case, an ISO 639-2
    code's (`ell` -> el), a language's name (`english` -> en), else the closest of the common
    codes (`fe` -> fr: ties go to the same first letter, then to the more common), else the
    closest of every CLDR code."""
    lower = code.strip().casefold()
    if lower in cldr_languages():
        return lower
    if lower in cldr_aliases():
        return cldr_aliases()[lower]
    names = english_names(_common())   # of the common languages
    if lower in names:
        return names[lower]
    common = _common()
    scored = [(difflib.SequenceMatcher(None, lower, c).ratio(), c) for c in common]
    best = max((score for score, _ in scored), default=0.0)
    if best >= 0.5:
        tied = [c for score, c in scored if score == best]
        return min(tied, key=lambda c: (c[:1] != lower[:1], common.index(c)))
    close = difflib.get_close_matches(lower, sorted(cldr_languages()), n=1)
    return close[0] if close else None


def language_problem(code: str) -> str | None:
    """Why `code` cannot be a language of sources, rules or deliveries (items are tagged with
    ISO 639 codes such as en, fr, el), or None. A typo such as `fe` would otherwise make a
    rule that never matches, silently."""
    if code in cldr_languages():
        return None
    close = suggest_language(code)
    return (f"{code!r} is not a language code such as en or fr"
            + (f" (did you mean {close!r}?)" if close else ""))


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("must be a slug of a-z, 0-9 and '-'")
    return value


def _language(value: str) -> str:
    if why := language_problem(value):
        raise ValueError(why)
    return value


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    from bot.tagging.countries_data import REGION_CODES  # plain data: the codes items are tagged with

    return frozenset(code for codes in REGION_CODES.values() for code in codes.split())


def _country(value: str) -> str:
    code = value.strip().upper()
    if code in _countries():
        return code
    hint = {"UK": "GB", "EL": "GR"}.get(code)
    raise ValueError(f"{value!r} is not an ISO 3166-1 country code such as GR or IT"
                     + (f" (did you mean {hint!r}?)" if hint else ""))


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)  # type: ignore[arg-type]


def _size(value: object) -> int:
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)[bB]?\s*", str(value))
    if not m:
        raise ValueError("expected a size such as 500KB or 10MB")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


Slug = Annotated[str, AfterValidator(_slug)]
LanguageCode = Annotated[str, AfterValidator(_language)]
CountryCode = Annotated[str, AfterValidator(_country)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
