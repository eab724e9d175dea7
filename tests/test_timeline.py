"""A subject's timeline: every document that speaks of it, in date order, quoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.retrieve import Filters
from rag.timeline import timeline
from tests.conftest import make_pipeline

DOCS = {
    "bulletin-mars.md": "# Bulletin FO de mars\n\nPublié le 12 mars 2025\n\n"
                        "La réforme des retraites occupe les agences. Le télétravail reste à deux jours.\n",
    "cr-janvier.txt": "Compte rendu CGT\nRéunion du 20 janvier 2025\n\n"
                      "Les élus interrogent la direction sur le télétravail des conseillers.\n"
                      "La cantine ferme en été.\n",
    "tract.txt": "Tract SUD\n\nNon à la suppression du travail à distance !\n",
    "note.txt": "Note de service\n\nLes horaires d'accueil changent au 1er avril.\n",
}


@pytest.fixture()
def pipe(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "glossaire.tsv").write_text("télétravail | travail à distance\n", encoding="utf-8")
    p = make_pipeline(tmp_path / "index")
    p.build(folder)
    return p


def test_every_document_on_the_subject_in_date_order_undated_last(pipe) -> None:  # type: ignore[no-untyped-def]
    entries = timeline(pipe.index, "télétravail")
    assert [e.source for e in entries] == ["cr-janvier.txt", "bulletin-mars.md", "tract.txt"]
    assert [e.date for e in entries] == ["2025-01-20", "2025-03-12", None]
    # each quote is the sentence that holds the subject, verbatim from its page
    assert entries[0].quote == "Les élus interrogent la direction sur le télétravail des conseillers."
    assert entries[2].quote == "Non à la suppression du travail à distance !"  # glossary form
    for e in entries:
        assert e.quote in pipe.index.page_text(e.source, e.page)


def test_filters_and_absent_subjects(pipe) -> None:  # type: ignore[no-untyped-def]
    assert [e.source for e in timeline(pipe.index, "télétravail", Filters(union="FO"))] == [
        "bulletin-mars.md"]
    assert [e.source for e in timeline(pipe.index, "télétravail", Filters(after="2025-02-01"))] == [
        "bulletin-mars.md"]
    assert timeline(pipe.index, "prime de Noël") == []


def test_cli_timeline_json_and_text(pipe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    idx = str(tmp_path / "index")
    r = CliRunner().invoke(cli, ["--embedder", "hash", "timeline", "télétravail", "--index", idx,
                                 "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["subject"] == "télétravail"
    first = out["entries"][0]
    assert set(first) == {"date", "union", "instance", "title", "source", "page", "quote"}
    assert first["title"]
    del first["title"]
    assert first == {
        "date": "2025-01-20", "union": "CGT", "instance": None,
        "source": "cr-janvier.txt", "page": None,
        "quote": "Les élus interrogent la direction sur le télétravail des conseillers."}
    text = CliRunner().invoke(cli, ["--embedder", "hash", "timeline", "télétravail", "--index", idx])
    assert "20 janvier 2025 · CGT" in text.stdout and "date inconnue · SUD" in text.stdout
    none = CliRunner().invoke(cli, ["--embedder", "hash", "timeline", "prime de Noël", "--index", idx])
    assert "Aucun document indexé ne parle de « prime de Noël »." in none.stdout


@pytest.mark.slow
def test_the_sample_corpus_timeline_of_the_loi_plein_emploi(e5_index: Path) -> None:
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    pipe = build_pipeline(load_settings(index_dir=e5_index, env={}))
    entries = timeline(pipe.index, "loi plein emploi")
    # the SNAP report of the CSE Occitanie meeting, then the undated CGT CSEC report
    assert [(e.source, e.date, e.union) for e in entries] == [
        ("004_69d067c567b4c199.txt", "2025-01-30", "SNAP"),
        ("000_ae26866323061855.txt", None, "CGT")]
    assert [e.source for e in timeline(pipe.index, "LPE")] == [e.source for e in entries]
