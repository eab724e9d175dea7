"""Scans and photos read by OCR: real Tesseract on images drawn by the tests, the real
e5 model and FAISS index, answers with the right figure, the right page and the OCR mark."""

from __future__ import annotations

import doctest
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import rag.ocr
from rag.ingest import IngestError, Skipped, load_file, load_folder
from rag.ocr import OcrOptions, OcrPage, recognise
from tests.conftest import make_pipeline
from tests.docs import (
    FILLER,
    NOTICE,
    SCAN_PAGE1,
    SCAN_PAGE2,
    TIFF_PAGES,
    make_image_pdf,
    make_mixed_pdf,
    page_image,
    phone_photo,
)

pytestmark = pytest.mark.slow


def _scan_folder(folder: Path, tmp: Path) -> Path:
    """The four kinds of scanned documents a section receives."""
    folder.mkdir(parents=True, exist_ok=True)
    make_image_pdf(folder / "compte-rendu-scanne.pdf",
                   [page_image(SCAN_PAGE1, angle=0.8), page_image(SCAN_PAGE2, angle=-0.6)], tmp)
    phone_photo(NOTICE).save(folder / "photo-avis.jpg", quality=70)
    make_mixed_pdf(folder / "bulletin-mixte.pdf",
                   "Bulletin d'information de la section\n\n" + FILLER * 3,
                   page_image(["Effectifs", "", "La direction supprime 35 postes de conseillers",
                               "dans les agences du département."], angle=0.5), tmp)
    frames = [page_image(p, angle=0.3) for p in TIFF_PAGES]
    frames[0].save(folder / "bulletin.tif", save_all=True, append_images=frames[1:])
    return folder


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The scans indexed once with the real e5 model."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    tmp = tmp_path_factory.mktemp("scans")
    folder = _scan_folder(tmp / "docs", tmp)
    pipe = build_pipeline(load_settings(index_dir=tmp / "index", env={}))
    report = pipe.build(folder)
    assert not report.skipped and not report.warnings
    return pipe, folder


@pytest.mark.parametrize(("question", "figure", "source", "page"), [
    ("Quel est le montant de la prime exceptionnelle annoncée ?", "640 euros",
     "compte-rendu-scanne.pdf", 2),
    ("Quelle indemnité de repas sera versée pendant la fermeture de la cantine ?", "9 euros",
     "photo-avis.jpg", 1),
    ("Combien de postes de conseillers la direction supprime-t-elle ?", "35 postes",
     "bulletin-mixte.pdf", 2),
    ("Combien d'heures de formation par conseiller le plan de formation prévoit-il ?", "48 heures",
     "bulletin.tif", 2),
])
def test_a_scanned_page_answers_with_its_figure_page_and_ocr_mark(
        scans: tuple[Any, Path], question: str, figure: str, source: str, page: int) -> None:
    pipe, _ = scans
    ans = pipe.ask(question)
    # the figure asserted, or nothing asserted and the recognised page shown first
    assert ans.outcome in ("answer", "unsure"), ans.reason
    if ans.outcome == "answer":
        assert ans.answer.startswith(figure), ans.answer
    first = ans.citations[0]
    assert (first.source, first.page, first.ocr) == (source, page, True)
    assert figure in first.quote
    # the quote is the recognised page text, word for word
    assert first.quote in pipe.index.page_text(source, page)
    assert first.public()["ocr"] is True


def test_a_mixed_pdf_keeps_its_text_page_and_recognises_its_image_page(
        scans: tuple[Any, Path]) -> None:
    pipe, _ = scans
    meta = pipe.index.documents["bulletin-mixte.pdf"]
    assert meta["pages"] == 2 and meta["ocr_pages"] == [2]
    assert "Bulletin d'information de la section" in pipe.index.page_text("bulletin-mixte.pdf", 1)
    page1 = [n for n in pipe.index.nodes
             if n.metadata["source"] == "bulletin-mixte.pdf" and n.metadata["page"] == 1]
    assert page1 and not any(n.metadata.get("ocr") for n in page1)
    assert pipe.index.documents["bulletin.tif"]["ocr_pages"] == [1, 2]


def test_the_cli_shows_which_quote_was_recognised(scans: tuple[Any, Path]) -> None:
    from rag.cli import cli

    pipe, _ = scans
    q = "Quel est le montant de la prime exceptionnelle annoncée ?"
    args = ["ask", "--index", str(pipe.settings.index_dir), q]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "640 euros" in text.output and "compte-rendu-scanne.pdf, page 2 · texte reconnu (OCR)" \
        in text.output
    out = CliRunner().invoke(cli, [*args[:3], "--json", q])
    cites = json.loads(out.output)["citations"]
    assert cites[0]["ocr"] is True and cites[0]["page"] == 2
    status = CliRunner().invoke(cli, ["status", "--index", str(pipe.settings.index_dir)])
    assert "bulletin-mixte.pdf" in status.output and "dont 1 reconnue(s) par OCR" in status.output


def test_an_unchanged_scan_is_never_recognised_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    make_image_pdf(folder / "scan.pdf", [page_image(SCAN_PAGE2)], tmp_path)
    first = make_pipeline(tmp_path / "index")
    report = first.build(folder)
    assert report.ocr_pages == 1
    text = first.index.page_text("scan.pdf", 1)
    assert "640 euros" in text

    def fail(*_: Any) -> OcrPage:
        raise AssertionError("the page was recognised again")

    monkeypatch.setattr(rag.ocr, "recognise", fail)
    again = make_pipeline(tmp_path / "index")
    again.build(folder, rebuild=True)  # a full rebuild still takes the cached recognition
    assert again.index.page_text("scan.pdf", 1) == text


def test_a_page_that_cannot_be_recognised_is_reported_and_the_others_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_image_pdf(tmp_path / "scan.pdf", [page_image(SCAN_PAGE1), page_image(SCAN_PAGE2)], tmp_path)
    real = rag.ocr.recognise

    def first_page_fails(image: Any, options: OcrOptions) -> OcrPage:
        page = real(image, options)
        return OcrPage("", error="reconnaissance impossible (test)") if "Compte" in page.text else page

    monkeypatch.setattr(rag.ocr, "recognise", first_page_fails)
    lf = load_file(tmp_path / "scan.pdf", tmp_path, ocr=OcrOptions(cache_dir=tmp_path / "cache"))
    assert [d.metadata["page"] for d in lf.pages] == [2]
    assert "640 euros" in lf.pages[0].text
    assert lf.incomplete and any("page 1 non lue" in w for w in lf.warnings)
    # the lost page is not cached: the next reading tries it again
    monkeypatch.setattr(rag.ocr, "recognise", real)
    again = load_file(tmp_path / "scan.pdf", tmp_path, ocr=OcrOptions(cache_dir=tmp_path / "cache"))
    assert [d.metadata["page"] for d in again.pages] == [1, 2] and not again.incomplete


def test_without_tesseract_the_file_is_named_with_what_to_install_and_the_rest_indexed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.cli import cli

    folder = tmp_path / "docs"
    folder.mkdir()
    page_image(NOTICE).save(folder / "avis.png")
    make_image_pdf(folder / "scan.pdf", [page_image(SCAN_PAGE2)], tmp_path)
    make_mixed_pdf(folder / "mixte.pdf", "Bulletin de la section\n\n" + FILLER * 2,
                   page_image(SCAN_PAGE2), tmp_path)
    (folder / "note.txt").write_text("Note de la section sur les horaires d'ouverture.\n",
                                     encoding="utf-8")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = CliRunner().invoke(cli, ["--embedder", "hash", "index", str(folder)])
    assert out.exit_code == 0, out.output
    assert "Ignoré : avis.png — image : Tesseract n'est pas installé" in out.output
    assert "Ignoré : scan.pdf — PDF scanné (image) : Tesseract n'est pas installé" in out.output
    assert "tesseract-ocr-fra" in out.output
    assert "Indexé en partie : mixte.pdf : 1 page(s) scannée(s) non lue(s) (page 2)" in out.output
    assert "2 document(s)" in out.output  # note.txt and the text page of mixte.pdf


def test_an_image_too_large_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    """A 60,000 × 60,000 PNG header (3.6 gigapixels) in a file of a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    (tmp_path / "bombe.png").write_bytes(bomb)
    with pytest.raises(IngestError, match="trop grande.*refusée par prudence"):
        load_file(tmp_path / "bombe.png", tmp_path)
    # a limit set lower applies to ordinary photos too, with the setting to raise it
    page_image(NOTICE, size=(1500, 1000)).save(tmp_path / "avis.png")
    with pytest.raises(IngestError, match="1500 × 1000 pixels.*RAG_OCR_MAX_MEGAPIXELS"):
        load_file(tmp_path / "avis.png", tmp_path, ocr=OcrOptions(max_megapixels=1.0))
    items = list(load_folder(tmp_path))
    assert any(isinstance(i, Skipped) and i.path == "bombe.png" for i in items)


def test_a_page_scanned_upside_down_is_turned_upright() -> None:
    page = recognise(page_image(SCAN_PAGE2).rotate(180), OcrOptions())
    assert page.rotated == 180
    assert "prime exceptionnelle de 640 euros" in page.text


def test_digits_read_unsurely_are_never_asserted(tmp_path: Path) -> None:
    """With the confidence floor at its maximum every recognised digit is doubtful: the
    passage is still shown, no figure is asserted."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    folder = tmp_path / "docs"
    folder.mkdir()
    make_image_pdf(folder / "scan.pdf", [page_image(SCAN_PAGE2)], tmp_path)
    pipe = build_pipeline(load_settings(index_dir=tmp_path / "index", env={},
                                        ocr_min_confidence=100))
    pipe.build(folder)
    assert pipe.index.doubtful[("scan.pdf", 1)]
    ans = pipe.ask("Quel est le montant de la prime exceptionnelle annoncée ?")
    assert ans.outcome != "answer" and "640" not in ans.answer
    assert any("640 euros" in c.quote for c in ans.citations)


def test_the_layout_example_holds() -> None:
    assert doctest.testmod(rag.ocr).failed == 0


@pytest.mark.parametrize("floor", [None, 100])
def test_a_generated_figure_read_unsurely_is_not_shown_as_fact(tmp_path: Path, floor: int | None) -> None:
    """A model quoting a figure of a scan is believed only when OCR read its digits surely;
    else the extractive outcome is shown, with a warning that says why."""
    from rag.config import load_settings
    from rag.pipeline import build_pipeline
    from tests.test_generate import ScriptedLLM

    folder = tmp_path / "docs"
    folder.mkdir()
    make_image_pdf(folder / "scan.pdf", [page_image(SCAN_PAGE2)], tmp_path)
    extra = {} if floor is None else {"ocr_min_confidence": floor}
    llm = ScriptedLLM("La prime exceptionnelle est de 640 euros [1].")
    pipe = build_pipeline(load_settings(index_dir=tmp_path / "index", env={}, answerer="llamacpp",
                                        **extra), llm=llm)
    pipe.build(folder)
    ans = pipe.ask("Quel est le montant de la prime exceptionnelle annoncée ?")
    assert llm.prompts, "the model was asked"
    if floor is None:
        assert not pipe.index.doubtful.get(("scan.pdf", 1))
        assert ans.answer == llm.draft and not ans.abstained
    else:
        assert "640" not in ans.answer and ans.outcome != "answer"
        assert any("« 640 euros »" in w and "incertitude" in w for w in ans.warnings)
