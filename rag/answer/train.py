"""Fit the answer model on eval questions (development time; needs scikit-learn).

For each question the pipeline retrieves its passages and the answerer lists and
describes its candidates exactly as when answering. A candidate is labelled right when
what it would assert holds an expected string (its lead, or for a sentence answer the
sentence). A logistic regression over the standardised features is fitted on all
candidates; its confidence threshold is chosen on out-of-fold probabilities (folds by
question): the lowest threshold at which the asserted answers of held-out questions
are wrong at most ``max_wrong`` of the time.

``rag train-answerer --data CORPUS:QUESTIONS[:split,split]`` runs it and writes
``rag/data/answer_model.json``; never give it a sealed split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.answer.features import CAND_FEATURES, FEATURES, UNIT_FEATURES
from rag.answer.scorer import Linear, Scorer, prior
from rag.text import contains_normalized


@dataclass
class Sample:
    qid: str
    split: str
    answerable: bool
    refused: bool  # refused before any candidate is weighed (absent name, weak evidence)
    rows: np.ndarray
    labels: np.ndarray  # per candidate: it holds an expected answer
    units: np.ndarray  # per candidate: index of its sentence in the question's list
    unit_labels: np.ndarray  # per candidate: its sentence holds an expected answer
    kinds: list[str] = field(default_factory=list)


def label(cand: Any, expected: tuple[str, ...]) -> bool:
    text = cand.lead if cand.lead else cand.unit.reading
    return any(contains_normalized(text, e) for e in expected)


def collect(pipeline: Any, questions: list[Any], progress: Callable[[int, int], None] | None = None
            ) -> list[Sample]:
    """Candidates and labels of ``questions`` (rag.evaluate.Question) on ``pipeline``'s index."""
    ans = pipeline._extractive(pipeline.index)
    ans.scorer = prior()  # the features do not depend on the model; the shipped one may be stale
    ans._last = None
    out = []
    for i, q in enumerate(questions):
        hits = pipeline.candidates(q.question)
        s = ans.score(q.question, hits)
        refused = bool(ans.refusal(s.frame, s))
        rows = (np.array([[c.features[f] for f in FEATURES] for c in s.cands]) if s.cands
                else np.zeros((0, len(FEATURES))))
        labels = np.array([label(c, q.expected) if q.answerable else False for c in s.cands], dtype=bool)
        where = {id(u): k for k, u in enumerate(s.units)}
        units = np.array([where[id(c.unit)] for c in s.cands], dtype=int)
        unit_labels = np.array([q.answerable and any(contains_normalized(c.unit.reading, e)
                                                     for e in q.expected) for c in s.cands], dtype=bool)
        out.append(Sample(q.id, q.split, q.answerable, refused, rows, labels, units, unit_labels,
                          [c.kind for c in s.cands]))
        if progress:
            progress(i + 1, len(questions))
    return out


def _decisions(samples: list[Sample], probs: list[np.ndarray], t: float) -> dict[str, int]:
    right = wrong = asserted = 0
    for s, p in zip(samples, probs, strict=True):
        if s.refused or p.size == 0:
            continue
        b = int(np.argmax(p))
        if p[b] >= t:
            asserted += 1
            if s.labels[b]:
                right += 1
            else:
                wrong += 1
    return {"right": right, "wrong": wrong, "asserted": asserted}


def train(part: list[Sample], c: float = 1.0, drop: frozenset[str] = frozenset()) -> Scorer:
    """Both models fitted on ``part`` without the ``drop`` features (threshold left at 0.5)."""
    part = [s for s in part if s.rows.size]
    # the sentence model: one row per sentence that offers candidates
    ux, uy = [], []
    for s in part:
        _, first = np.unique(s.units, return_index=True)
        ux.append(s.rows[first])
        uy.append(s.unit_labels[first])
    unit = _logistic(np.vstack(ux), np.concatenate(uy),
                     tuple(f for f in UNIT_FEATURES if f not in drop), c)
    # the candidate model: candidates of the sentences that answer
    cx = np.vstack([s.rows[s.unit_labels] for s in part])
    cy = np.concatenate([s.labels[s.unit_labels] for s in part])
    cand = _logistic(cx, cy, tuple(f for f in CAND_FEATURES if f not in drop), c)
    return Scorer(unit, cand, 0.5, {})


def out_of_fold(samples: list[Sample], folds: int = 5, c: float = 1.0, seed: int = 0,
                drop: frozenset[str] = frozenset()) -> list[np.ndarray]:
    """Each question's candidate probabilities from a model fitted without its fold."""
    order = np.random.default_rng(seed).permutation(len(samples))
    fold_of = {int(i): k % folds for k, i in enumerate(order)}
    oof: list[np.ndarray] = [np.zeros(0)] * len(samples)
    for k in range(folds):
        model = train([s for i, s in enumerate(samples) if fold_of[i] != k], c, drop)
        for i, s in enumerate(samples):
            if fold_of[i] == k and s.rows.size:
                oof[i] = model.proba(s.rows)
    return oof


def fit(samples: list[Sample], max_wrong: float = 0.05, folds: int = 5, c: float = 1.0,
        seed: int = 0, threshold_split: str | None = "dev",
        drop: frozenset[str] = frozenset()) -> tuple[Scorer, dict[str, Any]]:
    """The fitted scorer and a report of its out-of-fold figures.

    The threshold is chosen on the out-of-fold answers of the ``threshold_split``
    questions (the new-document development set), all questions when None or absent."""
    oof = out_of_fold(samples, folds, c, seed, drop)
    grid = [round(t, 3) for t in np.arange(0.02, 0.96, 0.01)]
    chosen_idx = [i for i, s in enumerate(samples) if s.split == threshold_split] or range(len(samples))
    on = [samples[i] for i in chosen_idx]
    on_p = [oof[i] for i in chosen_idx]
    table = {t: _decisions(on, on_p, t) for t in grid}
    ok = [t for t in grid if table[t]["wrong"] <= max_wrong * max(1, table[t]["asserted"])]
    threshold = min(ok) if ok else grid[-1]
    model = train(samples, c, drop)
    n_answerable = sum(s.answerable for s in on)
    chosen = table[threshold]
    overall = _decisions(samples, oof, threshold)
    report = {"questions": len(samples), "answerable": sum(s.answerable for s in samples),
              "threshold_on": threshold_split if len(on) < len(samples) else "all",
              "threshold_questions": len(on), "out_of_fold_all": overall,
              "candidates": int(sum(s.rows.shape[0] for s in samples)),
              "positives": int(sum(s.labels.sum() for s in samples)),
              "reachable": int(sum(bool(s.labels.any()) for s in samples)),
              "threshold": threshold, "out_of_fold": chosen,
              "out_of_fold_right_rate": chosen["right"] / max(1, n_answerable),
              "out_of_fold_wrong_share": chosen["wrong"] / max(1, chosen["asserted"])}
    scorer = Scorer(model.unit, model.cand, threshold,
                    {"fitted": True, "max_wrong": max_wrong, "C": c, **report})
    return scorer, report


def _logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float) -> Linear:
    from sklearn.linear_model import LogisticRegression

    cols = [FEATURES.index(f) for f in names]
    x = x[:, cols]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, y)
    return Linear(names, mean, scale, model.coef_[0].astype(float), float(model.intercept_[0]))


__all__ = ["Sample", "collect", "fit", "label"]
