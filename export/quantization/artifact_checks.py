"""Checks a candidate artifact must pass before it is kept: its target's rules, and the back ends that load it.

- A TensorRT artifact must follow TensorRT's explicit-quantization rules (``tensorrt_rules``): one that
  does not is refused, nothing written.
- The chosen artifact must load in ONNX Runtime; OpenVINO's answer (when installed) is reported. That
  answer comes from one compile in a child process (``compile_refusal``): a candidate already probed for
  the scheme fallback carries its answer (``OpenVinoProbe``), so no model is compiled twice. A compile
  here checks the graph, not the target's kernels: OpenVINO's ARM INT8 path is refused on ARM by the
  runtime (``edgeconv.runtime.backends.openvino.refuse_arm_int8``).
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from edgeconv.errors import UsageError
from edgeconv.export.quantization.tensorrt_rules import tensorrt_qdq_violations
from edgeconv.runtime.backends.openvino import compile_refusal, openvino_installed


@dataclass(frozen=True)
class OpenVinoProbe:
    """OpenVINO's answer for one model: None when it compiles and runs, else why not."""

    refusal: str | None

    @classmethod
    def of(cls, model: onnx.ModelProto) -> OpenVinoProbe:
        """Compile and run ``model`` once in OpenVINO (``compile_refusal``)."""
        return cls(compile_refusal(model.SerializeToString()))


def check_target_rules(int8: onnx.ModelProto, target: str) -> None:
    """Refuse (``UsageError``) a TensorRT artifact that breaks TensorRT's Q/DQ rules; other targets pass.

    Args:
        int8: the INT8 candidate.
        target: the INT8 target it was made for.
    """
    if target != "tensorrt":
        return
    problems = tensorrt_qdq_violations(int8, every_conv_int8=False)  # a budget may keep layers float
    if problems:
        raise UsageError("--target tensorrt", f"the INT8 graph breaks TensorRT's Q/DQ rules: {problems[0]}"
                         + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                         "nothing was written; report this model to edgeconv")


def loads_in(model: onnx.ModelProto, openvino: OpenVinoProbe | None = None) -> list[str]:
    """The back ends here that compile ``model`` (ONNX Runtime always; OpenVINO when installed).

    Args:
        model: the chosen artifact; ONNX Runtime failing to load it raises.
        openvino: OpenVINO's answer when the model was already probed; None compiles it now.

    Returns:
        ``["onnxruntime"]``, plus ``"openvino"`` or ``"NOT openvino (why)"`` when OpenVINO is installed.
    """
    import onnxruntime as ort

    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    if not openvino_installed():
        return ["onnxruntime"]
    refusal = (openvino or OpenVinoProbe.of(model)).refusal
    return ["onnxruntime", "openvino" if refusal is None else f"NOT openvino ({refusal})"]
