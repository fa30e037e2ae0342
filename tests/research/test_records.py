"""The stored run records: runs.csv round trip, completion from summary.json, reuse instead of training, and the
committed page recomputed from the committed records byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeconv.research.compare import CompareSettings, RunRecord, run_compare, summarise
from edgeconv.research.latency import LATENCY_FILE, read_cache
from edgeconv.research.records import read_runs_csv, stored_records
from edgeconv.research.report import runs_csv
from edgeconv.research.results_page import results_markdown, with_latency

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "results"
ERF = {"r20": 0.01, "r30": 0.02, "r50": 0.05, "r99": 0.3, "anisotropy": 1.1, "orientation_deg": 10.0,
       "angular_spread": 0.9, "effective_area_px": 40.0}


def records(unit_measures: bool = True) -> list[RunRecord]:
    out = []
    for seed in range(3):
        for i, variant in enumerate(("plain", "jitter-random")):
            erf = {**ERF, "r50": 0.05 + 0.01 * i + 0.001 * seed}
            if unit_measures:
                erf.update({"dissimilarity": 0.2 + 0.1 * i + 1 / (seed + 3), "border_share": 0.01 * seed})
            out.append(RunRecord("dtd10", variant, seed, "m", "accuracy", 0.3 + i / 7 + seed / 11, 1000, 2000.5, erf,
                                 0.1 + seed, 150, seed == 2, {"zero_shot_accuracy": 0.4 + seed / 13,
                                                             "zero_shot_halves": [0.4, 0.5]}))
    return out


def test_runs_csv_round_trips_every_scalar_measure() -> None:
    original = records()
    back = read_runs_csv(runs_csv(original))
    for a, b in zip(original, back, strict=True):
        assert b.erf == a.erf and b.extra == {"zero_shot_accuracy": a.extra["zero_shot_accuracy"]}
        assert (b.seed, b.value, b.params, b.macs_per_pixel, b.minutes, b.steps, b.stopped_by_budget) == (
            a.seed, a.value, a.params, a.macs_per_pixel, a.minutes, a.steps, a.stopped_by_budget)
    assert summarise(back) == summarise(original)
    header = runs_csv(original).splitlines()[0].split(",")
    assert header[-3:] == ["border_share", "dissimilarity", "zero_shot_accuracy"]  # further measures by name, extras


def test_measures_missing_from_runs_csv_come_from_summary_json(tmp_path: Path) -> None:
    full = records()
    (tmp_path / "runs.csv").write_text(runs_csv(records(unit_measures=False)))  # written before those columns
    (tmp_path / "summary.json").write_text(json.dumps(summarise(full)))
    stored = stored_records(tmp_path)
    assert len(stored) == 6 and stored[("jitter-random", 2)].erf == full[5].erf
    assert summarise([stored[(r.variant, r.seed)] for r in full]) == summarise(full)
    assert stored_records(tmp_path / "absent") == {}


def test_stored_records_stand_in_for_absent_runs_without_training(tmp_path: Path) -> None:
    stored = tmp_path / "docs" / "results" / "texture"
    stored.mkdir(parents=True)
    (stored / "runs.csv").write_text(runs_csv([RunRecord("texture", r.variant, r.seed, r.model, r.metric, r.value,
                                                         r.params, r.macs_per_pixel, r.erf, r.minutes, r.steps,
                                                         r.stopped_by_budget) for r in records()]))
    settings = CompareSettings("texture", tmp_path / "runs", ["plain", "jitter-random"], [0, 1, 2], 4,
                               tmp_path / "no-data", stored=stored)  # no data: any training would fail
    heard: list[str] = []
    got = run_compare(settings, on_run=lambda v, s, what: heard.append(what), stored=stored_records(stored))
    assert len(got) == 6 and all(w.startswith("reused (stored record") for w in heard)


def test_the_stored_dtd10_runs_recompute_their_summary() -> None:
    stored = stored_records(RESULTS / "dtd10")
    rows = json.loads((RESULTS / "dtd10" / "summary.json").read_text())
    order = [stored[(v, s)] for s in rows[0]["seeds"] for v in (r["variant"] for r in rows)]
    latency = {r["variant"]: r["latency_ms"] for r in rows}
    again = summarise(order, latency)
    for row in again:
        quartiles = next(r for r in rows if r["variant"] == row["variant"])
        row["latency_q1_ms"], row["latency_q3_ms"] = quartiles["latency_q1_ms"], quartiles["latency_q3_ms"]
    assert again == rows
    header = (RESULTS / "dtd10" / "runs.csv").read_text().splitlines()[0].split(",")
    assert {"dissimilarity", "orientation_spread", "border_share", "zero_shot_accuracy"} <= set(header)


def test_the_committed_page_is_its_records_recomputed() -> None:
    """docs/RESULTS.md from docs/results/<task>/ (summary, budget, latency cache) alone, byte for byte."""
    tasks, budget, caches = {}, {}, {}
    for task in ("dtd10", "sr", "texture"):
        budget[task] = json.loads((RESULTS / task / "budget.json").read_text())
        caches[task] = read_cache(RESULTS / task / LATENCY_FILE)
        tasks[task] = with_latency(json.loads((RESULTS / task / "summary.json").read_text()), caches[task])
    if any(c is None for c in caches.values()):
        pytest.skip("a task has no cached latencies")
    sources = {"dtd10": budget["dtd10"]["source"],
               "cifar100": "not run: the CIFAR-100 files are not on this machine (no downloads)",
               "sr": budget["sr"]["source"], "texture": budget["texture"]["source"]}
    text = results_markdown(tasks, budget, budget["dtd10"]["command"], sources, latencies=caches)
    assert text == (REPO / "docs" / "RESULTS.md").read_text()
