"""Sign-in for the shared chat: the users file, the CLI that fills it, the checks."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.users import MAX_DELAY_S, SignIn, Users, UsersError

PASSWORD = "pré-avis du jeudi 42"


def users_cli(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["users", *args], input=input)


def test_users_add_asks_twice_and_never_writes_the_password(tmp_path: Path) -> None:
    f = tmp_path / "users.json"
    r = users_cli("add", "marie", "--file", str(f), input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output  # not echoed
    text = f.read_text(encoding="utf-8")
    assert "marie" in text and PASSWORD not in text and PASSWORD.encode().hex() not in text
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert Users(f).verify("marie", PASSWORD) and not Users(f).verify("marie", PASSWORD + "!")
    # two different typings are refused, and nothing changes
    r = users_cli("add", "paul", "--file", str(f), input=f"{PASSWORD}\nautre chose 123\n" * 3)
    assert r.exit_code != 0 and "paul" not in f.read_text(encoding="utf-8")


def test_users_list_and_remove(tmp_path: Path) -> None:
    f = tmp_path / "users.json"
    for name in ("marie", "ahmed"):
        Users(f).add(name, PASSWORD)
    assert users_cli("list", "--file", str(f)).output.split() == ["ahmed", "marie"]
    assert users_cli("remove", "ahmed", "--file", str(f)).exit_code == 0
    assert Users(f).names() == ["marie"]
    r = users_cli("remove", "ahmed", "--file", str(f))
    assert r.exit_code == 2 and "Utilisateur inconnu : ahmed" in r.output


def test_weak_passwords_and_odd_names_are_refused_clearly(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    with pytest.raises(UsersError, match="trop court"):
        users.add("marie", "court")
    with pytest.raises(UsersError, match="Nom invalide"):
        users.add("marie dupont\n", PASSWORD)
    (tmp_path / "abime.json").write_text("{pas du json", encoding="utf-8")
    with pytest.raises(UsersError, match="illisible"):
        Users(tmp_path / "abime.json").verify("marie", PASSWORD)


def test_failed_sign_ins_are_slowed_down_and_logged_without_the_password(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    users = Users(tmp_path / "users.json")
    users.add("marie", PASSWORD)
    waits: list[float] = []
    check = SignIn(users, sleep=waits.append)
    with caplog.at_level(logging.WARNING, logger="rag.users"):
        assert [check("marie", f"essai numéro {i}") for i in range(4)] == [False] * 4
    assert waits == [1.0, 2.0, 4.0]  # no wait before the first attempt, then doubling
    assert "Échec de connexion pour « marie » (4 à la suite)" in caplog.text
    assert "essai numéro" not in caplog.text
    assert check("marie", PASSWORD) and check.delay("marie") == 0  # reset by a success
    for _ in range(20):
        check("inconnu", "n'importe quoi")
    assert check.delay("inconnu") == MAX_DELAY_S
