"""FP32 vs FP16 vs INT8 of the default SR model in ONNX Runtime and OpenVINO: latency beside PSNR.

Every artifact is built here from the shipped checkpoint (``edgeconv export`` then the quantizer
with T91 calibration crops), scored on Set5 x2 (PSNR-Y) *in each back end*, and timed at a
640x360 input with 2 threads (warm-up, then median and p90 of ``--runs`` calls, one variant at
a time). INT8 configurations tried: QDQ u8/s8 (this CPU's choice), with ``reduce_range``, s8/s8,
u8/u8, QOperator, the accuracy-budget artifact (layers kept FP32), and - when ``nncf`` is
installed - OpenVINO's own post-training INT8 (NNCF) on its IR. The "kernels" column says what
the back end actually executed: ONNX Runtime's profiler (node op types run, e.g. ``QLinearConv``
after QDQ fusion) and OpenVINO's execution graph (layers by runtime precision).

Run: ``python benchmarks/int8.py`` (needs ../shared/data/sr with T91 and Set5; ~5 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.export.quantization.budget import quantize_within_budget
from edgeconv.export.quantization.calibration import calibration_feeds
from edgeconv.export.quantization.ptq import Int8Config, convert_fp16, quantize_int8
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.models.data.sr import shared_sr_data
from edgeconv.runtime.cpu.int8_targets import native_target
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.validation.sr_eval import selection_split, sr_quality, sr_validation_pairs

RESULTS = Path(__file__).parent / "results"


@dataclass
class Row:
    variant: str
    backend: str
    psnr_db: float
    median_ms: float
    p90_ms: float
    kernels: str
    size_kib: float
    speedup: float = float("nan")


def timed(run: Callable[[], object], runs: int, warmup: int = 5) -> tuple[float, float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1e3)
    return float(np.median(samples)), float(np.percentile(samples, 90))


def ort_session(model: onnx.ModelProto, threads: int, profile_dir: Path | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    if profile_dir is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile_dir / "ort")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ort_kernels(model: onnx.ModelProto, x: np.ndarray, threads: int) -> str:
    """Op types ONNX Runtime executed (after its graph fusions), from its profiler, most time first."""
    with tempfile.TemporaryDirectory() as tmp:
        session = ort_session(model, threads, Path(tmp))
        session.run(None, {"input": x})
        events = json.loads(Path(session.end_profiling()).read_text())
    time_by_op: Counter = Counter()
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            time_by_op[e["args"]["op_name"]] += e["dur"]
    total = sum(time_by_op.values()) or 1
    return ", ".join(f"{op} {100 * t / total:.0f}%" for op, t in time_by_op.most_common(4))


def ov_compiled(model_or_path: object, threads: int, precision_hint: str = "f32"):  # noqa: ANN201
    import openvino as ov

    core = ov.Core()
    model = model_or_path
    if isinstance(model_or_path, onnx.ModelProto):
        model = core.read_model(model_or_path.SerializeToString(), b"")
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": precision_hint}
    return core.compile_model(model, "CPU", config)


def ov_kernels(compiled) -> str:  # noqa: ANN001
    """OpenVINO execution-graph layers by runtime precision (convolutions called out)."""
    runtime = compiled.get_runtime_model()
    by_precision: Counter = Counter()
    for op in runtime.get_ops():
        info = op.get_rt_info()
        keys = set(info.keys())
        layer = info["layerType"].astype(str) if "layerType" in keys else op.get_type_name()
        precision = info["runtimePrecision"].astype(str) if "runtimePrecision" in keys else "?"
        if layer.lower().startswith("convolution"):
            by_precision[f"Conv {precision}"] += 1
    return ", ".join(f"{k} x{n}" for k, n in sorted(by_precision.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--size", default="360x640", help="HxW of the timed input")
    parser.add_argument("--calib-images", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS / "int8.json")
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    shared = shared_sr_data()
    if shared is None or not (shared / "T91").is_dir() or not (shared / "Set5").is_dir():
        raise SystemExit("benchmarks/int8.py needs ../shared/data/sr/T91 and Set5 (or EDGECONV_SR_DATA)")
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = Path(tmp) / "fp32.onnx"
        export_checkpoint(DEFAULT_CHECKPOINT, fp32_path, target_backend="onnxruntime")
        fp32 = onnx.load(fp32_path)
    facts = ModelFacts.from_props({p.key: p.value for p in fp32.metadata_props})
    calib = calibration_feeds(shared / "T91", facts, "input", 128, args.calib_images)
    val = sr_validation_pairs(shared / "Set5", facts)  # reports only
    budget_val = sr_validation_pairs(selection_split(shared), facts)  # the budget is chosen on BSD200, not Set5
    target, why = native_target()
    print(f"CPU INT8 target: {target} ({why})")

    variants: dict[str, onnx.ModelProto] = {"fp32": fp32, "fp16": convert_fp16(fp32)}
    configs = {
        "int8 qdq u8s8": Int8Config(method="percentile"),
        "int8 qdq u8s8 reduce_range": Int8Config(method="percentile", reduce_range=True),
        "int8 qdq s8s8": Int8Config(method="percentile", activation_type="s8"),
        "int8 qdq u8u8": Int8Config(method="percentile", weight_type="u8"),
        "int8 qoperator u8s8": Int8Config(method="percentile", quant_format="qoperator"),
        # the one 16->16 conv holds most MACs: INT8 there only, no Q/DQ passes elsewhere
        "int8 qdq u8s8, body.1 only": Int8Config(method="percentile", only=["/body/body.1/Conv"]),
    }
    for name, config in configs.items():
        variants[name] = quantize_int8(fp32, calib, config)
    budget = quantize_within_budget(fp32, calib, budget_val, facts, Int8Config(method="percentile"), 0.1)
    kept = ", ".join(k.module for k in budget.kept_float)
    variants[f"int8 qdq budget 0.1 dB (FP32: {kept})"] = budget.model

    rows: list[Row] = []
    for name, model in variants.items():
        size = len(model.SerializeToString()) / 1024
        session = ort_session(model, args.threads)
        feed_name = session.get_inputs()[0].name
        psnr, _ = sr_quality(lambda v, s=session, n=feed_name: s.run(None, {n: v})[0], val, facts)
        med, p90 = timed(lambda s=session, n=feed_name: s.run(None, {n: x}), args.runs)
        del session
        rows.append(Row(name, "onnxruntime", psnr, med, p90, ort_kernels(model, x, args.threads), size))
        print(f"{rows[-1]}", flush=True)
    try:
        import openvino as ov  # noqa: F401

        for name, model in variants.items():
            size = len(model.SerializeToString()) / 1024
            try:
                compiled = ov_compiled(model, args.threads)
            except RuntimeError as exc:
                rows.append(Row(name, "openvino", float("nan"), float("nan"), float("nan"),
                                f"does not compile: {str(exc).splitlines()[0][:80]}", size))
                continue
            out = compiled.output(0)
            psnr, _ = sr_quality(lambda v, c=compiled, o=out: c(v)[o], val, facts)
            med, p90 = timed(lambda c=compiled: c(x), args.runs)
            rows.append(Row(name, "openvino", psnr, med, p90, ov_kernels(compiled), size))
            print(f"{rows[-1]}", flush=True)
        rows.extend(nncf_rows(fp32, calib, val, facts, x, args))
    except ImportError:
        print("openvino not installed: OpenVINO rows skipped (pip install 'edgeconv[openvino]')")

    for row in rows:
        base = next(r for r in rows if r.backend == row.backend and r.variant == "fp32")
        row.speedup = base.median_ms / row.median_ms
    write_results(rows, args, f"{target}: {why}")


def nncf_rows(fp32: onnx.ModelProto, calib, val, facts: ModelFacts, x: np.ndarray, args) -> list[Row]:  # noqa: ANN001
    """OpenVINO's own INT8 path: NNCF post-training quantization of the FP32 IR, same calibration crops."""
    try:
        import nncf
        import openvino as ov
    except ImportError:
        print("nncf not installed: OpenVINO's own INT8 path skipped (pip install nncf)")
        return []
    core = ov.Core()
    ir = core.read_model(fp32.SerializeToString(), b"")
    dataset = nncf.Dataset([f["input"] for f in calib])
    quantized = nncf.quantize(ir, dataset, preset=nncf.QuantizationPreset.MIXED, subset_size=len(calib))
    compiled = ov_compiled(quantized, args.threads)
    out = compiled.output(0)
    psnr, _ = sr_quality(lambda v: compiled(v)[out], val, facts)
    med, p90 = timed(lambda: compiled(x), args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        ov.save_model(quantized, Path(tmp) / "m.xml")
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1024
    return [Row("int8 nncf (OpenVINO IR)", "openvino", psnr, med, p90, ov_kernels(compiled), size)]


def write_results(rows: list[Row], args: argparse.Namespace, cpu_reason: str) -> None:
    lines = [
        "| variant | back end | Set5 PSNR-Y dB | median ms | p90 ms | x vs FP32 | file KiB | kernels |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.variant} | {r.backend} | {r.psnr_db:.3f} | {r.median_ms:.1f} | {r.p90_ms:.1f} | "
            f"{r.speedup:.2f} | {r.size_kib:.1f} | {r.kernels} |"
        )
    table = "\n".join(lines)
    print(table)
    import onnxruntime

    meta = {
        "machine": machine_record(), "cpu_int8": cpu_reason, "threads": args.threads,
        "runs": args.runs, "input": args.size, "onnxruntime": onnxruntime.__version__, "cores": os.cpu_count(),
    }
    try:
        import openvino

        meta["openvino"] = openvino.__version__
    except ImportError:
        pass
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": [r.__dict__ for r in rows]}, indent=2))
    args.out.with_suffix(".txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
