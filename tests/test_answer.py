"""What the extractive answer puts first: the figure, date or name a representative repeats."""

from __future__ import annotations

import pytest

from rag.answer import _lead_span, _new_entities, _ordinals, question_intent
from rag.text import extract_quantities
from tests.conftest import make_pipeline

MINUTES = (
    "# Compte rendu du CSE Occitanie du 30 janvier 2025\n\n"
    "## Point d'étape sur les entretiens\n\n"
    "A date, en Région, près de 10 000 EDO et plus de 3 000 EDA ont été effectués. "
    "La Direction précise les durées pertinentes : environ 15 minutes par EDO "
    "(20 minutes pour les agences menant l'XP MSA) et environ 45 minutes à 1 heure par EDA.\n\n"
    "Un bilan des entretiens sera présenté chaque trimestre en réunion CSE.\n\n"
    "## Orientations\n\n"
    "Sur les 3 premières semaines de janvier on estime les orientations des inscrits vers :\n\n"
    "- France Travail : 80%\n- MLI : 15%\n- Cap emploi : 2%\n- Conseils départementaux : 3%\n\n"
    "Possibilité à la main des ELD d'augmenter la durée des entretiens de démarrage.\n\n"
    "## Sous-traitance\n\n"
    "1,5 millions d'euros pour sous traiter à un opérateur privé l'amplification des horaires "
    "d'ouverture du 3995 du lundi au samedi de 7h30 à 20h.\n\n"
    "## Calendrier\n\n"
    "Les entretiens EDO par téléphone sont prolongés jusqu'à fin juin 2025, avec à partir de "
    "fin mars le questionnaire complété directement par l'usager.\n\n"
    "## Avances\n\n"
    "Certaines régions restreignent les avances sur l'allocation vacances des agents.\n\n"
    "## Campagne\n\n"
    "Une campagne publicitaire pour les agents et les employeurs. Le coût ? 2 millions d'euros !\n\n"
    "## Sanctions\n\n"
    "Toute personne inscrite jugée insuffisamment active au regard des nouvelles obligations "
    "d'activité hebdomadaire fixées par le contrat d'engagement risquera la radiation ou la "
    "suspension partielle de son allocation, le rapport préférant le terme de remobilisation.\n\n"
    "## Expertise\n\n"
    "Dans une agence où l'IA trie les candidatures, le cabinet a permis au CSE d'obtenir :\n-\n"
    "une garantie écrite de non-suppression de postes,\n-\n"
    "un plan de formation obligatoire pour les conseillers,\n-\n"
    "un suivi des indicateurs de santé mentale.\n\n"
    "Élus au CSE Occitanie - Titulaires : Anne MARTIN, Paul DURAND - Suppléants : Marc PETIT, "
    "Léa ROUX (Com éco), Hugo BLANC (CSSCT) "
    "- Représentant.e Syndical.e : Julie BERNARD\n\n"
    "VOTRE DELEGUE REGIONAL\n\nJean Luc BONNET\n\njl.bonnet@francetravail.fr\n\n"
    "## Contrôles\n\n### Première vague\n\n2 situations de détournement ont été modélisées.\n\n"
    "### Deuxième vague\n\n4 situations de détournement ont été modélisées.\n\n"
    "## Partenariat\n\nNous interpellons la DG sur l'annonce, par voie de presse le 4 février, d'un "
    "partenariat signé avec une entreprise privée. En réponse, la Direction nous garantit une "
    "séance dédiée à l'IA.\n\n"
    "## Réforme\n\nLa réforme du RSA est expérimentée dans 18 départements, a vocation à s'étendre "
    "dès début 2024 et à être généralisée à l'ensemble du territoire à l'horizon 2027.\n\n"
    "Des algorithmes de scoring sont déjà utilisées par la CAF pour contrôler et sanctionner les "
    "allocataires du RSA.\n\n"
    "## Formation\n\nL'Académie forme les conseillers. Le RSA impose 15 à 20 heures d'activité "
    "par semaine.\n\n"
    "## Données\n\n"
    "On a déjà depuis près d'une dizaine d'années un lac de données dans l'établissement.\n\n"
    "## Objectifs\n\n"
    "La direction vise des gains d'efficacité d'ici 2027.\n\n"
    "## Réseau\n\n"
    "Les missions locales deviendront «France Travail jeunes» et Cap emploi "
    "«France Travail handicap», des opérateurs de France Travail.\n"
)


# A name the question pins ("Ken Loach") said pages before the answer, in another passage.
FILM = (
    "# Précaires sous plateforme\n\n"
    "Julie, allocataire, pense au film de Ken Loach sur les guichets sociaux.\n\n"
    + "".join(f"## Partie {i}\n\nLe paragraphe {i} parle de la réforme numéro {i} et de ses "
              f"conséquences pour les usagers du département {i}.\n\n" for i in range(1, 30))
    + "## Résumé du film\n\nDaniel Blake, un menuisier anglais de 59 ans, doit demander "
      "des aides sociales pour la première fois.\n"
)


# The national figure, in another union's minutes of another instance.
CSEC = ("# Un CSEC chargé : compte rendu des élus CGT au CSEC\n\n"
        "Selon les 1ères données, 76% des usager.es, suite à l'inscription, sont orienté.es vers "
        "France Travail, 67% en parcours professionnel et 64% en modalités Guidé ou Suivi.\n")


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("answer")
    (root / "docs").mkdir()
    (root / "docs" / "cr.md").write_text(MINUTES, encoding="utf-8")
    (root / "docs" / "film.md").write_text(FILM, encoding="utf-8")
    (root / "docs" / "csec.md").write_text(CSEC, encoding="utf-8")
    p = make_pipeline(root / "idx")
    p.build(root / "docs")
    return p


@pytest.mark.parametrize(("text", "lead"), [
    ("Déjà qu'entre 29 et 39 % des personnes éligibles", "entre 29 et 39 %"),
    ("en deçà de plus de 2 ou 3 points.", "2 ou 3 points"),
    ("l'obligation d'effectuer 15 à 20 heures d'insertion", "15 à 20 heures"),
    ("Le sujet des 15H00 d'activité", "15H00"),
    ("environ 45 minutes à 1 heure par EDA", "45 minutes à 1 heure"),
])
def test_ranges_and_attached_units_are_kept_whole(text: str, lead: str) -> None:
    quantities = extract_quantities(text)
    assert lead in {_lead_span(text, q) for q in quantities}


def test_names_with_particles_hyphens_and_numbers() -> None:
    text = ("Les régions Pays de la Loire et Centre Val de Loire, la ville de Saint-Étienne, "
            "Office 365 et SIRHUS.")
    names = {n for _, n, _ in _new_entities(text, "Quelles régions ?")}
    assert {"Pays de la Loire", "Centre Val de Loire", "Saint-Étienne", "Office 365", "SIRHUS"} <= names


def test_count_question_answers_the_figure_of_the_acronym_it_paraphrases(pipe) -> None:  # type: ignore[no-untyped-def]
    # "entretiens d'accompagnement" is "EDA" (glossary): 3 000, not the 10 000 EDO before it.
    ans = pipe.ask("Combien de premiers entretiens d'accompagnement ont été réalisés en Occitanie ?")
    assert ans.answer.startswith("3 000 EDA"), ans.answer


def test_bracketed_aside_is_not_the_answer_unless_asked(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quelle durée pertinente la Direction précise-t-elle pour un EDO ?")
    assert ans.answer.startswith("15 minutes"), ans.answer
    ans = pipe.ask("Quelle durée pertinente pour un EDO dans les agences menant l'XP MSA ?")
    assert ans.answer.startswith("20 minutes"), ans.answer


def test_the_questions_own_number_is_not_its_answer(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Combien coûte la sous-traitance des horaires d'ouverture du 3995 ?")
    assert ans.answer.startswith("1,5 millions d'euros"), ans.answer


def test_from_when_prefers_the_date_after_a_partir_de(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("À partir de quand le questionnaire pourra-t-il être complété par l'usager ?")
    assert ans.answer.startswith("fin mars"), ans.answer


def test_which_date_is_not_answered_by_a_bare_year(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("À quelle date la direction vise-t-elle des gains d'efficacité ?")
    assert ans.abstained, ans.answer


def test_name_that_follows_what_it_names(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel nom Cap emploi doit-il prendre ?")
    assert ans.answer.startswith("France Travail handicap"), ans.answer


def test_an_amount_of_something_else_is_not_the_answer(pipe) -> None:  # type: ignore[no-untyped-def]
    # The allocation is named, its amount is not; the campaign's amount is no answer.
    ans = pipe.ask("Quel est le montant de l'allocation vacances versée aux agents ?")
    assert ans.abstained, ans.answer
    ans = pipe.ask("Quel est le montant de la campagne publicitaire pour les agents ?")
    assert ans.answer.startswith("2 millions d'euros"), ans.answer


def test_how_often_is_answered_by_a_frequency(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("À quel rythme le bilan des entretiens sera-t-il présenté en CSE ?")
    assert ans.answer.startswith("chaque trimestre"), ans.answer


def test_a_quote_without_lead_keeps_the_words_after_the_question(pipe) -> None:  # type: ignore[no-untyped-def]
    # The answer follows the question's words at the end of a long sentence.
    ans = pipe.ask("Quel terme le rapport préfère-t-il pour la suspension de l'allocation ?")
    assert not ans.abstained and "remobilisation" in ans.answer, ans.answer


def test_each_list_item_reads_with_its_intro(pipe) -> None:  # type: ignore[no-untyped-def]
    # Not the first item (joined to the intro line), but the item the question names;
    # quoted with the intro, and no "voir aussi" carrying another figure.
    ans = pipe.ask("Quelle part des inscrits a été orientée vers les missions locales en janvier ?")
    assert ans.answer.startswith("15%"), ans.answer
    assert "orientations des inscrits vers" in ans.citations[0].quote
    assert all("80%" not in c.quote or "15%" in c.quote for c in ans.citations), ans.citations


def test_national_question_is_not_answered_by_a_regional_cse(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Au niveau national, quelle part des inscrits est orientée vers Cap emploi ?")
    assert ans.abstained, ans.answer
    ans = pipe.ask("En Occitanie, quelle part des inscrits est orientée vers Cap emploi ?")
    assert ans.answer.startswith("2%"), ans.answer


def test_a_count_is_not_a_figure_of_another_unit(pipe) -> None:  # type: ignore[no-untyped-def]
    # "(20 minutes pour les agences menant l'XP MSA)": minutes, not a number of agences.
    ans = pipe.ask("Combien d'agences mènent l'XP MSA ?")
    assert ans.abstained, ans.answer


def test_what_time_is_answered_by_an_hour(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("À quelle heure ouvre le 3995 du lundi au samedi ?")
    assert ans.answer.startswith("7h30 à 20h"), ans.answer


def test_approximate_numbers_in_words(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Depuis combien de temps l'établissement a-t-il un lac de données ?")
    assert ans.answer.startswith("près d'une dizaine d'années"), ans.answer


def test_list_with_bullets_on_their_own_line(pipe) -> None:  # type: ignore[no-untyped-def]
    # PDF text: "-" alone on a line, the item on the next; the intro alone is no answer.
    ans = pipe.ask("Quel plan le CSE a-t-il obtenu grâce au cabinet pour les conseillers ?")
    assert "plan de formation obligatoire" in ans.answer, ans.answer
    assert "permis au CSE d'obtenir" in ans.citations[0].quote


def test_inline_roster_gives_the_name_after_the_role_asked(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Qui est le représentant syndical au CSE Occitanie ?")
    assert ans.answer.startswith("Julie BERNARD"), ans.answer
    ans = pipe.ask("Qui est suppléant au CSE Occitanie ?")
    assert ans.answer.startswith("Marc PETIT"), ans.answer


def test_which_substitute_sits_on_which_commission(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel suppléant au CSE Occitanie siège à la commission économique ?")
    assert ans.answer.startswith("Léa ROUX"), ans.answer
    ans = pipe.ask("Quel suppléant siège à la commission santé sécurité et conditions de travail ?")
    assert ans.answer.startswith("Hugo BLANC"), ans.answer


@pytest.mark.parametrize(("question", "kind", "unit"), [
    ("Sur quelle prime les avances ont-elles été restreintes ?", "statement", ""),
    ("Quel est le montant de la prime de fin d'année ?", "quantity", "€"),
    ("Combien de primes ont été versées ?", "quantity", "count"),
    ("À quel rythme se tiennent les réunions ?", "frequency", ""),
    ("À quelle heure ouvre la plateforme ?", "date", "time"),
    ("Quel suppléant siège à la commission économique ?", "person", ""),
    ("Que signifie MSA dans le compte rendu du CSE Occitanie ?", "definition", ""),
    ("En Occitanie, qui a la main pour allonger la durée des entretiens ?", "person", ""),
    ("Quel âge a Daniel Blake ?", "quantity", "age"),
    ("Quelle est l'adresse mail du délégué régional ?", "contact", "email"),
    ("Jusqu'à quand les entretiens se feront-ils par téléphone ?", "date", ""),
])
def test_what_the_question_asks(question: str, kind: str, unit: str) -> None:
    intent = question_intent(question)
    assert (intent.kind, intent.unit) == (kind, unit)
    if kind == "definition":
        assert intent.subject == "MSA"  # the acronym asked about, not the CSE after it


def test_who_may_be_answered_by_a_body(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Qui a la main pour augmenter la durée des entretiens de démarrage ?")
    assert ans.answer.startswith("ELD"), ans.answer


def test_the_questions_number_in_another_unit_may_be_the_answer(pipe) -> None:  # type: ignore[no-untyped-def]
    # "les 3 premières semaines" in the question does not rule out "3%".
    ans = pipe.ask("Quelle part des inscrits va vers les départements sur les 3 premières semaines ?")
    assert ans.answer.startswith("3%"), ans.answer


def test_how_old_and_a_name_said_earlier_on_the_page(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel âge a Daniel Blake, le menuisier du film de Ken Loach ?")
    assert ans.answer.startswith("59 ans"), ans.answer


def test_an_email_address_is_read_from_the_list_of_contacts(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quelle est l'adresse mail du délégué régional ?")
    assert ans.answer.startswith("jl.bonnet@francetravail.fr"), ans.answer


def test_a_wave_the_documents_do_not_describe_is_declined(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Combien de situations de détournement ont été modélisées lors de la 2nde vague ?")
    assert ans.answer.startswith("4 situations"), ans.answer
    ans = pipe.ask("Combien de situations de détournement ont été modélisées lors de la troisième vague ?")
    assert ans.abstained, ans.answer


def test_ordinals() -> None:
    assert _ordinals("la 2nde vague") == _ordinals("### Deuxième vague") == {(2, "vague")}
    assert _ordinals("la troisième série") == {(3, "serie")}


def test_a_date_must_date_what_is_asked(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("À quelle date le partenariat a-t-il été annoncé par voie de presse ?")
    assert ans.answer.startswith("4 février"), ans.answer
    ans = pipe.ask("À quelle date aura lieu la séance dédiée à l'IA promise par la Direction ?")
    assert ans.abstained, ans.answer


def test_of_two_dates_the_one_next_to_the_questions_words(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("En quelle année la réforme du RSA doit-elle être étendue à toute la France ?")
    assert ans.answer.startswith("2027"), ans.answer


def test_the_name_after_the_glossary_form_of_the_questions_words(pipe) -> None:  # type: ignore[no-untyped-def]
    # "structures d'accompagnement des jeunes" is how the glossary reads "missions locales".
    ans = pipe.ask("Sous quel nom les structures d'accompagnement des jeunes devaient-elles devenir "
                   "opérateurs du nouveau réseau ?")
    assert ans.answer.startswith("France Travail jeunes"), ans.answer


def test_an_acronym_restating_the_question_is_not_the_answer(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel organisme de prestations familiales se sert déjà d'algorithmes de notation "
                   "pour contrôler les bénéficiaires du revenu de solidarité active ?")
    assert ans.answer.startswith("CAF"), ans.answer


def test_a_figure_followed_by_des_is_described_by_the_words_after_it(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Selon la CGT, quel est le taux d'orientation vers France Travail ?")
    assert ans.answer.startswith("76%"), ans.answer  # not the 67% right after "France Travail,"
    ans = pipe.ask("Selon la CGT, quel pourcentage se retrouve en modalités Guidé ou Suivi ?")
    assert ans.answer.startswith("64%"), ans.answer


def test_two_documents_disagree_the_answer_says_whose_other_figure(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel est le taux d'orientation des inscrits vers France Travail ?")
    assert "Autre chiffre" in ans.answer, ans.answer
    figures = {c.quote.count("76%") > 0: c for c in ans.citations}
    assert set(figures) == {True, False}, ans.citations  # both the 76 % and the 80 % are cited
    assert "80%" in ans.answer and "76%" in ans.answer, ans.answer
    assert "CSE Occitanie" in ans.answer and "CGT" in ans.answer, ans.answer


def test_near_misses_on_what_is_measured_or_counted(pipe) -> None:  # type: ignore[no-untyped-def]
    # The campaign's cost is not the Académie's budget; "15 à 20 heures … par semaine" is
    # not a number of weeks.
    ans = pipe.ask("Quel budget l'Académie consacre-t-elle à la formation ?")
    assert ans.abstained, ans.answer
    ans = pipe.ask("Combien de semaines de congés payés un agent a-t-il par an ?")
    assert ans.abstained, ans.answer
