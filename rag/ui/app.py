"""The Gradio app: ``ChatUI`` lays out the chat, the timeline and the documents tab over a pipeline.

``ChatUI(pipeline, corpus_dir)`` receives a built ``Pipeline`` (or anything with the
same ``stream`` / ``build`` / ``index`` / ``has_index`` methods) and makes a
``gr.Blocks`` app from it; ``launch(pipeline)`` serves it. Nothing here builds a
pipeline: ``rag ui`` (and ``app.py`` through it) builds the one the app uses. The
handlers (``respond``, ``show_timeline``, ``add_files``…) are plain methods, so tests
call them without a browser.

What a user sees, in French (Gradio's own words too: rag.ui.i18n):

- **Discussion**: each answer streams in, then its sources (rag.ui.render). On an
  empty chat, example questions built from the indexed documents
  (rag.ui.examples); filters by document, union and dates. Each source has a
  « Copier la citation » button: the quote with whose words, where and when
  (rag.answer.citation_line), ready to paste.
- **Chronologie**: every document that speaks of a subject (rag.timeline), by date,
  undated last, each with its sentence and its own copy button; filters by union
  and dates.
- **Documents**: the indexed documents, the files that could not be read with the
  reason, and an upload box. Uploads are checked by ingest's own rules
  (rag.ui.uploads), saved in the corpus folder, then indexed incrementally with a
  progress bar.

What it leaves out: user accounts, deleting documents from the UI (remove the
file from the folder and re-index), chat history across sessions.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from gradio.components.chatbot import ExampleMessage  # noqa: E402

from rag.answer import Answer  # noqa: E402
from rag.dates import parse_date  # noqa: E402
from rag.ingest import accepted_formats  # noqa: E402
from rag.retrieve import Filters  # noqa: E402
from rag.timeline import timeline  # noqa: E402
from rag.ui.examples import Page, example_questions  # noqa: E402
from rag.ui.i18n import french_i18n  # noqa: E402
from rag.ui.render import (  # noqa: E402
    COPY_JS,
    CSS,
    NO_INDEX,
    esc,
    notice,
    render_answer_text,
    render_documents,
    render_message,
    render_question,
    render_timeline,
)
from rag.ui.uploads import save_uploads  # noqa: E402

log = logging.getLogger(__name__)

EMPTY_QUESTION = "Écrivez une question avant d'envoyer."
EMPTY_SUBJECT = "Écrivez un sujet (un mot ou quelques mots) avant de demander sa chronologie."
INTERNAL_ERROR = ("Une erreur interne est survenue ; la question n'a pas pu être traitée. "
                  "Réessayez, et si cela se reproduit, signalez-le avec la question posée.")
# Index build phases (rag.store progress) -> (what the progress bar says, what it counts)
PHASES = {"attente": ("Attente de l'indexation en cours", "étape"),
          "lecture": ("Lecture des documents", "fichiers"),
          "embeddings": ("Calcul des vecteurs", "passages"),
          "analyse": ("Analyse des phrases", "phrases"),
          "écriture": ("Écriture de l'index", "étape")}
ALL_UNIONS = "Tous"
EXAMPLE_PAGES = 3  # pages of a document read to find its example question

ProgressCb = Callable[[str, int, int], None]


class ChatUI:
    """The Gradio app over a pipeline. ``build()`` makes the Blocks; handlers are testable.

    ``corpus_dir`` is the folder indexed on first use and where uploads are
    saved (None: uploads disabled). ``max_upload_mb`` defaults to the
    pipeline's ``max_file_mb`` so that what is accepted can also be indexed.
    ``examples`` fixes the example questions; by default they are built from the
    indexed documents and follow the index as it changes.
    """

    def __init__(self, pipeline: Any, corpus_dir: Path | None = None,
                 examples: Sequence[str] | None = None, max_upload_mb: float | None = None,
                 title: str = "Assistant documentaire syndical") -> None:
        self.pipeline = pipeline
        self.corpus_dir = Path(corpus_dir) if corpus_dir is not None else None
        self.fixed_examples = list(examples) if examples is not None else None
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

    def examples(self) -> list[str]:
        """The example questions for the index as it is now; none without an index."""
        if self.fixed_examples is not None:
            return list(self.fixed_examples)
        try:
            docs, _ = self.documents()
            if not docs:
                return []
            index = self.pipeline.index
        except Exception:  # examples are a bonus: a broken index is reported elsewhere
            log.exception("could not read the index for example questions")
            return []

        def pages_of(source: str) -> list[Page]:
            f = docs[source]
            numbers: list[int | None] = [None]
            if f.get("paged"):
                numbers = [*range(1, min(int(f.get("pages") or 1), EXAMPLE_PAGES) + 1)]
            out: list[Page] = []
            for n in numbers:
                analysis = index.analysis(source, n)
                out.append((str(index.page_text(source, n)), analysis.toks if analysis else []))
            return out

        return example_questions(docs, pages_of)

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

    # -- timeline -------------------------------------------------------------------------
    def show_timeline(self, subject: str | None, union: str | None = None, after: str | None = None,
                      before: str | None = None, progress: ProgressCb | None = None) -> str:
        """The « Chronologie » tab: every document speaking of ``subject``, by date (HTML)."""
        s = " ".join((subject or "").split())
        if not s:
            return notice(EMPTY_SUBJECT, "error")
        try:
            filters = self.make_filters(None, union, after, before)
        except ValueError as exc:
            return notice(str(exc), "error")
        try:
            if self.ensure_index(progress) == NO_INDEX:
                return notice(NO_INDEX, "error")
            return render_timeline(s, timeline(self.pipeline.index, s, filters))
        except Exception as exc:
            return notice(_user_message(exc), "error")

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
                desc, unit = PHASES.get(phase, (phase, "pages"))  # "OCR file.pdf": pages read
                p((done, max(total, 1)), desc=desc, unit=unit)
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

        def on_timeline(subject: str, union: str, after: str, before: str,
                        progress: Any = gr.Progress()) -> str:  # noqa: B008
            return self.show_timeline(subject, union, after, before, gr_progress(progress))

        def on_clear() -> tuple[Any, ...]:
            return [], [], ""

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
                        examples=_example_messages(self.examples()),
                        buttons=["copy"],
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            elem_id="question", label="Votre question", show_label=False, scale=8,
                            lines=1, max_lines=4,
                            placeholder="Votre question sur les documents indexés",
                            autofocus=True)
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
                        f_after, f_before = _period_boxes("filter")
                with gr.Tab("Chronologie", id="timeline-tab"):
                    gr.Markdown("Tous les documents indexés qui parlent d'un sujet, du plus ancien "
                                "au plus récent (les documents sans date à la fin), chacun avec la "
                                "phrase qui en parle.")
                    with gr.Row():
                        t_subject = gr.Textbox(label="Sujet", elem_id="timeline-subject", scale=4,
                                               lines=1, max_lines=1,
                                               placeholder="Un mot ou quelques mots")
                        t_union = gr.Dropdown(label="Syndicat", choices=[ALL_UNIONS],
                                              value=ALL_UNIONS, elem_id="timeline-union", scale=1)
                    t_after, t_before = _period_boxes("timeline")
                    t_go = gr.Button("Voir la chronologie", variant="primary", elem_id="timeline-go")
                    t_html = gr.HTML("", elem_id="timeline")
                with gr.Tab("Documents", id="docs-tab"):
                    docs_html = gr.HTML("", elem_id="documents")
                    gr.Markdown(f"### Ajouter des documents\nFormats acceptés : {accepted_formats()} ; "
                                f"{self.max_upload_mb:g} Mo au plus par fichier. Les fichiers sont "
                                "copiés dans le dossier des documents puis indexés.")
                    upload = gr.File(label="Fichiers à ajouter", file_count="multiple",
                                     elem_id="upload", interactive=self.corpus_dir is not None)
                    with gr.Row():
                        add = gr.Button("Ajouter et indexer", variant="primary", elem_id="add")
                        rescan = gr.Button("Réindexer le dossier", elem_id="rescan")
                    upload_status = gr.HTML("", elem_id="upload-status")

            refresh = [docs_html, f_docs, f_union, t_union, chat]
            chat_io = dict(inputs=[question, turns, f_docs, f_union, f_after, f_before],
                           outputs=[chat, turns, question, chat_status])
            demo.load(on_load, outputs=[index_status, *refresh])
            question.submit(on_submit, **chat_io)  # type: ignore[arg-type]
            send.click(on_submit, **chat_io)  # type: ignore[arg-type]
            chat.example_select(on_example, inputs=[turns, f_docs, f_union, f_after, f_before],
                                outputs=chat_io["outputs"])
            clear.click(on_clear, outputs=[chat, turns, chat_status])
            timeline_io = dict(inputs=[t_subject, t_union, t_after, t_before], outputs=[t_html])
            t_subject.submit(on_timeline, **timeline_io)  # type: ignore[arg-type]
            t_go.click(on_timeline, **timeline_io)  # type: ignore[arg-type]
            add.click(on_upload, inputs=[upload], outputs=[upload_status, upload, *refresh])
            rescan.click(on_reindex, outputs=[upload_status, *refresh])
        self.demo = demo
        return demo

    def _refresh_outputs(self) -> tuple[Any, Any, Any, Any, Any]:
        """What follows the index: the documents table, the filters (chat, timeline), the
        chat's examples."""
        docs, unions = self.filter_choices()
        return (self.documents_html(), gr.update(choices=docs), gr.update(choices=unions),
                gr.update(choices=unions), gr.update(examples=_example_messages(self.examples())))

    def launch(self, host: str = "127.0.0.1", port: int | None = None, **kwargs: Any) -> Any:
        demo = getattr(self, "demo", None) or self.build()
        kwargs.setdefault("i18n", french_i18n())
        return demo.launch(server_name=host, server_port=port, css=CSS, js=COPY_JS, footer_links=[],
                           max_file_size=f"{int(self.max_upload_mb * 2) + 1}mb", **kwargs)


def _period_boxes(prefix: str) -> tuple[Any, Any]:
    """The two date boxes of a period filter, on one row (``<prefix>-after``, ``-before``)."""
    with gr.Row():
        after = gr.Textbox(label="Documents datés à partir du", placeholder="JJ/MM/AAAA",
                           elem_id=f"{prefix}-after")
        before = gr.Textbox(label="jusqu'au", placeholder="JJ/MM/AAAA", elem_id=f"{prefix}-before")
    return after, before


def _example_messages(questions: Sequence[str]) -> list[ExampleMessage] | None:
    return [ExampleMessage(text=q) for q in questions] or None


def _messages(turns: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for t in turns:
        out.append({"role": "user", "content": render_question(t["question"])})
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


def launch(pipeline: Any, host: str = "127.0.0.1", port: int | None = None,
           corpus_dir: Path | None = None, **kwargs: Any) -> Any:
    """Serve the UI over ``pipeline`` (blocks until stopped unless told otherwise).

    ``corpus_dir`` defaults to the pipeline's ``settings.corpus_dir``.
    """
    if corpus_dir is None:
        corpus_dir = getattr(getattr(pipeline, "settings", None), "corpus_dir", None)
    return ChatUI(pipeline, corpus_dir).launch(host=host, port=port, **kwargs)


__all__ = ["ALL_UNIONS", "EMPTY_QUESTION", "EMPTY_SUBJECT", "INTERNAL_ERROR", "PHASES", "ChatUI",
           "launch", "parse_date"]
