"""Candidate answers in the retrieved passages: figures, dates, names, sentences.

A passage is cut into units: its sentences (exact spans of the page text), a line
ending in ":" or "?" read with the line after it ("Le coût ? 2 millions d'euros !"),
each list item read with the line that introduces it, and, in a list of elected
members, each role with the names under it. Each unit offers candidates of every
kind it holds:

- quantities (``rag.text.extract_quantities``: "2 900", "2 M€", "deux mille") typed
  money, percent, duration or count, with the noun they count (the spaCy head of a
  ``nummod``, else the next noun) and the words that go with them ("45 minutes à 1 heure");
- dates ("4 février 2025", "fin mars", "2027") and times ("7h30 à 20h");
- names: spaCy entities (PER, ORG, LOC, MISC), acronyms, «quoted» names, and
  capitalised first name + SURNAME pairs;
- the unit itself, the answer to a "quoi / pourquoi" question.

Nothing here decides; rag.answer.features describes each candidate and
rag.answer.scorer weighs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.analyze import PageAnalysis
from rag.chunk import ROLE_RE
from rag.dates import MONTH_RE
from rag.retrieve import Hit
from rag.text import STOPWORDS, analyze, extract_quantities, fold, sentence_spans

_MONTH = MONTH_RE
_WEEKDAY = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
DATE_RE = re.compile(
    # ranges written as one: "16-17 juin", "2 et 3 mars 2025", "octobre et décembre 2015",
    # "06 à 10/2023"
    rf"\b\d{{1,2}}(?:er)?\s*(?:-|–|et|au|à)\s*\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?\b"
    rf"|\b{_MONTH}\s+(?:et|à|au|-)\s+{_MONTH}(?:\s+\d{{4}})?\b"
    r"|\b\d{1,2}\s*(?:-|à|au)\s*\d{1,2}/\d{4}\b"
    rf"|\b(?:{_WEEKDAY}\s+)?\d{{1,2}}(?:er|<sup>er</sup>)?\s+{_MONTH}(?:\s+\d{{4}})?\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}/\d{4}\b"
    rf"|\b(?:fin|d[ée]but|mi-)\s*{_MONTH}(?:\s+\d{{4}})?\b|\b{_MONTH}\s+\d{{4}}\b"
    r"|\b(?:fin|d[ée]but|mi-)?\s*(?:19|20)\d{2}\b", re.I)
# a clock hour is 0-23: "48 heures" is a duration, not a time of day
_HOUR = r"(?<!\d)(?:[01]?\d|2[0-3])\s?(?:[hH](?:\s?[0-5]\d)?(?![\w])|heures?\b(?:\s?[0-5]\d\b)?)"
TIME_RE = re.compile(rf"\b{_HOUR}(?:\s?(?:[àa]|-|–)\s?{_HOUR})?")
# "du 28 octobre au 8 novembre 2019", "22 juin - 31 octobre 2023": one span
_DATE_RANGE_TAIL = re.compile(r"\s*[-–]\s*|\s*(?:au|à|a|et)\s+(?:le\s+)?")
PERSON_RE = re.compile(
    r"\b[A-ZÉÈ][a-zéèëêïîôç]+(?:[- ][A-ZÉÈ][a-zéèëêïîôç]+)?\s+"
    r"(?:(?:DE |D'|LE |DU )?[A-ZÉÈ][A-ZÉÈ'’\-]{1,}(?:\s+[A-ZÉÈ][A-ZÉÈ'’\-]{1,})*)\b")
ACRONYM_RE = re.compile(r"(?<![\w-])[A-Z][A-Z0-9&]{1,}(?:-[A-Z0-9]{2,})*(?![\w-])")
QUOTED_RE = re.compile(r"«\s*([^«»\n]{2,60}?)\s*»|\"([^\"\n]{2,60})\"|“([^”\n]{2,60})”")
_TIME_UNIT_RE = re.compile(
    r"\s*(?:d['’]\s*|de\s+)?(?:minutes?|min\b|heures?|h\b|jours?|semaines?|mois\b|ans\b|an\b|"
    r"ann[ée]es?|trimestres?)", re.I)
_EURO_AFTER_RE = re.compile(r"\s*(?:de\s+|d['’]\s*)?(?:euros?|€|M€|k€)", re.I)
_RANGE_START_RE = re.compile(
    r"(?:\bentre\s+)?\b\d[\d\s\u00a0\u202f.,]*\s*(?:%|\w+)?\s+(?:et|à|a|ou)\s+$", re.I)
_LOWER = "a-zàâçéèêëîïôûùüÿœ"

# a share written in words: "un salarié sur deux", "la moitié des effectifs", "deux tiers"
PROPORTION_RE = re.compile(
    r"\b(?:un|une|deux|trois|\d+)\s+(?:[\w’'-]+\s+){1,2}sur\s+(?:deux|trois|quatre|cinq|dix|\d+)\b"
    r"|\b(?:la\s+|une\s+|de\s+la\s+)?moitié(?:\s+(?:des|du|de\s+la|de\s+l['’])\s*[\w-]+)?"
    r"|\b(?:un|deux|les\s+deux)\s+tiers(?:\s+(?:des|du)\s+[\w-]+)?"
    r"|\b(?:un|trois|les\s+trois)\s+quarts?(?:\s+(?:des|du)\s+[\w-]+)?", re.I)
# what comes before a figure and belongs to it: "plus de 50 %", "une centaine", "près d'une dizaine"
_QUALIFIER_RE = re.compile(
    r"(?:(?:(?:près|plus|moins|autour)\s+(?:d['’]\s*|de\s+|que\s+))|environ\s+|quelque\s+|"
    r"jusqu['’]\s*à\s+|au\s+moins\s+|pas\s+moins\s+de\s+)?(?:une?\s+)?$", re.I)
# "sur les 517", "sur 29": the whole a count is part of
_OUT_OF_RE = re.compile(r"\s+sur\s+(?:les\s+|un\s+total\s+de\s+)?\d[\d\s\u00a0\u202f.,]*\d|\s+sur\s+\d", re.I)
# a reference to an article of a code: "R.4121-1", "L. 2315-29"
ARTICLE_RE = re.compile(r"\b[LRD]\.?\s?\d{3,4}(?:-\d+){1,2}\b")

# a sentence opening on what the one before named: "Ce dossier …", "Cette mesure …", "Il …"
ANAPHORA_RE = re.compile(
    r"\s*(?:(?:ce|cet|cette|ces)\s+[\w-]+(?!\s*[-:])|il(?!\s+(?:y\s|faut|est|s['’]agit|reste|semble|existe|manque))|"
    r"(?:elle|ils|elles|celui-ci|celle-ci|"
    r"ceux-ci|celles-ci|cela|ceci)\b)", re.I)

QUANTITY_KINDS = ("money", "percent", "duration", "count")
ENTITY_KINDS = ("person", "org", "place", "name")


@dataclass
class Unit:
    """One sentence (or sentence group) of a retrieved passage."""

    hit: Hit
    hit_rank: int
    page: str
    start: int
    end: int
    intro: tuple[int, int] | None = None  # the line introducing a list item
    neighbours: set[str] = field(default_factory=set)  # stems of the sentences around
    context: set[str] = field(default_factory=set)  # stems of section, title, instance, union
    passage_terms: set[str] = field(default_factory=set)
    analysis: PageAnalysis | None = None
    roster: bool = False
    # offsets in ``page`` of digit words OCR read unsurely: never a figure or a date
    doubtful: list[tuple[int, int]] = field(default_factory=list)

    def unsure_at(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a word OCR read unsurely."""
        return any(a < end and start < b for a, b in self.doubtful)

    @property
    def text(self) -> str:
        return self.page[self.start:self.end]

    @property
    def reading(self) -> str:
        """The unit as it is read: with its list intro when it has one."""
        if self.intro:
            return self.page[self.intro[0]:self.intro[1]] + "\n" + self.text
        return self.text


@dataclass
class Candidate:
    unit: Unit
    kind: str  # money, percent, duration, count, date, time, person, org, place, name, statement
    start: int  # offsets of the value in the page (the unit's for a statement)
    end: int
    lead: str  # what the answer asserts first ("" for a statement)
    head: str = ""  # the noun a quantity counts, as a stem
    value: float | None = None
    quoted: bool = False
    features: dict[str, float] = field(default_factory=dict)
    own: float = 0.0  # the choice model's probability of this candidate
    p: float = 0.0  # that of its lead: summed over the candidates asserting it


# --- units -------------------------------------------------------------------------

def is_item(page: str, start: int) -> bool:
    """Whether the text at ``start`` is a list item ("- MLI : 15%", "• …", "2) …")."""
    marker = r"[ \t]*(?:[-•*–]|\d{1,2}[.)])[ \t]*"
    line_start = page.rfind("\n", 0, start) + 1
    if re.fullmatch(marker, page[line_start:start]):
        return True
    # PDF text often puts the bullet alone on the line above: "-\nun plan de formation…"
    if page[line_start:start].strip() or line_start == 0:
        return False
    prev_start = page.rfind("\n", 0, line_start - 1) + 1
    return bool(re.fullmatch(marker, page[prev_start:line_start - 1]))


def list_intro(page: str, spans: list[tuple[int, int]], j: int,
               items: list[bool] | None = None) -> int | None:
    """Index of the line ending in ":" that introduces the list item ``spans[j]``."""
    def item(i: int) -> bool:
        return items[i] if items is not None else is_item(page, spans[i][0])

    if not item(j):
        return None
    k = j - 1
    while k >= 0 and (item(k) or re.fullmatch(r"\s*[-•*–]\s*", page[spans[k][0]:spans[k][1]])):
        k -= 1
    if k >= 0 and j - k <= 12 and page[spans[k][0]:spans[k][1]].rstrip().endswith(":"):
        return k
    return None


def roster_units(page: str, start: int, end: int) -> list[tuple[int, int]]:
    """A roster chunk cut at its role lines: each unit is a role and the names under it."""
    cuts = [start + m.start() for m in re.finditer(r"^.*$", page[start:end], re.M)
            if ROLE_RE.match(m.group(0).strip())] or [start]
    if cuts[0] != start:
        cuts.insert(0, start)
    bounds = cuts + [end]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        a += len(page[a:b]) - len(page[a:b].lstrip("#>*•- \n"))
        b = a + len(page[a:b].rstrip())
        if b > a:
            out.append((a, b))
    return out


def passage_units(hit: Hit, rank: int, page: str, base: int,
                  analysis: PageAnalysis | None) -> list[Unit]:
    node = hit.node
    end = base + len(node.text)
    meta = node.metadata
    context = set(analyze(" ".join(str(meta.get(k) or "") for k in
                                   ("section", "title", "instance", "union", "doc_date"))))
    passage_terms = set(analyze(node.text))
    roster = bool(meta.get("roster"))
    spans = roster_units(page, base, end) if roster else sentence_spans(page, base, end)
    if not spans:
        return []
    items = [is_item(page, a) for a, _ in spans]
    # A passage that opens with list items: their intro may be just above it on the page.
    above = sentence_spans(page, max(0, spans[0][0] - 600), spans[0][0]) if items[0] else []
    span_terms = [set(analyze(page[a:b])) for a, b in spans]
    units: list[Unit] = []
    for j, (a, b) in enumerate(spans):
        intro = None
        k = list_intro(page, spans, j, items)
        if k is not None:
            intro = spans[k]
        elif items[j] and above:
            k2 = list_intro(page, above + spans[:j + 1], len(above) + j)
            if k2 is not None:
                intro = above[k2]
        near = set().union(*span_terms[max(0, j - 2):j], *span_terms[j + 1:j + 3])
        units.append(Unit(hit, rank, page, a, b, intro, near, context, passage_terms, analysis,
                          roster))
        # "Le coût ? 2 millions d'euros !": a question or a colon read with what follows,
        # unless it introduces a list (each item then reads with it).
        nxt_is_list = j + 2 < len(spans) and items[j + 2]
        if (not roster and j + 1 < len(spans) and re.search(r"[?:]\s*$", page[a:b])
                and not nxt_is_list):
            units.append(Unit(hit, rank, page, a, spans[j + 1][1], None, near, context,
                              passage_terms, analysis))
        # "Ce dossier a été le principal sujet du CSE.": what "ce dossier" is was said in
        # the sentence before; the two are read together too.
        if (not roster and j > 0 and not items[j] and ANAPHORA_RE.match(page[a:b])
                and "\n\n" not in page[spans[j - 1][1]:a]):
            units.append(Unit(hit, rank, page, spans[j - 1][0], b, None, near, context,
                              passage_terms, analysis))
    return units


# --- candidates --------------------------------------------------------------------

def _in_dates(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in DATE_RE.finditer(text)] + [m.span() for m in TIME_RE.finditer(text)]


def quantity_kind(text: str, q_start: int, q_end: int, unit: str) -> str:
    if unit == "%":
        return "percent"
    if unit == "€" or _EURO_AFTER_RE.match(text[q_end:q_end + 14]):
        return "money"
    if _TIME_UNIT_RE.match(text[q_end:q_end + 16]):
        return "duration"
    return "count"


def lead_span(text: str, start: int, end: int, kind: str, counted: bool = False) -> tuple[int, int]:
    """The quantity with its range and what it counts: "45 minutes à 1 heure",
    "entre 29 et 39 %", "2 ou 3 points", "deux situations supplémentaires"."""
    r0 = _RANGE_START_RE.search(text[max(0, start - 40):start])
    if r0:
        start = max(0, start - 40) + r0.start()
    h = re.match(r"[hH](?:\d{2})?\b", text[end:])
    if h:
        end += h.end()
    r1 = re.match(r"\s*(?:%|€)?\s+(?:et|à|ou)\s+\d[\d\u00a0\u202f.,]*(?:\s?(?:%|€))?", text[end:])
    if r1:
        end += r1.end()
    if kind in ("percent", "money"):
        m = re.match(r"\s*(?:d['’]\s*|de\s+)?(?:euros?|€)\b", text[end:])
        if m and kind == "money":
            end += m.end()
        return start, end
    if counted:  # "2900 ETP": the figure already carries what it counts
        return start, end
    m = re.match(rf"\s*(?:d['’]\s*|de\s+)?(?:[{_LOWER}.\-]{{2,}}|[A-Z]{{2,6}}s?\b)", text[end:])
    if m and fold(m.group(0).strip()) not in STOPWORDS:
        end += m.end()
        r = re.match(rf"\s+(?:[àa]|au)\s+\d[\d\s.,]*\s*[{_LOWER}]+", text[end:])
        if r:
            end += r.end()
        adj = re.match(rf"\s+[{_LOWER}]+(?:aires?|ives?|ifs?|elles?|ées?|és|iques?|ables?|"
                       r"ales?|aux|ants?|antes?)\b", text[end:])
        if adj:
            end += adj.end()
    return start, end


_NOUN_MODS = frozenset({"amod", "compound", "flat", "flat:name", "fixed", "nmod", "nummod"})
_INNER = frozenset({"case", "det", "amod", "flat", "flat:name", "fixed"})
_DE = frozenset({"de", "d'", "d’", "du", "des", "en"})
COUNTED_WORDS = 6  # at most this many words of what a figure counts join its lead


def counted_end(an: PageAnalysis | None, page: str, start: int, end: int, limit: int) -> int | None:
    """Page offset where the noun phrase a figure counts ends, from the stored parse:
    "93 équivalents temps plein travaillés" → after "plein", "600 demandeurs d'emploi",
    "55 postes en CDD"; None without a parse or when the figure counts no noun after it.
    The phrase is the figure's head noun with its contiguous modifiers (adjectives,
    compounds, a "de …" or "en …" complement), at most ``COUNTED_WORDS`` words."""
    if an is None or not an.parsed:
        return None
    rng = an.token_range(start, end)
    if not len(rng):
        return None
    toks = an.toks
    last = rng[-1]
    h = toks[last][5]
    if not (toks[last][4] in ("nummod", "det") and last < h < len(toks)
            and toks[h][3] in ("NOUN", "ADJ", "PROPN")):
        return None
    mods = {j for j in range(last + 1, min(len(toks), last + 12))
            if toks[j][5] == h and toks[j][4] in _NOUN_MODS
            and (toks[j][3] in ("NOUN", "PROPN", "ADJ", "NUM")  # not "d'ici", "de plus"
                 or page[toks[j][0]:toks[j][1]].isupper())}  # acronyms mis-tagged ("en CDD")
    inner = {j for j in range(last + 1, min(len(toks), last + 12))
             if toks[j][5] in mods and toks[j][4] in _INNER}
    keep = {h} | mods | inner
    j, stop = last + 1, None
    while j < len(toks) and j in keep and toks[j][0] < limit and j - last <= COUNTED_WORDS:
        if toks[j][4] == "case" and fold(toks[j][2]) not in _DE:
            break  # "postes à Lyon": a place, not what is counted
        stop = j
        j += 1
    while stop is not None and stop > last and toks[stop][4] in ("case", "det"):
        stop -= 1  # never end on "de" or "la"
    if stop is None or stop < h:
        return None
    return int(toks[stop][1])


def _head_noun(unit: Unit, pos: int, end: int) -> str:
    """Stem of the noun a figure at page offset ``pos`` counts."""
    an = unit.analysis
    if an is not None and an.parsed:
        k = an.token_at(pos)
        if k is not None:
            tok = an.toks[k]
            head = an.toks[tok[5]] if 0 <= tok[5] < len(an.toks) else tok
            if tok[4] == "nummod" and head[3] in ("NOUN", "PROPN"):
                stems = analyze(head[2]) or analyze(unit.page[head[0]:head[1]])
                return stems[0] if stems else ""
            for j in range(k + 1, min(len(an.toks), k + 5)):
                if an.toks[j][3] in ("NOUN", "PROPN"):
                    stems = analyze(unit.page[an.toks[j][0]:an.toks[j][1]])
                    return stems[0] if stems else ""
    m = re.match(rf"\s*(?:%|€)?\s*(?:d['’]\s*|de\s+|des\s+)?([{_LOWER}A-Z\-]{{3,}})", unit.page[end:end + 40])
    if m:
        stems = analyze(m.group(1))
        return stems[0] if stems else ""
    return ""


def quantities(unit: Unit) -> list[Candidate]:
    text, off = unit.text, unit.start
    dates = _in_dates(text)
    out = []
    for x in extract_quantities(text):
        if x.unit == "ordinal" or re.match(r"(?:[èe]re|[èe]res|[èe]me|[èe]mes|nde?s?)\b", text[x.end:]):
            continue  # "1er", "3e", "1ères données": a rank, not a quantity
        if x.unit == "" and 1900 <= x.value <= 2100 and float(x.value).is_integer():
            continue  # a year
        if any(a <= x.start < b for a, b in dates):
            continue
        kind = quantity_kind(text, x.start, x.end, x.unit)
        a, b = lead_span(text, x.start, x.end, kind, x.unit not in ("", "%", "€"))
        if kind in ("count", "duration") and x.unit == "":
            parsed = counted_end(unit.analysis, unit.page, off + x.start, off + x.end, unit.end)
            if parsed is not None and parsed - off > b:
                b = parsed - off
            if kind == "count" and (part := _OUT_OF_RE.match(text, b)):
                b = part.end()
        if (q := _QUALIFIER_RE.search(text, max(0, a - 30), a)) and q.group(0).strip():
            a = q.start()
        out.append(Candidate(unit, kind, off + x.start, off + x.end,
                             text[a:b].strip().rstrip(".,;:"), _head_noun(unit, off + x.start, off + x.end),
                             x.value))
    for m in PROPORTION_RE.finditer(text):
        if not any(c.start <= off + m.start() < c.end or off + m.start() <= c.start < off + m.end()
                   for c in out if c.kind == "percent"):
            out.append(Candidate(unit, "percent", off + m.start(), off + m.end(), m.group(0).strip()))
    return out


def dates(unit: Unit) -> list[Candidate]:
    text, off = unit.text, unit.start
    found = list(DATE_RE.finditer(text))
    out = [Candidate(unit, "date", off + m.start(), off + m.end(), m.group(0).strip()) for m in found]
    for m, n in zip(found, found[1:], strict=False):
        gap = text[m.end():n.start()]
        if _DATE_RANGE_TAIL.fullmatch(gap):
            out.append(Candidate(unit, "date", off + m.start(), off + n.end(),
                                 text[m.start():n.end()].strip()))
    out += [Candidate(unit, "time", off + m.start(), off + m.end(), m.group(0).strip())
            for m in TIME_RE.finditer(text)]
    return out


_SPACY_KIND = {"PER": "person", "ORG": "org", "LOC": "place", "MISC": "name"}


def entities(unit: Unit) -> list[Candidate]:
    text, off = unit.text, unit.start
    out: list[Candidate] = []
    seen: set[tuple[int, int]] = set()

    def add(kind: str, a: int, b: int, quoted: bool = False) -> None:
        name = text[a:b].strip(" ,.;:()«»\"")
        if len(name) < 2:
            return
        if (a, b) in seen:
            if quoted:  # «Cap Avenir»: the quotes say it is a name, whatever the parse said
                for c in out:
                    if c.start == off + a and c.end == off + b:
                        c.kind, c.quoted = "name", True
            return
        seen.add((a, b))
        out.append(Candidate(unit, kind, off + a, off + b, name, quoted=quoted))

    an = unit.analysis
    if an is not None and an.parsed:
        rng = an.token_range(unit.start, unit.end)
        k = rng.start
        while k < rng.stop:
            label = an.toks[k][6]
            if not label:
                k += 1
                continue
            j = k
            while j + 1 < rng.stop and an.toks[j + 1][6] == label:
                j += 1
            add(_SPACY_KIND.get(label, "name"), an.toks[k][0] - off, an.toks[j][1] - off)
            k = j + 1
    for m in PERSON_RE.finditer(text):
        add("person", m.start(), m.end())
    for m in ARTICLE_RE.finditer(text):
        add("name", m.start(), m.end())
    for m in ACRONYM_RE.finditer(text):
        add("org", m.start(), m.end())
    for m in QUOTED_RE.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        if any(ch.isupper() for ch in m.group(g)) and len(m.group(g).split()) <= 6:
            add("name", m.start(g), m.end(g), quoted=True)
    for first, last, kind in _name_lists(out, text, off):
        add(kind, first - off, last - off)
    return out


# between two names of one list: « , », « et », « / », « ainsi que », an article after it
_LIST_GAP_RE = re.compile(r"\s*(?:,\s*et|,|et|/|&|ainsi que)\s*(?:(?:la|le|les|l['’])\s*)?", re.IGNORECASE)


def _name_lists(names: list[Candidate], text: str, off: int) -> list[tuple[int, int, str]]:
    """Runs of two or more names joined as one list (« la CFE-CGC, la CGT, FO et le
    SNU »): (start, end, kind) in page offsets, the kind of most of its names."""
    out = []
    items = sorted(names, key=lambda c: (c.start, -c.end))
    run: list[Candidate] = []

    def close() -> None:
        if len(run) >= 2:
            kinds = [c.kind for c in run]
            out.append((run[0].start, run[-1].end, max(set(kinds), key=kinds.count)))

    for c in items:
        if run and c.start < run[-1].end:
            continue  # a name inside the previous one
        if run and _LIST_GAP_RE.fullmatch(text[run[-1].end - off:c.start - off]):
            run.append(c)
            continue
        close()
        run = [c]
    close()
    return out


def phrases(unit: Unit) -> list[Candidate]:
    """Noun phrases from the stored parse: a noun with the adjectives and proper nouns next
    to it and one "de …" complement ("avis défavorable", "livre noir du management")."""
    an = unit.analysis
    if an is None or not an.parsed:
        return []
    rng = an.token_range(unit.start, unit.end)
    toks = an.toks
    out = []
    for k in rng:
        if toks[k][3] != "NOUN":
            continue
        a = k
        while a - 1 >= rng.start and toks[a - 1][3] == "ADJ":
            a -= 1
        b = k
        while b + 1 < rng.stop and toks[b + 1][3] in ("ADJ", "PROPN"):
            b += 1
        if (b + 2 < rng.stop and toks[b + 1][3] == "ADP" and toks[b + 1][2] in ("de", "du", "des")
                and toks[b + 2][3] in ("NOUN", "PROPN")):
            b += 2
            while b + 1 < rng.stop and toks[b + 1][3] == "ADJ":
                b += 1
        elif (b + 3 < rng.stop and toks[b + 1][2] == "de" and toks[b + 2][3] == "DET"
              and toks[b + 3][3] in ("NOUN", "PROPN")):
            b += 3  # "traitement de la demande"
        if b == a and len(toks[k][2]) < 4:
            continue
        out.append(Candidate(unit, "phrase", toks[a][0], toks[b][1], unit.page[toks[a][0]:toks[b][1]],
                             head=(analyze(toks[k][2]) or [""])[0]))
    return out


def statement(unit: Unit) -> list[Candidate]:
    return [Candidate(unit, "statement", unit.start, unit.end, "")]


def candidates(unit: Unit, asks: str, wide: bool = True) -> list[Candidate]:
    """The candidates of ``unit`` that could answer a question asking for ``asks``;
    ``wide``: also noun phrases and the sentence itself where they may answer (kept for
    the sentences closest to the question, as they are many)."""
    if asks in ("money", "percent", "count", "duration", "number"):
        return [] if unit.roster else quantities(unit)
    if asks in ("date", "time"):
        return [] if unit.roster else dates(unit)
    if asks in ENTITY_KINDS:
        out = entities(unit)
        if wide and not unit.roster:
            out += phrases(unit)
            if asks == "name":
                out += statement(unit)
        return out
    return [] if unit.roster else statement(unit)


__all__ = ["Candidate", "Unit", "candidates", "passage_units", "lead_span", "roster_units",
           "DATE_RE", "TIME_RE"]
