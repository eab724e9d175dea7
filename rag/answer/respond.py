"""Answer, unsure or refused: the decision, the quotes and whose words they are.

``ExtractiveAnswerer`` reads the question once (rag.answer.question), cuts the
retrieved passages into units and candidates (rag.answer.candidates), describes each
candidate by named features (rag.answer.features) and asks the fitted model
(rag.answer.scorer) for the probability that it is the answer, against all the
others and against *none of them*; candidates asserting the same lead (one figure read
in two passages) add up. Then:

- **answer**: the best lead is likely enough: its figure, date or name first, the
  sentence quoted verbatim [1], whose document it is; another document's different
  figure for the same question, nearly as likely, is named after it ("Autre chiffre :
  80% [2] (SNAP …)"), and the two together may be sure enough when neither alone is;
- **unsure**: the passages are relevant but no candidate is sure: no figure is asserted,
  the 2-3 closest passages are quoted with their sources;
- **refused**: a name, acronym, year or figure of the question is in no document, or no
  passage shares enough of the question's words.

Worked example: "Combien a coûté la campagne publicitaire France Travail PRO ?" asks
for money; "France Travail PRO : une campagne publicitaire à 2 millions d'euros !"
holds a money figure in the sentence closest to the question -> "2 millions d'euros —
« … » [1] (CGT, CSEC)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.candidates import (
    QUANTITY_KINDS,
    Candidate,
    Unit,
    candidates,
    is_item,
    list_intro,
    passage_units,
)
from rag.answer.features import Context, describe
from rag.answer.question import QuestionFrame, read_question
from rag.answer.scorer import Scorer, lead_totals, load
from rag.answer.types import ABSTAIN_MESSAGE, LEAD_SEP, UNSURE_MESSAGE, Answer, Citation, provenance
from rag.retrieve import Hit
from rag.store import Index
from rag.text import analyze, extract_quantities, fold, normalize_for_match, sentence_spans

LEAD_WORDS = 24  # a quote with a lead is cut to about this many words around it
NO_LEAD_WORDS = 48  # a quote that is the answer itself keeps more
RIVAL_SHARE = 0.25  # another document's figure is named when its probability is this close
UNSURE_PASSAGES = 3
WIDE_UNITS = 12  # sentences offering noun phrases and themselves as candidates


@dataclass
class Scored:
    """A question's candidates over the retrieved passages, scored once."""

    frame: QuestionFrame
    hits: list[Hit]
    units: list[Unit]
    cands: list[Candidate]
    ctx: Context
    unit_p: dict[int, float]  # id(unit) -> the sentence model's probability that it answers
    threshold: float  # the probability at which a lead is asserted

    def passage_scores(self) -> list[float]:
        """Per hit: the probability that its best sentence answers the question."""
        best = [0.0] * len(self.hits)
        for u in self.units:
            best[u.hit_rank] = max(best[u.hit_rank], self.relevance(u))
        return best

    def relevance(self, u: Unit) -> float:
        return self.unit_p.get(id(u), 0.0)


class ExtractiveAnswerer:
    """Picks and quotes the candidate that answers; unsure or refused otherwise."""

    def __init__(self, index: Index, max_citations: int = 2, min_evidence: float = 0.2,
                 max_passages: int = 20, embedder: object | None = None,
                 scorer: Scorer | None = None, min_relevance: float = 0.1,
                 min_similarity: float = 0.83) -> None:
        self.index = index
        self.max_citations = max_citations
        self.min_evidence = min_evidence
        self.min_relevance = min_relevance
        self.min_similarity = min_similarity
        self.max_passages = max_passages
        self.embedder = embedder
        self.scorer = scorer or load()
        self._last: tuple[tuple[str, tuple[str, ...]], Scored] | None = None
        self._frame: QuestionFrame | None = None

    # -- reading -----------------------------------------------------------------------
    def frame(self, question: str) -> QuestionFrame:
        """The question read once (the last one is kept: rerank, answer and the fit ask again)."""
        if self._frame is None or self._frame.text != question:
            self._frame = read_question(question, self.index.glossary, self.index.df,
                                        len(self.index.nodes), self._phrase_in_corpus)
        return self._frame

    def _phrase_in_corpus(self, phrase: str) -> bool:
        return normalize_for_match(phrase).replace("-", " ") in self.index.folded_text

    def _qvec(self, question: str) -> np.ndarray | None:
        emb = self.embedder
        if emb is None or not hasattr(emb, "embed_query"):
            return None
        return np.asarray(emb.embed_query(question), dtype=np.float32)

    def units(self, hits: list[Hit]) -> list[Unit]:
        out: list[Unit] = []
        for rank, hit in enumerate(hits[: self.max_passages]):
            node = hit.node
            source, page_no = str(node.metadata["source"]), node.metadata.get("page")
            page = self.index.page_text(source, page_no)
            base = node.start_char_idx or 0
            analysis = self.index.analysis(source, page_no)
            doubtful = self.index.doubtful.get((source, page_no), [])
            if not page or page[base:base + len(node.text)] != node.text:
                page, base, analysis = node.text, 0, None  # fall back to the chunk itself
                if node.metadata.get("ocr"):  # offsets lost: no recognised digit is trusted
                    doubtful = [(0, len(page))]
            for u in passage_units(hit, rank, page, base, analysis):
                u.doubtful = doubtful
                out.append(u)
        return out

    def score(self, question: str, hits: list[Hit]) -> Scored:
        """Every candidate of the first ``max_passages`` hits, with its probability."""
        key = (question, tuple(h.node.node_id for h in hits[: self.max_passages]))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        frame = self.frame(question)
        units = self.units(hits)
        ctx = Context(frame, self._qvec(question), self.index.df, len(self.index.nodes))
        ctx.prepare(units)
        # noun phrases and whole sentences are many: only for the sentences nearest the question
        near = sorted(units, key=lambda u: min(ctx.sim_rank[id(u)], ctx.lex_rank[id(u)]))[:WIDE_UNITS]
        wide = {id(u) for u in near}
        cands = [c for u in units for c in candidates(u, frame.asks, id(u) in wide)
                 if not _unsure_figure(c)]
        rows = describe(cands, ctx)
        scorer = self.scorer.for_embedder(getattr(self.embedder, "model_id", None))
        own = scorer.proba(rows)
        for c, p, total in zip(cands, own, lead_totals([lead_key(c) for c in cands], own), strict=True):
            c.own, c.p = float(p), float(total)
        # every sentence, with or without candidates, scored by the sentence model
        probes = [Candidate(u, "statement", u.start, u.end, "") for u in units]
        unit_p = {id(c.unit): float(p) for c, p in
                  zip(probes, scorer.unit.proba(describe(probes, ctx, keep_siblings=True)), strict=True)}
        scored = Scored(frame, list(hits[: self.max_passages]), units, cands, ctx, unit_p, scorer.answer)
        self._last = (key, scored)
        return scored

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` re-ordered by the best candidate (or sentence) each holds."""
        if len(hits) < 2:
            return list(hits)
        s = self.score(question, hits)
        best = s.passage_scores()
        order = sorted(range(len(s.hits)), key=lambda i: (-best[i], i))
        return [s.hits[i] for i in order] + list(hits[len(s.hits):])

    # -- deciding ----------------------------------------------------------------------
    def refusal(self, frame: QuestionFrame, s: Scored | None) -> str:
        """Why the question is refused (nothing relevant found), or "": a word of it is in no
        document; or, once scored (``s``), no passage, or none sharing more than a trace of
        its words (``min_relevance``)."""
        if frame.missing:
            return "absent des documents : " + ", ".join(frame.missing)
        if s is None:
            return ""
        if not s.units:
            return "aucun passage pertinent"
        top = s.ctx.best_lex  # the best sentence's share of the question's weighted terms
        if top < self.min_relevance:
            return f"aucun passage pertinent (couverture {top:.2f})"
        if top < self.min_evidence and not self._close(s):
            return f"aucun passage proche (couverture {top:.2f}, similarité {s.ctx.best_sim:.2f})"
        return ""

    def _close(self, s: Scored) -> bool:
        """Whether the best sentence is close in meaning (``min_similarity``, on the scale of
        the vectors the model was fitted with; another model's scale is not known)."""
        fitted = self.scorer.meta.get("embedder")
        same = bool(fitted) and fitted == getattr(self.embedder, "model_id", None)
        return same and s.ctx.best_sim >= self.min_similarity

    def weak(self, s: Scored) -> str:
        """Why nothing may be asserted although passages are relevant, or "": the best
        sentence shares too few of the question's words (``min_evidence``) but is close in
        meaning. The closest passages are shown, as for an unsure answer."""
        top = s.ctx.best_lex
        return f"indices trop faibles (couverture {top:.2f})" if top < self.min_evidence else ""

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        frame = self.frame(question)
        highlight = sorted(frame.glossed)
        why = self.refusal(frame, None) or ("" if hits else "aucun passage pertinent")
        s = self.score(question, hits) if not why else None
        why = why or self.refusal(frame, s)
        if why or s is None:
            return Answer(question, ABSTAIN_MESSAGE, True, outcome="refused", highlight=highlight,
                          reason=why)
        best = max(s.cands, key=lambda c: (c.p, c.own), default=None)
        weak = self.weak(s)
        if best is None or weak:
            return self._unsure(s, best, highlight, weak)
        rival = self._rival(s, best)
        # two documents giving two figures for the same thing: sure that it is one of them
        sure = best.p + (rival.p if rival is not None else 0.0)
        if sure < s.threshold:
            return self._unsure(s, best, highlight)
        return self._assert(s, best, highlight, rival)

    def _assert(self, s: Scored, best: Candidate, highlight: list[str],
                rival: Candidate | None) -> Answer:
        cites = [cite(1, best.unit, best.p)]
        lead = " ".join(best.lead.split())
        quote = " ".join(cites[0].quote.split())
        if lead and len(quote.split()) > LEAD_WORDS + 2:
            quote = _window(quote, lead, LEAD_WORDS)
        elif not lead and len(quote.split()) > NO_LEAD_WORDS + 2:
            quote = _window(quote, "", NO_LEAD_WORDS,
                            _densest(quote.split(), s.frame.weights, NO_LEAD_WORDS))
        body = f"{lead}{LEAD_SEP}« {quote} » [1]" if lead else f"« {quote} » [1]"
        who = provenance(cites[0])
        text = f"{body} ({who})" if who else body
        # Another sentence stating the same figure backs it ("Voir aussi").
        same = [c for c in s.cands if c is not best and lead and c.unit is not best.unit
                and lead_key(c) == lead_key(best) and c.unit.hit is not best.unit.hit]
        if same and len(cites) < self.max_citations:
            cites.append(cite(2, same[0].unit, same[0].p))
            text += " Voir aussi [2]."
        if rival is not None:
            c = cite(len(cites) + 1, rival.unit, rival.p)
            cites.append(c)
            who = provenance(c)
            figure = " ".join(rival.lead.split())
            text += f" Autre chiffre : {figure} [{c.n}]" + (f" ({who})" if who else "") + "."
        return Answer(s.frame.text, text, False, cites, outcome="answer", confidence=best.p,
                      highlight=highlight)

    def _rival(self, s: Scored, best: Candidate) -> Candidate | None:
        """A close candidate of another document giving another figure of the same kind."""
        if best.kind not in QUANTITY_KINDS or not best.lead:
            return None
        src = best.unit.hit.node.metadata.get("source")
        mine = extract_quantities(best.lead)
        for c in sorted(s.cands, key=lambda c: -c.p):
            if c.p < RIVAL_SHARE * best.p:
                break
            if c.kind != best.kind or c.unit.hit.node.metadata.get("source") == src or not c.lead:
                continue
            theirs = extract_quantities(c.lead)
            if mine and theirs and theirs[0].unit == mine[0].unit and theirs[0].value != mine[0].value:
                return c
        return None

    def _unsure(self, s: Scored, best: Candidate | None, highlight: list[str],
                why: str = "") -> Answer:
        """The closest sentences, each quoted with its source; nothing asserted. A
        sentence is as close as the sentence model says, or as likely as the best
        candidate it holds (two entries of one list may both be shown)."""
        best_in: dict[int, float] = {}
        for cand in s.cands:
            best_in[id(cand.unit)] = max(best_in.get(id(cand.unit), 0.0), cand.own)
        score = {id(u): max(s.relevance(u), best_in.get(id(u), 0.0)) for u in s.units}
        ranked = sorted(s.units, key=lambda u: (-score[id(u)], u.hit_rank))
        cites: list[Citation] = []
        for u in ranked:
            q = cite(len(cites) + 1, u, score[id(u)], wide=True)
            if any(o.source == q.source and o.page == q.page and o.start < q.end and q.start < o.end
                   for o in cites):
                continue  # the same words already shown
            cites.append(q)
            if len(cites) >= UNSURE_PASSAGES:
                break
        refs = " ".join(f"[{c.n}]" for c in cites)
        conf = best.p if best is not None else 0.0
        return Answer(s.frame.text, f"{UNSURE_MESSAGE} {refs}", True, cites, outcome="unsure",
                      confidence=conf, highlight=highlight,
                      reason=why or f"aucune réponse assez sûre (probabilité {conf:.2f})")

def lead_key(c: Candidate) -> str:
    """What ``c`` asserts, compared across passages: its lead as matched ("2 900" =
    "2900"), or for a sentence answer the sentence itself."""
    if c.lead:
        return normalize_for_match(c.lead)
    return "\x00" + normalize_for_match(c.unit.reading)


def _unsure_figure(c: Candidate) -> bool:
    """A figure, date or time over a digit OCR read unsurely: never asserted."""
    return c.kind in (*QUANTITY_KINDS, "date", "time") and c.unit.unsure_at(c.start, c.end)


def cite(n: int, u: Unit, score: float, wide: bool = False) -> Citation:
    """Citation [n] of unit ``u``: its sentence, with its list intro or the line above a very
    short one; ``wide`` (unsure): with the sentence after it too."""
    page, start, end = u.page, u.start, u.end
    if u.intro is not None:
        start = min(start, u.intro[0])
    elif len(re.findall(r"\w+", page[start:end])) < 8:
        # A very short line ("France Travail : 80%") is quoted with the line above it.
        prev = sentence_spans(page, max(0, start - 600), start)
        if prev:
            gap = page[prev[-1][1]:start]
            if "\n\n" not in gap or re.search(r"[:?]\s*$", page[prev[-1][0]:prev[-1][1]]):
                start = prev[-1][0]
    if wide:
        # Unsure: the sentence with the one after it, where a figure often follows.
        lo = u.hit.node.start_char_idx or 0
        hi = lo + len(u.hit.node.text) if page[lo:lo + len(u.hit.node.text)] == u.hit.node.text \
            else len(page)
        nxt = sentence_spans(page, end, min(hi, end + 400))
        if nxt and len(page[start:nxt[0][1]].split()) <= 70:
            end = nxt[0][1]
    meta = u.hit.node.metadata
    return Citation(
        n=n, source=str(meta.get("source")), title=str(meta.get("title")), page=meta.get("page"),
        quote=page[start:end], score=score, start=start, end=end, union=meta.get("union"),
        doc_date=meta.get("doc_date"), section=str(meta.get("section") or ""),
        instance=meta.get("instance"), ocr=bool(meta.get("ocr")))


def _densest(words: list[str], weights: dict[str, float], n_words: int) -> int:
    """Start of the ``n_words``-word stretch of ``words`` holding the most question weight;
    0 unless it beats the opening clearly (twice the weight)."""
    toks = [set(analyze(w)) for w in words]

    def weight(start: int) -> float:
        return sum(weights[t] for t in set().union(*toks[start:start + n_words]) & weights.keys())

    first = weight(0)
    best, best_score = 0, first
    for start in range(1, max(1, len(words) - n_words + 1)):
        sc = weight(start)
        if sc > best_score + 1e-9:
            best, best_score = start, sc
    return best if best_score >= 2.0 * first else 0


def _window(quote: str, focus: str, n_words: int, at: int | None = None) -> str:
    """About ``n_words`` words of ``quote`` centred on ``focus`` (or from word ``at``)."""
    words = quote.split()
    idx = 0
    if focus:
        first = fold(focus.split()[0])
        idx = next((i for i, w in enumerate(words) if first in fold(w)), 0)
    start = max(0, min(idx - n_words // 2, len(words) - n_words))
    if at is not None:
        start = max(0, min(at, len(words) - n_words))
    piece = " ".join(words[start:start + n_words])
    return ("… " if start > 0 else "") + piece + (" …" if start + n_words < len(words) else "")


def cite_span(index: Index, hit: Hit, n: int, start: int, end: int, score: float = 0.0,
              page_text: str | None = None) -> Citation:
    """Citation [n] quoting ``page[start:end]`` of ``hit`` (used by the LLM answerer)."""
    meta = hit.node.metadata
    page = page_text if page_text is not None else index.page_text(str(meta["source"]), meta.get("page"))
    unit = Unit(hit, 0, page or "", start, end)
    if page:
        spans = sentence_spans(page, max(0, start - 600), end)
        j = next((i for i, (a, _) in enumerate(spans) if a == start), None)
        if j is not None and is_item(page, start):
            k = list_intro(page, spans, j)
            if k is not None:
                unit.intro = spans[k]
    return cite(n, unit, score)


__all__ = ["ExtractiveAnswerer", "Scored", "cite", "cite_span", "lead_key"]
