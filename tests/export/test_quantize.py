"""INT8 / FP16 quantization of the default model: artifacts, accuracy budget, CPU advice, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.export.quantization.calibration import calibration_feeds
from edgeconv.export.quantization.job import measure
from edgeconv.export.quantization.progress import JobProgress
from edgeconv.export.quantization.ptq import Int8Config, constants_to_initializers, convert_fp16, quantize_int8
from edgeconv.export.quantization.reference import COLLAPSE_DB, Fp32Reference
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.runtime.cpu.features import cpu_flags
from edgeconv.runtime.cpu.int8_targets import native_target
from edgeconv.runtime.model_facts import read_model_facts
from tests.conftest import run_cli

ZEN1 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD Ryzen 7 1700\nflags\t\t: fpu sse2 avx avx2 fma\n"
EPYC = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni avx512_bf16\n"
PI4 = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU part\t: 0xd08\n"
PI5 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimddp\n"


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped default checkpoint exported to ONNX (checked against PyTorch on real images)."""
    from skimage import data

    folder = tmp_path_factory.mktemp("fp32")
    Image.fromarray(data.astronaut()[:96, :96]).save(folder / "astronaut.png")
    path = folder / "default.onnx"
    export_checkpoint(DEFAULT_CHECKPOINT, path, check_folder=folder)
    return path


@pytest.fixture(scope="module")
def calib_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Calibration photos of mixed sizes and modes: RGB, grey, RGBA, palette, 16-bit grey, CMYK, tiny."""
    from skimage import data

    folder = tmp_path_factory.mktemp("calib")
    astronaut, coffee, chelsea = data.astronaut(), data.coffee(), data.chelsea()
    Image.fromarray(astronaut).save(folder / "a_rgb.png")
    Image.fromarray(coffee).convert("L").save(folder / "b_grey.png")
    Image.fromarray(chelsea).convert("RGBA").save(folder / "c_rgba.png")
    Image.fromarray(astronaut[200:400, 100:300]).convert("P").save(folder / "d_palette.png")
    Image.fromarray(data.camera().astype(np.uint16) * 257).save(folder / "e_grey16.png")
    Image.fromarray(coffee[50:250, 100:400]).convert("CMYK").save(folder / "f_cmyk.jpg")
    Image.fromarray(chelsea[:40, :50]).save(folder / "g_tiny.png")
    (folder / "notes.txt").write_text("not an image, ignored by suffix")
    return folder


def test_int8_target_from_captured_cpuinfo() -> None:
    assert native_target(ZEN1)[0] == "x86-avx2" and "without VNNI" in native_target(ZEN1)[1]
    assert native_target(EPYC)[0] == "x86-vnni" and "avx512_vnni" in native_target(EPYC)[1]
    assert cpu_flags(PI4)[0] == "arm64" and native_target(PI4)[0] == native_target(PI5)[0] == "arm"
    assert native_target("garbage without flags")[0] in ("x86-avx2", "arm")  # never raises


def test_int8_and_fp16_artifacts_load_everywhere(fp32_model: Path, calib_folder: Path, tmp_path: Path) -> None:
    facts = read_model_facts(fp32_model)
    feeds = calibration_feeds(calib_folder, facts, "input", crop=64)
    assert len(feeds) == 7 and {f["input"].shape for f in feeds} == {(1, 3, 64, 64)}
    fp32 = onnx.load(fp32_model)
    x = feeds[0]["input"]
    want = ort.InferenceSession(str(fp32_model), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    for method in ("minmax", "entropy", "percentile"):
        int8 = quantize_int8(fp32, feeds, Int8Config(method=method))
        onnx.checker.check_model(int8)
        ops = {n.op_type for n in int8.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
        weights = {t.name: t for t in int8.graph.initializer}
        assert weights["body.1.weight_quantized"].data_type == onnx.TensorProto.INT8
        session = ort.InferenceSession(int8.SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x})[0]
        assert 10 * np.log10(1 / np.mean((got - want) ** 2)) > 35, method
    half = convert_fp16(fp32)
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in half.graph.initializer)
    got = ort.InferenceSession(half.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert np.abs(got - want).max() < 5e-3
    ov = pytest.importorskip("openvino", reason="the openvino extra is not installed")
    core = ov.Core()
    # the INT8 artifact `edgeconv quantize` makes on this CPU (its scheme, OpenVINO-loadable by construction)
    settings = QuantizeSettings(fp32_model, calib_folder, method="minmax", calib_crop=64, max_calib_images=8,
                                threads=2, latency_hw=(32, 32))
    done = measure(settings, Fp32Reference.load(fp32_model), settings.int8_plan(), JobProgress())
    for model in (done.outcome.chosen.model, half):
        # f32 as edgeconv's OpenVINO back end asks (bf16 is OpenVINO's default on CPUs that have it)
        compiled = core.compile_model(core.read_model(model.SerializeToString(), b""), "CPU",
                                      {"INFERENCE_PRECISION_HINT": "f32"})
        out = compiled({"input": x})[compiled.output(0)]
        assert 10 * np.log10(1 / np.mean((out - want) ** 2)) > 35


def test_collapse_is_caught(fp32_model: Path, calib_folder: Path) -> None:
    """A broken INT8 model (a weight scale 1000x off, like kernel saturation) fails the collapse check."""
    reference = Fp32Reference.load(fp32_model)
    feeds = calibration_feeds(calib_folder, reference.facts, "input", crop=64)
    good = quantize_int8(reference.model, feeds, Int8Config())
    scheme = Int8Config().scheme
    assert reference.collapse_db(good, feeds, scheme) > COLLAPSE_DB
    broken = onnx.ModelProto()
    broken.CopyFrom(good)
    scale = next(t for t in broken.graph.initializer if t.name == "body.1.weight_scale")
    values = onnx.numpy_helper.to_array(scale) * 1000
    scale.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float32), scale.name))
    assert reference.collapse_db(broken, feeds, scheme) < COLLAPSE_DB


def test_constants_become_weights(fp32_model: Path) -> None:
    """A weight held in a Constant node (graphs from other exporters) is moved back into an initializer."""
    model = onnx.load(fp32_model)
    assert not any(n.op_type == "Constant" for n in model.graph.node)  # export names every conv weight
    weight = next(t for t in model.graph.initializer if t.name == "body.1.weight")
    model.graph.initializer.remove(weight)
    model.graph.node.insert(0, onnx.helper.make_node("Constant", [], ["body.1.weight"], value=weight))
    moved = constants_to_initializers(model)
    assert not any(n.op_type == "Constant" for n in moved.graph.node)
    assert "body.1.weight" in {t.name for t in moved.graph.initializer}


@pytest.mark.slow
def test_quantize_cli_budget_on_set5(fp32_model: Path, sr_data: Path, tmp_path: Path) -> None:
    """Must-show: INT8 within 0.1 dB of FP32 PSNR-Y on Set5 (budget mode), FP16 within 0.01 dB."""
    out, report = tmp_path / "int8.onnx", tmp_path / "report.json"
    result = run_cli(
        "quantize", str(fp32_model), "--calib", str(sr_data / "T91"), "--images", str(sr_data / "Set5"),
        "--max-psnr-drop", "0.1", "-o", str(out), "--json", str(report),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    int8 = data["candidates"][0]
    assert int8["precision"] == "int8" and data["fp32_psnr_y_db"] - int8["psnr_y_db"] <= 0.1
    assert data["fp32_psnr_y_db"] > 35.6  # the photo model: bicubic upscaling (33.67) + 2.01 dB
    assert data["sensitivity"] and all(s["module"] for s in data["sensitivity"])
    assert set(data["loads_in"]) >= {"onnxruntime"}
    model = onnx.load(out)
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["edgeconv.precision"] == "int8" and props["edgeconv.task"] == "sr"
    assert json.loads(props["edgeconv.quantization"])["kept_float"] == data["kept_float"]

    half, half_report = tmp_path / "fp16.onnx", tmp_path / "fp16.json"
    result = run_cli("quantize", str(fp32_model), "--fp16", "--images", str(sr_data / "Set5"),
                     "--max-psnr-drop", "0.01", "-o", str(half), "--json", str(half_report))
    assert result.returncode == 0, result.stderr
    data = json.loads(half_report.read_text())
    assert abs(data["fp32_psnr_y_db"] - data["candidates"][0]["psnr_y_db"]) <= 0.01


def test_budget_that_cannot_be_met_writes_nothing(fp32_model: Path, sr_data: Path, tmp_path: Path) -> None:
    # calibrated on one nearly flat grey image, every layer's ranges are far too narrow: even the best mix of
    # FP32 layers, which keeps at least one lossy layer quantized, loses PSNR-Y on Set5
    flat = tmp_path / "flat"
    flat.mkdir()
    grey = 128 + np.random.default_rng(0).integers(-2, 3, (64, 64, 3))
    Image.fromarray(grey.astype(np.uint8)).save(flat / "grey.png")
    out = tmp_path / "int8.onnx"
    result = run_cli("quantize", str(fp32_model), "--calib", str(flat), "--images", str(sr_data / "Set5"),
                     "--max-psnr-drop", "0", "--calib-crop", "64", "-o", str(out))
    assert result.returncode == 1, result.stdout
    assert "misses the budget" in result.stderr and "short by" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_flat_calibration_images_get_one_clear_line(fp32_model: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(flat / "grey.png")
    result = run_cli("quantize", str(fp32_model), "--calib", str(flat), "-o", str(tmp_path / "m.onnx"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--calib | the calibration images give no usable ranges" in result.stderr
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("kind", ["not_onnx", "external_outside", "empty_calib", "no_calib", "corrupt_image"])
def test_bad_input_gets_one_line_and_no_output(kind: str, fp32_model: Path, tmp_path: Path) -> None:
    model, calib = fp32_model, tmp_path / "calib"
    calib.mkdir()
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(calib / "ok.png")
    expected = {
        "not_onnx": (2, "is not an ONNX model"),  # a bad input file is a usage error: 2, as in every command
        "external_outside": (2, "outside its folder"),
        "empty_calib": (2, "holds no images"),
        "no_calib": (2, "needs calibration images"),
        "corrupt_image": (2, "cannot be read as an image"),
    }[kind]
    args = ["--calib", str(calib)]
    if kind == "not_onnx":
        model = tmp_path / "fake.onnx"
        model.write_text("this is a text file, not a protobuf\n" * 10)
    elif kind == "external_outside":
        proto = onnx.load(fp32_model)
        weight = next(t for t in proto.graph.initializer if t.name == "body.1.weight")
        weight.ClearField("raw_data")
        weight.data_location = onnx.TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", "../../etc/passwd"
        model = tmp_path / "evil" / "evil.onnx"
        model.parent.mkdir()
        model.write_bytes(proto.SerializeToString())
    elif kind == "empty_calib":
        (calib / "ok.png").unlink()
    elif kind == "no_calib":
        args = []
    elif kind == "corrupt_image":
        (calib / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out = tmp_path / "out.onnx"
    result = run_cli("quantize", str(model), *args, "-o", str(out))
    code, message = expected
    assert result.returncode == code, result.stderr
    assert message in result.stderr and result.stderr.count("\n") <= 2
    assert "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.rglob(".*.tmp"))


def test_precision_auto_picks_the_fastest_within_budget(fp32_model: Path, calib_folder: Path, sr_data: Path,
                                                         tmp_path: Path) -> None:
    out, report = tmp_path / "auto.onnx", tmp_path / "auto.json"
    result = run_cli("quantize", str(fp32_model), "--precision", "auto", "--calib", str(calib_folder),
                     "--calib-crop", "64", "--images", str(sr_data / "Set5"), "--size", "64x96",
                     "-o", str(out), "--json", str(report))
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    rows = {c["precision"]: c for c in data["candidates"]}
    assert set(rows) == {"fp32", "fp16", "int8"}
    eligible = [c for c in rows.values() if c["within_budget"]]
    assert data["chosen"] == min(eligible, key=lambda c: c["median_ms"])["precision"]
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert props["edgeconv.precision"] == data["chosen"]


def test_written_int8_artifact_is_compact_and_computes_the_same(fp32_model: Path, calib_folder: Path,
                                                                tmp_path: Path) -> None:
    """Short tensor names, no shapes, no stale onnxsim metadata: same outputs, same node names, ~half the bytes."""
    from edgeconv.export.graph.compact import compact_artifact

    out = tmp_path / "int8.onnx"
    result = run_cli("quantize", str(fp32_model), "--calib", str(calib_folder), "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = onnx.load(out)
    onnx.checker.check_model(written)
    assert not written.graph.value_info
    keys = {p.key for p in written.metadata_props}
    assert "edgeconv.precision" in keys and not any(k.startswith("onnxsim.") for k in keys)
    ratio = out.stat().st_size / fp32_model.stat().st_size
    assert ratio < 0.6, f"INT8 file is {ratio:.0%} of FP32"

    fp32 = onnx.load(fp32_model)
    feeds = calibration_feeds(calib_folder, read_model_facts(fp32_model), "input", crop=64)
    job_model = quantize_int8(fp32, feeds, Int8Config())
    compact = compact_artifact(job_model)
    assert [n.name for n in compact.graph.node] == [n.name for n in job_model.graph.node]
    x = np.random.default_rng(0).random((1, 3, 40, 56), dtype=np.float32)
    runs = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
            for m in (job_model, compact)]
    a, b = (s.run(None, {s.get_inputs()[0].name: x})[0] for s in runs)
    np.testing.assert_array_equal(a, b)


def test_int8_sr_output_lands_on_the_8bit_image_grid(fp32_model: Path, calib_folder: Path) -> None:
    """The last Q/DQ of an SR model is the image's own 8-bit grid in [0, 1]: saving it rounds nothing more."""
    from edgeconv.export.quantization.ptq import snap_output_to_image_grid
    from edgeconv.export.quantization.schemes import ort_runner
    from edgeconv.runtime.model_facts import read_model_facts

    facts = read_model_facts(fp32_model)
    feeds = calibration_feeds(calib_folder, facts, "input", crop=64)
    for activations in ("u8", "s8"):
        config = Int8Config(activation_type=activations, weight_type=activations, image_output=(0.0, 1.0))
        model = quantize_int8(onnx.load(fp32_model), feeds, config)
        out = ort_runner(model)(feeds[0]["input"])
        assert out.min() >= 0.0 and out.max() <= 1.0
        np.testing.assert_allclose(out * 255, np.rint(out * 255), atol=1e-3)
        assert not snap_output_to_image_grid(onnx.load(fp32_model), (0.0, 1.0), "u8")  # FP32: no pair to snap
    calibrated = ort_runner(quantize_int8(onnx.load(fp32_model), feeds, Int8Config()))(feeds[0]["input"])
    assert np.abs(calibrated * 255 - np.rint(calibrated * 255)).max() > 0.01  # without it: off the grid
