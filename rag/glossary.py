"""Acronyms and synonyms: mined from the documents, curated for the field, extended by users.

Users do not know that the tract says "ETP", "DE" or "MLI". A glossary maps
each notion to its equivalent forms, and search and answer selection use it to
meet the documents' wording both ways: "postes à temps plein" finds "ETP",
"CSEC" finds "comité social et économique central".

Three sources, merged into groups of equivalent forms:
- the curated file shipped with the package (``rag/data/glossary.tsv``);
- a user file (``glossaire.tsv`` in the documents folder, or ``glossary_file``);
- definitions mined from the documents at index time::

      "EDO pour Entretien D'Orientation"                -> EDO = entretien d'orientation
      "DOSPO (la Direction de l'Offre de Service …)"     -> DOSPO = direction de l'offre …
      "(MSA) Modalités de Suivi ou d'Accompagnement"     -> MSA = modalités de suivi …
      "Qualité de Vie et Conditions de Travail (QVCT)"  -> QVCT = qualité de vie …

  A mined expansion is kept only when the acronym's letters are the initials
  of its words, in order (small words like "de", "la" may be skipped).

Matching works on analysed tokens (rag.text.analyze), so plural, accents and
elisions do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rag.text import analyze, fold

USER_FILE = "glossaire.tsv"  # in the documents folder: read at index time, never indexed as text
_SMALL = {"de", "la", "le", "les", "l", "d", "du", "des", "et", "ou", "a", "au", "aux", "en",
          "pour", "sur", "dans"}


@dataclass
class Entry:
    """One notion: its forms (first = reference) and where each mined form came from."""

    forms: list[str]
    sources: dict[str, str] = field(default_factory=dict)  # form -> "source file"


@dataclass
class Glossary:
    entries: list[Entry] = field(default_factory=list)
    _index: dict[tuple[str, ...], set[int]] = field(default_factory=dict, repr=False)
    # concepts() of recent texts (a question is looked up once per candidate sentence)
    _seen: dict[str, list[tuple[tuple[str, ...], list[tuple[str, ...]]]]] = field(
        default_factory=dict, repr=False)

    # -- building ------------------------------------------------------------------
    def add(self, forms: Iterable[str], source: str = "") -> None:
        forms = [f.strip() for f in forms if f.strip()]
        if len(forms) < 2:
            return
        keys = [tuple(analyze(f)) for f in forms]
        # merge into an existing entry sharing a form
        hits = {i for k in keys if k for i in self._index.get(k, set())}
        if hits:
            entry = self.entries[min(hits)]
            for f in forms:
                if fold(f) not in {fold(x) for x in entry.forms}:
                    entry.forms.append(f)
                    if source:
                        entry.sources[f] = source
            idx = min(hits)
        else:
            entry = Entry(list(forms), {f: source for f in forms} if source else {})
            self.entries.append(entry)
            idx = len(self.entries) - 1
        for f in entry.forms:
            k = tuple(analyze(f))
            if k:
                self._index.setdefault(k, set()).add(idx)
        self._seen.clear()

    def merge(self, other: Glossary) -> None:
        for e in other.entries:
            self.add(e.forms, next(iter(e.sources.values()), ""))

    # -- use -----------------------------------------------------------------------
    def concepts(self, text: str) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
        """Glossary forms found in ``text``, each with its equivalent forms (token tuples).

        >>> g = Glossary(); g.add(["ETP", "équivalent temps plein"])
        >>> g.concepts("combien d'ETP ?")
        [(('etp',), [('equivalent', 'temp', 'plein')])]
        """
        if text in self._seen:
            return self._seen[text]
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[text] = found = self._concepts(text)
        return found

    def _concepts(self, text: str) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
        toks = analyze(text)
        found = []
        used: set[int] = set()
        for n in range(min(8, len(toks)), 0, -1):
            for i in range(len(toks) - n + 1):
                if any(j in used for j in range(i, i + n)):
                    continue
                key = tuple(toks[i:i + n])
                if key not in self._index:
                    continue
                alts: list[tuple[str, ...]] = []
                for idx in sorted(self._index[key]):
                    for f in self.entries[idx].forms:
                        k = tuple(analyze(f))
                        if k and k != key and k not in alts:
                            alts.append(k)
                if alts:
                    found.append((key, alts))
                    used.update(range(i, i + n))
        return found

    def expand_query(self, text: str, max_alts: int = 4) -> str:
        """The query followed by the equivalent forms of what it mentions (for search)."""
        extra = []
        for _key, alts in self.concepts(text):
            for alt in alts[:max_alts]:
                extra.append(" ".join(alt))
        return text if not extra else text + " " + " ".join(extra)

    def rows(self) -> list[tuple[str, str, str]]:
        """(reference, other forms, origin) for display."""
        out = []
        for e in self.entries:
            origins = sorted({s for s in e.sources.values() if s})
            out.append((e.forms[0], " | ".join(e.forms[1:]), ", ".join(origins) or "intégré"))
        return out


# --- loading ------------------------------------------------------------------------

def parse_tsv(text: str, source: str = "") -> Glossary:
    g = Glossary()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        g.add(re.split(r"\s*[|\t]\s*", line), source)
    return g


def builtin() -> Glossary:
    text = resources.files("rag").joinpath("data/glossary.tsv").read_text(encoding="utf-8")
    return parse_tsv(text)


def load(user_file: Path | None = None) -> Glossary:
    g = builtin()
    if user_file is not None and user_file.is_file():
        g.merge(parse_tsv(user_file.read_text(encoding="utf-8"), user_file.name))
    return g


# --- mining definitions from documents ----------------------------------------------------

_ACR = r"(?P<acr>[A-Z][A-Z0-9]{1,7}[a-z]?)"
_WORDS = r"(?P<exp>[A-Za-zÀ-ÿ'’][A-Za-zÀ-ÿ'’\- ]{4,110}?)"
_PATTERNS = [
    re.compile(_ACR + r"\s+pour\s+" + _WORDS + r"(?=\s*[(,.;\n]|$)"),
    re.compile(_ACR + r"\s*\(\s*(?:la |le |l'|les )?[«*\s]*" + _WORDS + r"[»*\s]*\)"),
    re.compile(r"\(\s*" + _ACR + r"\s*\)\s*" + _WORDS + r"(?=\s*[(,.;:\n]|$)"),
    re.compile(_WORDS + r"\s*\(\s*" + _ACR + r"\s*\)"),
]


def initials_match(acr: str, expansion: str) -> str | None:
    """The shortest tail of ``expansion`` whose word initials spell ``acr``, or None.

    Small words ("de", "la", "et", elided "d'") may be skipped, or used when their
    initial is the next letter ("Entretien D'Orientation" spells EDO).

    >>> initials_match("QVCT", "la Qualité de Vie et Conditions de Travail")
    'Qualité de Vie et Conditions de Travail'
    >>> initials_match("EDO", "Entretien D'Orientation")
    "Entretien D'Orientation"
    """
    letters = fold(re.sub(r"[^A-Za-z]", "", acr))
    words = [(m.group(0), m.start()) for m in re.finditer(r"[A-Za-zÀ-ÿ]+", expansion)]
    for start in range(len(words)):
        if fold(words[start][0]) in _SMALL or fold(words[start][0][0]) != letters[0]:
            continue
        li, last = 1, start
        for k in range(start + 1, len(words)):
            if li == len(letters):
                break
            w = fold(words[k][0])
            nxt = next((fold(x) for x, _ in words[k + 1:] if fold(x) not in _SMALL), "")
            if w[0] == letters[li] and not (w in _SMALL and nxt[:1] == letters[li]):
                li, last = li + 1, k
            elif w in _SMALL:
                continue
            else:
                break
        if li == len(letters):
            end = words[last][1] + len(words[last][0])
            return expansion[words[start][1]:end]
    return None


def mine(text: str, source: str = "") -> Glossary:
    """Acronym definitions stated in a document (see module docstring)."""
    g = Glossary()
    for pat in _PATTERNS:
        for m in pat.finditer(text):
            acr, exp = m.group("acr"), m.group("exp").strip()
            if len(acr) < 2 or acr.isdigit():
                continue
            clean = initials_match(acr, exp)
            if clean and len(clean.split()) >= 2:
                g.add([acr, clean], source)
    return g
