"""Acronyms and synonyms let users ask in their own words."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rag.cli import cli
from rag.glossary import builtin, initials_match, mine
from tests.conftest import make_pipeline


def test_initials_must_spell_the_acronym() -> None:
    assert initials_match("EDO", "Entretien D'Orientation") == "Entretien D'Orientation"
    assert initials_match("QVCT", "la Qualité de Vie et Conditions de Travail") == \
        "Qualité de Vie et Conditions de Travail"
    assert initials_match("RGPD", "Réglementation Générale sur la Protection des Données") == \
        "Réglementation Générale sur la Protection des Données"
    assert initials_match("FT", "algorithme pour la mise en relation") is None


def test_definitions_are_mined_in_every_written_form() -> None:
    text = ("- EDO pour Entretien D'Orientation (effectué par téléphone),\n"
            "la DOSPO (la Direction de l'Offre de Service et de la Performance Opérationnelle) "
            "reste en appui. (MSA) Modalités de Suivi ou d'Accompagnement.\n")
    rows = {ref: others for ref, others, _ in mine(text, "cr.md").rows()}
    assert rows["EDO"] == "Entretien D'Orientation"
    assert rows["DOSPO"] == "Direction de l'Offre de Service et de la Performance Opérationnelle"
    assert rows["MSA"] == "Modalités de Suivi ou d'Accompagnement"


def test_query_expansion_both_ways() -> None:
    g = builtin()
    assert "etp" in g.expand_query("Combien de postes à temps plein ?")
    assert "comit social econom central" in g.expand_query("au CSEC")
    assert g.expand_query("bonjour") == "bonjour"


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "cgt.md").write_text(
        "# Déclaration CGT au CSEC\n\nLe réel objectif est une réduction des coûts avec des gains "
        "d'efficacité de 2900 ETP d'ici 2027.\n\nMatch FT est déjà étendu dans 2 régions.\n",
        encoding="utf-8")
    (d / "autre.md").write_text("# Compte rendu\n\nLes agences ferment le vendredi après-midi.\n",
                                encoding="utf-8")
    return d


def test_paraphrase_finds_the_acronym_in_the_document(tmp_path: Path) -> None:
    pipe = make_pipeline(tmp_path / "idx")
    pipe.build(_folder(tmp_path))
    ans = pipe.ask("Combien de postes à temps plein la direction veut-elle économiser d'ici 2027 ?")
    assert not ans.abstained and "2900" in ans.answer
    assert ans.citations[0].source == "cgt.md"


def test_user_glossary_file_extends_search_and_is_not_a_document(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "glossaire.tsv").write_text(
        "# mes sigles\nMatch FT | outil de rapprochement des offres et des candidats\n",
        encoding="utf-8")
    pipe = make_pipeline(tmp_path / "idx")
    report = pipe.build(folder)
    assert not report.skipped and "glossaire.tsv" not in pipe.index.documents
    hits = pipe.search("outil de rapprochement des offres et des candidats", 1)
    assert hits[0].source == "cgt.md"


def test_cli_glossary_lists_mined_definitions_with_their_document(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "cr.md").write_text("# CSE Occitanie\n\nla DOSPO (la Direction de l'Offre de Service "
                                  "et de la Performance Opérationnelle) reste en appui.\n",
                                  encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(cli, ["--embedder", "hash", "index", str(folder), "--index", str(tmp_path / "i")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["glossary", "--index", str(tmp_path / "i")])
    assert r.exit_code == 0
    assert "DOSPO = Direction de l'Offre de Service et de la Performance Opérationnelle  [cr.md]" \
        in r.stdout
    assert "ETP = équivalent temps plein" in r.stdout
    rows = json.loads(runner.invoke(cli, ["glossary", "--json", "--index", str(tmp_path / "i")]).stdout)
    assert any(row["terme"] == "DOSPO" and row["origine"] == "cr.md" for row in rows)
