"""Dates as feeds write them in RFC 822's shape but not its language: day and month names in
Italian, French, German, Spanish, Portuguese, Dutch, Greek (and English), named time zones
at their real offsets (CET is +01:00, not UTC), and a 12-hour clock (`02:02:33 PM`).

    mer, 16 nov 2022 00:38:15 +0100      Mi, 14 Dez 2022 09:30 MEZ      ven. 9 déc. 2022
    martedì 3 maggio 2022 10:00          Τετ, 16 Νοε 2022 10:00 EET      Mon, 14 Nov 2022 02:02:33 PM

Owns the name tables and `parse_localised`. Pure: no I/O, no global state changed (feedparser's
registerDateHandler would change every caller's parsing; bot.parse.items.parse_date calls this first).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

# Full month names; a name, or a prefix of at least three letters that only one month has,
# is read (accents ignored: "déc." is "dec", "März" is "marz").
_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "gennaio", "janvier", "januar", "janner", "enero", "janeiro", "januari", "ιανουαριος", "ιανουαριου"),
    2: ("february", "febbraio", "fevrier", "februar", "febrero", "fevereiro", "februari", "φεβρουαριος", "φεβρουαριου"),
    3: ("march", "marzo", "mars", "marz", "marco", "maart", "mrt", "μαρτιος", "μαρτιου"),
    4: ("april", "aprile", "avril", "abril", "απριλιος", "απριλιου"),
    5: ("may", "maggio", "mai", "mayo", "maio", "mei", "μαιος", "μαιου"),
    6: ("june", "giugno", "juin", "juni", "junio", "junho", "ιουνιος", "ιουνιου"),
    7: ("july", "luglio", "juillet", "juli", "julio", "julho", "ιουλιος", "ιουλιου"),
    8: ("august", "agosto", "aout", "augustus", "αυγουστος", "αυγουστου"),
    9: ("september", "settembre", "septembre", "septiembre", "setiembre", "setembro", "σεπτεμβριος", "σεπτεμβριου"),
    10: ("october", "ottobre", "octobre", "oktober", "octubre", "outubro", "οκτωβριος", "οκτωβριου"),
    11: ("november", "novembre", "noviembre", "novembro", "νοεμβριος", "νοεμβριου"),
    12: ("december", "dicembre", "decembre", "dezember", "diciembre", "dezembro", "δεκεμβριος", "δεκεμβριου"),
}
_MIN_PREFIX = 3

# Zone abbreviations at their offsets in hours. Only unambiguous ones (IST is Irish, Indian
# and Israeli: left to feedparser as before).
ZONES: dict[str, float] = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0, "west": 1, "bst": 1,
    "cet": 1, "mez": 1, "cest": 2, "mesz": 2, "cedt": 2,
    "eet": 2, "oez": 2, "eest": 3, "oesz": 3, "msk": 3,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "ast": -4, "adt": -3, "hst": -10, "akst": -9, "akdt": -8,
}

_DATE = re.compile(
    r"""^\s*
    (?:[^\W\d_]+\.?,?\s+)?                         # weekday, any language: ignored
    (?P<day>\d{1,2})\.?\s+(?:de\s+)?
    (?P<month>[^\W\d_]+)\.?,?\s+(?:de\s+)?
    (?P<year>\d{4}|\d{2}),?
    (?:\s+(?:[^\W\d_]{1,5}\s+)?                    # "à", "um", "alle", "a las"... before the time
       (?P<hour>\d{1,2})[:h.](?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?
       \s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?
    )?
    \s*(?P<zone>(?:[A-Za-z]{1,5})?\s*(?:[+-]\d{1,2}(?::?\d{2})?)?)?
    \s*$""",
    re.X,
)


def _fold(word: str) -> str:
    """Lowercase without accents: 'Déc' -> 'dec', 'Νοέ' -> 'νοε', 'Mär' -> 'mar'."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ς", "σ")


def _month_table() -> dict[str, int]:
    """Every name and every unambiguous prefix of at least three letters -> month number."""
    owners: dict[str, set[int]] = {}
    for number, names in _MONTHS.items():
        for name in names:
            name = _fold(name)
            for end in range(min(_MIN_PREFIX, len(name)), len(name) + 1):
                owners.setdefault(name[:end], set()).add(number)
    return {prefix: next(iter(months)) for prefix, months in owners.items() if len(months) == 1}


_MONTH_OF = _month_table()


def month_number(word: str) -> int | None:
    return _MONTH_OF.get(_fold(word))


def _offset(zone: str) -> timedelta | None:
    """'+0100', '-03:00', '+2', 'CET', 'GMT+0100', '' (UTC) -> offset; None when unknown."""
    zone = zone.strip()
    m = re.fullmatch(r"([A-Za-z]{1,5})?\s*(?:([+-])(\d{1,2}):?(\d{2})?)?", zone)
    if not m:
        return None
    name, sign, hours, minutes = m.groups()
    offset = timedelta()
    if name:
        if name.lower() not in ZONES:
            return None
        offset = timedelta(hours=ZONES[name.lower()])
    if sign:
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            return None
        offset += delta if sign == "+" else -delta
    return offset


def parse_localised(text: str) -> datetime | None:
    """An aware UTC datetime from an RFC 822-shaped date in any of the languages above; None
    when the text has another shape, an unknown month or zone, or impossible values."""
    m = _DATE.match(text)
    if not m:
        return None
    month = month_number(m["month"])
    offset = _offset(m["zone"] or "")
    if month is None or offset is None:
        return None
    year = int(m["year"])
    if year < 100:
        year += 2000 if year < 70 else 1900
    hour, minute, second = int(m["hour"] or 0), int(m["minute"] or 0), int(m["second"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        pm = m["ampm"][0] in "Pp"
        hour = hour % 12 + (12 if pm else 0)
    try:
        local = datetime(year, month, int(m["day"]), hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return None
    return local.astimezone(timezone.utc)
