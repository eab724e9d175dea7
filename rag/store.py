"""The on-disk index: dense (FAISS) + lexical (BM25, French analysis) + manifest.

Layout of an index folder::

    index/
      CURRENT               name of the live generation (replaced atomically)
      .lock                 held by the one `rag index` allowed to write
      gen-<time>-<rand>/    one complete, immutable generation
        manifest.json       format, embedder id and dim, chunking, per-file hashes
        nodes.jsonl         one chunk per line (text, metadata, offsets)
        pages.jsonl         page texts, for context around a quote; OCR marks
        vectors.npy         chunk vectors (reused by the next build)
        analysis.jsonl      per page: sentence spans and spaCy tokens (rag.analyze)
        sentences.npy       one e5 vector per analysed sentence
        dense/              llama-index FaissVectorStore
        lexical/            bm25s index over French-analysed tokens
      ocr-cache/            recognised pages of scans and photos, by file hash (rag.ocr)

A build writes a new generation beside the live one and switches ``CURRENT``
with ``os.replace`` only when everything is on disk: a build killed half-way
leaves the previous index untouched and usable. Files whose hash did not
change keep their chunks, and chunks whose text did not change keep their
vectors, so a re-index embeds only what is new.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from llama_index.core.schema import Document, TextNode

from rag.analyze import ANALYSIS_ID, PageAnalysis, analyze_pages, reuse_from
from rag.chunk import StructureChunker
from rag.config import Settings
from rag.embed import _Backend
from rag.glossary import USER_FILE, Glossary, builtin, mine, parse_tsv
from rag.ingest import LoadedFile, Skipped, load_folder
from rag.ocr import OcrOptions, prune_cache
from rag.text import analyze, normalize_for_match

FORMAT_VERSION = 1
ANALYZER_ID = "fr-snowball-fold-elision-digits-inclusive-v2"
CHUNKER_ID = "structure-v1+roster"
OCR_CACHE = "ocr-cache"  # recognised pages by file hash (rag.ocr), kept across generations


class IndexError_(Exception):
    """Index missing, incompatible or locked: the message is shown to the user (French)."""


class IndexMissing(IndexError_):
    pass


class IndexIncompatible(IndexError_):
    pass


class IndexLocked(IndexError_):
    pass


ProgressFn = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    indexed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # share of ``seconds`` spent in the embedder
    analysis_seconds: float = 0.0  # French analysis and sentence vectors (rag.analyze)
    generation: str = ""
    warnings: list[str] = field(default_factory=list)  # "file : pages lost", for the user
    ocr_pages: int = 0  # pages recognised by OCR in this build (cached ones included)


def embed_text(node: TextNode) -> str:
    """What is embedded and lexically indexed for a chunk: its section heading and text."""
    section = str(node.metadata.get("section") or "")
    text = node.get_content()
    return f"{section}\n{text}" if section and not text.lstrip("# ").startswith(section) else text


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _node_to_json(node: TextNode) -> dict[str, Any]:
    return {
        "id": node.node_id,
        "text": node.text,
        "metadata": node.metadata,
        "start": node.start_char_idx,
        "end": node.end_char_idx,
    }


def _node_from_json(d: dict[str, Any]) -> TextNode:
    meta = d["metadata"]
    return TextNode(
        id_=d["id"],
        text=d["text"],
        metadata=meta,
        start_char_idx=d.get("start"),
        end_char_idx=d.get("end"),
        excluded_embed_metadata_keys=[k for k in meta if k != "section"],
        excluded_llm_metadata_keys=[k for k in meta if k not in ("title", "page")],
    )


# --- the loaded, read-only index ----------------------------------------------------

class Index:
    """A loaded generation: nodes, page texts, FAISS and BM25. Read-only, thread-safe."""

    def __init__(self, path: Path, manifest: dict[str, Any], nodes: list[TextNode],
                 pages: dict[tuple[str, int | None], str],
                 doubtful: dict[tuple[str, int | None], list[tuple[int, int]]] | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.nodes = nodes
        self.pages = pages
        # offsets of digit words OCR read unsurely, per page (rag.ocr)
        self.doubtful = doubtful or {}
        self._faiss: Any = None
        self._bm25: bm25s.BM25 | None = None
        self._df: dict[str, int] | None = None
        self._glossary: Glossary | None = None
        self._folded: str | None = None
        self._analysis: dict[tuple[str, int | None], PageAnalysis] | None = None

    @property
    def faiss_store(self) -> Any:
        if self._faiss is None:
            from llama_index.vector_stores.faiss import FaissVectorStore

            self._faiss = FaissVectorStore.from_persist_dir(str(self.path / "dense"))
        return self._faiss

    @property
    def bm25(self) -> bm25s.BM25:
        if self._bm25 is None:
            self._bm25 = bm25s.BM25.load(str(self.path / "lexical"), mmap=False)
        return self._bm25

    @property
    def df(self) -> dict[str, int]:
        """Analyzed token -> number of chunks containing it."""
        if self._df is None:
            self._df = json.loads((self.path / "df.json").read_text(encoding="utf-8"))["df"]
        return self._df

    @property
    def folded_text(self) -> str:
        """All page texts in match form (rag.text.normalize_for_match), hyphens as spaces:
        for checking that a phrase such as "Île-de-France" occurs anywhere."""
        if self._folded is None:
            self._folded = " ".join(normalize_for_match(t).replace("-", " ")
                                    for t in self.pages.values())
        return self._folded

    @property
    def glossary(self) -> Glossary:
        """Built-in glossary + definitions mined from the documents + the user's glossaire.tsv."""
        if self._glossary is None:
            g = builtin()
            for src, f in sorted(self.manifest.get("files", {}).items()):
                for forms in f.get("glossary", []):
                    g.add(forms, src)
            user = self.manifest.get("user_glossary")
            if user:
                g.merge(parse_tsv(user, USER_FILE))
            self._glossary = g
        return self._glossary

    def page_text(self, source: str, page: int | None) -> str:
        return self.pages.get((source, page), "")

    def analysis(self, source: str, page: int | None) -> PageAnalysis | None:
        """The stored French analysis of a page (rag.analyze), or None for an index built
        before analyses were stored."""
        if self._analysis is None:
            table: dict[tuple[str, int | None], PageAnalysis] = {}
            path = self.path / "analysis.jsonl"
            if path.is_file():
                vectors = np.load(self.path / "sentences.npy")
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line:
                        row = json.loads(line)
                        table[(row["source"], row.get("page"))] = PageAnalysis(row, vectors)
            self._analysis = table
        return self._analysis.get((source, page))

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest.get("files", {}))


def current_generation(index_dir: Path) -> Path | None:
    cur = index_dir / "CURRENT"
    if not cur.is_file():
        return None
    name = cur.read_text(encoding="utf-8").strip()
    path = index_dir / name
    return path if name and (path / "manifest.json").is_file() else None


def open_index(index_dir: Path, embedder_id: str | None = None, dim: int | None = None) -> Index:
    """Load the live generation; raise a clear error if missing or built with another embedder."""
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissing(
            f"Aucun index dans « {index_dir} ». Lancez d'abord : rag index DOSSIER"
            + (f" --index {index_dir}" if str(index_dir) != "index" else "")
        )
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexIncompatible(
            f"L'index « {index_dir} » a le format {manifest.get('format_version')}, "
            f"cette version attend {FORMAT_VERSION}. Reconstruisez-le : rag index DOSSIER --rebuild"
        )
    emb = manifest.get("embedder", {})
    if embedder_id is not None and (emb.get("id") != embedder_id or (dim and emb.get("dim") != dim)):
        raise IndexIncompatible(
            f"L'index « {index_dir} » a été construit avec le modèle d'embedding "
            f"« {emb.get('id')} » ({emb.get('dim')} dimensions), mais le modèle configuré est "
            f"« {embedder_id} » ({dim} dimensions). Réindexez : rag index DOSSIER --rebuild"
        )
    nodes = [_node_from_json(json.loads(line)) for line in
             (gen / "nodes.jsonl").read_text(encoding="utf-8").splitlines() if line]
    pages: dict[tuple[str, int | None], str] = {}
    doubtful: dict[tuple[str, int | None], list[tuple[int, int]]] = {}
    for line in (gen / "pages.jsonl").read_text(encoding="utf-8").splitlines():
        if line:
            d = json.loads(line)
            pages[(d["source"], d["page"])] = d["text"]
            if d.get("doubtful"):
                doubtful[(d["source"], d["page"])] = [(int(a), int(b)) for a, b in d["doubtful"]]
    return Index(gen, manifest, nodes, pages, doubtful)


# --- building ----------------------------------------------------------------------

@contextmanager
def index_lock(index_dir: Path, wait: bool = False,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive lock on the index folder; fails fast with a clear message unless ``wait``
    (then ``on_wait`` is called once before blocking, to tell the user why nothing moves).

    An flock dies with its process: a killed `rag index` never leaves a stale lock.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = open(index_dir / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            if not wait:
                raise IndexLocked(
                    f"Une autre indexation est en cours sur « {index_dir} ». "
                    "Attendez qu'elle se termine (ou relancez avec --wait)."
                ) from exc
            if on_wait:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def analyzed_corpus(texts: list[str]) -> Any:
    return bm25s.tokenize(
        [" ".join(analyze(t)) for t in texts],
        lower=False, token_pattern=r"[^ ]+", stopwords=None, stemmer=None, show_progress=False,
    )


def plan_changes(folder: Path, index_dir: Path, settings: Settings) -> dict[str, list[str]]:
    """What a build would do, without reading file contents beyond hashing.

    A file refused at the last build (unreadable PDF, empty file…) and not touched
    since is listed as refused again, with its reason, rather than as new. After an
    upgrade that changes chunking or text analysis, every file counts as modified.
    """
    from rag.ingest import file_hash, list_files

    manifest_path = gen / "manifest.json" if (gen := current_generation(index_dir)) else None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path else {}
    old = manifest.get("files", {})
    built_at = manifest_path.stat().st_mtime if manifest_path else 0.0
    was_refused = {s["path"]: s["reason"] for s in manifest.get("skipped", [])}
    # An index chunked or analysed by another version must be rebuilt from every file
    # (vectors are still reused by chunk text): its files count as modified.
    same_analysis = not manifest or _same_chunking(manifest, settings)
    files, skipped = list_files(folder, settings.follow_symlinks)
    plan: dict[str, list[str]] = {"added": [], "modified": [], "unchanged": [], "removed": [],
                                  "refused": [f"{s.path} : {s.reason}" for s in skipped]}
    seen = set()
    for path in files:
        rel = str(path.relative_to(folder))
        try:
            digest, mtime = file_hash(path), path.stat().st_mtime
        except OSError:
            continue  # vanished while listing: it will be gone from the index too
        seen.add(rel)
        if rel in old:
            plan["unchanged" if old[rel]["hash"] == digest and same_analysis else "modified"].append(rel)
        elif rel in was_refused and mtime < built_at:
            plan["refused"].append(f"{rel} : {was_refused[rel]}")
        else:
            plan["added"].append(rel)
    plan["removed"] = sorted(set(old) - seen)
    return plan


def build_index(
    folder: Path,
    settings: Settings,
    embedder: _Backend,
    progress: ProgressFn | None = None,
    rebuild: bool = False,
    wait: bool = False,
) -> BuildReport:
    """Index ``folder`` into ``settings.index_dir`` as a new generation, reusing what it can.

    Raises ``FileNotFoundError``/``NotADirectoryError`` for a missing folder and
    ``ValueError`` when it holds no readable document (both with French messages).
    """
    t0 = time.perf_counter()
    if not folder.exists():
        raise FileNotFoundError(f"Dossier introuvable : {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"Ce n'est pas un dossier : {folder}")
    index_dir = settings.index_dir
    report = BuildReport()
    on_wait = (lambda: progress("attente", 0, 1)) if progress else None
    with index_lock(index_dir, wait=wait, on_wait=on_wait):
        prev = None if rebuild else current_generation(index_dir)
        prev_manifest: dict[str, Any] = {}
        prev_nodes: dict[str, list[dict[str, Any]]] = {}
        prev_vectors: dict[str, np.ndarray] = {}
        if prev is not None:
            prev_manifest = json.loads((prev / "manifest.json").read_text(encoding="utf-8"))
            same_model = prev_manifest.get("embedder", {}).get("id") == embedder.model_id
            same_chunks = _same_chunking(prev_manifest, settings)
            if prev_manifest.get("format_version") == FORMAT_VERSION and same_model:
                vecs = np.load(prev / "vectors.npy")
                rows = [json.loads(x) for x in
                        (prev / "nodes.jsonl").read_text(encoding="utf-8").splitlines() if x]
                for row, vec in zip(rows, vecs, strict=True):
                    prev_vectors[row["metadata"].get("text_key", "")] = vec
                    if same_chunks:
                        prev_nodes.setdefault(row["metadata"]["source"], []).append(row)
            else:
                prev_manifest = {}

        chunker = StructureChunker(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
        old_files = prev_manifest.get("files", {})
        files_meta: dict[str, dict[str, Any]] = {}
        all_nodes: list[TextNode] = []
        page_rows: list[dict[str, Any]] = []
        now = time.strftime("%Y-%m-%dT%H:%M:%S")

        prev_pages: dict[str, list[dict[str, Any]]] = {}
        if prev is not None and prev_nodes:
            for line in (prev / "pages.jsonl").read_text(encoding="utf-8").splitlines():
                if line:
                    d = json.loads(line)
                    prev_pages.setdefault(d["source"], []).append(d)

        cache_dir = index_dir / OCR_CACHE

        def ocr_options(name: str) -> OcrOptions:
            def step(done: int, total: int) -> None:
                if progress:
                    progress(f"OCR {name}", done, total)
            return OcrOptions(cache_dir=cache_dir, dpi=settings.ocr_dpi, lang=settings.ocr_lang,
                              max_pages=settings.ocr_max_pages,
                              max_megapixels=settings.ocr_max_megapixels,
                              min_confidence=settings.ocr_min_confidence,
                              workers=settings.ocr_workers, progress=step)

        items = list(load_folder(folder, settings.follow_symlinks, settings.max_file_mb,
                                 settings.max_text_mb, ocr_options))
        report.ocr_pages = sum(len(x.ocr_pages) for x in items if isinstance(x, LoadedFile))
        n_items = len(items)
        for i, item in enumerate(items, start=1):
            if progress:
                progress("lecture", i, n_items)
            if isinstance(item, Skipped):
                report.skipped.append(item)
                continue
            lf: LoadedFile = item
            report.warnings.extend(f"{lf.source} : {w}" for w in lf.warnings)
            old = old_files.get(lf.source)
            if (old and old["hash"] == lf.doc_hash and lf.source in prev_nodes
                    and not old.get("incomplete") and not lf.incomplete):
                nodes = [_node_from_json(r) for r in prev_nodes[lf.source]]
                page_rows.extend(prev_pages.get(lf.source, []))
                files_meta[lf.source] = dict(old)
                report.reused.append(lf.source)
            else:
                nodes = [n for n in chunker.get_nodes_from_documents(lf.pages)
                         if isinstance(n, TextNode)]
                for n in nodes:
                    n.metadata["text_key"] = _text_key(embed_text(n))
                    n.excluded_embed_metadata_keys.append("text_key")
                    n.excluded_llm_metadata_keys.append("text_key")
                page_rows.extend(_page_row(lf, d) for d in lf.pages)
                files_meta[lf.source] = {
                    "hash": lf.doc_hash,
                    "title": lf.title,
                    "pages": len(lf.pages),
                    "paged": lf.paged,
                    "chunks": len(nodes),
                    "indexed_at": now,
                    "ocr_pages": lf.ocr_pages,
                    "incomplete": lf.incomplete,
                    "warnings": lf.warnings,
                    **{k: lf.metadata.get(k)
                       for k in ("union", "instance", "doc_date", "doc_type", "file_type")},
                    "glossary": [e.forms for e in
                                 mine("\n".join(d.text for d in lf.pages), lf.source).entries],
                }
                report.indexed.append(lf.source)
            all_nodes.extend(nodes)
        report.removed = sorted(set(old_files) - set(files_meta))
        if not all_nodes:
            reasons = "; ".join(f"{s.path} : {s.reason}" for s in report.skipped[:5])
            raise ValueError(
                f"Aucun document lisible dans « {folder} »" + (f" ({reasons})" if reasons else "")
            )

        # Vectors: reuse by chunk-text hash, embed only what is new.
        keys = [str(n.metadata["text_key"]) for n in all_nodes]
        todo = [i for i, k in enumerate(keys) if k not in prev_vectors]
        vectors = np.zeros((len(all_nodes), embedder.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k in prev_vectors:
                vectors[i] = prev_vectors[k]
        batch = max(1, embedder.embed_batch_size)
        t_embed = time.perf_counter()
        for start in range(0, len(todo), batch):
            idx = todo[start:start + batch]
            vectors[idx] = embedder.embed_passages([embed_text(all_nodes[i]) for i in idx])
            if progress:
                progress("embeddings", min(start + batch, len(todo)), len(todo))
        report.embedded = len(todo)
        report.embed_seconds = time.perf_counter() - t_embed
        report.chunks = len(all_nodes)

        # French analysis and sentence vectors: unchanged pages and sentences are reused.
        reuse: dict[str, Any] = {}
        if prev is not None and prev_manifest and (prev / "analysis.jsonl").is_file() \
                and prev_manifest.get("chunking", {}).get("analysis") == ANALYSIS_ID:
            old_rows = [json.loads(x) for x in
                        (prev / "analysis.jsonl").read_text(encoding="utf-8").splitlines() if x]
            old_pages = {(d["source"], d.get("page")): d["text"] for d in
                         map(json.loads, (prev / "pages.jsonl").read_text(encoding="utf-8").splitlines())}
            reuse = reuse_from(old_rows, np.load(prev / "sentences.npy"), old_pages)
        t_an = time.perf_counter()
        analysis, sent_vectors = analyze_pages(
            page_rows, embedder.embed_passages, embedder.dim, reuse,
            (lambda done, total: progress("analyse", done, total)) if progress else None)
        report.analysis_seconds = time.perf_counter() - t_an

        user_glossary = folder / USER_FILE
        extra = {"user_glossary": user_glossary.read_text(encoding="utf-8")} \
            if user_glossary.is_file() else {}
        gen = _write_generation(index_dir, settings, embedder, all_nodes, vectors, page_rows,
                                files_meta, report.skipped, progress, extra,
                                (analysis, sent_vectors))
        report.generation = gen.name
        prune_cache(cache_dir, {str(f["hash"]) for f in files_meta.values()})
    report.seconds = time.perf_counter() - t0
    return report


def _page_row(lf: LoadedFile, d: Document) -> dict[str, Any]:
    """A page as stored in pages.jsonl: its text, and for a recognised page the OCR mark
    and the offsets of its doubtful digit words."""
    page = d.metadata.get("page")
    row: dict[str, Any] = {"source": lf.source, "page": page, "text": d.text}
    if d.metadata.get("ocr"):
        row["ocr"] = True
        row["doubtful"] = [list(s) for s in lf.doubtful.get(int(page or 1), [])]
    return row


def is_current(index: Index, settings: Settings) -> bool:
    """Whether ``index`` was chunked and analysed as this version would do it (an index
    built before an upgrade still answers, with the old passages and lexical tokens)."""
    return _same_chunking(index.manifest, settings)


def _same_chunking(manifest: dict[str, Any], settings: Settings) -> bool:
    """Whether an index's chunks and lexical tokens are what this version would make."""
    return (manifest.get("format_version") == FORMAT_VERSION
            and manifest.get("chunking") == _chunking(settings))


def _chunking(settings: Settings) -> dict[str, Any]:
    return {"chunker": CHUNKER_ID, "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap, "analyzer": ANALYZER_ID,
            "analysis": ANALYSIS_ID}


def make_faiss_index(vectors: np.ndarray, settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The FAISS index for these vectors, chosen by size, filled; and its manifest entry.

    Below ``settings.ann_threshold`` chunks: ``IndexFlatIP``, exact (a 10^5 x 384 scan
    costs ~40 MFLOP per query). From the threshold on: ``IndexHNSWFlat`` (inner
    product), approximate; ``rag bench`` reports its recall@10 against exact search.
    Row i of ``vectors`` gets id i either way, as ``FaissVectorStore.add`` would give.
    """
    import faiss

    n, dim = int(vectors.shape[0]), int(vectors.shape[1])
    index: Any
    meta: dict[str, Any]
    if n >= settings.ann_threshold:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.hnsw.efSearch = settings.hnsw_ef_search  # persisted with the index
        meta = {"faiss": "IndexHNSWFlat", "M": settings.hnsw_m,
                "efConstruction": settings.hnsw_ef_construction,
                "efSearch": settings.hnsw_ef_search}
    else:
        index = faiss.IndexFlatIP(dim)
        meta = {"faiss": "IndexFlatIP"}
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    meta.update(count=int(index.ntotal), threshold=settings.ann_threshold)
    return index, meta


def _write_generation(
    index_dir: Path, settings: Settings, embedder: _Backend, nodes: list[TextNode],
    vectors: np.ndarray, page_rows: list[dict[str, Any]], files_meta: dict[str, Any],
    skipped: list[Skipped], progress: ProgressFn | None,
    extra: dict[str, Any] | None = None,
    analysis: tuple[list[dict[str, Any]], np.ndarray] | None = None,
) -> Path:
    from llama_index.vector_stores.faiss import FaissVectorStore

    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        if progress:
            progress("écriture", 0, 1)
        _write_jsonl(tmp / "nodes.jsonl", [_node_to_json(n) for n in nodes])
        _write_jsonl(tmp / "pages.jsonl", page_rows)
        np.save(tmp / "vectors.npy", vectors)
        if analysis is not None:
            _write_jsonl(tmp / "analysis.jsonl", analysis[0])
            np.save(tmp / "sentences.npy", analysis[1].astype(np.float32))

        dense, dense_meta = make_faiss_index(vectors, settings)
        store = FaissVectorStore(faiss_index=dense)
        store.persist(str(tmp / "dense" / "default__vector_store.json"))

        tokens = analyzed_corpus([embed_text(n) for n in nodes])
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        bm25.save(str(tmp / "lexical"))
        # Document frequencies, for weighting question terms when picking sentences.
        counts = np.zeros(len(tokens.vocab), dtype=np.int64)
        for ids in tokens.ids:
            counts[np.unique(np.asarray(ids, dtype=np.int64))] += 1
        df = {tok: int(counts[i]) for tok, i in tokens.vocab.items()}
        (tmp / "df.json").write_text(json.dumps({"n": len(nodes), "df": df}), encoding="utf-8")

        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "embedder": {"id": embedder.model_id, "dim": int(vectors.shape[1])},
            "chunking": _chunking(settings),
            "dense": dense_meta,
            "n_chunks": len(nodes),
            "files": files_meta,
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
            **(extra or {}),
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        final = index_dir / name
        _fsync_tree(tmp)  # contents on disk before the rename makes them reachable
        os.replace(tmp, final)
        _fsync_dir(index_dir)
        previous = current_generation(index_dir)
        cur_tmp = index_dir / f".CURRENT.{secrets.token_hex(3)}"
        cur_tmp.write_text(name, encoding="utf-8")
        with open(cur_tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(cur_tmp, index_dir / "CURRENT")
        _fsync_dir(index_dir)
        if previous is not None:
            # Retired just now: _prune keeps it a minute for readers still loading it.
            os.utime(previous)
        if progress:
            progress("écriture", 1, 1)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep=name)
    return final


def _fsync_tree(root: Path) -> None:
    for p in sorted(root.rglob("*"), reverse=True):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
        else:
            _fsync_dir(p)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, keep: str) -> None:
    """Remove older generations and leftovers of interrupted builds.

    Generations retired less than a minute ago are kept a little longer so that a
    reader that resolved CURRENT just before the switch can finish loading.
    """
    now = time.time()
    for p in index_dir.iterdir():
        if p.name == keep or not (p.name.startswith("gen-") or p.name.startswith(".tmp-gen-")
                                  or p.name.startswith(".CURRENT.")):
            continue
        if now - p.stat().st_mtime < 60 and p.name.startswith("gen-"):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
