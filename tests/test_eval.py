"""The evaluation suite: metrics on hand-made cases, the `rag eval` command, the real run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import evaluate as ev
from rag.answer import ABSTAIN_MESSAGE, Answer, Citation
from rag.cli import cli
from rag.dates import format_date
from tests.docs import write_small_corpus

REPO = Path(__file__).resolve().parent.parent


def q(id: str, category: str = "factual", expected: tuple[str, ...] = ("2900",),
      split: str = "tune", text: str = "Combien d'ETP ?") -> ev.Question:
    return ev.Question(id, category, split, text, expected if category != "out_of_corpus" else ())


def cite(quote: str, n: int = 1, title: str = "Tract CGT", page: int | None = None) -> Citation:
    return Citation(n=n, source="tract.md", title=title, page=page, quote=quote, score=1.0)


def answered(text: str, *quotes: str, **kw: object) -> Answer:
    return Answer("?", text, False, [cite(x, i + 1, **kw) for i, x in enumerate(quotes)])  # type: ignore[arg-type]


ABSTAINED = Answer("?", ABSTAIN_MESSAGE, True, reason="indices trop faibles")


# --- one answer ------------------------------------------------------------------------

@pytest.mark.parametrize("answer, quote", [
    ("2 900 ETP — « des gains de 2 900 ETP » [1]", "des gains de 2 900 ETP"),  # space
    ("2\u00a0900 ETP — « gains de 2\u202f900 ETP » [1]", "gains de 2\u202f900 ETP"),  # NBSP, narrow NBSP
    ("**2900** ETP [1]", "gains de 2900 ETP d'ici 2027."),  # markdown bold
])
def test_numbers_match_however_they_are_written(answer: str, quote: str) -> None:
    r = ev.score_answer(q("f01"), answered(answer, quote), [], [], 1.0)
    assert r.answer_ok and r.citation_ok and r.unsupported == [] and r.passed


def test_dates_match_with_superscript_ordinals() -> None:
    quote = "Le déploiement commence le 1<sup>er</sup> avril 2025."
    ans = answered(f"« {quote} » [1]", quote)
    r = ev.score_answer(q("d", expected=("1er avril 2025",)), ans, [], [], 1.0)
    assert r.answer_ok and r.citation_ok


def test_right_figure_with_a_citation_that_lacks_it_fails() -> None:
    r = ev.score_answer(q("f01"), answered("2900 ETP [1]", "Une réduction des coûts."), [], [], 1.0)
    assert r.answer_ok and not r.citation_ok and not r.passed
    assert r.unsupported == ["2900 ETP"]


def test_abstaining_on_an_answerable_question_is_wrong_and_right_out_of_corpus() -> None:
    wrong = ev.score_answer(q("f01"), ABSTAINED, [], [], 1.0)
    assert not wrong.answer_ok and not wrong.citation_ok and not wrong.passed
    right = ev.score_answer(q("o01", "out_of_corpus"), ABSTAINED, [], [], 1.0)
    assert right.passed and right.hit_rank is None
    invented = ev.score_answer(q("o02", "out_of_corpus"), answered("12 % [1]", "12 % en 2023"), [], [], 1.0)
    assert not invented.passed


def test_unsupported_numbers_ignore_markers_title_and_page() -> None:
    quote = "Le coût ? 2 millions d'euros !"
    ok = answered("2 M€ — « Le coût ? 2 millions d'euros ! » [1] (CGT, « Réunion du 30 janvier 2025 », "
                  "p. 3) Voir aussi [2].", quote, title="Réunion du 30 janvier 2025", page=3)
    assert ev.unsupported_numbers(ok) == []
    bad = answered("3 millions d'euros [1]", quote)
    assert ev.unsupported_numbers(bad) == ["3 millions d'euros"]
    assert ev.unsupported_numbers(ABSTAINED) == []


def test_first_hit_rank_uses_normalised_matching() -> None:
    texts = ["Rien ici.", "Des gains de 2 900 ETP.", "2900 encore"]
    assert ev.first_hit_rank(texts, ["2900"]) == 2
    assert ev.first_hit_rank(texts, ["3000"]) is None


# --- groups of answers -------------------------------------------------------------------

def result(id: str, category: str = "factual", rank: int | None = 1, ok: bool = True,
           abstained: bool = False, split: str = "tune", latency: float = 10.0) -> ev.QuestionResult:
    return ev.QuestionResult(id, category, split, "?", ["x"] if category != "out_of_corpus" else [], "",
                             "", abstained, hit_rank=rank, answer_ok=ok, citation_ok=ok,
                             latency_ms=latency)


def test_summary_metrics_on_a_hand_made_set() -> None:
    results = [
        result("a", rank=1), result("b", rank=2, ok=False), result("c", rank=None, ok=False, abstained=True),
        result("d", rank=4, split="heldout"),
        result("o1", "out_of_corpus", rank=None, abstained=True),
        result("o2", "out_of_corpus", rank=None, latency=1000.0),
    ]
    m = ev.summarize(results)
    # retrieval over the 4 answerable questions only: ranks 1, 2, none, 4
    assert (m["hit@1"], m["hit@3"], m["hit@5"]) == (0.25, 0.5, 0.75)
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 0 + 1 / 4) / 4)
    assert m["accuracy"] == 0.5 and m["citation_accuracy"] == 0.5
    assert m["false_abstentions"] == 1
    assert m["abstention_precision"] == 0.5  # 2 abstentions, 1 out of corpus
    assert m["abstention_recall"] == 0.5  # 2 out-of-corpus questions, 1 declined
    assert m["passed"] == 3  # a, d, o1
    assert m["latency_p50_ms"] == 10.0 and m["latency_p95_ms"] > 10.0

    rep = ev.build_report({"extractive": results, "autre": results[:2]})
    block = rep["answerers"]["extractive"]
    assert rep["primary"] == "extractive"
    assert set(block["by_category"]) == {"factual", "out_of_corpus"}
    assert block["by_category"]["out_of_corpus"]["hit@5"] is None
    assert block["by_category"]["factual"]["abstention_precision"] is None
    assert block["by_split"]["heldout"]["overall"]["n"] == 1
    assert block["by_split"]["tune"]["by_category"]["factual"]["n"] == 3
    assert rep["answerers"]["autre"]["overall"]["n"] == 2
    assert "Répondeur « autre »" in ev.render_table(rep)


def test_thresholds_name_what_failed() -> None:
    overall = {"accuracy": 0.5, "hit@5": 0.9, "abstention_recall": 1.0, "unsupported_numbers": 2}
    assert ev.check_thresholds(overall, {"min_accuracy": 0.5, "min_hit5": 0.8}) == []
    failed = ev.check_thresholds(overall, {"min_accuracy": 0.6, "max_unsupported": 0,
                                           "min_abstention_recall": None})
    assert len(failed) == 2
    assert "--min-accuracy" in failed[0] and "0.50 < 0.6" in failed[0]
    assert "--max-unsupported" in failed[1] and "2 > 0" in failed[1]


# --- running over a pipeline -------------------------------------------------------------

@dataclass
class Passage:
    text: str
    source: str = "tract.md"


class FakePipeline:
    """Answers from a table; raises for unknown questions."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        return [Passage("sans rapport"), Passage("des gains de 2 900 ETP d'ici 2027")][:k]

    def ask(self, question: str) -> Answer:
        return self.answers[question]


def test_a_failing_question_is_recorded_and_the_run_goes_on() -> None:
    good = answered("2900 ETP [1]", "des gains de 2 900 ETP")
    pipe = FakePipeline({"Combien d'ETP ?": good})
    questions = [q("f01"), q("f02", text="Question inconnue ?")]
    seen: list[tuple[int, int]] = []
    results = ev.run_questions(pipe, questions, "fake", lambda d, t: seen.append((d, t)))
    assert [r.passed for r in results] == [True, False]
    assert results[0].hit_rank == 2 and results[0].retrieved == ["tract.md", "tract.md"]
    assert "KeyError" in results[1].error
    assert seen[-1] == (2, 2)


def test_an_answerer_that_cannot_run_is_a_clear_error() -> None:
    with pytest.raises(ev.EvalError, match="répondeur « llamacpp » ne peut pas répondre"):
        ev.run_questions(FakePipeline({}), [q("f01")], "llamacpp")


def test_html_report_escapes_document_text_and_is_self_contained(tmp_path: Path) -> None:
    evil = '<img src="x" onerror="alert(1)"> 2900 ETP'
    r = ev.score_answer(q("f01"), answered(f"2900 ETP — « {evil} » [1]", evil), [evil], ["t.md"], 5.0)
    rep = ev.build_report({"extractive": [r, result("o1", "out_of_corpus", abstained=True)]})
    js, page = ev.write_reports(rep, tmp_path / "out")
    html = page.read_text(encoding="utf-8")
    assert "<img" not in html and "&lt;img src=&quot;x&quot;" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<svg" in html and 'class="pass"' in html
    assert json.loads(js.read_text(encoding="utf-8"))["answerers"]["extractive"]["questions"][0]["passed"]


def test_load_questions_filters_and_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [{"id": "f1", "category": "factual", "split": "tune", "question": "?", "expected": ["1"]},
            {"id": "o1", "category": "out_of_corpus", "split": "heldout", "question": "?", "expected": []}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert [x.id for x in ev.load_questions(path)] == ["f1", "o1"]
    assert [x.id for x in ev.load_questions(path, split="heldout")] == ["o1"]
    path.write_text('{"id": "x", "category": "nouvelle", "question": "?"}\n', encoding="utf-8")
    with pytest.raises(ev.EvalError, match="catégorie inconnue"):
        ev.load_questions(path)


def test_the_shipped_question_set_is_well_formed() -> None:
    questions = ev.load_questions(REPO / "eval" / "questions.jsonl")
    assert len(questions) >= 80
    assert len({x.id for x in questions}) == len(questions)
    by_cat = {c: sum(x.category == c for x in questions) for c in ev.CATEGORIES}
    assert by_cat["paraphrased"] >= 25 and by_cat["out_of_corpus"] >= 15


# --- the command -------------------------------------------------------------------------

@pytest.fixture()
def small_suite(tmp_path: Path) -> tuple[Path, Path]:
    docs = write_small_corpus(tmp_path / "docs")
    rows = [
        {"id": "f1", "category": "factual", "split": "tune",
         "question": "Combien a coûté la campagne publicitaire France Travail PRO ?",
         "expected": ["2 millions", "2 M€"]},
        {"id": "f2", "category": "factual", "split": "heldout",
         "question": "Quel est le nom du directeur de la campagne ?", "expected": ["Jean Dupont"]},
        {"id": "o1", "category": "out_of_corpus", "split": "tune",
         "question": "Qui a gagné la coupe du monde 2022 ?", "expected": []},
    ]
    qfile = tmp_path / "questions.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return docs, qfile


def run_eval(docs: Path, qfile: Path, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--embedder", "hash", "eval", "--questions", str(qfile),
                                    "--corpus", str(docs), "--out", str(tmp_path / "reports"), *extra])


def test_cli_eval_reports_and_fails_below_a_threshold(small_suite: tuple[Path, Path], tmp_path: Path) -> None:
    docs, qfile = small_suite
    r = run_eval(docs, qfile, tmp_path, "--min-accuracy", "0.9", "--min-abstention-recall", "1")
    assert r.exit_code == 1, r.output
    assert "Seuil non atteint" in r.stderr and "--min-accuracy" in r.stderr
    assert "--min-abstention-recall" not in r.stderr  # the out-of-corpus question was declined
    assert "factuelles" in r.stdout and "ensemble" in r.stdout
    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    passed = {x["id"]: x["passed"] for x in report["answerers"]["extractive"]["questions"]}
    assert passed == {"f1": True, "f2": False, "o1": True}
    assert (tmp_path / "reports" / "report.html").is_file()
    assert (tmp_path / "eval" / "index" / "CURRENT").is_file()  # built on first use, not in index/

    again = run_eval(docs, qfile, tmp_path, "--min-accuracy", "0.5", "--category", "factual")
    assert again.exit_code == 0, again.output
    assert "Indexation" not in again.stderr  # the eval index is reused


def test_cli_eval_writes_a_markdown_page_with_the_json_figures(small_suite: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    docs, qfile = small_suite
    r = run_eval(docs, qfile, tmp_path, "--min-hit5", "0")
    assert r.exit_code == 0, r.output
    out = tmp_path / "reports"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert (f"`rag eval --questions {qfile} --corpus {docs} --min-hit5 0 --out {out}`" in md)
    assert f"Questions : `{qfile}`" in md and f"Corpus : `{docs}`" in md
    assert format_date(report["meta"]["created_at"]) in md  # "3 décembre 2026"

    def rate(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    block = report["answerers"]["extractive"]
    expected = {"factuelles": block["by_category"]["factual"],
                "hors corpus": block["by_category"]["out_of_corpus"],
                "split tune": block["by_split"]["tune"]["overall"],
                "split heldout": block["by_split"]["heldout"]["overall"],
                "ensemble": block["overall"]}
    rows = {cells[0]: cells[1:] for line in md.splitlines() if line.startswith("| ")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    assert rows[""][:3] == ["n", "tête juste", "affirmées fausses"]
    for label, m in expected.items():
        wrong = (f"{m['wrong_leads']}/{m['answers']} ({rate(m['wrong_lead_rate'])})" if m["answers"]
                 else rate(m["wrong_lead_rate"]))
        assert rows[label] == [str(m["n"]), rate(m["accuracy"]), wrong, str(m["unsure"]),
                               rate(m["useful"]), rate(m["ooc_nothing_asserted"]), rate(m["hit@5"]),
                               f"{m['latency_p95_ms']:.0f}"], label
    assert rows["ensemble"][0] == "3" and rows["hors corpus"][5] == "1.00"  # o1 asserted nothing
    assert f"{block['overall']['passed']}/3 questions réussies" in md


def test_cli_eval_rejects_an_unknown_answerer(small_suite: tuple[Path, Path], tmp_path: Path) -> None:
    docs, qfile = small_suite
    r = run_eval(docs, qfile, tmp_path, "--answerer", "extractive,gpt9")
    assert r.exit_code == 2 and "Répondeur inconnu : gpt9" in r.stderr


def test_cli_eval_refuses_an_index_of_other_documents(small_suite: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    docs, qfile = small_suite
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.md").write_text("# Note\n\nAutre chose entièrement.\n", encoding="utf-8")
    CliRunner().invoke(cli, ["--embedder", "hash", "index", str(other), "--index", str(tmp_path / "mine")])
    r = run_eval(docs, qfile, tmp_path, "--index", str(tmp_path / "mine"))
    assert r.exit_code == 2 and "ne correspond pas au corpus" in r.stderr


# --- the real suite ----------------------------------------------------------------------

@pytest.mark.slow
def test_real_suite_on_the_sample_corpus(e5_pipeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    questions = ev.load_questions(REPO / "eval" / "questions.jsonl")
    report = ev.run_suite({"extractive": e5_pipeline}, questions)
    js, page = ev.write_reports(report, tmp_path / "reports")
    block = json.loads(js.read_text(encoding="utf-8"))["answerers"]["extractive"]
    by_id = {x["id"]: x for x in block["questions"]}
    assert len(by_id) == len(questions)
    assert by_id["f01"]["passed"] and "2900" in by_id["f01"]["answer"]  # the brief's two examples
    assert by_id["f02"]["passed"] and "2 millions" in by_id["f02"]["answer"]
    assert set(block["by_split"]) == {"tune", "heldout", "fresh", "fresh2", "fresh3", "fresh4"}
    assert block["overall"]["hit@5"] > 0.5
    html = page.read_text(encoding="utf-8")
    assert "f01" in html and "<svg" in html


@pytest.mark.parametrize(("answer", "expected", "ok"), [
    ("10 000 EDO — « près de 10 000 EDO et plus de 3 000 EDA »", "3 000", False),
    ("3 000 EDA — « près de 10 000 EDO et plus de 3 000 EDA »", "3 000", True),
    ("« Les missions locales deviendront «France Travail jeunes» »", "France Travail jeunes", True),
])
def test_the_figure_put_first_is_what_the_answer_asserts(answer: str, expected: str, ok: bool) -> None:
    q = ev.Question("x", "factual", "tune", "?", (expected,), "a.txt", ())
    ans = Answer("?", answer, False, [Citation(1, "a.txt", "t", None, answer, 1.0, 0, 1)])
    assert ev.score_answer(q, ans, [], [], 1.0).answer_ok is ok


def test_train_answerer_refuses_the_sealed_split_and_a_malformed_data_spec(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Note\n\nLa prime est de 100 euros.\n", encoding="utf-8")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "q1", "category": "factual", "split": "sealed",
                                 "question": "Quelle prime ?", "expected": ["100"]}) + "\n",
                     encoding="utf-8")
    out = tmp_path / "model.json"
    sealed = CliRunner().invoke(cli, ["--embedder", "hash", "train-answerer", "--data",
                                      f"{docs}:{qfile}:sealed", "--out", str(out)])
    assert sealed.exit_code == 2 and "« sealed » ne sert jamais" in sealed.output
    malformed = CliRunner().invoke(cli, ["--embedder", "hash", "train-answerer", "--data",
                                         str(docs), "--out", str(out)])
    assert malformed.exit_code == 2 and "--data attend CORPUS:QUESTIONS" in malformed.output
    assert not out.exists()
