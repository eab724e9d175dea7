"""`rag bench` and what it checks: the FAISS choice by size, ANN recall, the vector cache.

Behaviour only, never absolute timings: the machine is shared and its load varies.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rag.bench import (
    ann_recall,
    parse_size,
    perturb_numbers,
    render_table,
    sentence_key,
    write_synthetic_corpus,
)
from rag.bench_ocr import kept
from rag.cli import cli
from rag.config import load_settings
from rag.retrieve import Filters
from rag.store import current_generation, make_faiss_index
from tests.conftest import make_pipeline


def test_sizes_and_number_perturbation() -> None:
    assert [parse_size(s) for s in ("sample", "10k", "100k", "2500", "1.5k")] == [0, 10_000, 100_000,
                                                                                  2500, 1500]
    with pytest.raises(ValueError):
        parse_size("beaucoup")
    rng = random.Random(0)
    text = "Gains de 2900 ETP d'ici 2027, soit 76 % des 3 agences."
    out = perturb_numbers(text, rng)
    assert out != text
    assert sentence_key(out) == sentence_key(text)  # the source sentence is still found
    year = out.split("d'ici ")[1][:4]
    assert 2015 <= int(year) <= 2027


def test_synthetic_corpus_reaches_the_word_target(tmp_path: Path) -> None:
    docs = [[f"Phrase {i} du document {d} sur le CSE et les {i * 7} agents." for i in range(20)]
            for d in range(3)]
    info = write_synthetic_corpus(docs, tmp_path / "c", n_words=3000, words_per_file=1000)
    assert info["files"] >= 3
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in (tmp_path / "c").iterdir())
    assert words >= 3000


def test_bench_smoke_hash_embedder(tmp_path: Path, corpus_dir: Path) -> None:
    out = tmp_path / "build" / "bench.json"
    res = CliRunner().invoke(cli, [
        "--embedder", "hash", "bench", "--sizes", "sample,200", "--corpus", str(corpus_dir),
        "--out", str(out), "--in-process", "--cold-runs", "0", "--queries", "4",
        "--ocr-pages", "1", "--summary", str(tmp_path / "docs" / "performance.md"),
    ])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["sizes"]) == {"sample", "200"}
    for size, r in data["sizes"].items():
        for key in ("chunks", "text_mb", "tokens", "build", "embedding", "reindex", "disk", "faiss",
                    "latency_ms", "ann", "peak_rss_mb", "baseline"):
            assert key in r, (size, key)
        assert r["reindex"]["embedded"] == 0
        assert r["build"]["embedded"] == r["chunks"] > 0
        assert r["faiss"]["faiss"] == "IndexFlatIP"
        assert r["ann"]["recall_at_10"] >= 0.95
        for k in ("search", "ask", "embed_query", "dense", "lexical"):
            assert r["latency_ms"][k]["p95"] >= r["latency_ms"][k]["p50"] > 0
        assert 0 < r["build"]["embed_share"] < 1
    assert data["sizes"]["200"]["corpus"]["kind"] == "synthetic"
    assert data["sizes"]["200"]["chunks"] > data["sizes"]["sample"]["chunks"]
    for size in ("sample", "200"):
        ratios = data["ratios"][size]
        assert set(ratios) >= {"first_build", "reindex_unchanged", "dense_search_p50", "disk"}
        assert all(v > 0 for v in ratios.values())
    table = res.output
    for label in ("passages (chunks)", "embedding (tokens/s)", "réindexation inchangée",
                  "recherche p95 (ms)", "réponse extractive p95 (ms)", "base/nous : disque"):
        assert label in table
    assert render_table(data) in table
    # a dense A4 page of the corpus's prose, drawn and read back by Tesseract
    ocr = data["ocr"]
    assert ocr["pages"] == 1 and ocr["errors"] == 0
    assert ocr["one_process"]["seconds_per_page"] > 0 and ocr["all_cores"]["seconds_per_page"] > 0
    assert ocr["words_kept"] >= 0.95 and ocr["figures_kept"] >= 0.9
    assert "s par page avec 1 processus Tesseract" in table
    page = (tmp_path / "docs" / "performance.md").read_text(encoding="utf-8")
    assert page.startswith("# Performances") and render_table(data) in page


def test_ocr_kept_counts_each_word_once() -> None:
    truth = "La prime de 640 euros est versée ; 640 agents en bénéficient."
    assert kept(truth, truth) == 1.0
    # one of the two "640" lost, and "versée" misread
    read = "La prime de 640 euros est versee ; 64O agents en bénéficient."
    assert kept(truth, read, lambda w: any(c.isdigit() for c in w)) == 0.5
    assert kept(truth, read) == 9 / 11


def test_faiss_switches_to_hnsw_above_threshold(tmp_path: Path, corpus_dir: Path) -> None:
    small = make_pipeline(tmp_path / "flat")
    small.build(corpus_dir)
    big = make_pipeline(tmp_path / "ann", ann_threshold=50)
    report = big.build(corpus_dir)
    assert report.chunks > 50
    for pipe, kind in ((small, "IndexFlatIP"), (big, "IndexHNSWFlat")):
        gen = current_generation(pipe.settings.index_dir)
        assert gen is not None
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["dense"]["faiss"] == kind
        assert manifest["dense"]["count"] == report.chunks
    assert hasattr(big.index.faiss_store.client, "hnsw")
    assert big.index.faiss_store.client.hnsw.efSearch == big.settings.hnsw_ef_search
    # Same answers as the exact index, filters included.
    q = "Combien d'ETP la direction veut-elle gagner avec l'IA ?"
    assert [r.source for r in big.search(q)] == [r.source for r in small.search(q)]
    src = small.search(q)[0].source
    hits = big.search(q, filters=Filters(sources=(src,)))
    assert hits and all(h.source == src for h in hits)


def test_hnsw_recall_against_exact_search() -> None:
    """Clustered vectors (like real embeddings), above a lowered threshold."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    vecs = centres[rng.integers(40, size=2500)] + 0.6 * rng.standard_normal((2500, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    queries = vecs[rng.integers(2500, size=50)] + 0.3 * rng.standard_normal((50, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    settings = load_settings(env={}, ann_threshold=1000)
    index, meta = make_faiss_index(vecs, settings)
    assert meta["faiss"] == "IndexHNSWFlat"
    res = ann_recall(vecs, queries.astype(np.float32), settings, index)
    assert res["hnsw_is_live_index"]
    assert res["recall_at_10"] >= 0.95


def test_reindex_unchanged_embeds_nothing(tmp_path: Path, corpus_dir: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(corpus_dir, folder)
    pipe = make_pipeline(tmp_path / "index")
    first = pipe.build(folder)
    assert first.embedded == first.chunks > 0
    again = pipe.build(folder)
    assert again.embedded == 0 and again.chunks == first.chunks
    # One file changed: only its new passages are embedded.
    victim = sorted(folder.iterdir())[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\n\nUn paragraphe ajouté sur les 35 heures.\n",
                      encoding="utf-8")
    third = pipe.build(folder)
    assert 0 < third.embedded < first.chunks
