"""Generative answers: the grounding check, follow-up rewriting, and both LLM backends.

Fast tests use a deterministic fake model (``ScriptedLLM``) to plant exact
drafts; the slow tests run the real bundled Gemma 3 270M GGUF in-process
(llama.cpp) and behind a real ``python -m llama_cpp.server`` on loopback.
The test model is a small base model: slow tests assert what must hold
whatever it writes (figures checked, citations valid, quotes verbatim).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag.answer import ABSTAIN_MESSAGE, Answer
from rag.cli import cli
from rag.generate import (
    LLMUnavailable,
    Prompt,
    check_grounding,
    make_llm,
    standalone_question,
    unsupported_figures,
)
from rag.text import contains_normalized
from tests.conftest import make_pipeline
from tests.docs import write_small_corpus

PASSAGES = [
    "Le coût ? 2 millions d'euros ! Les gains d'efficacité : 2 900 ETP d'ici 2027.",
    "Réunion du 1<sup>er</sup> avril 2025. 76 % des demandeurs d'emploi sont orientés.",
]


class ScriptedLLM:
    """A deterministic stand-in for a model: streams a fixed draft word by word."""

    name = "scripted"

    def __init__(self, draft: str) -> None:
        self.draft = draft
        self.prompts: list[Prompt] = []

    def stream(self, prompt: Prompt, max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        self.prompts.append(prompt)
        for i, w in enumerate(self.draft.split(" ")):
            yield w if i == 0 else " " + w


# --- the grounding check ------------------------------------------------------------


def test_planted_unsupported_figure_is_caught_and_named() -> None:
    g = check_grounding("La campagne a coûté 3 millions d'euros [1].", PASSAGES)
    assert not g.ok
    assert g.unsupported == ["3 millions d'euros"]
    assert any("« 3 millions d'euros »" in w for w in g.warnings())


def test_dangling_citation_is_removed_and_reported() -> None:
    g = check_grounding("La campagne a coûté 2 millions d'euros [1] [7].", PASSAGES)
    assert g.ok and g.cited == [1] and g.dangling == [7]
    assert "[7]" not in g.text and g.text.endswith("[1].")
    assert any("[7]" in w for w in g.warnings())


@pytest.mark.parametrize("claim", [
    "Elle a coûté 2 M€ [1].",
    "Elle a coûté 2 000 000 € [1].",
    "Gains : 2900 ETP d'ici 2027 [1].",
    "Réunion du 1er avril 2025 [2], où 76% des DE sont orientés [2].",
    "Réunion du 01/04/2025 [2].",
])
def test_figures_written_differently_are_supported(claim: str) -> None:
    g = check_grounding(claim, PASSAGES)
    assert g.ok, g.unsupported


def test_a_figure_must_be_in_the_passage_the_sentence_cites() -> None:
    # 76 % is in passage [2], not in [1] which the sentence cites.
    assert check_grounding("Le taux est de 76 % [1].", PASSAGES).unsupported == ["76 %"]
    assert unsupported_figures("le 3 avril 2025", PASSAGES[1]) == ["3 avril 2025"]


def test_a_figure_the_passage_holds_only_in_unsure_digits_is_named() -> None:
    passage = "La commission a retenu 418 dossiers sur l'année."
    masked = passage.replace("418", "\u25af\u25af\u25af")
    g = check_grounding("La commission a retenu 418 dossiers [1].", [passage], [masked])
    assert g.unsure and "418" in g.unsure[0] and not g.unsupported and not g.ok
    assert any("incertitude" in w and "418" in w for w in g.warnings())
    assert check_grounding("La commission a retenu 418 dossiers [1].", [passage], [passage]).ok


def test_an_answer_citing_nothing_is_not_shown_as_fact() -> None:
    g = check_grounding("La campagne a coûté 2 millions d'euros.", PASSAGES)
    assert not g.ok and "ne cite aucun passage" in " ".join(g.warnings())


# --- follow-up questions ------------------------------------------------------------


def test_elliptic_follow_up_is_rewritten_from_the_previous_question() -> None:
    hist = [("Quel est le taux d'orientation en Bretagne ?", "…")]
    assert standalone_question("Et en Occitanie ?", hist) == "Quel est le taux d'orientation en Occitanie ?"
    prev = [("Combien d'ETP en 2027 ?", "…")]
    assert standalone_question("Et en 2026 ?", prev) == "Combien d'ETP en 2026 ?"
    alone = "Que reprochent les syndicats au programme Data IA ?"
    assert standalone_question(alone, hist) == alone


def test_a_weak_models_rewrite_is_replaced_by_the_deterministic_one() -> None:
    hist = [("Quel est le taux d'orientation en Bretagne ?", "…")]
    babble = ScriptedLLM("1000000000000")
    assert standalone_question("Et en Occitanie ?", hist, babble) == \
        "Quel est le taux d'orientation en Occitanie ?"
    good = ScriptedLLM("Quel est le taux d'orientation des demandeurs en Occitanie ?")
    assert standalone_question("Et en Occitanie ?", hist, good) == good.draft


# --- the answerer, with a scripted model --------------------------------------------


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return write_small_corpus(tmp_path / "docs")


def _pipe(folder: Path, tmp_path: Path, llm: Any) -> Any:
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    settings = load_settings(index_dir=tmp_path / "idx", embedder="hash", answerer="llamacpp", env={})
    pipe = build_pipeline(settings, llm=llm)
    pipe.build(folder)
    return pipe


Q = "Combien a coûté la campagne publicitaire France Travail PRO ?"


def test_grounded_answer_streams_tokens_and_quotes_the_cited_passage(folder: Path, tmp_path: Path) -> None:
    llm = ScriptedLLM("La campagne a coûté 2 M€ selon la CGT [1] [7].")
    pipe = _pipe(folder, tmp_path, llm)
    pieces = list(pipe.stream(Q))
    ans = pieces[-1]
    assert isinstance(ans, Answer) and not ans.abstained
    assert "".join(p for p in pieces if isinstance(p, str)) == llm.draft
    assert ans.answer == "La campagne a coûté 2 M€ selon la CGT [1]."
    assert any("[7]" in w for w in ans.warnings)
    assert [c.n for c in ans.citations] == [1]
    c = ans.citations[0]
    assert "2 millions d'euros" in c.quote and c.quote in pipe.index.page_text(c.source, c.page)
    assert "[1] " in llm.prompts[0].user and "Question : " + Q in llm.prompts[0].user


def test_unsupported_figure_falls_back_to_the_extractive_answer(folder: Path, tmp_path: Path) -> None:
    pipe = _pipe(folder, tmp_path, ScriptedLLM("La campagne a coûté 3 M€ [1]."))
    ans = pipe.ask(Q)
    extractive = make_pipeline(tmp_path / "idx").ask(Q)
    assert ans.answer == extractive.answer and "3 M€" not in ans.answer
    assert [c.quote for c in ans.citations] == [c.quote for c in extractive.citations]
    assert any("« 3 M€ »" in w for w in ans.warnings)
    assert ans.public()["warnings"] == ans.warnings


def test_weak_evidence_abstains_without_calling_the_model(folder: Path, tmp_path: Path) -> None:
    llm = ScriptedLLM("La campagne en Bretagne a coûté 2 M€ [1].")
    pipe = _pipe(folder, tmp_path, llm)
    ans = pipe.ask("Quel est le budget de la campagne en Bretagne ?")
    assert ans.abstained and ans.answer == ABSTAIN_MESSAGE and ans.citations == []
    assert llm.prompts == []


def test_missing_model_configuration_is_a_clear_french_error() -> None:
    from rag.config import load_settings

    with pytest.raises(LLMUnavailable, match="--llm-name"):
        make_llm(load_settings(answerer="openai", env={}))
    with pytest.raises(LLMUnavailable, match="Modèle introuvable"):
        make_llm(load_settings(answerer="llamacpp", llm_model_path="/nulle/part.gguf", env={}))


# --- the real bundled model -----------------------------------------------------------


def _check_invariants(ans: Answer, pipe: Any) -> None:
    """What must hold whatever the model wrote."""
    assert ans.answer.strip()
    for c in ans.citations:
        assert c.quote and c.quote in pipe.index.page_text(c.source, c.page)
    if not any("écartée" in w for w in ans.warnings):
        cited = {c.n for c in ans.citations}
        assert {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)} <= cited


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    from rag.generate import bundled_test_model

    return bundled_test_model()


def _stream_checked(settings: Any, folder: Path) -> tuple[Any, Answer]:
    """Index ``folder``, stream the answer to Q and check it streamed token by token,
    answered, and kept the grounding invariants; returns the pipeline and the answer."""
    from rag.pipeline import build_pipeline

    pipe = build_pipeline(settings)
    pipe.build(folder)
    pieces = list(pipe.stream(Q))
    ans = pieces[-1]
    assert isinstance(ans, Answer) and not ans.abstained
    assert len([p for p in pieces if isinstance(p, str)]) >= 2  # token by token
    _check_invariants(ans, pipe)
    return pipe, ans


@pytest.mark.slow
def test_llamacpp_with_the_bundled_model_streams_a_checked_answer(folder: Path, tmp_path: Path) -> None:
    from rag.config import load_settings

    # No model path configured: the bundled Gemma test model is used.
    settings = load_settings(index_dir=tmp_path / "idx", embedder="hash", answerer="llamacpp",
                             llm_max_tokens=48, env={})
    pipe, ans = _stream_checked(settings, folder)
    assert "llamacpp:gemma-3-270m" in pipe.llm.name
    # The model's draft kept or set aside by the check, the user reads the right figure,
    # quoted from its passage.
    assert contains_normalized(ans.answer, "2 millions d'euros"), ans.answer
    assert any("2 millions" in c.quote for c in ans.citations)
    assert pipe.ask("Quel est le budget de la campagne en Bretagne ?").abstained


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible llama.cpp server on loopback, serving the test model."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_path), "--host",
             "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", "gemma-test"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start:\n" + log.read_text(errors="replace")[-2000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_http_backend_answers_from_a_real_llama_cpp_server(llama_server: str, folder: Path,
                                                           tmp_path: Path) -> None:
    from rag.config import load_settings

    settings = load_settings(index_dir=tmp_path / "idx", embedder="hash", answerer="openai",
                             llm_base_url=llama_server, llm_model="gemma-test", llm_chat=False,
                             llm_max_tokens=48, env={})
    _stream_checked(settings, folder)


@pytest.mark.slow
def test_cli_ask_with_the_http_backend_prints_json(llama_server: str, folder: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_LLM_CHAT", "false")
    monkeypatch.setenv("RAG_LLM_MAX_TOKENS", "32")
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    assert runner.invoke(cli, ["index", str(folder), "--index", idx]).exit_code == 0
    res = runner.invoke(cli, ["ask", "--index", idx, "--llm", "openai", "--base-url", llama_server,
                              "--llm-name", "gemma-test", "--json", Q])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"question", "answer", "abstained", "citations", "timings_ms"} <= set(out)
    assert out["timings_ms"]["generate"] > 0
    res = runner.invoke(cli, ["ask", "--index", idx, "--llm", "openai", "--base-url", llama_server,
                              "--llm-name", "gemma-test", "--stream", Q])
    assert res.exit_code == 0, res.output
    assert "Sources :" in res.stdout
