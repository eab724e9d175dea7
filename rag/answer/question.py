"""The question, read once into one object that every later step reads.

``read_question`` finds what a French question asks for (a type of answer), the noun
it is about (its focus: "combien de **postes**", "quel est le **montant** de la
**prime**"), the years and names that pin it down, and the weight of each of its
terms in the index. It reads the question's grammar only: interrogative words and the
noun after them, looked up in ``rag/data/answer_types.tsv``; it knows no document.

spaCy is not used here on purpose: loading it takes 4 to 7 seconds, more than the
whole cold start of ``rag ask`` may. The passages were analysed by spaCy when they
were indexed (rag.analyze); the question is short and its shape regular.

Worked example::

    read_question("Combien de postes la direction veut-elle supprimer en 2025 ?", ...)
    -> asks "count", focus {"post"}, years ("2025",)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rag.glossary import Glossary
from rag.ingest import UNIONS
from rag.text import QUESTION_WORDS, analyze, extract_quantities, fold, unaccent

ASK_TYPES = ("money", "percent", "count", "duration", "number", "date", "time", "person", "org",
             "place", "name", "statement")
QUANTITY_TYPES = frozenset({"money", "percent", "count", "duration", "number"})


def _data_rows(name: str) -> list[tuple[str, list[str]]]:
    """The rows of a rag/data file of lines "key <TAB> word | word …" (# comments):
    (key, its words), stripped."""
    rows = []
    text = resources.files("rag.data").joinpath(name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, words = line.partition("\t")
        rows.append((key.strip(), [w.strip() for w in words.split("|") if w.strip()]))
    return rows


@lru_cache(maxsize=1)
def type_words() -> dict[str, str]:
    """Folded word -> answer type, from rag/data/answer_types.tsv."""
    out: dict[str, str] = {}
    for kind, words in _data_rows("answer_types.tsv"):
        for w in words:
            out.setdefault(fold(w), kind)
    return out


@lru_cache(maxsize=1)
def _places() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every name of rag/data/places.tsv (longest first, so that
    "Pays de la Loire" is read before "Loire"), and name -> its region."""
    region_of: dict[str, str] = {}
    for region, names in _data_rows("places.tsv"):
        for name in names:
            region_of.setdefault(unaccent(name), region)
    alternatives = "|".join(re.escape(n) for n in sorted(region_of, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])"), region_of


def places_in(text: str) -> frozenset[str]:
    """The names of rag/data/places.tsv that ``text`` holds (accents stripped).

    >>> sorted(places_in("Pôle emploi Pays de la Loire et l'agence de Toulouse"))
    ['Pays de la Loire', 'Toulouse']
    """
    pattern, _ = _places()
    return frozenset(m.group(0) for m in pattern.finditer(unaccent(text)))


def regions_in(text: str) -> frozenset[str]:
    """The French regions that ``text`` names, by a region, a former region, a department
    or a large town (rag/data/places.tsv).

    >>> sorted(regions_in("Pôle emploi Pays de la Loire et l'agence de Toulouse"))
    ['Occitanie', 'Pays de la Loire']
    """
    return regions_of(places_in(text))


def regions_of(places: frozenset[str]) -> frozenset[str]:
    """The regions of names read by ``places_in``."""
    _, region_of = _places()
    return frozenset(region_of[p] for p in places)


@dataclass(frozen=True)
class QuestionFrame:
    text: str
    asks: str  # one of ASK_TYPES
    focus: frozenset[str]  # stems of the noun(s) the question is about
    terms: tuple[str, ...]  # content stems, in order
    weights: dict[str, float] = field(hash=False)  # stem -> IDF weight in the index
    alts: dict[str, tuple[frozenset[str], ...]] = field(hash=False)  # stem -> glossary forms
    glossed: frozenset[str] = frozenset()  # terms and single-word glossary forms
    years: tuple[str, ...] = ()
    names: tuple[frozenset[str], ...] = ()  # stems of proper names that pin the answer
    union: str = ""
    numbers: frozenset[tuple[float, str]] = frozenset()  # the question's own figures
    missing: tuple[str, ...] = ()  # names, acronyms, years or figures found in no document
    places: frozenset[str] = frozenset()  # places the question names (places_in)
    regions: frozenset[str] = frozenset()  # their regions (regions_of)

    def has(self, term: str, words: set[str] | frozenset[str]) -> bool:
        """``term`` or one of its glossary forms is in ``words``."""
        return term in words or any(f <= words for f in self.alts.get(term, ()))

    def coverage(self, words: set[str] | frozenset[str]) -> float:
        """IDF-weighted share of the question's terms present in ``words`` (glossary included)."""
        total = sum(self.weights.values()) or 1.0
        return sum(w for t, w in self.weights.items() if self.has(t, words)) / total


_WH = re.compile(
    r"\b(?:combien|quand|qui|o[uù]|pourquoi|comment|quel(?:le)?s?|lequel|laquelle|lesquel(?:le)?s|"
    r"que|qu['’]|quoi)\b", re.I)
_AFTER_QUEL = re.compile(
    r"\b(?:quel(?:le)?s?)\s+(?:(?:est|sont|[ée]tait|[ée]taient|sera|seront|fut)\s+)?"
    r"(?:(?:le|la|les|l['’]|un|une|des)\s*)?(?P<noun>[\w'’-]+)", re.I)
_COMBIEN_DE = re.compile(r"\bcombien\s+(?:de|d['’])\s*(?P<noun>[\w-]+)", re.I)
_DE_NOUN = re.compile(r"^\s*(?:de la|du|des|de l['’]|d['’]|de)\s*(?P<noun>[\w-]+)", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_ADJECTIVES = frozenset(fold(w) for w in
                        "premier première premiers premières nouveau nouvelle nouveaux nouvelles "
                        "dernier dernière derniers dernières autre autres principal principale "
                        "principaux principales grand grande petit petite seul seule exact exacte "
                        "total totale".split())


def _noun_type(noun: str) -> str:
    return type_words().get(fold(noun), "")


def asked_type(question: str) -> tuple[str, list[str]]:
    """(answer type, focus words as written) of a French question.

    >>> asked_type("Combien d'agents ont signé la pétition ?")
    ('count', ['agents'])
    >>> asked_type("Quel est le montant de la prime de fin d'année ?")
    ('money', ['montant', 'prime'])
    >>> asked_type("Quand le CSE a-t-il été consulté ?")
    ('date', [])
    >>> asked_type("Pourquoi les élus ont-ils quitté la séance ?")[0]
    'statement'
    """
    q = question.strip()
    f = fold(q)
    if re.search(r"\bcombien de temps\b|\bpendant combien\b", f):
        return "duration", []
    if m := _COMBIEN_DE.search(q):
        noun = m.group("noun")
        kind = _noun_type(noun)
        return (kind if kind in QUANTITY_TYPES else "count"), [noun]
    if m := _AFTER_QUEL.search(q):
        noun = m.group("noun")
        words = [noun]
        if fold(noun) in _ADJECTIVES:  # "quels nouveaux postes"
            nxt = re.match(r"\s+([\w-]+)", q[m.end():])
            if nxt:
                noun = nxt.group(1)
                words = [noun]
        kind = _noun_type(noun)
        de = _DE_NOUN.match(q[m.end():])
        if de and kind in ("money", "percent", "count", "number", "date", "duration", "name"):
            words.append(de.group("noun"))  # "le montant de la prime" is about the prime
        if kind:
            return kind, words
        return "name", words
    if re.search(r"\bcombien\b", f):
        verb_kind = next((type_words()[w] for w in re.findall(r"\w+", f)
                          if type_words().get(w) == "money"), "")
        return (verb_kind or "number"), []
    if re.search(r"\b(?:quand|a partir de quand|depuis quand|jusqu'a quand)\b", f) \
            or re.search(r"\ba quelle (?:date|periode|echeance)\b", f):
        return "date", []
    if re.search(r"(?:^|[,;:]\s*|\b(?:par|a|de|avec|pour|aupres de)\s+)qui\b", f):
        return "person", []
    if re.search(r"(?:^|[\s,(])où\b", q, re.I):
        return "place", []
    return "statement", []


def _idf(df: dict[str, int], n: int, term: str) -> float:
    d = df.get(term, 0)
    return math.log(1.0 + (n - d + 0.5) / (d + 0.5))


def read_question(question: str, glossary: Glossary, df: dict[str, int], n_passages: int,
                  in_corpus: Callable[[str], bool] | None = None) -> QuestionFrame:
    """The question read once: what it asks, its focus, its pins, its term weights.

    ``df`` maps analysed terms to the number of passages holding them; ``in_corpus`` is an
    optional callable telling whether a hyphenated name occurs in the documents.
    """
    asks, focus_words = asked_type(question)
    terms = tuple(dict.fromkeys(analyze(question, keep_question_words=False)))
    n = max(1, n_passages)
    weights = {t: _idf(df, n, t) for t in terms}
    alts: dict[str, list[frozenset[str]]] = {}
    glossed = set(terms)
    for key, forms in glossary.concepts(question):
        for t in key:
            alts.setdefault(t, []).extend(frozenset(f) for f in forms)
        glossed |= set(key)
        for f in forms:
            glossed |= set(f)
    focus = frozenset(t for w in focus_words for t in analyze(w, keep_question_words=False))
    q_numbers = frozenset((x.value, x.unit) for x in extract_quantities(question))
    years = tuple(dict.fromkeys(_YEAR.findall(question)))
    union = next((u for u in UNIONS if re.search(rf"(?<![\w-]){re.escape(u)}(?![\w-])", question)), "")
    names: list[frozenset[str]] = []
    missing: list[str] = []
    words = re.findall(r"[\w'’-]+", question)
    for i, w in enumerate(words):
        w = re.sub(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu)['’]", "", w, flags=re.IGNORECASE)
        if not w or fold(w) in QUESTION_WORDS:
            continue
        is_number = bool(re.fullmatch(r"\d[\d.,]*", w))
        is_name = (w[0].isupper() and i > 0) or (len(w) >= 2 and w.isupper())
        if not (is_number or is_name):
            continue
        toks = analyze(w)
        if not toks:
            continue
        absent = [t for t in toks if df.get(t, 0) == 0]
        if absent and (len(toks) == 1 or ("-" in w and is_name and in_corpus is not None
                                           and not in_corpus(w))):
            missing.append(w)
        if is_name and not is_number and w not in UNIONS and not glossary.concepts(w):
            rare = frozenset(t for t in toks if df.get(t, 0) < 0.15 * n)
            if rare:
                names.append(rare)
    places = places_in(question)
    return QuestionFrame(
        text=question, asks=asks, focus=focus, terms=terms, weights=weights,
        alts={k: tuple(v) for k, v in alts.items()}, glossed=frozenset(glossed), years=years,
        names=tuple(names), union=union, numbers=q_numbers, missing=tuple(missing),
        places=places, regions=regions_of(places))


__all__ = ["ASK_TYPES", "QUANTITY_TYPES", "QuestionFrame", "asked_type", "places_in", "read_question",
           "regions_in", "regions_of"]
