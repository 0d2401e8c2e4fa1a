"""Languages: what a code or a name means, and the language of a text.

Owns every table that maps language codes, names and aliases to a code, and the readings
built on them: `primary_subtag` ('fr-FR', 'fr_be' -> 'fr'), `normalise_language` (a declared
language, lenient: 'en-US', 'FRA', 'English', 'Deutsch' -> 'en'/'fr'/'de'), and CLDR's codes,
aliases and English names (`cldr_languages`, `cldr_aliases`, `english_names`), from which
bot.config.fields tells a coordinator what a mistyped code was meant to be. And
`detect_language` (py3langid, restricted to the languages of the coalition and their
neighbours, loaded on first use).

Must not know sources, rules or items. Pure: no I/O beyond reading the bundled model and
Babel's locale data once.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Protocol

# Languages the detector may answer with: those the coalition reads and writes in, plus
# the big neighbours they are confused with. A restricted set gives far fewer absurd
# answers (Latin, Luxembourgish...) on short news text.
DETECT_LANGUAGES = (
    "en", "fr", "es", "it", "de", "pt", "el", "nl", "ar", "ru", "uk", "tr", "pl", "ro",
    "hu", "cs", "sv", "da", "fi", "bg", "hr", "fa", "he", "zh", "ja", "ko",
)
MIN_DETECT_CHARS = 40          # py3langid is unreliable on a few words
MIN_DETECT_CONFIDENCE = 0.80
MAX_DETECT_CHARS = 400         # enough to tell languages apart; cost grows with length

# ISO 639-2 codes and names seen in <language> elements, mapped to 639-1.
LANGUAGE_ALIASES = {
    "eng": "en", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it", "deu": "de", "ger": "de",
    "por": "pt", "ell": "el", "gre": "el", "nld": "nl", "dut": "nl", "ara": "ar", "rus": "ru",
    "english": "en", "french": "fr", "francais": "fr", "français": "fr", "spanish": "es",
    "español": "es", "italian": "it", "italiano": "it", "german": "de", "deutsch": "de",
    "portuguese": "pt", "português": "pt", "greek": "el", "dutch": "nl", "arabic": "ar",
}
# Country codes written for the language (CLDR's language aliases cover the ISO 639-2 and
# 639-3 codes such as `fre` or `ell`).
COUNTRY_FOR_LANGUAGE = {
    "gr": "el", "dk": "da", "jp": "ja", "cz": "cs", "ua": "uk", "cn": "zh", "kr": "ko", "sp": "es",
    "gb": "en", "us": "en", "ir": "fa", "il": "he",
}


def primary_subtag(code: str | None) -> str | None:
    """'fr-FR', 'FR', 'fr_be' -> 'fr'; empty -> None. Says nothing of whether it is a language."""
    if not code:
        return None
    head = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return head or None


def normalise_language(code: str | None) -> str | None:
    """'en-US', 'fr_FR', 'FRA', 'English' -> 'en'/'fr'; None when not a language."""
    if not code:
        return None
    low = code.strip().lower()
    if low in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[low]
    head = re.split(r"[-_\s]", low, maxsplit=1)[0]
    if head in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[head]
    if re.fullmatch(r"[a-z]{2}", head):
        return head
    return None


@lru_cache(maxsize=1)
def cldr_languages() -> frozenset[str]:
    """The language codes CLDR knows (Babel's locale data: en, fr, el, ast, ...)."""
    from babel.localedata import locale_identifiers

    return frozenset(i for i in locale_identifiers() if "_" not in i)


@lru_cache(maxsize=1)
def cldr_aliases() -> dict[str, str]:
    """`fre` -> fr, `ell` -> el, ...: CLDR's language aliases (Babel) that name a plain code,
    and the country codes written for a language (`gr` -> el)."""
    from babel.core import get_global

    known = cldr_languages()
    aliases = {k: v for k, v in get_global("language_aliases").items() if v in known}
    return {**aliases, **COUNTRY_FOR_LANGUAGE}


@lru_cache(maxsize=4)
def english_names(codes: tuple[str, ...]) -> dict[str, str]:
    """English language names -> code (`english` -> en), for `codes` (CLDR's names)."""
    from babel import Locale

    names = Locale("en").languages
    return {names[c].casefold(): c for c in codes if c in names}


class _Classifier(Protocol):
    """What is used of py3langid's LanguageIdentifier."""

    def classify(self, text: str) -> tuple[str, float]: ...


_identifier: _Classifier | None = None
_identifier_lock = threading.Lock()


def _get_identifier() -> _Classifier:
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier
                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(DETECT_LANGUAGES)
                # The restricted table is a strided float16 view: gathering its rows costs
                # ~15 ms a call until the pages are warm. A contiguous float32 copy (10 MB)
                # costs ~0.1-0.3 ms from the first call.
                import numpy as np
                ident.nb_ptc = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
                _identifier = ident
    return _identifier


def detect_language(text: str, *, min_chars: int = MIN_DETECT_CHARS,
                    min_confidence: float = MIN_DETECT_CONFIDENCE) -> str | None:
    """Two-letter code of `text`, restricted to DETECT_LANGUAGES; None when the text is
    too short or the answer not confident enough."""
    if not text or len(text.strip()) < min_chars:
        return None
    lang, confidence = _get_identifier().classify(text[:MAX_DETECT_CHARS])
    return lang if confidence >= min_confidence else None
