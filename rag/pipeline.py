"""The one place that wires the stages: settings -> embedder, index, retriever, answerer.

``build_pipeline(settings)`` returns a ``Pipeline`` that the CLI, the UI and the
eval use alike. Models and the index load lazily, once, on first use, so
``rag search`` never pays for an answerer and a process that only indexes never
loads the index it replaces. Safe to share between threads: the index is
read-only and reloads only when a new generation is switched in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer import Answer, ExtractiveAnswerer
from rag.config import Settings
from rag.embed import _Backend, make_embedder
from rag.generate import LLM, GenerativeAnswerer, make_llm, standalone_question
from rag.retrieve import Filters, Hit, HybridRetriever
from rag.store import BuildReport, Index, ProgressFn, build_index, current_generation, open_index


@dataclass
class SearchResult:
    source: str
    title: str
    page: int | None
    text: str
    score: float
    hit: Hit

    def public(self) -> dict[str, Any]:
        return {"source": self.source, "title": self.title, "page": self.page,
                "text": self.text, "score": round(self.score, 4)}


class Pipeline:
    def __init__(self, settings: Settings, embedder: _Backend | None = None,
                 llm: LLM | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._llm = llm
        self._index: Index | None = None
        self._answerer: ExtractiveAnswerer | None = None
        self._lock = threading.Lock()

    # -- components, loaded once ---------------------------------------------------
    @property
    def embedder(self) -> _Backend:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    @property
    def index(self) -> Index:
        """The live index; reloaded when another process switched in a new generation."""
        emb = self.embedder
        with self._lock:
            gen = current_generation(self.settings.index_dir)
            if self._index is None or gen is None or gen != self._index.path:
                self._index = open_index(self.settings.index_dir, emb.model_id, emb.dim)
            return self._index

    def has_index(self) -> bool:
        return current_generation(self.settings.index_dir) is not None

    # -- stages ----------------------------------------------------------------------
    def build(self, folder: Path, progress: ProgressFn | None = None, rebuild: bool = False,
              wait: bool = False) -> BuildReport:
        report = build_index(folder, self.settings, self.embedder, progress, rebuild, wait)
        with self._lock:
            self._index = None
        return report

    def retriever(self, filters: Filters | None = None, top_k: int | None = None) -> HybridRetriever:
        s = self.settings
        return HybridRetriever(self.index, self.embedder, s.candidates, top_k or s.top_k,
                               s.rrf_k, filters)

    def retrieve(self, question: str, filters: Filters | None = None,
                 k: int | None = None) -> list[Hit]:
        """The ``k`` (default ``top_k``) passages for ``question``: fused lexical + dense
        candidates, re-ordered by their best answering sentence (``rerank_depth``)."""
        s = self.settings
        k = k or s.top_k
        if s.rerank_depth <= 1:
            return self.retriever(filters, k).search(question)
        hits = self.retriever(filters, max(k, s.rerank_depth)).search(question)
        return self._extractive(self.index).rerank(question, hits)[:k]

    def candidates(self, question: str, filters: Filters | None = None) -> list[Hit]:
        """The fused passages the answerer weighs (``rerank_depth`` of them, or ``top_k``)."""
        s = self.settings
        return self.retriever(filters, max(s.top_k, s.rerank_depth)).search(question)

    def search(self, query: str, k: int | None = None,
               filters: Filters | None = None) -> list[SearchResult]:
        hits = self.retrieve(query, filters, k)
        return [SearchResult(str(h.node.metadata["source"]), str(h.node.metadata["title"]),
                             h.node.metadata.get("page"), h.node.text, h.score, h) for h in hits]

    @property
    def llm(self) -> LLM:
        """The language model of an LLM answerer, loaded once (rag.generate.make_llm)."""
        with self._lock:
            if self._llm is None:
                self._llm = make_llm(self.settings)
            return self._llm

    def _extractive(self, index: Index) -> ExtractiveAnswerer:
        """The extractive answerer of ``index``, kept while that generation is live (it
        remembers the last question's scored candidates: search then ask costs one scoring)."""
        emb = self.embedder
        with self._lock:
            if self._answerer is None or self._answerer.index is not index:
                s = self.settings
                self._answerer = ExtractiveAnswerer(index, s.max_citations, s.min_evidence,
                                                    max(s.top_k, s.rerank_depth), emb,
                                                    min_relevance=s.min_relevance,
                                                    min_similarity=s.min_similarity)
            return self._answerer

    def ask(self, question: str, filters: Filters | None = None,
            history: list[tuple[str, str]] | None = None) -> Answer:
        """Answer ``question`` with the answerer ``settings.answerer`` chooses.

        A follow-up ("Et en Occitanie ?") is first rewritten into a standalone
        question from ``history``; the returned ``Answer.question`` is that question.
        """
        question = question.strip()
        if not question:
            raise ValueError("La question est vide.")
        if self.settings.answerer != "extractive":
            final: Answer | None = None
            for piece in self._generate(question, filters, history):
                if isinstance(piece, Answer):
                    final = piece
            assert final is not None
            return final
        t0 = time.perf_counter()
        index = self.index
        question = standalone_question(question, history)
        t1 = time.perf_counter()
        hits = self.candidates(question, filters)
        t2 = time.perf_counter()
        ans = self._extractive(index).answer(question, hits)
        t3 = time.perf_counter()
        ans.timings_ms = {"load": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000,
                          "answer": (t3 - t2) * 1000, "total": (t3 - t0) * 1000}
        return ans

    def _generate(self, question: str, filters: Filters | None,
                  history: list[tuple[str, str]] | None) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        index, llm = self.index, self.llm
        t1 = time.perf_counter()
        question = standalone_question(question, history, llm)
        t2 = time.perf_counter()
        hits = self.retrieve(question, filters)
        t3 = time.perf_counter()
        s = self.settings
        gen = GenerativeAnswerer(index, llm, self._extractive(index), s.llm_context_passages,
                                 s.llm_context_chars, s.llm_max_tokens)
        for piece in gen.stream(question, hits):
            if isinstance(piece, Answer):
                t4 = time.perf_counter()
                piece.timings_ms = {"load": (t1 - t0) * 1000, "rewrite": (t2 - t1) * 1000,
                                    "retrieve": (t3 - t2) * 1000, **piece.timings_ms,
                                    "answer": (t4 - t3) * 1000, "total": (t4 - t0) * 1000}
            yield piece

    def stream(self, question: str, filters: Filters | None = None,
               history: list[tuple[str, str]] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it is produced, then the final ``Answer``.

        The extractive answerer produces its text at once, so it is yielded word by
        word; a generative answerer yields tokens as the model writes them (its final
        ``Answer`` may differ: see rag.generate for the grounding check).
        ``history`` holds earlier (question, answer) turns of a conversation.
        """
        if self.settings.answerer != "extractive":
            question = question.strip()
            if not question:
                raise ValueError("La question est vide.")
            yield from self._generate(question, filters, history)
            return
        ans = self.ask(question, filters, history)
        words = ans.answer.split(" ")
        for i, w in enumerate(words):
            yield w if i == 0 else " " + w
        yield ans


def build_pipeline(settings: Settings, embedder: _Backend | None = None,
                   llm: LLM | None = None) -> Pipeline:
    """The pipeline for these settings; pass ``embedder`` or ``llm`` to inject a fake in tests."""
    return Pipeline(settings, embedder, llm)
