"""The answerer: the question read once, candidates, named features, the fitted model,
and the three outcomes a representative sees (answer, unsure, refused).

Sentences are written for these tests; none comes from the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.analyze import PageAnalysis, analyze_pages, tokens_of
from rag.answer import UNSURE_MESSAGE, ExtractiveAnswerer, asked_type
from rag.answer.candidates import Candidate, Unit, dates, entities, phrases, quantities
from rag.answer.features import FEATURES, Context, describe
from rag.answer.question import places_in, read_question, regions_in
from rag.answer.scorer import Linear, Scorer, load, prior
from rag.glossary import Glossary
from rag.retrieve import Hit

# --- the question ------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "asks", "focus"), [
    ("Combien d'agents ont signé la pétition ?", "count", ["agents"]),
    ("Combien de temps dure un entretien de suivi ?", "duration", []),
    ("Quel est le montant de la prime de fin d'année ?", "money", ["montant", "prime"]),
    ("Quelle part des conseillers travaille à temps partiel ?", "percent", ["part", "conseillers"]),
    ("Combien a coûté le nouveau logiciel ?", "money", []),
    ("Quand la grève a-t-elle commencé ?", "date", []),
    ("À quelle heure commence le rassemblement ?", "time", ["heure"]),
    ("Qui préside la commission de suivi ?", "person", []),
    ("Où se tiendra l'assemblée générale ?", "place", []),
    ("Quel syndicat a signé l'accord ?", "org", ["syndicat"]),
    ("Quel dispositif remplace l'ancien entretien ?", "name", ["dispositif"]),
    ("Pourquoi les élus ont-ils quitté la séance ?", "statement", []),
    ("Qu'est-ce qui a motivé le préavis ?", "statement", []),
])
def test_what_a_question_asks_for(question: str, asks: str, focus: list[str]) -> None:
    assert asked_type(question) == (asks, focus)


def test_the_question_frame_pins_years_names_unions_and_absent_words() -> None:
    df = {"prim": 3, "conseil": 4, "bourgogn": 1, "montant": 2, "fin": 3, "anne": 3, "2025": 1, "cgt": 2}
    frame = read_question("Selon la CGT, quel est le montant de la prime en Bourgogne en 2025 ?",
                          Glossary(), df, 10)
    assert frame.asks == "money"
    assert frame.years == ("2025",)
    assert frame.union == "CGT"
    assert frozenset({"bourgogn"}) in frame.names
    assert frame.missing == ()
    absent = read_question("Quelle prime en Bretagne ?", Glossary(), df, 10)
    assert absent.missing == ("Bretagne",)


def test_glossary_forms_count_as_the_question_word() -> None:
    g = Glossary()
    g.add(["ETP", "équivalent temps plein"])
    frame = read_question("Combien d'équivalents temps plein en moins ?", g, {}, 10)
    assert frame.coverage({"etp"}) > 0.5


# --- candidates ---------------------------------------------------------------------------

def _unit(text: str, parsed: bool = False, **meta: object) -> Unit:
    from llama_index.core.schema import TextNode

    node = TextNode(text=text, metadata={"source": "t.md", "title": "t", **meta}, start_char_idx=0)
    analysis = None
    if parsed:
        rows, vecs = analyze_pages([{"source": "t.md", "page": None, "text": text}],
                                   lambda ts: np.ones((len(ts), 4), dtype=np.float32), 4)
        analysis = PageAnalysis(rows[0], vecs)
    return Unit(Hit(node, 0.5, 0, dense=0.8), 0, text, 0, len(text), analysis=analysis)


def test_quantities_are_typed_and_led_by_what_they_count() -> None:
    u = _unit("L'entretien dure 45 minutes à 1 heure et coûte 1,5 millions d'euros ; "
              "80% des agents y ont droit et 2900 ETP sont visés.")
    got = {c.kind: c.lead for c in quantities(u)}
    assert got["duration"] == "45 minutes à 1 heure"
    assert got["money"] == "1,5 millions d'euros"
    assert got["percent"] == "80%"
    assert got["count"] == "2900 ETP"


def test_years_and_dates_are_not_counts() -> None:
    u = _unit("Le 4 février 2025, la direction a présenté le plan pour 2026.")
    assert quantities(u) == []
    assert [c.lead for c in dates(u)][:1] == ["4 février 2025"]


def test_a_date_range_and_an_hour_are_one_candidate_each() -> None:
    u = _unit("Le vote a lieu du 3 octobre au 9 octobre 2026, rendez-vous à 11 heures.")
    leads = [c.lead for c in dates(u)]
    assert "3 octobre au 9 octobre 2026" in leads
    assert "11 heures" in leads


def test_more_than_23_hours_is_a_duration_not_a_time_of_day() -> None:
    u = _unit("Chaque agent suivra 48 heures de stage ; la séance ouvre à 9 h 30.")
    assert [c.lead for c in quantities(u) if c.kind == "duration"] == ["48 heures"]
    assert [c.lead for c in dates(u)] == ["9 h 30"]


def test_the_parse_says_which_noun_a_figure_counts() -> None:
    u = _unit("La direction supprime 45 postes de conseillers en 2025.", parsed=True)
    (c,) = quantities(u)
    assert c.lead.startswith("45 postes")
    assert c.head == "post"


def test_names_come_from_the_parse_acronyms_and_quotes() -> None:
    u = _unit("Marie DUVAL, élue du SNTP, présente le dispositif «Cap Avenir» à Quimper.", parsed=True)
    by_kind = {(c.kind, c.lead) for c in entities(u)}
    assert ("person", "Marie DUVAL") in by_kind
    assert ("org", "SNTP") in by_kind
    assert ("name", "Cap Avenir") in by_kind
    assert any(k == "place" and "Quimper" in lead for k, lead in by_kind)


def test_names_joined_as_one_list_are_also_one_candidate() -> None:
    u = _unit("Le texte est cosigné par la CFE-CGC, la CGT, FO et le SNAP, puis remis à Paul MARTIN.",
              parsed=True)
    leads = {c.lead for c in entities(u)}
    assert "CFE-CGC, la CGT, FO et le SNAP" in leads
    assert not any("MARTIN" in lead and "SNAP" in lead for lead in leads)  # not joined by « puis »


def test_noun_phrases_from_the_parse() -> None:
    u = _unit("Les élus ont rendu un avis défavorable sur le livre noir du management.", parsed=True)
    leads = {c.lead for c in phrases(u)}
    assert "avis défavorable" in leads
    assert "livre noir du management" in leads


def test_a_figure_leads_with_the_whole_noun_phrase_it_counts() -> None:
    u = _unit("En 2024, la région a perdu 87 postes de conseillers à l'accueil, "
              "et 64 dossiers d'indemnisation attendent d'ici mars.", parsed=True)
    leads = [c.lead for c in quantities(u)]
    assert leads == ["87 postes de conseillers", "64 dossiers d'indemnisation"]


def test_a_figure_keeps_what_qualifies_it_and_the_whole_it_is_part_of() -> None:
    u = _unit("Près d'une vingtaine d'agences ferment ; plus de 30 % des agents, "
              "soit 41 agents sur les 133 du site, ont voté.")
    leads = {c.lead for c in quantities(u)}
    assert "Près d'une vingtaine d'agences" in leads
    assert "plus de 30 %" in leads
    assert "41 agents sur les 133" in leads


def test_shares_written_in_words_are_percent_candidates() -> None:
    u = _unit("Un conseiller sur trois est en arrêt, soit la moitié des effectifs du pôle.")
    got = {c.lead for c in quantities(u) if c.kind == "percent"}
    assert got == {"Un conseiller sur trois", "la moitié des effectifs"}


def test_numbers_written_in_hyphenated_words() -> None:
    u = _unit("Vingt-trois agences et soixante et onze agents sont concernés.")
    assert sorted(c.value for c in quantities(u)) == [23.0, 71.0]


@pytest.mark.parametrize(("text", "lead"), [
    ("La commission se réunit les 13-14 mai.", "13-14 mai"),
    ("Les mandats expirent en mars et juin 2027.", "mars et juin 2027"),
    ("Le plan couvre la période 2019-2023.", "2019-2023"),
    ("Une première vague de 03 à 07/2024 a eu lieu.", "03 à 07/2024"),
])
def test_date_ranges_written_as_one(text: str, lead: str) -> None:
    assert lead in [c.lead for c in dates(_unit(text))]


def test_an_article_of_a_code_is_a_name() -> None:
    u = _unit("Les élus invoquent l'article L. 1234-5 du Code du travail.")
    assert ("name", "L. 1234-5") in {(c.kind, c.lead) for c in entities(u)}


def test_a_sentence_naming_what_the_one_before_said_is_read_with_it() -> None:
    from llama_index.core.schema import TextNode

    from rag.answer.candidates import passage_units

    text = "Les élus ont longuement débattu du plan de mobilité interne. Ce dossier a occupé toute la séance."
    node = TextNode(text=text, metadata={"source": "t.md", "title": "t"}, start_char_idx=0)
    units = passage_units(Hit(node, 0.5, 0), 0, text, 0, None)
    assert text in [u.text for u in units]  # both sentences, read as one


# --- features -------------------------------------------------------------------------------

def _features(question: str, text: str, parsed: bool = False, df: dict[str, int] | None = None,
              **meta: object) -> list[Candidate]:
    frame = read_question(question, Glossary(), df or {}, 10)
    u = _unit(text, parsed, **meta)
    ctx = Context(frame, None, df or {}, 10)
    ctx.prepare([u])
    from rag.answer.candidates import candidates

    cands = candidates(u, frame.asks)
    describe(cands, ctx)
    return cands


def test_a_figure_the_question_already_says_restates_it() -> None:
    cands = _features("Combien d'agents sur les 30 agences ?",
                      "Sur les 30 agences, 412 agents sont en grève.")
    by_lead = {c.lead.split()[0]: c.features["restates"] for c in cands}
    assert by_lead == {"30": 1.0, "412": 0.0}


def test_the_counted_noun_and_closeness_favour_the_figure_asked_for() -> None:
    cands = _features("Combien d'agences vont fermer ?",
                      "La direction annonce la fermeture de 12 agences et le départ de 40 agents.",
                      parsed=True)
    c12, c40 = sorted(cands, key=lambda c: c.start)
    assert c12.features["head_focus"] == 1.0 and c40.features["head_focus"] == 0.0
    assert c12.features["near"] >= c40.features["near"]
    assert c12.features["first"] == 1.0 and c12.features["alone"] == 0.5


def test_the_figure_the_question_words_hang_on_is_closest_in_the_parse() -> None:
    cands = _features("Quel montant d'économies sur la masse salariale ?",
                      "Après une baisse de 40 millions d'euros de la subvention, la direction "
                      "prévoit 11 millions d'euros d'économies sur la masse salariale.", parsed=True)
    c40, c11 = sorted((c for c in cands if c.kind == "money"), key=lambda c: c.start)
    assert c11.features["arcs_w"] > c40.features["arcs_w"]
    assert c11.features["arcs4"] > c40.features["arcs4"]
    assert 0.0 <= c40.features["arcs2"] <= c11.features["arcs2"] <= 1.0


def test_the_kind_asked_is_weighed_per_family_and_other_names_clash() -> None:
    cands = _features("Qui a signé l'accord ?", "Marie DUVAL a signé l'accord à Quimper.", parsed=True)
    by_kind = {c.kind: c.features for c in cands if c.kind in ("person", "place")}
    assert by_kind["person"]["exact_person"] == 1.0 and by_kind["person"]["other_entity"] == 0.0
    assert by_kind["place"]["exact_person"] == 0.0 and by_kind["place"]["other_entity"] == 1.0
    assert by_kind["person"]["exact_quantity"] == 0.0


def test_pins_of_the_question_become_soft_evidence() -> None:
    (c,) = _features("Combien d'agents en grève en 2024 selon la CGT ?",
                     "En 2023, 412 agents étaient en grève.", union="SNAP")
    assert c.features["year_clash"] == 1.0
    assert c.features["union_clash"] == 1.0
    (c,) = _features("Combien d'agents en grève en Bourgogne ?", "412 agents étaient en grève.",
                     df={"bourgogn": 1})
    assert c.features["name_absent"] == 1.0


@pytest.mark.parametrize(("text", "regions"), [
    ("Les agents de Pôle emploi Pays de la Loire", {"Pays de la Loire"}),  # not the Loire (42)
    ("à l'agence de Pont-Audemer, dans l'Eure", {"Normandie"}),
    ("les conseillers franciliens et ceux de Lille", {"Île-de-France", "Hauts-de-France"}),
    ("France Travail Ile de France", {"Île-de-France"}),  # accents may be missing
    ("en Haute-Normandie", {"Normandie"}),
    ("Réunion du CSE du 12 mars", set()),  # a meeting, not the island
    ("RÉUNION DU 12 MARS", set()),
    ("une grève à La Réunion", {"La Réunion"}),
])
def test_regions_are_read_from_regions_departments_and_towns(text: str, regions: set[str]) -> None:
    assert regions_in(text) == regions


def _count(question: str, text: str, **meta: object) -> Candidate:
    return next(c for c in _features(question, text, **meta) if c.kind == "count")


def test_a_question_on_another_region_than_the_page_clashes() -> None:
    assert places_in("Combien d'agents en Lorraine ?") == {"Lorraine"}
    c = _count("Combien d'agents étaient en grève en Normandie ?",
                     "À Lille, 412 agents étaient en grève.")
    assert c.features["region_clash"] == 1.0 and c.features["place_absent"] == 1.0
    # a town of the region asked is no clash of region, though the name asked is absent
    c = _count("Combien d'agents étaient en grève en Lorraine ?",
                     "À Nancy, 412 agents étaient en grève.")
    assert c.features["region_clash"] == 0.0 and c.features["place_absent"] == 1.0
    # a page that names no place, or a question that names none, clashes with nothing
    c = _count("Combien d'agents étaient en grève en Normandie ?", "412 agents étaient en grève.")
    assert c.features["region_clash"] == 0.0 and c.features["place_absent"] == 0.0
    c = _count("Combien d'agents étaient en grève ?", "À Lille, 412 agents étaient en grève.")
    assert c.features["region_clash"] == 0.0


def test_the_region_of_a_page_is_read_in_its_title_too() -> None:
    c = _count("Combien d'agents étaient en grève en Bretagne ?",
                     "412 agents étaient en grève.", title="Compte rendu du CSE Bretagne")
    assert c.features["region_clash"] == 0.0
    c = _count("Combien d'agents étaient en grève en Bretagne ?",
                     "412 agents étaient en grève.", title="Compte rendu du CSE Occitanie")
    assert c.features["region_clash"] == 1.0


def test_a_figure_in_brackets_is_an_aside() -> None:
    cands = _features("Combien de minutes dure l'entretien ?",
                      "L'entretien dure 15 minutes (20 minutes dans les petites agences).")
    assert [c.features["aside"] for c in sorted(cands, key=lambda c: c.start)] == [0.0, 1.0]


# --- the model --------------------------------------------------------------------------------

def test_the_choice_model_shares_the_mass_between_rivals_and_none() -> None:
    choice = Linear(("kind_exact",), np.zeros(1), np.ones(1), np.array([2.0]), 0.0)
    unit = Linear(("sim",), np.zeros(1), np.ones(1), np.array([1.0]), 0.0)
    lexical = Scorer(unit, Linear(("kind_exact",), np.zeros(1), np.ones(1), np.array([0.0]), 0.0),
                     0.3, {})
    s = Scorer(unit, choice, 0.5, {"embedder": "e5"}, lexical)
    rows = np.zeros((2, len(FEATURES)))
    rows[0, FEATURES.index("kind_exact")] = 1.0
    alone = s.proba(rows[:1])[0]
    assert alone == pytest.approx(np.exp(2.0) / (np.exp(2.0) + 1.0))  # against *none* only
    twins = np.vstack([rows[:1], rows[:1]])
    assert s.proba(twins)[0] == pytest.approx(np.exp(2.0) / (2 * np.exp(2.0) + 1.0))
    p = s.proba(rows)
    assert p[0] > p[1] and p.sum() < 1.0
    # another embedder's vectors: the twin fitted without vector features answers
    assert s.for_embedder("hash") is lexical and lexical.proba(rows[:1])[0] == pytest.approx(0.5)
    assert s.for_embedder("e5") is s


def test_the_same_figure_in_two_passages_adds_up() -> None:
    from rag.answer.train import best_lead

    keys = ["45 postes", "12 agences", "45 postes"]
    i, p = best_lead(keys, np.array([0.3, 0.4, 0.2]))
    assert keys[i] == "45 postes" and i == 0 and p == pytest.approx(0.5)


def test_the_bundled_model_was_fitted_and_round_trips(tmp_path: Path) -> None:
    model = load()
    assert model.meta.get("fitted") is True
    assert 0.05 <= model.answer <= 0.95
    assert set(model.unit.features) | set(model.choice.features) <= set(FEATURES)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(prior().to_json()), encoding="utf-8")
    assert load(str(path)).answer == prior().answer


# --- the three outcomes, on a real index (bundled e5, spaCy, FAISS on disk) ---------------------

MINUTES = ("# Compte rendu des élus CGT au CSE Bourgogne du 12 mars 2025\n\n"
           "## Prime\n\nLa prime de fin d'année des conseillers est fixée à 1 234 euros.\n\n"
           "## Agences\n\nLa direction annonce la fermeture de 12 agences d'ici juin.\n\n"
           "## Pétition\n\nUne pétition contre les fermetures a circulé dans toutes les agences de "
           "la région, relayée par les élus.\n")
OTHER = ("# Déclaration des élus SNAP au CSE Normandie du 3 avril 2025\n\n"
         "## Prime\n\nLa prime de fin d'année des conseillers est fixée à 1 100 euros.\n")


@pytest.fixture(scope="module")
def outcome_pipeline(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from rag.config import load_settings
    from rag.pipeline import build_pipeline

    root = tmp_path_factory.mktemp("outcomes")
    docs = root / "docs"
    docs.mkdir()
    (docs / "cse-bourgogne.md").write_text(MINUTES, encoding="utf-8")
    (docs / "snap-normandie.md").write_text(OTHER, encoding="utf-8")
    pipe = build_pipeline(load_settings(index_dir=root / "index", env={}))
    pipe.build(docs)
    return pipe


@pytest.mark.slow
def test_answer_leads_with_the_figure_and_cites_its_source(outcome_pipeline) -> None:  # type: ignore[no-untyped-def]
    ans = outcome_pipeline.ask("Combien d'agences la direction va-t-elle fermer ?")
    assert ans.outcome == "answer" and not ans.abstained
    assert ans.answer.startswith("12 agences — «")
    assert ans.citations[0].source == "cse-bourgogne.md"
    assert ans.public()["outcome"] == "answer"


@pytest.mark.slow
def test_another_documents_figure_is_named(outcome_pipeline) -> None:  # type: ignore[no-untyped-def]
    ans = outcome_pipeline.ask("Quel est le montant de la prime de fin d'année des conseillers ?")
    assert ans.outcome == "answer"
    assert "Autre chiffre" in ans.answer
    assert {"1 234 euros", "1 100 euros"} <= {c.quote[c.quote.find("1 "):c.quote.find("euros") + 5]
                                               for c in ans.citations}


@pytest.mark.slow
def test_unsure_shows_the_closest_passages_and_asserts_nothing(outcome_pipeline) -> None:  # type: ignore[no-untyped-def]
    ans = outcome_pipeline.ask("Combien de signatures la pétition contre les fermetures a-t-elle réunies ?")
    assert ans.outcome == "unsure" and ans.abstained
    assert ans.answer.startswith(UNSURE_MESSAGE)
    assert 1 <= len(ans.citations) <= 3
    assert any("pétition" in c.quote for c in ans.citations)
    out = ans.public()
    assert out["outcome"] == "unsure" and out["abstained"] is True and out["citations"]


@pytest.mark.slow
def test_refused_when_a_name_of_the_question_is_in_no_document(outcome_pipeline) -> None:  # type: ignore[no-untyped-def]
    ans = outcome_pipeline.ask("Quel est le montant de la prime en Bretagne ?")
    assert ans.outcome == "refused" and ans.abstained and not ans.citations
    assert "Bretagne" in ans.reason


@pytest.mark.slow
def test_weak_evidence_shows_the_passages_and_no_evidence_refuses(outcome_pipeline) -> None:  # type: ignore[no-untyped-def]
    pipe = outcome_pipeline
    question = "Combien d'agences la direction va-t-elle fermer ?"
    hits = pipe.candidates(question)
    # too few of its words in the best sentence to assert: the passages are shown instead
    weak = ExtractiveAnswerer(pipe.index, min_evidence=0.99, embedder=pipe.embedder).answer(question, hits)
    assert weak.outcome == "unsure" and weak.abstained
    assert weak.reason.startswith("indices trop faibles")
    assert any("12 agences" in c.quote for c in weak.citations)
    # hardly any of them: nothing relevant, nothing shown
    none = ExtractiveAnswerer(pipe.index, min_relevance=0.99, embedder=pipe.embedder).answer(question, hits)
    assert none.outcome == "refused" and not none.citations
    assert none.reason.startswith("aucun passage pertinent")


def test_tokens_of_keeps_page_offsets() -> None:
    text = "Premier bloc.\n\nSecond bloc avec 3 agents."
    (toks,) = tokens_of([text])
    assert all(text[a:b] for a, b, *_ in toks)
    three = next(t for t in toks if text[t[0]:t[1]] == "3")
    assert toks[three[5]][2] == "agent"
