"""Crashes and concurrency: a killed `rag index`, two at once, many questions at once.

The crash test kills a real `rag index` process (SIGKILL, as when the laptop's
battery dies) while it is encoding passages with the real model, then checks that
questions are still answered from the previous index and that the next run
completes and leaves no debris.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.store import current_generation, index_lock, open_index
from tests.conftest import make_pipeline
from tests.test_incremental import AGENCES, PRIME, PRIME_V2, Q_PRIME, assert_consistent, shown

LOCKED = "Une autre indexation est en cours sur"


def rag_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "rag.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def wait_for(proc: subprocess.Popen[bytes], needle: str, timeout: float = 300) -> str:
    """Read the process's stderr until ``needle`` appears (progress bars use \\r, not \\n)."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stderr.fileno(), False)
    while needle.encode() not in seen:
        chunk = proc.stderr.read(4096)
        if chunk:
            seen += chunk
        elif proc.poll() is not None:
            pytest.fail(f"process ended before {needle!r}: {seen.decode(errors='replace')}")
        elif time.monotonic() > deadline:
            pytest.fail(f"no {needle!r} after {timeout} s: {seen.decode(errors='replace')}")
        else:
            time.sleep(0.02)
    return seen.decode(errors="replace")


def test_second_index_fails_fast_or_waits_with_a_clear_message(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "prime.md").write_text(PRIME, encoding="utf-8")
    idx = tmp_path / "idx"
    make_pipeline(idx).build(docs)
    before = current_generation(idx)
    (docs / "agences.md").write_text(AGENCES, encoding="utf-8")

    with index_lock(idx):  # another `rag index` is writing
        r = CliRunner().invoke(cli, ["--embedder", "hash", "index", str(docs), "--index", str(idx)])
        assert r.exit_code == 2
        assert r.stderr.strip() == (
            f"Erreur : {LOCKED} « {idx} ». Attendez qu'elle se termine (ou relancez avec --wait).")

        waiting = rag_process("--embedder", "hash", "index", str(docs), "--index", str(idx), "--wait")
        try:
            wait_for(waiting, "attente de sa fin", timeout=120)
            time.sleep(0.5)
            assert waiting.poll() is None  # still waiting, not failed, not writing
            assert current_generation(idx) == before
        except BaseException:
            waiting.kill()
            raise
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err.decode()
    assert current_generation(idx) != before
    assert set(open_index(idx).manifest["files"]) == {"prime.md", "agences.md"}
    assert_consistent(idx)


def test_questions_during_reindexing_always_get_complete_answers(tmp_path: Path) -> None:
    """The web app shares one pipeline between users while `rag index` switches
    generations underneath: every answer is whole, from the old or the new text."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "prime.md").write_text(PRIME, encoding="utf-8")
    (docs / "agences.md").write_text(AGENCES, encoding="utf-8")
    idx = tmp_path / "idx"
    make_pipeline(idx).build(docs)
    shared = make_pipeline(idx)
    stop = threading.Event()
    errors: list[BaseException] = []
    answers: list[str] = []

    def ask_loop() -> None:
        while not stop.is_set():
            try:
                ans = shared.ask(Q_PRIME)  # sure or unsure: the passage is quoted either way
                assert ans.citations, ans.reason
                assert ans.citations[0].source == "prime.md"
                assert ans.citations[0].quote in (PRIME + PRIME_V2)
                answers.append(shown(ans))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=ask_loop) for _ in range(4)]
    for t in threads:
        t.start()
    writer = make_pipeline(idx)
    try:
        for i in range(6):
            (docs / "prime.md").write_text(PRIME_V2 if i % 2 == 0 else PRIME, encoding="utf-8")
            writer.build(docs)
            # Age retired generations so that each build really prunes the older ones.
            for gen in idx.glob("gen-*"):
                if gen != current_generation(idx):
                    os.utime(gen, (time.time() - 3600, time.time() - 3600))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert any("1 500" in a for a in answers) or any("1 234" in a for a in answers)
    assert all(("1 500" in a) != ("1 234" in a) for a in answers)


QUESTIONS = [
    "Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?",
    "Combien a coûté la campagne publicitaire France Travail PRO ?",
    "Mistral AI partenariat",
    "Quel est le taux d'orientation des demandeurs d'emploi ?",
    "Que demandent les élus du CSE Occitanie ?",
    "Quand a eu lieu la réunion du CSEC ?",
    "Quel est le budget de la campagne en Bretagne ?",
    "Qui a gagné la coupe du monde 2022 ?",
]


def _answer_key(ans) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    return (ans.answer, ans.abstained, [(c.source, c.page, c.quote) for c in ans.citations])


@pytest.mark.slow
def test_concurrent_questions_get_the_same_answers_as_one_at_a_time(e5_index: Path,
                                                                    e5_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    expected = {q: _answer_key(e5_pipeline.ask(q)) for q in QUESTIONS}
    # A fresh pipeline: the threads also race to load the model and the index.
    shared = build_pipeline(load_settings(index_dir=e5_index, env={}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: (q, _answer_key(shared.ask(q))), QUESTIONS * 2))
    assert len(got) == 16
    for q, key in got:
        assert key == expected[q], q
    assert sum(not key[1] for _, key in got) >= 4  # answers too, not only abstentions


@pytest.mark.slow
def test_killed_indexing_keeps_the_previous_index_and_the_next_run_completes(
        tmp_path: Path, corpus_dir: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    first, *added = (next(corpus_dir.glob(f"{p}_*.txt")) for p in ("000", "001", "003"))
    shutil.copy(first, docs / first.name)
    idx = tmp_path / "idx"

    def rag_index() -> str:
        r = CliRunner().invoke(cli, ["index", str(docs), "--index", str(idx)])
        assert r.exit_code == 0, r.output
        return str(r.stderr)

    def ask(question: str) -> str:
        r = CliRunner().invoke(cli, ["ask", question, "--index", str(idx)])
        assert r.exit_code == 0, r.output
        return r.stdout

    rag_index()
    before = current_generation(idx)
    for f in added:
        shutil.copy(f, docs / f.name)

    # Small batches: the progress line appears after 4 of the ~36 new passages.
    proc = rag_process("index", str(docs), "--index", str(idx), env={"RAG_EMBED_BATCH_SIZE": "4"})
    try:
        wait_for(proc, "Embeddings")
        r = CliRunner().invoke(cli, ["index", str(docs), "--index", str(idx)])
        assert r.exit_code == 2 and LOCKED in r.stderr  # a real process holds the lock
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL

    # The previous index answers, untouched; nothing of the interrupted run shows.
    assert current_generation(idx) == before
    out = ask("Combien d'ETP la direction veut-elle gagner avec l'IA d'ici 2027 ?")
    assert "2900 ETP" in out and first.name in out
    assert set(open_index(idx).manifest["files"]) == {first.name}

    report = rag_index()
    assert "2 (ré)indexé(s), 1 inchangé(s)" in report
    assert not list(idx.glob(".tmp-gen-*")) and not list(idx.glob(".CURRENT.*"))
    assert set(open_index(idx).manifest["files"]) == {first.name, *(f.name for f in added)}
    r = CliRunner().invoke(cli, ["search", "--json", "plateforme précaires arnaque", "--index", str(idx)])
    assert added[1].name in r.stdout
    assert_consistent(idx)
