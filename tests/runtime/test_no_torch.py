"""edgeconv.runtime (and the root package) import on a device without torch."""

from __future__ import annotations

import subprocess

from tests.conftest import import_blocker, run_python_snippet

BLOCK_TORCH = import_blocker("torch")


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where importing torch fails."""
    return run_python_snippet(BLOCK_TORCH + code)


def test_runtime_imports_without_torch() -> None:
    result = run_without_torch(
        "import edgeconv, edgeconv.runtime\n"
        "assert 'torch' not in sys.modules\n"
        "print(edgeconv.__version__)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_the_block_really_blocks_torch() -> None:
    result = run_without_torch("import torch")
    assert result.returncode != 0
    assert "torch is blocked" in result.stderr


def test_lazy_op_access_needs_torch_only_when_used() -> None:
    result = run_without_torch("import edgeconv\nedgeconv.JitterConv")
    assert result.returncode != 0
    assert "torch is blocked" in result.stderr


def test_every_lazy_export_resolves() -> None:
    import edgeconv

    for name in edgeconv.__all__:
        assert getattr(edgeconv, name) is not None, name


def test_every_runtime_module_imports_without_torch() -> None:
    from pathlib import Path

    runtime = Path(__file__).parents[2] / "runtime"
    modules = [
        "edgeconv.runtime." + ".".join(p.relative_to(runtime).with_suffix("").parts).removesuffix(".__init__")
        for p in runtime.rglob("*.py") if "__pycache__" not in p.parts
    ]
    assert any(".backends." in m for m in modules) and any(".validation." in m for m in modules)
    code = (
        f"import importlib\nfor m in {modules!r}: importlib.import_module(m.removesuffix('.'))\n"
        "assert 'torch' not in sys.modules\nprint('ok')"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_device_commands_run_without_torch(default_onnx, astronaut, tmp_path) -> None:  # noqa: ANN001
    """upscale, validate, profile and doctor really run (not only --help) with torch blocked."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(astronaut[100:164, 200:264]).save(images / "a.png")
    out = tmp_path / "a_x2.png"
    calls = [
        ["upscale", str(images / "a.png"), str(out), "--model", str(default_onnx)],
        ["validate", str(default_onnx), "--images", str(images), "--backend", "onnxruntime", "--runs", "1",
         "--size", "16x16"],
        ["profile", str(default_onnx), "--backend", "onnxruntime", "--threads", "1", "--size", "16x16",
         "--runs", "2", "--no-layers"],
        ["doctor"],
    ]
    code = (
        "from edgeconv.cli.app import app\nfrom typer.testing import CliRunner\n"
        f"for args in {calls!r}:\n"
        "    res = CliRunner().invoke(app, args)\n"
        "    assert res.exit_code == 0, (args, res.output)\n"
        "assert 'torch' not in sys.modules\nprint('ok')"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip().endswith("ok")
    assert Image.open(out).size == (128, 128)


def test_erf_of_an_exported_model_runs_without_torch(default_onnx, astronaut, tmp_path) -> None:  # noqa: ANN001
    """The impulse ERF is for devices: ``edgeconv erf model.onnx`` must not need torch."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(astronaut[100:132, 200:232]).save(images / "a.png")
    out = tmp_path / "erf"
    code = (
        "from edgeconv.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        f"res = CliRunner().invoke(app, ['erf', {str(default_onnx)!r}, '--images', {str(images)!r}, '--count', '1',"
        f" '--size', '24', '--out', {str(out)!r}])\n"
        "assert res.exit_code == 0, res.output\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr + result.stdout
    assert (out / "erf.json").is_file()
