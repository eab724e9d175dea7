"""Optical character recognition of scanned pages and photos, offline, in French.

Tesseract (Debian packages ``tesseract-ocr`` and ``tesseract-ocr-fra``) reads page
images, one program run per page (``_tesseract``); PDF pages are rendered by ``pypdfium2`` (a wheel, no
system library). Nothing is downloaded: the French model is the Debian package's.

What a page goes through (``recognise``): EXIF orientation applied, grey levels,
contrast stretched, small photos enlarged (Tesseract reads ~30 px capitals best),
orientation fixed by Tesseract's OSD (a page scanned upside down or sideways), then
layout analysis and recognition (``--psm 3``), which tolerates a slight skew. The
page text is rebuilt from the recognised words (``layout``): a line per line, a blank
line where the page leaves one, so chunking and French analysis see the same shapes as in a
text PDF. Quotes are substrings of that text.

What it leaves out: handwriting, tables as tables (their cells come out line by line),
and words Tesseract is unsure of are kept in the text but marked: ``OcrPage.doubtful``
holds the offsets of the words with a digit read below ``min_confidence``, and the
answerer never asserts a figure or date that overlaps one (a "3" read from a smudge is
worse than no answer).

Results are cached per file hash and options (``cache_dir/<hash>-<key>.json``): an
unchanged scan is never recognised twice. Pages of one file are recognised in
parallel, one Tesseract process per core.

Worked example of ``layout`` (words as Tesseract returns them)::

    >>> words = {"text": ["Prime", "de", "640", "€", "versée", "Votée"],
    ...          "conf": [96, 95, 41, 90, 92, 93], "block_num": [1, 1, 1, 1, 1, 1],
    ...          "par_num": [1, 1, 1, 1, 2, 3], "line_num": [1, 1, 1, 1, 1, 1],
    ...          "top": [100, 100, 100, 100, 150, 260], "height": [30, 30, 30, 30, 30, 30]}
    >>> page = layout(words, min_confidence=80)
    >>> page.text
    'Prime de 640 €\\nversée\\n\\nVotée'
    >>> [page.text[a:b] for a, b in page.doubtful]
    ['640']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Bumped when the text produced for the same image changes (cached pages are then redone).
OCR_ID = "tesseract-psm3-layout-v2"
INSTALL_HINT = ("installez Tesseract et son modèle français "
                "(sudo apt-get install tesseract-ocr tesseract-ocr-fra, ou scripts/setup)")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}

ProgressFn = Callable[[int, int], None]
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class OcrUnavailable(Exception):
    """Tesseract or its French model is missing; the message says what to install."""


class OcrRefused(Exception):
    """An image refused before decoding (too many pixels); the message is for the user."""


@dataclass
class OcrPage:
    """The recognised text of one page image."""

    text: str
    doubtful: list[tuple[int, int]] = field(default_factory=list)  # digit words read unsurely
    confidence: float = 0.0  # mean word confidence, 0-100
    rotated: int = 0  # degrees the page was turned to be upright
    error: str = ""  # why the page could not be read ("" when it was)


@dataclass
class OcrOptions:
    """How pages are recognised; ``key()`` names what changes the result (for the cache)."""

    cache_dir: Path | None = None
    dpi: int = 300
    lang: str = "fra"
    max_pages: int = 200
    max_megapixels: float = 80.0
    min_confidence: float = 80.0
    workers: int = 0  # 0: one per core
    progress: ProgressFn | None = None

    def key(self) -> str:
        spec = f"{OCR_ID}|{self.lang}|{self.dpi}|{self.min_confidence}|{self.max_megapixels}"
        return hashlib.sha256(spec.encode()).hexdigest()[:12]


# --- Tesseract ----------------------------------------------------------------------

_LANGS: dict[str, set[str]] = {}
PAGE_TIMEOUT_S = 300  # one page; a pathological image must not hang the indexing


def _exe() -> str | None:
    return shutil.which(os.environ.get("RAG_TESSERACT", "tesseract"))


def check_tesseract(lang: str = "fra") -> None:
    """Raise OcrUnavailable (French message) unless Tesseract and ``lang`` are installed."""
    exe = _exe()
    if exe is None:
        raise OcrUnavailable(f"Tesseract n'est pas installé : {INSTALL_HINT}")
    if exe not in _LANGS:
        try:
            proc = subprocess.run([exe, "--list-langs"], capture_output=True, text=True,
                                  timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:  # a broken install
            raise OcrUnavailable(f"Tesseract ne répond pas ({type(exc).__name__}) : {INSTALL_HINT}") from exc
        _LANGS[exe] = {ln.strip() for ln in proc.stdout.splitlines()[1:] if ln.strip()}
    missing = [x for x in lang.split("+") if x not in _LANGS[exe]]
    if missing:
        raise OcrUnavailable(
            f"le modèle de langue « {'+'.join(missing)} » de Tesseract manque : {INSTALL_HINT}")


class _TesseractError(Exception):
    pass


def _tesseract(image: Any, args: list[str]) -> str:
    """Run the Tesseract program on ``image`` and return what it prints.

    One process per page, each limited to one thread (OMP_THREAD_LIMIT=1 in its own
    environment): pages run in parallel instead, and Tesseract's own threads, which
    spin while they wait, were measured 5x slower on a busy 2-core machine. The limit
    is not set in this process's environment: changed after torch started, it makes
    e5's sentence vectors NaN.
    """
    exe = _exe()
    if exe is None:
        raise _TesseractError(f"Tesseract n'est pas installé : {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as tmp:
        path = Path(tmp) / "page.pgm"  # uncompressed: written fast, read by Leptonica
        image.save(path, format="PPM")
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        try:
            proc = subprocess.run([exe, str(path), "stdout", *args], capture_output=True,
                                  env=env, timeout=PAGE_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise _TesseractError(f"délai de {PAGE_TIMEOUT_S} s dépassé") from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _TesseractError(lines[-1][:120] if lines else f"code {proc.returncode}")
    return proc.stdout.decode("utf-8", "replace")


def _words(tsv: str) -> dict[str, list[Any]]:
    """Tesseract's TSV word table as columns (``text``, ``conf``, ``top``…)."""
    rows = [ln.split("\t") for ln in tsv.splitlines() if ln]
    if not rows:
        return {}
    head, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    return {name: [r[j] for r in body] for j, name in enumerate(head)}


def _prepare(image: Any) -> Any:
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    image = ImageOps.autocontrast(image.convert("L"))
    if max(image.size) < 1600:  # a phone thumbnail or a low-resolution scan
        image = image.resize((image.width * 2, image.height * 2))
    return image


def _upright(image: Any) -> tuple[Any, int]:
    """The image turned upright by Tesseract's orientation detection, and the angle."""
    try:
        osd = _tesseract(image, ["--psm", "0"])
    except _TesseractError:  # too little text to tell: leave it as it is
        return image, 0
    found = dict(re.findall(r"^([A-Za-z ]+):\s*(\S+)", osd, re.M))
    try:
        angle, conf = int(found.get("Rotate", 0)) % 360, float(found.get("Orientation confidence", 0))
    except ValueError:
        return image, 0
    if angle and conf >= 1.5:
        return image.rotate(-angle, expand=True, fillcolor=255), angle
    return image, 0


def recognise(image: Any, options: OcrOptions) -> OcrPage:
    """Recognise one page image (a PIL image); never raises: failures are in ``error``."""
    try:
        img = _prepare(image)
        img, angle = _upright(img)
        words = _words(_tesseract(img, ["-l", options.lang, "--psm", "3", "tsv"]))
    except Exception as exc:  # a page Tesseract cannot read must not lose the others
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        return OcrPage("", error=f"reconnaissance impossible ({detail})")
    page = layout(words, options.min_confidence) if words else OcrPage("")
    page.rotated = angle
    return page


def layout(words: dict[str, list[Any]], min_confidence: float) -> OcrPage:
    """Page text from Tesseract's word table: words of a line joined by spaces, lines by
    newlines, a blank line where the gap between two lines is taller than a line or the
    text goes back up the page (a new column). Tesseract's own blocks and paragraphs are
    not used for that: it makes one of each line of a widely spaced page, which would
    cut its sentences. Digit words read below
    ``min_confidence`` marked doubtful."""
    lines: list[tuple[int, int, list[tuple[str, float]]]] = []  # top, bottom, words
    key: tuple[int, int, int] | None = None
    for i, raw in enumerate(words["text"]):
        word = " ".join(_CONTROLS.sub("", str(raw)).split())
        conf = float(words["conf"][i])
        if not word or conf < 0:
            continue
        where = (int(words["block_num"][i]), int(words["par_num"][i]), int(words["line_num"][i]))
        top = int(words["top"][i])
        bottom = top + int(words["height"][i])
        if where != key:
            lines.append((top, bottom, []))
            key = where
        ltop, lbottom, items = lines[-1]
        items.append((word, conf))
        lines[-1] = (min(ltop, top), max(lbottom, bottom), items)
    parts: list[str] = []
    doubtful: list[tuple[int, int]] = []
    confs: list[float] = []
    pos = 0
    for k, (top, bottom, items) in enumerate(lines):
        if k:
            p_top, p_bottom, _ = lines[k - 1]
            height = max(bottom - top, p_bottom - p_top, 1)
            # a line taller gap, or a jump back up the page (the next column), is a break
            sep = "\n\n" if top - p_bottom > height or top < p_top - height else "\n"
            parts.append(sep)
            pos += len(sep)
        for j, (word, conf) in enumerate(items):
            if j:
                parts.append(" ")
                pos += 1
            if conf < min_confidence and any(ch.isdigit() for ch in word):
                doubtful.append((pos, pos + len(word)))
            parts.append(word)
            pos += len(word)
            confs.append(conf)
    mean = sum(confs) / len(confs) if confs else 0.0
    return OcrPage("".join(parts), doubtful, round(mean, 1))


# --- page images ----------------------------------------------------------------------

def _check_pixels(width: int, height: int, options: OcrOptions, what: str) -> None:
    mp = width * height / 1e6
    if mp > options.max_megapixels:
        raise OcrRefused(
            f"{what} trop grande ({width} × {height} pixels, {mp:.0f} mégapixels, limite "
            f"{options.max_megapixels:g}) : refusée par prudence (image piégée ?) ; "
            "réduisez-la ou relevez la limite (RAG_OCR_MAX_MEGAPIXELS)")


def image_frames(path: Path, options: OcrOptions) -> tuple[int, Callable[[int], Any]]:
    """Number of frames of an image file (several for a multi-page TIFF) and a function
    that decodes frame i (0-based). Sizes are checked from the header, before decoding."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            n = int(getattr(im, "n_frames", 1))
            _check_pixels(im.width, im.height, options, "image")
    except Image.DecompressionBombError as exc:
        raise OcrRefused("image trop grande : refusée par prudence (image piégée ?)") from exc
    except UnidentifiedImageError as exc:
        raise OcrRefused("image illisible ou corrompue") from exc

    def frame(i: int) -> Any:
        with Image.open(path) as im:
            im.seek(i)
            _check_pixels(im.width, im.height, options, f"page {i + 1} de l'image")
            im.load()
            return im.copy()

    return n, frame


class PdfPages:
    """Renders pages of one PDF to greyscale images at ``options.dpi``, fewer dots for a
    page so large it would exceed ``max_megapixels``. pdfium is not thread-safe: render
    from one thread."""

    def __init__(self, path: Path, options: OcrOptions) -> None:
        import pypdfium2 as pdfium

        self._pdf = pdfium.PdfDocument(str(path))
        self._options = options

    def render(self, i: int) -> Any:
        page = self._pdf[i]
        w, h = page.get_size()  # points (1/72 inch)
        scale = self._options.dpi / 72
        limit = self._options.max_megapixels * 1e6
        if w * h * scale * scale > limit:
            scale = (limit / (w * h)) ** 0.5
        return page.render(scale=scale, grayscale=True).to_pil()

    def close(self) -> None:
        self._pdf.close()


# --- cache and parallel recognition ----------------------------------------------------

class _Cache:
    """Recognised pages of one file, by page number, on disk as JSON."""

    def __init__(self, options: OcrOptions, doc_hash: str) -> None:
        self.path = (options.cache_dir / f"{doc_hash}-{options.key()}.json"
                     if options.cache_dir and doc_hash else None)
        self.pages: dict[int, OcrPage] = {}
        if self.path is not None and self.path.is_file():
            try:
                rows = json.loads(self.path.read_text(encoding="utf-8"))["pages"]
                self.pages = {int(k): OcrPage(v["text"], [tuple(s) for s in v["doubtful"]],
                                              v["confidence"], v["rotated"])
                              for k, v in rows.items()}
            except (OSError, ValueError, KeyError, TypeError):
                self.pages = {}  # a damaged cache entry is redone, not trusted

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = {str(k): asdict(v) for k, v in self.pages.items() if not v.error}
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"ocr": OCR_ID, "pages": rows}, ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def read_pages(numbers: Iterable[int], render: Callable[[int], Any], doc_hash: str,
               options: OcrOptions) -> dict[int, OcrPage]:
    """Recognise the pages ``numbers`` (0-based) of one file, rendering each with
    ``render``; cached pages are not rendered again. Renders in this thread, recognises
    in a pool of ``options.workers`` threads (each drives one Tesseract process)."""
    wanted = list(numbers)
    cache = _Cache(options, doc_hash)
    out = {i: cache.pages[i] for i in wanted if i in cache.pages}
    todo = [i for i in wanted if i not in out]
    done, total = len(out), len(wanted)
    if options.progress and total:
        options.progress(done, total)
    if not todo:
        return out
    workers = options.workers or os.cpu_count() or 1
    pending: dict[int, Future[OcrPage]] = {}

    def drain(wait: bool) -> None:
        nonlocal done
        finished = [i for i, f in pending.items() if f.done()]
        if wait and not finished:
            finished = [next(iter(pending))]
        for i in finished:
            out[i] = pending.pop(i).result()
            done += 1
            if options.progress:
                options.progress(done, total)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in todo:
            try:
                image = render(i)
            except Exception as exc:  # one page that cannot be rendered loses only itself
                out[i] = OcrPage("", error=f"page impossible à rendre ({type(exc).__name__})")
                done += 1
            else:
                pending[i] = pool.submit(recognise, image, options)
            drain(wait=len(pending) >= 2 * workers)  # bound the images held in memory
        while pending:
            drain(wait=True)
    cache.pages.update(out)
    if any(not p.error for i, p in out.items() if i in todo):
        cache.save()
    return {i: out[i] for i in wanted}


def prune_cache(cache_dir: Path, keep_hashes: set[str]) -> None:
    """Remove cached results of files that are no longer indexed."""
    if not cache_dir.is_dir():
        return
    for p in cache_dir.iterdir():
        if p.name.split("-", 1)[0] not in keep_hashes:
            p.unlink(missing_ok=True)
