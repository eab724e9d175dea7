"""Hybrid search: French BM25 + FAISS dense, fused by reciprocal rank, with filters.

Both sides are llama-index ``BaseRetriever``s. The lexical side queries a bm25s
index (the engine under llama-index's ``BM25Retriever``) directly, because that
retriever's tokenizer hook is deprecated and ignored, so elision splitting,
accent folding and "2 900" = "2900" could not be plugged in. Fusion is done
here rather than with ``QueryFusionRetriever`` because the answerer needs each
side's own score (dense cosine, BM25) for its abstention rule, which that
retriever discards.

Filters (``Filters``) restrict both sides before ranking: documents by source,
union, and meeting/publication date range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.embed import _Backend
from rag.store import Index
from rag.text import analyze


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    union: str | None = None
    after: str | None = None  # ISO date, inclusive
    before: str | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.union or self.after or self.before)

    def accepts(self, meta: dict[str, Any]) -> bool:
        if self.sources and meta.get("source") not in self.sources:
            return False
        if self.union and (meta.get("union") or "").upper() != self.union.upper():
            return False
        d = meta.get("doc_date")
        if self.after and (not d or d < self.after):
            return False
        if self.before and (not d or d > self.before):
            return False
        return True


@dataclass
class Hit:
    """A retrieved chunk with the evidence behind its rank."""

    node: TextNode
    score: float  # fused score (RRF)
    position: int  # row in the index
    dense: float | None = None  # cosine similarity, if retrieved by the dense side
    lexical: float | None = None  # BM25 score, if retrieved by the lexical side
    ranks: dict[str, int] = field(default_factory=dict)


def _mask(index: Index, filters: Filters) -> np.ndarray | None:
    if not filters:
        return None
    return np.array([filters.accepts(n.metadata) for n in index.nodes], dtype=bool)


class LexicalRetriever(BaseRetriever):
    """BM25 over French-analysed tokens (see rag.text.analyze)."""

    def __init__(self, index: Index, top_k: int = 30, filters: Filters | None = None) -> None:
        super().__init__()
        self.index = index
        self.top_k = top_k
        self.filters = filters or Filters()

    def scores(self, query: str) -> list[tuple[int, float]]:
        bm25 = self.index.bm25
        tokens = [t for t in analyze(query, keep_question_words=False) if t in bm25.vocab_dict]
        if not tokens:
            return []
        mask = _mask(self.index, self.filters)
        k = min(self.top_k, len(self.index.nodes))
        docs, scores = bm25.retrieve(
            [tokens], k=k, show_progress=False,
            weight_mask=mask.astype(np.float32) if mask is not None else None,
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=self.index.nodes[i], score=s)
                for i, s in self.scores(query_bundle.query_str)]


class DenseRetriever(BaseRetriever):
    """Cosine search in the FAISS index (vectors are L2-normalised: inner product)."""

    def __init__(self, index: Index, embedder: _Backend, top_k: int = 30,
                 filters: Filters | None = None) -> None:
        super().__init__()
        self.index = index
        self.embedder = embedder
        self.top_k = top_k
        self.filters = filters or Filters()

    def scores(self, query: str, qvec: np.ndarray | None = None) -> list[tuple[int, float]]:
        import faiss

        if qvec is None:
            qvec = self.embedder.embed_query(query)
        fidx = self.index.faiss_store.client
        k = min(self.top_k, fidx.ntotal)
        mask = _mask(self.index, self.filters)
        q = np.asarray(qvec, dtype=np.float32)[None, :]
        if mask is None:
            dist, ids = fidx.search(q, k)
        else:
            allowed = np.flatnonzero(mask).astype(np.int64)
            if allowed.size == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
            if hasattr(fidx, "storage"):
                # Approximate (HNSW) index: a filtered graph walk can miss allowed rows,
                # so filtered searches scan its exact flat storage instead (still fast).
                fidx = faiss.downcast_index(fidx.storage)
            dist, ids = fidx.search(q, min(k, allowed.size), params=params)
        return [(int(i), float(d)) for i, d in zip(ids[0], dist[0], strict=True) if i >= 0]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=self.index.nodes[i], score=s)
                for i, s in self.scores(query_bundle.query_str)]


class HybridRetriever(BaseRetriever):
    """Reciprocal-rank fusion of the lexical and dense retrievers."""

    def __init__(self, index: Index, embedder: _Backend, candidates: int = 30,
                 top_k: int = 5, rrf_k: float = 60.0, filters: Filters | None = None,
                 expand: str = "lexical") -> None:
        super().__init__()
        self.index = index
        self.top_k = top_k
        self.rrf_k = rrf_k
        self.expand = expand  # glossary expansion for: "none", "lexical", "both"
        self.lexical = LexicalRetriever(index, candidates, filters)
        self.dense = DenseRetriever(index, embedder, candidates, filters)

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        """Fused hits; the lexical side also searches the glossary's equivalent forms
        of what the query mentions ("postes à temps plein" -> "ETP")."""
        expanded = self.index.glossary.expand_query(query) if self.expand != "none" else query
        hits: dict[int, Hit] = {}
        for name, results in (("lexical", self.lexical.scores(expanded)),
                              ("dense", self.dense.scores(
                                  expanded if self.expand == "both" else query))):
            for rank, (pos, score) in enumerate(results):
                hit = hits.setdefault(pos, Hit(self.index.nodes[pos], 0.0, pos))
                hit.score += 1.0 / (self.rrf_k + rank + 1)
                hit.ranks[name] = rank + 1
                if name == "dense":
                    hit.dense = score
                else:
                    hit.lexical = score
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.position))
        return ranked[: top_k or self.top_k]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=h.node, score=h.score) for h in self.search(query_bundle.query_str)]
