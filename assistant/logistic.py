"""The one model kind the pipeline learns: L2-regularised logistic regression over
standardised features, fitted by Newton's method. The ranker (which clause answers) and the
gate (whether the corpus answers at all) are each one per regime — with associated questions
and without, as an uploaded document has none — stored as JSON beside the code."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

L2 = 1.0
REGIMES = ("with_questions", "without_questions")


def regime(has_questions: bool) -> str:
    return REGIMES[0] if has_questions else REGIMES[1]


@dataclass(frozen=True)
class LogisticModel:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, x) -> float:
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> "LogisticModel":
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0  # a constant feature (e.g. zero in one regime) carries no weight
        design = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(design.shape[1])
        penalty = np.diag([l2] * (design.shape[1] - 1) + [0.0])  # the intercept is not shrunk
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -40, 40)))
            step = np.linalg.solve(design.T @ (design * (p * (1 - p))[:, None]) + penalty,
                                   design.T @ (p - y) + penalty @ w)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        return cls(_rounded(mean), _rounded(scale), _rounded(w[:-1]), round(float(w[-1]), 6))

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "scale": list(self.scale), "coef": list(self.coef),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> "LogisticModel":
        return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]), float(data["intercept"]))


def _rounded(values) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in values)


class ModelFileError(RuntimeError):
    """A ranker or gate file that is missing, unreadable or fitted on other features."""


def read(path: Path, features: tuple[str, ...]) -> dict:
    """A model file, checked to be for these features (a stale file says to recalibrate)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"无法读取模型文件 {path}（{exc}）：请检查 POLICYQA_MODELS_DIR，或运行 `policy-qa calibrate` / "
                             f"cannot read {path}") from exc
    if list(data.get("features", [])) != list(features) or not all(r in data for r in REGIMES):
        raise ModelFileError(f"模型文件 {path} 与当前代码的特征不一致，请运行 `policy-qa calibrate` 重新拟合 / "
                             f"{path.name} was fitted on other features: run `policy-qa calibrate`")
    return data


def write(path: Path, features: tuple[str, ...], models: dict, provenance: dict) -> None:
    payload = {"features": list(features), **models, "provenance": provenance}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
