"""Latency with its spread, cached beside the runs: quartiles, what the page says, and reuse without re-timing."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeconv.research import latency
from edgeconv.research.compare import CompareSettings
from edgeconv.research.latency import LATENCY_FILE, THREADS, LatencyCache, read_cache, task_latencies, write_cache
from edgeconv.research.report import summary_markdown
from edgeconv.research.results_page import with_latency


def cache(variants: tuple[str, ...] = ("plain", "shiftwise")) -> LatencyCache:
    return LatencyCache("Some CPU, 2 cores, Linux", "2026-12-04", THREADS, (1, 3, 128, 128), 5, 30,
                        "the seed-0 checkpoints", 1.25, {v: (1.0, 2.0, 3.0, 4.0, 10.0) for v in variants})


def test_spread_is_median_and_quartiles_of_the_repeats() -> None:
    # inclusive quartiles of 1 2 3 4 10: positions 2 and 4 of 5 -> 2 and 4
    assert cache().spread("plain") == (3.0, 2.0, 4.0)


def test_the_page_says_how_where_and_when(tmp_path: Path) -> None:
    text = cache().describe()
    assert "median [inter-quartile range] of 5 repeats, each the median of 30 calls" in text
    assert "1 thread, input 1x3x128x128, the seed-0 checkpoints; measured 2026-12-04 on Some CPU" in text
    assert "load average 1.2 when timing began" in text and "not re-timed when the page is regenerated" in text
    rows = [{"task": "dtd10", "variant": "plain", "latency_ms": 0.5}, {"task": "dtd10", "variant": "large-kernel",
                                                                        "latency_ms": None}]
    shown = with_latency(rows, cache())
    assert shown[0]["latency_ms"] == 3.0 and shown[0]["latency_q3_ms"] == 4.0 and rows[0]["latency_ms"] == 0.5
    assert shown[1] == rows[1]  # not in the cache: left as it was


def test_a_fitting_cache_is_reused_and_a_stale_one_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cache(cache(), tmp_path / "a" / LATENCY_FILE)
    assert read_cache(tmp_path / "a" / LATENCY_FILE) == cache()
    assert read_cache(tmp_path / "none" / LATENCY_FILE) is None
    settings = CompareSettings("dtd10", tmp_path, ["shiftwise", "plain"], [0], 1, tmp_path)
    monkeypatch.setattr(latency, "measure", lambda s: pytest.fail("re-timed although a fitting cache exists"))
    assert task_latencies(settings, [tmp_path / "none", tmp_path / "a"]) == (cache(), False)
    settings.variants.append("large-kernel")  # another variant set: timed again
    monkeypatch.setattr(latency, "measure", lambda s: cache(tuple(s.variants)))
    got, measured = task_latencies(settings, [tmp_path / "a"])
    assert measured and sorted(got.variants) == ["large-kernel", "plain", "shiftwise"]


def test_tables_print_the_interquartile_range() -> None:
    erf = {f"{k}_{s}": 0.1 for k in ("r20", "r50", "r99", "anisotropy", "angular_spread", "effective_area_px")
           for s in ("mean", "std")}
    row = {"task": "dtd10", "variant": "plain", "metric": "accuracy", "n": 3, "value_mean": 0.3, "value_std": 0.01,
           "params": 10, "macs_per_pixel": 5.0, "latency_ms": 1.0, **erf}
    assert "| 1.00 |" in summary_markdown([row]) and "best of 2 rounds" in summary_markdown([row])
    text = summary_markdown(with_latency([row], cache(("plain",))))
    assert "| 3.00 [2.00, 4.00] |" in text and "median [inter-quartile range] over repeats" in text
