"""``edgeconv export``: the default checkpoint to a checked ONNX file with its facts in metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.checkpoints.shipped import JITTER_CHECKPOINT
from edgeconv.runtime.backends.layer_names import module_path
from edgeconv.runtime.model_facts import ModelFacts, read_model_facts
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def check_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real photographs (scikit-image) as check images."""
    from skimage import data

    folder = tmp_path_factory.mktemp("check")
    Image.fromarray(data.astronaut()[100:260, 150:330]).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()[:120, :200]).save(folder / "coffee.png")
    return folder


def test_export_cli_writes_a_checked_graph_with_facts(tmp_path: Path, check_folder: Path) -> None:
    out = tmp_path / "default.onnx"
    result = run_cli("export", str(JITTER_CHECKPOINT), "-o", str(out), "--images", str(check_folder))
    assert result.returncode == 0, result.stderr
    assert "onnxsim" in result.stdout and "max abs error" in result.stdout
    model = onnx.load(out)
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["edgeconv.task"] == "sr" and props["edgeconv.scale"] == "2"
    assert props["edgeconv.model"] == "jitter_edge_sr" and props["edgeconv.input_layout"] == "NCHW"
    assert len(props["edgeconv.source_checkpoint_sha256"]) == 64
    # node names keep the PyTorch module path
    modules = {module_path(n.name) for n in model.graph.node}
    assert {"body.1.conv", "body.3.conv", "body.1.shift", "bicubic"} <= modules
    # ORT on a real image equals PyTorch to 1e-4, and the file alone says how to feed it
    facts = read_model_facts(out)
    image = np.asarray(Image.open(check_folder / "coffee.png").convert("RGB"))
    x = facts.to_input(image)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    model_pt = load_checkpoint(JITTER_CHECKPOINT).build_model()
    with torch.no_grad():
        want = model_pt(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 3, 240, 400)
    assert np.abs(got - want).max() <= 1e-4


def test_export_refuses_to_overwrite_and_bad_paths(tmp_path: Path, check_folder: Path) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep me")
    again = run_cli("export", str(JITTER_CHECKPOINT), "-o", str(out), "--images", str(check_folder))
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    assert out.read_bytes() == b"keep me"
    missing = run_cli("export", str(JITTER_CHECKPOINT), "-o", str(tmp_path / "no" / "m.onnx"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    broken = run_cli("export", str(bad), "-o", str(tmp_path / "bad.onnx"))
    assert broken.returncode == 2 and "bad.pt |" in broken.stderr and "Traceback" not in broken.stderr
    assert not (tmp_path / "bad.onnx").exists() and not list(tmp_path.glob(".*.tmp"))


def test_export_api_returns_checks_without_writing(check_folder: Path) -> None:
    done = export_checkpoint(JITTER_CHECKPOINT, None, target_backend="openvino", check_folder=check_folder)
    assert done.path is None and done.images == 2
    assert done.max_abs_error <= 1e-4 and done.output_psnr_db > 80
    assert done.export.lowering == "conv" and done.export.audit  # clean audit
    assert done.facts.extra["lowering"] == "conv"


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("/body/body.1/conv/Conv", "body.1.conv"),
        ("/body/body.0/body.0.0/Conv", "body.0.0"),
        ("/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"),
        ("/Add", "(top) Add"),
        ("Conv_3", "(top) Conv_3"),
        ("/body/body.1/conv/Conv/WithoutBiases", "body.1.conv"),
        ("ReorderOutput_token_12", "(top) ReorderOutput"),
    ],
)
def test_module_path_from_node_names(name: str, module: str) -> None:
    assert module_path(name) == module


def test_model_facts_round_trip_and_preprocessing() -> None:
    facts = ModelFacts(task="cls", mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.25), model="resnet18_cifar",
                       extra={"input_size": "32"})
    back = ModelFacts.from_props(facts.to_props())
    assert back == facts
    image = np.full((2, 3, 3), 255, np.uint8)
    x = back.to_input(image)
    assert x.shape == (1, 3, 2, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [(1 - 0.5) / 0.2, (1 - 0.4) / 0.2, (1 - 0.3) / 0.25], rtol=1e-6)
    out = ModelFacts().to_image(np.array([[[[1.2]], [[0.5]], [[-0.1]]]], np.float32))
    assert out.tolist() == [[[255, 128, 0]]]


def test_export_writes_the_y_plane_and_8_bit_forms(tmp_path: Path, check_folder: Path) -> None:
    """A luma-residual SR checkpoint also gets NAME.y.onnx, its luma equal to the model's, which video picks up, and
    NAME.u8.onnx, its pixels as uint8; --no-luma-plane / --no-byte-output leave them out."""
    from edgeconv.models.checkpoints.shipped import SHIPPED_CHECKPOINTS
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.choices import BackendName
    from edgeconv.runtime.imaging.luma import rgb_to_model_luma
    from edgeconv.runtime.video.frames import LumaPlaneUpscaler
    from edgeconv.runtime.video.job import load_upscaler

    out = tmp_path / "mine.onnx"
    done = run_cli("export", str(SHIPPED_CHECKPOINTS["bicubic"]), "-o", str(out), "--backend", "onnxruntime",
                   "--images", str(check_folder))
    assert done.returncode == 0, done.stderr
    plane = tmp_path / "mine.y.onnx"
    assert "Y-plane form" in done.stdout and plane.is_file()
    assert read_model_facts(plane).input_channels == 1
    rgb = read_model_facts(out).to_input(np.asarray(Image.open(check_folder / "coffee.png").convert("RGB")))
    full = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": rgb})[0]
    session = ort.InferenceSession(str(plane), providers=["CPUExecutionProvider"])
    luma = session.run(None, {session.get_inputs()[0].name: rgb_to_model_luma(rgb)})[0]
    assert luma.shape == (1, 1, 240, 400) and np.abs(luma - rgb_to_model_luma(full)).max() <= 1e-4
    upscaler, path = load_upscaler(out, BackendName.ONNXRUNTIME, BackendOptions(threads=1))
    assert isinstance(upscaler, LumaPlaneUpscaler) and path == plane
    # and the 8-bit output form: the model's pixels, uint8 out of the graph
    assert "8-bit output form" in done.stdout
    pixels = ort.InferenceSession(str(tmp_path / "mine.u8.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": rgb})[0]
    assert pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - np.rint(np.clip(full * 255, 0, 255)).astype(int)).max() <= 1

    bare = tmp_path / "bare.onnx"
    done = run_cli("export", str(SHIPPED_CHECKPOINTS["bicubic"]), "-o", str(bare), "--backend", "onnxruntime",
                   "--images", str(check_folder), "--no-luma-plane", "--no-byte-output")
    assert done.returncode == 0 and bare.is_file() and not (tmp_path / "bare.y.onnx").exists()
    assert not (tmp_path / "bare.u8.onnx").exists()
    refused = run_cli("export", str(SHIPPED_CHECKPOINTS["bicubic"]), "-o", str(out), "--backend", "onnxruntime")
    assert refused.returncode == 2 and "mine.onnx" in refused.stderr and "already exists" in refused.stderr
