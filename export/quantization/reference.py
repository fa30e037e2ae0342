"""The FP32 model a quantization job starts from, and the scores every candidate gets against it.

Two scores, on two sets of images that never mix:

- PSNR-Y against the ground truth of the validation images (``--images``): what the budget is spent on;
- output PSNR against the FP32 model on the calibration crops: an INT8 model under ``COLLAPSE_DB`` is
  reported as collapsed (the u8s8 saturation of AVX2 CPUs without VNNI gave 23.7 dB in a probe here).

An INT8 candidate is computed as the target's exact integer kernels would compute it (``runner_for``: the
kernels of this CPU where they are exact, else ONNX Runtime's float simulation of the QDQ graph).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import onnx

from edgeconv.export.graph.checked_load import load_onnx_checked
from edgeconv.export.quantization.calibration import Feed
from edgeconv.export.quantization.schemes import ort_runner, runner_for
from edgeconv.runtime.cpu.int8_targets import Scheme
from edgeconv.runtime.model_facts import PREFIX, ModelFacts, refuse_byte_output_form
from edgeconv.runtime.validation.sr_eval import (
    SRProtocol,
    SRValidationPair,
    image_label,
    sr_quality,
    sr_validation_pairs,
)
from edgeconv.runtime.validation.validator import output_psnr

COLLAPSE_DB = 30.0
COLLAPSE_CROPS = 8  # calibration crops the collapse check runs on


@dataclass(frozen=True, eq=False)
class Fp32Reference:
    """An FP32 ONNX model, loaded and checked once, with the facts its metadata carries.

    Nothing here changes ``model``: the quantizer, the FP16 converter and the writer each work on a copy.
    """

    path: Path
    model: onnx.ModelProto
    facts: ModelFacts

    @classmethod
    def load(cls, path: Path) -> Fp32Reference:
        """Load ``path`` safely (``load_onnx_checked``) and read its facts.

        Args:
            path: an FP32 ONNX model written by ``edgeconv export``.

        Returns:
            The reference; ``OnnxFileError`` / ``UsageError`` name the file when it is not one.
        """
        model = load_onnx_checked(path)
        facts = ModelFacts.from_props(_props(model), str(path))
        refuse_byte_output_form(path, facts)
        return cls(path, model, facts)

    @property
    def input_name(self) -> str:
        """The graph's (one) input, NCHW float32."""
        return self.model.graph.input[0].name

    @property
    def metadata(self) -> dict[str, str]:
        """The model's ``metadata_props`` as a dict."""
        return _props(self.model)

    @property
    def peak(self) -> float:
        """The signal peak of output PSNRs: the image's value range for SR, else 1."""
        lo, hi = self.facts.value_range
        return hi - lo if self.facts.task == "sr" else 1.0

    @property
    def image_output(self) -> tuple[float, float] | None:
        """The value range of the 8-bit image an SR model outputs (its last Q/DQ goes on that grid), else None."""
        return self.facts.value_range if self.facts.task == "sr" else None

    @property
    def train_degradation(self) -> str:
        """How the model's LR training inputs were made (its metadata; ``bicubic`` when it does not say)."""
        return self.metadata.get(f"{PREFIX}train_degradation", "bicubic")

    def validation_pairs(self, folder: Path | None) -> list[SRValidationPair]:
        """``(LR, HR)`` pairs of ``folder`` by the standard protocol (whole images); [] without a folder."""
        return sr_validation_pairs(folder, self.facts) if folder is not None else []

    def describe_val(self, folder: Path | None, val: list[SRValidationPair]) -> str:
        """What the PSNR-Y figures on ``val`` were measured on (``SRProtocol.describe``); "" without images."""
        if folder is None or not val or not self.facts.scale:
            return ""
        return SRProtocol(self.facts.scale).describe(image_label(folder), len(val))

    def psnr_y(self, model: onnx.ModelProto, val: list[SRValidationPair], scheme: Scheme | None = None) -> float:
        """Mean PSNR-Y (dB) of ``model`` on ``val``; NaN without images.

        Args:
            model: the FP32 model or a candidate made from it.
            val: validation pairs (``validation_pairs``).
            scheme: the INT8 scheme of ``model``, computed as its exact kernels would; None: run as is.

        Returns:
            The mean PSNR-Y over the images, NaN when ``val`` is empty.
        """
        run = runner_for(model, scheme)[0] if scheme is not None else ort_runner(model)
        return sr_quality(run, val, self.facts)[0] if val else math.nan

    def collapse_db(self, model: onnx.ModelProto, feeds: list[Feed], scheme: Scheme) -> float:
        """Worst output PSNR (dB) of INT8 ``model`` against this FP32 model on up to 8 calibration crops.

        For SR the peak is the image range (a flat crop would otherwise read as collapsed).

        Args:
            model: an INT8 candidate.
            feeds: calibration inputs; the first ``COLLAPSE_CROPS`` are used.
            scheme: the scheme ``model`` was quantized with.

        Returns:
            The lowest PSNR over the crops; under ``COLLAPSE_DB`` the model is broken.
        """
        ref, got = ort_runner(self.model), runner_for(model, scheme)[0]
        peak = self.peak if self.facts.task == "sr" else None
        name = self.input_name
        return min(output_psnr(ref(f[name]), got(f[name]), peak) for f in feeds[:COLLAPSE_CROPS])


def _props(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}
