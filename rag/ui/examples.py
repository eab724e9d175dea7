"""Example questions for an empty chat, built from the documents that are indexed.

One question per document: the first sentence that states one figure (an amount,
a percentage, a count of something) becomes a question about that figure, the
figure replaced by the interrogative where it stands, as French says it aloud:

    "La campagne publicitaire a coûté 2 millions d'euros."
    -> "La campagne publicitaire a coûté combien ?"
    "Or, la direction prévoit de supprimer 45 postes de conseillers en 2025."
    -> "La direction prévoit de supprimer combien de postes de conseillers en 2025 ?"

A document without such a figure gets a question on what its first plain
sentence says its subject does, read from the stored French analysis
(rag.analyze: dependency labels), the verb put before its subject:

    "Les élus demandent des effectifs supplémentaires."  -> "Que demandent les élus ?"
    "La direction a annoncé un plan de formation."        -> "Qu'a annoncé la direction ?"

and failing that, a question on its title. Sentences that need what comes before
them (starting with "Il", "Cette"…), that carry markup, or that are too long for a
button are passed over. The words come from the document only: this module knows
French grammar, no document.

The sample corpus shipped with the project is recognised by the hashes of its
files in the index manifest (``rag/data/sample_corpus.json``); when it is all
indexed, its hand-written questions come first.

What it leaves out: ranking documents by importance (the newest indexed come
first), questions on dates or names, and checking that the answerer answers them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from rag.analyze import Token
from rag.dates import MONTH_NUMBER
from rag.text import STOPWORDS, Quantity, drop_inclusive_marks, extract_quantities, fold, sentence_spans

MAX_EXAMPLES = 4
MAX_CHARS = 140  # a longer question does not fit on an example button
MIN_WORDS, MAX_WORDS = 5, 25
MAX_SUBJECT_WORDS = 8
SCAN_CHARS = 20_000  # the facts a document leads with are near its start
TITLE_CHARS = 70

# Words a sentence cannot start with and still be understood alone.
_NEEDS_CONTEXT = frozenset(
    "il elle ils elles on ce cela ca ceci ces cette cet celui celle ceux celles leur leurs son "
    "sa ses je nous vous y en lui dont ici lequel laquelle lesquels lesquelles auquel auxquels "
    "auxquelles duquel desquels desquelles c qu".split())
# Before a figure, these make the interrogative ungrammatical ("les combien de…").
_PLURAL_DETERMINERS = frozenset("les des ces ses nos vos leurs mes tes aux".split())
# A lone connective opening a sentence ("Or, …"): dropped from the question.
_CONNECTIVE_RE = re.compile(
    r"^(?:or|ainsi|enfin|donc|mais|et|alors|aussi|pourtant|cependant|toutefois|neanmoins|"
    r"de plus|en effet|par ailleurs|en outre|au total)\s*,\s+", re.IGNORECASE)
# Only plain text becomes a button: no markup, links, tables or addresses.
_PLAIN_RE = re.compile(r"[\w\s.,;:'’\"()%€«»!?/\-–—]+")
_NEXT_WORD_RE = re.compile(r"\s*(?:(?:d['’]|de\s+)\s*)?(\S+)")
_LEADING_DE_RE = re.compile(r"^\s*(?:d['’]\s*|de\s+)")
_VOWEL_RE = re.compile(r"^[aeiouyhàâäéèêëîïôöùûü]", re.IGNORECASE)


@dataclass(frozen=True)
class SampleCorpus:
    hashes: frozenset[str]
    questions: tuple[str, ...]


@lru_cache(maxsize=1)
def sample_corpus() -> SampleCorpus:
    """The sample corpus' file hashes and hand-written questions (rag/data/sample_corpus.json)."""
    data = json.loads(resources.files("rag.data").joinpath("sample_corpus.json")
                      .read_text(encoding="utf-8"))
    return SampleCorpus(frozenset(data["files"]), tuple(data["questions"]))


def is_sample_corpus(documents: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether every file of the sample corpus is indexed (by content hash, whatever its path)."""
    hashes = {str(f.get("hash")) for f in documents.values()}
    sample = sample_corpus()
    return bool(sample.hashes) and sample.hashes <= hashes


def _next_word(sentence: str, q: Quantity) -> str:
    m = _NEXT_WORD_RE.match(sentence, q.end)
    return fold(m.group(1).rstrip(".,;:!?)»")) if m else ""


def _is_date_part(q: Quantity, sentence: str) -> bool:
    """A year, an ordinal or the day of a date ("24 octobre"): part of a date, not a figure."""
    return (not q.unit and 1900 <= q.value <= 2100) or q.unit == "ordinal" \
        or _next_word(sentence, q) in MONTH_NUMBER


def _is_figure(q: Quantity, sentence: str) -> bool:
    """A figure worth asking about: an amount, a percentage, ETP, or a count of a noun.

    Numbers standing alone ("du 3949") or before a non-noun ("entre 29 et") are not.
    """
    if q.unit in ("€", "%", "etp"):
        return True
    if q.unit or q.value < 2 or q.value != int(q.value):
        return False
    word = _next_word(sentence, q)
    return len(word) > 1 and word.isalpha() and word not in STOPWORDS


def _ask(q: Quantity, before: str, after: str) -> str:
    """The sentence with its figure replaced by the interrogative that asks for it."""
    if q.unit == "€":
        return before + "combien" + after
    if q.unit == "%":
        return before + "quel pourcentage" + after
    if q.unit == "etp":
        return before + "combien d'ETP" + after
    rest = _LEADING_DE_RE.sub("", after).lstrip()
    return before + ("combien d'" if _VOWEL_RE.match(rest) else "combien de ") + rest


def _as_question(text: str) -> str:
    text = re.sub(r"[\s.!;:…,]+$", "", text).strip()
    return text[:1].upper() + text[1:] + " ?"


def _plain_sentence(sentence: str) -> list[str] | None:
    """The words of a sentence fit for a button and understood alone, or None."""
    words = sentence.split()
    if not (MIN_WORDS <= len(words) <= MAX_WORDS) or not _PLAIN_RE.fullmatch(sentence) \
            or not (sentence[:1].isupper() or sentence[:1].isdigit()):
        return None  # too short or long, markup, or a piece of a sentence cut by a line break
    head = fold(re.split(r"[-,'’]", words[0])[0])  # "Celle-ci," -> "celle"; "C'est" -> "c"
    return None if head in _NEEDS_CONTEXT else words


def figure_question(sentence: str) -> str | None:
    """The question a sentence with exactly one figure answers, or None.

    "Les élus ont obtenu 12 recrutements supplémentaires." -> "Les élus ont obtenu
    combien de recrutements supplémentaires ?"
    """
    sentence = " ".join(drop_inclusive_marks(sentence).split())
    if _plain_sentence(sentence) is None:
        return None
    sentence = _CONNECTIVE_RE.sub("", sentence)
    words = _plain_sentence(sentence[:1].upper() + sentence[1:])
    if words is None or not sentence.endswith((".", ":")):  # a statement or a list's lead
        return None
    if sentence.endswith(":") and fold(words[-2 if words[-1] == ":" else -1].rstrip(":")) in STOPWORDS:
        return None  # "… les orientations des inscrits vers :" leads a list it needs
    numbers = [q for q in extract_quantities(sentence) if not _is_date_part(q, sentence)]
    if len(numbers) != 1 or not _is_figure(numbers[0], sentence):
        return None  # two figures ("entre 29 et 40 %"): which one is asked is unclear
    q = numbers[0]
    before = sentence[:q.start].split()
    if before and fold(before[-1]) in _PLURAL_DETERMINERS:
        return None  # "Les 45 agents…" would ask "Les combien d'agents…"
    question = _as_question(_ask(q, sentence[:q.start], sentence[q.end:]))
    return question if len(question) <= MAX_CHARS else None


def subject_question(text: str, start: int, end: int, tokens: Sequence[Token]) -> str | None:
    """"Que {verb} {subject} ?" for the sentence ``text[start:end]``, or None.

    ``tokens`` are rag.analyze tokens of ``text`` ([start, end, lemma, pos, dep, head,
    ent]). The first verb with a noun subject before it and an object after it is
    asked about; negated, reflexive and passive verbs are not (the question would
    change what the sentence says).
    """
    sentence = " ".join(text[start:end].split())
    if _plain_sentence(sentence) is None or not sentence.endswith("."):
        return None
    inside = [i for i, t in enumerate(tokens) if start <= t[0] < end]
    if not inside:
        return None
    children: dict[int, list[int]] = {}
    for i in inside:
        if tokens[i][5] != i:
            children.setdefault(int(tokens[i][5]), []).append(i)

    def subtree(i: int) -> list[int]:
        out, todo = [], [i]
        while todo:
            j = todo.pop()
            out.append(j)
            todo.extend(children.get(j, []))
        return sorted(out)

    for v in inside:
        if tokens[v][3] != "VERB":
            continue
        kids = children.get(v, [])
        deps = {str(tokens[k][4]) for k in kids}
        lemmas = {fold(str(tokens[k][2])) for k in kids}
        if deps & {"nsubj:pass", "aux:pass", "expl", "expl:pass", "expl:comp", "expl:pv"} \
                or lemmas & {"ne", "pas", "jamais", "plus", "se"}:
            continue
        subjects = [k for k in kids if tokens[k][4] == "nsubj" and tokens[k][3] in ("NOUN", "PROPN")
                    and k < v]
        # what is asked is a thing said or done, not an infinitive ("doit être consulté")
        if not subjects or not any(tokens[k][4] in ("obj", "ccomp") and tokens[k][3] != "VERB"
                                   and k > v for k in kids):
            continue
        span = subtree(subjects[0])
        auxes = [k for k in kids if str(tokens[k][4]).startswith("aux") and k < v]
        if len(span) > MAX_SUBJECT_WORDS or span != list(range(span[0], span[-1] + 1)) \
                or [*range(span[-1] + 1, v)] != auxes:  # only auxiliaries between subject and verb
            continue
        subject = " ".join(text[tokens[span[0]][0]:tokens[span[-1]][1]].split())
        if fold(subject.split()[0]) in _NEEDS_CONTEXT:  # "son intégration": whose?
            continue
        if subject[:1].isupper() and tokens[span[0]][3] != "PROPN":
            subject = subject[0].lower() + subject[1:]  # "Les élus" -> "les élus"
        verb = " ".join(text[tokens[k][0]:tokens[k][1]] for k in [*auxes, v])
        que = "Qu'" if _VOWEL_RE.match(verb) and not verb[:1].lower() == "h" else "Que "
        return f"{que}{verb} {subject} ?"
    return None


def title_question(title: str) -> str | None:
    """A question on what a document says, from its title (shortened on a word)."""
    title = " ".join(title.split()).strip(" .,;:!?")
    if not title or not _PLAIN_RE.fullmatch(title):
        return None
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return f"Que dit le document « {title} » ?"


Page = tuple[str, Sequence[Token]]  # a page's text and its rag.analyze tokens ([] if none)


def example_question(title: str, pages: Sequence[Page]) -> str | None:
    """One example question for a document (its first pages): on its first figure,
    else on what its first subject does, else on its title."""
    spans: list[tuple[str, int, int, Sequence[Token]]] = []
    budget = SCAN_CHARS
    for text, tokens in pages:
        scan = text[:max(0, budget)]
        budget -= len(scan)
        spans.extend((text, a, b, tokens) for a, b in sentence_spans(scan))
    for text, a, b, _ in spans:
        question = figure_question(text[a:b])
        if question:
            return question
    for text, a, b, tokens in spans:
        question = subject_question(text, a, b, tokens) if tokens else None
        if question:
            return question
    return title_question(title)


def example_questions(documents: Mapping[str, Mapping[str, Any]],
                      pages_of: Callable[[str], Sequence[Page]],
                      limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to ``limit`` example questions for an index's documents (``manifest["files"]``).

    On the sample corpus its hand-written questions come first; then one question per
    other document, the most recently indexed first. ``pages_of(source)`` gives the
    first pages of a document with their tokens. No document, no example.
    """
    out: list[str] = []
    sample = sample_corpus()
    on_sample = is_sample_corpus(documents)
    if on_sample:
        out.extend(sample.questions)
    order = sorted(documents.items(), key=lambda kv: str(kv[1].get("title") or kv[0]).lower())
    order.sort(key=lambda kv: str(kv[1].get("indexed_at") or ""), reverse=True)
    for source, f in order:
        if len(out) >= limit:
            break
        if on_sample and str(f.get("hash")) in sample.hashes:
            continue
        question = example_question(str(f.get("title") or ""), pages_of(source))
        if question and question not in out:
            out.append(question)
    return out[:limit]


__all__ = ["MAX_EXAMPLES", "Page", "example_question", "example_questions", "figure_question",
           "is_sample_corpus", "sample_corpus", "subject_question", "title_question"]
