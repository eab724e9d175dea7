"""Benchmark of the OCR step: seconds per page and what the recognised text keeps.

Pages are made from the text of the given corpus, drawn at the OCR resolution as a
scanner would give them (A4, 10-point type, a sheet laid 0.5° askew), so the figure
is for a dense page of real French prose, not a few large words. Each page is
recognised by ``rag.ocr.read_pages`` (the path ``rag index`` takes), once with one
Tesseract process and once with one per core, without the cache. What the text keeps
is measured against the drawn text: the share of its words, and of its figures (words
with a digit), found again in the recognised text.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.ingest import IngestError, load_file
from rag.ocr import OcrOptions, check_tesseract, read_pages

_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
          "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
_WORD = re.compile(r"\w+(?:['’.,-]\w+)*")  # "2,5", "1.200", "aujourd'hui"; no edge punctuation


def _font(px: int) -> Any:
    from PIL import ImageFont

    for path in _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, px)
    return ImageFont.load_default(size=px)


def corpus_words(corpus: Path) -> list[str]:
    """The words of the corpus's readable files, in order."""
    words: list[str] = []
    for path in sorted(p for p in corpus.iterdir() if p.is_file()):
        try:
            loaded = load_file(path, corpus)
        except IngestError:
            continue
        for doc in loaded.pages:
            words.extend(doc.text.split())
    return words


def draw_pages(words: list[str], pages: int, dpi: int = 300) -> list[tuple[Any, str]]:
    """``pages`` A4 page images at ``dpi`` holding ``words`` in 10-point type, with the
    text drawn on each."""
    from PIL import Image, ImageDraw

    width, height = round(8.27 * dpi), round(11.69 * dpi)
    px = round(10 / 72 * dpi)
    margin = round(0.8 * dpi)
    font = _font(px)
    out: list[tuple[Any, str]] = []
    pos = 0
    for _ in range(pages):
        img = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(img)
        drawn: list[str] = []
        y = margin
        while y + px < height - margin and words:
            line: list[str] = []
            while words and draw.textlength(" ".join([*line, words[pos % len(words)]]),
                                            font=font) < width - 2 * margin:
                line.append(words[pos % len(words)])
                pos += 1
            draw.text((margin, y), " ".join(line), font=font, fill=0)
            drawn.append(" ".join(line))
            y += round(px * 1.35)
        out.append((img.rotate(0.5, resample=Image.Resampling.BICUBIC, fillcolor=255),
                    "\n".join(drawn)))
    return out


def kept(truth: str, read: str, keep: Callable[[str], bool] = lambda w: True) -> float:
    """Share of ``truth``'s words (those ``keep`` selects) found in ``read`` (as a
    multiset, so a word read once counts once)."""
    want = Counter(w for w in _WORD.findall(truth.lower()) if keep(w))
    got = Counter(_WORD.findall(read.lower()))
    total = sum(want.values())
    return sum((want & got).values()) / total if total else 1.0


def bench_ocr(corpus: Path, pages: int, options: OcrOptions,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Seconds per page with one Tesseract process and with one per core, and the
    share of words and figures recognised, on ``pages`` pages drawn from ``corpus``."""
    check_tesseract(options.lang)
    drawn = draw_pages(corpus_words(corpus), pages, options.dpi)
    images = [img for img, _ in drawn]
    result: dict[str, Any] = {"pages": pages, "dpi": options.dpi,
                              "megapixels": images[0].width * images[0].height / 1e6}
    read: dict[int, Any] = {}
    for workers in (1, 0):
        opts = OcrOptions(cache_dir=None, dpi=options.dpi, lang=options.lang,
                          min_confidence=options.min_confidence, workers=workers)
        started = time.perf_counter()
        read = read_pages(range(pages), images.__getitem__, "", opts)
        seconds = time.perf_counter() - started
        key = "one_process" if workers == 1 else "all_cores"
        result[key] = {"workers": workers or None, "seconds": seconds,
                       "seconds_per_page": seconds / pages}
        log(f"  OCR, {'1 processus' if workers == 1 else 'tous les cœurs'} : "
            f"{seconds / pages:.2f} s par page")
    text = "\n".join(p.text for p in read.values())
    truth = "\n".join(t for _, t in drawn)
    result["words_kept"] = kept(truth, text)
    result["figures_kept"] = kept(truth, text, lambda w: any(c.isdigit() for c in w))
    result["doubtful_figures"] = sum(len(p.doubtful) for p in read.values())
    result["errors"] = sum(1 for p in read.values() if p.error)
    result["speedup"] = (result["one_process"]["seconds"] / result["all_cores"]["seconds"]
                         if result["all_cores"]["seconds"] else None)
    log(f"  OCR : {100 * result['words_kept']:.1f} % des mots et "
        f"{100 * result['figures_kept']:.1f} % des chiffres retrouvés")
    return result


def render_ocr(r: dict[str, Any]) -> str:
    """Lines for the benchmark table."""
    return "\n".join([
        f"OCR ({r['pages']} pages A4 à {r['dpi']} dpi, {r['megapixels']:.1f} Mpx) : "
        f"{r['one_process']['seconds_per_page']:.2f} s par page avec 1 processus Tesseract, "
        f"{r['all_cores']['seconds_per_page']:.2f} s par page sur tous les cœurs "
        f"(×{r['speedup']:.2f})",
        f"  mots retrouvés : {100 * r['words_kept']:.1f} % ; chiffres retrouvés : "
        f"{100 * r['figures_kept']:.1f} % ; chiffres douteux (non affirmés) : "
        f"{r['doubtful_figures']} ; pages en échec : {r['errors']}",
    ])
