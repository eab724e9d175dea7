"""The web UI in a real headless Chromium: ask, read the sources, copy a citation, see a
subject's timeline, upload, and no script runs.

The app runs in this process on a free 127.0.0.1 port, over a small index built
with the real e5 model (three documents: one sample report, one file whose name
and text carry script-bearing HTML, and one short dated report). Chromium is Debian's package,
installed by scripts/setup; without it these tests fail and say so.
A screenshot of the answered chat is saved to build/screenshots/chat.png.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from tests.conftest import CORPUS, REPO  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Page = playwright_api.Page

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()),
                None)
SCREENSHOTS = REPO / "build" / "screenshots"
REPORT = "000_ae26866323061855.txt"  # the CGT report: "2900 ETP d'ici 2027"
IMG = '<img src="x" onerror="window.pwned=1">'
DETAILS = '<details open ontoggle="window.pwned=2">ouvert</details>'
EVIL_NAME = f'Tract {IMG}.md'
DATED = "cr-seance-2025-02-04.md"  # the only dated document: first in a timeline
ETP_QUESTION = "Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?"
WAIT = 90_000  # ms: generous for a loaded CI machine; tests wait on what a user sees


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if CHROMIUM is None:
        pytest.fail("Chromium est absent (/usr/bin/chromium) : lancez scripts/setup en root, ou "
                    "installez les paquets Debian chromium et chromium-driver.")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--disable-quic",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "locale": "fr-FR", "viewport": {"width": 1280, "height": 1100}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """(the app's address, the pipeline it serves)."""
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    from rag.config import load_settings
    from rag.pipeline import build_pipeline
    from rag.ui import ChatUI

    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / REPORT, corpus / REPORT)
    (corpus / EVIL_NAME).write_text(
        f"# Tract CGT {IMG} sur la cantine\n\n"
        f"Le budget de la cantine {DETAILS} est de 4 321 euros pour 2025. "
        f"Une image {IMG} et un lien [cliquez](javascript:window.pwned=3).\n",
        encoding="utf-8")
    (corpus / DATED).write_text(
        "# Compte rendu de la séance du 4 février 2025\n\n"
        "La CGT demande l'ouverture de négociations sur le télétravail des agents.\n",
        encoding="utf-8")
    pipe = build_pipeline(load_settings(index_dir=root / "index", corpus_dir=corpus, env={}))
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    port = _free_port()
    ui.launch(host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", pipe
    ui.demo.close()


@pytest.fixture(scope="session")
def app_url(app: tuple[str, Any]) -> str:
    return app[0]


def _open(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible(timeout=WAIT)


def _ask(page: Page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _scroll_chat_to_top(page: Page) -> None:
    """So the screenshot shows the question, then the answer and its sources."""
    page.evaluate("""() => document.querySelectorAll('#chat *').forEach(
        el => { if (el.scrollHeight > el.clientHeight) el.scrollTop = 0; })""")


def _assert_nothing_ran(page: Page) -> None:
    assert page.locator("[onerror]").count() == 0
    assert page.locator("[ontoggle]").count() == 0
    assert page.evaluate("() => window.pwned") is None


def test_answer_streams_with_figure_and_source(page: Page, app_url: str) -> None:
    _open(page, app_url)
    _ask(page, ETP_QUESTION)
    chat = page.locator("#chat")
    expect(chat.locator(".rag-sources")).to_be_visible(timeout=WAIT)
    expect(chat).to_contain_text("2900 ETP")
    source = chat.locator(".rag-source").first
    expect(source).to_contain_text("Un CSEC avec un ordre du jour chargé")
    expect(source).to_contain_text(REPORT)
    expect(source.locator("mark.rag-fig").first).to_contain_text("2900")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)  # let the chat's own autoscroll settle before scrolling up
    _scroll_chat_to_top(page)
    page.screenshot(path=str(SCREENSHOTS / "chat.png"), full_page=True)
    source.locator("summary").click()
    expect(source.locator(".rag-context-text")).to_be_visible()
    expect(source.locator(".rag-context-text mark.rag-here")).to_contain_text("2900 ETP")
    page.screenshot(path=str(SCREENSHOTS / "chat-context.png"), full_page=True)
    _assert_nothing_ran(page)


def test_example_questions_come_from_the_indexed_documents(page: Page, app_url: str) -> None:
    _open(page, app_url)
    chat = page.locator("#chat")
    # the report's figure, asked where it stands; the script-bearing file offers none
    example = chat.get_by_text("gains d'efficacité de combien d'ETP d'ici 2027 ?")
    expect(example).to_be_visible(timeout=WAIT)
    # only one document of the sample corpus is indexed: its fixed questions are not offered
    expect(chat.get_by_text("Combien a coûté la campagne publicitaire")).to_have_count(0)
    example.click()
    expect(chat.locator(".rag-sources")).to_contain_text(REPORT, timeout=WAIT)
    expect(chat.locator(".rag-answer").last).to_contain_text("2900 ETP")
    _assert_nothing_ran(page)


# Gradio's own English, as it would show in a browser set to English.
ENGLISH = ("Drop File Here", "Click to Upload", "Upload", "Drop", "Click", "- or -", "Textbox",
           "Submit", "Clear", "Loading", "processing", "steps", "Copy", "Remove", "Download", " KB",
           "Error", "files", "Here")


def _assert_french(text: str) -> None:
    """No word of Gradio's English in the visible text (document text is French)."""
    found = [w for w in ENGLISH if w in text]
    assert not found, (found, text)


def test_gradio_words_are_french_in_an_english_browser(browser: Any, app_url: str,
                                                       tmp_path: Path) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1100})
    try:
        page = context.new_page()
        _open(page, app_url)
        expect(page.locator("#index-status")).to_be_attached()
        _ask(page, "Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?")
        expect(page.locator("#chat .rag-sources")).to_be_visible(timeout=WAIT)
        _assert_french(page.locator("body").inner_text())
        page.get_by_role("tab", name="Documents").click()
        upload = page.locator("#upload")
        expect(upload).to_contain_text("Déposez vos fichiers ici")
        expect(upload).to_contain_text("ou")
        expect(upload).to_contain_text("cliquez pour les choisir")
        _assert_french(page.locator("body").inner_text())
        chosen = tmp_path / "note-horaires.md"
        chosen.write_text("# Note sur les horaires\n\nLes horaires changent le 3 mars.\n",
                          encoding="utf-8")
        upload.locator("input[type=file]").set_input_files(str(chosen))
        expect(upload).to_contain_text("note-horaires", timeout=WAIT)  # chosen, not yet added
        _assert_french(page.locator("body").inner_text())
    finally:
        context.close()


def test_empty_question_gets_a_message(page: Page, app_url: str) -> None:
    _open(page, app_url)
    page.locator("#send").click()
    expect(page.locator("#chat-status")).to_contain_text("Écrivez une question", timeout=WAIT)


def test_script_in_documents_and_file_names_never_runs(page: Page, app_url: str,
                                                       tmp_path: Path) -> None:
    _open(page, app_url)
    _ask(page, "Quel est le budget de la cantine ?")
    chat = page.locator("#chat")
    expect(chat.locator(".rag-sources")).to_contain_text("4 321 euros", timeout=WAIT)
    for summary in chat.locator("summary").all():
        summary.click()
    _assert_nothing_ran(page)
    expect(chat).to_contain_text(IMG)  # shown as text, exactly as written in the file
    expect(chat).to_contain_text('ontoggle="window.pwned=2"')

    page.get_by_role("tab", name="Documents").click()
    expect(page.locator("#documents")).to_contain_text(EVIL_NAME, timeout=WAIT)
    evil_upload = tmp_path / f'<details open ontoggle="window.pwned=4">{IMG}.md'
    evil_upload.write_text("# Note sur les horaires\n\nLes horaires changent le 3 mars.\n",
                           encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(evil_upload))
    page.locator("#add").click()
    expect(page.locator("#upload-status")).to_contain_text("Indexé", timeout=WAIT)
    expect(page.locator("#upload-status")).to_contain_text("ontoggle=")  # the name, as text
    _assert_nothing_ran(page)


def test_upload_then_ask_about_it(page: Page, app_url: str, tmp_path: Path) -> None:
    doc = tmp_path / "note-prime.md"
    doc.write_text("# Note du SNAP sur la prime de fin d'année\n\n"
                   "La prime de fin d'année des agents de Bourgogne est fixée à 1 234 euros.\n",
                   encoding="utf-8")
    bad = tmp_path / "programme.exe"
    bad.write_bytes(b"MZ\x90\x00")
    _open(page, app_url)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files([str(doc), str(bad)])
    page.locator("#add").click()
    status = page.locator("#upload-status")
    expect(status).to_contain_text("Indexé : « Note du SNAP sur la prime", timeout=WAIT)
    expect(status).to_contain_text("Refusé : programme.exe — type de fichier non accepté")
    expect(page.locator("#documents")).to_contain_text("note-prime.md")
    page.get_by_role("tab", name="Discussion").click()
    _ask(page, "Quel est le montant de la prime de fin d'année en Bourgogne ?")
    sources = page.locator("#chat .rag-sources")
    expect(sources).to_contain_text("1 234 euros", timeout=WAIT)
    expect(sources).to_contain_text("note-prime.md")


def test_a_photo_uploaded_is_read_by_ocr_and_its_quote_marked(page: Page, app_url: str,
                                                               tmp_path: Path) -> None:
    from tests.docs import NOTICE, phone_photo

    photo = tmp_path / "photo-avis.jpg"
    phone_photo(NOTICE).save(photo, quality=70)
    _open(page, app_url)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(photo))
    page.locator("#add").click()
    expect(page.locator("#upload-status")).to_contain_text("Indexé", timeout=WAIT)
    row = page.locator("#documents tr", has_text="photo-avis.jpg")
    expect(row).to_contain_text("dont 1 par OCR")
    page.get_by_role("tab", name="Discussion").click()
    _ask(page, "Quelle indemnité de repas sera versée pendant la fermeture de la cantine ?")
    source = page.locator("#chat .rag-source", has_text="photo-avis.jpg").first
    expect(source).to_contain_text("9 euros", timeout=WAIT)
    expect(source.locator(".rag-ocr")).to_have_text("texte reconnu (OCR)")
    # the figure asserted, or nothing asserted (that quote shown): never another figure
    answer = page.locator("#chat .rag-answer").last
    if "rag-unsure" not in (answer.get_attribute("class") or ""):
        expect(answer).to_contain_text("9 euros")


def test_unsure_answer_shows_the_closest_passages_without_a_figure(page: Page, app_url: str) -> None:
    _open(page, app_url)
    _ask(page, "Combien de conseillers ont été formés à l'IA ?")
    chat = page.locator("#chat")
    answer = chat.locator(".rag-answer.rag-unsure")
    expect(answer).to_contain_text("Je n'ai pas de réponse sûre dans les documents indexés", timeout=WAIT)
    sources = chat.locator(".rag-sources")
    expect(sources.locator(".rag-sources-head")).to_have_text("Passages les plus proches")
    shown = sources.locator(".rag-source")
    assert 1 <= shown.count() <= 3
    expect(shown.first).to_contain_text(REPORT)
    expect(shown.first.locator("mark.rag-term").first).to_be_visible()  # the question's words
    expect(shown.first.locator("button.rag-copy")).to_have_text("Copier la citation")
    assert sources.locator("mark.rag-fig").count() == 0  # no figure is presented as the answer
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)
    _scroll_chat_to_top(page)
    page.screenshot(path=str(SCREENSHOTS / "chat-unsure.png"), full_page=True)


def _clipboard(page: Page) -> str:
    return str(page.evaluate("() => navigator.clipboard.readText()"))


def test_copy_the_citation_of_a_source_then_of_a_timeline_entry(page: Page,
                                                                app: tuple[str, Any]) -> None:
    from rag.answer import citation_line
    from rag.timeline import timeline

    url, pipe = app
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    _open(page, url)
    _ask(page, ETP_QUESTION)
    source = page.locator("#chat .rag-source").first
    expect(source).to_contain_text(REPORT, timeout=WAIT)
    button = source.locator("button.rag-copy")
    expect(button).to_have_text("Copier la citation")
    button.click()
    expect(button).to_have_text("Citation copiée")
    copied = _clipboard(page)
    assert copied == citation_line(pipe.ask(ETP_QUESTION).citations[0])
    assert copied.startswith("« ") and "2900 ETP" in copied and "(CGT" in copied, copied

    # The Clipboard API refused (as it may be on a plain http page): copied all the same.
    page.evaluate("""async () => { await navigator.clipboard.writeText(""); window.refused = 0;
        navigator.clipboard.writeText = () => { window.refused += 1;
                                                return Promise.reject(new Error("refusé")); }; }""")
    page.get_by_role("tab", name="Chronologie").click()
    page.locator("#timeline-go").click()
    expect(page.locator("#timeline")).to_contain_text("Écrivez un sujet", timeout=WAIT)
    page.locator("#timeline-subject").get_by_role("textbox").fill("CGT")
    page.locator("#timeline-go").click()
    entries = page.locator("#timeline .rag-entry")
    expected = timeline(pipe.index, "CGT")
    expect(entries).to_have_count(len(expected), timeout=WAIT)
    assert {e.source for e in expected} >= {DATED, REPORT, EVIL_NAME}
    assert entries.locator(".rag-file").all_inner_texts() == [e.source for e in expected]
    dates = entries.locator(".rag-date").all_inner_texts()
    assert dates[0] == "4 février 2025" and expected[0].source == DATED  # dated first
    assert set(dates[1:]) == {"date inconnue"}  # the sample report and the tract carry no date
    first = entries.first.locator("button.rag-copy")
    first.click()
    expect(first).to_have_text("Citation copiée")
    assert page.evaluate("() => window.refused") == 1  # copied by the textarea fallback
    assert _clipboard(page) == citation_line(expected[0].citation())
    assert _clipboard(page).endswith("(CGT, 4 février 2025)")
    expect(page.locator("#timeline")).to_contain_text(IMG)  # the tract's title, as text
    _assert_nothing_ran(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "timeline.png"), full_page=True)
