"""The language of an item's text: declared codes normalised, else detected offline.

Owns `normalise_language` ('en-US', 'FRA', 'English' -> 'en') and `detect_language` (py3langid,
restricted to the languages of the coalition and their neighbours, loaded on first use).
Pure: no I/O beyond reading the bundled model once.
"""

from __future__ import annotations

import re
import threading
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
_LANGUAGE_ALIASES = {
    "eng": "en", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it", "deu": "de", "ger": "de",
    "por": "pt", "ell": "el", "gre": "el", "nld": "nl", "dut": "nl", "ara": "ar", "rus": "ru",
    "english": "en", "french": "fr", "francais": "fr", "français": "fr", "spanish": "es",
    "español": "es", "italian": "it", "italiano": "it", "german": "de", "deutsch": "de",
    "portuguese": "pt", "português": "pt", "greek": "el", "dutch": "nl", "arabic": "ar",
}


def normalise_language(code: str | None) -> str | None:
    """'en-US', 'fr_FR', 'FRA', 'English' -> 'en'/'fr'; None when not a language."""
    if not code:
        return None
    low = code.strip().lower()
    if low in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[low]
    head = re.split(r"[-_\s]", low, maxsplit=1)[0]
    if head in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[head]
    if re.fullmatch(r"[a-z]{2}", head):
        return head
    return None


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
