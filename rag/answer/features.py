"""Named, generic features of a candidate answer, one function each.

Every feature is a number computed from the question frame, the candidate's unit
(sentence), its passage and the stored analysis; none names a word of a document.
``FEATURES`` fixes their order, which the fitted model's weights follow.

Unit features (the same for every candidate of a sentence):

- ``sim``: e5 cosine of the question with the sentence (its list intro too);
  ``sim_gap``: how far below the best sentence retrieved it is;
- ``lex``: IDF-weighted share of the question's terms (glossary forms count) in the
  sentence; ``lex_gap``; ``ctx``: the share found only around it (neighbouring
  sentences, section heading, title, instance);
- ``rank``, ``dense``: the passage's fused rank and dense score;
- ``sim_rank``, ``lex_rank``: the sentence's rank among those retrieved by each;
- ``year_clash``: the sentence names years, none of the question's; ``year_near`` /
  ``year_in_doc``: the question's year is written near it / in its page or heading;
  ``name_absent``: a proper name of the question is not in the passage nor its
  document's title; ``union_clash``: the question names another union than the
  document's; ``place_absent``: the question names a place (a region, former region,
  department or large town) that the page and its headings do not, though they name
  others; ``region_clash``: the same by region (a page on Nancy answers for Lorraine);
  ``short``, ``words``: its length; ``has_kind``: it holds a candidate of the kind asked.

Candidate features:

- ``kind_exact`` / ``kind_near``: the candidate is what was asked (an amount for "quel
  montant") or of a neighbouring kind (a count for "combien"); ``exact_<asked>``: the
  same, one per family of what is asked (a figure, a date, a person…), as getting the kind
  right matters more for some than for others; ``other_entity``: a person, place or
  organisation was asked and the candidate is another kind of name;
- ``head_focus``: the noun a figure counts is the question's focus ("combien de
  postes" / "45 postes"); ``head_term``: it is one of the question's words;
- ``near``: closeness, in words, to the question's words in the sentence; ``tree``:
  closeness in the dependency tree (spaCy heads), when the page was parsed;
  ``arcs2`` / ``arcs4``: the IDF-weighted share of the question's terms within 2 / 4
  dependency arcs of the candidate, ``arcs_w``: each term weighted by 1 / (1 + arcs), so
  that the figure the question's words describe beats its neighbours ("une économie de
  11,4 millions sur la masse salariale, après une baisse de 49,6 millions");
- ``seg_before`` / ``seg_after``: the question's words between the candidate and the
  previous / next candidate of its kind; ``precision``: the share of the sentence's
  other words that the question says;
- ``restates``: the candidate is a figure or name the question itself contains;
- ``alone``: it is the only candidate of its kind in the sentence; ``first``: the first;
- ``aside``: it sits inside brackets; ``rare``: for names, how rare their words are;
- ``k_<kind>``: which kind it is; ``quoted``: «written in quotes»; ``span``: its length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from rag.answer.candidates import ENTITY_KINDS, QUANTITY_KINDS, Candidate, Unit
from rag.answer.question import QuestionFrame, places_in, regions_of
from rag.text import analyze

UNIT_FEATURES = ("sim", "sim_gap", "sim_rank", "lex", "lex_gap", "lex_rank", "ctx", "rank", "dense",
                 "year_clash", "year_near", "year_in_doc", "name_absent", "union_clash", "place_absent",
                 "region_clash", "short", "words", "has_kind")
KINDS = ("money", "percent", "count", "duration", "date", "time", "person", "org", "place", "name",
         "phrase", "statement")
ASKED = {"quantity": ("number", "count", "money", "percent", "duration"), "date": ("date", "time"),
         "person": ("person",), "place": ("place",), "org": ("org",), "name": ("name",),
         "statement": ("statement",)}
CAND_FEATURES = ("kind_exact", "kind_near", *(f"exact_{a}" for a in ASKED), "other_entity",
                 *(f"k_{k}" for k in KINDS), "head_focus", "head_term", "near", "tree", "arcs2",
                 "arcs4", "arcs_w", "seg_before", "seg_after", "precision", "restates", "alone",
                 "first", "aside", "rare", "quoted", "span")
FEATURES = UNIT_FEATURES + CAND_FEATURES

_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


class Context:
    """What features share for one question: the frame, its vector, per-unit caches."""

    def __init__(self, frame: QuestionFrame, qvec: np.ndarray | None, df: dict[str, int],
                 n_passages: int) -> None:
        self.frame = frame
        self.qvec = qvec
        self.df = df
        self.n = max(1, n_passages)
        self.unit_terms: dict[int, set[str]] = {}
        self.unit_sim: dict[int, float] = {}
        self.best_sim = 0.0
        self.best_lex = 0.0
        self.siblings: dict[int, list[Candidate]] = {}  # unit -> its candidates
        self.sim_rank: dict[int, int] = {}
        self.lex_rank: dict[int, int] = {}
        self.unit_features: dict[int, dict[str, float]] = {}  # unit -> its UNIT_FEATURES
        self._terms_at: dict[int, list[tuple[int, str]]] = {}
        self._arcs: dict[int, dict[str, int]] = {}
        self._places: dict[int, frozenset[str]] = {}

    def terms_at(self, u: Unit) -> list[tuple[int, str]]:
        """(page offset, term) of the words of ``u`` that are question terms (glossary
        included)."""
        key = id(u)
        if key not in self._terms_at:
            self._terms_at[key] = [(u.start + m.start(), toks[0]) for m in re.finditer(r"\w+", u.text)
                                   if (toks := analyze(m.group(0))) and toks[0] in self.frame.glossed]
        return self._terms_at[key]

    def term_positions(self, u: Unit) -> list[int]:
        """Page offsets of the words of ``u`` that are question terms (glossary included)."""
        return [p for p, _ in self.terms_at(u)]

    def arcs(self, c: Candidate) -> dict[str, int] | None:
        """Per question term of the candidate's sentence, the fewest dependency arcs between
        it and the candidate (through their closest common head); None when the page was
        not parsed or the candidate is a whole sentence."""
        key = id(c)
        if key in self._arcs:
            return self._arcs[key]
        an = c.unit.analysis
        k = an.token_at(c.start) if an is not None and an.parsed and c.kind != "statement" else None
        if an is None or k is None:
            return None

        def chain(i: int) -> list[int]:
            out = [i]
            for _ in range(40):
                h = an.toks[out[-1]][5]
                if h == out[-1] or not 0 <= h < len(an.toks):
                    break
                out.append(h)
            return out

        mine = {t: d for d, t in enumerate(chain(k))}
        best: dict[str, int] = {}
        for p, term in self.terms_at(c.unit):
            t = an.token_at(p)
            if c.start <= p < c.end or t is None:
                continue
            for d, node in enumerate(chain(t)):
                if node in mine:
                    best[term] = min(best.get(term, 99), d + mine[node])
                    break
        self._arcs[key] = best
        return best

    def places(self, u: Unit) -> frozenset[str]:
        """The places named by the page of ``u`` and its document's headings."""
        key = id(u.page)
        if key not in self._places:
            meta = " ".join(str(u.hit.node.metadata.get(k) or "") for k in ("title", "section"))
            self._places[key] = places_in(u.page + "\n" + meta)
        return self._places[key]

    def terms(self, u: Unit) -> set[str]:
        key = id(u)
        if key not in self.unit_terms:
            self.unit_terms[key] = set(analyze(u.reading))
        return self.unit_terms[key]

    def sim(self, u: Unit) -> float:
        key = id(u)
        if key not in self.unit_sim:
            best = 0.0
            if self.qvec is not None and u.analysis is not None:
                spans = [(u.start, u.end)] + ([u.intro] if u.intro else [])
                for a, b in spans:
                    for v in u.analysis.sentence_vectors(a, b):
                        best = max(best, float(np.dot(self.qvec, v)))
            self.unit_sim[key] = best
        return self.unit_sim[key]

    def prepare(self, units: list[Unit]) -> None:
        self.best_sim = max((self.sim(u) for u in units), default=0.0)
        lex = {id(u): self.frame.coverage(self.terms(u)) for u in units}
        self.best_lex = max(lex.values(), default=0.0)
        # dense ranks: units with the same score share a rank
        for table, score in ((self.sim_rank, lambda u: round(self.sim(u), 4)),
                             (self.lex_rank, lambda u: round(lex[id(u)], 4))):
            levels = sorted({score(u) for u in units}, reverse=True)
            where = {v: i for i, v in enumerate(levels)}
            for u in units:
                table[id(u)] = where[score(u)]


# --- unit features -------------------------------------------------------------------

def f_sim(c: Candidate, x: Context) -> float:
    return x.sim(c.unit)


def f_sim_gap(c: Candidate, x: Context) -> float:
    return x.sim(c.unit) - x.best_sim


def f_lex(c: Candidate, x: Context) -> float:
    return x.frame.coverage(x.terms(c.unit))


def f_lex_gap(c: Candidate, x: Context) -> float:
    return f_lex(c, x) - x.best_lex


def f_ctx(c: Candidate, x: Context) -> float:
    own = x.terms(c.unit)
    around = (c.unit.neighbours | c.unit.context) - own
    fr = x.frame
    total = sum(fr.weights.values()) or 1.0
    return sum(w for t, w in fr.weights.items() if not fr.has(t, own) and fr.has(t, around)) / total


def f_rank(c: Candidate, x: Context) -> float:
    return 1.0 / (1 + c.unit.hit_rank)


def f_dense(c: Candidate, x: Context) -> float:
    return float(c.unit.hit.dense or 0.0)


def f_year_clash(c: Candidate, x: Context) -> float:
    years = set(_YEAR.findall(c.unit.reading))
    return float(bool(x.frame.years and years and not years & set(x.frame.years)))


def f_year_near(c: Candidate, x: Context) -> float:
    """The question's year is written within a few lines of the sentence (or no year asked)."""
    if not x.frame.years:
        return 1.0
    u = c.unit
    around = u.page[max(0, u.start - 300):u.end + 300]
    return float(any(y in around for y in x.frame.years))


def f_year_in_doc(c: Candidate, x: Context) -> float:
    """The question's year is written somewhere in the page or the document's heading."""
    if not x.frame.years:
        return 1.0
    u = c.unit
    meta = " ".join(str(u.hit.node.metadata.get(k) or "") for k in ("section", "title", "doc_date"))
    return float(any(y in u.page or y in meta for y in x.frame.years))


def f_sim_rank(c: Candidate, x: Context) -> float:
    return 1.0 / (1 + x.sim_rank.get(id(c.unit), 0))


def f_lex_rank(c: Candidate, x: Context) -> float:
    return 1.0 / (1 + x.lex_rank.get(id(c.unit), 0))


def f_has_kind(c: Candidate, x: Context) -> float:
    """The sentence holds a candidate of the kind asked."""
    return float(any(f_kind_exact(o, x) for o in x.siblings.get(id(c.unit), [])))


def f_name_absent(c: Candidate, x: Context) -> float:
    u = c.unit
    pool = u.passage_terms | u.context
    return float(any(not n <= pool for n in x.frame.names))


def f_union_clash(c: Candidate, x: Context) -> float:
    doc_union = str(c.unit.hit.node.metadata.get("union") or "")
    return float(bool(x.frame.union and doc_union and doc_union != x.frame.union))


def _clash(asked: frozenset[str], named: Callable[[], frozenset[str]]) -> float:
    """The question names some of these (places, regions) and the page others only."""
    if not asked:
        return 0.0
    theirs = named()
    return float(bool(theirs and not asked & theirs))


def f_place_absent(c: Candidate, x: Context) -> float:
    return _clash(x.frame.places, lambda: x.places(c.unit))


def f_region_clash(c: Candidate, x: Context) -> float:
    return _clash(x.frame.regions, lambda: regions_of(x.places(c.unit)))


def f_short(c: Candidate, x: Context) -> float:
    return float(len(re.findall(r"\w+", c.unit.text)) < 4 and c.unit.intro is None)


# --- candidate features ----------------------------------------------------------------

_NEAR_KINDS = {
    "number": set(QUANTITY_KINDS),
    "count": {"count", "duration"},
    "money": {"count"},
    "percent": {"count"},
    "duration": {"count"},
    "date": {"time"},
    "time": {"date"},
    "person": {"org", "name", "phrase"},
    "org": {"name", "person", "place", "phrase"},
    "place": {"name", "org", "phrase"},
    "name": {"org", "person", "place", "statement"},
}


def f_kind_exact(c: Candidate, x: Context) -> float:
    asks = x.frame.asks
    if asks == "number":
        return float(c.kind in QUANTITY_KINDS)
    if asks == "name":
        return float(c.kind in ("name", "phrase") or c.quoted)
    return float(c.kind == asks)


def f_kind_near(c: Candidate, x: Context) -> float:
    return float(not f_kind_exact(c, x) and c.kind in _NEAR_KINDS.get(x.frame.asks, set()))


def _exact_for(asked: str) -> Callable[[Candidate, Context], float]:
    def exact(c: Candidate, x: Context) -> float:
        return f_kind_exact(c, x) if x.frame.asks in ASKED[asked] else 0.0
    return exact


def f_other_entity(c: Candidate, x: Context) -> float:
    asks = x.frame.asks
    return float(asks in ("person", "place", "org") and c.kind != asks
                 and c.kind in (*ENTITY_KINDS, "phrase"))


def f_head_focus(c: Candidate, x: Context) -> float:
    return float(bool(c.head) and (c.head in x.frame.focus
                                   or any(x.frame.has(t, {c.head}) for t in x.frame.focus)))


def f_head_term(c: Candidate, x: Context) -> float:
    return float(bool(c.head) and c.head in x.frame.glossed)


def f_near(c: Candidate, x: Context) -> float:
    if c.kind == "statement":
        return 0.0
    pos = [p for p in x.term_positions(c.unit) if not c.start <= p < c.end]
    if not pos:
        return 0.0
    u = c.unit
    words = min(len(re.findall(r"\w+", u.page[min(p, c.start):max(p, c.end)])) for p in pos)
    return 1.0 / (1.0 + max(0, words - 1))


def f_tree(c: Candidate, x: Context) -> float:
    arcs = x.arcs(c)
    if arcs is None:  # not parsed, or a whole sentence (near: 0)
        return f_near(c, x)
    return 1.0 / (1.0 + min(arcs.values())) if arcs else 0.0


def _arc_share(c: Candidate, x: Context, weight: Callable[[int], float]) -> float:
    """The question's term weights found around the candidate, each times ``weight`` of its
    number of arcs, over all its term weights."""
    arcs = x.arcs(c) or {}
    total = sum(x.frame.weights.values()) or 1.0
    return sum(x.frame.weights.get(t, 0.0) * weight(d) for t, d in arcs.items()) / total


def f_arcs2(c: Candidate, x: Context) -> float:
    return _arc_share(c, x, lambda d: float(d <= 2))


def f_arcs4(c: Candidate, x: Context) -> float:
    return _arc_share(c, x, lambda d: float(d <= 4))


def f_arcs_w(c: Candidate, x: Context) -> float:
    return _arc_share(c, x, lambda d: 1.0 / (1.0 + d))


def _stretches(c: Candidate, x: Context) -> tuple[str, str]:
    """The words between the candidate and the candidates of its kind around it, before
    and after it: French describes a figure on either side ("ont augmenté de 50%",
    "76% des usagers …")."""
    u = c.unit
    same = sorted((o for o in _siblings(c, x) if o.kind == c.kind), key=lambda o: o.start)
    before = [o.end for o in same if o.end <= c.start]
    after = [o.start for o in same if o.start >= c.end]
    lo = max(before) if before else u.start
    hi = min(after) if after else u.end
    return u.page[lo:c.start], u.page[c.end:hi]


def f_seg_before(c: Candidate, x: Context) -> float:
    """IDF-weighted share of the question's terms between the previous candidate of the
    same kind (or the sentence start) and this one."""
    if c.kind == "statement":
        return 0.0
    return x.frame.coverage(set(analyze(_stretches(c, x)[0])))


def f_seg_after(c: Candidate, x: Context) -> float:
    """The same, between this candidate and the next one of its kind (or the sentence end)."""
    if c.kind == "statement":
        return 0.0
    return x.frame.coverage(set(analyze(_stretches(c, x)[1])))


def f_precision(c: Candidate, x: Context) -> float:
    """The share of the sentence's other words that the question says: "délégué régional"
    is better matched by "VOTRE DELEGUE REGIONAL" than by "… REGIONALE ADJOINTE"."""
    own = set(analyze(c.unit.text)) - set(analyze(c.lead))
    return len(own & x.frame.glossed) / len(own) if own else 0.0


def f_restates(c: Candidate, x: Context) -> float:
    """The share of the candidate's words that the question already says ("Pôle emploi
    Guadeloupe" for "… de la Guadeloupe ?"); for a figure, 1 when the question names it."""
    if c.kind in QUANTITY_KINDS:
        return float(any(c.value == v for v, _ in x.frame.numbers))
    if c.kind in ENTITY_KINDS or c.kind in ("date", "time", "phrase"):
        toks = set(analyze(c.lead))
        return len(toks & x.frame.glossed) / len(toks) if toks else 0.0
    return 0.0


def _siblings(c: Candidate, x: Context) -> list[Candidate]:
    return x.siblings.get(id(c.unit), [c])


def f_alone(c: Candidate, x: Context) -> float:
    same = [o for o in _siblings(c, x) if o.kind == c.kind]
    return 1.0 / max(1, len(same))


def f_first(c: Candidate, x: Context) -> float:
    same = [o for o in _siblings(c, x) if o.kind == c.kind]
    return float(not same or min(o.start for o in same) == c.start)


def f_aside(c: Candidate, x: Context) -> float:
    page = c.unit.page
    a = page.rfind("(", c.unit.start, c.start)
    return float(a >= 0 and page.rfind(")", a, c.start) < 0)


def f_rare(c: Candidate, x: Context) -> float:
    if c.kind not in ENTITY_KINDS and c.kind != "phrase":
        return 0.0
    toks = analyze(c.lead)
    if not toks:
        return 0.0
    low = min(x.df.get(t, 0) for t in toks)
    return 1.0 - math.log(1 + low) / math.log(1 + x.n)


def f_words(c: Candidate, x: Context) -> float:
    return min(1.0, len(re.findall(r"\w+", c.unit.text)) / 50.0)


def f_quoted(c: Candidate, x: Context) -> float:
    return float(c.quoted)


def f_span(c: Candidate, x: Context) -> float:
    """How many words the lead has (a statement: none)."""
    return min(1.0, len(c.lead.split()) / 6.0)


def _kind_flag(kind: str) -> Callable[[Candidate, Context], float]:
    def flag(c: Candidate, x: Context) -> float:
        return float(c.kind == kind)
    return flag


REGISTRY: dict[str, Callable[[Candidate, Context], float]] = {
    name: (_kind_flag(name[2:]) if name.startswith("k_") else
           _exact_for(name[6:]) if name.startswith("exact_") else globals()["f_" + name])
    for name in FEATURES}


def describe(cands: list[Candidate], ctx: Context, keep_siblings: bool = False) -> np.ndarray:
    """The feature matrix of ``cands`` (rows) in ``FEATURES`` order (columns); also kept
    on each candidate as a dict, for the report and the tests. ``keep_siblings``: the
    candidates of each sentence are those of the previous call (to describe a probe of a
    sentence without counting it as one of its candidates)."""
    if not keep_siblings:
        by_unit: dict[int, list[Candidate]] = {}
        for c in cands:
            by_unit.setdefault(id(c.unit), []).append(c)
        ctx.siblings = by_unit
    rows = np.zeros((len(cands), len(FEATURES)), dtype=np.float64)
    for i, c in enumerate(cands):
        # unit features depend on the sentence only: computed once per sentence
        unit = ctx.unit_features.get(id(c.unit))
        if unit is None:
            unit = ctx.unit_features[id(c.unit)] = {n: float(REGISTRY[n](c, ctx)) for n in UNIT_FEATURES}
        c.features = {**unit, **{n: float(REGISTRY[n](c, ctx)) for n in CAND_FEATURES}}
        rows[i] = [c.features[n] for n in FEATURES]
    return rows


__all__ = ["ASKED", "CAND_FEATURES", "FEATURES", "KINDS", "UNIT_FEATURES", "Context", "describe"]
