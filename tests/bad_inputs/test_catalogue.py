"""The bad-input catalogue: every entry built here, fed to the real CLI in a subprocess.

Each test asserts the exit code, the one-line message (``error: Subject | problem. Note: ...``),
that no traceback was printed and that no output or temp file was left behind. Inputs the tool
must *handle* (odd image modes) assert a complete output instead.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.models.test_checkpoint import BAD, write_bad

LINE = re.compile(r"^error: .+ \| .+\.")


def assert_clean_failure(result, code: int, message: str, out: Path | None) -> None:  # noqa: ANN001
    """Exit ``code``, one ``error:`` line matching ``message``, no traceback, nothing written."""
    assert result.returncode == code, (result.returncode, result.stderr[-500:])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and LINE.match(lines[0]), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    if out is not None:
        assert not out.exists(), f"{out} was written"
        assert not list(out.parent.glob(".*.tmp")), "a temp file was left behind"


def assert_refused_choice(result, option: str, value: str, choices, out: Path | None = None) -> None:  # noqa: ANN001
    """Typer refused ``value`` for the closed-set ``option``: exit 2, the option, the value and every choice named
    (compared without case: case-insensitive options list their choices in lower case), no traceback, nothing
    written. Typer prints a box that wraps at the terminal width: its frame is dropped before matching."""
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    text = " ".join(re.sub(r"[\u2500-\u257f]", " ", result.stderr).split()).lower()
    assert f"'{option}'" in text and f"'{value.lower()}'" in text, result.stderr
    missing = [str(c) for c in choices if f"'{str(c).lower()}'" not in text]
    assert not missing, f"choices not named: {missing}; {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    if out is not None:
        assert not out.exists(), f"{out} was written"


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` (past Pillow's decompression-bomb limit)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
                     + chunk(b"IEND", b""))


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
    return path


# --- checkpoints (edgeconv export) -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "code_pickle", "other_architecture",
                                  "missing_key", "extra_key"])
def test_bad_checkpoint(kind: str, tmp_path: Path) -> None:
    bad = write_bad(tmp_path, kind)
    out = tmp_path / "out" / "model.onnx"
    out.parent.mkdir()
    result = run_cli("export", str(bad), "-o", str(out))
    assert_clean_failure(result, 2, re.escape(str(bad)) + " \\| " + BAD[kind], out)
    assert not (tmp_path / "pwned").exists()


# --- ONNX files (upscale: the device side) ------------------------------------------------------

def custom_op_model(path: Path) -> None:
    node = onnx.helper.make_node("Frobnicate", ["input"], ["output"], domain="com.evil")
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, None, None])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, None, None])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17),
                                                         onnx.helper.make_opsetid("com.evil", 1)])
    path.write_bytes(model.SerializeToString())


def external_outside_model(default_onnx: Path, path: Path) -> None:
    model = onnx.load(default_onnx)
    weight = next(t for t in model.graph.initializer if t.name == "body.1.weight")
    (path.parent.parent / "weights.bin").write_bytes(weight.raw_data)
    weight.ClearField("raw_data")
    weight.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "../weights.bin"), ("length", str(16 * 16 * 9 * 4))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize(("kind", "message"), [
    ("not_onnx", r"ONNX Runtime cannot load it"),
    ("custom_op", r"ONNX Runtime cannot load it.*Frobnicate|com\.evil"),
    ("external_outside", r"escapes model directory"),
])
def test_bad_onnx_file(kind: str, message: str, default_onnx: Path, photo: Path, tmp_path: Path) -> None:
    model = tmp_path / "models" / "m.onnx"
    model.parent.mkdir()
    if kind == "not_onnx":
        model.write_text("name,value\nnot,an onnx model\n")
    elif kind == "custom_op":
        custom_op_model(model)
    else:
        external_outside_model(default_onnx, model)
    out = tmp_path / "out.png"
    assert_clean_failure(run_cli("upscale", str(photo), str(out), "--model", str(model)), 2, message, out)


# --- model inputs (validate) --------------------------------------------------------------------

def model_expecting(path: Path, channels: int, dtype: int, rank: int = 4) -> None:
    """A 1x1-conv model whose input is (N, channels, H, W) of ``dtype`` - or (channels, H, W) for rank 3."""
    weight = onnx.numpy_helper.from_array(np.ones((3, channels, 1, 1), np.float32), "w")
    axes = onnx.numpy_helper.from_array(np.array([0], np.int64), "axes")
    nodes = [onnx.helper.make_node("Cast", ["input"], ["x"], to=onnx.TensorProto.FLOAT)]
    if rank == 3:
        nodes.append(onnx.helper.make_node("Unsqueeze", ["x", "axes"], ["x4"]))
    nodes.append(onnx.helper.make_node("Conv", ["x4" if rank == 3 else "x", "w"], ["output"]))
    shape = [channels, None, None] if rank == 3 else [1, channels, None, None]
    graph = onnx.helper.make_graph(
        nodes, "g", [onnx.helper.make_tensor_value_info("input", dtype, shape)],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, None, None])],
        [weight, axes] if rank == 3 else [weight])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize(("channels", "dtype", "rank", "message"), [
    (1, onnx.TensorProto.FLOAT, 4, r"failed on input \(1, 3, 224, 224\).*(channel|dimension|Got invalid)"),
    (3, onnx.TensorProto.FLOAT16, 4, r"failed on input.*(type|float16)"),
    (3, onnx.TensorProto.FLOAT, 3, r"failed on input.*(rank|dimension|Got invalid)"),
])
def test_input_the_model_does_not_take(channels: int, dtype: int, rank: int, message: str, photo: Path,
                                       tmp_path: Path) -> None:
    model = tmp_path / "odd.onnx"
    model_expecting(model, channels, dtype, rank)
    out = tmp_path / "val.json"
    result = run_cli("validate", str(model), "--images", str(photo.parent), "--backend", "onnxruntime",
                     "--runs", "1", "--size", "8x8", "--json", str(out))
    assert_clean_failure(result, 1, message, out)


@pytest.mark.parametrize("args", [
    ["validate", "MODEL", "--size", "0x640"],
    ["profile", "MODEL", "--size", "360x0"],
])
def test_zero_height_or_width(args: list[str], default_onnx: Path) -> None:
    result = run_cli(*[str(default_onnx) if a == "MODEL" else a for a in args])
    assert_clean_failure(result, 2, r"has an empty side", None)


# --- images (upscale) ---------------------------------------------------------------------------

def test_image_past_the_decompression_limit(default_onnx: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, 20000, 20000)
    out = tmp_path / "bomb_x2.png"
    assert_clean_failure(run_cli("upscale", str(bomb), str(out), "--model", str(default_onnx)), 2,
                         r"too large to decode", out)


def test_non_image_file_in_an_image_folder(default_onnx: Path, photo: Path, tmp_path: Path) -> None:
    folder, out = tmp_path / "imgs", tmp_path / "ups"
    folder.mkdir()
    Image.open(photo).save(folder / "a.png")
    (folder / "b.png").write_text("this is a text file with an image suffix")
    result = run_cli("upscale", str(folder), str(out), "--model", str(default_onnx))
    # a folder run goes on past a bad file: it is listed (one line), the summary error says so, exit 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 2 and re.search(r"^failed: .*b\.png \| cannot be read as an image", lines[0]), lines
    assert LINE.match(lines[1]) and "1 file(s) could not be upscaled" in lines[1]
    assert not (out / "b.png").exists() and not list(out.glob(".*.tmp"))
    with Image.open(out / "a.png") as done:  # the good image is complete and kept
        assert done.size == (64, 48)


@pytest.mark.parametrize(("name", "make", "mode"), [
    ("grey.png", lambda a: Image.fromarray(a).convert("L"), "L"),
    ("rgba.png", lambda a: Image.fromarray(a).convert("RGBA"), "RGBA"),
    ("palette.png", lambda a: Image.fromarray(a).convert("P"), "RGB"),
    ("grey16.png", lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257), "I;16"),
    ("cmyk.jpg", lambda a: Image.fromarray(a).convert("CMYK"), "RGB"),
    ("one.png", lambda a: Image.fromarray(a[:1, :1]), "RGB"),
])
def test_odd_image_modes_are_handled(name: str, make, mode: str, default_onnx: Path, tmp_path: Path) -> None:  # noqa: ANN001
    src, out = tmp_path / name, tmp_path / "out.png"
    image = make(np.random.default_rng(1).integers(0, 255, (20, 28, 3), dtype=np.uint8))
    image.save(src)
    result = run_cli("upscale", str(src), str(out), "--model", str(default_onnx))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as done:
        assert done.mode == mode and done.size == (image.width * 2, image.height * 2)


def test_exif_rotated_image_comes_out_upright(default_onnx: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "exif.jpg", tmp_path / "out.png"
    image = Image.fromarray(np.random.default_rng(2).integers(0, 255, (20, 28, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(src, exif=exif)
    assert run_cli("upscale", str(src), str(out), "--model", str(default_onnx)).returncode == 0
    with Image.open(out) as done:
        assert done.size == (40, 56)


# --- calibration, back ends, devices, output paths ---------------------------------------------

def test_empty_calibration_folder(default_onnx: Path, tmp_path: Path) -> None:
    calib, out = tmp_path / "calib", tmp_path / "q.onnx"
    calib.mkdir()
    assert_clean_failure(run_cli("quantize", str(default_onnx), "--calib", str(calib), "-o", str(out)), 2,
                         r"holds no images", out)


def test_back_end_not_installed(default_onnx: Path, photo: Path, tmp_path: Path) -> None:
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here, so it is not a missing back end")
    except ImportError:
        pass
    out = tmp_path / "o.png"
    result = run_cli("upscale", str(photo), str(out), "--model", str(default_onnx), "--backend", "tensorrt")
    assert_clean_failure(result, 1, r"pip install 'edgeconv\[tensorrt\]'", out)


@pytest.mark.parametrize(("backend", "device", "message"), [
    ("openvino", "absent", r"is not available here"),
    ("onnxruntime", "CUDA", r"CUDAExecutionProvider is not in this build"),
    ("onnxruntime", "NPU", r"is not one ONNX Runtime knows"),
])
def test_device_that_does_not_exist(backend: str, device: str, message: str, default_onnx: Path, photo: Path,
                                    tmp_path: Path) -> None:
    if backend == "openvino":
        ov = pytest.importorskip("openvino", reason="the openvino extra is not installed")
        here = {name.split(".")[0] for name in ov.Core().available_devices}
        device = next((d for d in ("NPU", "GPU") if d not in here), "")
        if not device:
            pytest.skip("this machine has both an OpenVINO NPU and GPU: no known device is absent")
    out = tmp_path / "o.png"
    result = run_cli("upscale", str(photo), str(out), "--model", str(default_onnx), "--backend", backend,
                     "--device", device)
    assert_clean_failure(result, 2, message, out)


def test_device_no_back_end_knows_is_refused_naming_the_devices(photo: Path, tmp_path: Path) -> None:
    """A device outside the closed set (a typo, or a name no back end has) is refused by the command line itself."""
    from edgeconv.runtime.choices import InferenceDevice

    for device in ("TPU", "NPU7"):
        out = tmp_path / "o.png"
        result = run_cli("upscale", str(photo), str(out), "--backend", "openvino", "--device", device)
        assert_refused_choice(result, "--device", device, InferenceDevice.values(), out)


def test_output_folder_missing_or_read_only(default_onnx: Path, photo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "o.png"
    assert_clean_failure(run_cli("upscale", str(photo), str(missing), "--model", str(default_onnx)), 2,
                         r"does not exist", None)
    assert not missing.parent.exists()
    # /proc refuses new files even for root: a read-only folder on every Linux machine
    read_only = Path("/proc/edgeconv-test-output.png")
    if not Path("/proc").is_dir():
        pytest.skip("no /proc on this system to stand in for a read-only folder")
    result = run_cli("upscale", str(photo), str(read_only), "--model", str(default_onnx))
    assert_clean_failure(result, 1, r"cannot be written", read_only)
