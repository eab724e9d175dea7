"""French text analysis: folding, elisions, stemming, numbers and dates.

This is the part general-purpose libraries do poorly for French union
documents, so it is ours. Everything here is pure and deterministic.

Worked examples::

    fold("L’Équipe")                       -> "l'equipe"
    join_digit_groups("2 900 ETP")         -> "2900 ETP"      (space, NBSP, narrow NBSP)
    analyze("Qu'en est-il des 2 900 ETP ?") -> ["est", "2900", "etp"]
    analyze("les demandeurs d'emploi")     -> ["demandeur", "emploi"]
    extract_quantities("Le coût ? 2 millions d'euros !")[0].value -> 2000000.0
    normalize_for_match("1<sup>er</sup> avril")  -> "1er avril"

What it leaves out: lemmatisation beyond Snowball, spelling correction and
synonyms (the glossary handles acronyms and synonyms in retrieval).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import Stemmer

from rag.dates import MONTH_NUMBER, MONTH_RE

# Apostrophes and spaces seen in real documents.
_APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4\u2032"
_SPACES = "\u00a0\u202f\u2007\u2009\u200a"
_LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"}

ELISIONS = ("l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu")

STOPWORDS = frozenset(
    """
    a au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur
    leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se
    ses son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y ete etre est sont
    etait ont a as avons avez avait ai sera seront fait faire cela ca ci la-bas dont donc si
    tout tous toute toutes plus moins tres bien aussi alors comme ainsi entre vers chez sous
    sans selon apres avant depuis pendant lors deja encore ici y-a-t-il est-ce
    """.split()
)

# Words that say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    """
    combien quel quelle quels quelles quoi quand comment pourquoi qui ou lequel laquelle
    lesquels lesquelles est-ce existe-t-il y-a-t-il peut-on doit-on dit disent dire indique
    indiquent selon document documents tract tracts parle parlent mentionne evoque
    """.split()
)

_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_DIGIT_GROUP_RE = re.compile(r"(?<![\d.,])(\d{1,3})((?:[ \u00a0\u202f\u2007\u2009]\d{3})+)(?![\d])")
_SUP_RE = re.compile(r"<sup>\s*(.*?)\s*</sup>|\^\{\s*(.*?)\s*\}", re.IGNORECASE | re.DOTALL)
_WS_RE = re.compile(r"\s+")


def _fold_slow(text: str) -> str:
    for lig, rep in _LIGATURES.items():
        text = text.replace(lig, rep)
    for ap in _APOSTROPHES:
        text = text.replace(ap, "'")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower()


# Every Latin-1 / Latin Extended-A character and the apostrophes, folded once: French
# text then folds with one str.translate (the per-character NFKD pass was most of the
# time of answering, ~3 s per 40 questions); anything else still takes the slow path.
_FOLD_TABLE = {c: _fold_slow(chr(c)) for c in list(range(0x80, 0x250)) + [ord(a) for a in _APOSTROPHES]}


def fold(text: str) -> str:
    """Lower-case, strip accents, unify apostrophes and ligatures."""
    out = text.translate(_FOLD_TABLE).lower()
    if out.isascii():
        return out
    # Characters the table does not cover (emoji, narrow no-break space, "ﬁ"): folded
    # one by one, cached. « » and the like are covered and stay as they are.
    return _UNCOVERED_RE.sub(lambda m: _fold_char(m.group(0)), out)


_UNCOVERED_RE = re.compile("[^\x00-\u024f]")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return _fold_slow(ch)


def _unaccent_slow(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_UNACCENT_TABLE = {c: _unaccent_slow(chr(c)) for c in list(range(0x80, 0x250)) + [0x2019]}


@lru_cache(maxsize=4096)
def _unaccent_char(ch: str) -> str:
    return _unaccent_slow(ch)


def unaccent(text: str) -> str:
    """Accents stripped and ’ written ', case kept (so "Île" matches "Ile" but "Réunion"
    does not match "RÉUNION"); one str.translate, as ``fold``.

    >>> unaccent("Côte d’Armor, ÎLE")
    "Cote d'Armor, ILE"
    """
    out = text.translate(_UNACCENT_TABLE)
    if out.isascii():
        return out
    return _UNCOVERED_RE.sub(lambda m: _unaccent_char(m.group(0)), out)


def join_digit_groups(text: str) -> str:
    """Join thousands written with a space: "2 900" -> "2900", "1 234 567" -> "1234567".

    "2 M€", "de 2 à 5" and "2024 2025" stay untouched: only groups of exactly
    three digits after a 1-3 digit head are joined.
    """
    return _DIGIT_GROUP_RE.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)


def unwrap_superscripts(text: str) -> str:
    """"1<sup>er</sup>" -> "1er", "1^{ère}" -> "1ère"."""
    return _SUP_RE.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)


def split_elisions(text: str) -> str:
    """Drop elided articles and pronouns: "l'ia" -> "ia", "qu'en" -> "en" (input folded)."""
    return re.sub(r"\b(?:%s)'" % "|".join(ELISIONS), "", text)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("french")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


# Symbols that carry meaning in questions about money and rates.
_SYMBOLS = (("m€", " millions euros "), ("k€", " milliers euros "), ("md€", " milliards euros "),
            ("€", " euros "), ("%", " pourcent "))


# Inclusive writing ("écriture inclusive"): "conseiller.es", "usager·ères", "élu·e·s",
# "salarié-es", "directeur.rice.s". Tokenised as is, "conseiller.es" became the stems
# "conseil" + "e" and no longer matched "conseillers". Read on folded text, the
# feminine marker is dropped and the plural kept: "conseillers", "usagers", "elus".
_INCLUSIVE_RE = re.compile(
    r"(?<=[a-z])(?:[.\u00b7\u2022\u2027\u22c5](?:e|ne|le|te|ere|euse|rice|trice|ice|ive|fe)"
    r"(?P<pl>[.\u00b7\u2022\u2027\u22c5]?s)?|-e(?P<hpl>-?s)?)(?![a-z])")


def drop_inclusive_marks(text: str) -> str:
    """"conseiller.es" -> "conseillers", "élu·e·s" -> "élus", "agent.e" -> "agent" (folded input)."""
    def repl(m: re.Match[str]) -> str:
        plural = m.group("pl") or m.group("hpl")
        return "s" if plural and m.string[m.start() - 1] not in "sx" else ""
    return _INCLUSIVE_RE.sub(repl, text)


def raw_tokens(text: str) -> list[str]:
    """Folded word and number tokens, elisions removed, stopwords kept, not stemmed."""
    text = drop_inclusive_marks(fold(join_digit_groups(unwrap_superscripts(text))))
    for sym, rep in _SYMBOLS:
        text = text.replace(sym, rep)
    text = split_elisions(text)
    return _TOKEN_RE.findall(text)


def analyze(text: str, keep_question_words: bool = True) -> list[str]:
    """Tokens for lexical search: folded, elisions split, stopwords dropped, stemmed.

    Numbers are kept whole ("2900", "1,5"); a decimal comma and point are unified.
    Sentences of the passages being answered from recur from one question to the
    next: short texts are analysed once (cached).
    """
    if len(text) <= 2000:
        return list(_analyze_cached(text, keep_question_words))
    return _analyze(text, keep_question_words)


@lru_cache(maxsize=50_000)
def _analyze_cached(text: str, keep_question_words: bool) -> tuple[str, ...]:
    return tuple(_analyze(text, keep_question_words))


def _analyze(text: str, keep_question_words: bool) -> list[str]:
    out: list[str] = []
    for tok in raw_tokens(text):
        if tok[0].isdigit():
            out.append(tok.replace(",", "."))
            continue
        if tok in STOPWORDS or len(tok) < 2:
            continue
        if not keep_question_words and tok in QUESTION_WORDS:
            continue
        out.append(stem(tok))
    return out


def normalize_for_match(text: str) -> str:
    """Canonical form for checking that an expected answer appears in a text.

    Folds case and accents, unwraps <sup>, drops markdown emphasis, unifies
    apostrophes and spaces, joins digit groups ("2 900" = "2900").
    """
    text = unwrap_superscripts(text).replace("**", "").replace("__", "")
    for sp in _SPACES:
        text = text.replace(sp, " ")
    text = join_digit_groups(text)
    text = fold(text)
    return _WS_RE.sub(" ", text).strip()


def contains_normalized(haystack: str, needle: str) -> bool:
    """True when ``needle`` occurs in ``haystack`` after ``normalize_for_match``."""
    n = normalize_for_match(needle)
    return bool(n) and n in normalize_for_match(haystack)


# --- numbers and dates ---------------------------------------------------------

_SCALES = {
    "millier": 1e3, "milliers": 1e3, "k": 1e3, "k€": 1e3,
    "million": 1e6, "millions": 1e6, "m": 1e6, "m€": 1e6, "mln": 1e6,
    "milliard": 1e9, "milliards": 1e9, "md": 1e9, "mds": 1e9, "md€": 1e9, "mrd": 1e9,
}

_NUMBER_RE = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,](?P<dec>\d+))?"
    r"(?P<ord>\s*(?:er|ère|ere|e|ème|eme|nd|nde)\b)?"
    r"(?:\s*(?P<scale>milliers|millier|millions|million|milliards|milliard|mds|md|mrd|k|m)\b\.?)?"
    r"(?:\s*(?:d['\u2019]\s*|de\s+)?(?P<unit>€|%|euros?\b|pour\s?cent\b|etp\b))?",
    re.IGNORECASE,
)

# Numbers written in words ("deux situations supplémentaires", "trois millions"). "un",
# "une" are left out: far more often articles than counts.
NUMBER_WORDS = {
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100,
    "mille": 1000,
    # approximate: "une dizaine d'années", "une centaine d'agents"
    "dizaine": 10, "dizaines": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20,
    "trentaine": 30, "cinquantaine": 50, "centaine": 100, "centaines": 100,
}
_BASE_WORDS = "|".join(sorted([w for w in NUMBER_WORDS if not w.endswith(("aine", "aines"))]
                              + ["un", "une", "cents", "vingts"], key=len, reverse=True))
_NUMBER_WORD_RE = re.compile(
    # "dix-huit", "vingt-deux", "quatre-vingt-dix", "soixante et onze", or one word
    r"(?<![\w-])(?P<word>(?:%s)(?:(?:-et-|-|\s+et\s+)(?:%s))+|%s)(?![\w-])"
    r"(?:\s+(?P<scale>milliers|millions|million|milliards|milliard)\b)?"
    r"(?:\s*(?:d['\u2019]\s*|de\s+)?(?P<unit>€|euros?\b|pour\s?cent\b))?"
    % (_BASE_WORDS, _BASE_WORDS, "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))),
    re.IGNORECASE)


def number_word_value(words: str) -> int:
    """The value of a French number written in words, hyphenated or joined by "et".

    >>> [number_word_value(w) for w in ("dix-huit", "vingt-deux", "quatre-vingt-dix",
    ...                                 "soixante et onze", "deux-cents", "centaine")]
    [18, 22, 90, 71, 200, 100]
    """
    total = cur = 0
    for part in re.split(r"-et-|-|\s+et\s+", words.lower()):
        if part in ("un", "une"):
            cur += 1
        elif part in ("cent", "cents"):
            cur = (cur or 1) * 100
        elif part == "mille":
            total, cur = total + (cur or 1) * 1000, 0
        elif part in ("vingt", "vingts") and cur == 4:
            cur *= 20  # quatre-vingt
        else:
            cur += NUMBER_WORDS.get(part, 0)
    return total + cur

MONTHS = MONTH_NUMBER  # folded month name -> 1..12
_DATE_WORDS_RE = re.compile(
    r"\b(?P<day>\d{1,2})(?:\s*(?:er|<sup>\s*er\s*</sup>))?\s+(?P<month>%s)\s+(?P<year>\d{4})\b"
    % "|".join(MONTHS),
)
_MONTH_YEAR_RE = re.compile(r"\b(?P<month>%s)\s+(?P<year>\d{4})\b" % "|".join(MONTHS))
_DATE_NUM_RE = re.compile(r"\b(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4})\b")


@dataclass(frozen=True)
class Quantity:
    """A number mentioned in text, with its scale applied: "2 M€" -> 2000000.0, unit "€"."""

    value: float
    unit: str
    text: str
    start: int
    end: int


def _unit(raw: str | None) -> str:
    if not raw:
        return ""
    r = fold(raw).replace(" ", "")
    if r.startswith("euro") or r == "€":
        return "€"
    if r in ("%", "pourcent"):
        return "%"
    return r


def extract_quantities(text: str) -> list[Quantity]:
    """Numbers in ``text`` with thousands joined, decimals and scales applied.

    Years inside dates are reported too (as plain numbers); ordinals ("1er")
    are kept with unit "ordinal".
    """
    out: list[Quantity] = []
    clean = text
    for m in _NUMBER_RE.finditer(clean):
        digits = re.sub(r"\D", "", m.group("num"))
        value = float(digits + ("." + m.group("dec") if m.group("dec") else ""))
        scale = (m.group("scale") or "").lower()
        unit = _unit(m.group("unit"))
        if scale:
            # "2 M€" or "2 millions": a bare "m" is a scale only before "€".
            if scale == "m" and unit != "€":
                scale = ""
            value *= _SCALES.get(scale, 1.0)
        if m.group("ord"):
            unit = unit or "ordinal"
        end = m.end() if (scale or unit) else m.start() + len(m.group("num")) + (
            len(m.group("dec")) + 1 if m.group("dec") else 0)
        out.append(Quantity(value, unit, clean[m.start():end].strip(), m.start(), end))
    for m in _NUMBER_WORD_RE.finditer(clean):
        value = float(number_word_value(m.group("word")))
        if not value:
            continue
        scale = (m.group("scale") or "").lower()
        value *= _SCALES.get(scale, 1.0)
        unit = _unit(m.group("unit"))
        out.append(Quantity(value, unit, m.group(0).strip(), m.start(), m.end()))
    out.sort(key=lambda q: q.start)
    return out


def extract_dates(text: str) -> list[date]:
    """Full dates written in words or digits: "1er avril 2025", "01/04/2024"."""
    folded = fold(unwrap_superscripts(text))
    found: list[date] = []
    for m in _DATE_WORDS_RE.finditer(folded):
        try:
            found.append(date(int(m["year"]), MONTHS[m["month"]], int(m["day"])))
        except ValueError:
            continue
    for m in _DATE_NUM_RE.finditer(folded):
        try:
            found.append(date(int(m["year"]), int(m["month"]), int(m["day"])))
        except ValueError:
            continue
    return found


def has_date(text: str) -> bool:
    folded = fold(unwrap_superscripts(text))
    return bool(
        _DATE_WORDS_RE.search(folded)
        or _MONTH_YEAR_RE.search(folded)
        or _DATE_NUM_RE.search(folded)
        or re.search(r"\b(19|20)\d{2}\b", folded)
    )


_DATE_TEXT_RE = re.compile(
    r"\b\d{1,2}(?:\s*(?:er|<sup>\s*er\s*</sup>))?\s+" + MONTH_RE + r"\s+\d{4}\b|\b\d{1,2}/\d{1,2}/\d{4}\b",
    re.IGNORECASE)


def figures(text: str) -> tuple[list[tuple[str, float]], list[tuple[str, date]]]:
    """(number as written, value) and (date as written, date) in ``text``; the day
    and year inside a full date are reported as the date, not as numbers."""
    text = unwrap_superscripts(text).replace("**", "").replace("__", "")
    dates = [(m.group(0), d, m.span()) for m in _DATE_TEXT_RE.finditer(text)
             for d in extract_dates(m.group(0))[:1]]
    nums = [(q.text, q.value) for q in extract_quantities(text)
            if not any(a <= q.start < b for _, _, (a, b) in dates)]
    return nums, [(t, d) for t, d, _ in dates]


def unsupported_figures(claim: str, evidence: str) -> list[str]:
    """Figures of ``claim`` that ``evidence`` does not contain, after normalisation.

    "2 M€" is supported by "2 millions d'euros", "2900" by "2 900", "1er avril 2025"
    by "1<sup>er</sup> avril 2025"; "3 000" is not supported by "2 900".
    """
    nums, dates = figures(claim)
    ev_nums, ev_dates = figures(evidence)
    ev_values = {round(v, 6) for _, v in ev_nums}
    ev_values |= {float(d.year) for _, d in ev_dates} | {float(d.day) for _, d in ev_dates}
    ev_day_set = {d for _, d in ev_dates}
    out = [t for t, v in nums if round(v, 6) not in ev_values]
    out += [t for t, d in dates if d not in ev_day_set]
    return out


# --- sentences -----------------------------------------------------------------

_ABBREV = ("m", "mme", "mmes", "mm", "art", "cf", "etc", "p", "n", "no", "dr", "pr", "st", "ste",
           "vol", "ex", "env", "max", "min", "av", "bd", "fig", "al")
_SENT_END_RE = re.compile(r"[.!?…]+[»\"')\]]*(?=\s+[«\"(\[]?[A-ZÀ-ÖØ-Þ0-9•\-–])")
_LEAD_RE = re.compile(r"^[\s#>*•\-–—·▪●◦]+")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text[start:end]``, as offsets into ``text``.

    A line break always ends a sentence (PDF-extracted lines and bullets are units);
    inside a line, ".", "!", "?" or "…" followed by a capital ends one, except
    after common abbreviations ("M.", "art.", "etc."). Leading bullets, heading
    marks and spaces are excluded from each span, so ``text[a:b]`` is the
    sentence as written::

        sentence_spans("Le coût ? 2 millions d'euros ! Et après.\\n- point")
        -> [(0, 9), (10, 30), (31, 40), (43, 48)]
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        line_start = pos
        pos += len(line) + 1
        cut = 0
        for m in _SENT_END_RE.finditer(line):
            # A bounded look-back keeps this linear on a megabyte-long line; abbreviations
            # are short, so 64 characters always hold the whole word that matters.
            word = re.findall(r"(\w+)[.!?…]*$", line[max(0, m.start() - 64): m.start() + 1])
            if m.group(0) == "." and word and fold(word[-1]) in _ABBREV:
                continue
            spans.append((line_start + cut, line_start + m.end()))
            cut = m.end()
        spans.append((line_start + cut, line_start + len(line)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(_LEAD_RE.sub("", seg))
        a += lead
        b = a + len(text[a:b].rstrip())
        if b > a and re.search(r"\w", text[a:b]):
            out.append((a, b))
    return out


def matching_spans(text: str, stems: set[str] | frozenset[str] | list[str]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` whose analysed form is one of ``stems`` (to highlight
    the question's words in a quoted passage)::

        matching_spans("Les primes versées", {"prim"}) -> [(4, 10)]
    """
    wanted = set(stems)
    out = []
    for m in re.finditer(r"[^\W_]+(?:[.’'-][^\W_]+)*", text):
        toks = analyze(m.group(0))
        if toks and any(t in wanted for t in toks):
            out.append(m.span())
    return out
