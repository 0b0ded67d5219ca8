"""bench/run_all.py pools the runs of a bench run in several passes into one spread."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from common import Figure, Spread, Table, cell  # noqa: E402
from run_all import Result  # noqa: E402


def report(load: str, busy: float, p50: list[float], p95: list[float], per_level: list[float]) -> dict:
    """What a bench writes with --json: one row and one table."""
    row = Figure("p50 {}, p95 {}", [Spread(p50), Spread(p95)])
    table = Table("Load ({runs} runs):", ["clients", "answered/s"], [[cell("4"), cell(Spread(per_level))]])
    return {"bench": "latency.py", "load": load, "busy": busy, "rows": [["over HTTP, ms", row.to_json()]],
            "tables": [table.to_json()]}


def test_the_passes_of_a_bench_are_pooled_into_one_median_and_spread():
    pooled = Result(report("0.10 0.20 0.30", 0.0, [30.0, 31.0], [50.0, 52.0], [40.0, 41.0]))
    pooled.pool(Result(report("1.00 0.50 0.40", 0.1, [36.0], [44.0], [30.0])))
    (what, figure), = pooled.rows
    assert what == "over HTTP, ms" and figure.runs == 3
    assert str(figure) == "p50 31.0 (30.0–36.0), p95 50.0 (44.0–52.0)"  # the second pass widened both
    assert "Load (3 runs):" in pooled.tables[0].markdown()
    assert "| 4 | 40.0 (30.0–41.0) |" in pooled.tables[0].markdown()
    assert pooled.started() == "0.10 0.20 0.30, 0%; 1.00 0.50 0.40, 10%"


def test_runs_that_agree_show_one_number_and_different_figures_do_not_pool():
    assert str(Spread([3.0, 3.0], 0)) == "3" and str(Spread([2.0, 4.0], 0)) == "3 (2–4)"
    with pytest.raises(AssertionError, match="not the same figure"):
        Figure("{} ms", [Spread([1.0])]).pooled(Figure("{} s", [Spread([1.0])]))
