"""Field types shared by the config schemas: strict models, slugs, language codes,
durations (`30m`) and sizes (`10MB`). Each fails with a message a coordinator can act on."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from bot.config.durations import parse_duration

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    """The language codes CLDR knows (Babel's locale data: en, fr, el, ast, ...)."""
    from babel.localedata import locale_identifiers

    return frozenset(i for i in locale_identifiers() if "_" not in i)


def language_problem(code: str) -> str | None:
    """Why `code` cannot be a language of sources, rules or deliveries (items are tagged with
    ISO 639 codes such as en, fr, el), or None. A typo such as `fe` would otherwise make a
    rule that never matches, silently."""
    if code in _languages():
        return None
    close = difflib.get_close_matches(code, sorted(_languages()), n=1)
    return (f"{code!r} is not a language code such as en or fr"
            + (f" (did you mean {close[0]!r}?)" if close else ""))


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
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
