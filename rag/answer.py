"""Answers with verbatim citations, and the decision to abstain.

``ExtractiveAnswerer`` needs no language model. For a question it:

1. reads what kind of answer is wanted ("combien" -> a quantity, "quand" -> a
   date, "qui" / "quel syndicat" -> a name, otherwise a statement);
2. splits the retrieved passages into sentences (exact character spans of the
   page text) and scores each by the share of the question's weighted terms it
   contains (IDF weights from the index, the sentence's section heading and
   neighbours counting half), the passage's rank, and whether it holds the kind
   of answer wanted;
3. abstains ("Je ne trouve pas cette information dans les documents indexés.")
   when a name, year or figure of the question appears nowhere in the corpus,
   or when the best evidence is weak;
4. otherwise answers in one or two short sentences led by the figure, date or
   name asked for, and cites each quote as [n] with its document, page and the
   words exactly as written.

Worked example: "Combien a coûté la campagne publicitaire France Travail PRO ?"
-> type quantity; best sentence "Le coût ? 2 millions d'euros !" (its section
"France Travail PRO : une campagne publicitaire…" covers the other terms) ->
answer "2 millions d'euros [1]", citation [1] = that sentence.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rag.retrieve import Hit
from rag.store import Index
from rag.text import QUESTION_WORDS, analyze, extract_quantities, fold, has_date, sentence_spans

ABSTAIN_MESSAGE = "Je ne trouve pas cette information dans les documents indexés."

AnswerType = Literal["quantity", "date", "entity", "statement"]


@dataclass
class Citation:
    n: int
    source: str
    title: str
    page: int | None
    quote: str
    score: float
    start: int = 0  # offsets of the quote in the page text
    end: int = 0
    union: str | None = None
    doc_date: str | None = None
    section: str = ""

    def public(self) -> dict[str, Any]:
        """The stable JSON contract of a citation."""
        return {"n": self.n, "source": self.source, "title": self.title, "page": self.page,
                "quote": self.quote, "score": round(self.score, 4)}


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why it abstained, for people and the eval report
    warnings: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The stable JSON contract of `rag ask --json`."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.public() for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_QTY_RE = re.compile(
    r"\b(combien|montant|co[uû]t|budget|nombre|pourcentage|taux|part|proportion|effectifs?|"
    r"quelle? somme|chiffre|volume|hausse|baisse|enveloppe)\b", re.IGNORECASE)
_DATE_RE = re.compile(
    r"\b(quand|quelle date|quel jour|quel mois|quelle ann[ée]e|en quelle|depuis quand|"
    r"jusqu'[àa] quand|[àa] partir de quand|date)\b", re.IGNORECASE)
_ENTITY_RE = re.compile(
    r"^\s*(qui\b|quel(?:le)? (?:syndicat|entreprise|soci[ée]t[ée]|agence|organisme|cabinet|"
    r"prestataire|partenaire|personne|nom|marque|structure|direction|instance|outil|logiciel|"
    r"application|plateforme|loi)\b)|\bqui (?:est|a|sont|ont)\b|\bcomment s'appelle\b",
    re.IGNORECASE)


def question_type(question: str) -> AnswerType:
    """Kind of answer a French question asks for.

    >>> question_type("Combien a coûté la campagne ?")
    'quantity'
    >>> question_type("Quand la réunion a-t-elle eu lieu ?")
    'date'
    """
    q = question.strip()
    if _DATE_RE.search(q):
        return "date"
    if _QTY_RE.search(q):
        return "quantity"
    if _ENTITY_RE.search(q):
        return "entity"
    return "statement"


def _non_year_quantities(text: str) -> list[Any]:
    return [x for x in extract_quantities(text)
            if not (x.unit == "" and 1900 <= x.value <= 2100 and float(x.value).is_integer())
            and x.unit != "ordinal"]


def _has_entity(text: str) -> bool:
    # A capitalised word or an acronym that is not the first word of the sentence.
    return bool(re.search(r"(?<=\s)(?:[A-Z][A-Z0-9]{1,}|[A-Z][a-zà-ÿ]+)", text))


@dataclass
class _Cand:
    hit_rank: int
    hit: Hit
    start: int
    end: int
    text: str
    score: float = 0.0
    coverage: float = 0.0


class ExtractiveAnswerer:
    """Picks and quotes the sentences that answer; abstains on weak evidence."""

    def __init__(self, index: Index, max_citations: int = 2, min_evidence: float = 0.34,
                 max_passages: int = 5) -> None:
        self.index = index
        self.max_citations = max_citations
        self.min_evidence = min_evidence
        self.max_passages = max_passages

    # -- term weights --------------------------------------------------------------
    def _idf(self, term: str) -> float:
        n = max(1, len(self.index.nodes))
        df = self.index.df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def missing_terms(self, question: str) -> list[str]:
        """Names, acronyms, years and figures of the question found nowhere in the corpus.

        "Quel est le taux d'orientation en Bretagne ?" -> ["Bretagne"] when no
        document mentions Bretagne: the answer cannot be in the documents.
        """
        missing = []
        words = re.findall(r"[\w'’-]+", question)
        for i, w in enumerate(words):
            w = re.sub(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu)['’]", "", w, flags=re.IGNORECASE)
            if not w:
                continue
            is_number = bool(re.fullmatch(r"\d[\d.,]*", w))
            is_name = (w[0].isupper() and i > 0) or (len(w) >= 2 and w.isupper())
            if not (is_number or is_name) or fold(w) in QUESTION_WORDS:
                continue
            toks = analyze(w)
            if toks and all(self.index.df.get(t, 0) == 0 for t in toks):
                missing.append(w)
        return missing

    # -- main ----------------------------------------------------------------------
    def answer(self, question: str, hits: list[Hit]) -> Answer:
        qtype = question_type(question)
        q_terms = list(dict.fromkeys(analyze(question, keep_question_words=False)))
        missing = self.missing_terms(question)
        if missing:
            return Answer(question, ABSTAIN_MESSAGE, True,
                          reason="absent des documents : " + ", ".join(missing))
        if not hits or not q_terms:
            return Answer(question, ABSTAIN_MESSAGE, True, reason="aucun passage pertinent")
        weights = {t: self._idf(t) for t in q_terms}
        total = sum(weights.values()) or 1.0

        cands: list[_Cand] = []
        for rank, hit in enumerate(hits[: self.max_passages]):
            node = hit.node
            page = self.index.page_text(str(node.metadata["source"]), node.metadata.get("page"))
            base = node.start_char_idx or 0
            if not page or page[base:base + len(node.text)] != node.text:
                page, base = node.text, 0  # fall back to the chunk itself
            spans = sentence_spans(page, base, base + len(node.text))
            section_terms = set(analyze(str(node.metadata.get("section") or "")))
            chunk_terms = set(analyze(node.text))
            sent_terms = [set(analyze(page[a:b])) for a, b in spans]
            for j, (a, b) in enumerate(spans):
                text = page[a:b]
                near = set().union(*sent_terms[max(0, j - 2):j], *sent_terms[j + 1:j + 2])
                own = sent_terms[j]
                cov = sum(w for t, w in weights.items() if t in own) / total
                ctx = sum(w for t, w in weights.items()
                          if t not in own and (t in near or t in section_terms)) / total
                far = sum(w for t, w in weights.items()
                          if t not in own and t not in near and t not in section_terms
                          and t in chunk_terms) / total
                type_ok = self._type_score(qtype, text, question)
                passage_prior = 1.0 / (1 + rank)
                dense = hit.dense if hit.dense is not None else 0.0
                coverage = min(1.0, cov + 0.6 * ctx + 0.25 * far)
                score = (0.55 * coverage + 0.2 * type_ok + 0.1 * passage_prior
                         + 0.15 * max(0.0, (dense - 0.75) / 0.2))
                if len(re.findall(r"\w+", text)) < 3:
                    score *= 0.5
                cands.append(_Cand(rank, hit, a, b, text, score, coverage))
        if not cands:
            return Answer(question, ABSTAIN_MESSAGE, True, reason="aucune phrase exploitable")
        cands.sort(key=lambda c: -c.score)
        best = cands[0]
        evidence = best.coverage
        if qtype != "statement" and self._type_score(qtype, best.text, question) == 0:
            evidence *= 0.8
        if evidence < self.min_evidence:
            return Answer(question, ABSTAIN_MESSAGE, True,
                          reason=f"indices trop faibles (couverture {evidence:.2f})")

        chosen = [best]
        for c in cands[1:]:
            if len(chosen) >= self.max_citations:
                break
            if c.score >= 0.8 * best.score and not any(
                c.hit.position == x.hit.position and abs(c.start - x.start) < 5 for x in chosen
            ):
                chosen.append(c)
        citations = [self._cite(i + 1, c) for i, c in enumerate(chosen)]
        text = self._compose(qtype, question, citations)
        return Answer(question, text, False, citations)

    def _type_score(self, qtype: AnswerType, text: str, question: str) -> float:
        if qtype == "quantity":
            qs = _non_year_quantities(text)
            if not qs:
                return 0.0
            fq = fold(question)
            want = "%" if re.search(r"pourcentage|taux|part|proportion", fq) else (
                "€" if re.search(r"co[u]t|montant|budget|euros|somme|enveloppe|prix", fq) else "")
            return 1.0 if (not want or any(x.unit == want for x in qs)) else 0.5
        if qtype == "date":
            return 1.0 if has_date(text) else 0.0
        if qtype == "entity":
            return 1.0 if _has_entity(text) else 0.0
        return 0.5

    def _cite(self, n: int, c: _Cand) -> Citation:
        start, end, text = c.start, c.end, c.text
        # A very short sentence ("2 millions d'euros !") is quoted with the one before it.
        page = self.index.page_text(str(c.hit.node.metadata["source"]), c.hit.node.metadata.get("page"))
        if len(re.findall(r"\w+", text)) < 8 and page and page[start:end] == text:
            prev = sentence_spans(page, max(0, start - 400), start)
            if prev and "\n\n" not in page[prev[-1][0]:start]:
                start = prev[-1][0]
                text = page[start:end]
        meta = c.hit.node.metadata
        return Citation(
            n=n, source=str(meta.get("source")), title=str(meta.get("title")),
            page=meta.get("page"), quote=text, score=c.score, start=start, end=end,
            union=meta.get("union"), doc_date=meta.get("doc_date"),
            section=str(meta.get("section") or ""),
        )

    def _compose(self, qtype: AnswerType, question: str, cites: list[Citation]) -> str:
        """One or two short sentences: the figure/date first when one is asked for."""
        first = cites[0]
        quote = re.sub(r"\s+", " ", first.quote).strip()
        lead = ""
        if qtype == "quantity":
            qs = _non_year_quantities(first.quote)
            if qs:
                best = max(qs, key=lambda x: (x.unit in ("€", "%", "etp"), len(x.text)))
                lead = re.sub(r"\s+", " ", best.text)
        elif qtype == "date":
            m = re.search(r"\b\d{1,2}(?:er)?\s+\w+\s+\d{4}\b|\b\d{1,2}/\d{1,2}/\d{4}\b|"
                          r"\b(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|"
                          r"octobre|novembre|décembre)\s+\d{4}\b", first.quote, re.IGNORECASE)
            if m:
                lead = m.group(0)
        words = quote.split()
        if len(words) > 32:
            quote = _window(quote, lead, 28)
        who = _provenance(first)
        body = f"{lead} — « {quote} » [1]" if lead else f"« {quote} » [1]"
        text = f"{body} ({who})" if who else body
        if len(cites) > 1:
            text += " Voir aussi [2]."
        return text


def _window(quote: str, focus: str, n_words: int) -> str:
    """About ``n_words`` words of ``quote`` centred on ``focus``, with ellipses."""
    words = quote.split()
    idx = 0
    if focus:
        f = fold(focus.split()[0])
        idx = next((i for i, w in enumerate(words) if f in fold(w)), 0)
    start = max(0, min(idx - n_words // 2, len(words) - n_words))
    piece = " ".join(words[start:start + n_words])
    return ("… " if start > 0 else "") + piece + (" …" if start + n_words < len(words) else "")


def _provenance(c: Citation) -> str:
    parts = []
    if c.union:
        parts.append(c.union)
    title = c.title if len(c.title) <= 70 else c.title[:67] + "…"
    parts.append(f"« {title} »")
    if c.page:
        parts.append(f"p. {c.page}")
    return ", ".join(parts)


__all__ = ["ABSTAIN_MESSAGE", "Answer", "Citation", "ExtractiveAnswerer", "question_type"]


def cite_span(index: Index, hit: Hit, n: int, start: int, end: int, score: float = 0.0,
              page_text: str | None = None) -> Citation:
    """Citation [n] quoting ``page[start:end]`` of ``hit`` with the extractive answerer's rules
    (provenance, short sentences extended); used by the LLM answerer (rag.generate)."""
    meta = hit.node.metadata
    page = page_text if page_text is not None else index.page_text(str(meta["source"]), meta.get("page"))
    return ExtractiveAnswerer(index)._cite(n, _Cand(0, hit, start, end, (page or "")[start:end], score))
