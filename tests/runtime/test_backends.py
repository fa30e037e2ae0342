"""Back ends behind one interface: same outputs, checked inputs, clear errors; TensorRT's pure parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import EdgeConvError, MissingExtraError, UsageError
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import backend_status, create_backend
from edgeconv.runtime.backends.tensorrt import engine_cache_key, optimization_profile, tensorrt_status


def test_onnxruntime_and_openvino_agree_on_fp32(default_onnx: Path, astronaut: np.ndarray) -> None:
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    ort_runner = create_backend("onnxruntime", default_onnx, BackendOptions(threads=2))
    ov_runner = create_backend("openvino", default_onnx, BackendOptions(threads=2))
    x = ort_runner.facts.to_input(astronaut[100:228, 150:310])
    a, b = ort_runner.run(x), ov_runner.run(x)
    assert a.shape == b.shape == (1, 3, 256, 320)
    assert np.abs(a - b).max() <= 1e-4
    assert ort_runner.label == "onnxruntime" and ov_runner.label == "openvino"
    samples = ov_runner.time_runs(x, runs=3, warmup=1)
    assert len(samples) == 3 and all(s > 0 for s in samples)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((3, 8, 8), np.float32), "incompatible shape"),
        (np.zeros((1, 4, 8, 8), np.float32), "incompatible shape"),
        (np.zeros((1, 3, 0, 8), np.float32), "empty dimension"),
        (np.zeros((1, 3, 8, 8), np.uint8), "dtype uint8"),
        ([[1.0]], "not a numpy array"),
    ],
)
def test_bad_inputs_are_named(default_onnx: Path, x: object, message: str) -> None:
    runner = create_backend("onnxruntime", default_onnx)
    with pytest.raises(UsageError, match=message):
        runner.run(x)  # type: ignore[arg-type]


def test_float64_input_is_accepted(default_onnx: Path) -> None:
    runner = create_backend("onnxruntime", default_onnx)
    assert runner.run(np.zeros((1, 3, 5, 7))).shape == (1, 3, 10, 14)


def test_load_errors_are_one_line(default_onnx: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such model file"):
        create_backend("onnxruntime", tmp_path / "missing.onnx")
    with pytest.raises(UsageError, match="unknown back end 'tflite'"):
        create_backend("tflite", default_onnx)
    with pytest.raises(UsageError, match="CUDAExecutionProvider is not in this build"):
        create_backend("onnxruntime", default_onnx, BackendOptions(device="CUDA"))
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(EdgeConvError, match="cannot load"):
        create_backend("onnxruntime", fake)
    with pytest.raises(UsageError, match=r"--device \| unknown value 'NPU7'\. Note: expected one of CPU, GPU, NPU"):
        BackendOptions(device="NPU7")  # a device no back end names: refused before any model loads
    ov = pytest.importorskip("openvino", reason="the openvino extra is not installed")
    here = {name.split(".")[0] for name in ov.Core().available_devices}
    absent = next((d for d in ("NPU", "GPU") if d not in here), None)
    if absent is None:
        pytest.skip("this machine has both an OpenVINO NPU and GPU: no known device is absent")
    with pytest.raises(UsageError, match=f"openvino device {absent} \\| is not available here"):
        create_backend("openvino", default_onnx, BackendOptions(device=absent))


def test_doctor_status_lists_every_backend() -> None:
    rows = {name: (usable, why) for name, usable, why in backend_status()}
    assert rows["onnxruntime"][0] is True
    assert set(rows) == {"onnxruntime", "openvino", "tensorrt"}
    usable, why = tensorrt_status()
    assert rows["tensorrt"] == (usable, why)
    if not usable:
        assert "tensorrt" in why.lower() or "gpu" in why.lower()


def test_tensorrt_engine_cache_key_changes_with_each_part() -> None:
    profile = optimization_profile()
    base = engine_cache_key(b"model", "10.3.0", "Orin", "int8", profile)
    assert base == engine_cache_key(b"model", "10.3.0", "Orin", "int8", profile)
    others = [
        engine_cache_key(b"model2", "10.3.0", "Orin", "int8", profile),
        engine_cache_key(b"model", "10.4.0", "Orin", "int8", profile),
        engine_cache_key(b"model", "10.3.0", "RTX 4090", "int8", profile),
        engine_cache_key(b"model", "10.3.0", "Orin", "fp16", profile),
        engine_cache_key(b"model", "10.3.0", "Orin", "int8", optimization_profile(max_hw=(720, 1280))),
    ]
    assert len({base, *others}) == 6 and all(len(k) == 32 for k in others)


def test_tensorrt_profile_shapes() -> None:
    p = optimization_profile(opt_hw=(360, 640), max_hw=(1081, 1920), min_hw=(9, 9), multiple=8)
    assert p.min_shape == (1, 3, 8, 8) and p.opt_shape == (1, 3, 360, 640) and p.max_shape == (1, 3, 1088, 1920)
    with pytest.raises(UsageError, match="min <= opt <= max"):
        optimization_profile(opt_hw=(4000, 640), max_hw=(1080, 1920))


def test_tensorrt_without_the_package_names_the_extra(default_onnx: Path) -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r"pip install 'edgeconv\[tensorrt\]'"):
            create_backend("tensorrt", default_onnx)
        return
    if not tensorrt_status()[0]:
        pytest.skip("TensorRT is installed but no NVIDIA GPU is visible: engines cannot be built here")
    runner = create_backend("tensorrt", default_onnx)  # pragma: no cover - needs a GPU
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    ref = create_backend("onnxruntime", default_onnx).run(x)
    assert np.abs(runner.run(x) - ref).max() < 1e-3
