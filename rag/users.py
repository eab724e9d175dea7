"""Who may sign in to the shared chat: a users file of salted scrypt hashes.

The file (JSON, readable by its owner only) holds, for each name, a random salt, the
scrypt parameters and the derived key — never the password. ``SignIn`` is the checking
function given to Gradio: each failed attempt for a name doubles the wait before the
next answer for that name (up to ``MAX_DELAY_S``), and is logged without the password.

>>> import tempfile, pathlib
>>> users = Users(pathlib.Path(tempfile.mkdtemp()) / "users.json")
>>> users.add("marie", "correct cheval pile")
>>> users.verify("marie", "correct cheval pile"), users.verify("marie", "agrafe")
(True, False)
>>> "correct cheval pile" in users.path.read_text()
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("rag.users")

# scrypt at 2^14 x 8: ~16 MB and some tens of ms per check, slow enough for a guess
# list, quick enough for a sign-in
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
MIN_PASSWORD = 10
MAX_DELAY_S = 30.0
_NAME_RE = re.compile(r"^[\w.@-]{1,64}$")


class UsersError(ValueError):
    """A bad name, a weak password or an unreadable users file (French message)."""


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r, dklen=32)


class Users:
    """The users file at ``path`` (created by the first ``add``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = data["users"]
            if not isinstance(users, dict):
                raise TypeError
            return users
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsersError(f"Fichier d'utilisateurs illisible : {self.path}") from exc

    def _save(self, users: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "users": users}, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)

    def names(self) -> list[str]:
        return sorted(self._load())

    def add(self, name: str, password: str) -> None:
        """Add ``name`` or change its password."""
        if not _NAME_RE.match(name):
            raise UsersError("Nom invalide : lettres, chiffres, « . », « - », « _ » ou « @ », "
                             "64 caractères au plus.")
        if len(password) < MIN_PASSWORD:
            raise UsersError(f"Mot de passe trop court : {MIN_PASSWORD} caractères au moins.")
        salt = secrets.token_bytes(16)
        users = self._load()
        users[name] = {"salt": salt.hex(), **SCRYPT,
                       "key": _derive(password, salt, **SCRYPT).hex()}
        self._save(users)

    def remove(self, name: str) -> bool:
        users = self._load()
        if users.pop(name, None) is None:
            return False
        self._save(users)
        return True

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s; an unknown name costs the same time."""
        entry = self._load().get(name)
        if entry is None:
            _derive(password, b"\0" * 16, **SCRYPT)
            return False
        key = _derive(password, bytes.fromhex(entry["salt"]), int(entry["n"]), int(entry["r"]),
                      int(entry["p"]))
        return hmac.compare_digest(key, bytes.fromhex(entry["key"]))


class SignIn:
    """Gradio's ``auth`` callable: checks a name and password against ``users``, slowing
    down repeated failures for a name and logging them without the password."""

    def __init__(self, users: Users, sleep: Callable[[float], None] = time.sleep) -> None:
        self.users = users
        self.sleep = sleep
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def delay(self, name: str) -> float:
        """Seconds the next answer for ``name`` waits: 0, then 1, 2, 4… up to MAX_DELAY_S."""
        fails = self._failures.get(name, 0)
        return 0.0 if fails == 0 else min(MAX_DELAY_S, 2.0 ** (fails - 1))

    def __call__(self, name: str, password: str) -> bool:
        with self._lock:
            wait = self.delay(name)
        if wait:
            self.sleep(wait)
        ok = self.users.verify(name, password)
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                self._failures[name] = self._failures.get(name, 0) + 1
                shown = "".join(c if c.isprintable() else "?" for c in name[:64])
                log.warning("Échec de connexion pour « %s » (%d à la suite)", shown,
                            self._failures[name])
        return ok
