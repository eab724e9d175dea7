"""Shared fixtures: isolated index paths, a fake-embedder index, the real corpus index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own index location; nothing touches the repo's index/."""
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    monkeypatch.delenv("RAG_EMBEDDER", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"sample corpus missing at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def e5_index(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """The sample corpus indexed once with the real bundled e5 model."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    index_dir = tmp_path_factory.mktemp("e5") / "index"
    pipe = build_pipeline(load_settings(index_dir=index_dir, env={}))
    pipe.build(corpus_dir)
    return index_dir


@pytest.fixture(scope="session")
def e5_pipeline(e5_index: Path):  # type: ignore[no-untyped-def]
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    return build_pipeline(load_settings(index_dir=e5_index, env={}))


def make_pipeline(index_dir: Path, **overrides):  # type: ignore[no-untyped-def]
    """A pipeline with the instant hashing embedder (unit tests)."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    return build_pipeline(load_settings(index_dir=index_dir, embedder="hash", env={}, **overrides))
