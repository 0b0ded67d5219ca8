"""`policy-qa calibrate`: fit the ranker and the coverage gate on calibration questions,
never on test ones.

For every question of the given sets (in practice the calibration halves of eval/cadre.jsonl
and eval/fresh*.jsonl, eval/calibration-extra.jsonl and the colloquial set shipped beside the
project) the pipeline
runs retrieval twice — with the associated questions, and without them, as an uploaded
document has none — and records each candidate clause's features and whether it holds the
evidence. Then, for each of the two regimes:

- the ranker: a logistic regression of "this candidate answers the question" (data/ranker.json);
- the gate: features computed with rankers fitted on the other folds (5-fold, by question), and
  a logistic regression of "the corpus answers the question" (data/gate.json);
- `decline_below` minimises, on cross-validated probabilities (not on the ones the model was
  fitted to), WRONG_REFUSAL_COST × answerable questions declined + out-of-scope questions
  answered — a wrong refusal is the worst failure a cadre can meet. The cost is summed over
  CV_REPEATS cross-validations, each dealing the questions to other folds, and the cut is
  the middle of the cheapest stretch: on one draw of folds the cheapest cut jumps with a
  single question (0.18 to 0.31 between refits on nearly the same questions);
- `answer_at` is the lowest probability from which at least ANSWER_PRECISION of the questions
  answered are ones the corpus covers, and never under ANSWER_AT_LEAST: a question the gate
  finds less likely than not to be covered is not answered without reservation, however
  well the questions above it do. Below it (and above `decline_below`) answers are tentative.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import logistic
from .evaluation import Item, load_items
from .gate import FEATURES as GATE_FEATURES, MODEL_FILE as GATE_FILE, check_request, features, load_gate
from .library import AbsentDocument
from .logistic import REGIMES, LogisticModel
from .ranking import FEATURES as RANK_FEATURES, MODEL_FILE as RANKER_FILE, Candidate, candidates, load_ranker
from .retrieval import Retrieval, Snapshot

WRONG_REFUSAL_COST = 4.0
ANSWER_PRECISION = 0.95
ANSWER_AT_LEAST = 0.5
FOLDS = 5
CV_REPEATS = 10


@dataclass(frozen=True)
class Observation:
    item: Item
    group: int  # the question's number: a question falls in the same fold in both regimes
    candidates: list[Candidate]  # in fused order, features only
    labels: list[bool]  # whether each candidate holds the evidence
    retrieval: Retrieval
    snapshot: Snapshot
    absent: list[AbsentDocument]  # the documents the question names that the corpus lacks


def observe(assistant, items: list[Item]) -> dict[str, list[Observation]]:
    """What retrieval finds for every question that reaches the gate (requests that are not
    policy questions are declined before it and are left out), in each regime."""
    full = assistant.index.snapshot()
    out = {}
    for name, snapshot in zip(REGIMES, (full, full.without_questions())):
        out[name] = []
        for group, item in enumerate(items):
            if check_request(item.question):
                continue
            _, _, retrieval = assistant.retrieve(item.question, item.history, snapshot=snapshot)
            found = candidates(retrieval, snapshot)
            labels = [item.answerable and item.found_in(c.hit.clause.text) for c in found]
            absent = assistant.index.library.absent_named_in(item.question, retrieval.query)
            out[name].append(Observation(item, group, found, labels, retrieval, snapshot, absent))
    return out


def decline_threshold(draws: list[np.ndarray], answerable: np.ndarray) -> float:
    """The middle of the first stretch of cuts where the cost, summed over the draws of
    cross-validated probabilities, is least."""
    grid = np.linspace(0.0, 1.0, 1001)
    cost = np.zeros(len(grid))
    for p in draws:
        declined = p[None, :] < grid[:, None]
        cost += WRONG_REFUSAL_COST * np.sum(declined & answerable, axis=1) + np.sum(~declined & ~answerable, axis=1)
    first = last = int(np.argmin(cost))
    while last + 1 < len(grid) and cost[last + 1] == cost[first]:
        last += 1
    return float((grid[first] + grid[last]) / 2)


def answer_threshold(p: np.ndarray, answerable: np.ndarray, floor: float) -> float:
    """The lowest probability from which at most 1 - ANSWER_PRECISION of the questions
    answered without reservation are ones the corpus does not cover."""
    for t in sorted(set(p[p >= floor].tolist())):
        kept = p >= t
        if kept.any() and answerable[kept].mean() >= ANSWER_PRECISION:
            return float(t)
    return 1.0


def cross_validated(x: np.ndarray, y: np.ndarray, fold_of: np.ndarray) -> np.ndarray:
    """Each question's probability from a model fitted without it."""
    out = np.zeros(len(y))
    for f in range(FOLDS):
        out[fold_of == f] = LogisticModel.fit(x[fold_of != f], y[fold_of != f]).probabilities(x[fold_of == f])
    return out


def calibrate_regime(observations: list[Observation]) -> tuple[LogisticModel, LogisticModel, dict, dict]:
    """The ranker, then the gate on features computed with rankers that never saw the
    question, so the gate learns how the ranker does on new questions."""
    usable = [q for q, o in enumerate(observations) if any(o.labels)]  # answerable, evidence retrieved
    x_rank = np.asarray([c.features for q in usable for c in observations[q].candidates], dtype=float)
    y_rank = np.asarray([label for q in usable for label in observations[q].labels], dtype=float)
    owner = np.asarray([q for q in usable for _ in observations[q].candidates])
    y = np.asarray([o.item.answerable for o in observations], dtype=float)
    answerable = y.astype(bool)
    groups = np.asarray([o.group for o in observations])
    draws = []
    for repeat in range(CV_REPEATS):  # the first deals by question number; the others at random
        order = np.random.default_rng(repeat).permutation(groups.max() + 1) if repeat else np.arange(groups.max() + 1)
        fold_of = order[groups] % FOLDS
        x, right = gate_rows(observations, x_rank, y_rank, owner, fold_of)
        draws.append(cross_validated(x, y, fold_of))
        if repeat == 0:
            x_gate, right_first, cv = x, right, draws[0]
    below = decline_threshold(draws, answerable)
    at = max(answer_threshold(cv, answerable, below), below, ANSWER_AT_LEAST)
    thresholds = {"answer_at": round(at, 6), "decline_below": round(below, 6)}
    figures = {
        "first_candidate_right": round(float(right_first[answerable].mean()), 4),
        "answerable_declined": int(np.sum((cv < below) & answerable)),
        "out_of_scope_declined": int(np.sum((cv < below) & ~answerable)),
        "out_of_scope": int(np.sum(~answerable)),
        "tentative": int(np.sum((cv >= below) & (cv < at))),
    }
    return LogisticModel.fit(x_rank, y_rank), LogisticModel.fit(x_gate, y), thresholds, figures


def gate_rows(observations: list[Observation], x_rank: np.ndarray, y_rank: np.ndarray, owner: np.ndarray,
              fold_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each question's gate features with its candidates ranked by a ranker fitted on the
    other folds, and whether that ranker put a clause holding the evidence first."""
    fold_rankers = [LogisticModel.fit(x_rank[fold_of[owner] != f], y_rank[fold_of[owner] != f]) for f in range(FOLDS)]
    rows, right = [], []
    for q, o in enumerate(observations):
        model = fold_rankers[fold_of[q]]
        ranked = sorted((replace(c, relevance=model.probability(c.features)) for c in o.candidates),
                        key=lambda c: (-c.relevance, c.hit.clause.id))
        rows.append(features(o.retrieval, o.snapshot, ranked, o.absent).vector())
        right.append(bool(ranked) and o.item.answerable and o.item.found_in(ranked[0].hit.clause.text))
    return np.asarray(rows, dtype=float), np.asarray(right)


def main(assistant, specs: list[str], folder: Path) -> str:
    """Fit both regimes on FILE[:SPLIT] sets and write ranker.json and gate.json into folder."""
    items = [item for spec in specs for item in load_items(Path(spec.partition(":")[0]), spec.partition(":")[2])]
    observed = observe(assistant, items)
    rankers, gates, report = {}, {}, {}
    for name, observations in observed.items():
        ranker, gate, thresholds, figures = calibrate_regime(observations)
        rankers[name] = ranker.to_dict()
        gates[name] = {**gate.to_dict(), **thresholds}
        report[name] = {**figures, **thresholds}
    provenance = {"fitted_on": specs, "questions": len(items), "embedding_model": assistant.embeddings.model_id,
                  "date": datetime.date.today().isoformat(), "command": "policy-qa calibrate " + " ".join(specs),
                  "cross_validated": report}
    folder.mkdir(parents=True, exist_ok=True)
    logistic.write(folder / RANKER_FILE.name, RANK_FEATURES, rankers, provenance)
    logistic.write(folder / GATE_FILE.name, GATE_FEATURES, gates, provenance)
    load_ranker.cache_clear()
    load_gate.cache_clear()
    lines = [f"{name}: " + json.dumps(figures, ensure_ascii=False) for name, figures in report.items()]
    for name in REGIMES:
        lines.append(f"gate weights ({name}): " + ", ".join(
            f"{f} {c:+.2f}" for f, c in zip(GATE_FEATURES, gates[name]["coef"])))
    return "\n".join(lines)
