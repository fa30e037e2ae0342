"""`edgeconv profile`: the grid, per-layer times that add up, peak RSS per cell, device facts in the JSON, compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from tests.conftest import run_cli
from tests.runtime.test_no_torch import run_without_torch


@pytest.fixture(scope="module")
def profile_json(default_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profile") / "here.json"
    result = run_cli("profile", str(default_onnx), "--backend", "onnxruntime", "--threads", "1,2",
                     "--size", "36x64,72x128", "--runs", "5", "--warmup", "1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "latency per cell" in result.stdout and "end to end" in result.stdout
    assert "outside any layer" in result.stdout and "peak RSS: the process's peak during this cell's runs" in " ".join(
        result.stdout.split())
    return out


def test_profile_grid_and_device_facts(profile_json: Path) -> None:
    data = json.loads(profile_json.read_text())
    assert data["format"] == "edgeconv-profile"
    cells = data["cells"]
    assert {(c["threads"], c["height"], c["width"]) for c in cells} == {(t, h, w) for t in (1, 2)
                                                                          for h, w in ((36, 64), (72, 128))}
    for c in cells:
        assert c["runs"] == 5 and 0 < c["p50_ms"] <= c["p90_ms"] <= c["p99_ms"] and c["fps"] > 0
        assert c["precision"] == "fp32" and c["backend"] == "onnxruntime"
    device = data["device"]
    assert device["cpu"]["model"] and device["python"] and "onnxruntime" in device["backends"]
    assert "state_before" in data["settings"] and isinstance(data["throttled"], list)
    layers = data["layers"][0]
    assert 0.5 <= layers["coverage"] <= 1.01  # 36x64: a call's fixed cost outside the layers is a large share
    assert layers["outside_ms"] == pytest.approx(layers["end_to_end_ms"] - layers["layers_ms"])
    assert data["settings"]["peak_rss"].startswith("the process's peak")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_layer_times_add_up_and_name_modules(jitter_onnx: Path, backend: str) -> None:
    """Must-show: per-layer times add up to the end-to-end latency of the same calls, never more (nodes run one
    after another), and the rest outside any layer is small at 360x640 (measured here: 93-99 %); named by module
    path (and shifts)."""
    if backend == "openvino":
        pytest.importorskip("openvino", reason="the openvino extra is not installed")
    # 360x640: the fixed cost of a call outside any layer (copies, the binding) stays a small share of the whole
    x = np.random.default_rng(0).random((1, 3, 360, 640), dtype=np.float32)
    breakdown = create_backend(backend, jitter_onnx, BackendOptions(threads=2)).layer_times(x, runs=10)
    assert 0.75 <= breakdown.coverage <= 1.01, (breakdown.layers_ms, breakdown.end_to_end_ms)
    modules = {m for m, _ in breakdown.by_module()}
    assert {"body.1.conv", "body.3.conv"} <= modules
    assert 0 < breakdown.shift_share < 1


def test_compare_two_profiles(profile_json: Path, tmp_path: Path) -> None:
    other = json.loads(profile_json.read_text())
    other["device"]["board_model"] = "Raspberry Pi 5 Model B Rev 1.0"
    other["throttled"] = ["Raspberry Pi firmware: throttling occurred"]
    for c in other["cells"]:
        c["p50_ms"] *= 7
    pi = tmp_path / "pi5.json"
    pi.write_text(json.dumps(other))
    result = run_cli("profile", "compare", str(profile_json), str(pi), "--plot", str(tmp_path / "cmp.png"))
    assert result.returncode == 0, result.stderr
    assert "Raspberry Pi 5" in result.stdout and "THROTTLED" in result.stdout
    first = json.loads(profile_json.read_text())["cells"][0]
    assert f"{first['p50_ms']:.1f}" in result.stdout and f"{first['p50_ms'] * 7:.1f}" in result.stdout
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_refuses_a_file_that_is_not_a_profile(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"rows": []}')
    result = run_cli("profile", "compare", str(bad))
    assert result.returncode == 2 and "is not an edgeconv profile" in result.stderr
    assert "Traceback" not in result.stderr


def test_profile_runs_on_a_runtime_only_install(default_onnx: Path, tmp_path: Path) -> None:
    """The Pi/Jetson path: no torch at all, profile an exported model and write the JSON."""
    out = tmp_path / "p.json"
    code = (
        "from edgeconv.cli.app import app\nfrom typer.testing import CliRunner\n"
        f"res = CliRunner().invoke(app, ['profile', {str(default_onnx)!r}, '--backend', 'onnxruntime', "
        f"'--threads', '1', '--size', '16x16', '--runs', '2', '-o', {str(out)!r}])\n"
        "assert res.exit_code == 0, res.output\nassert 'torch' not in sys.modules\nprint('ok')\n"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["cells"][0]["height"] == 16


def test_sustained_curve_records_latency_and_state_over_time(default_onnx: Path) -> None:
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.profiling.profiler import sustained_curve

    runner = create_backend("onnxruntime", default_onnx)
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    curve = sustained_curve(runner, x, duration_s=1.0, window_s=0.25)
    assert 3 <= len(curve) <= 5
    assert [p["t_s"] for p in curve] == sorted(p["t_s"] for p in curve)
    assert all(p["runs"] > 0 and p["p50_ms"] <= p["p90_ms"] and "temperatures_c" in p["state"] for p in curve)


class _RunningMeanCounters:
    """OpenVINO's CPU counters as its plugin keeps them (``PerfCount::avg``: total / count since compile, whole
    microseconds): the first inference costs 100 ms per node (primitive creation), every later one 1 ms."""

    def __init__(self, nodes: int = 3) -> None:
        self.nodes, self.count, self.total_us = nodes, 0, 0

    def infer(self, _feed: object) -> None:
        self.total_us += 100_000 if self.count == 0 else 1_000
        self.count += 1

    def get_profiling_info(self) -> list:
        from datetime import timedelta
        from types import SimpleNamespace

        mean = timedelta(microseconds=self.total_us // self.count)
        return [SimpleNamespace(status="Status.EXECUTED", node_name=f"/body/body.{i}/Conv", node_type="Convolution",
                                real_time=mean) for i in range(self.nodes)]


def test_openvino_layer_times_leave_the_first_inference_out(default_onnx: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The counters are running means that include the slow first inference: summing them per run made INT8
    models on OpenVINO add up to 119 % of end to end. Per timed run each node took 1 ms, and that is reported."""
    ov = pytest.importorskip("openvino", reason="the openvino extra is not installed")
    backend = create_backend("openvino", default_onnx, BackendOptions(threads=1))
    counters = _RunningMeanCounters()
    compiled = type("Compiled", (), {"create_infer_request": lambda _self: counters})()
    configs: list[dict] = []

    class Core:
        def read_model(self, path: str) -> str:
            return path

        def compile_model(self, _model: str, device: str, config: dict) -> object:
            configs.append({"device": device, **config})
            return compiled

    monkeypatch.setattr(ov, "Core", Core)
    breakdown = backend.layer_times(np.zeros((1, 3, 8, 8), np.float32), runs=20, warmup=3)
    # within the counters' whole-microsecond means: (warm-up + runs) / runs us per node
    assert [layer.ms for layer in breakdown.layers] == pytest.approx([1.0, 1.0, 1.0], abs=0.002)
    # compiled as the back end compiles it (hint, threads, precision), plus the counters
    assert configs == [{"device": "CPU", **backend._config(), "PERF_COUNT": True}]


def test_peak_rss_is_per_cell_not_the_running_peak(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A cell that needs 300 MB, then one that needs little: the second row shows its own peak, lower."""
    from edgeconv.runtime.profiling import profiler
    from edgeconv.runtime.validation.latency import reset_peak_rss

    if not reset_peak_rss():
        pytest.skip("this OS cannot reset a process's peak RSS")

    class Hungry:
        facts = type("Facts", (), {"precision": "fp32"})()
        label = "fake"
        load_ms = first_call_ms = 1.0

        def time_runs(self, x: np.ndarray, runs: int, warmup: int, duration_s: float | None) -> list[float]:
            if x.shape[2] > 8:
                block = np.ones(300 * 2**20 // 8)  # touched: resident
                del block
            return [1.0] * runs

    monkeypatch.setattr(profiler, "create_backend", lambda *_args, **_kw: Hungry())
    model = tmp_path / "m.onnx"
    model.write_bytes(b"a model file (hashed, never loaded)")
    big, small = profiler.profile_grid([model], ["onnxruntime"], [1], [(16, 16), (8, 8)], runs=2)
    assert big.peak_rss_mb - small.peak_rss_mb > 200, (big.peak_rss_mb, small.peak_rss_mb)


def test_profile_runs_on_the_device_asked_for(tmp_path: Path) -> None:
    """--device reaches the back end: CPU is recorded in the JSON; a device this machine lacks is one line, exit 2,
    nothing written."""
    from edgeconv.runtime.shipped_models import shipped_path
    from tests.bad_inputs.test_catalogue import assert_clean_failure

    out = tmp_path / "p.json"
    common = [str(shipped_path("photo", 2)), "--backend", "openvino", "--size", "32x32", "--threads", "1",
              "--runs", "2", "--no-layers", "-o", str(out)]
    done = run_cli("profile", *common, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["settings"]["device"] == "CPU"
    out.unlink()
    out.with_suffix(".csv").unlink()
    refused = run_cli("profile", *common, "--device", "NPU")
    assert_clean_failure(refused, 2, r"openvino device NPU \| is not available here", out)
