"""Re-indexing a folder that changes week after week keeps the index exact.

Three `rag index` runs add, modify and delete files; after each, search and ask see
exactly the current files, the old text of a modified file is gone, a deleted file
is never cited again, and the manifest, passages, vectors, FAISS and BM25 agree.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rag.answer.types import Answer
from rag.cli import cli
from rag.retrieve import HybridRetriever
from rag.store import current_generation, open_index
from tests.conftest import make_pipeline

PRIME = ("# Accord sur la prime de fin d'année\n\n"
         "La prime de fin d'année des conseillers de Bourgogne est fixée à 1 234 euros.\n")
PRIME_V2 = ("# Accord sur la prime de fin d'année\n\n"
            "La prime de fin d'année des conseillers de Bourgogne est portée à 1 500 euros.\n")
AGENCES = ("# Réorganisation du réseau\n\n"
           "La direction annonce la fermeture de 12 agences en Normandie d'ici juin.\n")
TELETRAVAIL = ("# Accord télétravail\n\n"
               "Les agents pourront télétravailler 3 jours par semaine à partir de mars.\n")


def shown(ans: Answer) -> str:
    """What the user reads: the answer and every quoted passage (the figure is in the
    lead when the answer is sure, in the quotes when it is not)."""
    return "\n".join([ans.answer, *(c.quote for c in ans.citations)])


Q_PRIME = "Quel est le montant de la prime de fin d'année des conseillers ?"
Q_AGENCES = "Combien d'agences la direction va-t-elle fermer en Normandie ?"
Q_JOURS = "Combien de jours de télétravail par semaine ?"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--embedder", "hash", *args])


def assert_consistent(index_dir: Path) -> None:
    """Manifest, passages, page texts, vectors, FAISS and BM25 describe the same chunks."""
    idx = open_index(index_dir)
    m = idx.manifest
    n = len(idx.nodes)
    assert n == m["n_chunks"] == sum(f["chunks"] for f in m["files"].values())
    assert np.load(idx.path / "vectors.npy").shape[0] == n
    assert idx.faiss_store.client.ntotal == n
    assert idx.bm25.scores["num_docs"] == n
    assert len({node.node_id for node in idx.nodes}) == n
    for node in idx.nodes:
        src = node.metadata["source"]
        assert src in m["files"]
        page = idx.page_text(src, node.metadata.get("page"))
        assert page[node.start_char_idx:node.end_char_idx] == node.text
    assert {src for src, _ in idx.pages} == set(m["files"])


def write_docs(tmp_path: Path, *names: str) -> Path:
    """A documents folder holding the named fixtures (prime.md, agences.md)."""
    texts = {"prime.md": PRIME, "agences.md": AGENCES}
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in names:
        (docs / name).write_text(texts[name], encoding="utf-8")
    return docs


def sources_cited(pipe, question: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.source for c in pipe.ask(question).citations}


def all_sources_found(pipe, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.source for r in pipe.search(query, k=50)}


def test_add_modify_delete_across_three_runs(tmp_path: Path) -> None:
    docs = write_docs(tmp_path, "prime.md", "agences.md")
    idx = tmp_path / "idx"

    # Run 1: two documents.
    r = run("index", str(docs), "--index", str(idx))
    assert r.exit_code == 0, r.output
    assert "2 (ré)indexé(s), 0 inchangé(s), 0 retiré(s)" in r.stderr
    pipe = make_pipeline(idx)
    assert "1 234" in shown(pipe.ask(Q_PRIME))
    assert sources_cited(pipe, Q_AGENCES) == {"agences.md"}
    assert_consistent(idx)

    # Run 2: one added, one modified, one deleted.
    (docs / "teletravail.md").write_text(TELETRAVAIL, encoding="utf-8")
    (docs / "prime.md").write_text(PRIME_V2, encoding="utf-8")
    (docs / "agences.md").unlink()
    r = run("index", str(docs), "--index", str(idx))
    assert r.exit_code == 0, r.output
    assert "2 (ré)indexé(s), 0 inchangé(s), 1 retiré(s)" in r.stderr
    ans = shown(pipe.ask(Q_PRIME))  # same pipeline: reloads
    assert "1 500" in ans and "1 234" not in ans
    assert not any("1 234" in n.text for n in pipe.index.nodes)  # old chunk replaced, not kept
    assert "agences.md" not in all_sources_found(pipe, "fermeture agences Normandie direction")
    gone = pipe.ask(Q_AGENCES)
    assert "agences.md" not in {c.source for c in gone.citations}
    assert sources_cited(pipe, Q_JOURS) == {"teletravail.md"}
    assert_consistent(idx)

    # Run 3: nothing changed but one file; unchanged ones are reused, not re-embedded.
    (docs / "teletravail.md").write_text(TELETRAVAIL.replace("3 jours", "2 jours"), encoding="utf-8")
    r = run("index", str(docs), "--index", str(idx))
    assert r.exit_code == 0, r.output
    assert "1 (ré)indexé(s), 1 inchangé(s), 0 retiré(s)" in r.stderr
    assert "2 jours" in pipe.ask(Q_JOURS).citations[0].quote
    assert not any("3 jours" in n.text for n in pipe.index.nodes)
    for q in (Q_AGENCES, "fermeture de 12 agences"):
        assert "agences.md" not in sources_cited(pipe, q)
    assert_consistent(idx)


def test_unchanged_files_keep_their_vectors(tmp_path: Path) -> None:
    docs = write_docs(tmp_path, "prime.md", "agences.md")
    pipe = make_pipeline(tmp_path / "idx")
    first = pipe.build(docs)
    (docs / "teletravail.md").write_text(TELETRAVAIL, encoding="utf-8")
    second = pipe.build(docs)
    assert sorted(second.reused) == ["agences.md", "prime.md"]
    assert second.indexed == ["teletravail.md"]
    assert second.embedded < second.chunks and first.embedded == first.chunks


def test_dry_run_and_status_show_what_would_change(tmp_path: Path) -> None:
    docs = write_docs(tmp_path, "prime.md", "agences.md")
    idx = tmp_path / "idx"
    (docs / "vide.txt").write_bytes(b"")
    assert run("index", str(docs), "--index", str(idx)).exit_code == 0
    gen_before = current_generation(idx)

    r = run("index", str(docs), "--index", str(idx), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "à ajouter : 0" in r.stdout and "modifié(s) : 0" in r.stdout
    assert "inchangé(s) : 2" in r.stdout
    # A file refused last time and untouched since is refused again, not "new".
    assert "refusé(s) : 1\n  vide.txt : fichier vide" in r.stdout

    (docs / "teletravail.md").write_text(TELETRAVAIL, encoding="utf-8")
    (docs / "prime.md").write_text(PRIME_V2, encoding="utf-8")
    (docs / "agences.md").unlink()
    for args in (["index", str(docs), "--dry-run"], ["status", str(docs)]):
        r = run(*args, "--index", str(idx))
        assert r.exit_code == 0, r.output
        out = r.stdout
        assert "à ajouter : 1\n  teletravail.md" in out
        assert "modifié(s) : 1\n  prime.md" in out
        assert "à retirer : 1\n  agences.md" in out
    assert "Changements depuis la dernière indexation" in out
    assert "- agences.md :" in out  # status still describes the live index
    # Neither wrote anything.
    assert current_generation(idx) == gen_before
    assert "1 234" in shown(make_pipeline(idx).ask(Q_PRIME))


def test_leftovers_of_a_killed_build_are_ignored_then_cleaned(tmp_path: Path) -> None:
    docs = write_docs(tmp_path, "prime.md")
    idx = tmp_path / "idx"
    pipe = make_pipeline(idx)
    pipe.build(docs)
    # What SIGKILL during the write phase leaves: a half-written generation, a
    # half-written CURRENT candidate, and a complete generation never switched to.
    half = idx / ".tmp-gen-20200101-000000-dead00"
    half.mkdir()
    (half / "nodes.jsonl").write_text('{"id": "x", "text": "tronq', encoding="utf-8")
    (idx / ".CURRENT.dead00").write_text("gen-", encoding="utf-8")
    orphan = idx / "gen-20200101-000000-0rphan"
    orphan.mkdir()
    old = time.time() - 3600
    for p in (half, orphan, idx / ".CURRENT.dead00"):
        os.utime(p, (old, old))
    assert "1 234" in shown(make_pipeline(idx).ask(Q_PRIME))
    r = run("index", str(docs), "--index", str(idx))
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in idx.iterdir())
    assert not [n for n in names if n.startswith((".tmp-gen-", ".CURRENT."))], names
    assert orphan.name not in names
    assert_consistent(idx)


def test_a_reader_that_opened_the_old_generation_can_finish(tmp_path: Path) -> None:
    """A question being answered while `rag index` switches generations still completes:
    the retired generation stays on disk for a minute, whatever its age."""
    docs = write_docs(tmp_path, "prime.md")
    idx = tmp_path / "idx"
    pipe = make_pipeline(idx)
    pipe.build(docs)
    reader = open_index(idx)  # resolved CURRENT just before the switch; FAISS/BM25 not loaded yet
    old = time.time() - 3600  # built an hour ago
    os.utime(reader.path, (old, old))
    (docs / "prime.md").write_text(PRIME_V2, encoding="utf-8")
    make_pipeline(idx).build(docs)
    assert current_generation(idx) != reader.path
    hits = HybridRetriever(reader, pipe.embedder, top_k=3).search("prime de fin d'année")
    assert hits and "1 234" in hits[0].node.text


@pytest.mark.slow
def test_incremental_with_the_real_model(tmp_path: Path) -> None:
    """Same add/modify/delete cycle with e5 and the real FAISS index."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    docs = write_docs(tmp_path, "prime.md", "agences.md")
    idx = tmp_path / "idx"
    pipe = build_pipeline(load_settings(index_dir=idx, env={}))
    pipe.build(docs)
    (docs / "prime.md").write_text(PRIME_V2, encoding="utf-8")
    (docs / "agences.md").unlink()
    (docs / "teletravail.md").write_text(TELETRAVAIL, encoding="utf-8")
    report = pipe.build(docs)
    assert report.removed == ["agences.md"] and sorted(report.indexed) == ["prime.md", "teletravail.md"]
    assert "1 500" in shown(pipe.ask(Q_PRIME))
    assert "agences.md" not in all_sources_found(pipe, "fermeture de 12 agences en Normandie")
    assert_consistent(idx)
    manifest = json.loads((current_generation(idx) / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[operator]
    assert manifest["embedder"]["dim"] == 384


def test_index_from_an_older_analyzer_counts_every_file_as_modified(tmp_path: Path) -> None:
    """After an upgrade that changes chunking or analysis, `rag eval`/`rag status` must not
    keep using tokens made by the old analyzer: every file is re-chunked (vectors reused)."""
    import json

    docs = write_docs(tmp_path, "prime.md", "agences.md")
    idx = tmp_path / "idx"
    pipe = make_pipeline(idx)
    pipe.build(docs)
    manifest = current_generation(idx) / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["chunking"]["analyzer"] = "an-older-analyzer"
    manifest.write_text(json.dumps(m), encoding="utf-8")
    r = run("status", str(docs), "--index", str(idx))
    assert "modifié(s) : 2" in r.stdout, r.stdout
    # `rag ask` still answers from it, and says it should be rebuilt.
    r = run("ask", "Quel est le montant de la prime ?", "--index", str(idx))
    assert r.exit_code == 0 and "version précédente" in r.stderr, r.stderr
    report = make_pipeline(idx).build(docs)
    assert report.embedded == 0  # same chunk texts: vectors reused
    r = run("ask", "Quel est le montant de la prime ?", "--index", str(idx))
    assert r.exit_code == 0 and "version précédente" not in r.stderr, r.stderr
