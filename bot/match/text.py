"""Text normalisation, tokenising and stemming shared by the query compiler and the matcher.

Owns: what "case- and accent-insensitive" means (casefold, then NFD without combining marks:
é = e, ß = ss, Greek tonos and final sigma folded), what a word is (a run of letters/digits;
apostrophes, hyphens and all punctuation separate words, so `l'asile` is `l` + `asile`), and
which Snowball stemmer serves which language. Must not know about rules, items or storage.

Three tokenisers, one meaning:
- `fold_words(text)`: the folded words, general and slower (regex based); rule words and
  the reference for the others;
- `tokens(text)`: the same words by a faster path (one latin-1 encode, one `bytes.translate`,
  one decode for Latin-script text; other scripts take the general path); the matcher folds
  a field with it only when a candidate rule needs word positions, a field or a phrase;
- `raw_tokens(text)`: the matcher's hot path, no folding at all: the UTF-8 bytes, ASCII
  letters lowered and every other ASCII character a space, split. A raw token is one or more
  words (`l’asile`: the typographic apostrophe is not ASCII) possibly written with accents or
  capitals (`Réfugiés`); `fold_words(token)` gives its words, and the tokens' words in order
  are exactly `fold_words(text)`, because folding works character by character and ASCII
  punctuation folds to itself (a separator). The matcher folds a raw token once, the first
  time it meets it, and remembers what its words satisfy.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

# Combining marks (accents, tonos, dialytika, perispomeni, cedilla...) dropped after NFD.
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# A word: letters and digits. `_` is \w for Python but not a letter for people.
WORD = re.compile(r"[^\W_]+")
_NON_WORD = re.compile(r"[\W_]+")
# In raw text, a decomposed é (e + U+0301) must stay inside its word: marks are not \w for `re`.
_SPAN_WORD = re.compile(r"(?:[^\W_][\u0300-\u036f]*)+")

# ISO 639-1 code -> Snowball algorithm. Languages without an entry are matched unstemmed.
STEMMERS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french",
    "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "nb": "norwegian", "ne": "nepali", "nl": "dutch",
    "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}


def normalise(text: str) -> str:
    """Casefold and strip accents; keeps punctuation and spacing (same length not guaranteed)."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return _MARKS.sub("", unicodedata.normalize("NFD", folded))


def fold_words(text: str) -> list[str]:
    """The normalised words of `text`, in order."""
    return WORD.findall(normalise(text))


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised word) for each word of `text`, offsets into `text` itself.
    Used for explanations, where matched words are shown as they were written."""
    out = []
    for m in _SPAN_WORD.finditer(text):
        for word in fold_words(m.group()):
            out.append((m.start(), m.end(), word))
    return out


class _StemCache(dict[str, str]):
    """word -> stem, computed once: Snowball in pure Python costs ~40 µs a word,
    a dict hit ~50 ns, and news vocabulary repeats."""

    def __init__(self, algorithm: str | None):
        super().__init__()
        self._stem = snowballstemmer.stemmer(algorithm).stemWord if algorithm else None

    def __missing__(self, word: str) -> str:
        stem = self._stem(word) if self._stem else word
        if len(self) > 500_000:  # unbounded vocabularies (names, typos) must not grow forever
            self.clear()
        self[word] = stem
        return stem


@lru_cache(maxsize=None)
def stems_for(language: str | None) -> _StemCache:
    """The shared stem cache of a language (identity for unknown languages)."""
    return _StemCache(STEMMERS.get(language or ""))


def has_stemmer(language: str | None) -> bool:
    return (language or "") in STEMMERS


# --- the hot path -------------------------------------------------------------------------

def _build_table() -> tuple[bytes, frozenset[str]]:
    """byte -> folded byte (non-word -> space), and the latin-1 letters that fold to
    something longer or outside latin-1 (ß, µ): `fold_text` treats those before encoding."""
    table = bytearray(range(256))
    special = set()
    for b in range(256):
        ch = chr(b)
        if not ch.isalnum():
            table[b] = 0x20
            continue
        folded = normalise(ch)
        if len(folded) == 1 and ord(folded) < 256 and folded.isalnum():
            table[b] = ord(folded)
        else:
            special.add(ch)  # ß -> ss, µ -> μ: cannot be done byte for byte
    return bytes(table), frozenset(special)


_TABLE, _SPECIAL = _build_table()


# Punctuation beyond latin-1 that news text is full of (typographic quotes and apostrophes,
# dashes, ellipsis, euro): 'replace' encodes each as '?', which the table turns into a space,
# as folding would. Any other character beyond latin-1 takes the general path.
_PUNCTUATION = "’“”–—…‘€„•‚″′‹›†™"


def _latin1(text: str) -> bytes | None:
    """`text` encoded in latin-1 when every letter of it is in latin-1 (what lies beyond is
    punctuation of `_PUNCTUATION`, encoded as '?'), else None. Letters beyond latin-1 (œ, ğ,
    Greek), combining marks (decomposed input) and µ (folds to Greek μ) need the general path.
    C-level: one encode and a few counts (a character-class regex costs ~50 µs a text)."""
    if "µ" in text:
        return None
    enc = text.encode("latin-1", "replace")
    if text.isascii():
        return enc
    beyond = enc.count(b"?")
    if beyond:
        beyond -= text.count("?")
        for ch in _PUNCTUATION:
            if not beyond:
                break
            if ch in text:
                beyond -= text.count(ch)
        if beyond:
            return None
    return enc


def fold_text(text: str) -> str:
    """' ' + the folded words separated by one or more spaces + ' ': every non-word character
    is a space, so a folded phrase padded with spaces is found by substring search."""
    if "ß" in text:
        text = text.replace("ß", "ss")
    enc = _latin1(text)
    if enc is not None:
        return " " + enc.translate(_TABLE).decode("latin-1") + " "
    return " " + _NON_WORD.sub(" ", normalise(text)) + " "


def _build_raw_table() -> bytes:
    """UTF-8 byte -> ASCII letters and digits lowered, other ASCII -> space, bytes of
    non-ASCII characters unchanged (a character's UTF-8 bytes are all >= 0x80)."""
    table = bytearray(range(256))
    for b in range(128):
        ch = chr(b)
        table[b] = ord(ch.lower()) if ch.isalnum() else 0x20
    return bytes(table)


_RAW_TABLE = _build_raw_table()


def raw_tokens(text: str) -> list[bytes]:
    """The raw tokens of `text` (see the module docstring): C-level, no per-character Python."""
    return text.encode("utf-8", "surrogatepass").translate(_RAW_TABLE).split()


def token_words(token: bytes) -> list[str]:
    """The folded words of one raw token."""
    return fold_words(token.decode("utf-8", "surrogatepass"))


def tokens(text: str | None) -> list[str]:
    """`fold_words(text)` by the fast path: the matcher's words of one field (as
    `fold_text(text).split()`, without copying the text to pad it)."""
    if not text:
        return []
    if "ß" in text:
        text = text.replace("ß", "ss")
    enc = _latin1(text)
    if enc is not None:
        return enc.translate(_TABLE).decode("latin-1").split()
    return _NON_WORD.sub(" ", normalise(text)).split()


def word_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) in `text` of each word of `fold_words(text)`, in order (for explanations).
    When every letter is in latin-1 each word is one run of letters/digits of the text itself,
    found by one regex pass; otherwise `word_spans`, which folds word by word."""
    if _latin1(text) is not None:
        return [m.span() for m in WORD.finditer(text)]
    return [(start, end) for start, end, _ in word_spans(text)]
