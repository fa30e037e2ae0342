"""The 8-bit output form: uint8 pixels converted inside the graph equal the float model's pixels converted in numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import edgeconv.export.graph.byte_output as byte_output
from edgeconv.errors import EdgeConvError
from edgeconv.export.graph.byte_output import OUTPUT_DTYPE_KEY, with_uint8_output, write_uint8_output_form
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.imaging.sr_runner import load_model
from edgeconv.runtime.imaging.upscale import DecodedImage, upscale_image
from edgeconv.runtime.model_facts import read_model_facts
from edgeconv.runtime.shipped_models import SCALES, byte_output_form, for_onnxruntime, shipped_path

SHIPPED = [(name, scale) for name in ("photo", "bicubic") for scale in SCALES]


def _run(model: onnx.ModelProto | Path, x: np.ndarray) -> np.ndarray:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _pixels(y: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """The float output as upscale converts it: scaled to 0-255, clipped, rounded half to even."""
    return np.rint(np.clip((y - lo) * np.float32(255.0 / (hi - lo)), 0, 255)).astype(np.int16)


def _tiny(op: str, **attrs: int) -> onnx.ModelProto:
    """A one-node float graph (N, 4, H, W) -> output, with edgeconv metadata."""
    node = helper.make_node(op, ["input"], ["output"], **attrs)
    graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                             ["n", 4, "h", "w"])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n", "c", "oh", "ow"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"edgeconv.task": "sr"})
    return model


def test_the_conversion_sits_before_the_pixel_shuffle() -> None:
    """Shipped x3: Mul and QuantizeLinear (step 1) at LR size, then DepthToSpace moves uint8; the file says so."""
    model = onnx.load(byte_output_form(shipped_path("photo", 3)))
    assert [n.op_type for n in model.graph.node][-3:] == ["Mul", "QuantizeLinear", "DepthToSpace"]
    assert model.graph.output[0].type.tensor_type.elem_type == TensorProto.UINT8
    props = {p.key: p.value for p in model.metadata_props}
    assert props[OUTPUT_DTYPE_KEY] == "uint8" and props["edgeconv.scale"] == "3"


def test_a_range_other_than_0_1_and_an_output_that_is_not_moved() -> None:
    """value_range (-1, 1): an Add joins the Mul; a Relu output gets the chain after it; a DepthToSpace before it."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.4, 1.4, (1, 4, 5, 7)).astype(np.float32)
    relu = with_uint8_output(_tiny("Relu"), (-1.0, 1.0))
    assert [n.op_type for n in relu.graph.node] == ["Relu", "Mul", "Add", "QuantizeLinear"]
    np.testing.assert_array_equal(_run(relu, x), _pixels(np.maximum(x, 0), -1.0, 1.0))
    shuffle = _tiny("DepthToSpace", blocksize=2, mode="CRD")
    moved = with_uint8_output(shuffle, (-1.0, 1.0))
    assert [n.op_type for n in moved.graph.node] == ["Mul", "Add", "QuantizeLinear", "DepthToSpace"]
    got = _run(moved, x)
    assert got.dtype == np.uint8 and got.shape == (1, 1, 10, 14)
    np.testing.assert_array_equal(got, _pixels(_run(shuffle, x), -1.0, 1.0))


@pytest.mark.parametrize(("name", "scale"), SHIPPED)
@pytest.mark.parametrize("ort_form", [False, True], ids=["openvino-form", "ort-form"])
def test_shipped_byte_forms_give_the_float_models_pixels(name: str, scale: int, ort_form: bool) -> None:
    """Every shipped file's 8-bit sibling on a real photo: the float model's pixels, at most a rare level apart."""
    from skimage import data

    path = for_onnxruntime(shipped_path(name, scale)) if ort_form else shipped_path(name, scale)
    x = read_model_facts(path).to_input(data.astronaut()[100:180, 150:250])
    expected = _pixels(_run(path, x))
    got = _run(byte_output_form(path), x)
    assert got.dtype == np.uint8 and got.shape == expected.shape == (1, 3, 80 * scale, 100 * scale)
    gap = np.abs(got.astype(np.int16) - expected)
    assert gap.max() <= 1 and (gap > 0).mean() < 1e-4


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(1, 40), w=st.integers(1, 40), tile=st.sampled_from([0, 7, 16]), grey=st.booleans(),
       seed=st.integers(0, 2**16))
@pytest.mark.parametrize("backend", [BackendName.ONNXRUNTIME, BackendName.OPENVINO])
def test_upscale_with_the_byte_form_equals_the_float_path(backend: BackendName, h: int, w: int, tile: int,
                                                          grey: bool, seed: int) -> None:
    """``upscale_image`` with the 8-bit form (what ``upscale`` loads for 8-bit images) vs the float model alone:
    the same pixels for any size, tiling and RGB or grey."""
    model = _loaded(backend)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w) if grey else (h, w, 3), dtype=np.uint8)
    image = DecodedImage(pixels, None, "L" if grey else "RGB")
    overlap = 5 if tile else 0
    plain = np.asarray(upscale_image(model.run, model.facts, image, tile, overlap), np.int16)
    fast = np.asarray(upscale_image(model.run, model.facts, image, tile, overlap, None, model.run_bytes), np.int16)
    assert plain.shape == fast.shape == ((3 * h, 3 * w) if grey else (3 * h, 3 * w, 3))
    assert np.abs(plain - fast).max() <= 1 and (plain != fast).mean() < 1e-3


def test_sixteen_bit_images_keep_the_float_path() -> None:
    """A 16-bit image never goes through the 8-bit form (its output stays 16-bit, with 16-bit precision)."""
    model = _loaded(BackendName.ONNXRUNTIME)
    ramp = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 521).astype(np.uint16)
    image = DecodedImage(ramp, None, "I;16")
    out = upscale_image(model.run, model.facts, image, 0, 0, None, model.run_bytes)
    plain = upscale_image(model.run, model.facts, image, 0, 0)
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), np.asarray(plain))
    assert len(np.unique(np.asarray(out))) > 256  # more levels than 8 bits hold


_LOADED: dict[BackendName, object] = {}


def _loaded(backend: BackendName):  # noqa: ANN202 - a LoadedModel, cached across hypothesis examples
    if backend not in _LOADED:
        path = for_onnxruntime(shipped_path("photo", 3)) if backend == BackendName.ONNXRUNTIME else \
            shipped_path("photo", 3)
        _LOADED[backend] = load_model(backend, path, BackendOptions(threads=1), tiled=False)
        assert _LOADED[backend].run_bytes is not None  # the sibling was found and loaded
    return _LOADED[backend]


def test_a_form_that_disagrees_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the 8-bit graph's pixels differ from the float model's by more than a level, nothing is written."""
    real = byte_output.with_uint8_output

    def doubled(model: onnx.ModelProto, value_range: tuple[float, float]) -> onnx.ModelProto:
        return real(model, (value_range[0], value_range[1] / 2))  # twice the gain: every bright pixel off

    monkeypatch.setattr(byte_output, "with_uint8_output", doubled)
    out = tmp_path / "bad.u8.onnx"
    with pytest.raises(EdgeConvError, match="differs from the float model's pixels"):
        write_uint8_output_form(shipped_path("photo", 2), out)
    assert not out.exists()


@pytest.mark.parametrize("name", ["x.onnx", "x.ort.onnx", "m.int8.onnx"])
def test_the_byte_form_name_maps_back_to_its_float_model(name: str) -> None:
    from edgeconv.runtime.shipped_models import float_form_of_byte_output

    path = Path("/models") / name
    assert byte_output_form(path) != path and float_form_of_byte_output(byte_output_form(path)) == path
