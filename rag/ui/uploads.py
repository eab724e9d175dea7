"""Saving uploaded files into the corpus folder: safe names, the checks ingest makes.

What is accepted (formats, size limit, content matching the format) is decided by
``rag.ingest.check_upload``, the same module that reads the files later: the UI
keeps no list of its own. This module only adds what is particular to an upload:
a name that cannot leave the folder, and never overwriting a different file.

Worked example: uploading "../../cr.txt" twice with other content each time saves
"cr.txt", then "cr (2).txt"; the same content again is reported unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.ingest import IngestError, check_upload
from rag.ui.render import notice

_UNSAFE_RE = re.compile(r"[^\w.\- ()]+", re.UNICODE)
MAX_NAME = 120


def safe_filename(name: str) -> str:
    """A file name that stays inside the folder it is joined to.

    Only the last path component is kept (``/`` and ``\\`` both count), control
    characters and anything but letters, digits, ``. - _ ( )`` and spaces become
    ``_``, leading dots are dropped (no hidden files, no ``..``), and the name is
    shortened keeping its extension.

    "../../etc/passwd.txt" -> "passwd.txt"; "<img src=x>.md" -> "_img src_x_.md";
    "..." -> "document".
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_RE.sub("_", base).strip(" ._")
    base = re.sub(r"\s+", " ", base)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem.strip(" ._") or "document"
    ext = ext[:10]
    if len(stem) > MAX_NAME:
        stem = stem[:MAX_NAME].rstrip(" ._")
    return f"{stem}.{ext}" if ext else stem


@dataclass
class UploadReport:
    saved: list[tuple[str, str]] = field(default_factory=list)  # (original name, saved name)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (original name, reason)
    unchanged: list[str] = field(default_factory=list)

    def html(self) -> str:
        out = []
        for orig, saved in self.saved:
            renamed = f" (enregistré sous « {saved} »)" if saved != orig else ""
            out.append(notice(f"Ajouté : {orig}{renamed}", "ok"))
        for orig in self.unchanged:
            out.append(notice(f"Déjà présent, identique : {orig}", "info"))
        for orig, reason in self.refused:
            out.append(notice(f"Refusé : {orig} — {reason}", "error"))
        return "".join(out)


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def save_uploads(files: Iterable[Any], corpus_dir: Path, max_mb: float) -> UploadReport:
    """Check each uploaded file and copy the accepted ones into ``corpus_dir``.

    ``files`` are paths (or objects with ``.name`` / ``.orig_name`` as Gradio
    gives). A name already taken by a different file gets " (2)", " (3)"… The
    destination is checked to resolve inside ``corpus_dir`` whatever the name.
    """
    report = UploadReport()
    root = corpus_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    for f in files:
        tmp = Path(getattr(f, "name", f))
        orig = str(getattr(f, "orig_name", None) or tmp.name)
        shown = re.split(r"[\\/]", orig)[-1] or orig
        try:
            check_upload(shown, tmp, max_mb)
        except IngestError as exc:
            report.refused.append((shown, str(exc)))
            continue
        except OSError:
            report.refused.append((shown, "fichier illisible"))
            continue
        name = safe_filename(shown)
        stem, ext = os.path.splitext(name)
        dest = root / name
        k = 2
        while dest.exists() and not _same_content(dest, tmp):
            dest = root / f"{stem} ({k}){ext}"
            k += 1
        if dest.resolve().parent != root:  # belt and braces: never write outside the folder
            report.refused.append((shown, "nom de fichier invalide"))
            continue
        if dest.exists():
            report.unchanged.append(shown)
            continue
        shutil.copyfile(tmp, dest)
        report.saved.append((shown, dest.name))
    return report


__all__ = ["MAX_NAME", "UploadReport", "safe_filename", "save_uploads"]
