"""What an answer is: its text, its outcome, its citations and whose words they are."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rag.dates import format_date

ABSTAIN_MESSAGE = "Je ne trouve pas cette information dans les documents indexés."
UNSURE_MESSAGE = ("Je n'ai pas de réponse sûre dans les documents indexés. "
                  "Passages les plus proches :")
# Between the figure, date or name an answer asserts and its quote: "2900 ETP — « … »".
LEAD_SEP = " — "

Outcome = Literal["answer", "unsure", "refused"]


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
    instance: str | None = None
    ocr: bool = False  # the quote is text recognised from a page image

    def public(self) -> dict[str, Any]:
        """The stable JSON contract of a citation."""
        return {"n": self.n, "source": self.source, "title": self.title, "page": self.page,
                "quote": self.quote, "score": round(self.score, 4), "ocr": self.ocr}


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why it abstained, for people and the eval report
    warnings: list[str] = field(default_factory=list)
    outcome: Outcome | None = None  # derived from ``abstained`` and the citations when unset
    confidence: float | None = None  # the answerer's probability that its lead is right
    highlight: list[str] = field(default_factory=list)  # question words to mark in passages

    def __post_init__(self) -> None:
        if self.outcome is None:
            self.outcome = "answer" if not self.abstained else (
                "unsure" if self.citations else "refused")

    def public(self) -> dict[str, Any]:
        """The stable JSON contract of `rag ask --json`."""
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "outcome": self.outcome,
            "citations": [c.public() for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 3)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def provenance(c: Citation) -> str:
    """Whose words, where and when: "SNAP, CSE Occitanie, 30 janvier 2025"."""
    parts = [p for p in (c.union, c.instance) if p]
    if c.doc_date:
        parts.append(format_date(c.doc_date))
    if not parts or len(parts) == 1:
        title = c.title if len(c.title) <= 50 else c.title[:47].rstrip() + "…"
        parts.append(f"« {title} »")
    if c.page:
        parts.append(f"p. {c.page}")
    return ", ".join(parts)


def citation_line(c: Citation) -> str:
    """The quote ready to paste in a tract or an e-mail, on one line, with whose words,
    where and when; fields omitted when unknown, the document's title when the union is.

    >>> c = Citation(n=1, source="cr.txt", title="Compte rendu", page=3,
    ...              quote="La prime est\\nde 640 euros.", score=1.0, union="SNAP",
    ...              instance="CSE Bretagne", doc_date="2025-02-04")
    >>> citation_line(c)
    '« La prime est de 640 euros. » (SNAP, CSE Bretagne, 4 février 2025, p. 3)'
    >>> citation_line(Citation(n=1, source="t.txt", title="Tract", page=None,
    ...                        quote="Non aux fermetures", score=1.0))
    '« Non aux fermetures » (« Tract »)'
    """
    who = c.union or (f"« {c.title} »" if c.title else None)
    parts = [p for p in (who, c.instance, format_date(c.doc_date) or None) if p]
    if c.page:
        parts.append(f"p. {c.page}")
    quote = " ".join(c.quote.split())
    return f"« {quote} »" + (f" ({', '.join(parts)})" if parts else "")
