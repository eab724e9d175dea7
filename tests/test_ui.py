"""The web UI's class without a browser: rendering, escaping, uploads, messages, handlers."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from rag.answer import Answer, Citation
from rag.cli import cli
from rag.ui import (
    EMPTY_QUESTION,
    INTERNAL_ERROR,
    NO_INDEX,
    ChatUI,
    context_html,
    esc,
    highlight_html,
    parse_date,
    render_documents,
    render_message,
    safe_filename,
    save_uploads,
)
from tests.conftest import make_pipeline
from tests.docs import write_small_corpus

IMG = '<img src="x" onerror="window.__pwned=1">'
DETAILS = '<details open ontoggle="window.__pwned=2">x</details>'


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_small_corpus(tmp_path / "docs")


def _run(gen: Any) -> list[Any]:
    return list(gen)


def _no_live_html(fragment: str) -> None:
    """Parsed as a browser would, the markup holds only our own tags, no handler attribute."""
    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append((tag, attrs))

    parser = Tags()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag != "img", fragment
        assert not any(a.startswith("on") or a == "open" for a, _ in attrs), (tag, attrs)


# --- rendering -------------------------------------------------------------------------------

def test_sources_show_title_union_date_page_and_highlighted_figure() -> None:
    page = "Contexte avant. Or, le réel objectif est des gains d'efficacité de 2900 ETP d'ici 2027. Après."
    quote = "Or, le réel objectif est des gains d'efficacité de 2900 ETP d'ici 2027."
    start = page.index(quote)
    c = Citation(1, "cr/csec.pdf", "Un CSEC chargé", 3, quote, 0.9, start, start + len(quote),
                 union="CGT", doc_date="2025-01-30")
    ans = Answer("Combien d'ETP d'ici 2027 ?", "2900 ETP [1]", False, [c])
    out = render_message(ans, lambda s, p: page)
    assert "Un CSEC chargé" in out and "CGT" in out and "30 janvier 2025" in out and "page 3" in out
    assert '<mark class="rag-fig">2900 ETP</mark>' in out
    assert "<details" in out and "Contexte avant" in html.unescape(out)
    assert "\n" not in out  # one raw HTML block: Markdown never re-reads document text


def test_document_text_and_names_are_escaped_everywhere() -> None:
    quote = f"Le budget {DETAILS} est de 4 321 euros."
    c = Citation(1, f"{IMG}.md", f"Tract {IMG}", None, quote, 0.5, 0, len(quote), union="CGT")
    ans = Answer("Quel budget ?", f"4 321 euros — « {quote} » [1]", False, [c])
    out = render_message(ans, lambda s, p: f"avant {IMG} " + quote)
    _no_live_html(out)
    assert html.unescape(out).count(IMG) >= 2  # shown as text, as typed
    docs = render_documents({f"{IMG}.md": {"title": f"T {IMG}", "pages": 1, "chunks": 2,
                                           "indexed_at": "2025-02-01T10:00:00"}},
                            [{"path": f"{DETAILS}.pdf", "reason": "aucun texte"}])
    _no_live_html(docs)
    assert "aucun texte" in docs


def test_markdown_characters_in_documents_are_shown_as_typed() -> None:
    text = "window.__pwned et *étoiles* et [lien](javascript:alert(1))"
    assert html.unescape(esc(text)) == text
    assert "*" not in esc(text) and "_" not in esc(text) and "](" not in esc(text)


def test_highlight_marks_question_terms_and_answer_figure() -> None:
    out = highlight_html("La campagne publicitaire a coûté 2 millions d'euros.",
                         "Combien a coûté la campagne publicitaire ?", "2 millions d'euros [1]")
    assert '<mark class="rag-term">campagne</mark>' in out
    assert '<mark class="rag-fig">2 millions d&#x27;euros</mark>' in out


def test_context_falls_back_to_finding_the_quote() -> None:
    page = "début " * 200 + "LA PHRASE." + " fin" * 200
    out = context_html(page, 0, 3, "LA PHRASE.")  # wrong offsets
    assert '<mark class="rag-here">LA PHRASE.</mark>' in out
    assert out.startswith("… ") and out.endswith(" …")


def test_dates_typed_the_french_way() -> None:
    assert parse_date("30/01/2025", "x") == "2025-01-30"
    assert parse_date("2025-01-30", "x") == "2025-01-30"
    assert parse_date("  ", "x") is None
    with pytest.raises(ValueError, match="JJ/MM/AAAA"):
        parse_date("31/02/2025", "x")


# --- uploads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("../../x.txt", "x.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/etc/passwd", "passwd"),
    ("..", "document"),
    ("", "document"),
    (".bashrc.txt", "bashrc.txt"),
    ("Compte rendu CSE (janvier).pdf", "Compte rendu CSE (janvier).pdf"),
])
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_drops_markup_and_control_characters() -> None:
    out = safe_filename(f"{IMG}\x00\n.md")
    assert out.endswith(".md") and not set(out) & set('<>"=/\\\x00\n')
    assert len(safe_filename("a" * 500 + ".pdf")) <= 130


def _upload(tmp: Path, orig_name: str, data: bytes) -> SimpleNamespace:
    """What Gradio hands over: a temporary file and the name the user's file had."""
    p = tmp / f"upload-{len(list(tmp.iterdir()))}"
    p.write_bytes(data)
    return SimpleNamespace(name=str(p), orig_name=orig_name)


def test_upload_names_cannot_escape_the_corpus_folder(tmp_path: Path) -> None:
    up = tmp_path / "up"
    up.mkdir()
    corpus = tmp_path / "a" / "b" / "corpus"
    report = save_uploads([_upload(up, "../../x.txt", b"bonjour"),
                           _upload(up, "../../../corpus2/y.md", b"salut")], corpus, 10)
    assert sorted(p.name for p in corpus.iterdir()) == ["x.txt", "y.md"]
    assert not (tmp_path / "a" / "x.txt").exists() and not (tmp_path / "a" / "b" / "x.txt").exists()
    assert [s for _, s in report.saved] == ["x.txt", "y.md"]


def test_upload_type_size_and_content_limits_have_french_reasons(tmp_path: Path) -> None:
    up = tmp_path / "up"
    up.mkdir()
    corpus = tmp_path / "corpus"
    report = save_uploads([
        _upload(up, "virus.exe", b"MZ..."),
        _upload(up, "gros.txt", b"x" * 2_100_000),
        _upload(up, "faux.pdf", b"<html>pas un pdf</html>"),
        _upload(up, "vide.md", b""),
        _upload(up, "ok.txt", b"Un texte."),
    ], corpus, max_mb=2)
    reasons = dict(report.refused)
    assert "type de fichier non accepté" in reasons["virus.exe"] and "PDF, DOCX" in reasons["virus.exe"]
    assert "trop volumineux" in reasons["gros.txt"] and "2 Mo" in reasons["gros.txt"]
    assert "ne correspond pas à un fichier PDF" in reasons["faux.pdf"]
    assert reasons["vide.md"] == "fichier vide"
    assert [p.name for p in corpus.iterdir()] == ["ok.txt"]
    msg = html.unescape(report.html())
    assert "Refusé : virus.exe" in msg and "Ajouté : ok.txt" in msg


def test_same_name_other_content_is_kept_beside(tmp_path: Path) -> None:
    up = tmp_path / "up"
    up.mkdir()
    corpus = tmp_path / "corpus"
    save_uploads([_upload(up, "cr.txt", b"version 1")], corpus, 10)
    again = save_uploads([_upload(up, "cr.txt", b"version 1")], corpus, 10)
    other = save_uploads([_upload(up, "cr.txt", b"version 2")], corpus, 10)
    assert again.unchanged == ["cr.txt"]
    assert other.saved == [("cr.txt", "cr (2).txt")]
    assert (corpus / "cr.txt").read_bytes() == b"version 1"


# --- the chat handler ------------------------------------------------------------------------

def test_empty_question_is_a_message_not_an_exchange(tmp_path: Path) -> None:
    ui = ChatUI(make_pipeline(tmp_path / "idx"), None)
    (msgs, turns, box, status), = _run(ui.respond("   ", []))
    assert msgs == [] and turns == []
    assert EMPTY_QUESTION in html.unescape(status)


def test_no_index_and_no_folder_says_what_to_do(tmp_path: Path) -> None:
    ui = ChatUI(make_pipeline(tmp_path / "idx"), None)
    msgs, turns, _, status = _run(ui.respond("Combien ?", []))[-1]
    assert html.unescape(NO_INDEX) in html.unescape(status)
    assert "Traceback" not in msgs[-1]["content"]


def test_first_question_builds_the_index_with_progress_then_streams(tmp_path: Path,
                                                                   corpus: Path) -> None:
    ui = ChatUI(make_pipeline(tmp_path / "idx"), corpus)
    phases: list[str] = []
    steps = _run(ui.respond("Combien a coûté la campagne publicitaire France Travail PRO ?", [],
                            progress=lambda ph, d, t: phases.append(ph)))
    assert {"lecture", "embeddings", "écriture"} <= set(phases)
    assert len(steps) > 3  # placeholder, pieces of the answer, final message with sources
    msgs, turns, box, status = steps[-1]
    assert box == "" and "Index construit" in html.unescape(status)
    final = html.unescape(msgs[-1]["content"])
    assert "2 millions d'euros" in final and "Sources" in final and "tract.md" in final
    assert turns[-1]["answer"].startswith("2 millions")
    # The next question carries the conversation so far.
    msgs2, turns2, _, _ = _run(ui.respond("Que demandent les élus pour l'accueil téléphonique ?",
                                          turns))[-1]
    assert len(msgs2) == 4 and "effectifs" in html.unescape(msgs2[-1]["content"])


def test_filters_restrict_to_chosen_documents(tmp_path: Path, corpus: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    msgs, *_ = _run(ui.respond("Combien a coûté la campagne publicitaire France Travail PRO ?", [],
                               sources=["cr.txt"]))[-1]
    assert "tract.md" not in html.unescape(msgs[-1]["content"])
    docs, unions = ui.filter_choices()
    assert {s for _, s in docs} == {"cr.txt", "tract.md"} and "CGT" in unions


def test_bad_date_filter_is_explained(tmp_path: Path, corpus: Path) -> None:
    ui = ChatUI(make_pipeline(tmp_path / "idx"), corpus)
    (_, turns, box, status), = _run(ui.respond("Combien ?", [], after="demain"))
    assert turns == [] and box == "Combien ?"
    assert "non reconnue" in html.unescape(status)


def test_internal_error_shows_a_message_not_a_trace(tmp_path: Path) -> None:
    class Broken:
        settings = None

        def has_index(self) -> bool:
            return True

        def stream(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("boom at line 42")

    ui = ChatUI(Broken(), None)
    msgs, _, _, status = _run(ui.respond("Combien ?", []))[-1]
    assert html.unescape(INTERNAL_ERROR) in html.unescape(status)
    assert "boom" not in status and "boom" not in msgs[-1]["content"]


# --- documents tab ---------------------------------------------------------------------------

def test_upload_is_indexed_incrementally_and_answerable(tmp_path: Path, corpus: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    up = tmp_path / "up"
    up.mkdir()
    phases: list[str] = []
    status = html.unescape(ui.add_files(
        [_upload(up, "../prime.md", "# Note du SNAP sur la prime de fin d'année\n\n"
                 "La prime de Bourgogne est de 1 234 euros.\n".encode()),
         _upload(up, "scan.xyz", b"data")],
        progress=lambda ph, d, t: phases.append(ph)))
    assert (corpus / "prime.md").is_file()
    assert "Ajouté : prime.md" in status and "Refusé : scan.xyz" in status
    assert "1 document(s) (ré)indexé(s), 2 inchangé(s)" in status and "Indexé : « Note du SNAP" in status
    assert "embeddings" in phases
    table = html.unescape(ui.documents_html())
    assert "Note du SNAP" in table and "3 documents indexés" in table
    msgs, *_ = _run(ui.respond("Quelle est la prime de Bourgogne ?", []))[-1]
    assert "1 234" in html.unescape(msgs[-1]["content"])


def test_unreadable_files_are_listed_with_their_reason(tmp_path: Path, corpus: Path) -> None:
    (corpus / "vide.txt").write_text("   \n", encoding="utf-8")
    pipe = make_pipeline(tmp_path / "idx")
    ui = ChatUI(pipe, corpus)
    assert "Index construit" in ui.ensure_index()
    table = html.unescape(re.sub(r"<[^>]+>", " ", ui.documents_html()))
    assert "Fichiers non indexés" in table and "vide.txt  — " in table
    assert "Tract CGT sur la campagne France Travail PRO" in table


def test_upload_without_corpus_folder_is_refused_clearly(tmp_path: Path) -> None:
    ui = ChatUI(make_pipeline(tmp_path / "idx"), None)
    assert "--corpus" in html.unescape(ui.add_files([str(tmp_path)]))
    assert "Choisissez" in html.unescape(ui.add_files([]))


def test_blocks_build(tmp_path: Path, corpus: Path) -> None:
    import gradio as gr

    assert isinstance(ChatUI(make_pipeline(tmp_path / "idx"), corpus).build(), gr.Blocks)


# --- launching -------------------------------------------------------------------------------

def test_rag_ui_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("rag.ui.launch", lambda settings, **kw: calls.append({"s": settings, **kw}))
    res = CliRunner().invoke(cli, ["ui", "--corpus", str(tmp_path), "--port", "7999"])
    assert res.exit_code == 0, res.output
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 7999
    assert calls[0]["s"].corpus_dir == tmp_path
    res = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0"])
    assert "accessible depuis le réseau" in res.output
    assert calls[1]["s"].corpus_dir == Path("documents")
