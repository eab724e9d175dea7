"""Builders for real test documents (PDF, DOCX, HTML, cp1252 text) with known facts."""

from __future__ import annotations

from pathlib import Path

FACT_PAGE2 = "La prime de fin d'année des agents de la région Bourgogne est fixée à 1 234 euros."
FILLER = (
    "Le comité a examiné l'ordre du jour. Les élus ont posé des questions sur les conditions "
    "de travail, la charge des conseillers et le calendrier des réunions à venir. "
)


def make_pdf(path: Path, pages: list[str], encrypt: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    for text in pages:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    pdf.output(str(path))
    return path


def make_scanned_pdf(path: Path, tmp: Path) -> Path:
    """A PDF whose only page is an image: no text layer, as a scan."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(img).text((20, 80), "Texte scanne 2 900 ETP", fill="black")
    png = tmp / "scan.png"
    img.save(png)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(png), x=10, y=10, w=150)
    pdf.output(str(path))
    return path


def make_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def write_small_corpus(folder: Path) -> Path:
    """A CGT tract with a cost and a date, and a CSE report with a phone number."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tract.md").write_text(
        "# Tract CGT sur la campagne France Travail PRO\n\n"
        "La campagne publicitaire France Travail PRO a coûté 2 millions d'euros. "
        "Elle a été diffusée à partir du 28 octobre 2024.\n", encoding="utf-8")
    (folder / "cr.txt").write_text(
        "Compte rendu du CSE Occitanie\n\nLes élus demandent des effectifs supplémentaires "
        "pour l'accueil téléphonique du 3949.\n", encoding="utf-8")
    return folder
