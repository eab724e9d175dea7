"""Page documents -> citable chunks, following the document's structure.

A llama-index ``NodeParser`` so it plugs into ingestion pipelines, written here
because verbatim citation needs a guarantee the stock splitters do not give:
every chunk's text is an exact substring of its page (``start_char_idx`` /
``end_char_idx`` say where), so a quote taken from a chunk is a quote from the
document.

Structure it follows:
- headings (markdown ``#``, short lines without final punctuation followed by
  text, "Intervention du SNAP", "Réponses de la Direction") start a new chunk
  and are kept in the chunk's ``section`` metadata;
- lines are never cut, except a paragraph longer than the chunk size, which is
  split on sentence boundaries with a small overlap;
- boilerplate never enters a chunk: lines repeated three times or more in a
  file (page headers, slogans), known slogans, e-mail lines and the names
  listed above them, and runs of one- or two-word fragments (logos).

Worked example (chunk_size=160 words)::

    "# France Travail PRO\\nLe coût ? 2 millions d'euros !\\nPROCHE, ACTIF, humain !"
    -> one chunk "France Travail PRO\\nLe coût ? 2 millions d'euros !", section "France Travail PRO"
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, MetadataMode, TextNode

from rag.text import fold, sentence_spans

SLOGANS = ("proche, actif, humain", "je scanne, j'adhere", "vos elus", "votre representant")
_WORD_RE = re.compile(r"\w+")
# Lists of elected members and contacts ("Vos élus CSEC", "VOTRE DELEGUE REGIONAL",
# "Votre Représentant syndical SNAP" followed by names and e-mails) are kept out of the
# text chunks (they would crowd every search) and indexed as one "roster" chunk per
# page, which only "qui est …" questions read.
ROLE_RE = re.compile(
    r"^[\W_]*(?:(?:vos|votre|nos|notre|les)\s+(?:[ée]lue?s?|d[ée]l[ée]gu[ée]e?s?|repr[ée]sentante?s?|"
    r"secr[ée]taires?|tr[ée]sori[eè]re?s?|contacts?|correspondante?s?)|titulaires?|suppl[ée]ante?s?)\b",
    re.IGNORECASE)
_NAME_LINE_RE = re.compile(
    r"^[\W_]*[A-ZÉÈ][a-zéèëêïîôçü]+(?:[- ][A-ZÉÈ][a-zéèëêïîôçü]+)?\s+"
    r"(?:(?:DE|D'|LE|DU|HO|DA|DOS)\s+)?[A-ZÉÈ][A-ZÉÈ'’\-]+(?:\s+[A-ZÉÈ][A-ZÉÈ'’\-]+)*[\W_]*$")
ROSTER_SECTION = "Élus et contacts"
_HEADING_HINT = re.compile(
    r"^(intervention|r[ée]ponses?|d[ée]claration|question|point|ordre du jour|programme|pr[ée]sentation)\b",
    re.IGNORECASE,
)


@dataclass
class _Line:
    start: int
    end: int
    words: int
    kind: str  # "text" | "heading" | "boiler" | "blank"


def _norm_line(text: str) -> str:
    return re.sub(r"[\W_]+", " ", fold(text)).strip()


def boilerplate_lines(pages: Sequence[str]) -> set[str]:
    """Normalised short lines repeated three times or more across a file's pages."""
    counts: Counter[str] = Counter()
    for page in pages:
        for line in page.split("\n"):
            norm = _norm_line(line)
            if norm and len(norm.split()) <= 10:
                counts[norm] += 1
    return {line for line, n in counts.items() if n >= 3}


def _classify(text: str, repeated: set[str]) -> list[_Line]:
    lines: list[_Line] = []
    pos = 0
    raw_lines = text.split("\n")
    for i, raw in enumerate(raw_lines):
        start, end = pos, pos + len(raw)
        pos = end + 1
        stripped = raw.strip()
        norm = _norm_line(stripped)
        words = len(_WORD_RE.findall(stripped))
        if not norm:
            lines.append(_Line(start, end, 0, "blank"))
            continue
        nxt = next((x.strip() for x in raw_lines[i + 1:i + 3] if x.strip()), "")
        if (
            norm in repeated
            or "@" in stripped
            or any(norm.startswith(_norm_line(s)) for s in SLOGANS)
            or ("@" in nxt and words <= 6 and not re.search(r"[.:;!?]$", stripped))
        ):
            kind = "boiler"
        elif stripped.startswith("#") or (
            words <= 14
            and not re.search(r"[.,;:!?»)]$", stripped)
            and (_HEADING_HINT.match(stripped) or words >= 3)
            and len(nxt.split()) > words
            and not stripped.startswith(("-", "•", "*"))
        ):
            kind = "heading"
        else:
            kind = "text"
        lines.append(_Line(start, end, words, kind))
    # Runs of 3+ tiny fragments (logo text: "PROCHE," "ACTIF," "SNAP" "CSEC" "Extra").
    run: list[int] = []
    for idx, ln in enumerate(lines + [_Line(0, 0, 99, "text")]):
        tiny = ln.kind in ("text", "heading") and ln.words <= 2 and not re.search(
            r"\d", text[ln.start:ln.end]
        )
        if tiny or ln.kind == "blank":
            if tiny:
                run.append(idx)
            continue
        if len(run) >= 3:
            for j in run:
                lines[j].kind = "boiler"
        run = []
    return lines


def _roster_spans(text: str, lines: list[_Line]) -> list[tuple[int, int]]:
    """Spans of the page that list elected members or contacts: from a role line ("Vos élus
    CSEC", "#### VOTRE DELEGUE REGIONAL") over names, e-mails, role lines and their short
    continuations ("syndical SNAP"), as long as at least one name follows."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        first = text[lines[i].start:lines[i].end].strip()
        if lines[i].kind == "blank" or not ROLE_RE.match(first) or lines[i].words > 8:
            i += 1
            continue
        j, last, names, prev_role = i + 1, i, 0, True
        while j < len(lines):
            ln = lines[j]
            line = text[ln.start:ln.end].strip()
            if ln.kind == "blank":
                j += 1
                continue
            if _NAME_LINE_RE.match(line):
                names, prev_role = names + 1, False
            elif ROLE_RE.match(line) and ln.words <= 8:
                prev_role = True
            elif "@" in line and ln.words <= 6:
                prev_role = False
            elif prev_role and ln.words <= 3 and not re.search(r"[.!?]$", line):
                pass  # "Votre Représentant" / "syndical SNAP"
            else:
                break
            last = j
            j += 1
        if names:
            out.append((lines[i].start, lines[last].end))
        i = max(j, i + 1)
    return out


_PIECE_RE = re.compile(r"\S{1,100}")


def _hard_split(text: str, a: int, b: int, max_words: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text[a:b]`` at spaces into pieces of at most ``max_words`` words and about
    ``max_chars`` characters, for a "sentence" with no punctuation (a 5 MB single line)
    that would otherwise become one giant chunk. A run of more than 100 non-space
    characters counts as several words, so even a line without spaces is cut. Each
    piece is an exact span::

        _hard_split("a b c d e", 0, 9, 2, 100) -> [(0, 3), (4, 7), (8, 9)]
    """
    if b - a <= max_chars and len(_PIECE_RE.findall(text, a, b)) <= max_words:
        return [(a, b)]
    pieces: list[tuple[int, int]] = []
    begin, last, n = a, a, 0
    for m in _PIECE_RE.finditer(text, a, b):
        if n and (n >= max_words or m.end() - begin > max_chars):
            pieces.append((begin, last))
            begin, n = m.start(), 0
        n += 1
        last = m.end()
    pieces.append((begin, last))
    return pieces


class StructureChunker(NodeParser):
    """Structure-aware chunker whose chunks are exact substrings of their page."""

    chunk_size: int = 160
    chunk_overlap: int = 30

    @classmethod
    def class_name(cls) -> str:
        return "StructureChunker"

    def _parse_nodes(
        self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any
    ) -> list[BaseNode]:
        by_source: dict[str, list[BaseNode]] = {}
        for node in nodes:
            by_source.setdefault(str(node.metadata.get("source", node.node_id)), []).append(node)
        out: list[BaseNode] = []
        for group in by_source.values():
            pages = [n.get_content(metadata_mode=MetadataMode.NONE) for n in group]
            repeated = boilerplate_lines(pages)
            for node, text in zip(group, pages, strict=True):
                out.extend(self._chunk_page(node, text, repeated))
        return out

    def _chunk_page(self, doc: BaseNode, text: str, repeated: set[str]) -> list[TextNode]:
        spans: list[tuple[int, int, str]] = []  # start, end, section
        section = ""
        cur: list[_Line] = []
        classified = _classify(text, repeated)
        rosters = _roster_spans(text, classified)

        def flush() -> None:
            if cur:
                spans.extend(self._split_long(text, cur[0].start, cur[-1].end, section))
                cur.clear()

        for ln in classified:
            if ln.kind == "blank":
                continue
            if ln.kind == "boiler" or any(a <= ln.start < b for a, b in rosters):
                flush()
                continue
            if ln.kind == "heading":
                flush()
                section = text[ln.start:ln.end].strip().lstrip("#").strip()
                cur.append(ln)
                continue
            size = sum(x.words for x in cur)
            if cur and size + ln.words > self.chunk_size and size >= self.chunk_size // 3:
                flush()
            cur.append(ln)
        flush()

        spans.extend((a, b, ROSTER_SECTION) for a, b in rosters)
        nodes: list[TextNode] = []
        for start, end, sect in spans:
            chunk = text[start:end]
            if len(_WORD_RE.findall(chunk)) < 4:
                continue
            meta = dict(doc.metadata)
            meta["section"] = sect
            if (start, end) in rosters:
                meta["roster"] = True
            node = TextNode(
                text=chunk,
                metadata=meta,
                start_char_idx=start,
                end_char_idx=end,
                excluded_embed_metadata_keys=[k for k in meta if k != "section"],
                excluded_llm_metadata_keys=[k for k in meta if k not in ("title", "page")],
            )
            if isinstance(doc, Document):
                node.relationships.update({})  # relationships set by NodeParser post-processing
            nodes.append(node)
        return nodes

    def _split_long(self, text: str, start: int, end: int, section: str) -> list[tuple[int, int, str]]:
        """Split ``text[start:end]`` on sentence boundaries into windows of about
        chunk_size words, each window repeating about chunk_overlap words."""
        max_chars = self.chunk_size * 20  # a 5 MB line of one "word" is no chunk either
        if end - start <= max_chars and len(_WORD_RE.findall(text[start:end])) <= self.chunk_size * 1.25:
            return [(start, end, section)]
        sents = [piece for a, b in sentence_spans(text, start, end)
                 for piece in _hard_split(text, a, b, self.chunk_size, max_chars)]
        if not sents:
            return [(start, end, section)]
        counts = [len(_WORD_RE.findall(text[a:b])) for a, b in sents]
        windows: list[tuple[int, int, str]] = []
        i = 0
        while i < len(sents):
            j, total = i, 0
            while j < len(sents) and (total == 0 or (total + counts[j] <= self.chunk_size
                                                     and sents[j][1] - sents[i][0] <= max_chars)):
                total += counts[j]
                j += 1
            windows.append((sents[i][0], sents[j - 1][1], section))
            if j >= len(sents):
                break
            # step back over trailing sentences worth about chunk_overlap words
            back, k = 0, j
            while k - 1 > i and back + counts[k - 1] <= self.chunk_overlap:
                k -= 1
                back += counts[k]
            i = k
        return windows
