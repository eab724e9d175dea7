"""The web UI's class without a browser: rendering, escaping, uploads, messages, handlers."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from rag.answer import Answer, Citation, citation_line
from rag.cli import cli
from rag.ingest import accepted_formats
from rag.ui import (
    EMPTY_QUESTION,
    EMPTY_SUBJECT,
    INTERNAL_ERROR,
    NO_INDEX,
    ChatUI,
    context_html,
    esc,
    example_question,
    example_questions,
    highlight_html,
    is_sample_corpus,
    parse_date,
    render_documents,
    render_message,
    safe_filename,
    save_uploads,
)
from rag.ui.examples import figure_question, sample_corpus, subject_question, title_question
from rag.ui.i18n import GRADIO_FR, GRADIO_LOCALES, french_i18n
from tests.conftest import CORPUS, make_pipeline
from tests.docs import write_small_corpus

IMG = '<img src="x" onerror="window.__pwned=1">'
DETAILS = '<details open ontoggle="window.__pwned=2">x</details>'


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_small_corpus(tmp_path / "docs")


def _run(gen: Any) -> list[Any]:
    return list(gen)


class _Buttons(HTMLParser):
    """The copy buttons of a fragment as a browser reads them: (value attribute, label)."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.found: list[tuple[str | None, str]] = []
        self._open = False
        self.feed(fragment)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "button" and "rag-copy" in (dict(attrs).get("class") or ""):
            self.found.append((dict(attrs).get("value"), ""))
            self._open = True

    def handle_data(self, data: str) -> None:
        if self._open:
            value, label = self.found[-1]
            self.found[-1] = (value, label + data)

    def handle_endtag(self, tag: str) -> None:
        self._open = self._open and tag != "button"


def _copy_buttons(fragment: str) -> list[tuple[str | None, str]]:
    return _Buttons(fragment).found


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


@pytest.mark.parametrize("outcome", ["answer", "unsure"])
def test_each_source_copies_its_citation_line_exactly(outcome: str) -> None:
    # written for this test: markup characters a tract may well hold
    quote = 'Le budget <b>2025</b> de la cantine & du "restaurant" passe à 4 321 euros.'
    c1 = Citation(1, "cr/cse.pdf", "Compte rendu du CSE", 3, quote, 0.9, 0, len(quote),
                  union="SNAP", instance="CSE Bretagne", doc_date="2025-02-04")
    c2 = Citation(2, "tract.md", "Tract <i>cantine</i>", None, "Non aux fermetures.", 0.4)
    ans = Answer("Quel budget ?", "4 321 euros [1]" if outcome == "answer" else "Je ne sais pas.",
                 False, [c1, c2], outcome=outcome)  # type: ignore[arg-type]
    out = render_message(ans)
    assert _copy_buttons(out) == [
        ('« Le budget <b>2025</b> de la cantine & du "restaurant" passe à 4 321 euros. » '
         "(SNAP, CSE Bretagne, 4 février 2025, p. 3)", "Copier la citation"),
        ("« Non aux fermetures. » (« Tract <i>cantine</i> »)", "Copier la citation"),
    ]
    assert [v for v, _ in _copy_buttons(out)] == [citation_line(c1), citation_line(c2)]
    assert "<b>" not in out and "<i>" not in out and "&lt;b&gt;2025" in out
    _no_live_html(out)


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
    assert accepted_formats() in reasons["virus.exe"]  # ingest's list, the one the index reads by
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


# --- the timeline tab ------------------------------------------------------------------------

def _timeline_corpus(folder: Path) -> Path:
    """Three documents on the cantine, written out of date order; one undated."""
    folder.mkdir()
    (folder / "a-tract.md").write_text(f"# Tract {IMG} sur la cantine\n\n"
                                       f"La cantine {DETAILS} du site fermera en août.\n",
                                       encoding="utf-8")
    (folder / "b-cr.md").write_text("# Compte rendu de la séance du 4 février 2025\n\n"
                                    "La CGT demande la réouverture de la cantine.\n", encoding="utf-8")
    (folder / "c-cr.md").write_text("# Compte rendu de la séance du 12 mars 2024\n\n"
                                    "Les élus du SNAP s'inquiètent du prix de la cantine.\n",
                                    encoding="utf-8")
    return folder


def _shown(fragment: str) -> list[tuple[str, str]]:
    """(date as shown, file) of each timeline entry, in page order."""
    return [(html.unescape(d), html.unescape(f)) for d, f in re.findall(
        r'<span class="rag-date[^"]*">([^<]*)</span>.*?<span class="rag-file">([^<]*)</span>',
        fragment)]


def test_timeline_lists_documents_by_date_undated_last_each_with_its_line(tmp_path: Path) -> None:
    corpus = _timeline_corpus(tmp_path / "docs")
    ui = ChatUI(make_pipeline(tmp_path / "idx"), corpus)
    out = ui.show_timeline("  cantine ")  # the index is built on first use
    assert "Chronologie : « cantine » — 3 documents" in html.unescape(out)
    assert _shown(out) == [("12 mars 2024", "c-cr.md"), ("4 février 2025", "b-cr.md"),
                           ("date inconnue", "a-tract.md")]
    lines = [v for v, _ in _copy_buttons(out)]
    assert lines[:2] == ["« Les élus du SNAP s'inquiètent du prix de la cantine. » (SNAP, 12 mars 2024)",
                         "« La CGT demande la réouverture de la cantine. » (CGT, 4 février 2025)"]
    assert len(lines) == 3 and str(lines[2]).startswith('« Tract <img src="x" onerror=')  # as text
    assert '<mark class="rag-term">cantine</mark>' in out
    _no_live_html(out)
    # the filters: dates (undated documents are then left out) and union
    assert _shown(ui.show_timeline("cantine", after="01/01/2025")) == [("4 février 2025", "b-cr.md")]
    assert _shown(ui.show_timeline("cantine", union="SNAP")) == [("12 mars 2024", "c-cr.md")]


def test_timeline_says_why_it_shows_nothing(tmp_path: Path) -> None:
    corpus = _timeline_corpus(tmp_path / "docs")
    ui = ChatUI(make_pipeline(tmp_path / "idx"), corpus)
    empty = ui.show_timeline("   ")
    assert EMPTY_SUBJECT in html.unescape(empty) and "rag-error" in empty
    assert "Aucun document indexé ne parle de « piscine <b>municipale</b> »." in html.unescape(
        ui.show_timeline("piscine <b>municipale</b>"))
    assert "<b>" not in ui.show_timeline("piscine <b>municipale</b>")
    assert "non reconnue" in html.unescape(ui.show_timeline("cantine", before="hier"))
    assert html.unescape(NO_INDEX) in html.unescape(
        ChatUI(make_pipeline(tmp_path / "none"), None).show_timeline("cantine"))


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


# --- example questions, built from documents written here -----------------------------------

@pytest.mark.parametrize("sentence, question", [
    ("Le budget de la cantine est de 4 321 euros pour 2025.",
     "Le budget de la cantine est de combien pour 2025 ?"),
    ("Or, la direction prévoit de supprimer 45 postes de conseillers en 2025.",
     "La direction prévoit de supprimer combien de postes de conseillers en 2025 ?"),
    ("La direction annonce la fermeture de 12 agences dans le Finistère.",
     "La direction annonce la fermeture de combien d'agences dans le Finistère ?"),
    ("Le taux de participation au scrutin atteint 63 % dans la région.",
     "Le taux de participation au scrutin atteint quel pourcentage dans la région ?"),
    ("Le plan prévoit de gagner 350 ETP sur trois ans.", None),  # two figures: which one?
    ("Le plan prévoit de gagner 350 ETP d'ici 2028.", "Le plan prévoit de gagner combien d'ETP d'ici 2028 ?"),
    ("2 millions de personnes sont inscrites.", "Combien de personnes sont inscrites ?"),
    ("Les 45 agents du site ont signé la pétition.", None),  # "Les combien d'agents"
    ("La réunion s'est tenue le 14 mars 2025 à Rennes.", None),  # a date is no figure
    ("Le numéro d'appel des usagers reste le 3949.", None),  # a number counting nothing
    ("Elle a coûté 30 000 euros à la région.", None),  # "Elle": what?
    ("Cette prime atteint 300 euros par agent.", None),
    (f"Le budget {IMG} est de 4 321 euros.", None),  # markup never becomes a button
    ("Une campagne à 2 millions d'euros !", None),  # a heading, not a statement
    ("entre 29 et 39 % des personnes éligibles n'y ont pas recours.", None),  # a cut piece
])
def test_figure_questions(sentence: str, question: str | None) -> None:
    assert figure_question(sentence) == question


def _tokens(text: str, rows: list[tuple[str, str, str, str, int]]) -> list[list[Any]]:
    """rag.analyze tokens for ``text``, written by hand: (word, lemma, pos, dep, head)."""
    out: list[list[Any]] = []
    pos = 0
    for word, lemma, tag, dep, head in rows:
        start = text.index(word, pos)
        pos = start + len(word)
        out.append([start, pos, lemma, tag, dep, head, ""])
    return out


ELUS = "Les élus demandent des effectifs supplémentaires."
ELUS_TOKENS = [("Les", "le", "DET", "det", 1), ("élus", "élu", "NOUN", "nsubj", 2),
               ("demandent", "demander", "VERB", "ROOT", 2), ("des", "un", "DET", "det", 4),
               ("effectifs", "effectif", "NOUN", "obj", 2),
               ("supplémentaires", "supplémentaire", "ADJ", "amod", 4), (".", ".", "PUNCT", "punct", 2)]
PLAN = "La direction a annoncé un plan de formation."
PLAN_TOKENS = [("La", "le", "DET", "det", 1), ("direction", "direction", "NOUN", "nsubj", 3),
               ("a", "avoir", "AUX", "aux:tense", 3), ("annoncé", "annoncer", "VERB", "ROOT", 3),
               ("un", "un", "DET", "det", 5), ("plan", "plan", "NOUN", "obj", 3),
               ("de", "de", "ADP", "case", 7), ("formation", "formation", "NOUN", "nmod", 5),
               (".", ".", "PUNCT", "punct", 3)]
NEGATED = "La direction ne prévoit pas de recrutement."
NEGATED_TOKENS = [("La", "le", "DET", "det", 1), ("direction", "direction", "NOUN", "nsubj", 3),
                  ("ne", "ne", "ADV", "advmod", 3), ("prévoit", "prévoir", "VERB", "ROOT", 3),
                  ("pas", "pas", "ADV", "advmod", 3), ("de", "de", "DET", "det", 6),
                  ("recrutement", "recrutement", "NOUN", "obj", 3), (".", ".", "PUNCT", "punct", 3)]


def test_subject_questions_put_the_verb_before_its_subject() -> None:
    assert subject_question(ELUS, 0, len(ELUS), _tokens(ELUS, ELUS_TOKENS)) == "Que demandent les élus ?"
    assert subject_question(PLAN, 0, len(PLAN), _tokens(PLAN, PLAN_TOKENS)) == "Qu'a annoncé la direction ?"
    # a negation would turn the sentence around; without tokens there is nothing to read
    assert subject_question(NEGATED, 0, len(NEGATED), _tokens(NEGATED, NEGATED_TOKENS)) is None
    assert subject_question(ELUS, 0, len(ELUS), []) is None


def test_one_question_per_document_figure_then_subject_then_title() -> None:
    page = "Compte rendu de la commission\n\n" + ELUS + " Le budget voté est de 5 000 euros."
    assert example_question("Compte rendu", [(page, [])]) == "Le budget voté est de combien ?"
    shift = len("Compte rendu de la commission\n\n")
    tokens = [[a + shift, b + shift, *rest] for a, b, *rest in _tokens(ELUS, ELUS_TOKENS)]
    assert example_question("Compte rendu", [(page[:shift] + ELUS, tokens)]) == "Que demandent les élus ?"
    assert example_question("Note sur les horaires d'été", [("Horaires.", [])]) \
        == "Que dit le document « Note sur les horaires d'été » ?"
    assert title_question(f"Tract {IMG}") is None
    assert example_question(f"Tract {IMG}", [(f"{IMG} {DETAILS}", [])]) is None


def test_example_questions_one_per_document_newest_first() -> None:
    docs = {f"d{i}.txt": {"hash": f"h{i}", "title": f"Note numéro {i} du syndicat",
                          "indexed_at": f"2025-01-0{i}T10:00:00"} for i in range(1, 7)}
    towns = ["Brest", "Quimper", "Rennes", "Vannes", "Lorient", "Morlaix"]
    texts = {f"d{i}.txt": f"La section de {towns[i - 1]} a obtenu {i + 1} postes supplémentaires."
             for i in range(1, 7)}
    shown = example_questions(docs, lambda src: [(texts[src], [])])
    assert shown == [f"La section de {towns[i - 1]} a obtenu combien de postes supplémentaires ?"
                     for i in (6, 5, 4, 3)]
    same = example_questions(docs, lambda src: [("La section a obtenu 3 postes de plus.", [])])
    assert same == ["La section a obtenu combien de postes de plus ?"]  # never twice the same
    assert example_questions({}, lambda src: []) == []


def test_the_sample_corpus_is_recognised_by_its_files_hashes() -> None:
    sample = sample_corpus()
    docs = {f"x/{i}.txt": {"hash": h, "title": "T"} for i, h in enumerate(sorted(sample.hashes))}
    assert is_sample_corpus(docs)
    extra = {**docs, "mine.txt": {"hash": "autre", "title": "Note sur la cantine",
                                  "indexed_at": "2030-01-01T00:00:00"}}
    assert is_sample_corpus(extra)
    shown = example_questions(extra, lambda src: [("La cantine coûte 4 euros par repas.", [])])
    assert shown == [*sample.questions, "La cantine coûte combien par repas ?"]
    assert not is_sample_corpus(dict(list(docs.items())[1:]))  # four of the five are not it


def test_gradio_words_are_french_for_every_language_gradio_ships() -> None:
    import gradio

    core = next((Path(gradio.__file__).parent / "templates" / "frontend" / "assets").glob("core-*.js"))
    shipped = set(re.findall(r'"\./lang/([\w-]+)\.json"', core.read_text(encoding="utf-8")))
    assert shipped and shipped <= set(GRADIO_LOCALES)
    translations = french_i18n().translations_dict
    for locale in GRADIO_LOCALES:
        assert translations[locale] == GRADIO_FR
    assert GRADIO_FR["upload_text.drop_file"] == "Déposez vos fichiers ici"


# --- the app a user opens --------------------------------------------------------------------

def _component(demo: Any, elem_id: str) -> Any:
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def _shown_examples(demo: Any) -> list[str]:
    return [e["text"] for e in _component(demo, "chat").examples or []]


def test_the_app_offers_questions_on_the_indexed_documents(tmp_path: Path, corpus: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    demo = ui.build()
    shown = _shown_examples(demo)
    # one per document: the tract's figure, the report's subject; newest indexed first, then by title
    assert shown == ["Que demandent les élus ?",
                     "La campagne publicitaire France Travail PRO a coûté combien ?"]
    assert not set(shown) & set(sample_corpus().questions)  # not the sample corpus
    # each example, clicked, is answered from the document it was made from
    for question, source, expected in zip(shown, ["cr.txt", "tract.md"],
                                          ["effectifs supplémentaires", "2 millions d'euros"],
                                          strict=True):
        msgs, turns, _, _ = _run(ui.respond(question, []))[-1]
        content = html.unescape(msgs[-1]["content"])
        assert expected in content and source in content, (question, content)
    # the documents tab says what can be added, in ingest's words, in French
    assert _component(demo, "upload").label == "Fichiers à ajouter"
    assert any(accepted_formats() in str(getattr(b, "value", ""))
               for b in demo.blocks.values() if type(b).__name__ == "Markdown")


def test_examples_follow_the_index_as_documents_are_added(tmp_path: Path, corpus: Path) -> None:
    empty = ChatUI(make_pipeline(tmp_path / "none"), None)
    assert empty.examples() == [] and _component(empty.build(), "chat").examples is None
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    up = tmp_path / "up"
    up.mkdir()
    ui.add_files([_upload(up, "note.md", "# Note sur les agences du Finistère\n\n"
                          "La direction annonce la fermeture de 7 agences en 2026.\n".encode())])
    assert "La direction annonce la fermeture de combien d'agences en 2026 ?" in ui.examples()
    refreshed = ui._refresh_outputs()[-1]  # what on_upload sends to the chat
    assert [e["text"] for e in refreshed["examples"]] == ui.examples()


@pytest.mark.slow
def test_sample_questions_only_on_the_sample_corpus(tmp_path: Path) -> None:
    renamed = tmp_path / "ailleurs"
    renamed.mkdir()
    for i, path in enumerate(sorted(CORPUS.iterdir())):  # recognised by content, not by name
        shutil.copy(path, renamed / f"document {i}.txt")
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(renamed)
    ui = ChatUI(pipe, renamed)
    assert _shown_examples(ui.build()) == list(sample_corpus().questions)
    first = sorted(renamed.iterdir())[0]
    first.unlink()  # four of the five: a corpus of the user's, examples from its documents
    ui.reindex()
    shown = ui.examples()
    assert len(shown) == 4 and not set(shown) & set(sample_corpus().questions)


# --- launching -------------------------------------------------------------------------------

def test_rag_ui_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rag.pipeline import Pipeline

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("rag.ui.launch", lambda pipeline, **kw: calls.append({"p": pipeline, **kw}))
    res = CliRunner().invoke(cli, ["ui", "--corpus", str(tmp_path), "--port", "7999"])
    assert res.exit_code == 0, res.output
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 7999
    # the UI is handed the one pipeline the command built
    assert isinstance(calls[0]["p"], Pipeline) and calls[0]["p"].settings.corpus_dir == tmp_path
    assert "auth" not in calls[0]  # on this machine only: no sign-in asked
    assert calls[0]["p"].settings.corpus_dir == tmp_path


def test_rag_ui_on_the_network_requires_sign_in(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    from rag.users import SignIn, Users

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("rag.ui.launch", lambda pipeline, **kw: calls.append({"p": pipeline, **kw}))
    res = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--corpus", str(tmp_path)])
    assert res.exit_code == 2 and not calls
    assert "demande que chacun se connecte" in res.output and "rag users add NOM" in res.output
    empty = tmp_path / "personne.json"
    res = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--users", str(empty)])
    assert res.exit_code == 2 and "Aucun utilisateur" in res.output and not calls
    users = tmp_path / "users.json"
    Users(users).add("marie", "pré-avis du jeudi 42")
    res = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--users", str(users)])
    assert res.exit_code == 0, res.output
    check = calls[0]["auth"]
    assert isinstance(check, SignIn) and check("marie", "pré-avis du jeudi 42")
    assert not check("marie", "autre chose")
    assert calls[0]["p"].settings.corpus_dir == Path("documents")


def test_launch_serves_the_pipeline_it_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               corpus: Path) -> None:
    from rag.ui import app

    pipe = make_pipeline(tmp_path / "idx", corpus_dir=corpus)
    served: list[ChatUI] = []
    monkeypatch.setattr(app.ChatUI, "launch", lambda self, **kw: served.append(self))
    monkeypatch.setattr("rag.pipeline.build_pipeline", lambda *a, **k: pytest.fail("second pipeline"))
    app.launch(pipe, port=7999)
    assert served[0].pipeline is pipe and served[0].corpus_dir == corpus
