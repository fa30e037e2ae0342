"""An 8-bit output form (``NAME.u8.onnx``) given where a float model is needed: one line naming the float model."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeconv.runtime.shipped_models import byte_output_form, for_onnxruntime, shipped_path
from tests.bad_inputs.test_catalogue import assert_clean_failure
from tests.conftest import run_cli

BYTE_FORM = byte_output_form(shipped_path("photo", 2))
FLOAT_MODEL = shipped_path("photo", 2)


@pytest.mark.parametrize("command", ["validate", "quantize", "upscale", "erf", "profile"])
def test_every_command_but_upscales_own_loader_refuses_it(command: str, tmp_path: Path, sr_data: Path) -> None:
    """Scores, INT8 calibration, ERFs and upscale's radius probe need float pixels: exit 2, nothing written."""
    out = tmp_path / "out"
    args = {
        "validate": ["validate", str(BYTE_FORM), "--images", str(sr_data / "Set5"), "--json", str(out)],
        "quantize": ["quantize", str(BYTE_FORM), "--calib", str(sr_data / "T91"), "-o", str(out)],
        "upscale": ["upscale", str(sr_data / "Set5" / "baby.png"), "-m", str(BYTE_FORM), "-o", str(out)],
        "erf": ["erf", str(BYTE_FORM), "--images", str(sr_data / "Set5"), "-o", str(out)],
        "profile": ["profile", str(BYTE_FORM), "--backend", "onnxruntime", "-o", str(out)],
    }[command]
    result = run_cli(*args)
    assert_clean_failure(result, 2, rf"sr_x2_photo\.u8\.onnx \| is an 8-bit output form.*give the float model "
                                    rf"{FLOAT_MODEL}", out)


def test_the_ort_form_names_its_own_float_sibling(tmp_path: Path) -> None:
    ort_byte = byte_output_form(for_onnxruntime(FLOAT_MODEL))
    result = run_cli("validate", str(ort_byte), "--backend", "onnxruntime")
    assert_clean_failure(result, 2, rf"give the float model {for_onnxruntime(FLOAT_MODEL)}", None)
