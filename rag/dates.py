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
>>> document_date("CSE Bretagne\\nCompte rendu de la séance du mardi 4 fév. 2025\\n...")
'2025-02-04'
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


# --- the date of a document, read from its content -----------------------------------

_ABBREV = r"(?:janv|f[ée]vr?|avr|juil|sept|oct|nov|d[ée]c)\."
_WRITTEN = (r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?\d{1,2}(?:er)?\s+"
            rf"(?:{MONTH_RE}|{_ABBREV})\s+\d{{4}}|\d{{1,2}}[/.]\d{{1,2}}[/.](?:\d{{4}}|\d{{2}})\b")
# "réunion du 30 janvier 2025", "séance plénière du …", "CSE du …": the meeting the
# document reports on, looked for in its opening part
_MEETING_RE = re.compile(
    r"\b(?:r[ée]union|s[ée]ance|assembl[ée]e\s+g[ée]n[ée]rale|pl[ée]ni[èe]re|CSEC?|CSSCT|comit[ée]"
    rf"|instance|commission|conseil)\b[^\n.;]{{0,40}}?\bdu\s+({_WRITTEN})", re.IGNORECASE)
# "publié le …", "mis à jour le …", "Paris, le …", a date alone on a header line
_HEADER_RE = re.compile(
    rf"^(?:.{{0,40}}?(?:publi[ée]|mis\s+[àa]\s+jour|dat[ée]|[\w' -]{{2,30}},)\s+(?:le|du)\s+)?\W{{0,3}}"
    rf"(?:le\s+)?({_WRITTEN})\W{{0,3}}$|(?:publi[ée]|mis\s+[àa]\s+jour)\s+le\s+({_WRITTEN})",
    re.IGNORECASE)
# « RÉUNION DU … », the header printed on each page of a meeting's minutes, is looked for
# further down than other cues: elsewhere, a meeting date past the first lines is more
# often another meeting the text recalls (« présentée au CSEC du 12 janvier 2023 »)
_REUNION_RE = re.compile(rf"\br[ée]union\s+(?:extraordinaire\s+)?du\s+({_WRITTEN})", re.IGNORECASE)
MEETING_CHARS = 3000
HEADER_LINES = 10


def read_written_date(text: str) -> str | None:
    """A date written by a person (« mardi 4 fév. 2025 », « 04/02/25 ») -> ISO, by
    dateparser's French reading; None when a part is missing or the date cannot exist."""
    import dateparser

    found = dateparser.parse(text, languages=["fr"], settings={
        "DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month", "year"]})
    return found.date().isoformat() if found else None


def document_date(text: str, fallback: str | None = None) -> str | None:
    """The date of a document, from its content: the meeting it reports on (« séance du
    4 février 2025 » in its first lines, « RÉUNION DU 30 JANVIER 2025 » in its opening
    part), else a publication or letter date, or a date alone on one of its first lines;
    else ``fallback`` (a PDF's own metadata); else None
    (« date inconnue »). Dates the text merely mentions are not the document's."""
    lines = [ln.strip(" #*>_") for ln in text.splitlines() if ln.strip()][:HEADER_LINES]
    meetings = [*_MEETING_RE.finditer("\n".join(lines)), *_REUNION_RE.finditer(text[:MEETING_CHARS])]
    for meeting in meetings:
        if iso := read_written_date(meeting.group(1)):
            return iso
    for line in lines:
        header = _HEADER_RE.search(line)
        if header and (iso := read_written_date(header.group(1) or header.group(2))):
            return iso
    return fallback
