"""Sharing the chat on the network: in a real headless Chromium, nobody reaches the
documents without signing in; a wrong password is refused, the right one opens the chat;
the app's HTTP API answers nothing about the documents to a caller without the cookie."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import CORPUS
from tests.test_ui_browser import (  # noqa: F401  (the browser's launch arguments)
    REPORT,
    WAIT,
    browser_context_args,
    browser_type_launch_args,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Page = playwright_api.Page

NAME, PASSWORD = "marie", "pré-avis du jeudi 42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def signed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The chat over one sample report, served with sign-in as `rag ui --users` does."""
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    from rag.cli import _sign_in
    from rag.config import load_settings
    from rag.pipeline import build_pipeline
    from rag.ui import ChatUI
    from rag.users import Users

    root = tmp_path_factory.mktemp("signin")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / REPORT, corpus / REPORT)
    Users(root / "users.json").add(NAME, PASSWORD)
    pipe = build_pipeline(load_settings(index_dir=root / "index", corpus_dir=corpus,
                                        embedder="hash", env={}))
    pipe.build(corpus)
    ui = ChatUI(pipe, corpus)
    port = _free_port()
    ui.launch(host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True,
              **_sign_in("0.0.0.0", root / "users.json"))
    yield f"http://127.0.0.1:{port}/"
    ui.demo.close()


def _sign_in_as(page: Page, url: str, name: str, password: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible(timeout=WAIT)
    # the sign-in page comes before the app's own words: Gradio's French (fr-FR browser)
    page.get_by_label("nom d'utilisateur").fill(name)
    page.get_by_label("mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_chat(page: Page,
                                                                      signed_url: str) -> None:
    _sign_in_as(page, signed_url, NAME, "mauvais mot de passe")
    expect(page.get_by_text("Identifiants incorrects")).to_be_visible(timeout=WAIT)
    expect(page.locator("#question textarea")).to_have_count(0)
    assert "2900" not in page.content()
    _sign_in_as(page, signed_url, NAME, PASSWORD)
    box = page.locator("#question textarea")
    expect(box).to_be_visible(timeout=WAIT)
    box.fill("Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?")
    box.press("Enter")
    expect(page.locator("#chat .rag-sources")).to_contain_text(REPORT, timeout=WAIT)


def test_the_api_answers_nothing_without_signing_in(page: Page, signed_url: str) -> None:
    api = page.request  # a fresh browser context: no sign-in cookie
    config = api.get(signed_url + "config")
    info = api.get(signed_url + "gradio_api/info")
    call = api.post(signed_url + "gradio_api/queue/join", data={
        "data": ["Combien d'ETP d'ici 2027 ?"], "fn_index": 0, "session_hash": "x"})
    for r in (config, info, call):
        assert r.status == 401, (r.url, r.status)
        assert "2900" not in r.text() and REPORT not in r.text()
    wrong = api.post(signed_url + "login", multipart={"username": NAME, "password": "devine"})
    assert wrong.status == 400
    assert api.get(signed_url + "config").status == 401  # still nothing
