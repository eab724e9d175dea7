"""The evaluation suite: run the question set through a Pipeline and score it.

Every question goes through the same ``Pipeline`` users get: ``pipeline.search``
(k=5) for the retrieval metrics, ``pipeline.ask`` for the answer. Each answer is
checked against the question's expected strings after ``normalize_for_match``
("2 900" = "2900", NBSP, "1<sup>er</sup>" = "1er", case and accents):

- retrieval: hit@1/3/5 and MRR, a hit being a retrieved passage that contains
  an expected string (out-of-corpus questions have no target and are left out);
- accuracy: an expected string appears in the answer text (answerable
  questions; an abstention counts as wrong);
- citation accuracy: a cited quote contains an expected string;
- abstention: precision (share of abstentions that were out-of-corpus
  questions) and recall (share of out-of-corpus questions declined);
- unsupported numbers: quantities in the answer that no cited quote holds
  (citation markers "[1]" ignored; the cited document's title, date and page
  count as support because they come from the citation, not from a model);
- outcomes: an answer asserts its lead; "unsure" shows the closest passages and
  asserts nothing; "refused" says nothing was found;
- wrong leads: asserted answers whose lead is wrong, out-of-corpus questions
  included, over all asserted answers;
- useful: the lead is right, or the answer is unsure and one of the first 3 passages
  it shows holds an expected string (answerable questions);
- latency p50/p95 of ``pipeline.ask``.

Worked example: question f02 expects ["2 millions", "2 M€"]; the answer
"2 millions d'euros — « Le coût ? 2 millions d'euros ! » [1]" is correct, its
quote holds "2 millions", and its only quantity (2 000 000 €) is in the quote,
so the question passes.

Reports: ``summarize`` gives the metric block; ``build_report`` groups blocks
per category and per split (tune / heldout / fresh) for each answerer; ``render_table``
(the terminal), ``render_html`` (report.html), ``render_markdown`` (report.md, a short
French page) and ``write_reports`` present them. What it leaves out: judging
wording or the ``context`` strings beyond a reported share, and any metric that
needs a model to grade answers.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, get_args

from rag.answer import LEAD_SEP, Answer
from rag.config import QuestionCategory
from rag.dates import format_date
from rag.text import contains_normalized, extract_quantities, unsupported_figures

CATEGORIES: tuple[str, ...] = get_args(QuestionCategory)
K = 5

ProgressFn = Callable[[int, int], None]


class EvalError(ValueError):
    """A problem with the eval inputs or an answerer that cannot run (French message)."""


class _SearchResult(Protocol):
    text: str


class EvalPipeline(Protocol):
    """What the eval needs from a pipeline (``rag.pipeline.Pipeline`` fits)."""

    def search(self, query: str, k: int | None = None) -> list[Any]: ...

    def ask(self, question: str) -> Answer: ...


# --- questions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    id: str
    category: str
    split: str
    question: str
    expected: tuple[str, ...]
    source: str = ""
    context: tuple[str, ...] = ()
    note: str = ""

    @property
    def answerable(self) -> bool:
        return self.category != "out_of_corpus"


def load_questions(path: Path, category: str | None = None, split: str | None = None) -> list[Question]:
    """Questions from a JSONL file, optionally restricted to one category and/or split."""
    if not path.is_file():
        raise FileNotFoundError(f"Fichier de questions introuvable : {path}")
    out: list[Question] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            q = Question(str(d["id"]), d["category"], d.get("split", "tune"), d["question"],
                         tuple(d.get("expected") or ()), d.get("source", ""),
                         tuple(d.get("context") or ()), d.get("note", ""))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalError(f"{path}, ligne {n} : question mal formée ({exc}).") from exc
        if q.category not in CATEGORIES:
            raise EvalError(f"{path}, ligne {n} : catégorie inconnue « {q.category} ».")
        if q.answerable and not q.expected:
            raise EvalError(f"{path}, ligne {n} : réponse attendue manquante pour {q.id}.")
        out.append(q)
    out = [q for q in out if (category is None or q.category == category)
           and (split is None or q.split == split)]
    if not out:
        raise EvalError(f"Aucune question retenue dans {path} (catégorie={category}, split={split}).")
    return out


# --- checks on one answer ----------------------------------------------------------

def first_hit_rank(texts: Iterable[str], expected: Iterable[str]) -> int | None:
    """1-based rank of the first text containing an expected string, or None.

    first_hit_rank(["rien", "gains de 2 900 ETP"], ["2900"]) -> 2
    """
    exp = list(expected)
    for rank, text in enumerate(texts, 1):
        if any(contains_normalized(text, e) for e in exp):
            return rank
    return None


_MARKER_RE = re.compile(r"\[\d+\]")


def unsupported_numbers(ans: Answer) -> list[str]:
    """Quantities of the answer text found in no cited quote (nor the cited title/date/page).

    Answer "2 900 ETP [1]" citing "gains de 2900 ETP" -> []; citing "gains de 2800 ETP" -> ["2 900 ETP"].
    """
    if ans.abstained:
        return []
    claim = _MARKER_RE.sub(" ", ans.answer)
    if not extract_quantities(claim):
        return []
    evidence = "\n".join(
        part for c in ans.citations
        for part in (c.quote, c.title, c.doc_date or "", format_date(c.doc_date),
                     f"p. {c.page}" if c.page else "")
    )
    return unsupported_figures(claim, evidence)


@dataclass
class QuestionResult:
    """One question's outcome; ``passed`` is what the HTML report colours."""

    id: str
    category: str
    split: str
    question: str
    expected: list[str]
    source: str
    answer: str
    abstained: bool
    reason: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)  # sources of the top-k passages
    hit_rank: int | None = None
    answer_ok: bool = False
    citation_ok: bool = False
    context_ok: bool | None = None
    unsupported: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str = ""
    outcome: str = "refused"
    useful: bool = False
    confidence: float | None = None

    @property
    def answerable(self) -> bool:
        return self.category != "out_of_corpus"

    @property
    def asserted(self) -> bool:
        return self.outcome == "answer" and not self.error

    @property
    def wrong_lead(self) -> bool:
        return self.asserted and not self.answer_ok

    @property
    def passed(self) -> bool:
        if not self.answerable:
            return self.abstained and not self.error
        return self.answer_ok and self.citation_ok and not self.unsupported

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def answer_head(answer: str) -> str:
    """What the answer asserts: the figure, date or name put before the quote
    ("10 000 EDO — « … plus de 3 000 EDA … »" asserts 10 000, not 3 000); the whole
    text when there is no such lead (a bare quote, a generated sentence)."""
    lead, sep, _ = answer.partition(LEAD_SEP + "«")
    return lead if sep and lead.strip() else answer


def score_answer(q: Question, ans: Answer, retrieved_texts: list[str], retrieved_sources: list[str],
                 latency_ms: float, error: str = "") -> QuestionResult:
    """Check one answer (and the passages retrieved for it) against the question."""
    answered = not ans.abstained and not error
    head = answer_head(ans.answer)
    answer_ok = answered and q.answerable and any(contains_normalized(head, e) for e in q.expected)
    citation_ok = answered and q.answerable and any(
        contains_normalized(c.quote, e) for c in ans.citations for e in q.expected)
    outcome = "refused" if error else (ans.outcome or ("refused" if ans.abstained else "answer"))
    shown = ans.citations[:3] if outcome == "unsure" else []
    useful = q.answerable and (answer_ok or any(
        contains_normalized(c.quote, e) for c in shown for e in q.expected))
    context_ok = None
    if q.answerable and q.context:
        context_ok = answered and all(contains_normalized(ans.answer, c) for c in q.context)
    return QuestionResult(
        id=q.id, category=q.category, split=q.split, question=q.question, expected=list(q.expected),
        source=q.source, answer=ans.answer, abstained=ans.abstained, reason=ans.reason,
        citations=[{**c.public(), "union": c.union, "doc_date": c.doc_date} for c in ans.citations],
        retrieved=retrieved_sources,
        hit_rank=first_hit_rank(retrieved_texts, q.expected) if q.answerable else None,
        answer_ok=answer_ok, citation_ok=citation_ok, context_ok=context_ok,
        unsupported=[] if error else unsupported_numbers(ans), latency_ms=latency_ms, error=error,
        outcome=outcome, useful=useful, confidence=ans.confidence,
    )


# --- running -----------------------------------------------------------------------

def run_questions(pipeline: EvalPipeline, questions: list[Question], name: str = "",
                  progress: ProgressFn | None = None, k: int = K) -> list[QuestionResult]:
    """Search and answer every question; a question whose answerer fails is a recorded failure.

    The first question is asked once before timing (loads the index and models) and
    raises ``EvalError`` if the answerer cannot run at all, e.g. a missing model.
    """
    try:
        pipeline.ask(questions[0].question)
    except Exception as exc:
        raise EvalError(f"Le répondeur « {name or '?'} » ne peut pas répondre : {exc}") from exc
    results: list[QuestionResult] = []
    if progress:
        progress(0, len(questions))
    for i, q in enumerate(questions):
        hits = pipeline.search(q.question, k)
        texts = [h.text for h in hits]
        sources = [str(getattr(h, "source", "")) for h in hits]
        t0 = time.perf_counter()
        error = ""
        try:
            ans = pipeline.ask(q.question)
        except Exception as exc:  # keep going: one broken question must not hide the others
            error = f"{type(exc).__name__}: {exc}"
            ans = Answer(q.question, "", True, reason="erreur")
        latency = (time.perf_counter() - t0) * 1000
        results.append(score_answer(q, ans, texts, sources, latency, error))
        if progress:
            progress(i + 1, len(questions))
    return results


# --- metrics -----------------------------------------------------------------------

def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def summarize(results: list[QuestionResult]) -> dict[str, Any]:
    """The metric block for a group of results (None where a metric does not apply).

    Rates are in [0, 1]; ``unsupported_numbers`` is a count, ``unsupported_rate`` the
    share of given (non-abstained) answers holding at least one unsupported number.
    """
    answerable = [r for r in results if r.answerable]
    ooc = [r for r in results if not r.answerable]
    targeted = [r for r in answerable if r.expected]
    answered = [r for r in results if not r.abstained]
    abstained = [r for r in results if r.abstained]
    with_ctx = [r for r in answerable if r.context_ok is not None]
    lat = [r.latency_ms for r in results]

    def hit_at(n: int) -> float | None:
        return _ratio(sum(1 for r in targeted if r.hit_rank is not None and r.hit_rank <= n), len(targeted))

    mrr = (sum(1 / r.hit_rank for r in targeted if r.hit_rank) / len(targeted)) if targeted else None
    asserted = [r for r in results if r.asserted]
    return {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_out_of_corpus": len(ooc),
        "passed": sum(r.passed for r in results),
        "pass_rate": _ratio(sum(r.passed for r in results), len(results)),
        "hit@1": hit_at(1),
        "hit@3": hit_at(3),
        "hit@5": hit_at(5),
        "mrr": mrr,
        "accuracy": _ratio(sum(r.answer_ok for r in answerable), len(answerable)),
        "citation_accuracy": _ratio(sum(r.citation_ok for r in answerable), len(answerable)),
        "context_rate": _ratio(sum(bool(r.context_ok) for r in with_ctx), len(with_ctx)),
        "false_abstentions": sum(r.abstained for r in answerable),
        # Precision only means something where there were out-of-corpus questions to decline.
        "abstention_precision": _ratio(sum(not r.answerable for r in abstained), len(abstained))
        if ooc else None,
        "abstention_recall": _ratio(sum(r.abstained for r in ooc), len(ooc)),
        "unsupported_numbers": sum(len(r.unsupported) for r in results),
        "unsupported_rate": _ratio(sum(bool(r.unsupported) for r in answered), len(answered)),
        "errors": sum(bool(r.error) for r in results),
        "answers": len(asserted),
        "unsure": sum(r.outcome == "unsure" for r in results),
        "refused": sum(r.outcome == "refused" for r in results),
        "wrong_leads": sum(r.wrong_lead for r in results),
        "wrong_lead_rate": _ratio(sum(r.wrong_lead for r in results), len(asserted)),
        "useful": _ratio(sum(r.useful for r in answerable), len(answerable)),
        "ooc_nothing_asserted": _ratio(sum(not r.asserted for r in ooc), len(ooc)),
        "latency_p50_ms": _percentile(lat, 50),
        "latency_p95_ms": _percentile(lat, 95),
    }


def _grouped(results: list[QuestionResult]) -> dict[str, Any]:
    cats = [c for c in CATEGORIES if any(r.category == c for r in results)]
    return {"overall": summarize(results),
            "by_category": {c: summarize([r for r in results if r.category == c]) for c in cats}}


def build_report(runs: dict[str, list[QuestionResult]], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON report: per answerer, metrics overall, per category, per split, and per question.

    The first answerer in ``runs`` is the primary one (thresholds apply to it).
    """
    answerers: dict[str, Any] = {}
    for name, results in runs.items():
        splits = list(dict.fromkeys(r.split for r in results))
        answerers[name] = {
            **_grouped(results),
            "by_split": {s: _grouped([r for r in results if r.split == s]) for s in splits},
            "questions": [r.to_dict() for r in results],
        }
    return {"meta": {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "commit": git_commit(), "k": K, **(meta or {})},
            "primary": next(iter(runs), None), "answerers": answerers}


def run_suite(pipelines: Mapping[str, EvalPipeline], questions: list[Question],
              progress: Callable[[str, int, int], None] | None = None,
              meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the questions through each named pipeline (one per answerer) and build the report."""
    runs: dict[str, list[QuestionResult]] = {}
    for name, pipe in pipelines.items():
        step: ProgressFn | None = None
        if progress is not None:
            def step(done: int, total: int, _name: str = name) -> None:
                progress(f"évaluation {_name}", done, total)
        runs[name] = run_questions(pipe, questions, name, step)
    return build_report(runs, meta)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# --- thresholds --------------------------------------------------------------------

# option name -> (metric, French label, True if the value must be at least the threshold)
THRESHOLDS = {
    "min_accuracy": ("accuracy", "exactitude des réponses", True),
    "min_hit5": ("hit@5", "hit@5", True),
    "min_abstention_recall": ("abstention_recall", "rappel des abstentions", True),
    "max_unsupported": ("unsupported_numbers", "nombres non étayés", False),
    "max_wrong_leads": ("wrong_lead_rate", "part de réponses affirmées fausses", False),
    "min_useful": ("useful", "part de réponses utiles", True),
}


def check_thresholds(overall: dict[str, Any], limits: dict[str, float | None]) -> list[str]:
    """French messages for each threshold the overall metrics fail (empty list = all met)."""
    failures = []
    for opt, limit in limits.items():
        if limit is None:
            continue
        metric, label, is_floor = THRESHOLDS[opt]
        value = overall.get(metric)
        flag = "--" + opt.replace("_", "-")
        if value is None:
            failures.append(f"{label} non mesurable sur ces questions ({flag} {limit:g})")
        elif (value < limit) if is_floor else (value > limit):
            failures.append(f"{label} = {_fmt(value)} {'<' if is_floor else '>'} {limit:g} ({flag})")
    return failures


# --- presentation ------------------------------------------------------------------

CATEGORY_LABELS = {"factual": "factuelles", "paraphrased": "paraphrasées",
                   "conflicting": "contextuelles", "out_of_corpus": "hors corpus",
                   "overall": "ensemble"}  # a split is labelled "split <name>"


def _label(key: str) -> str:
    return CATEGORY_LABELS.get(key, f"split {key}")

_COLUMNS = [("n", "n"), ("passed", "réussies"), ("hit@1", "hit@1"), ("hit@3", "hit@3"),
            ("hit@5", "hit@5"), ("mrr", "MRR"),
            ("accuracy", "exact."), ("citation_accuracy", "citat."),
            ("answers", "affirm."), ("wrong_lead_rate", "fausses"), ("unsure", "incert."),
            ("useful", "utiles"), ("ooc_nothing_asserted", "HC rien"),
            ("false_abstentions", "abst. à tort"), ("abstention_precision", "abst.P"),
            ("abstention_recall", "abst.R"),
            ("unsupported_numbers", "non étayés"), ("latency_p50_ms", "p50 ms"),
            ("latency_p95_ms", "p95 ms")]


def _fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "—"
    if key.startswith("latency"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _rows(block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rows = [(_label(c), m) for c, m in block["by_category"].items()]
    rows += [(_label(s), b["overall"]) for s, b in block.get("by_split", {}).items()]
    rows.append((_label("overall"), block["overall"]))
    return rows


def render_table(report: dict[str, Any]) -> str:
    """A plain-text table per answerer (rows: categories, splits, overall)."""
    out = []
    for name, block in report["answerers"].items():
        header = ["", *(label for _, label in _COLUMNS)]
        rows = [[label, *(_fmt(m.get(key), key) for key, _ in _COLUMNS)] for label, m in _rows(block)]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def line(cells: list[str], widths: list[int] = widths) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        o = block["overall"]
        out.append(f"Répondeur « {name} » — {o['passed']}/{o['n']} questions réussies")
        out.append(line(header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows)
        out.append("")
    return "\n".join(out)


_CHART_METRICS = [("hit@5", "hit@5", "#4c78a8"), ("accuracy", "exactitude", "#59a14f"),
                  ("citation_accuracy", "citations", "#f28e2b"),
                  ("abstention_recall", "abstention (rappel)", "#b07aa1")]


def _svg_chart(block: dict[str, Any]) -> str:
    """Grouped bars (0-1) of the main metrics per category, as inline SVG."""
    groups = [(_label(c), m) for c, m in block["by_category"].items()]
    groups.append((_label("overall"), block["overall"]))
    bar, gap, h, top, left = 18, 28, 160, 20, 36
    gw = bar * len(_CHART_METRICS) + gap
    width = left + gw * len(groups) + 10
    height = top + h + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="Métriques par catégorie">']
    for i in range(0, 11, 2):
        y = top + h - h * i / 10
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.0f}" y2="{y:.0f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.0f}" font-size="10" text-anchor="end">'
                     f'{i / 10:.1f}</text>')
    for g, (label, m) in enumerate(groups):
        x0 = left + g * gw + gap / 2
        for j, (key, name, color) in enumerate(_CHART_METRICS):
            v = m.get(key)
            if v is None:
                continue
            bh = h * v
            x = x0 + j * bar
            parts.append(f'<rect x="{x:.0f}" y="{top + h - bh:.0f}" width="{bar - 2}" height="{bh:.0f}" '
                         f'fill="{color}"><title>{html.escape(label)} — {name} : {v:.2f}</title></rect>'
                         f'<text x="{x + bar / 2 - 1:.0f}" y="{top + h - bh - 3:.0f}" font-size="8" '
                         f'text-anchor="middle">{v:.2f}</text>')
        parts.append(f'<text x="{x0 + bar * len(_CHART_METRICS) / 2:.0f}" y="{top + h + 16}" '
                     f'font-size="11" text-anchor="middle">{html.escape(label)}</text>')
    for j, (_, name, color) in enumerate(_CHART_METRICS):
        x = left + j * 130
        parts.append(f'<rect x="{x}" y="{top + h + 32}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{top + h + 41}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.status{background:#d4edda;color:#155724;font-weight:bold}
tr.fail td.status{background:#f8d7da;color:#721c24;font-weight:bold}
tr.fail{background:#fff6f6}
.ok{color:#155724}.ko{color:#a71d2a}
blockquote{margin:2px 0;padding-left:6px;border-left:3px solid #bbb;color:#444}
.small{font-size:11px;color:#666}
"""


def _cell(ok: bool | None) -> str:
    if ok is None:
        return '<td class="small">—</td>'
    return '<td class="ok">oui</td>' if ok else '<td class="ko">non</td>'


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no scripts, no external assets); all text escaped."""
    e = html.escape
    meta = report["meta"]
    out = ['<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
           "<title>Évaluation rag</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>Évaluation de l'assistant</h1>",
           f'<p class="small">Créé le {e(str(meta.get("created_at")))} — commit '
           f'{e(str(meta.get("commit") or "?"))} — questions : {e(str(meta.get("questions", "")))} — '
           f'corpus : {e(str(meta.get("corpus", "")))} — modèle : {e(str(meta.get("embedder", "")))}</p>']
    for name, block in report["answerers"].items():
        out.append(f"<h2>Répondeur « {e(name)} »</h2>")
        out.append("<table><tr><th></th>" + "".join(f"<th>{e(lbl)}</th>" for _, lbl in _COLUMNS) + "</tr>")
        for label, m in _rows(block):
            out.append(f"<tr><th>{e(label)}</th>" + "".join(
                f'<td class="num">{_fmt(m.get(k), k)}</td>' for k, _ in _COLUMNS) + "</tr>")
        out.append("</table>")
        out.append(_svg_chart(block))
        out.append("<h3>Questions</h3><table><tr><th>id</th><th>catégorie</th><th>question</th>"
                   "<th>attendu</th><th>réponse</th><th>citations</th><th>rang</th><th>réponse ok</th>"
                   "<th>citation ok</th><th>nombres non étayés</th><th>ms</th><th>résultat</th></tr>")
        for q in block["questions"]:
            cites = "".join(
                f'<blockquote>[{c["n"]}] {e(c["quote"])}<br><span class="small">{e(str(c["title"]))} — '
                f'{e(str(c["source"]))}{", p. " + str(c["page"]) if c["page"] else ""}</span></blockquote>'
                for c in q["citations"])
            answer = e(q["answer"])
            if q["reason"]:
                answer += f'<br><span class="small">{e(q["reason"])}</span>'
            if q["error"]:
                answer += f'<br><span class="ko">{e(q["error"])}</span>'
            answerable = q["category"] != "out_of_corpus"
            expected = " | ".join(q["expected"]) if answerable else "(abstention)"
            out.append(
                f'<tr class="{"pass" if q["passed"] else "fail"}"><td>{e(q["id"])}</td>'
                f'<td>{e(CATEGORY_LABELS.get(q["category"], q["category"]))}<br>'
                f'<span class="small">{e(q["split"])}</span></td><td>{e(q["question"])}</td>'
                f'<td>{e(expected)}</td><td>{answer}</td><td>{cites}</td>'
                f'<td class="num">{q["hit_rank"] or "—"}</td>'
                + (_cell(q["answer_ok"]) + _cell(q["citation_ok"]) if answerable else _cell(None) * 2)
                + f'<td>{e(", ".join(q["unsupported"]))}</td>'
                f'<td class="num">{q["latency_ms"]:.0f}</td>'
                f'<td class="status">{"réussi" if q["passed"] else "échec"}</td></tr>')
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


# The Markdown page's columns: a subset of the terminal table's metrics, same blocks and
# same formatting; wrong leads also show their count over the asserted answers.
_MD_COLUMNS = [("n", "n"), ("accuracy", "tête juste"), ("wrong_lead_rate", "affirmées fausses"),
               ("unsure", "incertaines"), ("useful", "utiles"),
               ("ooc_nothing_asserted", "hors corpus : rien affirmé"), ("hit@5", "hit@5"),
               ("latency_p95_ms", "p95 ms")]

# option of `rag eval` -> key of the report's meta it is recorded under
_META_OPTIONS = [("--questions", "questions"), ("--corpus", "corpus"), ("--index", "index"),
                 ("--category", "category"), ("--split", "split")]


def eval_command(meta: Mapping[str, Any], out_dir: Path | None = None) -> str:
    """The ``rag eval`` command line the report's meta records (global options such as
    ``--embedder`` are not in it: the page names the model instead).

    >>> eval_command({"questions": "q.jsonl", "corpus": "docs", "index": "eval/index",
    ...               "split": "dev", "answerers": ["extractive"], "thresholds": {"min_hit5": 0.9}})
    'rag eval --questions q.jsonl --corpus docs --split dev --min-hit5 0.9'
    """
    parts = ["rag", "eval"]
    for opt, key in _META_OPTIONS:
        value = meta.get(key)
        if value and not (key == "index" and Path(str(value)) == Path("eval/index")):
            parts += [opt, str(value)]
    answerers = list(meta.get("answerers") or [])
    if answerers and answerers != ["extractive"]:
        parts += ["--answerer", ",".join(answerers)]
    for name, limit in (meta.get("thresholds") or {}).items():
        parts += ["--" + name.replace("_", "-"), f"{limit:g}"]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    return " ".join(shlex.quote(p) for p in parts)


def _created(stamp: Any) -> str:
    """The report's UTC time stamp in French words.

    >>> _created("2026-12-03T10:05:09+00:00")
    '3 décembre 2026 à 10:05 (UTC)'
    """
    text = str(stamp or "")
    day = format_date(text)
    return f"{day} à {text[11:16]} (UTC)" if day != text and len(text) >= 16 else (day or "?")


def _md_cell(m: Mapping[str, Any], key: str) -> str:
    if key == "wrong_lead_rate" and m.get("answers"):
        return f"{m['wrong_leads']}/{m['answers']} ({_fmt(m[key], key)})"
    return _fmt(m.get(key), key)


def render_markdown(report: dict[str, Any], out_dir: Path | None = None) -> str:
    """A short French Markdown page: the command, the date, the corpus and questions
    files, and per answerer the table by category, by split and overall (the figures of
    ``render_table``, from the same blocks)."""
    meta = report["meta"]
    out = ["# Évaluation de l'assistant", "",
           f"- Commande : `{eval_command(meta, out_dir)}`",
           f"- Date : {_created(meta.get('created_at'))}",
           f"- Corpus : `{meta.get('corpus', '?')}`",
           f"- Questions : `{meta.get('questions', '?')}`",
           f"- Modèle d'embedding : `{meta.get('embedder', '?')}`", "",
           "*tête juste* : le chiffre, la date ou le nom donné en premier contient la réponse "
           "attendue ; *affirmées fausses* : réponses affirmées dont la tête est fausse (hors "
           "corpus compris), sur toutes les réponses affirmées ; *utiles* : tête juste, ou "
           "réponse incertaine dont l'un des 3 passages montrés contient la réponse ; "
           "*p95 ms* : temps de réponse par question (95e centile)."]
    for name, block in report["answerers"].items():
        o = block["overall"]
        out += ["", f"## Répondeur « {name} » — {o['passed']}/{o['n']} questions réussies", "",
                "| | " + " | ".join(label for _, label in _MD_COLUMNS) + " |",
                "|---|" + "---:|" * len(_MD_COLUMNS)]
        out += ["| " + " | ".join([label, *(_md_cell(m, key) for key, _ in _MD_COLUMNS)]) + " |"
                for label, m in _rows(block)]
    out += ["", "Détail par question : `report.html` et `report.json`, dans le même dossier.", ""]
    return "\n".join(out)


def write_reports(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json``, ``report.html`` and ``report.md`` into ``out_dir``; return
    the paths of the first two (``report.md`` sits beside them)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, page = out_dir / "report.json", out_dir / "report.html"
    js.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    page.write_text(render_html(report), encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(report, out_dir), encoding="utf-8")
    return js, page


__all__ = ["EvalError", "Question", "QuestionResult", "build_report", "check_thresholds",
           "eval_command", "load_questions", "render_html", "render_markdown", "render_table",
           "run_questions", "run_suite",
           "score_answer", "summarize", "unsupported_numbers", "write_reports"]


# --- the evaluation page -------------------------------------------------------------------

PAGE_MEASURES = [("n", "questions"), ("right", "en tête juste"), ("wrong_leads", "affirmées fausses"),
                 ("useful", "utiles"), ("ooc_nothing", "hors corpus : rien affirmé"),
                 ("unsure", "incertaines"), ("hit@5", "hit@5")]


def page_measures(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's measures from a report's per-question rows, through ``summarize`` (older
    reports, written before outcomes existed, count an abstention as refused and a right
    lead as useful)."""
    names = {f.name for f in fields(QuestionResult)}
    results = [QuestionResult(**{**{k: v for k, v in q.items() if k in names},
                                 "outcome": q.get("outcome") or ("refused" if q["abstained"] else "answer"),
                                 "useful": q.get("useful", q["answer_ok"])})
               for q in questions]
    m = summarize(results)
    right = sum(r.answer_ok for r in results if r.answerable)
    ooc_kept = sum(not r.asserted for r in results if not r.answerable)
    return {
        "n": m["n"],
        "right": f"{right}/{m['n_answerable']} ({_fmt(m['accuracy'])})",
        "wrong_leads": f"{m['wrong_leads']}/{m['answers']} ({_fmt(m['wrong_lead_rate'])})",
        "useful": _fmt(m["useful"]),
        "ooc_nothing": f"{ooc_kept}/{m['n_out_of_corpus']}",
        "unsure": str(m["unsure"]),
        "hit@5": _fmt(m["hit@5"]),
    }


def render_page_table(reports: Mapping[str, dict[str, Any]],
                      groups: list[tuple[str, str, str]] | list[tuple[str, str, str, str]]) -> str:
    """A Markdown table: one row per (report label, question group); ``groups`` are
    (report key, split or "" for all, row label) with, optionally, the first letters of
    the question ids kept ("abcd": the questions of documents a…, b…, c…, d…)."""
    head = "| answerer | questions | " + " | ".join(label for _, label in PAGE_MEASURES[1:]) + " |"
    rows = [head, "|" + "---|" * (len(PAGE_MEASURES) + 1)]
    for key, split, label, *prefixes in groups:
        for name, report in reports.items():
            rep = report.get(key)
            if rep is None:
                continue
            qs = rep["answerers"][rep["primary"]]["questions"]
            qs = [q for q in qs if (not split or q["split"] in split.split(","))
                  and (not prefixes or q["id"][:1] in prefixes[0])]
            if not qs:
                continue
            m = page_measures(qs)
            rows.append(f"| {name} | {label} ({m['n']}) | "
                        + " | ".join(str(m[k]) for k, _ in PAGE_MEASURES[1:]) + " |")
    return "\n".join(rows)
