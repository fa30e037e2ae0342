"""The quantization job's shape: the same inputs give the same bytes, one rule per question, typed CLI options."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
from collections import Counter
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import onnx
import pytest
from PIL import Image

from edgeconv.cli.quantize import quantize
from edgeconv.export.quantization import artifact_checks
from edgeconv.export.quantization.job import quantize_file
from edgeconv.export.quantization.ptq import Int8Config
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.runtime.choices import CalibrationMethod, Int8Target, Precision, QuantType, Switch
from edgeconv.runtime.cpu.features import CPUINFO_ENV
from edgeconv.runtime.cpu.int8_targets import SAFE_SCHEMES, TARGETS, Scheme, plan_int8, reduce_range_needed
from tests.conftest import EDGECONV

CPUS = Path(__file__).resolve().parents[2] / "tools" / "cpus"
HASWELL = (CPUS / "haswell.cpuinfo").read_text()
EPYC = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni\n"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(calibration, budget)`` folders of small real photographs, no file in both."""
    from skimage import data

    calib, val = tmp_path_factory.mktemp("calib"), tmp_path_factory.mktemp("val")
    for name in ("astronaut", "chelsea", "rocket"):
        for i, (top, left) in enumerate(((0, 0), (100, 150), (200, 60))):
            Image.fromarray(getattr(data, name)()[top : top + 96, left : left + 96]).save(calib / f"{name}_{i}.png")
    Image.fromarray(data.coffee()[100:196, 200:296]).save(val / "coffee.png")
    return calib, val


def run_edgeconv(*args: str) -> subprocess.CompletedProcess:
    """The real command, with a wide terminal so rich does not wrap the option lists."""
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([*EDGECONV, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("pins", [
    {"target": "x86-avx2"},  # measured schemes (OpenVINO probes each candidate on an x86 target)
    {"target": "x86-avx2", "per_channel": False, "method": "minmax"},  # pinned scheme (7-bit weights by rule)
    {"target": "tensorrt"},  # symmetric s8, float biases, TensorRT's rules checked
    {"target": "arm", "weight_type": "u8", "max_psnr_drop": 0.0},  # a budget search that keeps layers FP32
])
def test_running_the_job_twice_writes_the_same_bytes(default_onnx: Path, photos: tuple[Path, Path], tmp_path: Path,
                                                     pins: dict) -> None:
    calib, val = photos
    settings = QuantizeSettings(default_onnx, calib, val if "max_psnr_drop" in pins else None,
                                tmp_path / "q.int8.onnx", calib_crop=64, report=tmp_path / "q.json", **pins)
    written = []
    for _ in range(2):
        done = quantize_file(settings)
        assert done.outcome is not None
        written.append((settings.output_path.read_bytes() if done.ok else b"", settings.report.read_bytes()))
    assert written[0] == written[1]
    assert written[0][0] or not json.loads(written[0][1])["ok"]


def test_openvino_compiles_each_candidate_once(default_onnx: Path, photos: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheme fallback and the final 'loads in' check share one compile of the chosen artifact."""
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    compiled: Counter[bytes] = Counter()
    real = artifact_checks.compile_refusal

    def counting(model: bytes, timeout_s: float = 300) -> str | None:
        compiled[model] += 1
        return real(model, timeout_s)

    monkeypatch.setattr(artifact_checks, "compile_refusal", counting)
    done = quantize_file(QuantizeSettings(default_onnx, photos[0], output=tmp_path / "q.onnx", calib_crop=64,
                                          target="x86-vnni"))
    assert done.ok and "openvino" in done.outcome.loads_in
    assert compiled and max(compiled.values()) == 1


def test_planner_is_the_one_place_for_each_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # the target: asked for, or this CPU's
    assert plan_int8(cpuinfo=HASWELL).target == "x86-avx2" and plan_int8(cpuinfo=EPYC).target == "x86-vnni"
    for target in TARGETS:
        plan = plan_int8(target)
        assert plan.measured and list(plan.schemes) == SAFE_SCHEMES[target]
        assert plan.float_bias == (target == "tensorrt") and plan.openvino_runs_it == target.startswith("x86")
    # pinned: one scheme; 7-bit weights where the target's u8 x s8 kernels saturate, unless pinned
    assert plan_int8("x86-avx2", per_channel=True).schemes == (Scheme("u8", "s8", reduce_range=True),)
    assert plan_int8("x86-vnni", per_channel=False).schemes == (Scheme("u8", "s8", per_channel=False),)
    assert plan_int8("x86-avx2", weights="u8").schemes == (Scheme("u8", "u8"),)
    assert plan_int8("x86-avx2", reduce_range=False).schemes[0].reduce_range is False
    assert plan_int8("arm", activations="s8").chosen_by == "set by the user"
    # ptq asks the same rule about this CPU
    for cpuinfo, needed in ((CPUS / "haswell.cpuinfo", True), (CPUS / "cortex-a76.cpuinfo", False)):
        monkeypatch.setenv(CPUINFO_ENV, str(cpuinfo))
        here = plan_int8().target
        assert Int8Config().resolved_reduce_range()[0] is needed is reduce_range_needed(here, "s8")
        assert plan_int8(per_channel=True).schemes[0].reduce_range is needed
        assert Int8Config(weight_type="u8").resolved_reduce_range()[0] is False


def test_settings_are_typed_and_frozen(tmp_path: Path) -> None:
    settings = QuantizeSettings(tmp_path / "m.onnx", calib=tmp_path, precision="fp16", method="minmax",
                                target="arm", reduce_range="on", weight_type="u8")
    assert settings.precision is Precision.FP16 and settings.method is CalibrationMethod.MINMAX
    assert settings.target is Int8Target.ARM and settings.reduce_range is Switch.ON
    assert settings.weight_type is QuantType.U8 and settings.precision == "fp16"  # str enums: strings still compare
    assert settings.output_path == tmp_path / "m.fp16.onnx"
    with pytest.raises(FrozenInstanceError):
        settings.precision = Precision.INT8  # type: ignore[misc]
    config = settings.int8_config()
    with pytest.raises(FrozenInstanceError):
        config.float_bias = True  # type: ignore[misc]
    assert config.weight_type == "u8" and config.method == "minmax"


def test_every_setting_is_a_quantize_option() -> None:
    """The command builds its settings by keyword: no field can be left behind silently."""
    options = set(inspect.signature(quantize).parameters)
    assert {f.name for f in fields(QuantizeSettings)} - {"latency_hw"} <= options


def test_unknown_target_is_refused_naming_the_choices() -> None:
    result = run_edgeconv("quantize", "model.onnx", "--calib", ".", "--target", "armm")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "'armm' is not one of" in message
    assert all(f"'{target}'" in message for target in Int8Target.values())


def test_help_lists_every_target_and_precision() -> None:
    result = run_edgeconv("quantize", "--help")
    assert result.returncode == 0, result.stderr
    assert "|".join(Int8Target.values()) in result.stdout
    assert "|".join(Precision.values()) in result.stdout
    assert "|".join(CalibrationMethod.values()) in result.stdout
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "--images ../shared/data/sr/BSD200" in text and "/Set5" not in text  # never budget on the reported images


@pytest.mark.slow
def test_qat_stop_is_a_result_state_and_resumes(default_onnx: Path, photos: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    """--max-minutes stops fine-tuning: exit 0, its state saved, no artifact; --resume finishes and writes it."""
    from skimage import data

    hr = tmp_path / "hr"
    hr.mkdir()
    Image.fromarray(data.astronaut()[40:200, 120:280]).save(hr / "a.png")
    out = tmp_path / "q.int8.onnx"
    common = ["quantize", str(default_onnx), "--calib", str(photos[0]), "--calib-crop", "64", "--qat-data", str(hr),
              "--qat-steps", "3", "-o", str(out)]
    stopped = run_edgeconv(*common, "--max-minutes", "0.00001")
    assert stopped.returncode == 0, stopped.stderr
    state = tmp_path / "q.int8.qat.pt"
    assert "QAT stopped by --max-minutes after 1 of 3 steps" in stopped.stdout and str(state) in stopped.stdout
    assert state.is_file() and not out.exists()
    resumed = run_edgeconv(*common, "--resume", str(state))
    assert resumed.returncode == 0, resumed.stderr
    assert out.is_file() and not state.exists()
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert json.loads(meta["edgeconv.quantization"])["qat_steps"] == 3
