"""Typed settings (issue 25): back-end options as enums and a frozen TensorRT profile, ``--backend all`` resolved
once by the registry, errors that name the model's own input, settings built without touching a file, and
TensorRT's device buffers sized once per input shape."""

from __future__ import annotations

import builtins
import pathlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.backends import registry
from edgeconv.runtime.backends.base import BackendOptions, TensorRtProfile
from edgeconv.runtime.backends.registry import create_backend, resolve_backends
from edgeconv.runtime.backends.tensorrt import TensorRtBackend, optimization_profile
from edgeconv.runtime.choices import (
    BackendChoice,
    BackendName,
    DegradationProtocol,
    GraphOptimization,
    InferenceDevice,
    InferencePrecision,
    PerformanceHint,
)
from edgeconv.runtime.imaging.degradations import PROTOCOLS
from edgeconv.runtime.imaging.upscale import UpscaleSettings, upscale_path
from edgeconv.runtime.shipped_models import SHIPPED_MODELS

ORT, OV, TRT = BackendName.ONNXRUNTIME, BackendName.OPENVINO, BackendName.TENSORRT
PHOTO = SHIPPED_MODELS["photo"]  # a real SR model that needs no export (and no torch)


@pytest.fixture()
def usable_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime and OpenVINO usable, TensorRT not: what ``all`` means in these tests, on any machine."""
    monkeypatch.setattr(registry, "backend_status", lambda: [(ORT, True, ""), (OV, True, ""), (TRT, False, "no GPU")])


# --- --backend all, resolved once -------------------------------------------------------------------------------

@pytest.mark.usefixtures("usable_here")
def test_backend_all_with_duplicates_resolves_each_once_in_registry_order() -> None:
    assert resolve_backends(["openvino", "all", "onnxruntime", "openvino"]) == [ORT, OV]
    assert resolve_backends([BackendChoice.ALL, BackendChoice.ALL]) == [ORT, OV]
    assert resolve_backends(["tensorrt", "all"]) == [ORT, OV, TRT]  # named: kept, and loading it says why not
    assert resolve_backends(["openvino", "openvino"]) == [OV]
    assert all(type(name) is BackendName for name in resolve_backends(["all"]))
    with pytest.raises(UsageError, match=r"--backend \| unknown value 'tflite'\. Note: expected one of onnxruntime, "
                                         r"openvino, tensorrt, all"):
        resolve_backends(["onnxruntime", "tflite"])
    with pytest.raises(UsageError, match=r"--backend \| names no back end"):
        resolve_backends([])


@pytest.mark.usefixtures("usable_here")
def test_profiler_and_validation_take_the_registry_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the profiler nor the validation job re-implements ``all``: both list each back end once."""
    from edgeconv.runtime.profiling import profiler
    from edgeconv.runtime.validation import job

    swept: list[list[BackendName]] = []
    monkeypatch.setattr(profiler, "run_profile", lambda models, backends, *rest: swept.append(backends))
    profiler.profile(profiler.ProfileSettings.parse(models=[PHOTO], backends=["onnxruntime", "all"], threads="1",
                                                    sizes="16x16"))
    assert swept == [[ORT, OV]]

    monkeypatch.setattr(job, "create_backend", lambda name, model, options: (name, model))
    settings = job.ValidationSettings(models=[PHOTO], backends=["all", "onnxruntime", "all"])
    assert job._load_runners(settings, print) == [(ORT, PHOTO), (OV, PHOTO)]


def test_settings_take_strings_and_refuse_unknown_ones_naming_the_choices() -> None:
    from edgeconv.runtime.profiling.profiler import ProfileSettings
    from edgeconv.runtime.validation.job import ValidationSettings

    settings = ValidationSettings(models=[PHOTO], backends=["onnxruntime"], degradation="cubic-aliased")
    assert settings.backends == [BackendChoice.ONNXRUNTIME]
    assert settings.degradation is DegradationProtocol.CUBIC_ALIASED
    with pytest.raises(UsageError, match=r"--degradation \| unknown value 'sinc'\. Note: expected one of bicubic"):
        ValidationSettings(models=[PHOTO], degradation="sinc")
    with pytest.raises(UsageError, match=r"--backend \| unknown value 'onnxrt'"):
        ProfileSettings.parse(models=[PHOTO], backends=["onnxrt"], threads="1", sizes="16x16")


def test_degradation_choices_are_the_protocols() -> None:
    assert DegradationProtocol.values() == PROTOCOLS


# --- typed back-end options ---------------------------------------------------------------------------------------

def test_backend_options_are_typed_and_strings_become_members() -> None:
    options = BackendOptions(device="gpu", precision="FP16", graph_optimization="basic", performance_hint="throughput")
    assert options.device is InferenceDevice.GPU and options.precision is InferencePrecision.FP16
    assert options.graph_optimization is GraphOptimization.BASIC
    assert options.performance_hint is PerformanceHint.THROUGHPUT
    defaults = BackendOptions()
    assert (defaults.device, defaults.precision, defaults.trt_profile) == (InferenceDevice.CPU, None, None)
    assert (defaults.graph_optimization, defaults.performance_hint) == (GraphOptimization.ALL, PerformanceHint.LATENCY)
    assert not hasattr(defaults, "extra")
    for bad, message in (({"device": "NPU7"}, r"--device \| unknown value 'NPU7'"),
                         ({"precision": "fp8"}, r"--precision \| unknown value 'fp8'.*fp32, fp16, bf16, int8"),
                         ({"graph_optimization": "fast"}, r"graph_optimization \| unknown value 'fast'"),
                         ({"performance_hint": "SPEED"}, r"performance_hint \| unknown value 'SPEED'")):
        with pytest.raises(UsageError, match=message):
            BackendOptions(**bad)


def test_tensorrt_profile_is_frozen_and_its_defaults_are_the_builders() -> None:
    profile = TensorRtProfile()
    with pytest.raises(AttributeError):
        profile.batch = 2  # type: ignore[misc]
    assert optimization_profile(**asdict(profile)) == optimization_profile()
    wide = TensorRtProfile(opt_hw=(720, 1280), max_hw=(2160, 3840), multiple=8)
    assert optimization_profile(**asdict(wide)).max_shape == (1, 3, 2160, 3840)


@pytest.mark.parametrize("level", list(GraphOptimization))
def test_onnxruntime_honours_every_graph_optimization_level(level: GraphOptimization) -> None:
    x = np.random.default_rng(0).random((1, 3, 12, 10), dtype=np.float32)
    reference = create_backend(ORT, PHOTO).run(x)
    runner = create_backend(ORT, PHOTO, BackendOptions(threads=1, graph_optimization=level))
    np.testing.assert_allclose(runner.run(x), reference, atol=1e-5)


def test_openvino_takes_its_hint_and_refuses_an_int8_precision() -> None:
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    x = np.random.default_rng(0).random((1, 3, 12, 10), dtype=np.float32)
    runner = create_backend(OV, PHOTO, BackendOptions(threads=1, performance_hint=PerformanceHint.THROUGHPUT,
                                                      precision=InferencePrecision.FP32))
    np.testing.assert_allclose(runner.run(x), create_backend(ORT, PHOTO).run(x), atol=1e-4)
    with pytest.raises(UsageError, match=r"openvino precision int8 \| is not an inference precision"):
        create_backend(OV, PHOTO, BackendOptions(precision="int8"))


# --- the input's own name in errors -------------------------------------------------------------------------------

def one_by_one_conv(path: Path, input_name: str) -> Path:
    """A 3 -> 3 1x1-conv model whose input is called ``input_name``."""
    weight = onnx.numpy_helper.from_array(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1), "w")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", [input_name, "w"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info(input_name, onnx.TensorProto.FLOAT, [1, 3, None, None])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, None, None])], [weight])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("backend", [ORT, OV])
def test_input_errors_name_the_models_own_input(backend: BackendName, tmp_path: Path) -> None:
    if backend == OV:
        pytest.importorskip("openvino", reason="the openvino extra is not installed")
    runner = create_backend(backend, one_by_one_conv(tmp_path / "lr.onnx", "lr_image"))
    assert runner.input_name == "lr_image"
    with pytest.raises(UsageError, match=r"^Input tensor: lr_image \| received incompatible shape \(1, 4, 8, 8\)"):
        runner.run(np.zeros((1, 4, 8, 8), np.float32))
    with pytest.raises(UsageError, match=r"^Input tensor: lr_image \| is a list, not a numpy array"):
        runner.run([[1.0]])  # type: ignore[arg-type]
    assert runner.run(np.ones((1, 3, 4, 5), np.float32)).shape == (1, 3, 4, 5)


# --- settings touch no file ----------------------------------------------------------------------------------------

def test_upscale_settings_do_no_file_io_and_the_job_fails_on_a_missing_model(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (8, 6)).save(image)

    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"file I/O while building settings: {args}")

    with monkeypatch.context() as io:
        for name in ("stat", "lstat", "open", "exists", "is_file", "is_dir", "read_bytes", "read_text"):
            io.setattr(pathlib.Path, name, no_io)
        io.setattr(builtins, "open", no_io)
        missing = UpscaleSettings(source=image, model=tmp_path / "nope.onnx")
        shipped = UpscaleSettings(source=image, model="bicubic", backend="openvino", device="cpu", precision="fp16")
        untouched = UpscaleSettings(source=tmp_path / "no-such-folder", target=tmp_path / "out", model="photo")
    assert (shipped.backend, shipped.device, shipped.precision) == (OV, InferenceDevice.CPU, InferencePrecision.FP16)
    assert shipped.model_file.name == "sr_x2_bicubic.onnx" and missing.model_file == tmp_path / "nope.onnx"
    assert missing.target is None and missing.output_file is None  # the default target needs the model: resolve()
    with pytest.raises(UsageError, match=r"nope\.onnx \| does not exist\. Note: give an \.onnx file or a shipped"):
        upscale_path(missing)
    with pytest.raises(UsageError, match=r"no-such-folder \| does not exist"):
        upscale_path(untouched)
    assert not (tmp_path / "a_x2.png").exists()
    assert UpscaleSettings(source=image).resolve().output_file == tmp_path / "a_x2.png"  # read from the model: x2


def test_upscale_settings_refuse_an_unknown_backend_or_device_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--backend \| unknown value 'tflite'"):
        UpscaleSettings(source=tmp_path, backend="tflite")
    with pytest.raises(UsageError, match=r"--device \| unknown value 'TPU'\. Note: expected one of CPU, GPU"):
        UpscaleSettings(source=tmp_path, device="TPU")


# --- TensorRT: device buffers once per input shape (no GPU needed: cuda-python and TensorRT faked) ----------------

class FakeCudart:
    """The cuda-python calls ``TensorRtBackend._run`` makes, counted; every call succeeds (error code 0)."""

    class cudaMemcpyKind:  # noqa: N801 - cuda-python's name
        cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost = 1, 2

    def __init__(self) -> None:
        self.malloc: list[int] = []
        self.freed: list[int] = []
        self.live: set[int] = set()

    def cudaMalloc(self, nbytes: int) -> tuple[int, int]:  # noqa: N802
        self.malloc.append(nbytes)
        pointer = 0x1000 * len(self.malloc)
        self.live.add(pointer)
        return 0, pointer

    def cudaFree(self, pointer: int) -> tuple[int]:  # noqa: N802
        self.freed.append(pointer)
        self.live.discard(pointer)
        return (0,)

    def cudaMemcpyAsync(self, dst: int, src: int, nbytes: int, kind: int, stream: int) -> tuple[int]:  # noqa: N802
        assert dst in self.live or src in self.live, "a copy to or from a freed buffer"
        return (0,)

    def cudaStreamSynchronize(self, stream: int) -> tuple[int]:  # noqa: N802
        return (0,)

    def cudaStreamDestroy(self, stream: int) -> tuple[int]:  # noqa: N802
        return (0,)


class FakeContext:
    """A x2 SR engine's execution context: the output shape follows the input shape."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] = ()
        self.addresses: dict[str, int] = {}
        self.runs = 0

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.shape = shape
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        n, c, h, w = self.shape
        return n, c, 2 * h, 2 * w

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream: int) -> bool:
        self.runs += 1
        return True


def test_tensorrt_allocates_device_buffers_once_per_input_shape() -> None:
    runner = TensorRtBackend.__new__(TensorRtBackend)  # no engine build: only _run's buffer handling is under test
    cuda, context = FakeCudart(), FakeContext()
    runner.cudart, runner.context, runner.stream, runner.path = cuda, context, 7, Path("m.onnx")
    runner.input_name, runner.output_name = "input", "output"
    runner._bound, runner._d_in, runner._d_out = None, None, None
    small, large = np.zeros((1, 3, 8, 8), np.float32), np.zeros((1, 3, 16, 12), np.float32)
    outputs = [runner._run(small) for _ in range(5)]
    assert cuda.malloc == [small.nbytes, small.nbytes * 4] and cuda.freed == []  # once for five calls
    assert all(o.shape == (1, 3, 16, 16) for o in outputs) and len({id(o) for o in outputs}) == 5  # fresh outputs
    assert runner._run(large).shape == (1, 3, 32, 24)
    assert len(cuda.malloc) == 4 and len(cuda.freed) == 2  # a new shape: the old pair freed, a new pair bound
    assert set(context.addresses.values()) == cuda.live and context.runs == 6
    runner._run(large)
    assert len(cuda.malloc) == 4
    runner.__del__()
    assert cuda.live == set()
