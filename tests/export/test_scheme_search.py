"""INT8 scheme per target: only exact schemes are tried, the most accurate is kept, stored, and checked on load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from edgeconv.export.quantization.calibration import calibration_feeds
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.schemes import TIE_DB, choose_scheme, ort_runner, split_feeds
from edgeconv.runtime.cpu.features import CPUINFO_ENV
from edgeconv.runtime.cpu.int8_targets import (
    SAFE_SCHEMES,
    TARGETS,
    U8S8,
    U8U8,
    Scheme,
    cpu_mismatch,
    scheme_from_metadata,
)
from edgeconv.runtime.model_facts import read_model_facts
from tests.conftest import run_cli

CPUS = Path(__file__).resolve().parents[2] / "tools" / "cpus"
HASWELL = (CPUS / "haswell.cpuinfo").read_text()
EPYC = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni\n"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    folder = tmp_path_factory.mktemp("calib")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        image = getattr(data, name)()
        for i, (top, left) in enumerate(((0, 0), (100, 150), (200, 60))):
            Image.fromarray(image[top : top + 96, left : left + 96]).save(folder / f"{name}_{i}.png")
    return folder


def test_safe_schemes_never_saturate_on_their_target() -> None:
    assert set(SAFE_SCHEMES) == set(TARGETS)
    for scheme in SAFE_SCHEMES["x86-avx2"]:  # u8 x s8 pairs overflow int16 without VNNI unless weights are 7-bit
        assert scheme.weights == "u8" or scheme.reduce_range
    assert all(s.activations == s.weights == "s8" and s.symmetric_activations for s in SAFE_SCHEMES["tensorrt"])
    assert U8S8 in SAFE_SCHEMES["x86-vnni"] and U8S8 in SAFE_SCHEMES["arm"]
    names = [s.name for schemes in SAFE_SCHEMES.values() for s in schemes]
    assert "U8S8-7bit" in names and "S8S8-sym/tensor" in names


@pytest.mark.parametrize("target", TARGETS)
def test_choice_is_the_most_accurate_exact_scheme(default_onnx: Path, photos: Path, target: str) -> None:
    fp32 = onnx.load(default_onnx)
    feeds = calibration_feeds(photos, read_model_facts(default_onnx), "input", crop=64)
    choice = choose_scheme(fp32, feeds, Int8Config(), target, peak=1.0)
    assert [t.scheme for t in choice.trials] == SAFE_SCHEMES[target]
    best = max(t.output_psnr_db for t in choice.trials)
    chosen = next(t for t in choice.trials if t.scheme == choice.scheme)
    assert chosen.output_psnr_db >= best - TIE_DB and chosen.output_psnr_db > 35
    assert choice.held_out == 3 and target in choice.why and choice.scheme.name in choice.why
    stored = json.loads(json.dumps(choice.as_json()))
    assert scheme_from_metadata(json.dumps(stored)) == choice.scheme


def test_held_out_crops_are_not_calibrated_on() -> None:
    feeds = [{"input": np.full((1, 3, 4, 4), i, np.float32)} for i in range(12)]
    calibrate, held = split_feeds(feeds)
    assert len(held) == 3 and len(calibrate) == 9
    assert not {int(f["input"][0, 0, 0, 0]) for f in held} & {int(f["input"][0, 0, 0, 0]) for f in calibrate}


def test_float_simulation_matches_exact_integer_kernels(default_onnx: Path, photos: Path) -> None:
    """The stand-in used for schemes this CPU would saturate on agrees with real kernels where they are exact."""
    feeds = calibration_feeds(photos, read_model_facts(default_onnx), "input", crop=64)
    model = quantize_int8(onnx.load(default_onnx), feeds, Int8Config().with_scheme(U8U8))
    x = feeds[0]["input"]
    exact, simulated = ort_runner(model)(x), ort_runner(model, exact_kernels=False)(x)
    step = 1.0 / 255  # one output quantization step of a [0, 1] image
    assert np.abs(exact - simulated).max() <= 2 * step
    assert np.abs(exact - simulated).mean() < 0.05 * step


def test_cpu_mismatch_only_where_kernels_saturate() -> None:
    vnni = json.dumps({"target": "x86-vnni", "scheme": U8S8.as_dict()})
    assert "no VNNI" in cpu_mismatch(vnni, HASWELL) and "--target x86-avx2" in cpu_mismatch(vnni, HASWELL)
    assert cpu_mismatch(vnni, EPYC) is None
    assert cpu_mismatch(json.dumps({"target": "x86-avx2", "scheme": U8U8.as_dict()}), HASWELL) is None
    seven_bit = Scheme("u8", "s8", reduce_range=True)
    assert cpu_mismatch(json.dumps({"scheme": seven_bit.as_dict()}), HASWELL) is None
    old = json.dumps({"activation_type": "u8", "weight_type": "s8", "reduce_range": False})  # before targets
    assert "no VNNI" in cpu_mismatch(old, HASWELL)
    assert cpu_mismatch(None, HASWELL) is None and cpu_mismatch("not json", HASWELL) is None


@pytest.fixture(scope="module")
def arm_and_vnni_artifacts(default_onnx: Path, photos: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("targets")
    made = {}
    for target, extra in (("arm", ()), ("x86-vnni", ("--activation-type", "u8", "--weight-type", "s8",
                                                      "--reduce-range", "off"))):
        out, report = folder / f"{target}.int8.onnx", folder / f"{target}.json"
        result = run_cli("quantize", str(default_onnx), "--calib", str(photos), "--calib-crop", "64",
                         "--target", target, *extra, "-o", str(out), "--json", str(report))
        assert result.returncode == 0, result.stderr
        made[target] = (out, json.loads(report.read_text()), result.stdout)
    return made


def test_quantize_for_a_target_prints_and_stores_the_choice(arm_and_vnni_artifacts: dict) -> None:
    out, report, stdout = arm_and_vnni_artifacts["arm"]
    assert "INT8 schemes exact on arm" in stdout and "scheme:" in stdout
    assert report["scheme"]["target"] == "arm" and len(report["scheme"]["trials"]) == len(SAFE_SCHEMES["arm"])
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    stored = json.loads(meta["edgeconv.quantization"])
    assert stored["target"] == "arm" and stored["chosen_by"] == "measured" and "held-out" in stored["why"]
    assert Scheme(**stored["scheme"]) in SAFE_SCHEMES["arm"]
    pinned = json.loads({p.key: p.value for p in onnx.load(arm_and_vnni_artifacts["x86-vnni"][0]).metadata_props}[
        "edgeconv.quantization"])
    assert pinned["chosen_by"] == "set by the user" and pinned["scheme_name"] == "U8S8"


def test_runtime_warns_once_when_the_cpu_lacks_vnni(arm_and_vnni_artifacts: dict, photos: Path,
                                                     tmp_path: Path) -> None:
    vnni_model = arm_and_vnni_artifacts["x86-vnni"][0]
    image = next(photos.glob("*.png"))
    env_before = os.environ.get(CPUINFO_ENV)
    os.environ[CPUINFO_ENV] = str(CPUS / "haswell.cpuinfo")
    try:
        result = run_cli("upscale", str(image), str(tmp_path / "out.png"), "--model", str(vnni_model))
        fine = run_cli("upscale", str(image), str(tmp_path / "b.png"), "--model", str(arm_and_vnni_artifacts["arm"][0]))
    finally:
        os.environ.pop(CPUINFO_ENV) if env_before is None else os.environ.__setitem__(CPUINFO_ENV, env_before)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning:") == 1 and "no VNNI" in result.stderr and "U8S8" in result.stderr
    expected_arm_warning = arm_and_vnni_artifacts["arm"][1]["scheme"]["scheme_name"].startswith(("U8S8", "S8S8"))
    assert ("no VNNI" in fine.stderr) == expected_arm_warning  # an ARM U8S8 artifact on AVX2 would saturate too


def test_openvino_refuses_int8_on_arm(arm_and_vnni_artifacts: dict, photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra (edgeconv[openvino])")
    model = arm_and_vnni_artifacts["arm"][0]
    env = os.environ.get(CPUINFO_ENV)
    os.environ[CPUINFO_ENV] = str(CPUS / "cortex-a76.cpuinfo")
    try:
        named = run_cli("validate", str(model), "--images", str(photos), "--backend", "openvino", "--runs", "1",
                        "--size", "16x16", "--reference", str(model))
        every = run_cli("validate", str(model), "--images", str(photos), "--backend", "all", "--runs", "1",
                        "--size", "16x16", "--reference", str(model))
    finally:
        os.environ.pop(CPUINFO_ENV) if env is None else os.environ.__setitem__(CPUINFO_ENV, env)
    assert named.returncode == 1 and "OpenVINO's ARM CPU plugin computes INT8" in named.stderr
    assert "Traceback" not in named.stderr
    assert every.returncode == 0, every.stderr
    assert "skipped:" in every.stderr and "onnxruntime" in every.stdout
