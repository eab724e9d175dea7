"""The web UI: a Gradio chat over the pipeline, with sources and a documents tab.

``ChatUI(pipeline, corpus_dir)`` receives a built ``Pipeline`` (or anything with
the same ``stream`` / ``build`` / ``index`` / ``has_index`` methods) and makes a
``gr.Blocks`` app from it; ``app.py`` and ``rag ui`` only parse options and call
``launch``. The handlers (``respond``, ``add_files``, ``ensure_index``…) are plain
methods, so tests call them without a browser.

What a user sees, in French:

- **Discussion**: each answer streams in, then its sources: for each citation
  [n] the document title, union, date, page and file, the quoted passage with
  the words that answer highlighted (the figure of the answer, the question's
  terms), and a fold-out showing the passage in its surrounding page text.
  Example questions on an empty chat; filters by document, union and dates.
- **Documents**: the indexed documents (title, pages, passages, date indexed),
  the files that could not be read with the reason, and an upload box. Uploads
  are checked (type, size, content), saved in the corpus folder under a
  sanitised name, then indexed incrementally with a progress bar.

Safety: every piece of document text and every file name is HTML-escaped here
before it is put into HTML, and the Chatbot keeps Gradio's own sanitiser on as
a second fence. Messages are rendered as one raw HTML block with no blank line,
so Markdown never re-interprets document text.

What it leaves out: user accounts, deleting documents from the UI (remove the
file from the folder and re-index), chat history across sessions.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.answer import Answer, Citation  # noqa: E402
from rag.dates import format_date, parse_date  # noqa: E402
from rag.ingest import SUPPORTED  # noqa: E402
from rag.retrieve import Filters  # noqa: E402
from rag.text import analyze, extract_quantities  # noqa: E402

log = logging.getLogger(__name__)

DEFAULT_EXAMPLES = (
    "Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?",
    "Combien a coûté la campagne publicitaire France Travail PRO ?",
    "Que demandent les élus pour l'accueil téléphonique ?",
)
EMPTY_QUESTION = "Écrivez une question avant d'envoyer."
NO_INDEX = ("Aucun document n'est encore indexé. Ajoutez des fichiers dans l'onglet "
            "« Documents », ou lancez l'application avec --corpus DOSSIER.")
INTERNAL_ERROR = ("Une erreur interne est survenue ; la question n'a pas pu être traitée. "
                  "Réessayez, et si cela se reproduit, signalez-le avec la question posée.")
PHASES = {"lecture": "Lecture des documents", "embeddings": "Calcul des vecteurs",
          "écriture": "Écriture de l'index"}
CONTEXT_CHARS = 600  # page text shown on each side of a quote when a source is expanded

ProgressCb = Callable[[str, int, int], None]


# --- escaping and small formatting helpers -------------------------------------------------

# Characters the Chatbot's Markdown renderer would act on even inside our HTML
# ("window.__x" lost its underscores): written as entities, they show as typed.
_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
    **{c: f"&#{ord(c)};" for c in "\\`*_[]{}()#+-!|~$:"},
})


def esc(text: object) -> str:
    """Escape text for the page: HTML (quotes included) and Markdown markup.

    ``<img src="x">`` -> ``&lt;img src=&quot;x&quot;&gt;``; ``__init__`` ->
    ``&#95;&#95;init&#95;&#95;`` (shown as typed, never bold).
    """
    return str(text).translate(_ESCAPES)


def _one_line(fragment: str) -> str:
    """Newlines -> <br>, so a message stays a single raw HTML block for the Markdown renderer."""
    return fragment.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


# --- highlighting the words that answer ---------------------------------------------------

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def highlight_spans(quote: str, question: str, answer: str) -> list[tuple[int, int, str]]:
    """Spans of ``quote`` to highlight: (start, end, kind), kind "fig" or "term".

    "fig" marks the figures of the quote that the answer (or the question)
    states; "term" marks words sharing a stem with the question's content words.

    Example: quote "des gains d'efficacité de 2900 ETP d'ici 2027", question
    "Combien d'ETP d'ici 2027 ?", answer "2900 ETP [1]" -> "2900 ETP" (fig),
    "2027" (fig), "ETP" inside the figure is not marked twice.
    """
    wanted = {round(q.value, 6) for q in extract_quantities(answer + " " + question)}
    spans: list[tuple[int, int, str]] = []
    for q in extract_quantities(quote):
        if round(q.value, 6) in wanted and q.text:
            spans.append((q.start, q.start + len(q.text), "fig"))
    terms = set(analyze(question, keep_question_words=False))
    for m in _WORD_RE.finditer(quote):
        toks = analyze(m.group(0), keep_question_words=False)
        if toks and toks[-1] in terms and len(m.group(0)) > 2:
            spans.append((m.start(), m.end(), "term"))
    spans.sort(key=lambda s: (s[0], 0 if s[2] == "fig" else 1, -s[1]))
    out: list[tuple[int, int, str]] = []
    for s in spans:
        if out and s[0] < out[-1][1]:
            continue  # overlaps a span already kept (figures win)
        out.append(s)
    return out


def highlight_html(quote: str, question: str, answer: str) -> str:
    """The quote, escaped, with the answering words wrapped in <mark>."""
    parts: list[str] = []
    pos = 0
    for start, end, kind in highlight_spans(quote, question, answer):
        parts.append(esc(quote[pos:start]))
        parts.append(f'<mark class="rag-{kind}">{esc(quote[start:end])}</mark>')
        pos = end
    parts.append(esc(quote[pos:]))
    return _one_line("".join(parts))


def context_html(page: str, start: int, end: int, quote: str, chars: int = CONTEXT_CHARS) -> str:
    """The page text around the quote, escaped, the quote itself marked.

    Falls back to finding the quote in the page when the offsets do not match.
    """
    if not page:
        return ""
    if not (0 <= start < end <= len(page)) or page[start:end] != quote:
        i = page.find(quote) if quote else -1
        if i < 0:
            return ""
        start, end = i, i + len(quote)
    a = max(0, start - chars)
    b = min(len(page), end + chars)
    # Cut on a word boundary so the excerpt does not start mid-word.
    if a > 0:
        sp = page.find(" ", a, start)
        a = sp + 1 if sp >= 0 else a
    if b < len(page):
        sp = page.rfind(" ", end, b)
        b = sp if sp >= 0 else b
    return _one_line(
        ("… " if a > 0 else "") + esc(page[a:start])
        + f'<mark class="rag-here">{esc(page[start:end])}</mark>'
        + esc(page[end:b]) + (" …" if b < len(page) else "")
    )


# --- rendering messages and the documents table -----------------------------------------------

def render_answer_text(text: str, abstained: bool = False, pending: bool = False,
                       outcome: str = "") -> str:
    cls = ("rag-answer" + (" rag-abstain" if abstained else "") + (" rag-pending" if pending else "")
           + (f" rag-{outcome}" if outcome else ""))
    return f'<div class="{cls}">{_one_line(esc(text))}</div>'


def render_citation(c: Citation, question: str, answer: str, page_text: str = "") -> str:
    meta = []
    if c.union:
        meta.append(esc(c.union))
    if c.doc_date:
        meta.append(esc(format_date(c.doc_date)))
    if c.page:
        meta.append(f"page {c.page}")
    meta.append(f'<span class="rag-file">{esc(c.source)}</span>')
    if c.ocr:
        meta.append('<span class="rag-ocr" title="Texte lu sur une image : vérifiez les chiffres '
                    'sur le document">texte reconnu (OCR)</span>')
    ctx = context_html(page_text, c.start, c.end, c.quote)
    details = (f'<details class="rag-context"><summary>Voir le passage dans son contexte</summary>'
               f'<div class="rag-context-text">{ctx}</div></details>') if ctx else ""
    return (
        f'<div class="rag-source" data-n="{c.n}">'
        f'<div class="rag-source-title"><span class="rag-n">[{c.n}]</span> {esc(c.title)}</div>'
        f'<div class="rag-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="rag-quote">« {highlight_html(c.quote, question, answer)} »</blockquote>'
        f"{details}</div>"
    )


def render_message(ans: Answer, page_text: Callable[[str, int | None], str] | None = None) -> str:
    """The whole assistant message: the answer, then one block per citation."""
    out = [render_answer_text(ans.answer, ans.abstained, outcome=ans.outcome or "")]
    if ans.citations:
        head = "Passages les plus proches" if ans.outcome == "unsure" else "Sources"
        out.append(f'<div class="rag-sources"><div class="rag-sources-head">{head}</div>')
        for c in ans.citations:
            text = ""
            if page_text is not None:
                try:
                    text = page_text(c.source, c.page)
                except Exception:  # context is a bonus; never lose the answer for it
                    log.exception("page_text failed for %s p.%s", c.source, c.page)
            # an unsure answer asserts no figure: only the question's words are marked
            asserted = ans.answer if ans.outcome != "unsure" else ""
            out.append(render_citation(c, ans.question, asserted, text))
        out.append("</div>")
    for w in ans.warnings:
        out.append(f'<div class="rag-warning">{esc(w)}</div>')
    return "".join(out)


def render_documents(documents: dict[str, dict[str, Any]], skipped: Sequence[dict[str, Any]]) -> str:
    """The documents tab: a table of indexed files and the list of files not indexed."""
    if not documents and not skipped:
        return f'<div class="rag-docs-empty">{esc(NO_INDEX)}</div>'
    rows = []
    for src, f in sorted(documents.items(), key=lambda kv: str(kv[1].get("title", kv[0])).lower()):
        who = " · ".join(esc(x) for x in (f.get("union"), f.get("instance")) if x)
        n_ocr = len(f.get("ocr_pages") or [])
        ocr = f' <span class="rag-ocr">dont {n_ocr} par OCR</span>' if n_ocr else ""
        rows.append(
            "<tr>"
            f'<td class="rag-doc-title">{esc(f.get("title") or src)}</td>'
            f'<td class="rag-file">{esc(src)}</td>'
            f"<td>{who}</td>"
            f'<td>{esc(format_date(f.get("doc_date")))}</td>'
            f'<td class="rag-num">{esc(f.get("pages", ""))}{ocr}</td>'
            f'<td class="rag-num">{esc(f.get("chunks", ""))}</td>'
            f'<td>{esc(str(f.get("indexed_at", "")).replace("T", " à "))}</td>'
            "</tr>"
        )
    n = len(documents)
    out = [f'<div class="rag-docs-count">{n} document{"s" if n > 1 else ""} indexé{"s" if n > 1 else ""}'
           f'</div>']
    if rows:
        out.append('<table class="rag-docs"><thead><tr><th>Titre</th><th>Fichier</th>'
                   "<th>Syndicat · instance</th><th>Date du document</th><th>Pages</th>"
                   "<th>Passages</th><th>Indexé le</th></tr></thead><tbody>"
                   + "".join(rows) + "</tbody></table>")
    partial = [(src, w) for src, f in sorted(documents.items()) for w in f.get("warnings") or []]
    if partial:
        out.append('<div class="rag-partial"><div class="rag-skipped-head">Fichiers indexés en '
                   "partie</div><ul>")
        for src, w in partial:
            out.append(f'<li><span class="rag-file">{esc(src)}</span> — {esc(w)}</li>')
        out.append("</ul></div>")
    if skipped:
        out.append('<div class="rag-skipped"><div class="rag-skipped-head">Fichiers non indexés</div><ul>')
        for s in skipped:
            out.append(f'<li><span class="rag-file">{esc(s.get("path", ""))}</span> — '
                       f'{esc(s.get("reason", ""))}</li>')
        out.append("</ul></div>")
    return _one_line("".join(out))


def notice(text: str, kind: str = "info") -> str:
    """A status line (kind: info, ok, error), escaped."""
    return f'<div class="rag-notice rag-{kind}">{_one_line(esc(text))}</div>' if text else ""


# --- uploads --------------------------------------------------------------------------------

_UNSAFE_RE = re.compile(r"[^\w.\- ()]+", re.UNICODE)
MAX_NAME = 120


def safe_filename(name: str) -> str:
    """A file name that stays inside the folder it is joined to.

    Only the last path component is kept (``/`` and ``\\`` both count), control
    characters and anything but letters, digits, ``. - _ ( )`` and spaces become
    ``_``, leading dots are dropped (no hidden files, no ``..``), and the name is
    shortened keeping its extension.

    "../../etc/passwd.txt" -> "passwd.txt"; "<img src=x>.md" -> "_img src_x_.md";
    "..." -> "document".
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_RE.sub("_", base).strip(" ._")
    base = re.sub(r"\s+", " ", base)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem.strip(" ._") or "document"
    ext = ext[:10]
    if len(stem) > MAX_NAME:
        stem = stem[:MAX_NAME].rstrip(" ._")
    return f"{stem}.{ext}" if ext else stem


_MAGIC = {".pdf": (b"%PDF",), ".docx": (b"PK\x03\x04",), ".png": (b"\x89PNG",),
          ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
          ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"), ".webp": (b"RIFF",)}


def check_upload(path: Path, original_name: str, max_mb: float) -> str | None:
    """Why this uploaded file is refused (French), or None if it may be indexed."""
    ext = Path(original_name).suffix.lower()
    if ext not in SUPPORTED:
        allowed = "PDF, DOCX, TXT, MD, HTML, images PNG, JPEG, TIFF, WEBP (lues par OCR)"
        return (f"type de fichier non accepté ({ext or 'sans extension'}) ; "
                f"formats acceptés : {allowed}")
    size = path.stat().st_size
    if size == 0:
        return "fichier vide"
    if size > max_mb * 1e6:
        return f"fichier trop volumineux ({size / 1e6:.1f} Mo ; limite {max_mb:g} Mo)"
    magic = _MAGIC.get(ext)
    if magic:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if not head.startswith(magic):
            return f"le contenu ne correspond pas à un fichier {ext.lstrip('.').upper()}"
    return None


@dataclass
class UploadReport:
    saved: list[tuple[str, str]] = field(default_factory=list)  # (original name, saved name)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (original name, reason)
    unchanged: list[str] = field(default_factory=list)

    def html(self) -> str:
        out = []
        for orig, saved in self.saved:
            renamed = f" (enregistré sous « {saved} »)" if saved != orig else ""
            out.append(notice(f"Ajouté : {orig}{renamed}", "ok"))
        for orig in self.unchanged:
            out.append(notice(f"Déjà présent, identique : {orig}", "info"))
        for orig, reason in self.refused:
            out.append(notice(f"Refusé : {orig} — {reason}", "error"))
        return "".join(out)


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def save_uploads(files: Iterable[Any], corpus_dir: Path, max_mb: float) -> UploadReport:
    """Check each uploaded file and copy the accepted ones into ``corpus_dir``.

    ``files`` are paths (or objects with ``.name`` / ``.orig_name`` as Gradio
    gives). A name already taken by a different file gets " (2)", " (3)"… The
    destination is checked to resolve inside ``corpus_dir`` whatever the name.
    """
    report = UploadReport()
    root = corpus_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    for f in files:
        tmp = Path(getattr(f, "name", f))
        orig = str(getattr(f, "orig_name", None) or tmp.name)
        shown = re.split(r"[\\/]", orig)[-1] or orig
        try:
            reason = check_upload(tmp, shown, max_mb)
        except OSError:
            reason = "fichier illisible"
        if reason:
            report.refused.append((shown, reason))
            continue
        name = safe_filename(shown)
        stem, ext = os.path.splitext(name)
        dest = root / name
        k = 2
        while dest.exists() and not _same_content(dest, tmp):
            dest = root / f"{stem} ({k}){ext}"
            k += 1
        if dest.resolve().parent != root:  # belt and braces: never write outside the folder
            report.refused.append((shown, "nom de fichier invalide"))
            continue
        if dest.exists():
            report.unchanged.append(shown)
            continue
        shutil.copyfile(tmp, dest)
        report.saved.append((shown, dest.name))
    return report


# --- the app ------------------------------------------------------------------------------

CSS = """
.rag-answer { font-size: 1.05em; line-height: 1.5; }
.rag-abstain { font-style: italic; }
.rag-unsure { color: #7a4d00; }
.rag-sources { margin-top: .8em; border-top: 1px solid var(--border-color-primary); padding-top: .5em; }
.rag-sources-head { font-weight: 600; margin-bottom: .3em; }
.rag-source { margin: .5em 0 .8em 0; }
.rag-source-title { font-weight: 600; }
.rag-n { color: var(--color-accent); margin-right: .2em; }
.rag-meta { font-size: .88em; opacity: .8; }
.rag-file { font-family: var(--font-mono); font-size: .9em; }
.rag-ocr { font-size: .85em; padding: 0 .35em; border-radius: 4px; background: #fff3cd; color: #664d03; }
.rag-partial { margin-top: 1em; }
.rag-quote { margin: .3em 0; padding: .2em .7em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); }
mark.rag-fig { background: #ffe08a; font-weight: 700; padding: 0 .1em; }
mark.rag-term { background: #fff3c4; padding: 0 .1em; }
mark.rag-here { background: #fff3c4; }
.rag-context summary { cursor: pointer; font-size: .9em; color: var(--color-accent); }
.rag-context-text { font-size: .9em; opacity: .9; margin-top: .3em; }
.rag-warning { font-size: .88em; color: #b45309; margin-top: .4em; }
.rag-notice { padding: .4em .7em; border-radius: 6px; margin: .2em 0; }
.rag-info { background: var(--background-fill-secondary); }
.rag-ok { background: #e7f6ea; color: #14532d; }
.rag-error { background: #fdecec; color: #7f1d1d; }
table.rag-docs { width: 100%; border-collapse: collapse; font-size: .92em; border: none !important; }
table.rag-docs th, table.rag-docs td { border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important;
  padding: .3em .5em; text-align: left; vertical-align: top; }
td.rag-num { text-align: right; }
.rag-docs-count { margin: .3em 0 .6em 0; font-weight: 600; }
.rag-skipped { margin-top: 1em; }
.rag-skipped-head { font-weight: 600; }
"""

ALL_UNIONS = "Tous"


class ChatUI:
    """The Gradio app over a pipeline. ``build()`` makes the Blocks; handlers are testable.

    ``corpus_dir`` is the folder indexed on first use and where uploads are
    saved (None: uploads disabled). ``max_upload_mb`` defaults to the
    pipeline's ``max_file_mb`` so that what is accepted can also be indexed.
    """

    def __init__(self, pipeline: Any, corpus_dir: Path | None = None,
                 examples: Sequence[str] = DEFAULT_EXAMPLES, max_upload_mb: float | None = None,
                 title: str = "Assistant documentaire syndical") -> None:
        self.pipeline = pipeline
        self.corpus_dir = Path(corpus_dir) if corpus_dir is not None else None
        self.examples = list(examples)
        settings = getattr(pipeline, "settings", None)
        self.max_upload_mb = max_upload_mb or float(getattr(settings, "max_file_mb", 60.0))
        self.title = title
        self._build_lock = threading.Lock()

    # -- index ----------------------------------------------------------------------------
    def ensure_index(self, progress: ProgressCb | None = None) -> str:
        """Build the index from the corpus folder if there is none; a French status line."""
        if self.pipeline.has_index():
            return ""
        with self._build_lock:
            if self.pipeline.has_index():  # built by another session meanwhile
                return ""
            if self.corpus_dir is None or not self.corpus_dir.is_dir():
                return NO_INDEX
            report = self.pipeline.build(self.corpus_dir, progress=progress)
            n = len(report.indexed) + len(report.reused)
            return f"Index construit : {n} document{'s' if n > 1 else ''}, {report.chunks} passages."

    def reindex(self, progress: ProgressCb | None = None) -> str:
        if self.corpus_dir is None:
            return "Aucun dossier de documents n'est configuré (option --corpus)."
        if not self.corpus_dir.is_dir():
            return f"Dossier introuvable : {self.corpus_dir}"
        with self._build_lock:
            report = self.pipeline.build(self.corpus_dir, progress=progress)
        parts = [f"{len(report.indexed)} document(s) (ré)indexé(s)",
                 f"{len(report.reused)} inchangé(s)"]
        if report.removed:
            parts.append(f"{len(report.removed)} retiré(s)")
        if report.skipped:
            parts.append(f"{len(report.skipped)} fichier(s) non lisible(s)")
        return "Index à jour : " + ", ".join(parts) + "."

    def documents(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        if not self.pipeline.has_index():
            return {}, []
        index = self.pipeline.index
        return dict(index.documents), list(index.manifest.get("skipped", []))

    def documents_html(self) -> str:
        try:
            docs, skipped = self.documents()
        except Exception as exc:
            return notice(_user_message(exc), "error")
        return render_documents(docs, skipped)

    def filter_choices(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(document choices as (label, source), unions) for the filter dropdowns."""
        try:
            docs, _ = self.documents()
        except Exception:
            return [], [ALL_UNIONS]
        doc_choices = sorted(((_short(str(f.get("title") or s)) + f" ({s})", s) for s, f in docs.items()),
                             key=lambda c: c[0].lower())
        unions = sorted({str(f["union"]) for f in docs.values() if f.get("union")})
        return doc_choices, [ALL_UNIONS, *unions]

    # -- chat -----------------------------------------------------------------------------
    def make_filters(self, sources: Sequence[str] | None, union: str | None, after: str | None,
                     before: str | None) -> Filters:
        a = parse_date(after, "à partir du")
        b = parse_date(before, "jusqu'au")
        if a and b and a > b:
            raise ValueError("La date de début est après la date de fin.")
        u = union if union and union != ALL_UNIONS else None
        return Filters(tuple(sources or ()), u, a, b)

    def respond(self, question: str | None, turns: list[dict[str, str]] | None,
                sources: Sequence[str] | None = None, union: str | None = None,
                after: str | None = None, before: str | None = None,
                progress: ProgressCb | None = None,
                ) -> Iterator[tuple[list[dict[str, str]], list[dict[str, str]], str, str]]:
        """Stream one exchange: yields (chat messages, turns, question box, status line).

        ``turns`` is the conversation so far: dicts with the question, the plain
        answer and the rendered message.
        """
        turns = list(turns or [])
        q = (question or "").strip()
        if not q:
            yield _messages(turns), turns, question or "", notice(EMPTY_QUESTION, "error")
            return
        try:
            filters = self.make_filters(sources, union, after, before)
        except ValueError as exc:
            yield _messages(turns), turns, q, notice(str(exc), "error")
            return
        turn = {"question": q, "answer": "", "html": render_answer_text("Recherche dans les documents…",
                                                                         pending=True)}
        turns.append(turn)
        yield _messages(turns), turns, "", ""
        status = ""
        try:
            built = self.ensure_index(progress)
            if built == NO_INDEX:
                turn["html"] = render_answer_text(NO_INDEX, abstained=True)
                yield _messages(turns), turns, "", notice(NO_INDEX, "error")
                return
            status = notice(built, "ok") if built else ""
            history = [(t["question"], t["answer"]) for t in turns[:-1] if t["answer"]]
            text = ""
            final: Answer | None = None
            for piece in self.pipeline.stream(q, filters, history):
                if isinstance(piece, str):
                    text += piece
                    turn["html"] = render_answer_text(text)
                    yield _messages(turns), turns, "", status
                else:
                    final = piece
            if final is None:  # a stream that ended without its Answer: show what came
                turn["answer"] = text
                turn["html"] = render_answer_text(text)
            else:
                turn["answer"] = final.answer
                turn["html"] = render_message(final, self._page_text)
            if filters and final is not None and final.abstained:
                status = notice("Les filtres actifs limitent la recherche : essayez sans filtre.", "info")
            yield _messages(turns), turns, "", status
        except Exception as exc:
            msg = _user_message(exc)
            turn["html"] = render_answer_text(msg, abstained=True)
            yield _messages(turns), turns, "", notice(msg, "error")

    def _page_text(self, source: str, page: int | None) -> str:
        return str(self.pipeline.index.page_text(source, page))

    # -- uploads ---------------------------------------------------------------------------
    def add_files(self, files: Sequence[Any] | None, progress: ProgressCb | None = None) -> str:
        """Save the accepted uploads into the corpus folder and re-index; a status (HTML)."""
        if not files:
            return notice("Choisissez d'abord un ou plusieurs fichiers.", "error")
        if self.corpus_dir is None:
            return notice("Aucun dossier de documents n'est configuré : relancez l'application "
                          "avec --corpus DOSSIER pour pouvoir ajouter des fichiers.", "error")
        try:
            report = save_uploads(files, self.corpus_dir, self.max_upload_mb)
        except OSError as exc:
            return notice(f"Impossible d'enregistrer dans {self.corpus_dir} : "
                          f"{exc.strerror or exc}", "error")
        out = report.html()
        if report.saved:
            try:
                out += notice(self.reindex(progress), "ok")
            except Exception as exc:
                out += notice(_user_message(exc), "error")
            saved = {name for _, name in report.saved}
            try:
                docs, skipped = self.documents()
            except Exception:
                docs, skipped = {}, []
            for s in skipped:
                if Path(str(s.get("path", ""))).name in saved:
                    out += notice(f"Non indexé : {s['path']} — {s['reason']}", "error")
            for src in docs:
                if Path(src).name in saved:
                    out += notice(f"Indexé : « {docs[src].get('title') or src} » "
                                  f"({docs[src].get('chunks', 0)} passages)", "ok")
        return out

    # -- Gradio ----------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        def gr_progress(p: Any) -> ProgressCb:
            def cb(phase: str, done: int, total: int) -> None:
                p((done, max(total, 1)), desc=PHASES.get(phase, phase))
            return cb

        def on_load(progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            try:
                status = self.ensure_index(gr_progress(progress))
                kind = "error" if status == NO_INDEX else "ok"
                status_html = notice(status, kind)
            except Exception as exc:
                status_html = notice(_user_message(exc), "error")
            return (status_html, *self._refresh_outputs())

        def on_submit(question: str, turns: list[dict[str, str]], sources: list[str], union: str,
                      after: str, before: str, progress: Any = gr.Progress()  # noqa: B008
                      ) -> Iterator[tuple[Any, ...]]:
            yield from self.respond(question, turns, sources, union, after, before,
                                    gr_progress(progress))

        def on_example(evt: gr.SelectData, turns: list[dict[str, str]], sources: list[str],
                       union: str, after: str, before: str,
                       progress: Any = gr.Progress()  # noqa: B008
                       ) -> Iterator[tuple[Any, ...]]:
            value = evt.value
            q = value.get("text", "") if isinstance(value, dict) else str(value)
            yield from self.respond(q, turns, sources, union, after, before, gr_progress(progress))

        def on_upload(files: list[Any] | None, progress: Any = gr.Progress()  # noqa: B008
                      ) -> tuple[Any, ...]:
            status = self.add_files(files, gr_progress(progress))
            return (status, None, *self._refresh_outputs())

        def on_reindex(progress: Any = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            try:
                status = notice(self.reindex(gr_progress(progress)), "ok")
            except Exception as exc:
                status = notice(_user_message(exc), "error")
            return (status, *self._refresh_outputs())

        def on_clear() -> tuple[Any, ...]:
            return [], [], ""

        shown = {e.lstrip(".").upper() for e in SUPPORTED} - {"MARKDOWN", "HTM", "JPEG", "TIF"}
        exts = ", ".join(sorted(shown))
        with gr.Blocks(title=self.title, analytics_enabled=False) as demo:
            gr.Markdown(f"## {esc(self.title)}\nPosez une question sur vos documents : la réponse "
                        "cite mot pour mot les passages sur lesquels elle s'appuie. "
                        "Tout reste sur cet ordinateur.")
            turns = gr.State([])
            with gr.Tabs():
                with gr.Tab("Discussion", id="chat-tab"):
                    index_status = gr.HTML("", elem_id="index-status")
                    chat = gr.Chatbot(
                        elem_id="chat", label="Discussion", show_label=False, height="68vh",
                        min_height=420, sanitize_html=True,
                        render_markdown=True, latex_delimiters=[], feedback_options=None,
                        placeholder="Posez votre question ci-dessous, ou cliquez sur un exemple.",
                        examples=[{"text": e} for e in self.examples] or None,
                        buttons=["copy"],
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            elem_id="question", show_label=False, scale=8, lines=1, max_lines=4,
                            placeholder="Votre question, par exemple : Combien a coûté la campagne "
                                        "France Travail PRO ?", autofocus=True)
                        send = gr.Button("Envoyer", variant="primary", scale=1, elem_id="send")
                        clear = gr.Button("Nouvelle discussion", scale=1, elem_id="clear")
                    chat_status = gr.HTML("", elem_id="chat-status")
                    with gr.Accordion("Filtres", open=False, elem_id="filters"):
                        with gr.Row():
                            f_docs = gr.Dropdown(label="Documents", multiselect=True, choices=[],
                                                 elem_id="filter-docs", scale=3,
                                                 info="Vide : tous les documents.")
                            f_union = gr.Dropdown(label="Syndicat", choices=[ALL_UNIONS],
                                                  value=ALL_UNIONS, elem_id="filter-union", scale=1)
                        with gr.Row():
                            f_after = gr.Textbox(label="Documents datés à partir du",
                                                 placeholder="JJ/MM/AAAA", elem_id="filter-after")
                            f_before = gr.Textbox(label="jusqu'au", placeholder="JJ/MM/AAAA",
                                                  elem_id="filter-before")
                with gr.Tab("Documents", id="docs-tab"):
                    docs_html = gr.HTML("", elem_id="documents")
                    gr.Markdown(f"### Ajouter des documents\nFormats acceptés : {exts} ; "
                                f"{self.max_upload_mb:g} Mo au plus par fichier. Les fichiers sont "
                                "copiés dans le dossier des documents puis indexés.")
                    upload = gr.File(label="Fichiers à ajouter", file_count="multiple",
                                     elem_id="upload", interactive=self.corpus_dir is not None)
                    with gr.Row():
                        add = gr.Button("Ajouter et indexer", variant="primary", elem_id="add")
                        rescan = gr.Button("Réindexer le dossier", elem_id="rescan")
                    upload_status = gr.HTML("", elem_id="upload-status")

            refresh = [docs_html, f_docs, f_union]
            chat_io = dict(inputs=[question, turns, f_docs, f_union, f_after, f_before],
                           outputs=[chat, turns, question, chat_status])
            demo.load(on_load, outputs=[index_status, *refresh])
            question.submit(on_submit, **chat_io)  # type: ignore[arg-type]
            send.click(on_submit, **chat_io)  # type: ignore[arg-type]
            chat.example_select(on_example, inputs=[turns, f_docs, f_union, f_after, f_before],
                                outputs=chat_io["outputs"])
            clear.click(on_clear, outputs=[chat, turns, chat_status])
            add.click(on_upload, inputs=[upload], outputs=[upload_status, upload, *refresh])
            rescan.click(on_reindex, outputs=[upload_status, *refresh])
        self.demo = demo
        return demo

    def _refresh_outputs(self) -> tuple[Any, Any, Any]:
        docs, unions = self.filter_choices()
        return (self.documents_html(), gr.update(choices=docs), gr.update(choices=unions))

    def launch(self, host: str = "127.0.0.1", port: int | None = None, **kwargs: Any) -> Any:
        demo = getattr(self, "demo", None) or self.build()
        return demo.launch(server_name=host, server_port=port, css=CSS, footer_links=[],
                           max_file_size=f"{int(self.max_upload_mb * 2) + 1}mb", **kwargs)


def _messages(turns: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for t in turns:
        out.append({"role": "user",
                    "content": f'<div class="rag-question">{_one_line(esc(t["question"]))}</div>'})
        out.append({"role": "assistant", "content": t["html"]})
    return out


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _user_message(exc: BaseException) -> str:
    """A French message for the user; internal errors are logged with their trace, not shown."""
    from rag.store import IndexError_

    if isinstance(exc, IndexError_ | ValueError | FileNotFoundError | NotADirectoryError):
        return str(exc)
    log.error("internal error in the UI", exc_info=exc)
    return INTERNAL_ERROR


def launch(settings: Any, host: str = "127.0.0.1", port: int | None = None,
           **kwargs: Any) -> Any:
    """Build the pipeline for ``settings`` and serve the UI (blocks until stopped)."""
    from rag.pipeline import build_pipeline

    ui = ChatUI(build_pipeline(settings), settings.corpus_dir)
    return ui.launch(host=host, port=port, **kwargs)


__all__ = ["ChatUI", "launch", "render_documents", "render_message", "safe_filename", "save_uploads"]
