"""A document's date read from its content, and the citation line ready to paste."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import Citation, citation_line
from rag.dates import document_date, format_date
from rag.ingest import load_file


@pytest.mark.parametrize(("text", "iso"), [
    ("Section SUD Emploi\nCompte rendu de la séance plénière du jeudi 6 mars 2025\n", "2025-03-06"),
    ("Déclaration des élus au CSE du 14/05/2026\nNous demandons…", "2026-05-14"),
    ("Rennes, le 2 juin 2025\nMadame la Directrice,\n", "2025-06-02"),
    ("Info-flash\nPublié le 9 déc. 2024 par la section\nLe télétravail…", "2024-12-09"),
    ("# Bulletin n° 12\n\n1er octobre 2025\n\nÉdito", "2025-10-01"),
])
def test_the_document_date_is_read_from_its_header(text: str, iso: str) -> None:
    assert document_date(text) == iso


def test_dates_the_text_only_mentions_are_not_the_documents() -> None:
    text = ("Tract de la section\n" + "Les agents attendent toujours.\n" * 12
            + "Le projet avait été présenté au CSEC du 12 janvier 2023, puis le 3 mars 2024.\n")
    assert document_date(text) is None
    assert document_date(text, fallback="2025-01-20") == "2025-01-20"
    # a date that cannot exist is no date
    assert document_date("Compte rendu\nRéunion du 31/02/2025\n") is None


def test_a_pdf_without_a_stated_date_takes_its_creation_date(tmp_path: Path) -> None:
    from datetime import datetime

    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 11, 18, 9, 30))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Tract de la section\n\nLes agents refusent la fermeture du site "
                         "de Vannes et demandent le maintien des effectifs.")
    pdf.output(str(tmp_path / "tract.pdf"))
    loaded = load_file(tmp_path / "tract.pdf", tmp_path)
    assert loaded.metadata["doc_date"] == "2025-11-18"


def test_the_citation_line_reads_as_a_reference() -> None:
    c = Citation(n=1, source="cr-cse.pdf", title="Compte rendu du CSE", page=4,
                 quote="Les élus  obtiennent\n12 postes supplémentaires.", score=0.9,
                 union="FO", instance="CSE Hauts-de-France", doc_date="2025-03-01")
    assert citation_line(c) == ("« Les élus obtiennent 12 postes supplémentaires. » "
                                "(FO, CSE Hauts-de-France, 1er mars 2025, p. 4)")
    anonymous = Citation(n=2, source="note.txt", title="Note aux agents", page=None,
                         quote="Fermeture le vendredi.", score=0.5)
    assert citation_line(anonymous) == "« Fermeture le vendredi. » (« Note aux agents »)"
    assert format_date(None) == ""
