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


def test_list_with_bullets_on_their_own_line(pipe) -> None:  # type: ignore[no-untyped-def]
    # PDF text: "-" alone on a line, the item on the next; the intro alone is no answer.
    ans = pipe.ask("Quel plan le CSE a-t-il obtenu grâce au cabinet pour les conseillers ?")
    assert "plan de formation obligatoire" in ans.answer, ans.answer
    assert "permis au CSE d'obtenir" in ans.citations[0].quote


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


def test_ordinals() -> None:
    assert _ordinals("la 2nde vague") == _ordinals("### Deuxième vague") == {(2, "vague")}
    assert _ordinals("la troisième série") == {(3, "serie")}


def test_two_documents_disagree_the_answer_says_whose_other_figure(pipe) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask("Quel est le taux d'orientation des inscrits vers France Travail ?")
    assert "Autre chiffre" in ans.answer, ans.answer
    figures = {c.quote.count("76%") > 0: c for c in ans.citations}
    assert set(figures) == {True, False}, ans.citations  # both the 76 % and the 80 % are cited
    assert "80%" in ans.answer and "76%" in ans.answer, ans.answer
    assert "CSE Occitanie" in ans.answer and "CGT" in ans.answer, ans.answer


# The figure, date or name put first, for questions that each exercise one rule.
@pytest.mark.parametrize(("question", "lead"), [
    # "entretiens d'accompagnement" is "EDA" (glossary): 3 000, not the 10 000 EDO before it.
    pytest.param("Combien de premiers entretiens d'accompagnement ont été réalisés en Occitanie ?",
                 "3 000 EDA", id="figure-of-the-acronym-paraphrased"),
    # A bracketed aside answers only when the question names what it is about.
    pytest.param("Quelle durée pertinente la Direction précise-t-elle pour un EDO ?", "15 minutes",
                 id="bracketed-aside-not-asked"),
    pytest.param("Quelle durée pertinente pour un EDO dans les agences menant l'XP MSA ?",
                 "20 minutes", id="bracketed-aside-asked"),
    pytest.param("Combien coûte la sous-traitance des horaires d'ouverture du 3995 ?",
                 "1,5 millions d'euros", id="the-questions-own-number-is-not-its-answer"),
    pytest.param("À partir de quand le questionnaire pourra-t-il être complété par l'usager ?",
                 "fin mars", id="from-when-after-a-partir-de"),
    pytest.param("Quel nom Cap emploi doit-il prendre ?", "France Travail handicap",
                 id="a-name-follows-what-it-names"),
    pytest.param("Quel est le montant de la campagne publicitaire pour les agents ?",
                 "2 millions d'euros", id="the-amount-of-what-is-named"),
    pytest.param("À quel rythme le bilan des entretiens sera-t-il présenté en CSE ?",
                 "chaque trimestre", id="how-often"),
    pytest.param("En Occitanie, quelle part des inscrits est orientée vers Cap emploi ?", "2%",
                 id="regional-question-regional-figure"),
    pytest.param("À quelle heure ouvre le 3995 du lundi au samedi ?", "7h30 à 20h", id="what-time"),
    pytest.param("Depuis combien de temps l'établissement a-t-il un lac de données ?",
                 "près d'une dizaine d'années", id="approximate-number-in-words"),
    # An inline roster: the name after the role asked, and the commission in brackets.
    pytest.param("Qui est le représentant syndical au CSE Occitanie ?", "Julie BERNARD",
                 id="inline-roster-role"),
    pytest.param("Qui est suppléant au CSE Occitanie ?", "Marc PETIT", id="inline-roster-substitute"),
    pytest.param("Quel suppléant au CSE Occitanie siège à la commission économique ?", "Léa ROUX",
                 id="substitute-on-a-commission-abbreviated"),
    pytest.param("Quel suppléant siège à la commission santé sécurité et conditions de travail ?",
                 "Hugo BLANC", id="substitute-on-a-commission-by-acronym"),
    pytest.param("Qui a la main pour augmenter la durée des entretiens de démarrage ?", "ELD",
                 id="who-answered-by-a-body"),
    # "les 3 premières semaines" in the question does not rule out "3%".
    pytest.param("Quelle part des inscrits va vers les départements sur les 3 premières semaines ?",
                 "3%", id="the-questions-number-in-another-unit"),
    # "Ken Loach" is said pages before the passage that gives the age.
    pytest.param("Quel âge a Daniel Blake, le menuisier du film de Ken Loach ?", "59 ans",
                 id="how-old-name-said-earlier-on-the-page"),
    pytest.param("Quelle est l'adresse mail du délégué régional ?", "jl.bonnet@francetravail.fr",
                 id="email-from-the-list-of-contacts"),
    pytest.param("Combien de situations de détournement ont été modélisées lors de la 2nde vague ?",
                 "4 situations", id="the-wave-asked"),
    pytest.param("À quelle date le partenariat a-t-il été annoncé par voie de presse ?", "4 février",
                 id="a-date-that-dates-what-is-asked"),
    pytest.param("En quelle année la réforme du RSA doit-elle être étendue à toute la France ?",
                 "2027", id="of-two-dates-the-one-next-to-the-questions-words"),
    # "structures d'accompagnement des jeunes" is how the glossary reads "missions locales".
    pytest.param("Sous quel nom les structures d'accompagnement des jeunes devaient-elles devenir "
                 "opérateurs du nouveau réseau ?", "France Travail jeunes",
                 id="name-after-the-glossary-form-of-the-questions-words"),
    pytest.param("Quel organisme de prestations familiales se sert déjà d'algorithmes de notation "
                 "pour contrôler les bénéficiaires du revenu de solidarité active ?", "CAF",
                 id="not-an-acronym-restating-the-question"),
    # "76% des usager.es … orienté.es vers France Travail, 67% …": not the 67% right after it.
    pytest.param("Selon la CGT, quel est le taux d'orientation vers France Travail ?", "76%",
                 id="a-figure-followed-by-des-owns-the-words-after-it"),
    pytest.param("Selon la CGT, quel pourcentage se retrouve en modalités Guidé ou Suivi ?", "64%",
                 id="a-figure-directly-followed-by-the-questions-words"),
])
def test_the_answer_leads_with(pipe, question: str, lead: str) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask(question)
    assert ans.answer.startswith(lead), ans.answer


# Questions next to a fact of the documents whose answer the documents do not give.
@pytest.mark.parametrize("question", [
    pytest.param("À quelle date la direction vise-t-elle des gains d'efficacité ?",
                 id="a-date-is-not-a-bare-year"),
    # The allocation is named, its amount is not; the campaign's amount is no answer.
    pytest.param("Quel est le montant de l'allocation vacances versée aux agents ?",
                 id="the-amount-of-something-else"),
    pytest.param("Au niveau national, quelle part des inscrits est orientée vers Cap emploi ?",
                 id="national-question-regional-cse"),
    # "(20 minutes pour les agences menant l'XP MSA)": minutes, not a number of agences.
    pytest.param("Combien d'agences mènent l'XP MSA ?", id="a-count-is-not-another-unit"),
    pytest.param("Combien de situations de détournement ont été modélisées lors de la troisième "
                 "vague ?", id="a-wave-the-documents-do-not-describe"),
    pytest.param("À quelle date aura lieu la séance dédiée à l'IA promise par la Direction ?",
                 id="a-date-of-another-event"),
    pytest.param("Quel budget l'Académie consacre-t-elle à la formation ?",
                 id="the-campaigns-cost-is-not-the-academies-budget"),
    # "15 à 20 heures … par semaine" is not a number of weeks.
    pytest.param("Combien de semaines de congés payés un agent a-t-il par an ?",
                 id="a-range-in-another-unit-is-not-a-count"),
])
def test_the_answer_is_declined(pipe, question: str) -> None:  # type: ignore[no-untyped-def]
    ans = pipe.ask(question)
    assert ans.abstained, ans.answer
