"""French dates: the one month table, the one way to write a date, the one reader of a
date typed by a person.

>>> format_date("2025-02-04")
'4 février 2025'
>>> format_date("2026-08-01")
'1er août 2026'
>>> MONTH_NUMBER["fevrier"], bool(re.fullmatch(MONTH_RE, "Août", re.I))
(2, True)
>>> parse_date("30/01/2025", "à partir du")
'2025-01-30'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")


def _unaccent(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


# month name without accents (as rag.text.fold writes it) -> 1..12
MONTH_NUMBER = {_unaccent(m): i for i, m in enumerate(MONTHS_FR, start=1)}
# a month name in raw text, accents optional: "f[ée]vrier", "ao[uû]t"
MONTH_RE = "(?:" + "|".join(
    "".join(f"[{_unaccent(c)}{c}]" if _unaccent(c) != c else c for c in m) for m in MONTHS_FR) + ")"


def format_date(iso: str | None) -> str:
    """"2025-01-30" -> "30 janvier 2025" ("1er" on the first); "" for no date; anything
    unparsable is returned as it is."""
    if not iso:
        return ""
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{'1er' if d.day == 1 else d.day} {MONTHS_FR[d.month - 1]} {d.year}"


_TYPED_RE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def parse_date(text: str | None, label: str) -> str | None:
    """A date typed by a person -> ISO, or ``ValueError`` with a French message naming
    the field (``label``). "2025-01-30" and "30/01/2025" -> "2025-01-30"; "" -> None."""
    if text is None or not str(text).strip():
        return None
    s = str(text).strip()
    m = _TYPED_RE.match(s)
    try:
        d = date(int(m.group(3)), int(m.group(2)), int(m.group(1))) if m else date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"Date « {s} » non reconnue pour « {label} » : écrivez-la "
                         "JJ/MM/AAAA (par exemple 30/01/2025).") from None
    return d.isoformat()
