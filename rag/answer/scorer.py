"""A fitted model: which candidate answers, how likely it is right, and the threshold.

Two models, fitted by ``rag train-answerer`` (at development time) and stored in
``rag/data/answer_model.json``:

- the **choice model** (all of ``rag.answer.features.FEATURES``): a conditional logit
  over all the candidates of a question plus one more option, *none of them*. A
  candidate's probability is its share of a softmax over the question's candidates and
  that option, so it is relative to its rivals: a figure alone in the passage that
  answers is likely; two figures that fit equally well share the mass, and a question
  whose passages hold nothing that fits leaves it to *none*. Candidates asserting the
  same lead (the same figure read in two passages) add up (rag.answer.respond);
- the **sentence model** (``UNIT_FEATURES``): a logistic regression, is this sentence
  the one that answers? It orders the passages shown when no answer is sure.

The threshold on the best lead's probability was chosen on the out-of-fold answers of
the development questions (folds by document) so that the answers asserted are rarely
wrong. Answering needs only numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.features import FEATURES, UNIT_FEATURES

MODEL_FILE = "answer_model.json"
SIMILARITY_FEATURES = frozenset({"sim", "sim_gap", "sim_rank", "dense"})


@dataclass(frozen=True)
class Linear:
    """Standardised linear scores over named columns of the feature matrix."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, rows: np.ndarray) -> np.ndarray:
        cols = [FEATURES.index(f) for f in self.features]
        return ((rows[:, cols] - self.mean) / self.scale) @ self.coef

    def proba(self, rows: np.ndarray) -> np.ndarray:
        """Logistic: each row on its own."""
        if rows.size == 0:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-(self.logits(rows) + self.intercept)))

    def choice(self, rows: np.ndarray) -> np.ndarray:
        """Conditional logit: each row's share against the others and *none*, whose logit
        is the intercept (the rows' probabilities sum to less than 1)."""
        if rows.size == 0:
            return np.zeros(0)
        z = np.append(self.logits(rows), self.intercept)
        e = np.exp(z - z.max())
        return (e / e.sum())[:-1]

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linear:
        return cls(tuple(d["features"]), np.asarray(d["mean"], dtype=float),
                   np.asarray(d["scale"], dtype=float), np.asarray(d["coef"], dtype=float),
                   float(d["intercept"]))

    @classmethod
    def of(cls, weights: dict[str, float], names: tuple[str, ...], intercept: float) -> Linear:
        n = len(names)
        return cls(names, np.zeros(n), np.ones(n), np.array([weights.get(f, 0.0) for f in names]),
                   intercept)


@dataclass(frozen=True)
class Scorer:
    unit: Linear  # the sentence model (logistic)
    choice: Linear  # the choice model (conditional logit)
    answer: float  # threshold on the best lead's probability to assert it
    meta: dict[str, Any]
    lexical: Scorer | None = None  # fitted without vector features, for other embedders

    def for_embedder(self, embedder_id: str | None) -> Scorer:
        """This model, or its twin fitted without the vector features when the index's
        embedder is not the one the model was fitted with (vector scores differ in scale
        from one model to another)."""
        fitted = self.meta.get("embedder")
        if fitted and embedder_id != fitted and self.lexical is not None:
            return self.lexical
        return self

    def proba(self, rows: np.ndarray) -> np.ndarray:
        """Each candidate's probability of being the answer (rows: one question's candidates)."""
        return self.choice.choice(rows)

    def to_json(self) -> dict[str, Any]:
        out = {"unit": self.unit.to_json(), "choice": self.choice.to_json(),
               "thresholds": {"answer": self.answer}, "meta": self.meta}
        if self.lexical is not None:
            out["lexical"] = self.lexical.to_json()
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scorer:
        return cls(Linear.from_json(d["unit"]), Linear.from_json(d["choice"]),
                   float(d["thresholds"]["answer"]), dict(d.get("meta", {})),
                   cls.from_json(d["lexical"]) if "lexical" in d else None)


def prior() -> Scorer:
    """Hand-set weights, used only where no model was fitted (a fresh checkout before
    ``rag train-answerer``, and tests that pin the decision rule itself)."""
    unit = Linear.of({"sim_gap": 20.0, "lex": 3.0, "lex_gap": 3.0, "ctx": 1.0, "has_kind": 1.0,
                      "year_clash": -2.0, "name_absent": -2.0, "union_clash": -1.0}, UNIT_FEATURES, 0.0)
    choice = Linear.of({"sim_gap": 20.0, "lex_gap": 6.0, "kind_exact": 3.0, "head_focus": 1.0,
                        "near": 2.0, "restates": -4.0, "alone": 1.0, "aside": -1.0,
                        "year_clash": -2.0, "name_absent": -2.0}, FEATURES, 1.0)
    return Scorer(unit, choice, 0.5, {"fitted": False})


def lead_totals(keys: list[str], p: np.ndarray) -> np.ndarray:
    """Per candidate, the probability of what it asserts: the sum of ``p`` over the
    candidates with the same key (one figure read in two passages adds up).

    >>> lead_totals(["45 postes", "12 agences", "45 postes"], np.array([0.3, 0.4, 0.2])).round(2)
    array([0.5, 0.4, 0.5])
    """
    total: dict[str, float] = {}
    for k, pi in zip(keys, p, strict=True):
        total[k] = total.get(k, 0.0) + float(pi)
    return np.array([total[k] for k in keys])


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Scorer:
    """The fitted model (``path`` or the bundled file); the prior when none was fitted."""
    if path:
        return Scorer.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    res = resources.files("rag.data").joinpath(MODEL_FILE)
    if not res.is_file():
        return prior()
    return Scorer.from_json(json.loads(res.read_text(encoding="utf-8")))


__all__ = ["MODEL_FILE", "Linear", "Scorer", "lead_totals", "load", "prior"]
