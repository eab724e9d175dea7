"""A subject's timeline: every indexed document that speaks of it, in date order.

Not the top passages of a search: every passage whose sentence holds the subject —
its words after French analysis (plural, accents, elisions do not matter), or the words
of one of its glossary forms ("LPE" finds "loi plein emploi"). Long subjects need two
thirds of their words in one sentence, short ones all of them: that is the relevance
floor. One entry per document, with the sentence that holds the most of the subject
(ties: the passage BM25 ranks higher), quoted verbatim from the page, ordered by the
document's date, undated documents last.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from rag.answer.types import Citation
from rag.retrieve import Filters, LexicalRetriever
from rag.store import Index
from rag.text import analyze, sentence_spans


@dataclass
class Entry:
    """One document's mention of the subject."""

    date: str | None  # ISO, the document's date
    union: str | None
    instance: str | None
    title: str
    source: str
    page: int | None
    quote: str  # a sentence of the page, verbatim
    coverage: float  # share of the subject's words the sentence holds

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        del out["coverage"]
        return out

    def citation(self) -> Citation:
        """The entry as the Citation ``citation_line`` reads."""
        return Citation(n=0, source=self.source, title=self.title, page=self.page,
                        quote=self.quote, score=0.0, union=self.union, instance=self.instance,
                        doc_date=self.date)


def subject_forms(index: Index, subject: str) -> list[tuple[str, ...]]:
    """The subject's analysed words, and the same with each glossary notion it names
    replaced by one of its equivalent forms."""
    words = tuple(analyze(subject, keep_question_words=False))
    forms = [words] if words else []
    for key, alts in index.glossary.concepts(subject):
        for alt in alts:
            replaced: list[str] = []
            i = 0
            while i < len(words):
                if words[i:i + len(key)] == key:
                    replaced.extend(alt)
                    i += len(key)
                else:
                    replaced.append(words[i])
                    i += 1
            forms.append(tuple(replaced) if tuple(replaced) != words else alt)
    return list(dict.fromkeys(f for f in forms if f))


def _coverage(tokens: set[str], forms: list[tuple[str, ...]]) -> float:
    """The best share of a form's words in ``tokens``, 0 below the floor."""
    best = 0.0
    for form in forms:
        wanted = set(form)
        share = len(wanted & tokens) / len(wanted)
        floor = 1.0 if len(wanted) <= 3 else math.ceil(2 * len(wanted) / 3) / len(wanted)
        if share >= floor:
            best = max(best, share)
    return best


def timeline(index: Index, subject: str, filters: Filters | None = None) -> list[Entry]:
    """Every document speaking of ``subject`` (within ``filters``), in date order."""
    forms = subject_forms(index, subject)
    if not forms:
        return []
    query = " ".join(" ".join(f) for f in forms)
    lexical = LexicalRetriever(index, top_k=len(index.nodes), filters=filters)
    best: dict[str, tuple[tuple[float, float], Entry]] = {}
    for row, bm25 in lexical.scores(query):
        node = index.nodes[row]
        meta = node.metadata
        for a, b in sentence_spans(node.text):
            sentence = node.text[a:b]
            cover = _coverage(set(analyze(sentence)), forms)
            if not cover:
                continue
            key = (cover, bm25)
            source = str(meta["source"])
            if source not in best or key > best[source][0]:
                best[source] = (key, Entry(
                    date=meta.get("doc_date"), union=meta.get("union"),
                    instance=meta.get("instance"), title=str(meta.get("title") or source),
                    source=source, page=meta.get("page"), quote=sentence, coverage=cover))
    entries = [e for _, e in best.values()]
    entries.sort(key=lambda e: (e.date is None, e.date or "", e.title))
    return entries
