"""The web UI: a Gradio chat over the pipeline, with sources and a documents tab.

    render.py    escaping, answers with their sources and copy buttons, the timeline, the
                 documents table, CSS and the copy script (no Gradio)
    uploads.py   saving uploaded files: safe names, ingest's checks (rag.ingest.check_upload)
    examples.py  example questions built from the indexed documents
    i18n.py      Gradio's built-in words in French, whatever the browser's language
    app.py       ``ChatUI`` (chat, timeline, documents: layout and handlers) over a pipeline
                 it receives, and ``launch``

Safety: every piece of document text and every file name is HTML-escaped before
it is put into HTML, and the Chatbot keeps Gradio's own sanitiser on as a second
fence. ``from rag.ui import ...`` gives the names below; importing the package
imports Gradio (``rag.ui.render`` alone does not).
"""

from rag.ui.app import (
    ALL_UNIONS,
    EMPTY_QUESTION,
    EMPTY_SUBJECT,
    INTERNAL_ERROR,
    PHASES,
    ChatUI,
    launch,
    parse_date,
)
from rag.ui.examples import example_question, example_questions, is_sample_corpus
from rag.ui.render import (
    COPY_JS,
    CSS,
    NO_INDEX,
    context_html,
    copy_button,
    esc,
    highlight_html,
    highlight_spans,
    notice,
    render_documents,
    render_message,
    render_timeline,
)
from rag.ui.uploads import UploadReport, safe_filename, save_uploads

__all__ = [
    "ALL_UNIONS", "COPY_JS", "CSS", "EMPTY_QUESTION", "EMPTY_SUBJECT", "INTERNAL_ERROR", "NO_INDEX",
    "PHASES", "ChatUI", "UploadReport", "context_html", "copy_button", "esc",
    "example_question", "example_questions", "highlight_html", "highlight_spans", "is_sample_corpus",
    "launch", "notice", "parse_date", "render_documents", "render_message", "render_timeline",
    "safe_filename", "save_uploads",
]
