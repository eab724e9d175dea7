"""HTML for the web UI: escaping, answers with their sources, the timeline, the documents
table, CSS, and the one script the page adds (copying a citation).

Pure functions from data to HTML strings; nothing here imports Gradio, so each is
tested on its own. Every piece of document text and every file name goes through
``esc`` before it is put into HTML, and each fragment is kept on one line
(``one_line``): the Chatbot reads messages as Markdown, and one raw HTML block with
no blank line is never re-interpreted.

Each source and each timeline entry carries a « Copier la citation » button whose
``value`` attribute holds ``rag.answer.citation_line`` of it, escaped. Scripts in the
rendered HTML never run (the Chatbot's sanitiser removes them, and it keeps only
listed attributes: ``button``, ``type``, ``class`` and ``value`` stay, ``data-*`` and
every ``on*`` go), so the copying is done by ``COPY_JS``, installed once by the app,
which listens for clicks on ``button.rag-copy`` anywhere in the page.

Worked example::

    render_answer_text("2900 ETP [1]")
    -> '<div class="rag-answer">2900 ETP &#91;1&#93;</div>'
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from rag.answer import Answer, Citation, citation_line
from rag.dates import format_date
from rag.text import analyze, extract_quantities
from rag.timeline import Entry

log = logging.getLogger(__name__)

NO_INDEX = ("Aucun document n'est encore indexé. Ajoutez des fichiers dans l'onglet "
            "« Documents », ou lancez l'application avec --corpus DOSSIER.")
CONTEXT_CHARS = 600  # page text shown on each side of a quote when a source is expanded
COPY_LABEL = "Copier la citation"
COPIED_LABEL = "Citation copiée"
COPY_FAILED = "Copie impossible : sélectionnez la citation et copiez-la à la main"
UNDATED = "date inconnue"


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


def one_line(fragment: str) -> str:
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
    return one_line("".join(parts))


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
    return one_line(
        ("… " if a > 0 else "") + esc(page[a:start])
        + f'<mark class="rag-here">{esc(page[start:end])}</mark>'
        + esc(page[end:b]) + (" …" if b < len(page) else "")
    )


# --- rendering messages and the documents table -----------------------------------------------

def render_answer_text(text: str, abstained: bool = False, pending: bool = False,
                       outcome: str = "") -> str:
    cls = ("rag-answer" + (" rag-abstain" if abstained else "") + (" rag-pending" if pending else "")
           + (f" rag-{outcome}" if outcome else ""))
    return f'<div class="{cls}">{one_line(esc(text))}</div>'


def copy_button(c: Citation) -> str:
    """The « Copier la citation » button of a source: its ``value`` is ``citation_line(c)``.

    Quote ``a < b & "c"`` -> ``value="« a &lt; b &amp; &quot;c&quot; » (…)"``: the browser
    reads the attribute back as the line itself, and ``COPY_JS`` copies it.
    """
    return (f'<button type="button" class="rag-copy" value="{esc(citation_line(c))}">'
            f"{COPY_LABEL}</button>")


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
        f"{copy_button(c)}{details}</div>"
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


def render_timeline(subject: str, entries: Sequence[Entry]) -> str:
    """The « Chronologie » tab's result: one block per document, in the order given.

    ``rag.timeline.timeline`` gives the order (by date, undated last); each entry shows
    its date in words (« date inconnue » when none), union, instance, title, file and
    page, the sentence quoted with the subject's words marked, and its copy button.
    """
    if not entries:
        return notice(f"Aucun document indexé ne parle de « {subject} ».", "info")
    n = len(entries)
    out = [f'<div class="rag-timeline"><div class="rag-timeline-head">Chronologie : '
           f'« {esc(subject)} » — {n} document{"s" if n > 1 else ""}</div><ol class="rag-entries">']
    for e in entries:
        date = (f'<span class="rag-date">{esc(format_date(e.date))}</span>' if e.date
                else f'<span class="rag-date rag-undated">{UNDATED}</span>')
        who = " · ".join(esc(x) for x in (e.union, e.instance) if x)
        where = [f'<span class="rag-file">{esc(e.source)}</span>']
        if e.page:
            where.append(f"page {e.page}")
        out.append(
            '<li class="rag-entry">'
            f'<div class="rag-entry-head">{date}{" · " + who if who else ""}</div>'
            f'<div class="rag-source-title">{esc(e.title)}</div>'
            f'<div class="rag-meta">{" · ".join(where)}</div>'
            f'<blockquote class="rag-quote">« {highlight_html(e.quote, subject, "")} »</blockquote>'
            f"{copy_button(e.citation())}</li>"
        )
    out.append("</ol></div>")
    return one_line("".join(out))


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
            f'<td>{esc(_when(f.get("indexed_at")))}</td>'
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
    return one_line("".join(out))


def _when(stamp: object) -> str:
    """"2025-02-01T10:00:00" -> "1er février 2025 à 10:00"."""
    day, _, time = str(stamp or "").partition("T")
    return f"{format_date(day)} à {time[:5]}" if time else format_date(day or None)


def notice(text: str, kind: str = "info") -> str:
    """A status line (kind: info, ok, error), escaped."""
    return f'<div class="rag-notice rag-{kind}">{one_line(esc(text))}</div>' if text else ""


def render_question(question: str) -> str:
    """The user's side of an exchange, escaped."""
    return f'<div class="rag-question">{one_line(esc(question))}</div>'


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
/* Gradio writes these two in English, outside its translations: the French is shown instead */
#upload .uploading { display: none; }
#upload div:has(> .uploading)::before { content: "Envoi en cours…"; }
#upload td.download { display: none; }
table.rag-docs th, table.rag-docs td { border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important;
  padding: .3em .5em; text-align: left; vertical-align: top; }
td.rag-num { text-align: right; }
.rag-docs-count { margin: .3em 0 .6em 0; font-weight: 600; }
.rag-skipped { margin-top: 1em; }
.rag-skipped-head { font-weight: 600; }
button.rag-copy { font-size: .85em; margin: .1em 0 .3em 0; padding: .15em .6em; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 6px;
  background: var(--background-fill-primary); color: var(--body-text-color); }
button.rag-copy:hover { border-color: var(--color-accent); }
button.rag-copy.rag-copied { background: #e7f6ea; color: #14532d; }
.rag-timeline-head { font-weight: 600; margin: .3em 0 .6em 0; }
ol.rag-entries { list-style: none; padding: 0; margin: 0; }
li.rag-entry { margin: 0 0 1em 0; padding-left: .8em; border-left: 3px solid var(--border-color-primary); }
.rag-date { font-weight: 700; }
.rag-undated { font-style: italic; font-weight: 400; opacity: .8; }
"""

# Installed once by the app (``launch(js=...)``): Gradio runs it when the page loads.
# One listener on the document, in the capture phase, serves every copy button, those
# of answers streamed in later included. On http://127.0.0.1 the Clipboard API may be
# missing or refused: a hidden textarea and ``execCommand("copy")`` take over.
COPY_JS = """
() => {
  if (window.ragCopyInstalled) return;
  window.ragCopyInstalled = true;
  const byHand = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    area.remove();
    return ok;
  };
  const copy = async (text) => {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      try { await navigator.clipboard.writeText(text); return true; } catch (err) { /* by hand */ }
    }
    return byHand(text);
  };
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.rag-copy") : null;
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const ok = await copy(button.value);
    button.focus();
    button.textContent = ok ? COPIED : FAILED;
    button.classList.toggle("rag-copied", ok);
  }, true);
}
""".replace("COPIED", json.dumps(COPIED_LABEL, ensure_ascii=False)).replace(
    "FAILED", json.dumps(COPY_FAILED, ensure_ascii=False))

__all__ = ["COPIED_LABEL", "COPY_JS", "COPY_LABEL", "CSS", "NO_INDEX", "UNDATED", "context_html",
           "copy_button", "esc", "highlight_html", "highlight_spans", "notice",
           "one_line", "render_answer_text", "render_citation", "render_documents", "render_message",
           "render_question", "render_timeline"]
