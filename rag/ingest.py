"""Files -> llama-index ``Document`` objects, one per page, with metadata read from content.

Formats: .txt/.md (UTF-8, or cp1252/latin-1 as French files often are; a form
feed ``\\f`` starts a new page), .pdf (one document per page, via pypdf),
.docx (python-docx, paragraphs and tables), .html/.htm (BeautifulSoup, scripts
and styles dropped), images .png/.jpg/.jpeg/.tif/.tiff/.webp (read by OCR, rag.ocr;
a multi-page TIFF is one document per page). A PDF page without a text layer (or
with fewer than ``MIN_LAYER_CHARS`` visible characters) is read by OCR, page by page,
so a mixed PDF keeps its text pages as they are.

Why not llama-index's ``SimpleDirectoryReader``: it cannot tell a cp1252 file
from a broken one, stops or skips silently on unreadable files, and names no
reason. Here every unreadable file becomes a ``Skipped`` entry with a French
reason the user can act on, and the rest goes on. A file offered through the web UI
passes ``check_upload`` (format, size, content signature) before it is saved, so
the UI refuses by the same rules as the index.

The text stored (and quoted later) is the extracted text with light clean-up
only: superscript tags unwrapped ("1<sup>er</sup>" -> "1er") and markdown
emphasis markers dropped; recognised pages keep Tesseract's words as they are.
Quotes are verbatim substrings of that text.

Metadata per document: ``source`` (path relative to the indexed folder),
``title`` (read from the content, never the file name), ``page`` (1-based for
paged formats, else None), ``doc_hash`` (SHA-256 of the file bytes) and, when
found in the text, ``union``, ``instance`` and ``doc_date``; ``ocr`` is True on a page
whose text was recognised from an image.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from rag.dates import document_date
from rag.ocr import (
    IMAGE_SUFFIXES,
    OcrOptions,
    OcrPage,
    OcrRefused,
    OcrUnavailable,
    PdfPages,
    check_tesseract,
    image_frames,
    read_pages,
)
from rag.text import fold, unwrap_superscripts

SUPPORTED = {".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"} | IMAGE_SUFFIXES
# A PDF page with fewer visible characters than this has no real text layer (a scan
# with a page number or a stamp): it is read by OCR.
MIN_LAYER_CHARS = 40
# How binary formats begin: a file named .pdf that does not start so is not a PDF.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF",), ".docx": (b"PK\x03\x04",), ".png": (b"\x89PNG",),
    ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"), ".webp": (b"RIFF",),
}


class IngestError(Exception):
    """A file that cannot be read; the message is the reason shown to the user (French)."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class LoadedFile:
    """One readable file: its pages as Documents sharing the file's metadata."""

    source: str
    doc_hash: str
    title: str
    pages: list[Document]
    paged: bool
    metadata: dict[str, object] = field(default_factory=dict)
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages read by OCR
    # offsets of digit words read unsurely, per 1-based page (rag.ocr)
    doubtful: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # pages lost, shown to the user
    incomplete: bool = False  # some pages could not be read: read the file again next time


@dataclass
class _Reading:
    """What a reader needs besides the path, and what it reports besides the pages."""

    ocr: OcrOptions
    doc_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    incomplete: bool = False
    ocr_tried: int = 0
    meta_date: str | None = None  # the file's own date (a PDF's creation date), ISO

    def recognise(self, count: int, render: Callable[[int], Any],
                  numbers: list[int] | None = None) -> dict[int, OcrPage]:
        """OCR of pages ``numbers`` (0-based; all ``count`` by default), at most
        ``max_pages`` of them; lost pages become warnings."""
        numbers = list(range(count)) if numbers is None else numbers
        limit = self.ocr.max_pages
        if len(numbers) > limit:
            self.warnings.append(
                f"{len(numbers)} pages à reconnaître par OCR : seules les {limit} premières "
                "sont lues (limite RAG_OCR_MAX_PAGES)")
            numbers = numbers[:limit]
        read = read_pages(numbers, render, self.doc_hash, self.ocr)
        self.ocr_tried += len(read)
        for i, page in read.items():
            if page.error:
                self.warnings.append(f"page {i + 1} non lue : {page.error}")
                self.incomplete = True
        return read


# --- decoding ------------------------------------------------------------------

def decode_text(data: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM), else line by line as UTF-8, cp1252
    or latin-1 (French files are often cp1252, sometimes pasted from both).

    Binary content (NUL bytes, many control characters) raises IngestError.
    """
    if not data.strip():
        raise IngestError("fichier vide")
    head = data[:65536]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise IngestError("contenu binaire : ce n'est pas un fichier texte")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")  # odd length: keep what decodes
    else:
        text = _decode_utf8_or_cp1252(data)
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:65536]) // 100):
        raise IngestError("contenu binaire : ce n'est pas un fichier texte")
    return text


def _decode_utf8_or_cp1252(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Line by line: a file pasted together from a UTF-8 and a cp1252 source keeps
        # its UTF-8 lines intact instead of turning "é" into "Ã©" everywhere.
        return "".join(_decode_line(line) for line in data.removeprefix(b"\xef\xbb\xbf")
                       .splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")


_MD_EMPHASIS = re.compile(r"\*\*|__")
# Control characters other than tab and newline (terminal escapes, C1 codes from a
# latin-1 fallback): never useful in a quote, harmful when printed to a terminal.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Normalise newlines, drop control characters, unwrap superscripts, drop markdown
    bold markers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    text = unwrap_superscripts(text)
    return _MD_EMPHASIS.sub("", text)


# --- per-format readers: bytes -> list of page texts ---------------------------

Page = str | OcrPage


def _read_text(path: Path, ctx: _Reading) -> list[Page]:
    text = decode_text(path.read_bytes())
    return [*text.split("\f")]


def _read_pdf(path: Path, ctx: _Reading) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise IngestError("PDF protégé par un mot de passe")
            except IngestError:
                raise
            except Exception as exc:
                raise IngestError("PDF protégé par un mot de passe") from exc
        pages = [(p.extract_text() or "") for p in reader.pages]
        ctx.meta_date = _pdf_date(reader)
    except IngestError:
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many types on broken files
        raise IngestError(f"PDF illisible ou corrompu ({type(exc).__name__})") from exc
    if not pages:
        raise IngestError("PDF sans aucune page")
    scanned = [i for i, p in enumerate(pages) if len("".join(p.split())) < MIN_LAYER_CHARS]
    if not scanned:
        return list(pages)
    try:
        check_tesseract(ctx.ocr.lang)
    except OcrUnavailable as exc:
        if len(scanned) == len(pages):
            raise IngestError(f"PDF scanné (image) : {exc}") from exc
        ctx.warnings.append(f"{len(scanned)} page(s) scannée(s) non lue(s) ({_page_list(scanned)}) : {exc}")
        ctx.incomplete = True
        return list(pages)
    try:
        renderer = PdfPages(path, ctx.ocr)
    except Exception as exc:
        raise IngestError(f"PDF illisible pour l'OCR ({type(exc).__name__})") from exc
    try:
        read = ctx.recognise(len(pages), renderer.render, scanned)
    finally:
        renderer.close()
    out: list[Page] = list(pages)
    for i, page in read.items():
        # a layer of a few characters (a page number) gives way to a real recognised text
        if not page.error and len(page.text.strip()) > len(pages[i].strip()):
            out[i] = page
    return out


def _pdf_date(reader: Any) -> str | None:
    """The PDF's creation date from its metadata, when it has a plausible one."""
    try:
        when = reader.metadata.creation_date if reader.metadata else None
    except Exception:  # a malformed date string: no date rather than no document
        return None
    return when.date().isoformat() if when is not None and when.year >= 1995 else None


def _page_list(numbers: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in numbers[:8])
    return ("page " if len(numbers) == 1 else "pages ") + shown + ("…" if len(numbers) > 8 else "")


def _read_image(path: Path, ctx: _Reading) -> list[Page]:
    try:
        check_tesseract(ctx.ocr.lang)
        count, frame = image_frames(path, ctx.ocr)
    except (OcrUnavailable, OcrRefused) as exc:
        raise IngestError(f"image : {exc}") from exc
    read = ctx.recognise(count, frame)
    if read and all(p.error for p in read.values()):
        raise IngestError(f"image : {next(iter(read.values())).error}")
    return [p if not p.error else "" for p in read.values()]


def _read_docx(path: Path, ctx: _Reading) -> list[Page]:
    try:
        import docx

        d = docx.Document(str(path))
    except Exception as exc:
        raise IngestError(f"document Word illisible ou corrompu ({type(exc).__name__})") from exc
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text.strip() for c in row.cells))
    text = "\n".join(parts)
    if not text.strip():
        raise IngestError("document Word sans texte")
    return [text]


def _read_html(path: Path, ctx: _Reading) -> list[Page]:
    from bs4 import BeautifulSoup

    raw = decode_text(path.read_bytes())
    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    text = soup.get_text("\n")
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    if not text.strip():
        raise IngestError("page HTML sans texte")
    return [text]


_READERS: dict[str, Callable[[Path, _Reading], list[Page]]] = {
    ".txt": _read_text, ".md": _read_text, ".markdown": _read_text,
    ".pdf": _read_pdf, ".docx": _read_docx, ".html": _read_html, ".htm": _read_html,
    **{suffix: _read_image for suffix in IMAGE_SUFFIXES},
}


# --- metadata read from content ------------------------------------------------

UNIONS = ("CGT", "SNAP", "SNU", "FO", "CFDT", "SUD", "UNSA", "CFE-CGC", "CFTC", "FSU", "STC")
_BOILER_TITLE = re.compile(
    r"^(proche|actif|humain|vos [ée]lus|votre repr[ée]sentant|ordre du jour|sommaire)\b",
    re.IGNORECASE,
)
_REUNION_RE = re.compile(r"r[ée]union\s+(?:extraordinaire\s+)?du\s+(.{6,30}?\d{4})", re.IGNORECASE)


_STRIP_RE = re.compile(r"^[#>\-*•\s]+|^\d+[.)]\s+|[#*_\s]+$")


def _strip_line(line: str) -> str:
    return _STRIP_RE.sub("", _STRIP_RE.sub("", line.strip())).strip()


def _is_title_line(line: str, following: str) -> bool:
    words = re.findall(r"[^\W\d_]+", line)
    if len(words) < 4 or len(words) > 25 or "@" in line or _BOILER_TITLE.match(line):
        return False
    if line.endswith(".") and not line.endswith("..."):
        return False  # a sentence, not a heading
    # "Maryvonne HO SACK WA" followed by an e-mail: a list of elected members.
    if "@" in following and all(w[0].isupper() for w in words):
        return False
    return True


def extract_title(text: str, fallback: str) -> str:
    """The first heading-like line of 4 to 25 words (not a sentence, not a name in a
    list of elected members), joined with the next line when it ends with a comma
    ("Un CSEC avec un ordre du jour chargé, / pour déployer…"). A meeting date
    stated in the text is appended when the line does not carry it. Falls back to
    ``fallback`` only for texts with no such line.
    """
    lines = [ln for ln in (x.strip() for x in text.splitlines()[:120]) if ln]
    for i, raw in enumerate(lines):
        line = _strip_line(raw)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not _is_title_line(line, following):
            continue
        title = line
        if title.endswith(",") and following:
            title = f"{title} {_strip_line(following)}"
        title = re.sub(r"\s+", " ", title)
        if len(title) > 160:
            title = title[:157] + "…"
        meeting = _REUNION_RE.search(text[:3000])
        if meeting and fold(meeting.group(1)) not in fold(title):
            title = f"{title} — réunion du {meeting.group(1).strip().lower()}"
        return title
    return fallback


def extract_union(text: str) -> str | None:
    """The union named most in the document's opening, else in the whole text."""
    for window in (text[:1500], text):
        counts = {u: len(re.findall(rf"(?<![\w-]){re.escape(u)}(?![\w-])", window)) for u in UNIONS}
        best = max(counts, key=lambda u: counts[u])
        if counts[best]:
            return best
    return None


def extract_instance(text: str) -> str | None:
    head = text[:2000]
    if re.search(r"\bCSEC\b|Comit[ée] Social et [ÉE]conomique Central", head):
        extra = re.search(r"\bExtra\b|extraordinaire", head, re.IGNORECASE)
        return "CSEC extraordinaire" if extra else "CSEC"
    m = re.search(r"\bCSE\b\s*(?:\n\s*)*(?:de\s+(?:la\s+)?|d')?([A-ZÉ][\w-]+)?", head)
    if m:
        region = m.group(1)
        return f"CSE {region}" if region and region not in ("CSE",) else "CSE"
    return None


def extract_doc_type(text: str, union: str | None, instance: str | None) -> str:
    """"compte rendu", "déclaration", "tract" or "article", read from the content."""
    head = fold(text[:1500])
    if re.search(r"\bdeclaration\b", head[:400]):
        return "déclaration"
    if instance and (_REUNION_RE.search(text[:3000]) or re.search(r"\bcse", head)):
        return "compte rendu"
    return "tract" if union else "article"


# --- checks before reading ----------------------------------------------------

# Spellings of one format that a list for the user names once.
_ALIASES = {".markdown": ".md", ".htm": ".html", ".jpeg": ".jpg", ".tif": ".tiff"}


def accepted_formats() -> str:
    """The supported formats in French, for the user: text formats, then images.

    -> "TXT, MD, PDF, DOCX, HTML ; images JPG, PNG, TIFF, WEBP (lues par OCR)"
    """
    def name(suffix: str) -> str:
        return _ALIASES.get(suffix, suffix).lstrip(".").upper()

    texts = dict.fromkeys(name(s) for s in _READERS if s in SUPPORTED - IMAGE_SUFFIXES)
    images = sorted({name(s) for s in SUPPORTED & IMAGE_SUFFIXES})
    return f"{', '.join(texts)} ; images {', '.join(images)} (lues par OCR)"


def _megabytes(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def check_size(size_bytes: int, max_mb: float) -> None:
    """Raise IngestError when a file is over ``max_mb`` megabytes.

    The size is shown rounded, with one decimal when rounding would hide that it is over:
    3.2 MB for 1 -> "(3 Mo, limite 1 Mo)"; 2.1 MB for 2 -> "(2,1 Mo, limite 2 Mo)".
    """
    size_mb = size_bytes / 1e6
    if size_mb <= max_mb:
        return
    shown = f"{size_mb:.0f}" if round(size_mb) > max_mb else _megabytes(round(size_mb, 1))
    raise IngestError(f"fichier trop volumineux ({shown} Mo, limite {_megabytes(max_mb)} Mo)")


def check_upload(name: str, path: Path, max_mb: float) -> None:
    """Check a file offered for indexing before it is kept; raises IngestError (French).

    ``name`` is the name the user gave the file (its suffix decides the format),
    ``path`` where its bytes are. Refused: a format not in ``SUPPORTED``, an empty
    file, a file over ``max_mb``, and a binary format whose content does not begin
    as that format does (``SIGNATURES``: "faux.pdf" holding HTML).
    """
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED:
        raise IngestError(f"type de fichier non accepté ({ext or 'sans extension'}) ; "
                          f"formats acceptés : {accepted_formats()}")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("fichier vide")
    check_size(size, max_mb)
    signatures = SIGNATURES.get(ext)
    if signatures:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if not head.startswith(signatures):
            raise IngestError(f"le contenu ne correspond pas à un fichier {ext.lstrip('.').upper()}")


# --- walking a folder ----------------------------------------------------------

def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_files(
    folder: Path, follow_symlinks: bool = False
) -> tuple[list[Path], list[Skipped]]:
    """Files under ``folder`` (sorted), and the ones refused before reading.

    Symbolic links that lead outside the folder are refused unless
    ``follow_symlinks``; hidden files and folders are ignored.
    """
    root = folder.resolve()
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling, or a loop (RuntimeError before 3.13)
                skipped.append(Skipped(str(rel), "lien symbolique cassé ou en boucle, ignoré"))
                continue
            if not follow_symlinks and not target.is_relative_to(root):
                skipped.append(
                    Skipped(str(rel), "lien symbolique vers l'extérieur du dossier, non suivi"))
                continue
        if not path.is_file() or (path.name == "glossaire.tsv" and path.parent == folder):
            continue  # the user's glossary (rag.glossary) is read by the index, not as a document
        if path.suffix.lower() not in SUPPORTED:
            reason = f"format non pris en charge ({path.suffix or 'sans extension'})"
            skipped.append(Skipped(str(rel), reason))
            continue
        files.append(path)
    return files, skipped


def load_file(path: Path, root: Path, max_mb: float = 60.0, max_text_mb: float = 10.0,
              ocr: OcrOptions | None = None) -> LoadedFile:
    """Read one file into page Documents; raises IngestError with a French reason.

    ``max_text_mb`` bounds the extracted text (millions of characters): a 50 MB text
    dump would be ~50,000 passages, hours of embedding on a laptop.
    """
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"format non pris en charge ({path.suffix or 'sans extension'})")
    try:
        check_size(path.stat().st_size, max_mb)
        # Hash before reading: if the file changes meanwhile, the next run sees a new hash.
        doc_hash = file_hash(path)
        ctx = _Reading(ocr or OcrOptions(), doc_hash)
        raw_pages = reader(path, ctx)
    except OSError as exc:  # vanished or unreadable since the folder was listed
        raise IngestError(f"lecture impossible ({exc.strerror or exc})") from exc
    recognised = {i for i, p in enumerate(raw_pages, start=1) if isinstance(p, OcrPage)}
    # recognised text is kept as Tesseract gave it: cleaning would move the doubtful offsets
    pages = [p.text if isinstance(p, OcrPage) else clean_text(p) for p in raw_pages]
    text_mb = sum(len(p) for p in pages) / 1e6
    if text_mb > max_text_mb:
        raise IngestError(
            f"texte trop volumineux ({text_mb:.0f} Mo de texte, limite {max_text_mb:g} Mo : "
            "des heures d'encodage) ; découpez le fichier ou relevez la limite (RAG_MAX_TEXT_MB)"
        )
    if not any(p.strip() for p in pages):
        if ctx.ocr_tried:
            raise IngestError("aucun texte reconnu par l'OCR : page blanche, ou image trop "
                              "floue ou trop petite ?")
        raise IngestError("aucun texte reconnu" if ctx.warnings else "aucun texte")
    full = "\n".join(pages)
    paged = path.suffix.lower() in {".pdf"} | IMAGE_SUFFIXES or len(pages) > 1
    union, instance = extract_union(full), extract_instance(full)
    meta: dict[str, object] = {
        "source": rel,
        # A file name can hold newlines or escapes: the fallback title is one clean line.
        "title": extract_title(full, fallback=" ".join(_CONTROLS.sub("", path.stem).split())),
        "doc_hash": doc_hash,
        "union": union,
        "instance": instance,
        "doc_date": document_date(full, ctx.meta_date),
        "doc_type": extract_doc_type(full, union, instance),
        "file_type": path.suffix.lower().lstrip("."),
    }
    docs = []
    for i, text in enumerate(pages, start=1):
        if not text.strip():
            continue
        page_meta = dict(meta, page=i if paged else None)
        if i in recognised:
            page_meta["ocr"] = True
        docs.append(Document(text=text, metadata=page_meta, id_=f"{str(meta['doc_hash'])[:16]}:{i}"))
    return LoadedFile(
        source=rel, doc_hash=str(meta["doc_hash"]), title=str(meta["title"]),
        pages=docs, paged=paged, metadata=meta,
        ocr_pages=sorted(i for i in recognised if pages[i - 1].strip()),
        doubtful={i: p.doubtful for i, p in enumerate(raw_pages, start=1)
                  if isinstance(p, OcrPage) and p.doubtful},
        warnings=ctx.warnings, incomplete=ctx.incomplete,
    )


def load_folder(
    folder: Path, follow_symlinks: bool = False, max_mb: float = 60.0, max_text_mb: float = 10.0,
    ocr: Callable[[str], OcrOptions] | None = None,
) -> Iterator[LoadedFile | Skipped]:
    """Yield each file as LoadedFile, or Skipped with the reason; never raises per file.
    ``ocr`` gives the OCR options for a file (by its relative path: progress per file)."""
    files, skipped = list_files(folder, follow_symlinks)
    yield from skipped
    for path in files:
        try:
            rel = str(path.relative_to(folder))
            yield load_file(path, folder, max_mb, max_text_mb, ocr(rel) if ocr else None)
        except IngestError as exc:
            yield Skipped(str(path.relative_to(folder)), str(exc))
        except Exception as exc:  # a parser bug on one hostile file must not stop the rest
            yield Skipped(str(path.relative_to(folder)),
                          f"lecture impossible : erreur inattendue ({type(exc).__name__})")
