"""Builders for real test documents (PDF, DOCX, HTML, cp1252 text) with known facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def make_blank_scan(path: Path, tmp: Path) -> Path:
    """A PDF whose only page is a blank image: no text layer and nothing to recognise."""
    from fpdf import FPDF
    from PIL import Image

    png = tmp / "blank-scan.png"
    Image.new("RGB", (400, 200), "white").save(png)
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


# --- scans and photos (OCR) ---------------------------------------------------------
# Text written for these tests; DejaVu Sans has the French accents (fonts-dejavu-core).
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SCAN_PAGE1 = [
    "Compte rendu de la section syndicale",
    "Réunion des délégués du 12 mars 2026",
    "",
    "Les délégués ont examiné le calendrier des entretiens",
    "annuels et la charge de travail des équipes d'accueil.",
    "Ils demandent un bilan écrit avant la fin du trimestre.",
]
SCAN_PAGE2 = [
    "Rémunération",
    "",
    "La direction annonce une prime exceptionnelle de 640 euros",
    "pour chaque agent, versée avec le salaire du mois de juin.",
    "Les délégués jugent ce montant insuffisant face à l'inflation.",
]
NOTICE = [
    "AVIS AU PERSONNEL",
    "",
    "La cantine du site fermera pour travaux",
    "du 3 août au 21 août 2026.",
    "Une indemnité de repas de 9 euros par jour",
    "sera versée aux agents pendant la fermeture.",
]
TIFF_PAGES = [
    ["Bulletin de la section", "", "Le télétravail est ouvert à tous les agents",
     "volontaires à raison de deux jours par semaine."],
    ["Formation", "", "Le plan de formation prévoit 48 heures de formation",
     "par conseiller et par an, selon la direction régionale."],
]


def page_image(lines: list[str], angle: float = 0.0, size: tuple[int, int] = (1654, 2339),
               font_px: int = 30, margin: int = 150) -> Any:
    """A white page (A4 at 200 dpi by default) with ``lines`` drawn in black, turned by
    ``angle`` degrees as a sheet laid slightly askew on a scanner."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, font_px)
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    y = margin
    for line in lines:
        if line:
            draw.text((margin, y), line, font=font, fill=0)
        y += int(font_px * 1.7)
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return img


def make_image_pdf(path: Path, pages: list[Any], tmp: Path) -> Path:
    """A PDF made only of page images (no text layer), one A4 page per image."""
    from fpdf import FPDF

    pdf = FPDF()
    for i, img in enumerate(pages):
        png = tmp / f"{path.stem}-p{i + 1}.png"
        img.save(png)
        pdf.add_page()
        pdf.image(str(png), x=0, y=0, w=210, h=297)
    pdf.output(str(path))
    return path


def make_mixed_pdf(path: Path, text_page: str, image: Any, tmp: Path) -> Path:
    """A PDF whose page 1 has a text layer and page 2 is only an image."""
    from fpdf import FPDF

    png = tmp / f"{path.stem}-scan.png"
    image.save(png)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, text_page)
    pdf.add_page()
    pdf.image(str(png), x=0, y=0, w=210, h=297)
    pdf.output(str(path))
    return path


def phone_photo(lines: list[str]) -> Any:
    """A notice as a phone photographs it: a sheet on a grey wall, lit unevenly, a little
    askew and soft."""
    from PIL import Image, ImageDraw, ImageFilter

    sheet = page_image(lines, angle=0, size=(1500, 1150), font_px=44, margin=90)
    photo = Image.new("L", (1800, 1400), 110)
    photo.paste(sheet, (150, 120))
    shade = Image.new("L", photo.size, 0)
    ImageDraw.Draw(shade).rectangle((900, 0, 1800, 1400), fill=40)  # half in shadow
    photo = Image.composite(Image.new("L", photo.size, 0), photo, shade)
    photo = photo.rotate(1.5, resample=Image.Resampling.BICUBIC, fillcolor=110)
    return photo.filter(ImageFilter.GaussianBlur(1.2)).convert("RGB")
