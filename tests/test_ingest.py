"""Each format is read with its text, title and pages; bad files are reported and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import IngestError, decode_text, extract_title, load_file, load_folder
from tests.docs import FACT_PAGE2, FILLER, make_blank_scan, make_docx, make_pdf


def test_utf8_and_cp1252_text_read_alike(tmp_path: Path) -> None:
    text = "Réunion du CSE : les élus dénoncent l'état des équipes, 2 900 ETP.\n"
    (tmp_path / "u.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "w.txt").write_bytes(text.encode("cp1252"))
    u = load_file(tmp_path / "u.txt", tmp_path)
    w = load_file(tmp_path / "w.txt", tmp_path)
    assert u.pages[0].text == w.pages[0].text == text


def test_cp1252_specific_characters(tmp_path: Path) -> None:
    # The euro sign and curly apostrophe live at 0x80 and 0x92 in cp1252.
    assert decode_text("Coût : 2 M€ – l’agence".encode("cp1252")) == "Coût : 2 M€ – l’agence"


def test_markdown_title_from_content_not_file_name(tmp_path: Path) -> None:
    f = tmp_path / "000_ae2686.md"
    f.write_text("\n\nPROCHE,\nACTIF,\n\n## Point d'étape sur la Loi Plein Emploi en Occitanie\n\n"
                 "Texte du compte rendu.\n", encoding="utf-8")
    lf = load_file(f, tmp_path)
    assert lf.title == "Point d'étape sur la Loi Plein Emploi en Occitanie"
    assert lf.pages[0].metadata["page"] is None


def test_title_skips_lists_of_elected_members() -> None:
    text = "Vos élus CSEC\n\nMaryvonne HO SACK WA\n\nho-sack-wa@francetravail.fr\n\n" \
           "Présentation du programme Data et IA au comité\n\nLe texte."
    assert extract_title(text, "x") == "Présentation du programme Data et IA au comité"


def test_pdf_pages_are_numbered(tmp_path: Path) -> None:
    make_pdf(tmp_path / "cr.pdf", ["Compte rendu du comité régional\n" + FILLER, FILLER + FACT_PAGE2])
    lf = load_file(tmp_path / "cr.pdf", tmp_path)
    assert [d.metadata["page"] for d in lf.pages] == [1, 2]
    assert "1 234 euros" in lf.pages[1].text
    assert lf.title.startswith("Compte rendu du comité régional")


def test_docx_and_html(tmp_path: Path) -> None:
    make_docx(tmp_path / "d.docx", ["Déclaration des élus au comité central", "Le budget est de 3 M€."])
    (tmp_path / "p.html").write_text(
        "<html><head><title>t</title><script>alert(1)</script></head><body>"
        "<h1>Tract sur la réorganisation des agences</h1><p>Fermeture de 12 sites.</p></body></html>",
        encoding="utf-8")
    d = load_file(tmp_path / "d.docx", tmp_path)
    h = load_file(tmp_path / "p.html", tmp_path)
    assert "3 M€" in d.pages[0].text and d.title == "Déclaration des élus au comité central"
    assert "12 sites" in h.pages[0].text and "alert" not in h.pages[0].text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("vide.txt", b"", "fichier vide"),
        ("binaire.txt", bytes(range(256)) * 20, "binaire"),
        ("casse.pdf", b"%PDF-1.4\n garbage \x00\x01 not a pdf", "PDF illisible"),
        ("inconnu.xyz", b"hello", "format non pris en charge"),
    ],
)
def test_bad_files_are_reported_with_a_reason(tmp_path: Path, name: str, content: bytes,
                                              reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    (tmp_path / "bon.txt").write_text("Un document lisible sur les ETP du réseau.", encoding="utf-8")
    results = list(load_folder(tmp_path))
    skipped = {r.path: r.reason for r in results if hasattr(r, "reason")}
    loaded = [r.source for r in results if hasattr(r, "pages")]
    assert loaded == ["bon.txt"]
    assert reason in skipped[name]


def test_blank_scan_and_encrypted_pdfs_get_clear_reasons(tmp_path: Path) -> None:
    make_blank_scan(tmp_path / "scan.pdf", tmp_path)
    make_pdf(tmp_path / "secret.pdf", ["Document confidentiel"], encrypt="motdepasse")
    with pytest.raises(IngestError, match="aucun texte reconnu par l'OCR"):
        load_file(tmp_path / "scan.pdf", tmp_path)
    with pytest.raises(IngestError, match="mot de passe"):
        load_file(tmp_path / "secret.pdf", tmp_path)


def test_truncated_pdf_is_reported(tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "full.pdf", [FILLER * 3, FACT_PAGE2])
    (tmp_path / "tronque.pdf").write_bytes(good.read_bytes()[: 300])
    with pytest.raises(IngestError):
        load_file(tmp_path / "tronque.pdf", tmp_path)
