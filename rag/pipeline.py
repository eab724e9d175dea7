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
    def __init__(self, settings: Settings, embedder: _Backend | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._index: Index | None = None
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

    def search(self, query: str, k: int | None = None,
               filters: Filters | None = None) -> list[SearchResult]:
        hits = self.retriever(filters, k).search(query)
        return [SearchResult(str(h.node.metadata["source"]), str(h.node.metadata["title"]),
                             h.node.metadata.get("page"), h.node.text, h.score, h) for h in hits]

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        question = question.strip()
        if not question:
            raise ValueError("La question est vide.")
        t0 = time.perf_counter()
        index = self.index
        t1 = time.perf_counter()
        hits = self.retriever(filters).search(question)
        t2 = time.perf_counter()
        answerer = ExtractiveAnswerer(index, self.settings.max_citations, self.settings.min_evidence)
        ans = answerer.answer(question, hits)
        t3 = time.perf_counter()
        ans.timings_ms = {"load": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000,
                          "answer": (t3 - t2) * 1000, "total": (t3 - t0) * 1000}
        return ans

    def stream(self, question: str, filters: Filters | None = None,
               history: list[tuple[str, str]] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it is produced, then the final ``Answer``.

        The extractive answerer produces its text at once, so it is yielded word by
        word; a generative answerer yields tokens as the model writes them.
        ``history`` holds earlier (question, answer) turns of a conversation.
        """
        ans = self.ask(question, filters)
        words = ans.answer.split(" ")
        for i, w in enumerate(words):
            yield w if i == 0 else " " + w
        yield ans


def build_pipeline(settings: Settings, embedder: _Backend | None = None) -> Pipeline:
    """The pipeline for these settings; pass ``embedder`` to inject a fake in tests."""
    return Pipeline(settings, embedder)
