"""Fit the answer model on eval questions (development time; needs scikit-learn).

For each question the pipeline retrieves its passages and the answerer lists and
describes its candidates exactly as when answering. A candidate is labelled right when
what it would assert holds an expected string (its lead, or for a sentence answer the
sentence). Two models are fitted (rag.answer.scorer): the choice model, a conditional
logit over each question's candidates and a *none* option (the target of questions
whose candidates hold no right one, out-of-corpus questions among them), by L-BFGS on
the L2-penalised log-likelihood; and the sentence model, a logistic regression. The
confidence threshold is chosen on out-of-fold probabilities, folds by document (a
question and every other question on its document are held out together, as new
documents are): the lowest threshold at which the asserted answers of held-out
development questions are wrong at most ``max_wrong`` of the time.

``rag train-answerer --data CORPUS:QUESTIONS[:split,split]`` runs it and writes
``rag/data/answer_model.json``; never give it a sealed split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answer.features import FEATURES, UNIT_FEATURES
from rag.answer.scorer import Linear, Scorer, lead_totals, prior
from rag.text import contains_normalized


@dataclass
class Sample:
    qid: str
    split: str
    answerable: bool
    refused: bool  # never asserted, whatever the model says (absent name, weak evidence)
    rows: np.ndarray
    labels: np.ndarray  # per candidate: it holds an expected answer
    units: np.ndarray  # per candidate: index of its sentence in the question's list
    unit_labels: np.ndarray  # per candidate: its sentence holds an expected answer
    kinds: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # per candidate: what it asserts (lead_key)
    group: str = ""  # the document the question is about (its id when out of corpus)


def label(cand: Any, expected: tuple[str, ...]) -> bool:
    text = cand.lead if cand.lead else cand.unit.reading
    return any(contains_normalized(text, e) for e in expected)


def collect(pipeline: Any, questions: list[Any], progress: Callable[[int, int], None] | None = None,
            corpus: str = "") -> list[Sample]:
    """Candidates and labels of ``questions`` (rag.evaluate.Question) on ``pipeline``'s index."""
    from rag.answer.respond import lead_key

    ans = pipeline._extractive(pipeline.index)
    ans.scorer = prior()  # the features do not depend on the model; the shipped one may be stale
    ans._last = None
    out = []
    for i, q in enumerate(questions):
        hits = pipeline.candidates(q.question)
        s = ans.score(q.question, hits)
        refused = bool(ans.refusal(s.frame, s) or ans.weak(s))  # never asserted
        rows = (np.array([[c.features[f] for f in FEATURES] for c in s.cands]) if s.cands
                else np.zeros((0, len(FEATURES))))
        labels = np.array([label(c, q.expected) if q.answerable else False for c in s.cands], dtype=bool)
        where = {id(u): k for k, u in enumerate(s.units)}
        units = np.array([where[id(c.unit)] for c in s.cands], dtype=int)
        unit_labels = np.array([q.answerable and any(contains_normalized(c.unit.reading, e)
                                                     for e in q.expected) for c in s.cands], dtype=bool)
        group = f"{corpus}:{q.source}" if q.answerable and q.source else f"{corpus}:{q.id}"
        out.append(Sample(q.id, q.split, q.answerable, refused, rows, labels, units, unit_labels,
                          [c.kind for c in s.cands], [lead_key(c) for c in s.cands], group))
        if progress:
            progress(i + 1, len(questions))
    return out


def best_lead(keys: list[str], p: np.ndarray) -> tuple[int, float]:
    """The candidate leading the most likely lead, and that lead's probability (the sum
    over the candidates asserting it)."""
    totals = lead_totals(keys, p)
    key = keys[int(np.argmax(totals))]
    i = max((j for j, k in enumerate(keys) if k == key), key=lambda j: p[j])
    return i, float(totals[i])


def _decisions(samples: list[Sample], probs: list[np.ndarray], t: float) -> dict[str, int]:
    right = wrong = asserted = 0
    for s, p in zip(samples, probs, strict=True):
        if s.refused or p.size == 0:
            continue
        b, conf = best_lead(s.keys, p)
        if conf >= t:
            asserted += 1
            if s.labels[b]:
                right += 1
            else:
                wrong += 1
    return {"right": right, "wrong": wrong, "asserted": asserted}


def train(part: list[Sample], c: float = 1.0, drop: frozenset[str] = frozenset()) -> Scorer:
    """Both models fitted on ``part`` without the ``drop`` features (threshold left at 0.5)."""
    part = [s for s in part if s.rows.size and not s.refused]
    ux, uy = [], []
    for s in part:  # the sentence model: one row per sentence that offers candidates
        _, first = np.unique(s.units, return_index=True)
        ux.append(s.rows[first])
        uy.append(s.unit_labels[first])
    unit = _logistic(np.vstack(ux), np.concatenate(uy),
                     tuple(f for f in UNIT_FEATURES if f not in drop), c)
    choice = _conditional_logit(part, tuple(f for f in FEATURES if f not in drop), c)
    return Scorer(unit, choice, 0.5, {})


def folds_by_group(samples: list[Sample], folds: int, seed: int) -> list[int]:
    groups = sorted({s.group or s.qid for s in samples})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[int(i)]: k % folds for k, i in enumerate(order)}
    return [fold_of[s.group or s.qid] for s in samples]


def out_of_fold(samples: list[Sample], folds: int = 5, c: float = 1.0, seed: int = 0,
                drop: frozenset[str] = frozenset()) -> list[np.ndarray]:
    """Each question's candidate probabilities from a model fitted without its fold."""
    fold = folds_by_group(samples, folds, seed)
    oof: list[np.ndarray] = [np.zeros(0)] * len(samples)
    for k in range(folds):
        model = train([s for s, f in zip(samples, fold, strict=True) if f != k], c, drop)
        for i, s in enumerate(samples):
            if fold[i] == k and s.rows.size:
                oof[i] = model.proba(s.rows)
    return oof


def fit(samples: list[Sample], max_wrong: float = 0.05, folds: int = 5, c: float = 1.0,
        seed: int = 0, threshold_split: str | None = "dev",
        drop: frozenset[str] = frozenset(), repeats: int = 5) -> tuple[Scorer, dict[str, Any]]:
    """The fitted scorer and a report of its out-of-fold figures.

    The threshold is chosen on the out-of-fold answers of the ``threshold_split``
    questions (the new-document development set), all questions when None or absent."""
    grid = [round(t, 3) for t in np.arange(0.02, 0.99, 0.01)]
    chosen_idx = [i for i, s in enumerate(samples) if s.split == threshold_split] or range(len(samples))
    on = [samples[i] for i in chosen_idx]
    # a handful of wrong answers decide the threshold: their counts are summed over
    # several fold draws, so that one question more or less does not move it far
    table: dict[float, dict[str, float]] = {t: {"right": 0, "wrong": 0, "asserted": 0} for t in grid}
    draws = [out_of_fold(samples, folds, c, seed + r, drop) for r in range(repeats)]
    for draw in draws:
        on_p = [draw[i] for i in chosen_idx]
        for t in grid:
            for k, v in _decisions(on, on_p, t).items():
                table[t][k] += v
    ok = [t for t in grid if table[t]["wrong"] <= max_wrong * max(1, table[t]["asserted"])]
    table = {t: {k: round(v / repeats, 1) for k, v in d.items()} for t, d in table.items()}
    threshold = min(ok) if ok else grid[-1]
    model = train(samples, c, drop)
    n_answerable = sum(s.answerable for s in on)
    chosen = table[threshold]
    overall = _decisions(samples, draws[0], threshold)
    report = {"questions": len(samples), "answerable": sum(s.answerable for s in samples),
              "threshold_on": threshold_split if len(on) < len(samples) else "all",
              "threshold_questions": len(on), "out_of_fold_all": overall,
              "candidates": int(sum(s.rows.shape[0] for s in samples)),
              "positives": int(sum(s.labels.sum() for s in samples)),
              "reachable": int(sum(bool(s.labels.any()) for s in samples)),
              "threshold": threshold, "out_of_fold": chosen,
              "out_of_fold_right_rate": chosen["right"] / max(1, n_answerable),
              "out_of_fold_wrong_share": chosen["wrong"] / max(1, chosen["asserted"])}
    scorer = Scorer(model.unit, model.choice, threshold,
                    {"fitted": True, "max_wrong": max_wrong, "C": c, **report})
    return scorer, report


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def _logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float) -> Linear:
    from sklearn.linear_model import LogisticRegression

    cols = [FEATURES.index(f) for f in names]
    x = x[:, cols]
    mean, scale = _standardise(x)
    model = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, y)
    return Linear(names, mean, scale, model.coef_[0].astype(float), float(model.intercept_[0]))


def _conditional_logit(part: list[Sample], names: tuple[str, ...], c: float) -> Linear:
    """Weights maximising, over questions, the log of the softmax mass on the right
    candidates (on *none* when no candidate is right), with an L2 penalty 1/(2c)."""
    from scipy.optimize import minimize

    cols = [FEATURES.index(f) for f in names]
    mean, scale = _standardise(np.vstack([s.rows[:, cols] for s in part]))
    data = []
    for s in part:
        target = np.append(s.labels, not s.labels.any()).astype(float)
        data.append(((s.rows[:, cols] - mean) / scale, target))
    d = len(cols)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, none = theta[:d], theta[d]
        total = 0.5 / c * float(w @ w)
        grad = np.zeros(d + 1)
        grad[:d] = w / c
        for x, target in data:
            z = np.append(x @ w, none)
            e = np.exp(z - z.max())
            p = e / e.sum()
            mass = float(p @ target)
            total -= np.log(mass + 1e-12)
            diff = p - p * target / (mass + 1e-12)
            grad[:d] += diff[:-1] @ x
            grad[d] += diff[-1]
        return total, grad

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-7})
    return Linear(names, mean, scale, res.x[:d].astype(float), float(res.x[d]))


__all__ = ["Sample", "best_lead", "collect", "fit", "label"]
