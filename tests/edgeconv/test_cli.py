"""The CLI through a real subprocess (exit codes, one-line errors) and through CliRunner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx

EDGECONV = [sys.executable, "-m", "edgeconv.cli.app"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGECONV, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_help_lists_commands_with_an_example() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout and "Example: edgeconv demo" in result.stdout


def test_demo_exports_clean_graphs_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = run_cli("demo", "--out", str(out), "--max-side", "32")
    assert first.returncode == 0, first.stderr
    for lowering in ("slice", "conv"):
        model = onnx.load(out / f"default_sr_x2.{lowering}.onnx")
        onnx.checker.check_model(model)
        assert not {n.op_type for n in model.graph.node} & {"GridSample", "ScatterND", "ATen"}
    assert "clean" in first.stdout
    before = (out / "default_sr_x2.slice.onnx").stat().st_mtime_ns

    second = run_cli("demo", "--out", str(out), "--max-side", "32")
    assert second.returncode == 2
    assert second.stderr.strip().endswith("already exists. Note: pass --force to overwrite")
    assert "Traceback" not in second.stderr
    assert (out / "default_sr_x2.slice.onnx").stat().st_mtime_ns == before


def test_bad_option_value_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = run_cli("demo", "--out", str(tmp_path / "x"), "--max-side", "0")
    assert result.returncode == 2
    assert "--max-side | must be >= 8, got 0." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()
