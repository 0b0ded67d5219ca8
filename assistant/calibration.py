"""`policy-qa calibrate`: fit the ranker and the coverage gate on calibration questions,
never on test ones.

For every question of the given sets (in practice the calibration half of eval/cadre.jsonl
and the colloquial set shipped beside the project) the pipeline runs retrieval and records
each candidate clause's features and whether it holds the evidence. Then:

- a logistic regression (L2, Newton's method) learns P(a candidate answers the question)
  — the ranker (data/ranker.json);
- gate features are computed with rankers fitted on the other folds (5-fold), and a second
  logistic regression learns P(the corpus answers the question);
- `decline_below` minimises, on 5-fold cross-validated probabilities (not on the ones the
  model was fitted to), WRONG_REFUSAL_COST × answerable questions declined + out-of-scope
  questions answered — a wrong refusal is the worst failure a cadre can meet — and sits
  midway between the two neighbouring probabilities, not on the edge of the data;
- `answer_at` is the lowest probability from which at least ANSWER_PRECISION of the
  questions answered are ones the corpus covers; below it (and above `decline_below`)
  answers are tentative.

Both models, with where they came from, are written to assistant/data/.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .evaluation import Item
from .gate import FEATURES, MODEL_FILE as GATE_FILE, GateModel, check_request, features, load_model
from .ranking import FEATURES as RANK_FEATURES, MODEL_FILE as RANKER_FILE, Candidate, RankerModel, candidates, load_ranker
from .retrieval import Retrieval, Snapshot

WRONG_REFUSAL_COST = 4.0
ANSWER_PRECISION = 0.95
L2 = 1.0
FOLDS = 5


@dataclass(frozen=True)
class Observation:
    item: Item
    candidates: list[Candidate]  # in fused order, features only
    labels: list[bool]  # whether each candidate holds the evidence
    retrieval: Retrieval
    snapshot: Snapshot


def observe(assistant, items: list[Item]) -> list[Observation]:
    """What retrieval finds for every question that reaches the gate (requests that are not
    policy questions are declined before it and are left out)."""
    out = []
    for item in items:
        if check_request(item.question):
            continue
        _, snapshot, retrieval = assistant.retrieve(item.question, item.history)
        found = candidates(retrieval, snapshot)
        labels = [item.answerable and item.found_in(c.hit.clause.text) for c in found]
        out.append(Observation(item, found, labels, retrieval, snapshot))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and intercept of an L2-regularised logistic regression on standardised x."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.diag([l2] * d + [0.0])  # the intercept is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -40, 40)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def _probabilities(x: np.ndarray, mean, scale, coef, intercept) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(((x - mean) / scale) @ coef + intercept, -40, 40)))


def cross_validated(x: np.ndarray, y: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    """Each question's probability from a model fitted without it (folds dealt in order)."""
    out = np.zeros(len(y))
    fold_of = np.arange(len(y)) % folds
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        mean, scale = _standardise(x[train])
        coef, intercept = fit_logistic((x[train] - mean) / scale, y[train])
        out[test] = _probabilities(x[test], mean, scale, coef, intercept)
    return out


def decline_threshold(p: np.ndarray, answerable: np.ndarray) -> float:
    """Midway between the two probabilities around the cheapest cut."""
    cuts = np.unique(np.concatenate([[0.0], p, [1.0]]))
    best, best_cost = 0.0, float("inf")
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        t = (lo + hi) / 2
        declined = p < t
        cost = WRONG_REFUSAL_COST * np.sum(declined & answerable) + np.sum(~declined & ~answerable)
        if cost < best_cost:
            best, best_cost = t, cost
    return float(best)


def answer_threshold(p: np.ndarray, answerable: np.ndarray, floor: float) -> float:
    """The lowest probability from which at most 1 - ANSWER_PRECISION of the questions
    answered without reservation are ones the corpus does not cover."""
    for t in sorted(set(p[p >= floor].tolist())):
        kept = p >= t
        if kept.any() and answerable[kept].mean() >= ANSWER_PRECISION:
            return float(t)
    return 1.0


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mean, scale = _standardise(x)
    coef, intercept = fit_logistic((x - mean) / scale, y)
    return mean, scale, coef, intercept


def _ranker_data(observations: list[Observation]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate features, labels, and the question each belongs to — answerable questions
    whose evidence retrieval found (the others say nothing about ranking)."""
    rows, labels, owner = [], [], []
    for q, o in enumerate(observations):
        if any(o.labels):
            rows += [c.features for c in o.candidates]
            labels += o.labels
            owner += [q] * len(o.candidates)
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=float), np.asarray(owner)


def _ranked_with(observation: Observation, params) -> list[Candidate]:
    model = RankerModel(*[tuple(map(float, p)) for p in params[:3]], float(params[3]), {})
    return sorted((replace(c, relevance=model.relevance(c.features)) for c in observation.candidates),
                  key=lambda c: (-c.relevance, c.hit.clause.id))


def calibrate(observations: list[Observation], sources: list[str], model_id: str) -> tuple[RankerModel, GateModel, dict]:
    """The ranker, then the gate on features computed with rankers that never saw the
    question (cross-validation), so the gate learns how the ranker does on new questions."""
    fold_of = np.arange(len(observations)) % FOLDS
    x_rank, y_rank, owner = _ranker_data(observations)
    gate_rows, right = [], []
    for f in range(FOLDS):
        params = _fit(x_rank[fold_of[owner] != f], y_rank[fold_of[owner] != f])
        for q in np.flatnonzero(fold_of == f):
            o = observations[q]
            ranked = _ranked_with(o, params)
            gate_rows.append((q, features(o.retrieval, o.snapshot, ranked)))
            right.append((q, bool(ranked) and o.item.found_in(ranked[0].hit.clause.text) and o.item.answerable))
    gate_rows.sort(key=lambda r: r[0])
    right = np.asarray([r for _, r in sorted(right)], dtype=bool)
    x = np.asarray([g.vector() for _, g in gate_rows], dtype=float)
    y = np.asarray([o.item.answerable for o in observations], dtype=float)
    answerable = y.astype(bool)
    cv = cross_validated(x, y)
    below = decline_threshold(cv, answerable)
    at = max(answer_threshold(cv, answerable, below), below)
    mean, scale, coef, intercept = _fit(x, y)
    r_mean, r_scale, r_coef, r_intercept = _fit(x_rank, y_rank)
    report = {
        "questions": len(observations),
        "answerable": int(answerable.sum()),
        "cross_validated": {
            "first_candidate_right": round(float(right[answerable].mean()), 4),
            "answerable_declined": int(np.sum((cv < below) & answerable)),
            "out_of_scope_declined": int(np.sum((cv < below) & ~answerable)),
            "out_of_scope": int(np.sum(~answerable)),
            "tentative": int(np.sum((cv >= below) & (cv < at))),
        },
    }
    provenance = {"fitted_on": sources, "questions": len(observations), "embedding_model": model_id,
                  "date": datetime.date.today().isoformat(), "command": "policy-qa calibrate " + " ".join(sources),
                  "cross_validated": report["cross_validated"]}
    ranker = RankerModel(_rounded(r_mean), _rounded(r_scale), _rounded(r_coef), round(r_intercept, 6), provenance)
    gate = GateModel(_rounded(mean), _rounded(scale), _rounded(coef), round(intercept, 6),
                     answer_at=round(at, 6), decline_below=round(below, 6), provenance=provenance)
    return ranker, gate, report


def _rounded(values) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in values)


def describe(ranker: RankerModel, model: GateModel) -> str:
    lines = ["ranker feature     weight (per standard deviation)"]
    lines += [f"{name:18s} {coef:+.3f}" for name, coef in zip(RANK_FEATURES, ranker.coef)]
    lines += ["gate feature       weight (per standard deviation)"]
    lines += [f"{name:18s} {coef:+.3f}" for name, coef in zip(FEATURES, model.coef)]
    lines.append(f"decline below p = {model.decline_below:.3f}; answer without reservation from p = {model.answer_at:.3f}")
    return "\n".join(lines)


def write(model: GateModel | RankerModel, path: Path) -> None:
    path.write_text(model.to_json() + "\n", encoding="utf-8")


def load_sets(specs: list[str]) -> tuple[list[Item], list[str]]:
    """FILE or FILE:SPLIT (e.g. eval/cadre.jsonl:calibration)."""
    from .evaluation import load_items

    items = []
    for spec in specs:
        path, _, split = spec.partition(":")
        items.extend(load_items(Path(path), split))
    return items, specs


def main(assistant, specs: list[str], folder: Path) -> str:
    items, sources = load_sets(specs)
    observations = observe(assistant, items)
    ranker, gate, report = calibrate(observations, sources, assistant.embeddings.model_id)
    folder.mkdir(parents=True, exist_ok=True)
    write(ranker, folder / RANKER_FILE.name)
    write(gate, folder / GATE_FILE.name)
    load_ranker.cache_clear()
    load_model.cache_clear()
    return describe(ranker, gate) + "\n" + json.dumps(report, ensure_ascii=False)
