"""French analysis: what users notice is that "2 900" finds "2900" and l'IA finds IA."""

from datetime import date

import pytest

from rag.text import (
    analyze,
    contains_normalized,
    extract_dates,
    extract_quantities,
    fold,
    join_digit_groups,
    normalize_for_match,
    sentence_spans,
    unsupported_figures,
)


def test_fold_accents_apostrophes_ligatures() -> None:
    assert fold("L’Équipe œuvre à Noël") == "l'equipe oeuvre a noel"


@pytest.mark.parametrize("text", ["l'IA", "l’IA", "L'ia"])
def test_elisions_are_split(text: str) -> None:
    assert analyze(text) == ["ia"]


def test_elisions_qu_jusqu_d_s() -> None:
    assert analyze("jusqu'à l'agence qu'elle d'emploi s'inscrire") == ["agenc", "emploi", "inscrir"]


def test_stemming_makes_plural_and_singular_meet() -> None:
    assert analyze("les demandeurs d'emploi") == analyze("le demandeur d'emploi")
    assert analyze("orientations") == analyze("orientation")


@pytest.mark.parametrize(("inclusive", "plain"), [
    ("6000 conseiller.es entreprises", "6000 conseillers entreprises"),
    ("les usager·ères orienté.es", "les usagers orientés"),
    ("des élu·e·s et des salarié-es", "des élus et des salariés"),
    ("les directeur.rice.s", "les directeurs"),
    ("une agent.e", "un agent"),
])
def test_inclusive_writing_meets_the_plain_form(inclusive: str, plain: str) -> None:
    # "combien de conseillers" must find "6000 conseiller.es" (CGT CSEC tract)
    assert analyze(inclusive) == analyze(plain)


@pytest.mark.parametrize("text", ["www.cgt.fr", "celle-ci", "arrive-t-elle", "fin. Elles", "vis-à-vis"])
def test_dots_and_hyphens_that_are_not_inclusive_writing_stay(text: str) -> None:
    assert analyze(text) == [t for t in analyze(text.replace(".", " ").replace("-", " "))]


@pytest.mark.parametrize("written", ["2900", "2 900", "2\u00a0900", "2\u202f900"])
def test_thousands_written_any_way_give_one_token(written: str) -> None:
    assert analyze(f"{written} ETP") == ["2900", "etp"]


def test_digit_groups_do_not_merge_unrelated_numbers() -> None:
    assert join_digit_groups("de 2 à 5, en 2024 2025") == "de 2 à 5, en 2024 2025"
    assert join_digit_groups("1 234 567 euros") == "1234567 euros"


def test_quantities_with_scales_and_units() -> None:
    found = {(q.value, q.unit) for q in extract_quantities(
        "Le coût ? 2 millions d'euros, soit 2 M€ ; 76 % ; 1,5 millions ; 2 900 ETP")}
    assert (2_000_000.0, "€") in found
    assert (76.0, "%") in found
    assert (1_500_000.0, "") in found
    assert (2900.0, "etp") in found


def test_number_support_across_spellings() -> None:
    assert unsupported_figures("2 M€ et 2900 ETP", "2 millions d'euros et 2 900 ETP") == []
    assert unsupported_figures("3 M€", "2 millions d'euros") == ["3 M€"]
    assert unsupported_figures("le 1er avril 2025", "le 1<sup>er</sup> avril 2025") == []
    assert unsupported_figures("le 3 avril 2025", "le 1<sup>er</sup> avril 2025") == ["3 avril 2025"]


def test_dates_in_words_digits_and_superscript() -> None:
    assert extract_dates("le 1<sup>er</sup> avril 2025") == [date(2025, 4, 1)]
    assert extract_dates("le 01/04/2024") == [date(2024, 4, 1)]
    assert extract_dates("le 24 octobre 2024") == [date(2024, 10, 24)]


def test_match_normalisation() -> None:
    assert normalize_for_match("1<sup>er</sup> avril **2 900**") == "1er avril 2900"
    assert contains_normalized("gains de 2\u202f900 ETP", "2900 ETP")
    assert not contains_normalized("gains de 29 ETP", "2900")


def test_sentence_spans_are_exact_offsets() -> None:
    text = "Le coût ? 2 millions d'euros ! Selon M. Dupont, non.\n- Un point\n### Titre"
    spans = sentence_spans(text)
    parts = [text[a:b] for a, b in spans]
    assert parts == ["Le coût ?", "2 millions d'euros !", "Selon M. Dupont, non.", "Un point", "Titre"]


def test_numbers_written_in_words() -> None:
    qs = extract_quantities("la 2nde vague portait sur deux situations supplémentaires "
                            "et trois millions d'euros")
    assert [(q.text, q.value, q.unit) for q in qs if q.unit != "ordinal"] == [
        ("deux", 2.0, ""), ("trois millions d'euros", 3_000_000.0, "€")]
    # a generated "2 situations" is supported by "deux situations", and the reverse
    assert unsupported_figures("2 situations", "deux situations supplémentaires") == []
    assert unsupported_figures("deux situations", "3 situations") == ["deux"]


@pytest.mark.parametrize("text", [
    "ŒUVRE Æsir l’IA ‘x’ ʼy", "NBSP\u00a0et\u202ffine", "ﬁn ß İstanbul ① ½ ²", "👉 déjà e\u0301té",
])
def test_fast_fold_equals_the_unicode_definition(text: str) -> None:
    import unicodedata

    slow = unicodedata.normalize("NFKD", text.replace("Œ", "OE").replace("Æ", "AE"))
    slow = "".join(c for c in slow if not unicodedata.combining(c))
    for ap in "\u2019\u2018\u02bc\u0060\u00b4\u2032":
        slow = slow.replace(ap, "'")
    assert fold(text) == slow.lower()
